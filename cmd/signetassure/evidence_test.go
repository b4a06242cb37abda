package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/internal/testenv"
)

// A pack made from a real audit log (entries sequenced into the tree, their inclusion proofs read from
// the database) verifies offline with `signetassure evidence verify` and the deployment's verifier key
// alone; a byte changed in it is named and exits 1; a command line without the key exits 2.
func TestEvidenceVerifyCommand(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, `INSERT INTO audit_log (action, entity_type, entity_id) SELECT 'case.open', 'case', 'v_' || i FROM generate_series(1, 12) i`); err != nil {
		t.Fatal(err)
	}
	seed, _ := audit.GenerateKey()
	keys, err := audit.ParseKeys(func(k string) string {
		return map[string]string{audit.EnvSigningKey: seed, audit.EnvSigningKeyID: "acme"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	const origin = "acme.example/audit"
	res, err := audit.Sequence(ctx, db, keys, origin, 100)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pack.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := evidence.NewWriter(f, evidence.Options{PackID: "p1", Subject: evidence.Subject{Kind: "case", ID: "v_3"}, Origin: origin})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.AddRecord("records/case.json", map[string]string{"caseRef": "v_3"}); err != nil {
		t.Fatal(err)
	}
	rows, _ := db.Query(ctx, `SELECT id FROM audit_log WHERE entity_id IN ('v_3', 'v_7') ORDER BY id`)
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	for _, id := range ids {
		p, err := audit.InclusionProof(ctx, db, id, res.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddAuditEntry(p); err != nil {
			t.Fatal(err)
		}
	}
	signer, err := tlog.NewSigner(keys.KeyID, keys.Signing)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(res.Checkpoint, signer); err != nil {
		t.Fatal(err)
	}
	f.Close()

	vkey, _ := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	verify := func(args ...string) (string, int) {
		return runToExit(t, exec.Command(bin, append([]string{"evidence", "verify"}, args...)...))
	}
	if out, code := verify(path, "--origin", origin, "--key", vkey); code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("a good pack: exit %d\n%s", code, out)
	}
	b, _ := os.ReadFile(path)
	i := strings.Index(string(b), "v_3")
	b[i+2] = '9' // the record's case reference, as stored in the zip
	tampered := filepath.Join(t.TempDir(), "tampered.zip")
	os.WriteFile(tampered, b, 0o600)
	if out, code := verify(tampered, "--origin", origin, "--key", vkey); code != 1 || !strings.Contains(out, "tampered") {
		t.Fatalf("a tampered pack: exit %d\n%s", code, out)
	}
	if out, code := verify(path, "--origin", origin); code != 2 || !strings.Contains(out, "usage: signetassure evidence") {
		t.Fatalf("no key: exit %d\n%s", code, out)
	}
}
