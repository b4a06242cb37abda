package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/config"
)

const auditUsage = `usage: signetassure audit <command>

commands:
  verify       check the audit log's hash chain and signed checkpoints; exit 1 naming the first entry
               altered, removed or reordered
  checkpoint   sign the audit chain's head now (AUDIT_SIGNING_KEY), if it moved since the last checkpoint
  public-key   print the signing key's public key as an AUDIT_VERIFY_KEYS item (id:base64), to keep
               verifying its checkpoints after the key is replaced
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

// auditCommand runs an audit subcommand against the database at databaseURL with the keys getenv gives,
// writing its result to out.
func auditCommand(ctx context.Context, databaseURL string, args []string, getenv func(string) string, out io.Writer) error {
	if len(args) != 1 {
		return errAuditUsage
	}
	keys, err := audit.ParseKeys(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	switch args[0] {
	case "verify", "checkpoint":
	case "public-key":
		if keys.Signing == nil {
			return audit.ErrNoSigningKey
		}
		fmt.Fprintln(out, keys.PublicKey())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(out, auditUsage)
		return nil
	default:
		return errAuditUsage
	}
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if args[0] == "checkpoint" {
		res, err := audit.Checkpoint(ctx, conn, keys)
		switch {
		case err != nil:
			return err
		case res.Signed:
			fmt.Fprintf(out, "signed audit checkpoint at seq %d with key %s\n", res.Seq, res.KeyID)
		case res.Seq == 0:
			fmt.Fprintln(out, "nothing to sign: the audit log is empty")
		default:
			fmt.Fprintf(out, "nothing to sign: the checkpoint at seq %d (key %s) is the chain head\n", res.Seq, res.KeyID)
		}
		return nil
	}
	report, err := audit.Verify(ctx, conn, keys.Verify)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, report)
	if !report.OK() {
		return errAuditNotIntact
	}
	return nil
}
