package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/internal/testenv"
)

func TestAuditCommand(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{audit.EnvSigningKey: seed, audit.EnvSigningKeyID: "k7"}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := auditCommand(ctx, url, args, func(k string) string { return env[k] }, &out)
		return out.String(), err
	}
	exec := func(sqls ...string) {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, sql := range sqls {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
	}

	if out, err := run("checkpoint"); err != nil || !strings.Contains(out, "audit log is empty") {
		t.Errorf("checkpoint on an empty log: %q, %v", out, err)
	}
	exec(`INSERT INTO audit_log (action, entity_type, entity_id) SELECT 'a', 'b', i::text FROM generate_series(1, 5) i`)
	if out, err := run("checkpoint"); err != nil || out != "signed audit checkpoint at seq 5 with key k7\n" {
		t.Errorf("checkpoint: %q, %v", out, err)
	}
	if out, err := run("checkpoint"); err != nil || !strings.Contains(out, "nothing to sign") {
		t.Errorf("checkpoint again: %q, %v", out, err)
	}
	out, err := run("verify")
	if err != nil || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "audit log intact: 5 entries, 1 checkpoints verified") {
		t.Errorf("verify: %q, %v; want a one-line intact summary", out, err)
	}
	pub, err := run("public-key")
	if err != nil || !strings.HasPrefix(pub, "k7:") {
		t.Errorf("public-key: %q, %v", pub, err)
	}

	// Another signing key, the old one kept for verifying.
	seed2, _ := audit.GenerateKey()
	env = map[string]string{audit.EnvSigningKey: seed2, audit.EnvSigningKeyID: "k8", audit.EnvVerifyKeys: strings.TrimSpace(pub)}
	if out, err := run("verify"); err != nil {
		t.Errorf("verify after replacing the key: %q, %v", out, err)
	}

	exec(`SET session_replication_role = replica`, `UPDATE audit_log SET entity_id = 'x' WHERE seq = 2`)
	out, err = run("verify")
	if !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, "altered at seq 2 (audit id 2)") {
		t.Errorf("verify after tampering: %q, %v; want the altered entry named", out, err)
	}

	for _, args := range [][]string{nil, {"nonsense"}, {"verify", "extra"}} {
		if _, err := run(args...); !errors.Is(err, errAuditUsage) {
			t.Errorf("audit %q: %v, want a usage error", args, err)
		}
	}
	env = map[string]string{audit.EnvSigningKey: "short"}
	if _, err := run("verify"); err == nil || !strings.Contains(err.Error(), audit.EnvSigningKey) {
		t.Errorf("bad key: %v, want an error naming %s", err, audit.EnvSigningKey)
	}
	env = nil
	if _, err := run("checkpoint"); !errors.Is(err, audit.ErrNoSigningKey) {
		t.Errorf("checkpoint without a key: %v", err)
	}
}
