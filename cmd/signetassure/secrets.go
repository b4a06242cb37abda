package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/age"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/partners"
)

const secretsUsage = `usage: signetassure secrets init DIR

Writes the keys a deployment generates for itself into DIR, one file per variable (the folder SECRETS_DIR
names): PARTNER_CREDENTIAL_KEYS, AUDIT_SIGNING_KEY, EVIDENCE_KEY and EVIDENCE_ENCRYPTION_KEY. A file already
there is kept: run it at every start (docker-compose.yml's secrets service does). Keep DIR as you keep a
database backup: data sealed with these keys cannot be opened without them.
`

// generatedSecrets are the keys `secrets init` makes, by the variable each is read from.
var generatedSecrets = []struct {
	name     string
	generate func() (string, error)
}{
	{partners.EnvCredentialKeys, func() (string, error) { return "k1:" + partners.GenerateKey(), nil }},
	{audit.EnvSigningKey, audit.GenerateKey},
	{config.EnvEvidenceKey, func() (string, error) { return partners.GenerateKey(), nil }},
	{config.EnvEvidenceEncryptionKey, func() (string, error) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return "", err
		}
		return id.String(), nil
	}},
}

var errSecretsUsage = errors.New("usage")

// runSecrets runs `signetassure secrets init DIR`; it needs no configuration, database or network.
func runSecrets(args []string, out io.Writer) error {
	if len(args) != 2 || args[0] != "init" {
		return errSecretsUsage
	}
	dir := args[1]
	for _, s := range generatedSecrets {
		path := filepath.Join(dir, s.name)
		if _, err := os.Stat(path); err == nil {
			fmt.Fprintf(out, "%s: kept\n", s.name)
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		value, err := s.generate()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		// O_EXCL: two starts at once cannot both write, and neither replaces the other's key.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.WriteString(value + "\n"); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: generated\n", s.name)
	}
	return nil
}

func secretsCommand(args []string) {
	err := runSecrets(args, os.Stdout)
	switch {
	case errors.Is(err, errSecretsUsage):
		fmt.Fprint(os.Stderr, secretsUsage)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
