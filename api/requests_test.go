package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

// Bad input is answered 400 problem+json naming the field, and nothing is written.
func TestBadInputNamesTheFieldAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Owen", "Price", "1970-01-01")
	ref := e.openCase(person, "new", "SC")
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	valid := func(change map[string]any) map[string]any {
		p := map[string]any{"firstName": "Priya", "lastName": "Shah", "dateOfBirth": "1988-03-04"}
		for k, v := range change {
			if v == nil {
				delete(p, k)
			} else {
				p[k] = v
			}
		}
		return p
	}
	cases := []struct {
		name, method, path string
		body               any
		field              string
	}{
		{"malformed JSON", "POST", "/api/v1/persons", `{"firstName": "Priya",`, "body"},
		{"not an object", "POST", "/api/v1/persons", `[1,2]`, "body"},
		{"empty body", "POST", "/api/v1/persons", ``, "body"},
		{"two objects", "POST", "/api/v1/persons", `{"firstName":"a"} {"b":1}`, "body"},
		{"unknown field", "POST", "/api/v1/persons", valid(map[string]any{"favouriteColour": "red"}), "favouriteColour"},
		{"missing first name", "POST", "/api/v1/persons", valid(map[string]any{"firstName": nil}), "firstName"},
		{"blank last name", "POST", "/api/v1/persons", valid(map[string]any{"lastName": "  "}), "lastName"},
		{"wrong type", "POST", "/api/v1/persons", valid(map[string]any{"firstName": 42}), "firstName"},
		{"future date of birth", "POST", "/api/v1/persons", valid(map[string]any{"dateOfBirth": tomorrow}), "dateOfBirth"},
		{"malformed date of birth", "POST", "/api/v1/persons", valid(map[string]any{"dateOfBirth": "12/04/1985"}), "dateOfBirth"},
		{"landline as mobile", "POST", "/api/v1/persons", valid(map[string]any{"mobile": "020 7946 0018"}), "mobile"},
		{"foreign mobile", "POST", "/api/v1/persons", valid(map[string]any{"mobile": "+1 415 555 2671"}), "mobile"},
		{"bad NI number", "POST", "/api/v1/persons", valid(map[string]any{"niNumber": "XX12345"}), "niNumber"},
		{"bad e-mail", "POST", "/api/v1/persons", valid(map[string]any{"email": "not-an-address"}), "email"},
		{"unknown supplier", "POST", "/api/v1/persons", valid(map[string]any{"supplierId": "6f1c1c40-0000-4000-8000-000000000000"}), "supplierId"},
		{"oversized body", "POST", "/api/v1/persons", valid(map[string]any{"address": strings.Repeat("x", 1<<20)}), "body"},
		{"patch future date of birth", "PATCH", "/api/v1/persons/" + person, map[string]any{"dateOfBirth": tomorrow}, "dateOfBirth"},
		{"unknown level", "POST", "/api/v1/cases", map[string]any{"personId": person, "type": "new", "level": "TOPSECRET"}, "level"},
		{"unknown case type", "POST", "/api/v1/cases", map[string]any{"personId": person, "type": "promotion", "level": "SC"}, "type"},
		{"unknown person", "POST", "/api/v1/cases", map[string]any{"personId": "6f1c1c40-0000-4000-8000-000000000000", "type": "new", "level": "SC"}, "personId"},
		{"cleared without dates", "POST", "/api/v1/cases/" + ref + "/outcome", map[string]any{"outcome": "cleared", "level": "SC"}, "validFrom"},
		{"unknown outcome level", "POST", "/api/v1/cases/" + ref + "/outcome",
			map[string]any{"outcome": "cleared", "level": "XX", "validFrom": "2026-05-15", "validTo": "2030-05-14"}, "level"},
		{"unknown outcome", "POST", "/api/v1/cases/" + ref + "/outcome", map[string]any{"outcome": "approved"}, "outcome"},
		{"empty note", "POST", "/api/v1/cases/" + ref + "/notes", map[string]any{"text": " "}, "text"},
		{"information due in the past", "POST", "/api/v1/cases/" + ref + "/information-requests",
			map[string]any{"description": "x", "dueDate": "2020-01-01"}, "dueDate"},
		{"bad list limit", "GET", "/api/v1/persons?limit=5000", nil, "limit"},
		{"bad status filter", "GET", "/api/v1/cases?status=lost", nil, "status"},
		{"bad expiry filter", "GET", "/api/v1/clearances?expiringBefore=soon", nil, "expiringBefore"},
	}
	role := map[string]domain.Role{"/outcome": domain.RoleVettingOfficer}
	persons := e.count(`SELECT count(*) FROM persons`)
	events := e.count(`SELECT count(*) FROM case_events`)
	audit := e.count(`SELECT count(*) FROM audit_log`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			as := domain.RoleCaseWorker
			for suffix, r := range role {
				if strings.HasSuffix(tc.path, suffix) {
					as = r
				}
			}
			if strings.Contains(tc.path, "/information-requests") {
				as = domain.RoleVettingOfficer
			}
			r := e.call(as, tc.method, tc.path, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d, want 400: %s", r.status, r.body)
			}
			if f := problemField(t, r); f != tc.field {
				t.Fatalf("problem names %q, want %q: %s", f, tc.field, r.body)
			}
		})
	}
	if persons != e.count(`SELECT count(*) FROM persons`) || events != e.count(`SELECT count(*) FROM case_events`) ||
		audit != e.count(`SELECT count(*) FROM audit_log`) {
		t.Fatal("a refused request wrote something")
	}
}

