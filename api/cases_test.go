package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// A case opened over HTTP, driven to cleared through the API, puts the clearance on the person's record
// and is found in Temporal by its search attributes.
func TestCaseClearedEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Jane", "Davies", "1985-04-12")

	opened := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/cases",
		map[string]any{"personId": person, "type": "new", "level": "SC"})
	ref := opened["caseRef"].(string)
	if !domain.IsCaseRef(ref) {
		t.Fatalf("caseRef %q is not opaque v_...", ref)
	}
	if opened["status"] != "with_officer" {
		t.Fatalf("a new case waits with the officer, got %v", opened["status"])
	}
	if kinds := timelineKinds(opened); strings.Join(kinds, ",") != "opened,identity_check,with_officer" {
		t.Fatalf("timeline = %v", kinds)
	}
	due, _ := time.Parse(time.RFC3339Nano, opened["dueAt"].(string))
	if days := time.Until(due).Hours() / 24; days < 24.9 || days > 25.1 {
		t.Fatalf("an SC case is due in 25 days, got %.1f", days)
	}
	e.waitVisible(fmt.Sprintf("CaseRef = '%s' AND CaseStatus = 'with_officer' AND ClearanceLevel = 'SC' AND CaseType = 'new'", ref))

	officer := e.users[domain.RoleVettingOfficer].ID.String()
	c := e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	if c["ownerId"] != officer {
		t.Fatalf("owner = %v", c["ownerId"])
	}
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": "References received"})
	from, to := validity(-30, 5)
	c = e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": from, "validTo": to})
	if c["status"] != "cleared" || c["closedAt"] == nil {
		t.Fatalf("case after outcome: %v", c)
	}

	var cls []map[string]any
	e.decode(e.must200List(domain.RoleCaseWorker, "/api/v1/persons/"+person+"/clearances"), &cls)
	if len(cls) != 1 {
		t.Fatalf("person has %d clearances, want 1", len(cls))
	}
	cl := cls[0]
	if cl["level"] != "SC" || cl["status"] != "active" || cl["validFrom"] != from || cl["validTo"] != to ||
		cl["sourceCaseRef"] != ref || cl["issuingAuthority"] != "SignetAssure" {
		t.Fatalf("clearance = %v", cl)
	}
	reg := e.must(200, domain.RoleAuditor, "GET", "/api/v1/clearances?level=SC&expiringBefore=2032-01-01", nil)
	if reg["total"].(float64) != 1 || reg["items"].([]any)[0].(map[string]any)["personName"] != "Jane Davies" {
		t.Fatalf("register: %v", reg)
	}
	e.waitVisible(fmt.Sprintf("CaseRef = '%s' AND CaseStatus = 'cleared' AND VettingOwner = '%s'", ref, officer))

	listed := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases?status=cleared", nil)
	if items := listed["items"].([]any); len(items) != 1 || items[0].(map[string]any)["personName"] != "Jane Davies" {
		t.Fatalf("cleared cases listed: %v", listed)
	}
	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
	want := "opened,identity_check,with_officer,owner_assigned,note,outcome"
	if kinds := strings.Join(timelineKinds(got), ","); kinds != want {
		t.Fatalf("timeline = %s, want %s", kinds, want)
	}
	if tl := got["timeline"].([]any); tl[len(tl)-1].(map[string]any)["actorName"] != "Test vetting_officer" {
		t.Fatalf("the outcome's timeline entry does not name the officer: %v", tl[len(tl)-1])
	}
	// Every step is in the audit log, with who did it.
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity_id = $1`, ref); n != 6 {
		t.Fatalf("audit entries for the case = %d, want 6", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity_id = $1 AND action = 'case.outcome' AND actor_id = $2`,
		ref, e.users[domain.RoleVettingOfficer].ID); n != 1 {
		t.Fatal("the outcome's audit entry does not name the officer")
	}
	// The logs tell what happened without saying to whom.
	logs := e.logs.String()
	if !strings.Contains(logs, `"route":"/api/v1/cases/:caseRef/outcome"`) {
		t.Fatalf("requests are not logged: %.300s", logs)
	}
	for _, personal := range []string{"Jane", "Davies", "1985-04-12", "+447400123456", "07400 123456", "7400123456", "AB123456C", "Test Street", person} {
		if strings.Contains(logs, personal) {
			t.Fatalf("the API log holds personal data %q", personal)
		}
	}
	// A second clearance at the same level supersedes the first.
	ref2 := e.openCase(person, "renewal", "SC")
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref2+"/owner", map[string]any{"ownerId": officer})
	from2, to2 := validity(30, 10)
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref2+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": from2, "validTo": to2})
	if n := e.count(`SELECT count(*) FROM clearances WHERE person_id = $1 AND status = 'active'`, person); n != 1 {
		t.Fatalf("%d active SC clearances, want 1", n)
	}
	if n := e.count(`SELECT count(*) FROM clearances WHERE source_case_ref = $1 AND status = 'superseded'`, ref); n != 1 {
		t.Fatal("the first clearance was not superseded")
	}
	e.recordAll("cleared_then_renewed")
}

