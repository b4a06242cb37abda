package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/worker"
	"github.com/signetassure/signetassure/workflows"
)

// accessEnv is an env whose API and worker drive CredoID: the simulator over HTTP, and the real CredoID
// client pointed at it. The test reads the badge system through the same client.
type accessEnv struct {
	*env
	sim *credoidsim.Sim
	acs *credoid.Client
	lab string // the Site A Lab level; SC once ready has run
}

func newAccessEnv(t *testing.T) *accessEnv {
	t.Helper()
	sim := credoidsim.New(credoidsim.Options{Username: "operator", Password: "pw", Seed: true})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	acs := credoid.New(credoid.Config{BaseURL: srv.URL, Username: "operator", Password: "pw",
		HTTP: access.HTTPOptions{Timeout: 2 * time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	e := newEnv(t, withACS(acs, store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, 4))
	return &accessEnv{env: e, sim: sim, acs: acs, lab: strconv.Itoa(credoidsim.LevelSiteALab)}
}

// ready mirrors CredoID's levels with a sync and makes the lab demand SC, as a security controller would.
func (e *accessEnv) ready() {
	e.t.Helper()
	if s := e.syncNow(); s["status"] != "completed" {
		e.t.Fatalf("the first sync did not complete: %v", s)
	}
	e.setPolicy(domain.RoleSecurityController, e.lab, "SC")
}

// syncNow asks for a sync over the API and waits for it to finish; it returns the sync as GET shows it.
func (e *accessEnv) syncNow() map[string]any {
	e.t.Helper()
	r := e.call(domain.RoleSecurityController, "POST", "/api/v1/access/syncs", nil)
	if r.status != http.StatusAccepted {
		e.t.Fatalf("POST /api/v1/access/syncs: %d %s", r.status, r.body)
	}
	id, _ := r.json(e.t)["id"].(string)
	if id == "" || r.header.Get("Location") != "/api/v1/access/syncs/"+id {
		e.t.Fatalf("sync started without an id or its Location: %s %v", r.body, r.header)
	}
	return e.waitSync(id, nil)
}

// waitSync polls a sync until it is no longer running, calling seen with every answer.
func (e *accessEnv) waitSync(id string, seen func(map[string]any)) map[string]any {
	e.t.Helper()
	var last map[string]any
	waitFor(e.t, 30*time.Second, "sync "+id+" still running", func() bool {
		r := e.call(domain.RoleAuditor, "GET", "/api/v1/access/syncs/"+id, nil)
		switch r.status {
		case http.StatusNotFound:
			return false // its workflow has not reached the sync itself yet
		case http.StatusOK:
		default:
			e.t.Fatalf("GET sync: %d %s", r.status, r.body)
		}
		last = r.json(e.t)
		if seen != nil {
			seen(last)
		}
		return last["status"] != "running"
	})
	return last
}

func (e *accessEnv) setPolicy(role domain.Role, level, required string) resp {
	e.t.Helper()
	r := e.call(role, "PUT", "/api/v1/access/levels/"+level+"/policy", map[string]any{"requiredLevel": required})
	if role == domain.RoleSecurityController && r.status != http.StatusOK {
		e.t.Fatalf("set policy: %d %s", r.status, r.body)
	}
	return r
}

// clearedPerson creates a person over the API and records an active SC clearance for them, as a cleared
// case would. It returns the person's and the clearance's ids.
func (e *accessEnv) clearedPerson(first string) (person, clearance string) {
	e.t.Helper()
	person = e.createPerson(first, "Tester", "1980-01-02")
	today := domain.DateOf(time.Now().UTC())
	c, err := e.st.RecordClearance(context.Background(), nil, domain.Clearance{PersonID: uuid.MustParse(person),
		Level: domain.LevelSC, ValidFrom: today.AddDays(-30), ValidTo: today.AddYears(5), IssuingAuthority: "Test"})
	if err != nil {
		e.t.Fatal(err)
	}
	return person, c.ID.String()
}

// requestGrant asks for the lab for a person from from to to.
func (e *accessEnv) requestGrant(role domain.Role, person string, from, to time.Time, headers map[string]string) resp {
	e.t.Helper()
	return e.callWith(role, "POST", "/api/v1/persons/"+person+"/access/grants",
		map[string]any{"levelId": e.lab, "startsAt": rfc3339(from), "endsAt": rfc3339(to), "reason": "lab work"}, headers)
}

func (e *accessEnv) grant(id string) map[string]any {
	e.t.Helper()
	return e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/access/grants/"+id, nil)
}

// records are the person's records in CredoID, read through the client.
func (e *accessEnv) records(person string) []access.User {
	e.t.Helper()
	us, err := e.acs.FindUsers(context.Background(), access.ExternalID(uuid.MustParse(person)))
	if err != nil {
		e.t.Fatal(err)
	}
	return us
}

// labOn is the lab assignment on the person's one record, if it has it.
func (e *accessEnv) labOn(person string) (access.Assignment, bool) {
	e.t.Helper()
	recs := e.records(person)
	if len(recs) > 1 {
		e.t.Fatalf("the person has %d records in CredoID, want at most 1", len(recs))
	}
	for _, r := range recs {
		for _, l := range r.Levels {
			if l.LevelID == e.lab {
				return l, true
			}
		}
	}
	return access.Assignment{}, false
}

// countVisible waits until Temporal's visibility counts want workflows for the query.
func (e *env) countVisible(query string, want int64) {
	e.t.Helper()
	var got int64
	waitFor(e.t, 15*time.Second, fmt.Sprintf("%q counts %d workflows, want %d", query, got, want), func() bool {
		res, err := e.tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err != nil {
			e.t.Fatalf("count %q: %v", query, err)
		}
		got = res.Count
		return got == want
	})
}

// waitFor polls ok until it holds, or fails the test after within, saying what was awaited.
func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	poll(t, within, ok, func() string { return fmt.Sprintf("after %s: %s", within, what) })
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func parseTime(t testing.TB, v any) time.Time {
	t.Helper()
	s, _ := v.(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("not a time: %v", v)
	}
	return at
}

func auditActions(trail []map[string]any) []string {
	var out []string
	for _, a := range trail {
		out = append(out, a["action"].(string))
	}
	return out
}

// A grant with real dates, on the real server: requested over the API, put on the person's CredoID record
// with its dates while it runs, and taken off when it ends, with every step in the person's access page, the
// audit trail and Temporal.
func TestAccessGrantLifecycle(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	var levels []map[string]any
	e.decode(e.must200List(domain.RoleCaseWorker, "/api/v1/access/levels"), &levels)
	i := slices.IndexFunc(levels, func(l map[string]any) bool { return l["id"] == e.lab })
	if i < 0 || levels[i]["name"] != "Site A Lab" || levels[i]["requiredLevel"] != "SC" || levels[i]["present"] != true {
		t.Fatalf("the sync did not mirror the lab with its policy: %v", levels)
	}
	person, _ := e.clearedPerson("Jane")

	now := time.Now().UTC().Truncate(time.Second)
	r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(4*time.Second), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	g := r.json(t)
	id := g["id"].(string)
	if !domain.IsGrantID(id) || r.header.Get("Location") != "/api/v1/access/grants/"+id {
		t.Fatalf("grant id %q, Location %q", id, r.header.Get("Location"))
	}
	if s := g["status"]; s != "active" && s != "scheduled" {
		t.Fatalf("a grant that started a minute ago is %v", s)
	}
	starts, ends := parseTime(t, g["startsAt"]), parseTime(t, g["endsAt"])
	if !starts.Equal(now.Add(-time.Minute)) || !ends.Equal(now.Add(4*time.Second)) {
		t.Fatalf("grant dates %s – %s, want %s – %s", starts, ends, now.Add(-time.Minute), now.Add(4*time.Second))
	}

	// While it runs, the person's badge opens the lab, with the grant's dates.
	var lab access.Assignment
	waitFor(t, 10*time.Second, "the lab never reached the person's CredoID record", func() bool {
		var ok bool
		lab, ok = e.labOn(person)
		return ok
	})
	if !lab.From.Equal(starts) || !lab.To.Equal(ends) {
		t.Fatalf("the lab is on the record from %s to %s, want the grant's %s – %s", lab.From, lab.To, starts, ends)
	}
	if recs := e.records(person); !recs[0].Active {
		t.Fatal("the person's record is not active while the grant runs")
	}
	if st := e.grant(id)["status"]; st != "active" && time.Now().Before(ends) {
		t.Fatalf("the grant is %v while it runs", st)
	}

	// After its end the lab is gone, and the grant says why.
	waitFor(t, 20*time.Second, "the lab is still on the record after the grant's end", func() bool {
		_, ok := e.labOn(person)
		return !ok && time.Now().After(ends)
	})
	waitFor(t, 10*time.Second, "the grant is not ended", func() bool { return e.grant(id)["status"] == "ended" })
	if got := e.grant(id); got["endReason"] != "its end date passed" {
		t.Fatalf("ended grant: %v", got)
	}

	// Temporal: the grant's workflow is done (after its last reconciliation: what follows is final), and found
	// by its GrantStatus.
	wf := workflows.AccessGrantWorkflowID(id)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var st workflows.GrantState
	if err := e.tc.GetWorkflow(ctx, wf, "").Get(ctx, &st); err != nil {
		t.Fatalf("grant workflow: %v", err)
	}
	if st.Grant.Status != domain.GrantEnded || !st.Recorded {
		t.Fatalf("the workflow's last state: %+v", st)
	}
	desc, err := e.tc.DescribeWorkflowExecution(ctx, wf, "")
	if err != nil {
		t.Fatal(err)
	}
	if s := desc.WorkflowExecutionInfo.Status; s != enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		t.Fatalf("grant workflow %s is %s", wf, s)
	}
	e.countVisible(fmt.Sprintf("WorkflowId = '%s' AND GrantStatus = 'ended'", wf), 1)

	pa := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+person+"/access", nil)
	grants := pa["grants"].([]any)
	if len(grants) != 1 || grants[0].(map[string]any)["id"] != id || grants[0].(map[string]any)["status"] != "ended" {
		t.Fatalf("the person's access page shows grants %v", grants)
	}
	link, _ := pa["link"].(map[string]any)
	if link == nil || link["acsUserId"] != e.records(person)[0].ID || link["state"] != "disabled" {
		t.Fatalf("the person's access page shows link %v, want their CredoID record, disabled now nothing is granted", link)
	}
	kinds := map[string]int{}
	for _, o := range pa["operations"].([]any) {
		op := o.(map[string]any)
		if op["status"] != "done" {
			t.Fatalf("operation not done: %v", op)
		}
		kinds[op["kind"].(string)]++
	}
	if kinds["create"] != 1 || kinds["set_access"]+kinds["update"] == 0 {
		t.Fatalf("journalled operations %v: want the record created, then changed when the grant ended", kinds)
	}

	var trail []map[string]any
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/audit?entityType=person&entityId="+person), &trail)
	actions := auditActions(trail)
	for _, want := range []string{"access.grant.request", "access.grant.active", "access.grant.ended", "access.create"} {
		if !slices.Contains(actions, want) {
			t.Fatalf("the audit trail %v lacks %s", actions, want)
		}
	}
	if slices.Index(actions, "access.grant.active") > slices.Index(actions, "access.grant.ended") {
		t.Fatalf("audit trail out of order: %v", actions)
	}

	e.recordAll("grant_lifecycle")
}

// A clearance suspended takes the person's access away at once: the grant resting on it is revoked and the
// lab comes off their record. Reinstating the clearance does not bring the revoked grant back.
func TestClearanceSuspendedRevokesAccess(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	person, clearance := e.clearedPerson("Amir")
	now := time.Now().UTC()
	r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(30*24*time.Hour), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	waitFor(t, 10*time.Second, "the lab never reached the person's record", func() bool { _, ok := e.labOn(person); return ok })

	c := e.must(http.StatusOK, domain.RoleVettingOfficer, "POST", "/api/v1/clearances/"+clearance+"/status",
		map[string]any{"status": "suspended", "reason": "adverse information under review"})
	if c["status"] != "suspended" {
		t.Fatalf("clearance after suspension: %v", c)
	}
	waitFor(t, 15*time.Second, "the grant was not revoked after its clearance was suspended", func() bool {
		return e.grant(id)["status"] == "revoked"
	})
	if reason, _ := e.grant(id)["endReason"].(string); !strings.Contains(reason, "SC clearance") {
		t.Fatalf("the revoked grant's end reason %q does not name the clearance", reason)
	}
	waitFor(t, 10*time.Second, "the lab is still on the record of a person whose clearance is suspended", func() bool {
		_, ok := e.labOn(person)
		return !ok
	})

	// Reinstated: the person may be granted access again, but the revoked grant stays revoked. A revoke is
	// final; whoever needs the access again requests a new grant.
	c = e.must(http.StatusOK, domain.RoleVettingOfficer, "POST", "/api/v1/clearances/"+clearance+"/status",
		map[string]any{"status": "active", "reason": "review closed"})
	if c["status"] != "active" {
		t.Fatalf("clearance after reinstatement: %v", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.tc.GetWorkflow(ctx, workflows.AccessReviewWorkflowID(uuid.MustParse(person)), "").Get(ctx, nil); err != nil {
		t.Fatalf("the access review after reinstatement: %v", err)
	}
	if g := e.grant(id); g["status"] != "revoked" {
		t.Fatalf("reinstating the clearance changed the revoked grant: %v", g)
	}
	if _, ok := e.labOn(person); ok {
		t.Fatal("reinstating the clearance put the revoked grant's level back")
	}
	var trail []map[string]any
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/audit?entityType=person&entityId="+person), &trail)
	actions := auditActions(trail)
	for _, want := range []string{"clearance.suspended", "access.grant.revoked", "clearance.active"} {
		if !slices.Contains(actions, want) {
			t.Fatalf("the audit trail %v lacks %s", actions, want)
		}
	}
	if n := e.count(`SELECT count(*) FROM access_grants WHERE person_id = $1 AND status IN ('scheduled', 'active')`, person); n != 0 {
		t.Fatalf("%d open grants after reinstatement, want 0", n)
	}
	// A new request is granted.
	if r := e.requestGrant(domain.RoleCaseWorker, person, time.Now().Add(-time.Minute), time.Now().Add(time.Hour), nil); r.status != http.StatusCreated {
		t.Fatalf("a new grant after reinstatement: %d %s", r.status, r.body)
	}
	waitFor(t, 10*time.Second, "the new grant's level never reached the record", func() bool { _, ok := e.labOn(person); return ok })
	e.recordAll("clearance_suspended")
}

// Grants the rules refuse are refused with a reason, and write nothing: no row, no workflow. A request
// repeated with its Idempotency-Key is one grant.
func TestGrantRefused(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	now := time.Now().UTC()
	grantsOf := func(person string) int {
		return e.count(`SELECT count(*) FROM access_grants WHERE person_id = $1`, person)
	}

	uncleared := e.createPerson("Una", "Tester", "1990-01-01")
	r := e.requestGrant(domain.RoleCaseWorker, uncleared, now.Add(-time.Minute), now.Add(time.Hour), nil)
	if r.status != http.StatusConflict || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("grant for a person without a clearance: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	if d, _ := r.json(t)["detail"].(string); !strings.Contains(d, "clearance") {
		t.Fatalf("the refusal does not mention the clearance: %s", r.body)
	}
	if n := grantsOf(uncleared); n != 0 {
		t.Fatalf("a refused grant wrote %d rows", n)
	}

	person, _ := e.clearedPerson("Bea")
	in := func(change func(map[string]any)) map[string]any {
		m := map[string]any{"levelId": e.lab, "startsAt": rfc3339(now.Add(-time.Minute)), "endsAt": rfc3339(now.Add(time.Hour))}
		change(m)
		return m
	}
	for _, tc := range []struct {
		name, field string
		body        map[string]any
	}{
		{"missing levelId", "levelId", in(func(m map[string]any) { delete(m, "levelId") })},
		{"unknown levelId", "levelId", in(func(m map[string]any) { m["levelId"] = "999" })},
		{"endsAt before startsAt", "endsAt", in(func(m map[string]any) {
			m["startsAt"], m["endsAt"] = rfc3339(now.Add(2*time.Hour)), rfc3339(now.Add(time.Hour))
		})},
		{"endsAt in the past", "endsAt", in(func(m map[string]any) {
			m["startsAt"], m["endsAt"] = rfc3339(now.Add(-2*time.Hour)), rfc3339(now.Add(-time.Hour))
		})},
		{"startsAt garbage", "startsAt", in(func(m map[string]any) { m["startsAt"] = "next tuesday-ish" })},
		{"unknown time zone", "timeZone", in(func(m map[string]any) {
			m["timeZone"], m["startsAt"], m["endsAt"] = "Mars/Olympus", "2030-01-01T08:00", "2030-01-02T08:00"
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/persons/"+person+"/access/grants", tc.body)
			if r.status != http.StatusBadRequest {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if f := problemField(t, r); f != tc.field {
				t.Fatalf("names %q, want %q: %s", f, tc.field, r.body)
			}
			if n := grantsOf(person); n != 0 {
				t.Fatalf("a refused request wrote %d grants", n)
			}
		})
	}

	key := map[string]string{"Idempotency-Key": "grant-7f3a"}
	first := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(time.Hour), key)
	again := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(time.Hour), key)
	if first.status != http.StatusCreated || again.status != http.StatusCreated {
		t.Fatalf("the same keyed request twice: %d, %d %s", first.status, again.status, again.body)
	}
	if a, b := first.json(t)["id"], again.json(t)["id"]; a != b {
		t.Fatalf("the same key gave grants %v and %v", a, b)
	}
	if n := grantsOf(person); n != 1 {
		t.Fatalf("%d grants for one keyed request", n)
	}
	// The keyed grant is the only grant workflow this test started: the refused requests started none.
	e.countVisible(fmt.Sprintf("TaskQueue = '%s' AND WorkflowType = 'AccessGrant'", e.queue), 1)
}

// A grant revoked over the API ends at once and its level comes off; revoking it again is a conflict, and a
// revoke must say why.
func TestGrantRevoke(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	person, _ := e.clearedPerson("Kwame")
	now := time.Now().UTC()
	r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(24*time.Hour), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	waitFor(t, 10*time.Second, "the lab never reached the person's record", func() bool { _, ok := e.labOn(person); return ok })

	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/access/grants/"+id+"/revoke", map[string]any{}); r.status != http.StatusBadRequest || problemField(t, r) != "reason" {
		t.Fatalf("revoke without a reason: %d %s", r.status, r.body)
	}
	g := e.must(http.StatusOK, domain.RoleCaseWorker, "POST", "/api/v1/access/grants/"+id+"/revoke", map[string]any{"reason": "left"})
	if g["status"] != "revoked" || g["endReason"] != "left" || g["id"] != id {
		t.Fatalf("revoked grant: %v", g)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/access/grants/"+id+"/revoke", map[string]any{"reason": "left"}); r.status != http.StatusConflict {
		t.Fatalf("revoke again: %d %s", r.status, r.body)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/access/grants/"+id+"/revoke", map[string]any{"reason": " "}); r.status != http.StatusBadRequest || problemField(t, r) != "reason" {
		t.Fatalf("revoke with a blank reason: %d %s", r.status, r.body)
	}
	waitFor(t, 10*time.Second, "the lab is still on the record after the revoke", func() bool { _, ok := e.labOn(person); return !ok })
	if g := e.grant(id); g["status"] != "revoked" {
		t.Fatalf("grant after revoke: %v", g)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'access.grant.revoked' AND entity_id = $1 AND actor_id = $2`,
		person, e.users[domain.RoleCaseWorker].ID); n != 1 {
		t.Fatalf("%d audit entries name the case worker who revoked, want 1", n)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/access/grants/g_doesnotexist0000000000000/revoke", map[string]any{"reason": "x"}); r.status != http.StatusNotFound {
		t.Fatalf("revoke an unknown grant: %d %s", r.status, r.body)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, event, data string }

// openStream connects to a person's live access log (from lastEventID, when not empty), as a security
// controller.
func (e *accessEnv) openStream(person, lastEventID string) (events <-chan sseEvent, stop func()) {
	e.t.Helper()
	return e.openSSE(domain.RoleSecurityController, "/api/v1/persons/"+person+"/access/events/stream", lastEventID)
}

// openSSE connects to a Server-Sent Events stream at path as role (from lastEventID, when not empty). The
// stream is read in the background until stop is called or the test ends.
func (e *env) openSSE(role domain.Role, path, lastEventID string) (events <-chan sseEvent, stop func()) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.url+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	req.Header.Set("Accept", "text/event-stream")
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/event-stream") {
		res.Body.Close()
		cancel()
		e.t.Fatalf("event stream: %d, Content-Type %q (an EventSource needs text/event-stream)", res.StatusCode, ct)
	}
	ch := make(chan sseEvent, 16)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if ev.data != "" {
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
				continue
			}
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "id":
				ev.id = value
			case "event":
				ev.event = value
			case "data":
				ev.data += value
			}
		}
	}()
	stop = func() { cancel(); res.Body.Close() }
	e.t.Cleanup(stop)
	return ch, stop
}

// nextEvent waits for the stream's next access event.
func nextEvent(t *testing.T, events <-chan sseEvent, within time.Duration) (sseEvent, domain.AccessEvent) {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		var a domain.AccessEvent
		if err := json.Unmarshal([]byte(ev.data), &a); err != nil || ev.event != "access" {
			t.Fatalf("not an access event: %+v (%v)", ev, err)
		}
		return ev, a
	case <-time.After(within):
		t.Fatalf("no event on the stream within %s", within)
	}
	panic("unreachable")
}

// A badge swipe reaches the person's live access log within seconds; a client reconnecting with
// Last-Event-ID gets only what it has not seen; the person's event list holds the swipe once, however often
// CredoID served it.
//
// Not parallel: the event feed's workflow has one id per namespace.
func TestAccessEventsLiveStream(t *testing.T) {
	e := newAccessEnv(t)
	e.ready()
	person, _ := e.clearedPerson("Mei")
	now := time.Now().UTC()
	if r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(24*time.Hour), nil); r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	waitFor(t, 10*time.Second, "the person's record was never created", func() bool { _, ok := e.labOn(person); return ok })
	userID, err := strconv.Atoi(e.records(person)[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// The link is saved just after the record is written; events are attributed through it.
	waitFor(t, 10*time.Second, "the person's record is not linked", func() bool {
		link, _ := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/persons/"+person+"/access", nil)["link"].(map[string]any)
		return link != nil && link["acsUserId"] == strconv.Itoa(userID)
	})

	// The worker follows CredoID's event feed, as `signetassure worker` does, every 200 ms. Its workflow id is
	// one per deployment: it is terminated when the test ends, so another test can start its own.
	ctx := context.Background()
	if err := worker.FollowAccessEvents(ctx, e.tc, e.queue, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.tc.TerminateWorkflow(context.Background(), workflows.AccessEventsWorkflowID, "", "test over")
	})

	events, stop := e.openStream(person, "")
	before := e.sim.Stats().ByRoute["GET /api/events"]
	e.sim.AddEvent(credoidsim.Swipe{UserID: userID, DoorName: "Lab door", LocationID: credoidsim.LocationSiteA, Duplicate: true})
	first, ev := nextEvent(t, events, 10*time.Second)
	if ev.Door != "Lab door" || ev.PersonID == nil || ev.PersonID.String() != person || ev.Type != "Access granted" ||
		first.id != strconv.FormatInt(ev.Seq, 10) {
		t.Fatalf("streamed event %+v (%+v)", ev, first)
	}
	stop()

	// Every read of the feed starts a little before the newest event held, so CredoID serves the swipe again
	// on each read (being marked a duplicate, it would also be replayed on a paged read): wait for three more
	// reads, so it has been served at least twice.
	waitFor(t, 10*time.Second, "the event feed was not read again", func() bool {
		return e.sim.Stats().ByRoute["GET /api/events"] >= before+3
	})
	var listed []domain.AccessEvent
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/persons/"+person+"/access/events"), &listed)
	if len(listed) != 1 || listed[0].Seq != ev.Seq || listed[0].Door != "Lab door" {
		t.Fatalf("the person's events: %+v, want the one swipe once", listed)
	}

	// Reconnecting from the last event seen: the next event is the new swipe, not the old one again.
	events, _ = e.openStream(person, first.id)
	e.sim.AddEvent(credoidsim.Swipe{UserID: userID, DoorName: "Site A gate", LocationID: credoidsim.LocationSiteA})
	_, next := nextEvent(t, events, 10*time.Second)
	if next.Door != "Site A gate" || next.Seq <= ev.Seq {
		t.Fatalf("after reconnecting from %s the stream sent %+v", first.id, next)
	}
	e.recordAll("events_live_stream")
}

// Only security controllers and admins set a level's policy; auditors cannot request grants.
func TestAccessRoles(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	if s := e.syncNow(); s["status"] != "completed" {
		t.Fatalf("sync: %v", s)
	}
	if r := e.setPolicy(domain.RoleCaseWorker, e.lab, "SC"); r.status != http.StatusForbidden {
		t.Fatalf("a case worker set a level's policy: %d %s", r.status, r.body)
	}
	var levels []map[string]any
	e.decode(e.must200List(domain.RoleCaseWorker, "/api/v1/access/levels"), &levels)
	for _, l := range levels {
		if l["requiredLevel"] != nil {
			t.Fatalf("a refused policy change was saved: %v", l)
		}
	}
	e.setPolicy(domain.RoleSecurityController, e.lab, "SC")

	person, _ := e.clearedPerson("Ola")
	now := time.Now().UTC()
	if r := e.requestGrant(domain.RoleAuditor, person, now.Add(-time.Minute), now.Add(time.Hour), nil); r.status != http.StatusForbidden {
		t.Fatalf("an auditor requested a grant: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM access_grants`); n != 0 {
		t.Fatalf("a refused request wrote %d grants", n)
	}
	if r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(time.Hour), nil); r.status != http.StatusCreated {
		t.Fatalf("the same request by a case worker: %d %s", r.status, r.body)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/access/syncs", nil); r.status != http.StatusForbidden {
		t.Fatalf("a case worker started a sync: %d %s", r.status, r.body)
	}
}

// A sync started on demand answers at once with its id; its progress (done of total) shows while it runs,
// and its result when it completes.
func TestAccessSyncProgress(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	ctx := context.Background()
	const persons = 12
	now := time.Now().UTC()
	today := domain.DateOf(now)
	for i := range persons {
		p, err := e.st.CreatePerson(ctx, nil, domain.Person{FirstName: "P" + strconv.Itoa(i), LastName: "Tester",
			DateOfBirth: domain.NewDate(1980, 1, 2), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.RecordClearance(ctx, nil, domain.Clearance{PersonID: p.ID, Level: domain.LevelSC,
			ValidFrom: today.AddDays(-30), ValidTo: today.AddYears(5), IssuingAuthority: "Test"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: p.ID, LevelID: e.lab,
			StartsAt: now.Add(-time.Hour), EndsAt: now.Add(48 * time.Hour), TimeZone: "Europe/London"}); err != nil {
			t.Fatal(err)
		}
	}
	// A slow CredoID, so the sync runs long enough to be watched.
	e.sim.SetFaults(credoidsim.Faults{LatencyMs: 150})
	defer e.sim.SetFaults(credoidsim.Faults{})

	start := time.Now()
	r := e.call(domain.RoleSecurityController, "POST", "/api/v1/access/syncs", nil)
	if r.status != http.StatusAccepted || time.Since(start) > 3*time.Second {
		t.Fatalf("POST sync: %d after %s: %s", r.status, time.Since(start), r.body)
	}
	started := r.json(t)
	id, _ := started["id"].(string)
	if id == "" || started["status"] != "started" {
		t.Fatalf("sync started: %v", started)
	}
	var progress []string
	final := e.waitSync(id, func(s map[string]any) {
		if s["status"] == "running" && s["total"] == float64(persons) && s["done"].(float64) < persons {
			progress = append(progress, fmt.Sprintf("%v/%v", s["done"], s["total"]))
		}
	})
	t.Logf("sync took %s; progress seen: %v", time.Since(start).Round(time.Millisecond), slices.Compact(progress))
	if len(progress) == 0 {
		t.Fatal("the sync's progress (done of total) never showed while it ran")
	}
	res, _ := final["result"].(map[string]any)
	if final["status"] != "completed" || final["total"] != float64(persons) || final["done"] != float64(persons) ||
		final["errors"] != float64(0) || final["finishedAt"] == nil || final["trigger"] != "manual" || res == nil {
		t.Fatalf("finished sync: %v", final)
	}
	ops, _ := res["ops"].(map[string]any)
	if res["persons"] != float64(persons) || res["changed"] != float64(persons) || res["errors"] != float64(0) ||
		ops["create"] != float64(persons) {
		t.Fatalf("sync result: %v", res)
	}
	var list map[string]any
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/access/syncs"), &list)
	if items := list["items"].([]any); len(items) == 0 || items[0].(map[string]any)["id"] != id {
		t.Fatalf("the newest sync listed first: %v", list)
	}
	if n := len(e.sim.Users()); n != persons {
		t.Fatalf("CredoID holds %d users, want %d", n, persons)
	}
	e.recordAll("sync_progress")
}

// A cardholder written for a person whose link was never saved (the worker died between the two) is linked
// by the next sync, without writing to CredoID: the person's access page shows the record, and their badge
// events are theirs.
func TestAccessSyncLinksARecordWrittenBeforeACrash(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	ctx := context.Background()
	person, _ := e.clearedPerson("Nia")
	now := time.Now().UTC().Truncate(time.Second)
	g, err := e.st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: uuid.MustParse(person), LevelID: e.lab,
		StartsAt: now.Add(-time.Hour), EndsAt: now.Add(48 * time.Hour), TimeZone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	// The record exactly as a sync writes it, through the same client.
	u, err := e.acs.CreateUser(ctx, access.User{ExternalID: access.ExternalID(uuid.MustParse(person)), FirstName: "Nia",
		LastName: "Tester", Active: true, Access: access.Access{Levels: []access.Assignment{{LevelID: e.lab, From: g.StartsAt, To: g.EndsAt}}}})
	if err != nil {
		t.Fatal(err)
	}
	if pa := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/persons/"+person+"/access", nil); pa["link"] != nil {
		t.Fatalf("linked before the sync: %v", pa["link"])
	}

	e.sim.ResetStats()
	s := e.syncNow()
	if s["status"] != "completed" || s["errors"] != float64(0) {
		t.Fatalf("sync: %v", s)
	}
	if w := e.sim.Stats().Writes; w != 0 {
		t.Fatalf("the sync wrote %d times to CredoID; the record was right already", w)
	}
	link, _ := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/persons/"+person+"/access", nil)["link"].(map[string]any)
	if link == nil || link["acsUserId"] != u.ID || link["state"] != "active" {
		t.Fatalf("after the sync the person's link is %v, want CredoID user %s, active", link, u.ID)
	}
	if recs := e.records(person); len(recs) != 1 {
		t.Fatalf("%d records for the person, want 1", len(recs))
	}
}

// A person's edit or deactivation reaches their badge at once, through their access review, not at the
// next sync: a new name is on the record within seconds, and a deactivated person's badge is disabled.
func TestPersonEditReachesTheBadgeAtOnce(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	person, _ := e.clearedPerson("Nadia")
	now := time.Now().UTC()
	if r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(30*24*time.Hour), nil); r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	waitFor(t, 10*time.Second, "the lab never reached the person's record", func() bool { _, ok := e.labOn(person); return ok })
	syncs := e.count(`SELECT count(*) FROM access_syncs`)

	e.must(http.StatusOK, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+person, map[string]any{"lastName": "Okafor"})
	waitFor(t, 10*time.Second, "the new name never reached the person's record", func() bool {
		recs := e.records(person)
		return len(recs) == 1 && recs[0].LastName == "Okafor"
	})

	e.must(http.StatusOK, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+person, map[string]any{"active": false})
	// Disabling the record and taking the lab off it are two writes to the access control system: wait
	// for both.
	waitFor(t, 10*time.Second, "the deactivated person's badge is still enabled, or still opens the lab", func() bool {
		recs := e.records(person)
		_, lab := e.labOn(person)
		return len(recs) == 1 && !recs[0].Active && !lab
	})
	if n := e.count(`SELECT count(*) FROM access_syncs`); n != syncs {
		t.Fatalf("%d syncs ran meanwhile: the change must reach the badge without one", n-syncs)
	}
}

// Profile rules and mappings name ids of the access control system: each is checked against its catalogue,
// read live, and bounded; a bad one is a 400 naming the field, and nothing is stored.
func TestProfileRulesAndMappingsAreCheckedAgainstTheCatalogue(t *testing.T) {
	t.Parallel()
	e := newAccessEnv(t)
	e.ready()
	rule := func(body map[string]any) resp {
		return e.call(domain.RoleSecurityController, "POST", "/api/v1/access/profile-rules", body)
	}
	for _, b := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"acsProfileId": "999"}, "acsProfileId"},
		{map[string]any{"acsProfileId": strings.Repeat("2", 300000)}, "acsProfileId"},
		{map[string]any{"acsProfileId": "2\u202e"}, "acsProfileId"},
		{map[string]any{"acsProfileId": ""}, "acsProfileId"},
		{map[string]any{}, "acsProfileId"},
		{map[string]any{"acsProfileId": "2", "supplierId": uuid.NewString()}, "supplierId"},
		{map[string]any{"acsProfileId": "2", "locationId": uuid.NewString()}, "locationId"},
	} {
		wantField(t, rule(b.body), http.StatusBadRequest, b.field, fmt.Sprintf("rule %.80v", b.body))
	}
	if n := e.count(`SELECT count(*) FROM access_profile_rules`); n != 0 {
		t.Fatalf("%d rules stored from refused requests", n)
	}
	r := rule(map[string]any{"acsProfileId": " " + strconv.Itoa(credoidsim.ProfileContractorSC) + " "})
	if r.status != http.StatusCreated || r.json(t)["acsProfileId"] != strconv.Itoa(credoidsim.ProfileContractorSC) {
		t.Fatalf("a rule naming a catalogue profile: %d %s", r.status, r.body)
	}

	put := func(body map[string]any) resp {
		return e.call(domain.RoleSecurityController, "PUT", "/api/v1/access/mappings", body)
	}
	site := e.must(http.StatusCreated, domain.RoleAdmin, "POST", "/api/v1/locations",
		map[string]any{"code": "FAR", "name": "Farnborough", "timeZone": "Europe/London"})["id"]
	good := map[string]any{"companies": []any{map[string]any{"supplierId": nil, "acsCompanyId": " " + strconv.Itoa(credoidsim.CompanyOwn) + " "}},
		"locations": []any{map[string]any{"locationId": site, "acsLocationId": strconv.Itoa(credoidsim.LocationSiteA)}}}
	wantField(t, put(map[string]any{"companies": []any{map[string]any{"supplierId": nil, "acsCompanyId": "77"}}}),
		http.StatusBadRequest, "companies[0].acsCompanyId", "a company not in the catalogue")
	wantField(t, put(map[string]any{"locations": []any{map[string]any{"locationId": site, "acsLocationId": strings.Repeat("1", 300000)}}}),
		http.StatusBadRequest, "locations[0].acsLocationId", "a 300,000-character location")
	if n := e.count(`SELECT (SELECT count(*) FROM access_company_map) + (SELECT count(*) FROM access_location_map)`); n != 0 {
		t.Fatalf("%d mappings stored from refused requests", n)
	}
	if r := put(good); r.status != http.StatusOK ||
		!strings.Contains(string(r.body), `"acsCompanyId":"`+strconv.Itoa(credoidsim.CompanyOwn)+`"`) {
		t.Fatalf("mappings from the catalogue, ids as the boundary cleaned them: %d %s", r.status, r.body)
	}
}