func TestPersonsCRUDSearchAndConflicts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sup := e.must(201, domain.RoleAdmin, "POST", "/api/v1/suppliers", map[string]any{"name": "Beacon Aerospace", "tier": 1})
	loc := e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": "FAR", "name": "Farnborough"})
	p := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{
		"firstName": "José", "lastName": "O'Brien", "dateOfBirth": "1985-04-12", "mobile": "07400 123456",
		"employeeNumber": "E100", "supplierId": sup["id"], "locationId": loc["id"], "niNumber": "ab 12 34 56 c"})
	id := p["id"].(string)
	if shown := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+id+"?reveal=sensitive", nil); p["mobile"] != "+447400123456" ||
		shown["niNumber"] != "AB123456C" || p["active"] != true {
		t.Fatalf("person not normalised: %v, %v", p, shown)
	}
	r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{
		"firstName": "Other", "lastName": "Person", "dateOfBirth": "1990-01-01", "employeeNumber": "E100"})
	if r.status != 409 || problemField(t, r) != "employeeNumber" {
		t.Fatalf("duplicate employee number: %d %s", r.status, r.body)
	}
	for _, q := range []string{"jose", "JOSÉ", "o'brien", "e100"} {
		l := e.must(200, domain.RoleAuditor, "GET", "/api/v1/persons?q="+urlQuery(q), nil)
		if l["total"].(float64) != 1 {
			t.Fatalf("search %q found %v", q, l["total"])
		}
	}
	got := e.must(200, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+id, map[string]any{"mobile": "+44 7400 654321", "supplierId": ""})
	if got["mobile"] != "+447400654321" || got["supplierId"] != nil || got["lastName"] != "O'Brien" {
		t.Fatalf("patch: %v", got)
	}
	e.must(404, domain.RoleCaseWorker, "GET", "/api/v1/persons/6f1c1c40-0000-4000-8000-000000000000", nil)
	e.must(404, domain.RoleCaseWorker, "GET", "/api/v1/persons/not-an-id", nil)
	e.must(404, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/6f1c1c40-0000-4000-8000-000000000000", map[string]any{"active": false})
	e.must(409, domain.RoleAdmin, "POST", "/api/v1/suppliers", map[string]any{"name": "beacon aerospace", "tier": 2})
}

// 401 for missing or bad credentials, 403 for a role that may not act; sensitive fields only for roles
// entitled to them.
func TestAuthAndSensitiveFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createPerson("Siobhan", "O'Neill", "1982-07-08")
	r := e.call("", "GET", "/api/v1/persons/"+id, nil)
	if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %v", r.status, r.header)
	}
	e.tokens["bogus"] = "sat_not-a-real-token"
	if r := e.call("bogus", "GET", "/api/v1/persons/"+id, nil); r.status != 401 {
		t.Fatalf("bad token: %d", r.status)
	}
	if r := e.call(domain.RoleAuditor, "POST", "/api/v1/persons", map[string]any{"firstName": "A"}); r.status != 403 {
		t.Fatalf("auditor creating a person: %d", r.status)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases/v_abcdefghijklmnopqrstuvwxyz/outcome", map[string]any{}); r.status != 403 {
		t.Fatalf("case worker recording an outcome: %d", r.status)
	}
	if r := e.call(domain.RoleCaseWorker, "PUT", "/api/v1/organisation", map[string]any{}); r.status != 403 {
		t.Fatalf("case worker changing the organisation: %d", r.status)
	}
}