// Officer actions the case's state does not allow are refused with 409 and change nothing.
func TestCaseTransitionsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Amir", "Khan", "1979-02-03")
	ref := e.openCase(person, "new", "CTC")
	officer := e.users[domain.RoleVettingOfficer].ID.String()

	// Opening the same case twice is a duplicate.
	r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{"personId": person, "type": "new", "level": "CTC"})
	if r.status != 409 || !strings.Contains(string(r.body), ref) {
		t.Fatalf("duplicate open: %d %s", r.status, r.body)
	}
	from, to := validity(0, 3)
	outcome := map[string]any{"outcome": "cleared", "level": "CTC", "validFrom": from, "validTo": to}
	r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", outcome)
	if r.status != 409 || !strings.Contains(r.json(t)["detail"].(string), "no vetting owner") {
		t.Fatalf("outcome without owner: %d %s", r.status, r.body)
	}
	r = e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/information-received", map[string]any{})
	if r.status != 409 {
		t.Fatalf("information received when none awaited: %d %s", r.status, r.body)
	}
	// Only a vetting officer can own a case.
	r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner",
		map[string]any{"ownerId": e.users[domain.RoleCaseWorker].ID.String()})
	if r.status != 400 || problemField(t, r) != "ownerId" {
		t.Fatalf("case worker as owner: %d %s", r.status, r.body)
	}
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/information-requests", map[string]any{
		"description": "Address history", "dueDate": time.Now().AddDate(0, 0, 7).Format(time.DateOnly)})
	r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", outcome)
	if r.status != 409 {
		t.Fatalf("outcome while information is awaited: %d %s", r.status, r.body)
	}
	c := e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/information-received", map[string]any{"note": "Posted"})
	if c["status"] != "with_officer" {
		t.Fatalf("status after information received = %v", c["status"])
	}
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{"outcome": "refused"})
	e.recordAll("refused_after_information")
	before := e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1`, ref)
	for _, path := range []string{"/notes", "/owner", "/outcome"} {
		r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+path,
			map[string]any{"text": "late", "ownerId": officer, "outcome": "withdrawn"})
		if r.status != 409 && r.status != 400 {
			t.Fatalf("%s on a closed case: %d %s", path, r.status, r.body)
		}
	}
	if after := e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1`, ref); after != before {
		t.Fatalf("refused actions wrote %d events", after-before)
	}
	if n := e.count(`SELECT count(*) FROM clearances WHERE person_id = $1`, person); n != 0 {
		t.Fatal("a refused case put a clearance on the record")
	}
	e.must(404, domain.RoleCaseWorker, "GET", "/api/v1/cases/v_doesnotexist0000000000000", nil)
	e.must(404, domain.RoleCaseWorker, "POST", "/api/v1/cases/v_doesnotexist0000000000000/notes", map[string]any{"text": "x"})
}

