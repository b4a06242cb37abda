package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/signicatsim"
	"github.com/signetassure/signetassure/workflows"
)

// Opening a case without a person (an empty or missing personId) is a 400 naming personId, not a crash,
// and writes nothing.
func TestOpenCaseRequiresPersonID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	audit := e.count(`SELECT count(*) FROM audit_log`)
	for _, body := range []map[string]any{
		{"personId": ""},
		{"personId": "", "type": "new", "level": "SC"},
		{"type": "new", "level": "SC"},
	} {
		r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", body)
		require.Equal(t, 400, r.status, "%v: %s", body, r.body)
		assert.Equal(t, "personId", problemField(t, r), "%v", body)
	}
	assert.Zero(t, e.count(`SELECT count(*) FROM vetting_cases`))
	assert.Equal(t, audit, e.count(`SELECT count(*) FROM audit_log`), "a refused request wrote to the audit log")
}

// smsTo is the SMS the Twilio simulator was given for number.
func (p *providers) smsTo(number string) []string {
	var out []string
	for _, m := range p.twilio.Messages() {
		if m.To == number {
			out = append(out, m.Body)
		}
	}
	return out
}

// A double submit (the same case opened by two requests at once, without an Idempotency-Key) opens one
// case: one row, one identity check at the provider, one link sent; the other request is answered 409
// naming the case that was opened.
func TestDoubleSubmitOpensOneCase(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	var p providers
	e := newEnv(t, withProviders(&p), withIdentity(&sim))
	person := e.createPerson("Ada", "Lovelace", "1985-12-10")
	body := map[string]any{"personId": person, "type": "new", "level": "SC"}

	const n = 3
	answers := make([]resp, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range answers {
		wg.Go(func() {
			<-start
			answers[i] = e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", body)
		})
	}
	close(start)
	wg.Wait()

	var opened string
	var refused []resp
	for _, r := range answers {
		switch r.status {
		case 201:
			require.Empty(t, opened, "two cases opened: %s and %s", opened, r.body)
			opened = r.json(t)["caseRef"].(string)
		case 409:
			refused = append(refused, r)
		default:
			t.Fatalf("double submit answered %d: %s", r.status, r.body)
		}
	}
	require.NotEmpty(t, opened, "no request opened the case")
	require.Len(t, refused, n-1)
	for _, r := range refused {
		assert.Contains(t, r.json(t)["detail"], opened, "the 409 names the case that was opened")
		assert.Equal(t, "personId", problemField(t, r))
	}
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM vetting_cases WHERE person_id = $1`, person))

	// The case that was opened sends its link; the refused ones ended before doing anything.
	e.eventually(10*time.Second, func() bool { return len(p.smsTo("+447400123456")) >= 1 },
		func() string { return "no identity link sent" })
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM identity_checks`))
	processes := 0
	for _, d := range sim.State().Dossiers {
		processes += len(d.Processes)
	}
	assert.Equal(t, 1, processes, "identity processes started at the provider")
	assert.Len(t, p.smsTo("+447400123456"), 1, "messages sent to the person")
}

