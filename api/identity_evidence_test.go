package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/sim/signicatsim"
	"github.com/signetassure/signetassure/workflows"
)

// An accepted check's result archive is kept, sealed, before Signicat's copy is deleted; the officer and
// the security controller can download it (every download audited), other roles cannot.
func TestIdentityEvidenceKeptAndDownloaded(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "accepted", "1985-12-10")
	e.waitStatus(ref, "with_officer")
	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)[0].(map[string]any)
	require.NotNil(t, got["processDeletedAt"], "Signicat's copy is deleted")
	zip, ok := sim.ServedZip(check["processId"].(string))
	require.True(t, ok, "Signicat served the result zip")
	sum := sha256.Sum256(zip)
	require.Equal(t, hex.EncodeToString(sum[:]), got["evidenceSha256"], "the digest kept is the zip's")

	path := "/api/v1/cases/" + ref + "/identity-checks/1/evidence"
	for _, role := range []domain.Role{domain.RoleVettingOfficer, domain.RoleSecurityController} {
		r := e.call(role, "GET", path, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", role, r.body)
		assert.Equal(t, "application/zip", r.header.Get("Content-Type"))
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
		assert.True(t, bytes.Equal(zip, r.body), "%s downloads the zip Signicat served, byte for byte", role)
	}
	for _, role := range []domain.Role{domain.RoleCaseWorker, domain.RoleAuditor} {
		r := e.call(role, "GET", path, nil)
		assert.Equal(t, http.StatusForbidden, r.status, "%s may not download identity evidence", role)
		assert.Contains(t, r.header.Get("Content-Type"), "application/problem+json")
		assert.NotContains(t, string(r.body), "PK")
	}

	// One audit entry per download: who, which case and attempt, the digest.
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'identity.evidence.downloaded'
		AND entity_id = $1 AND actor_id = $2 AND detail->>'sha256' = $3 AND (detail->>'attempt')::int = 1`,
		ref, e.users[domain.RoleVettingOfficer].ID, got["evidenceSha256"]))
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM audit_log WHERE action = 'identity.evidence.downloaded'`),
		"refused requests download nothing")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM identity_evidence e JOIN identity_checks c USING (case_ref, attempt)
		WHERE e.stored_at <= c.process_deleted_at`), "kept before the provider's copy was deleted")

	// At rest the database holds ciphertext, which opens only for its own attempt.
	conn, err := pgx.Connect(context.Background(), e.database)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var sealed []byte
	var keyID string
	require.NoError(t, conn.QueryRow(context.Background(), `SELECT key_id, sealed FROM identity_evidence
		WHERE case_ref = $1 AND attempt = 1`, ref).Scan(&keyID, &sealed))
	assert.False(t, bytes.HasPrefix(sealed, []byte("PK")), "not a zip")
	assert.False(t, bytes.Contains(sealed, zip[:64]), "the zip's bytes are not stored in the clear")
	assert.NotContains(t, string(sealed), "result.json")
	assert.Len(t, sealed, len(zip)+12+16, "nonce, ciphertext and tag")

	// What there is none of, or cannot be, is answered as such.
	r := e.call(domain.RoleVettingOfficer, "GET", "/api/v1/cases/"+ref+"/identity-checks/2/evidence", nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	r = e.call(domain.RoleVettingOfficer, "GET", "/api/v1/cases/"+ref+"/identity-checks/x/evidence", nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	assert.Equal(t, "attempt", problemField(t, r))
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM audit_log WHERE action = 'identity.evidence.downloaded'`))
}

// withoutEvidenceKey leaves the worker without an evidence key: nothing can be sealed.
func withoutEvidenceKey(e *env) {
	empty, err := partners.ParseKeyring("", "")
	if err != nil {
		e.t.Fatal(err)
	}
	e.identity.Evidence = empty
}

// When the result archive cannot be kept, Signicat's copy is not deleted: the check retries keeping it.
func TestIdentityEvidenceNotKeptProviderCopyStays(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim), withoutEvidenceKey)
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "accepted", "1985-12-10")
	var failure string
	e.eventually(20*time.Second, func() bool {
		d, err := e.tc.DescribeWorkflowExecution(context.Background(), workflows.IdentityCheckWorkflowID(ref), "")
		if err != nil {
			return false
		}
		for _, a := range d.PendingActivities {
			if a.ActivityType.GetName() == "FinishIdentity" && a.Attempt >= 2 && a.LastFailure != nil {
				failure = a.LastFailure.GetMessage()
				return true
			}
		}
		return false
	}, func() string { return "keeping the evidence was not retried" })
	assert.True(t, strings.Contains(failure, "not sealed"), "the failure says why: %s", failure)
	st := sim.Stats()
	assert.Equal(t, 0, st.ProcessesDeleted+st.DossiersDeleted, "Signicat's copy is kept while ours is not")
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM identity_evidence`))
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM identity_checks WHERE process_deleted_at IS NOT NULL`))
}