// Need-to-know: a person's sensitive fields (address, NI number, line manager) are in no answer but a
// reveal, which only case workers and vetting officers may ask for, and every reveal is audited (who read
// whose, when); lists, the plain read, and the answers to writes never hold them.
func TestSensitiveFieldsOnlyByAuditedReveal(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.createPerson("Jane", "Davies", "1985-04-12")
	secrets := []string{"1 Test Street", "AB123456C", "M. Manager", "address", "niNumber", "lineManager"}
	hides := func(what string, r resp) {
		t.Helper()
		for _, secret := range secrets {
			if strings.Contains(string(r.body), secret) {
				t.Fatalf("%s shows %q: %s", what, secret, r.body)
			}
		}
	}
	for _, role := range domain.Roles {
		hides(string(role)+"'s read", e.call(role, "GET", "/api/v1/persons/"+id, nil))
		hides(string(role)+"'s list", e.call(role, "GET", "/api/v1/persons?q=Davies", nil))
	}
	hides("the answer to a change", e.call(domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+id, map[string]any{"mobile": "07400 123457"}))
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'person.sensitive_read'`); n != 0 {
		t.Fatalf("%d reveals audited before any", n)
	}

	for _, role := range []domain.Role{domain.RoleSecurityController, domain.RoleAdmin, domain.RoleAuditor} {
		r := e.call(role, "GET", "/api/v1/persons/"+id+"?reveal=sensitive", nil)
		wantProblem(t, r, 403, string(role)+" revealing")
		hides(string(role)+"'s refused reveal", r)
	}
	wantField(t, e.call(domain.RoleCaseWorker, "GET", "/api/v1/persons/"+id+"?reveal=everything", nil), 400, "reveal", "an unknown reveal")
	for _, role := range []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer} {
		shown := e.must(200, role, "GET", "/api/v1/persons/"+id+"?reveal=sensitive", nil)
		if shown["address"] != "1 Test Street" || shown["niNumber"] != "AB123456C" || shown["lineManager"] != "M. Manager" {
			t.Fatalf("%s's reveal shows %v", role, shown)
		}
		if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'person.sensitive_read' AND entity_id = $1 AND actor_id = $2`,
			id, e.users[role].ID); n != 1 {
			t.Fatalf("%s's reveal audited %d times", role, n)
		}
	}
}

// With Temporal or the database unreachable the API answers 503 and writes nothing.
func TestDependenciesUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Tomasz", "Nowak", "1975-05-05")
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	noTemporal := &env{t: t, tokens: e.tokens, queue: e.queue}
	noTemporal.start(e.st, dead)
	r := noTemporal.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{"personId": person, "type": "new", "level": "SC"})
	if r.status != 503 {
		t.Fatalf("open case without Temporal: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM vetting_cases`); n != 0 {
		t.Fatalf("%d cases written without Temporal", n)
	}
	if r := noTemporal.call("", "GET", "/readyz", nil); r.status != 503 || !strings.Contains(string(r.body), `"temporal":"unreachable"`) {
		t.Fatalf("readyz without Temporal: %d %s", r.status, r.body)
	}

	deadDB, err := store.Open(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Deps{Store: deadDB, Temporal: e.tc, TaskQueue: e.queue, SLA: e.sla,
		Auth: fixedAuth{e.users[domain.RoleCaseWorker]}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	noDB := &env{t: t, url: ts.URL, tokens: e.tokens}
	if r := noDB.call(domain.RoleCaseWorker, "GET", "/api/v1/persons", nil); r.status != 503 {
		t.Fatalf("list persons without the database: %d %s", r.status, r.body)
	}
	if r := noDB.call("", "GET", "/readyz", nil); r.status != 503 || !strings.Contains(string(r.body), `"database":"unreachable"`) {
		t.Fatalf("readyz without the database: %d %s", r.status, r.body)
	}
	if r := e.call("", "GET", "/readyz", nil); r.status != 200 {
		t.Fatalf("readyz: %d %s", r.status, r.body)
	}
}

// Every registered route is in the OpenAPI document, with its method.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("", "GET", "/api/openapi.json", nil)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v %.200s", err, r.body)
	}
	routes := e.srv.Routes()
	if len(routes) < 25 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("%s is not in the OpenAPI document", route)
		}
	}
	if _, ok := doc.Paths["/api/v1/cases"]["post"].(map[string]any)["responses"].(map[string]any)["202"]; !ok {
		t.Error("opening a case does not document its 202")
	}
	outcome := doc.Paths["/api/v1/cases/{caseRef}/outcome"]["post"].(map[string]any)
	if _, ok := outcome["responses"].(map[string]any)["409"]; !ok {
		t.Error("the outcome route does not document its 409")
	}
}

