package main

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// A worker killed (SIGKILL) in the middle of building an evidence pack and replaced: the build is retried
// when its heartbeat times out (1 min), starts again, and leaves exactly one pack file (no temporary file),
// which verifies with the deployment's key, and one evidence.built entry.
func TestWorkerKilledMidEvidencePackBuildsOnePack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits out a killed activity's heartbeat timeout (about a minute)")
	}
	t.Parallel()
	bin := testenv.BuildSignetAssure(t)
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	st := testenv.StoreAt(t, dbURL)

	// 1,500 persons and 15,000 audit entries of theirs: a range pack of a few seconds' work.
	const persons = 1500
	testenv.Exec(t, dbURL, `INSERT INTO persons (id, first_name, last_name, search_name, date_of_birth)
		SELECT gen_random_uuid(), 'P' || i, 'Tester', 'p' || i || ' tester', '1980-01-02' FROM generate_series(1, 1500) i`)
	testenv.Exec(t, dbURL, `INSERT INTO audit_log (action, entity_type, entity_id, detail)
		SELECT 'person.update', 'person', p.id::text, jsonb_build_object('n', g) FROM persons p, generate_series(1, 10) g`)
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := audit.ParseKeys(func(k string) string { return map[string]string{audit.EnvSigningKey: seed}[k] })
	if err != nil {
		t.Fatal(err)
	}
	const origin = "kill.test/audit"
	if _, err := st.SequenceAudit(ctx, keys, origin); err != nil {
		t.Fatal(err)
	}
	auditor, err := st.CreateUser(ctx, nil, domain.StaffUser{DisplayName: "Kill Auditor", Email: "auditor@kill.invalid",
		Roles: []domain.Role{domain.RoleAuditor}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	from, to := time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	packID := uuid.New()
	if _, err := st.CreateEvidencePack(ctx, store.EvidencePack{ID: packID, Subject: store.PackSubject{Kind: "range", From: &from, To: &to},
		RequestedBy: auditor.ID, RequesterRole: "auditor", LinkSeconds: 3600}); err != nil {
		t.Fatal(err)
	}

	tc := testenv.Temporal(t)
	queue := "kill-evidence-" + strings.ToLower(rand.Text()[:12])
	env := workerEnv(map[string]string{
		"DATABASE_URL":            dbURL,
		"TEMPORAL_ADDRESS":        testenv.TemporalAddress(t),
		"TEMPORAL_NAMESPACE":      "default",
		"TEMPORAL_TASK_QUEUE":     queue,
		"AUDIT_SIGNING_KEY":       seed,
		"AUDIT_LOG_ORIGIN":        origin,
		"EVIDENCE_ENCRYPTION_KEY": id.String(),
		"EVIDENCE_DIR":            dir,
		"LOG_LEVEL":               "warn",
	})
	first := startWorker(t, bin, env, "first")
	if err := workflows.StartEvidencePack(ctx, tc, queue, packID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := st.EvidencePack(ctx, packID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status == store.PackBuilding && p.Records > 0 {
			break
		}
		if p.Status == store.PackReady || time.Now().After(deadline) {
			t.Fatalf("the pack is %s (%d records) before the worker could be killed mid-build", p.Status, p.Records)
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.kill()
	if _, err := os.Stat((&evidence.Vault{Dir: dir}).Path(packID)); err == nil {
		t.Fatal("the pack was stored before the worker was killed")
	}
	killedAt := time.Now()
	startWorker(t, bin, env, "second")
	wctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()
	var res activities.EvidencePackResult
	if err := tc.GetWorkflow(wctx, workflows.EvidencePackWorkflowID(packID), "").Get(wctx, &res); err != nil {
		t.Fatalf("the pack was not built after the restart: %v", err)
	}
	t.Logf("pack built %s after the kill: %d records, %d entries, %d bytes", time.Since(killedAt).Round(time.Millisecond),
		res.Records, res.Entries, res.Size)

	names, _ := os.ReadDir(dir)
	if len(names) != 1 || names[0].Name() != packID.String()+".zip.age" {
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		t.Fatalf("the evidence directory holds %v, want the one pack", got)
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM audit_log WHERE action = 'evidence.built' AND entity_id = $1`,
		packID.String()); n != 1 {
		t.Fatalf("%d evidence.built entries, want 1", n)
	}
	p, err := st.EvidencePack(ctx, packID)
	if err != nil || p.Status != store.PackReady || p.Records != persons*5+1 || p.Entries < persons*10 {
		t.Fatalf("pack row %+v, %v: want ready with %d records (5 a person and records/pack.json) and at least %d entries", p, err, persons*5+1, persons*10)
	}
	rc, err := (&evidence.Vault{Dir: dir, Identity: id}).Open(packID, p.SHA256Bytes)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "pack.zip"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(f, rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.Verify(f, n, origin, v)
	f.Close()
	if err != nil || !rep.OK() || rep.Entries != p.Entries {
		t.Fatalf("the pack does not verify: %v %+v", err, rep.Problems)
	}
}