// Only the case's owner decides it.
func TestOutcomeByAnotherOfficerRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.openCase(e.createPerson("Grace", "Okafor", "1990-09-09"), "new", "SC")
	other, err := e.st.CreateUser(context.Background(), nil, domain.StaffUser{DisplayName: "Other Officer",
		Email: "other@test.invalid", Roles: []domain.Role{domain.RoleVettingOfficer}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	e.must(200, domain.RoleSecurityController, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": other.ID.String()})
	r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{"outcome": "refused"})
	if r.status != 409 || !strings.Contains(string(r.body), "owner") {
		t.Fatalf("outcome by a non-owner: %d %s", r.status, r.body)
	}
}

func timelineKinds(c map[string]any) []string {
	var out []string
	for _, ev := range c["timeline"].([]any) {
		out = append(out, ev.(map[string]any)["kind"].(string))
	}
	return out
}

// waitVisible waits until Temporal's visibility finds exactly one workflow for the query.
func (e *env) waitVisible(query string) {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := e.tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err == nil && res.Count == 1 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("no workflow visible for %q (err %v)", query, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (e *env) must200List(role domain.Role, path string) []byte {
	e.t.Helper()
	r := e.call(role, "GET", path, nil)
	if r.status != 200 {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return r.body
}

func (e *env) decode(b []byte, v any) {
	e.t.Helper()
	if err := jsonUnmarshal(b, v); err != nil {
		e.t.Fatal(err)
	}
}

// Requests retried with the same Idempotency-Key are carried out once: one case, one note.
func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Isla", "Fraser", "1993-03-03")
	other := e.createPerson("Liam", "Byrne", "1981-08-08")
	key := map[string]string{"Idempotency-Key": "open-7f3a"}
	open := map[string]any{"personId": person, "type": "new", "level": "SC"}
	first := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", open, key)
	again := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", open, key)
	if first.status != 201 || again.status != 201 {
		t.Fatalf("open twice with one key: %d, %d %s", first.status, again.status, again.body)
	}
	ref := first.json(t)["caseRef"].(string)
	if again.json(t)["caseRef"] != ref || !domain.IsCaseRef(ref) {
		t.Fatalf("repeat opened %v, first %s", again.json(t)["caseRef"], ref)
	}
	if n := e.count(`SELECT count(*) FROM vetting_cases WHERE person_id = $1`, person); n != 1 {
		t.Fatalf("%d cases for one keyed request", n)
	}
	r := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{"personId": other, "type": "new", "level": "SC"}, key)
	if r.status != 422 || problemField(t, r) != "Idempotency-Key" {
		t.Fatalf("key reused for another person: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM vetting_cases WHERE person_id = $1`, other); n != 0 {
		t.Fatal("a reused key opened a case for another person")
	}
	noteKey := map[string]string{"Idempotency-Key": "note-1"}
	for range 3 {
		if r := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": "Called referee"}, noteKey); r.status != 200 {
			t.Fatalf("note: %d %s", r.status, r.body)
		}
	}
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": "Called referee"})
	if n := e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1 AND kind = 'note'`, ref); n != 2 {
		t.Fatalf("%d notes, want 2 (three keyed repeats and one unkeyed)", n)
	}
}

// An officer's outcome is on the case's timeline if and only if the case's workflow recorded it, even when
// an event reaches the workflow while the outcome is being written. The workflow task that closes the case
// is then refused by Temporal (it was about to close with an event it had not seen), and Temporal drops an
// update that was first delivered in a refused task: a write made in that task would be on the timeline
// with no workflow behind it, and the case's next action would be written over it, so writes an update
// makes wait until the update is accepted.
func TestOutcomeMeetingANewEventIsRecordedByBothOrNeither(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	ref := e.openCase(e.createPerson("Ines", "Moreau", "1988-06-21"), "new", "CTC")
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner",
		map[string]any{"ownerId": e.users[domain.RoleVettingOfficer].ID.String()})

	// Hold the case's row, so the outcome's write waits for it.
	db, err := pgx.Connect(ctx, e.database)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	hold, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `SELECT 1 FROM vetting_cases WHERE case_ref = $1 FOR UPDATE`, ref); err != nil {
		t.Fatal(err)
	}
	answer := make(chan resp, 1)
	go func() {
		answer <- e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{"outcome": "refused"})
	}()
	waitFor(t, 30*time.Second, "the outcome's write waiting for the case's row", func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND wait_event_type = 'Lock' AND query LIKE '%FROM vetting_cases%FOR UPDATE%'`) == 1
	})
	// An event the workflow has not seen arrives while the write waits (a signal it has no use for).
	if err := e.tc.SignalWorkflow(ctx, workflows.VettingCaseWorkflowID(ref), "", "test-unseen-event", nil); err != nil {
		t.Fatal(err)
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}

	r := <-answer
	outcomes := func() int {
		return e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1 AND kind = 'outcome'`, ref)
	}
	switch r.status {
	case 200: // recorded
	case 503: // refused as a whole, to be tried again
		if n := outcomes(); n != 0 {
			t.Fatalf("the outcome was answered 503 but is on the timeline %d times", n)
		}
	default:
		t.Fatalf("outcome: %d %s", r.status, r.body)
	}
	st, err := workflows.QueryCase(ctx, e.tc, ref)
	if err != nil {
		t.Fatal(err)
	}
	c := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/"+ref, nil)
	if c["status"] != string(st.Case.Status) || len(c["timeline"].([]any)) != st.Case.Version {
		t.Fatalf("the read model has the case %v with %d events, its workflow %s with %d (answered %d)",
			c["status"], len(c["timeline"].([]any)), st.Case.Status, st.Case.Version, r.status)
	}
	if r.status == 200 && (st.Case.Status != domain.StatusRefused || outcomes() != 1) {
		t.Fatalf("answered 200 but the case is %s with %d outcomes", st.Case.Status, outcomes())
	}
}
