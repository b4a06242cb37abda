package api_test

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/workflows"
)

// Histories for the replay test that no other API test records: the recurring jobs, run once as their
// schedules run them, and a case started without decision bounds. Only when recording:
//
//	SA_RECORD_HISTORY=1 go test -count=1 -run TestRecordHistories ./api/
//
// The tests that record as they run (recordAll, recordHistory) are listed in the README ("Replaying
// recorded histories").
func TestRecordHistoriesOfRecurringJobs(t *testing.T) {
	if !testenv.Recording() {
		t.Skip("records histories for the replay test when SA_RECORD_HISTORY is set")
	}
	e := newEnv(t)
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := audit.ParseKeys(func(k string) string {
		return map[string]string{audit.EnvSigningKey: seed, audit.EnvSigningKeyID: "replay"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	// The audit checkpoint signs with a key: a worker of its own that has one.
	queue := testenv.WorkerWith(t, e.tc, &activities.Activities{Store: e.st, AuditKeys: keys})
	e.createPerson("Audit", "Entry", "1980-01-01") // the audit chain has a head to sign
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, job := range []struct {
		queue string
		wf    any
		args  []any
	}{
		{e.queue, workflows.PartnerHealth, nil},
		{queue, workflows.AuditCheckpoint, nil},
		{e.queue, workflows.MessageCosts, nil},
		{e.queue, workflows.AccessSync, []any{workflows.AccessSyncInput{Trigger: "schedule"}}},
	} {
		run, err := e.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: job.queue}, job.wf, job.args...)
		if err != nil {
			t.Fatal(err)
		}
		if err := run.Get(ctx, nil); err != nil {
			t.Fatalf("%T: %v", job.wf, err)
		}
	}
	e.recordAll("scheduled")
	testenv.RecordQueue(t, e.tc, queue, "scheduled", 1)
}

// A case started without decision bounds (as one started before them, or by another workflow) takes
// the defaults (the decision-bounds patch's new side) and is cleared.
func TestRecordHistoriesOfCaseWithoutBounds(t *testing.T) {
	if !testenv.Recording() {
		t.Skip("records histories for the replay test when SA_RECORD_HISTORY is set")
	}
	e := newEnv(t)
	person := e.createPerson("Grace", "Hopper", "1986-12-09")
	ref := domain.NewCaseRef()
	opener := e.users[domain.RoleCaseWorker].ID
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := workflows.OpenCase(ctx, e.tc, e.queue, workflows.VettingCaseInput{CaseRef: ref,
		PersonID: mustUUID(t, person), Type: domain.CaseNew, Level: domain.LevelSC, IssuingAuthority: "Test",
		OpenedBy: &opener, SLA: e.sla.For(domain.CaseNew, domain.LevelSC)}); err != nil {
		t.Fatal(err)
	}
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	from, to := validity(-1, 5)
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": from, "validTo": to})
	e.recordAll("without_bounds")
}

// A clearance cleared with 20 days left: its workflow sends the one nudge due at once (messages through
// the providers' simulators) and opens the renewal case, which the officer then clears, ending the first
// clearance's workflow as renewed.
func TestRecordHistoriesOfClearanceNearExpiry(t *testing.T) {
	if !testenv.Recording() {
		t.Skip("records histories for the replay test when SA_RECORD_HISTORY is set")
	}
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.createPerson("Alan", "Turing", "1982-06-23")
	ref := e.openCase(person, "new", "SC")
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	today := time.Now().UTC()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": today.AddDate(0, 0, -30).Format(time.DateOnly),
		"validTo": today.AddDate(0, 0, 20).Format(time.DateOnly)})
	var renewal string
	e.eventually(20*time.Second, func() bool {
		renewal = ""
		listed := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases?status=with_officer", nil)
		for _, it := range listed["items"].([]any) {
			if c := it.(map[string]any); c["caseRef"] != ref {
				renewal, _ = c["caseRef"].(string)
			}
		}
		return renewal != ""
	}, func() string { return "no renewal case opened" })
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+renewal+"/owner", map[string]any{"ownerId": officer})
	from, to := validity(15, 5)
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+renewal+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": from, "validTo": to})
	time.Sleep(3 * time.Second) // the first clearance's workflow ends, the nudges are sent
	e.recordAll("near_expiry_renewed")
}

// An auditor's verification of the audit log, of a log with a signed checkpoint.
func TestRecordHistoryOfAuditVerification(t *testing.T) {
	if !testenv.Recording() {
		t.Skip("records histories for the replay test when SA_RECORD_HISTORY is set")
	}
	e := newEnv(t, withEvidence(t))
	e.createPerson("Audit", "Entry", "1980-01-01")
	e.sequence()
	v := e.must(202, domain.RoleAuditor, "POST", "/api/v1/audit/verifications", nil)
	e.waitVerification(v["id"].(string))
	testenv.RecordHistory(t, e.tc, workflows.AuditVerificationWorkflowID(mustUUID(t, v["id"].(string))), "requested")
}