type fixedAuth struct{ u domain.StaffUser }

func (f fixedAuth) Authenticate(context.Context, *http.Request) (store.Credential, error) {
	return store.Credential{User: f.u}, nil
}

type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}

func urlQuery(s string) string { return neturl.QueryEscape(s) }

// The case worker console is served, with a content security policy that lets it run only its own code.
func TestConsoleIsServed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	page := e.call("", "GET", "/", nil)
	if page.status != 200 || !strings.Contains(string(page.body), `<script src="/ui/app.js">`) {
		t.Fatalf("console page: %d %s", page.status, page.body)
	}
	// at /ui/ too, where a sign-in returns to
	if ui := e.call("", "GET", "/ui/", nil); ui.status != 200 || string(ui.body) != string(page.body) {
		t.Fatalf("the console at /ui/: %d %s", ui.status, ui.body)
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
		t.Fatalf("CSP = %q", csp)
	}
	js := e.call("", "GET", "/ui/app.js", nil)
	if js.status != 200 || !strings.HasPrefix(js.header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(string(js.body), `"/api/v1"`) {
		t.Fatalf("app.js: %d %s", js.status, js.header.Get("Content-Type"))
	}
	if r := e.call("", "GET", "/ui/../../go.mod", nil); r.status != 404 {
		t.Fatalf("path traversal: %d", r.status)
	}
}

// idleTimeout is how long an API with no worker on its queue waits for a case to start before it answers
// 202: long enough for the start itself to reach a dev server busy with the other tests (5 s was not,
// on a CI machine running this package under -race beside another).
const idleTimeout = 10 * time.Second

// A case opened while no worker runs is not lost: the API answers 202 with its reference, and the case
// reaches the officer once a worker starts.
func TestCaseOpenedWithoutWorkerGoesOnLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Kwame", "Mensah", "1991-11-11")
	idle := &env{t: t, tokens: e.tokens, queue: "no-worker-" + e.queue}
	sla, _ := domain.ParseSLATable(domain.DefaultSLA, domain.DefaultSLAReminders)
	srv, err := api.New(api.Deps{Store: e.st, Temporal: e.tc, TaskQueue: idle.queue, SLA: sla, TemporalTimeout: idleTimeout,
		Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	idle.url = ts.URL
	r := idle.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{"personId": person, "type": "new", "level": "SC"})
	loc := r.header.Get("Location")
	if r.status != 202 || !strings.HasPrefix(loc, "/api/v1/cases/v_") || r.json(t)["status"] != "pending" {
		t.Fatalf("open without a worker: %d %s %s", r.status, loc, r.body)
	}
	ref := strings.TrimPrefix(loc, "/api/v1/cases/")
	if n := e.count(`SELECT count(*) FROM vetting_cases WHERE case_ref = $1`, ref); n != 0 {
		t.Fatal("the API wrote the case row itself")
	}
	testenv.WorkerOn(t, e.tc, e.st, idle.queue)
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := e.call(domain.RoleCaseWorker, "GET", loc, nil)
		if r.status == 200 && r.json(t)["status"] == "with_officer" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the case did not reach the officer once a worker ran: %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
