package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/config"
)

const auditUsage = `usage: signetassure audit <command>

commands:
  verify [--witness FILE]
               check the whole audit log: its Merkle tree rebuilt from the entries against every signed
               checkpoint of it, that every other entry waits for the sequencer, the hash chain the log
               kept before the tree (and its signed checkpoints), and that no entry waited longer than
               AUDIT_CHECKPOINT_INTERVAL + AUDIT_CHECKPOINT_GRACE for a checkpoint. With a witness file
               (default AUDIT_WITNESS_FILE; or one checkpoint as GET /api/v1/audit/checkpoint or a
               partner served it), the log must still hold every witnessed checkpoint: a rewrite (fork)
               or a cut (rollback) is named even if every checkpoint in the database was deleted. Exit 1
               naming the first problem. Needs only the public keys (AUDIT_VERIFY_KEYS)
  checkpoint   append the audit tree's newest signed checkpoint to AUDIT_WITNESS_FILE, and send it to the
               SIEMs configured (AUDIT_SYSLOG_ADDR, AUDIT_SPLUNK_HEC_URL), after checking the tree extends
               the one each of them holds (and sign the hash chain's last head, once, if no checkpoint
               covers it yet; AUDIT_SIGNING_KEY)
  public-key [--note]
               print the signing key's public key as an AUDIT_VERIFY_KEYS item (id:base64), to keep
               verifying its checkpoints after the key is replaced; with --note, as the verifier key
               (name+hash+key) that checks the audit tree's signed checkpoints
`

// errAuditNotIntact: audit verify found a problem (it has printed it).
var errAuditNotIntact = errors.New("the audit log is not intact")

// errAuditUsage: the audit command line is wrong (the usage has been printed).
var errAuditUsage = errors.New("usage")

// runAudit runs `signetassure audit ...`.
func runAudit(ctx context.Context, cfg config.Config, args []string) error {
	err := auditCommand(ctx, cfg.DatabaseURL, args, os.Getenv, os.Stdout)
	if errors.Is(err, errAuditUsage) {
		fmt.Fprint(os.Stderr, auditUsage)
		os.Exit(2)
	}
	return err
}

// auditCommand runs an audit subcommand against the database at databaseURL with the settings getenv
// gives (config.LoadAudit), writing its result to out.
func auditCommand(ctx context.Context, databaseURL string, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) == 0 {
		return errAuditUsage
	}
	settings, err := config.LoadAudit(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	keys := settings.Keys
	flags := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	witness := flags.String("witness", settings.WitnessFile, "")
	asNote := flags.Bool("note", false, "")
	switch args[0] {
	case "verify", "public-key":
		if err := flags.Parse(args[1:]); err != nil || flags.NArg() > 0 || (args[0] == "verify" && *asNote) {
			return errAuditUsage
		}
	case "checkpoint", "help", "-h", "--help":
		if len(args) != 1 {
			return errAuditUsage
		}
	default:
		return errAuditUsage
	}
	switch args[0] {
	case "verify", "checkpoint":
	case "public-key":
		if keys.Signing == nil {
			return audit.ErrNoSigningKey
		}
		if !*asNote {
			fmt.Fprintln(out, keys.PublicKey())
			return nil
		}
		vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
		if err != nil {
			return err
		}
		fmt.Fprintln(out, vkey)
		return nil
	default:
		fmt.Fprint(out, auditUsage)
		return nil
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if args[0] == "checkpoint" {
		res, err := audit.Checkpoint(ctx, conn, keys, settings.Sinks()...)
		switch {
		case err != nil:
			return err
		case res.Signed:
			fmt.Fprintf(out, "signed audit checkpoint at seq %d with key %s\n", res.Seq, res.KeyID)
		case res.Seq == 0 && res.TreeSize == 0:
			fmt.Fprintln(out, "nothing to sign: the audit log is empty")
		case res.Seq > 0:
			fmt.Fprintf(out, "nothing to sign: the checkpoint at seq %d (key %s) is the chain head\n", res.Seq, res.KeyID)
		}
		if res.TreeSize > 0 {
			fmt.Fprintf(out, "the audit tree's newest signed checkpoint, of %d leaves, is witnessed (%d checkpoints appended)\n",
				res.TreeSize, res.Witnessed)
		}
		return nil
	}
	report, err := audit.VerifyWith(ctx, conn, settings.VerifyOptions(*witness))
	if err != nil {
		return err
	}
	fmt.Fprintln(out, report)
	if !report.OK() {
		return errAuditNotIntact
	}
	return nil
}