// The database, not the API's check, keeps a person to one open case of a type at a level: a case
// workflow started past that check (as by a request racing another) ends without writing or sending
// anything, and says which case is open.
func TestSecondOpenCaseEndsItself(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	var p providers
	e := newEnv(t, withProviders(&p), withIdentity(&sim))
	person := e.createPerson("Ada", "Lovelace", "1985-12-10")
	first := e.openCase(person, "new", "SC")
	e.eventually(10*time.Second, func() bool { return len(p.smsTo("+447400123456")) == 1 },
		func() string { return "no identity link sent" })
	audit := e.count(`SELECT count(*) FROM audit_log`)

	second := domain.NewCaseRef()
	opener := e.users[domain.RoleCaseWorker].ID
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := workflows.OpenCase(ctx, e.tc, e.queue, workflows.VettingCaseInput{CaseRef: second,
		PersonID: mustUUID(t, person), Type: domain.CaseNew, Level: domain.LevelSC, IssuingAuthority: "Test",
		OpenedBy: &opener, SLA: e.sla.For(domain.CaseNew, domain.LevelSC)})
	require.NoError(t, err)
	assert.Equal(t, first, st.DuplicateOf)
	var ended workflows.CaseState
	require.NoError(t, e.tc.GetWorkflow(ctx, workflows.VettingCaseWorkflowID(second), "").Get(ctx, &ended),
		"the second case's workflow completes")
	assert.Equal(t, first, ended.DuplicateOf)
	e.recordHistory(second, "duplicate")
	assert.Zero(t, e.count(`SELECT count(*) FROM vetting_cases WHERE case_ref = $1`, second))
	assert.Equal(t, audit, e.count(`SELECT count(*) FROM audit_log`), "the second case wrote to the audit log")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM identity_checks`))
	assert.Len(t, p.smsTo("+447400123456"), 1, "messages sent to the person")
	e.eventually(10*time.Second, func() bool {
		res, err := e.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Query: "CaseRef = '" + second + "' AND CaseStatus = '" + workflows.DuplicateCaseStatus + "'"})
		return err == nil && res.Count == 1
	}, func() string { return "the ended workflow's CaseStatus does not say duplicate" })

	// Opening it again through the API (a retry) is refused naming the open case, as the API's check does.
	r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{"personId": person, "type": "new", "level": "SC"})
	require.Equal(t, 409, r.status, "%s", r.body)
	assert.True(t, strings.Contains(r.json(t)["detail"].(string), first), "%s", r.body)
}

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	require.NoError(t, err)
	return id
}

// outcomeBody is a cleared outcome valid from today for five years.
func outcomeBody(outcome string) map[string]any {
	from := time.Now().UTC()
	return map[string]any{"outcome": outcome, "level": "SC", "validFrom": from.Format(time.DateOnly),
		"validTo": from.AddDate(5, 0, 0).Format(time.DateOnly)}
}

// A keyed retry of an action that succeeded is answered as the first time: the same status and body,
// once from the kept answer and, were none kept (the first answer was a 503), from the workflow. The same
// key with another request is refused naming Idempotency-Key.
func TestKeyedRetryAfterSuccessAnsweredAlike(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Mary", "Seacole", "1980-11-23")
	ref := e.openCase(person, "new", "SC")
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	key := map[string]string{"Idempotency-Key": "outcome-" + ref}
	path := "/api/v1/cases/" + ref + "/outcome"

	first := e.callWith(domain.RoleVettingOfficer, "POST", path, outcomeBody("cleared"), key)
	require.Equal(t, 200, first.status, "%s", first.body)
	require.Equal(t, "cleared", first.json(t)["status"])

	again := e.callWith(domain.RoleVettingOfficer, "POST", path, outcomeBody("cleared"), key)
	require.Equal(t, 200, again.status, "%s", again.body)
	assert.JSONEq(t, string(first.body), string(again.body), "the retry is answered with the first answer")
	assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))

	other := e.callWith(domain.RoleVettingOfficer, "POST", path, map[string]any{"outcome": "withdrawn"}, key)
	require.Equal(t, 422, other.status, "%s", other.body)
	assert.Equal(t, "Idempotency-Key", problemField(t, other))

	// Another user's key of the same name is their own.
	mine := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": "x"}, key)
	assert.Equal(t, 409, mine.status, "a note on a closed case: %s", mine.body)

	// Had the first answer been a 503 (not kept), the retry reaches the workflow, which answers it as the
	// action it already carried out.
	testenv.Exec(t, e.database, `DELETE FROM idempotency_keys`)
	var ended workflows.CaseState
	require.NoError(t, e.tc.GetWorkflow(context.Background(), workflows.VettingCaseWorkflowID(ref), "").Get(context.Background(), &ended),
		"the case's workflow has ended")
	late := e.callWith(domain.RoleVettingOfficer, "POST", path, outcomeBody("cleared"), key)
	require.Equal(t, 200, late.status, "%s", late.body)
	assert.Equal(t, "cleared", late.json(t)["status"])
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1 AND kind = 'outcome'`, ref))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM clearances WHERE source_case_ref = $1`, ref))

	// Without a key, or with a new one, an outcome on the closed case is refused.
	r := e.call(domain.RoleVettingOfficer, "POST", path, outcomeBody("cleared"))
	assert.Equal(t, 409, r.status, "%s", r.body)
	r = e.callWith(domain.RoleVettingOfficer, "POST", path, outcomeBody("cleared"), map[string]string{"Idempotency-Key": "new"})
	assert.Equal(t, 409, r.status, "%s", r.body)
	assert.Contains(t, r.json(t)["detail"], "closed")
}

// A keyed request answered 5xx keeps nothing: its retry is carried out. A retry while the first is still
// being carried out is told so (409) and changes nothing.
func TestKeyedRequestNotKeptOn5xxAndInProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Tomasz", "Nowak", "1975-05-05")
	key := map[string]string{"Idempotency-Key": "open-" + person}
	open := map[string]any{"personId": person, "type": "new", "level": "SC"}

	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	require.NoError(t, err)
	noTemporal := &env{t: t, tokens: e.tokens, queue: e.queue}
	noTemporal.start(e.st, dead)
	r := noTemporal.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", open, key)
	require.Equal(t, 503, r.status, "%s", r.body)
	assert.Zero(t, e.count(`SELECT count(*) FROM idempotency_keys`), "a 503 was kept")

	// No worker on the queue: the request waits for its case to start, holding the key.
	idle := &env{t: t, tokens: e.tokens, queue: "no-worker-" + e.queue}
	srv, err := api.New(api.Deps{Store: e.st, Temporal: e.tc, TaskQueue: idle.queue, SLA: e.sla, TemporalTimeout: idleTimeout,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	idle.url = ts.URL
	done := make(chan resp, 1)
	go func() { done <- idle.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", open, key) }()
	e.eventually(5*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM idempotency_keys WHERE status IS NULL`) == 1
	}, func() string { return "the request did not claim its key" })
	during := idle.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", open, key)
	require.Equal(t, 409, during.status, "%s", during.body)
	assert.Equal(t, "Idempotency-Key", problemField(t, during))
	assert.NotEmpty(t, during.header.Get("Retry-After"))
	pending := <-done
	require.Equal(t, 202, pending.status, "%s", pending.body)
	ref := pending.json(t)["caseRef"].(string)

	// A worker runs: the retry is answered as the first request was, and the case goes on.
	again := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/cases", open, key)
	require.Equal(t, 202, again.status, "%s", again.body)
	assert.Equal(t, ref, again.json(t)["caseRef"])
	testenv.WorkerOn(t, e.tc, e.st, idle.queue)
	e.waitStatus(ref, "with_officer")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM vetting_cases WHERE person_id = $1`, person))
}

// A broadcast asked for while Temporal is unreachable leaves nothing behind (no row, no audit entry, no
// kept answer) and is answered 503; once Temporal is back, the retry makes exactly one broadcast, which
// messages each member once.
func TestBroadcastNotOrphanedWhenTemporalDown(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	members := []string{e.messagePerson("07400 300001", ""), e.messagePerson("07400 300002", "")}
	group := e.must(201, domain.RoleSecurityController, "POST", "/api/v1/groups", map[string]any{
		"name": "Day shift", "kind": "manual", "memberIds": members})["id"].(string)
	body := map[string]any{"groupId": group, "text": "Drill at Site B. Reply SAFE or HELP."}
	key := map[string]string{"Idempotency-Key": "drill-" + group}

	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	require.NoError(t, err)
	srv, err := api.New(api.Deps{Store: e.st, Temporal: dead, TaskQueue: e.queue, SLA: e.sla, Messaging: e.hooks,
		TemporalTimeout: 2 * time.Second, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	down := &env{t: t, tokens: e.tokens, url: ts.URL}
	for _, h := range []map[string]string{nil, key} {
		r := down.callWith(domain.RoleSecurityController, "POST", "/api/v1/broadcasts", body, h)
		require.Equal(t, 503, r.status, "%s", r.body)
		assert.Contains(t, r.json(t)["detail"], "nothing was changed")
	}
	assert.Zero(t, e.count(`SELECT count(*) FROM broadcasts`), "broadcasts written without their workflow")
	assert.Zero(t, e.count(`SELECT count(*) FROM audit_log WHERE action = 'broadcast.create'`))
	assert.Zero(t, e.count(`SELECT count(*) FROM idempotency_keys`))

	first := e.callWith(domain.RoleSecurityController, "POST", "/api/v1/broadcasts", body, key)
	require.Equal(t, 202, first.status, "%s", first.body)
	id := first.json(t)["id"].(string)
	again := e.callWith(domain.RoleSecurityController, "POST", "/api/v1/broadcasts", body, key)
	require.Equal(t, 202, again.status, "%s", again.body)
	assert.Equal(t, id, again.json(t)["id"])
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM broadcasts`))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'broadcast.create' AND entity_id = $1`, id))
	e.eventually(15*time.Second, func() bool { return p.twilio.Stats().Accepted >= 2 },
		func() string { return "the broadcast's messages were not sent" })
	e.waitBroadcastSent(id)
	assert.Len(t, p.smsTo("+447400300001"), 1)
	assert.Len(t, p.smsTo("+447400300002"), 1)
	if testenv.Recording() {
		e.must(200, domain.RoleSecurityController, "POST", "/api/v1/broadcasts/"+id+"/close", nil)
		wid := workflows.BroadcastWorkflowID(mustUUID(t, id))
		require.NoError(t, e.tc.GetWorkflow(context.Background(), wid, "").Get(context.Background(), nil))
		e.recordWorkflowHistory(wid, "owns_row")
	}
}

// waitBroadcastSent waits until a broadcast has handed every message over (it collects replies).
func (e *env) waitBroadcastSent(id string) {
	e.t.Helper()
	e.eventually(15*time.Second, func() bool {
		return e.must(200, domain.RoleAuditor, "GET", "/api/v1/broadcasts/"+id, nil)["status"] == domain.BroadcastCollecting
	}, func() string { return "broadcast " + id + " is not collecting replies" })
}

// Every staff write route documents the Idempotency-Key header it takes, and the 422 of a key reused.
func TestOpenAPIDocumentsIdempotencyKeyOnEveryWrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var doc struct {
		Paths map[string]map[string]struct {
			Security   []map[string]any `json:"security"`
			Parameters []struct{ In, Name string }
			Responses  map[string]any `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, jsonUnmarshal(e.call("", "GET", "/api/openapi.json", nil).body, &doc))
	writes := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "get" || len(op.Security) == 0 || op.Security[0]["bearer"] == nil {
				continue
			}
			writes++
			keys := 0
			for _, p := range op.Parameters {
				if p.In == "header" && p.Name == "Idempotency-Key" {
					keys++
				}
			}
			assert.Equal(t, 1, keys, "%s %s documents Idempotency-Key", method, path)
			assert.Contains(t, op.Responses, "422", "%s %s documents the 422 of a reused key", method, path)
		}
	}
	assert.Greater(t, writes, 20, "staff write routes found")
}

