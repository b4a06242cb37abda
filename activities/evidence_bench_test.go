package activities_test

import (
	"context"
	"io"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

// BenchmarkEvidencePack builds an evidence pack of a date range holding 1,000 persons (each with a
// clearance and a grant) and 10,000 audit entries, every one proved against one signed checkpoint, into an
// age-encrypted file; then decrypts it and verifies it offline. It reports the build's wall time and the
// process's peak heap during it, the stored pack's size, and the verify time. Run it with `make bench`
// (one iteration: the data set is the point, not b.N).
func BenchmarkEvidencePack(b *testing.B) {
	const persons, entries = 1_000, 10_000
	url := testenv.DatabaseURL(b)
	ctx := context.Background()
	st := testenv.StoreAt(b, url)
	seedPersons(b, url, persons, nil)
	conn, err := pgx.Connect(ctx, url)
	require.NoError(b, err)
	// Ten audit entries a person (as its record's changes would write), less what the seed wrote.
	var before int
	require.NoError(b, conn.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&before))
	_, err = conn.Exec(ctx, `INSERT INTO audit_log (action, entity_type, entity_id, detail)
		SELECT 'person.update', 'person', p.id::text, jsonb_build_object('fields', jsonb_build_array('mobile'), 'n', g)
		FROM (SELECT id, row_number() OVER (ORDER BY id) r FROM persons) p, generate_series(1, 10) g
		WHERE (p.r - 1) * 10 + g <= $1`, entries-before)
	require.NoError(b, err)
	conn.Close(ctx)
	seed, err := audit.GenerateKey()
	require.NoError(b, err)
	keys, err := audit.ParseKeys(func(k string) string { return map[string]string{audit.EnvSigningKey: seed}[k] })
	require.NoError(b, err)
	const origin = "bench.example/audit"
	_, err = st.SequenceAudit(ctx, keys, origin)
	require.NoError(b, err)
	auditor, err := st.CreateUser(ctx, nil, domain.StaffUser{DisplayName: "Bench Auditor", Email: "auditor@bench.invalid",
		Roles: []domain.Role{domain.RoleAuditor}, Active: true})
	require.NoError(b, err)
	id, err := age.GenerateX25519Identity()
	require.NoError(b, err)
	vault := &evidence.Vault{Dir: b.TempDir(), Identity: id, LinkKey: evidence.DeriveLinkKey(id), LinkLifetime: time.Hour}
	acts := &activities.Activities{Store: st, AuditKeys: keys, Evidence: activities.EvidenceSettings{Vault: vault, Origin: origin}}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	// The pack's own request is after the checkpoint: it is counted as left for a later pack.
	from, to := time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour)
	packID := uuid.New()
	_, err = st.CreateEvidencePack(ctx, store.EvidencePack{ID: packID, Subject: store.PackSubject{Kind: "range", From: &from, To: &to},
		RequestedBy: auditor.ID, RequesterRole: string(domain.RoleAuditor), LinkSeconds: 3600})
	require.NoError(b, err)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	v, err := env.ExecuteActivity(activities.A.BuildEvidencePack, packID)
	build := time.Since(start)
	close(stop)
	require.NoError(b, err)
	var res activities.EvidencePackResult
	require.NoError(b, v.Get(&res))
	b.StopTimer()

	p, err := st.EvidencePack(ctx, packID)
	require.NoError(b, err)
	rc, err := vault.Open(packID, p.SHA256Bytes)
	require.NoError(b, err)
	plain, err := os.CreateTemp(b.TempDir(), "pack-*.zip")
	require.NoError(b, err)
	zipSize, err := io.Copy(plain, rc)
	require.NoError(b, err)
	rc.Close()
	vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	require.NoError(b, err)
	verifier, err := tlog.NewVerifier(vkey)
	require.NoError(b, err)
	start = time.Now()
	rep, err := evidence.Verify(plain, zipSize, origin, verifier)
	verify := time.Since(start)
	require.NoError(b, err)
	require.True(b, rep.OK(), "%+v", rep.Problems)
	require.GreaterOrEqual(b, rep.Entries, int64(entries))

	b.ReportMetric(build.Seconds(), "build-s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "heap-growth-MB")
	b.ReportMetric(float64(res.Size)/(1<<20), "stored-MB")
	b.ReportMetric(verify.Seconds(), "verify-s")
	b.ReportMetric(float64(res.Entries), "entries")
	b.ReportMetric(float64(res.Records), "records")
	b.Logf("range pack: %d persons, %d records, %d audit entries proved against tree size %d (%d left for a later pack); "+
		"built in %v (peak heap %.1f MB), stored %.2f MB encrypted (%.2f MB zip), verified in %v",
		persons, res.Records, res.Entries, res.TreeSize, res.Unsequenced, build.Round(time.Millisecond),
		float64(peak.Load())/(1<<20), float64(res.Size)/(1<<20), float64(zipSize)/(1<<20), verify.Round(time.Millisecond))
}
