package api_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
)

// waitVerification polls a verification of the audit log until it is no longer running.
func (e *env) waitVerification(id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		v := e.must(200, domain.RoleAuditor, "GET", "/api/v1/audit/verifications/"+id, nil)
		if v["status"] != "running" {
			return v
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the verification still runs: %v", v)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An auditor has the whole audit log verified from the API, as `signetassure audit verify` does: intact,
// then, after the operator rewrites an entry, not intact, naming it. The audit log's status shows the
// newest outcome, and each verification is an audit entry of its own, once even when asked twice with
// one Idempotency-Key.
func TestAuditVerificationFromTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEvidence(t))
	e.createPerson("Ada", "Lovelace", "1985-12-10")
	e.createPerson("Alan", "Turing", "1982-06-23")
	e.sequence()

	if st := e.auditStatus(); st.LastVerification != nil {
		t.Fatalf("a verification before any was asked for: %+v", st.LastVerification)
	}
	key := map[string]string{"Idempotency-Key": "verify-1"}
	first := e.callWith(domain.RoleAuditor, "POST", "/api/v1/audit/verifications", nil, key)
	again := e.callWith(domain.RoleAuditor, "POST", "/api/v1/audit/verifications", nil, key)
	if first.status != 202 || again.status != 202 || first.json(t)["id"] != again.json(t)["id"] {
		t.Fatalf("asked twice with one key: %d %s / %d %s", first.status, first.body, again.status, again.body)
	}
	id := first.json(t)["id"].(string)
	v := e.waitVerification(id)
	report, _ := v["report"].(map[string]any)
	if v["status"] != "intact" || report == nil || report["treeSize"] != float64(e.auditStatus().TreeSize) {
		t.Fatalf("the verification of an intact log: %v", v)
	}
	st := e.auditStatus()
	if lv := st.LastVerification; lv == nil || !lv.Intact || lv.By == nil || *lv.By != e.users[domain.RoleAuditor].ID.String() ||
		lv.TreeSize != st.TreeSize {
		t.Fatalf("the status after it: %+v", st.LastVerification)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'audit.verified'`); n != 1 {
		t.Fatalf("%d audit entries of one verification asked twice", n)
	}

	e.tamper(`UPDATE audit_log SET detail = detail || '{"lastName":"Byron"}' WHERE action = 'person.create' AND id = (SELECT min(id) FROM audit_log WHERE action = 'person.create')`)
	second := e.must(202, domain.RoleSecurityController, "POST", "/api/v1/audit/verifications", nil)
	v = e.waitVerification(second["id"].(string))
	report, _ = v["report"].(map[string]any)
	problem, _ := report["problem"].(map[string]any)
	if v["status"] != "not_intact" || problem == nil || problem["auditId"] != float64(e.count(`SELECT min(id) FROM audit_log WHERE action = 'person.create'`)) {
		t.Fatalf("the verification of a rewritten log: %v", v)
	}
	if lv := e.auditStatus().LastVerification; lv == nil || lv.Intact || lv.Problem == nil || lv.Problem.Message == "" {
		t.Fatalf("the status after the second: %+v", lv)
	}

	for _, role := range []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer} {
		if r := e.call(role, "POST", "/api/v1/audit/verifications", nil); r.status != 403 {
			t.Errorf("%s asking for a verification: %d", role, r.status)
		}
	}
	if r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit/verifications/00000000-0000-0000-0000-000000000000", nil); r.status != 404 {
		t.Errorf("an unknown verification: %d %s", r.status, r.body)
	}
	if r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit/verifications/not-an-id", nil); r.status != 400 && r.status != 404 {
		t.Errorf("a verification id that is not one: %d %s", r.status, r.body)
	}
}

// A witness file that is not there is a finding of the verification, said at once: the worker makes its
// witness file when it starts, so a missing one was removed. (It was an error retried five times, the
// verification "running" all the while, and then "failed".) An empty one holds nothing yet, and the log is
// intact against it.
func TestAuditVerificationOfAMissingWitness(t *testing.T) {
	t.Parallel()
	witness := filepath.Join(t.TempDir(), "audit-witness.jsonl")
	e := newEnv(t, withEvidence(t), func(e *env) { e.witnessFile = witness })
	e.createPerson("Ada", "Lovelace", "1985-12-10")
	e.sequence()

	v := e.waitVerification(e.must(202, domain.RoleAuditor, "POST", "/api/v1/audit/verifications", nil)["id"].(string))
	problem, _ := v["report"].(map[string]any)["problem"].(map[string]any)
	if v["status"] != "not_intact" || problem == nil || problem["kind"] != "witness_missing" {
		t.Fatalf("verified against a witness file that is not there: %v", v)
	}
	if err := (audit.FileSink{Path: witness}).Create(); err != nil {
		t.Fatal(err)
	}
	if v := e.waitVerification(e.must(202, domain.RoleAuditor, "POST", "/api/v1/audit/verifications", nil)["id"].(string)); v["status"] != "intact" {
		t.Fatalf("verified against an empty witness file: %v", v)
	}
}