// The answer that shows a partner key's secret once is never kept for a keyed retry: the retry is told
// the key was issued, and no second key is.
func TestKeyedRetryNeverKeepsASecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners",
		map[string]any{"orgName": "Beacon Aerospace", "baseUrl": "https://beacon.invalid"})["id"].(string)
	path := "/api/v1/partners/" + site + "/keys"
	body := map[string]any{"name": "lookups", "scopes": []string{"vetting:read"}}
	key := map[string]string{"Idempotency-Key": "issue-" + site}
	first := e.callWith(domain.RoleAdmin, "POST", path, body, key)
	require.Equal(t, 201, first.status, "%s", first.body)
	secret := first.json(t)["key"].(string)
	require.True(t, strings.HasPrefix(secret, "sap_"), "%s", first.body)
	assert.Zero(t, e.count(`SELECT count(*) FROM idempotency_keys WHERE body IS NOT NULL AND position($1 in convert_from(body, 'UTF8')) > 0`, secret),
		"the secret is kept")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM idempotency_keys WHERE status = 201`))

	again := e.callWith(domain.RoleAdmin, "POST", path, body, key)
	require.Equal(t, 409, again.status, "%s", again.body)
	assert.Equal(t, "Idempotency-Key", problemField(t, again))
	assert.NotContains(t, string(again.body), secret)
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM partner_keys WHERE site_id = $1`, site), "keys issued")
}
