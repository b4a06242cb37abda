package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/signetassure/signetassure/evidence"
)

const evidenceUsage = `usage: signetassure evidence verify PACK.zip --origin ORIGIN --key VKEY [--key VKEY...] [--witness CHECKPOINT]

Checks an evidence pack offline, with nothing but the deployment's public key: the manifest's signature,
every file's SHA-256, the audit checkpoint's signature and origin, and every audit entry's inclusion proof
against it. Exit 1 naming each problem (a tampered, missing or extra file, a removed entry, a forged
proof, an unknown key).
  --origin    the audit log's origin (the first line of its checkpoints, AUDIT_LOG_ORIGIN)
  --key       the deployment's verifier key, as 'signetassure audit public-key --note' prints it; give
              old keys too after a rotation
  --witness   a file holding a signed checkpoint of the same log that a witness keeps: the pack's must
              not contradict it
`

// keyList collects repeated --key flags.
type keyList []string

func (k *keyList) String() string     { return fmt.Sprint(*k) }
func (k *keyList) Set(v string) error { *k = append(*k, v); return nil }

// runEvidence runs `signetassure evidence ...`; it needs no configuration, database or network.
func runEvidence(args []string, out io.Writer) error {
	if len(args) < 2 || args[0] != "verify" {
		return errAuditUsage
	}
	flags := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	var keys keyList
	flags.Var(&keys, "key", "")
	origin := flags.String("origin", "", "")
	witnessFile := flags.String("witness", "", "")
	path := args[1]
	if err := flags.Parse(args[2:]); err != nil || flags.NArg() > 0 || *origin == "" || len(keys) == 0 {
		return errAuditUsage
	}
	var witness []byte
	if *witnessFile != "" {
		b, err := os.ReadFile(*witnessFile)
		if err != nil {
			return err
		}
		witness = b
	}
	return evidence.VerifyFileWith(path, *origin, keys, witness, out)
}

// evidenceCommand runs `signetassure evidence` and exits as it should: 2 for a wrong command line, 1 for
// a pack that does not verify.
func evidenceCommand(args []string) {
	err := runEvidence(args, os.Stdout)
	switch {
	case errors.Is(err, errAuditUsage):
		fmt.Fprint(os.Stderr, evidenceUsage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
