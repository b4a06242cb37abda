package credoidsim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/credoidsim"
)

// harness is a seeded simulator behind a real server, spoken to in raw HTTP so the wire itself is tested.
type harness struct {
	t     *testing.T
	sim   *credoidsim.Sim
	url   string
	clock *testenv.Clock
	token string
}

func start(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, clock: testenv.NewClock(time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC))}
	h.sim = credoidsim.New(credoidsim.Options{Seed: true, Now: h.clock.Now})
	srv := httptest.NewServer(h.sim.Handler())
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%s: %v", a.body, err)
	}
}

// do sends one request; body is a JSON string or a value to marshal.
func (h *harness) do(method, path string, body any) answer {
	h.t.Helper()
	return h.doWith(http.DefaultClient, method, path, body)
}

func (h *harness) doWith(c *http.Client, method, path string, body any) answer {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = strings.NewReader(string(data))
	}
	req, _ := http.NewRequest(method, h.url+path, rd)
	if h.token != "" {
		req.Header.Set("Authorization", "Bearer "+h.token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, data}
}

func (h *harness) login() {
	h.t.Helper()
	a := h.do("POST", "/api/login", `{"username":"admin","password":"admin"}`)
	var lr map[string]any
	a.decode(h.t, &lr)
	if a.status != 200 || lr["token"] == "" || lr["token"] != lr["access_token"] || lr["expiresIn"].(float64) <= 0 {
		h.t.Fatalf("login: %d %s", a.status, a.body)
	}
	h.token = lr["token"].(string)
}

func expect(t *testing.T, a answer, status int) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
}

// problem reads a ProblemDetails answer.
func problem(t *testing.T, a answer, status int) credoid.Problem {
	t.Helper()
	expect(t, a, status)
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q", ct)
	}
	var p credoid.Problem
	a.decode(t, &p)
	if p.Status != status || p.Title == "" || p.TraceID == "" {
		t.Fatalf("problem %s", a.body)
	}
	return p
}

const ada = `{"firstName":"Ada","lastName":"Lovelace","employeeNumber":"E1001","email":"ada@example.org",
 "company":{"id":2},"department":null,"title":null,"additional1":"sa:0b8d","isActive":true,
 "activationDate":"2025-01-06T00:00:00","expirationDate":null,"locations":[{"id":2,"name":"ignored"}],
 "accessLevels":[{"id":4,"validFrom":"2025-01-06T08:00:00","validTo":"2025-07-01T07:00:00Z"},{"id":5,"validFrom":null,"validTo":null}],
 "accessProfiles":[{"id":2}],"identifications":[{"type":"card","number":"0012345"}]}`

func TestUserContract(t *testing.T) {
	h := start(t)
	problem(t, h.do("GET", "/api/users", nil), 401)
	problem(t, h.do("POST", "/api/login", `{"username":"admin","password":"nope"}`), 401)
	h.login()

	a := h.do("POST", "/api/users", ada)
	expect(t, a, 201)
	var created map[string]any
	a.decode(t, &created)
	id := int(created["id"].(float64))
	if a.header.Get("Location") != "/api/users/"+strconv.Itoa(id) {
		t.Fatalf("location %q", a.header.Get("Location"))
	}
	// The record as served: names looked up, dates local without offset (the Z value converted to BST).
	a = h.do("GET", fmt.Sprintf("/api/users/%d", id), nil)
	expect(t, a, 200)
	want := fmt.Sprintf(`{"id":%d,"firstName":"Ada","lastName":"Lovelace","employeeNumber":"E1001","email":"ada@example.org",`+
		`"company":{"id":2,"name":"Acme Facilities Ltd"},"department":null,"title":null,"additional1":"sa:0b8d","additional2":"","additional3":"","isActive":true,`+
		`"activationDate":"2025-01-06T00:00:00","expirationDate":null,"locations":[{"id":2,"name":"Site B"}],`+
		`"accessLevels":[{"id":4,"name":"Site A Lab","locationId":1,"validFrom":"2025-01-06T08:00:00","validTo":"2025-07-01T08:00:00"},`+
		`{"id":5,"name":"Site B General","locationId":2,"validFrom":null,"validTo":null}],`+
		`"accessProfiles":[{"id":2,"name":"Contractor SC"}],"identifications":[{"type":"card","number":"0012345"}]}`, id)
	if got := strings.TrimSpace(string(a.body)); got != want {
		t.Fatalf("record\n got %s\nwant %s", got, want)
	}

	// Validation, unknown ids and duplicates.
	p := problem(t, h.do("POST", "/api/users", `{"firstName":" ","employeeNumber":"E2"}`), 400)
	if len(p.Errors["FirstName"]) == 0 || len(p.Errors["LastName"]) == 0 {
		t.Fatalf("errors %v", p.Errors)
	}
	p = problem(t, h.do("POST", "/api/users", `{"firstName":"A","lastName":"B","company":{"id":99},"locations":[{"id":9}],
		"accessLevels":[{"id":77},{"id":3,"validFrom":"2025-02-01T00:00:00","validTo":"2025-01-01T00:00:00"},{"id":3}],"accessProfiles":[{"id":8}],
		"expirationDate":"soon"}`), 400)
	for _, k := range []string{"Company.Id", "Locations[0].Id", "AccessLevels[0].Id", "AccessLevels[1].ValidTo", "AccessLevels[2].Id", "AccessProfiles[0].Id", "ExpirationDate"} {
		if len(p.Errors[k]) == 0 {
			t.Fatalf("no error for %s: %v", k, p.Errors)
		}
	}
	problem(t, h.do("POST", "/api/users", `{"firstName":`), 400)
	p = problem(t, h.do("POST", "/api/users", strings.Replace(ada, "sa:0b8d", "sa:other", 1)), 409)
	if len(p.Errors["EmployeeNumber"]) == 0 {
		t.Fatalf("errors %v", p.Errors)
	}

	// PUT replaces the whole record; an absent field is emptied.
	a = h.do("PUT", fmt.Sprintf("/api/users/%d", id), `{"firstName":"Ada","lastName":"King","employeeNumber":"E1001","isActive":false}`)
	expect(t, a, 200)
	rec, _ := h.sim.User(id)
	if rec.LastName != "King" || rec.IsActive || len(rec.AccessLevels) != 0 || rec.Additional1 != "" ||
		len(rec.Locations) != 1 || rec.Locations[0].ID != credoidsim.LocationSiteA {
		t.Fatalf("after PUT %+v", rec)
	}
	problem(t, h.do("PUT", "/api/users/999", `{"firstName":"A","lastName":"B"}`), 404)
	problem(t, h.do("PUT", fmt.Sprintf("/api/users/%d", id), `{"id":3,"firstName":"A","lastName":"B"}`), 400)
	problem(t, h.do("GET", "/api/users/abc", nil), 404)
	problem(t, h.do("GET", "/api/nothing", nil), 404)

	expect(t, h.do("DELETE", fmt.Sprintf("/api/users/%d", id), nil), 204)
	problem(t, h.do("DELETE", fmt.Sprintf("/api/users/%d", id), nil), 404)
	problem(t, h.do("GET", fmt.Sprintf("/api/users/%d", id), nil), 404)
}

func TestCatalogueEndpoints(t *testing.T) {
	h := start(t)
	h.login()
	for path, want := range map[string]string{
		"/api/locations":       `[{"id":1,"name":"Site A"},{"id":2,"name":"Site B"},{"id":3,"name":"Site C"}]`,
		"/api/companies":       `[{"id":1,"name":"SignetAssure Demo"},{"id":2,"name":"Acme Facilities Ltd"},{"id":3,"name":"Northgate Engineering"},{"id":4,"name":"Brightline Security"}]`,
		"/api/access-profiles": `[{"id":1,"name":"Visitor","accessLevelIds":[3]},{"id":2,"name":"Contractor SC","accessLevelIds":[3,5]},{"id":3,"name":"Staff DV","accessLevelIds":[3,5,7,4,6]}]`,
		"/api/access-levels":   `[{"id":1,"name":"Always"},{"id":2,"name":"Never"},{"id":3,"name":"Site A General","locationId":1},{"id":4,"name":"Site A Lab","locationId":1},{"id":5,"name":"Site B General","locationId":2},{"id":6,"name":"Site B Server Room","locationId":2},{"id":7,"name":"Site C General","locationId":3}]`,
	} {
		a := h.do("GET", path, nil)
		if got := strings.TrimSpace(string(a.body)); a.status != 200 || got != want {
			t.Fatalf("%s: %d %s", path, a.status, got)
		}
	}
	loc := h.sim.AddLocation("Site D")
	lvl := h.sim.AddLevel("Site D Vault", loc)
	prof := h.sim.AddProfile("Vault staff", lvl)
	comp := h.sim.AddCompany("Newco")
	c := h.sim.Catalogue()
	if c.Locations[3].ID != loc || c.Levels[7] != (credoidsim.LevelRecord{ID: lvl, Name: "Site D Vault", LocationID: loc}) ||
		c.Profiles[3].ID != prof || c.Companies[4].ID != comp {
		t.Fatalf("catalogue %+v", c)
	}
}

func TestSearchAndPaging(t *testing.T) {
	h := start(t)
	h.login()
	const n = 1203
	for i := range n {
		_, err := h.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: "Person", LastName: fmt.Sprintf("N%04d", i),
			EmployeeNumber: fmt.Sprintf("E%04d", i), Additional1: fmt.Sprintf("sa:%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	var ids []int
	for skip := 0; skip < n; skip += 500 {
		a := h.do("GET", fmt.Sprintf("/api/users?skip=%d&take=500", skip), nil)
		expect(t, a, 200)
		if a.header.Get("X-Total-Count") != strconv.Itoa(n) {
			t.Fatalf("total %q", a.header.Get("X-Total-Count"))
		}
		var page []credoidsim.UserRecord
		a.decode(t, &page)
		for _, u := range page {
			ids = append(ids, u.ID)
		}
	}
	if len(ids) != n || !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != n {
		t.Fatalf("%d ids", len(ids))
	}
	var page []credoidsim.UserRecord
	a := h.do("GET", "/api/users", nil)
	a.decode(t, &page)
	if len(page) != 100 {
		t.Fatalf("default take gave %d", len(page))
	}
	h.do("GET", "/api/users?take=5000", nil).decode(t, &page)
	if len(page) != 1000 {
		t.Fatalf("take is capped: %d", len(page))
	}
	problem(t, h.do("GET", "/api/users?take=many", nil), 400)

	for search, want := range map[string]int{"SA:0042": 1, "n004": 10, "e12": 3, "person n0001": 1, "PERSON": n, "nobody": 0} {
		a := h.do("GET", "/api/users?take=1000&search="+strings.ReplaceAll(search, " ", "+"), nil)
		a.decode(t, &page)
		if a.header.Get("X-Total-Count") != strconv.Itoa(want) || len(page) != min(want, 1000) {
			t.Fatalf("search %q: total %s, %d items", search, a.header.Get("X-Total-Count"), len(page))
		}
	}
}

// 10,000 users with 50,000 level assignments list in well under a second per full pass.
func TestLargeDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip()
	}
	h := start(t)
	h.login()
	levels := []credoidsim.LevelAssignment{{ID: 3}, {ID: 4}, {ID: 5}, {ID: 6}, {ID: 7}}
	for i := range 10_000 {
		if _, err := h.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: "P", LastName: strconv.Itoa(i),
			EmployeeNumber: "E" + strconv.Itoa(i), Additional1: "sa:" + strconv.Itoa(i), AccessLevels: levels}); err != nil {
			t.Fatal(err)
		}
	}
	if c := h.sim.State().Counts; c.Users != 10_000 || c.LevelAssignments != 50_000 {
		t.Fatalf("counts %+v", c)
	}
	began := time.Now()
	total := 0
	for skip := 0; skip < 10_000; skip += 500 {
		var page []credoidsim.UserRecord
		h.do("GET", fmt.Sprintf("/api/users?skip=%d&take=500", skip), nil).decode(t, &page)
		total += len(page)
	}
	var found []credoidsim.UserRecord
	h.do("GET", "/api/users?search=sa:9999", nil).decode(t, &found)
	if total != 10_000 || len(found) != 1 {
		t.Fatalf("%d listed, %d found", total, len(found))
	}
	t.Logf("full pass of 10,000 users and a search: %v", time.Since(began))
}

func TestFaults(t *testing.T) {
	h := start(t)
	h.login()

	// FailNext with each kind; failures come before authentication and are counted.
	h.sim.SetFaults(credoidsim.Faults{FailNext: 2, FailKinds: []string{"503"}})
	for range 2 {
		a := h.do("GET", "/api/locations", nil)
		problem(t, a, 503)
		if a.header.Get("Retry-After") != "1" {
			t.Fatal("no Retry-After")
		}
	}
	expect(t, h.do("GET", "/api/locations", nil), 200)
	h.sim.SetFaults(credoidsim.Faults{FailNext: 1, FailKinds: []string{"429"}})
	if a := h.do("GET", "/api/locations", nil); a.status != 429 || a.header.Get("Retry-After") != "1" {
		t.Fatalf("%d %v", a.status, a.header)
	}

	// A hang lasts until the client gives up, or TimeoutMs and then 504.
	h.sim.SetFaults(credoidsim.Faults{FailNext: 1, FailKinds: []string{"timeout"}, TimeoutMs: 50})
	problem(t, h.do("GET", "/api/locations", nil), 504)
	h.sim.SetFaults(credoidsim.Faults{FailNext: 1, FailKinds: []string{"timeout"}})
	began := time.Now()
	if a := h.doWith(&http.Client{Timeout: 100 * time.Millisecond}, "GET", "/api/locations", nil); a.status != 0 || time.Since(began) > 5*time.Second {
		t.Fatalf("answered %d", a.status)
	}

	// The same seed throws the same dice.
	statuses := func() string {
		h.sim.SetFaults(credoidsim.Faults{FailRate: 0.5, FailKinds: []string{"429", "503"}, Seed: 42})
		var b strings.Builder
		for range 40 {
			fmt.Fprint(&b, h.do("GET", "/api/locations", nil).status, " ")
		}
		return b.String()
	}
	first := statuses()
	if first != statuses() || !strings.Contains(first, "200") || !strings.Contains(first, "429") || !strings.Contains(first, "503") {
		t.Fatalf("dice: %s", first)
	}

	// Latency.
	h.sim.SetFaults(credoidsim.Faults{LatencyMs: 100})
	began = time.Now()
	h.do("GET", "/api/locations", nil)
	if time.Since(began) < 100*time.Millisecond {
		t.Fatal("no latency")
	}

	// Saved, then no answer in time: the write happened.
	h.sim.SetFaults(credoidsim.Faults{SaveThenTimeout: 1})
	a := h.doWith(&http.Client{Timeout: 200 * time.Millisecond}, "POST", "/api/users", ada)
	if a.status != 0 || len(h.sim.UsersByExternalID("sa:0b8d")) != 1 {
		t.Fatalf("answered %d; saved %d", a.status, len(h.sim.UsersByExternalID("sa:0b8d")))
	}
	h.sim.SetFaults(credoidsim.Faults{SaveThenTimeout: 1, TimeoutMs: 20})
	problem(t, h.do("POST", "/api/users", ada), 409) // refusals are answered at once

	// Every create saved twice.
	h.sim.SetFaults(credoidsim.Faults{DuplicateCreates: true})
	expect(t, h.do("POST", "/api/users", strings.NewReplacer("sa:0b8d", "sa:dup", "E1001", "E7").Replace(ada)), 201)
	if n := len(h.sim.UsersByExternalID("sa:dup")); n != 2 {
		t.Fatalf("%d copies", n)
	}

	// The real CredoID's summary list.
	h.sim.SetFaults(credoidsim.Faults{SummaryList: true})
	var items []map[string]any
	h.do("GET", "/api/users", nil).decode(t, &items)
	if len(items) != 3 || len(items[0]) != 6 || items[0]["additional1"] != "sa:0b8d" {
		t.Fatalf("summary %v", items)
	}

	// Permissions.
	h.sim.SetFaults(credoidsim.Faults{Forbidden: []string{"GET /api/users"}})
	problem(t, h.do("GET", "/api/users", nil), 403)
	expect(t, h.do("GET", "/api/locations", nil), 200)

	// Token lifetime, tokens already issued included, on the server's (skewed) clock.
	h.sim.SetFaults(credoidsim.Faults{TokenTTLSeconds: 60})
	expect(t, h.do("GET", "/api/locations", nil), 200)
	h.clock.Add(61 * time.Second)
	problem(t, h.do("GET", "/api/locations", nil), 401)
	h.login()
	h.sim.SetFaults(credoidsim.Faults{TokenTTLSeconds: 60, ClockSkewSeconds: 120})
	problem(t, h.do("GET", "/api/locations", nil), 401)
	h.sim.SetFaults(credoidsim.Faults{ClockSkewSeconds: 120})
	if got := h.sim.AddEvent(credoidsim.Swipe{UserID: 1}).Time; got != "2025-02-01T09:03:01" {
		t.Fatalf("skewed event time %s", got)
	}

	// Faults over HTTP, and the counts.
	h.sim.ResetStats()
	expect(t, h.do("PUT", "/sim/faults", `{"failRate":1,"failKinds":["503"],"summaryList":true}`), 200)
	var f credoidsim.Faults
	h.do("GET", "/sim/faults", nil).decode(t, &f)
	if f.FailRate != 1 || !f.SummaryList || h.sim.Faults().FailKinds[0] != "503" {
		t.Fatalf("faults %+v", f)
	}
	problem(t, h.do("DELETE", "/api/users/1", nil), 503)
	problem(t, h.do("POST", "/api/login", `{}`), 503)
	var st credoidsim.Stats
	h.do("GET", "/sim/stats", nil).decode(t, &st)
	if st.Calls != 2 || st.Writes != 1 || st.ByRoute["DELETE /api/users/{id}"] != 1 || st.ByRoute["POST /api/login"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	h.do("POST", "/sim/stats/reset", nil)
	if st := h.sim.Stats(); st.Calls != 0 || len(st.ByRoute) != 0 {
		t.Fatalf("stats after reset %+v", st)
	}
}

func TestOperatorActions(t *testing.T) {
	h := start(t)
	h.login()
	// A duplicate of a person, made by hand: no additional1, the same employee number.
	expect(t, h.do("POST", "/api/users", ada), 201)
	a := h.do("POST", "/sim/operator/users", strings.Replace(ada, `"additional1":"sa:0b8d",`, "", 1))
	expect(t, a, 200)
	var dup credoidsim.UserRecord
	a.decode(t, &dup)
	if dup.Additional1 != "" || dup.EmployeeNumber != "E1001" {
		t.Fatalf("duplicate %+v", dup)
	}
	problem(t, h.do("POST", "/sim/operator/users", `{"firstName":"x"}`), 400)

	// A level added by hand, then its validity changed by hand.
	a = h.do("POST", fmt.Sprintf("/sim/operator/users/%d/levels", dup.ID), `{"levelId":6,"validFrom":"2025-02-01T08:00:00","validTo":null}`)
	expect(t, a, 200)
	if err := h.sim.AddLevelByHand(dup.ID, 6, time.Time{}, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	rec, _ := h.sim.User(dup.ID)
	if l := rec.AccessLevels[2]; len(rec.AccessLevels) != 3 || l.ID != 6 || l.ValidFrom != nil || *l.ValidTo != "2025-03-01T00:00:00" {
		t.Fatalf("levels %+v", rec.AccessLevels)
	}
	problem(t, h.do("POST", "/sim/operator/users/999/levels", `{"levelId":6}`), 404)
	problem(t, h.do("POST", fmt.Sprintf("/sim/operator/users/%d/levels", dup.ID), `{"levelId":66}`), 400)

	// Rename and delete levels: users keep them under the new name, then lose them; so do profiles.
	expect(t, h.do("PATCH", "/sim/operator/levels/4", `{"name":"Lab A (old)"}`), 200)
	rec, _ = h.sim.User(dup.ID)
	if rec.AccessLevels[0].Name != "Lab A (old)" {
		t.Fatalf("renamed %+v", rec.AccessLevels[0])
	}
	a = h.do("DELETE", "/sim/operator/levels/4", nil)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != `{"usersAffected":2}` {
		t.Fatalf("%d %s", a.status, a.body)
	}
	problem(t, h.do("DELETE", "/sim/operator/levels/4", nil), 404)
	for _, u := range h.sim.Users() {
		if slices.ContainsFunc(u.AccessLevels, func(l credoidsim.LevelAssignment) bool { return l.ID == 4 }) {
			t.Fatal("level 4 still held")
		}
	}
	if p := h.sim.Catalogue().Profiles[credoidsim.ProfileStaffDV-1]; slices.Contains(p.AccessLevelIDs, 4) {
		t.Fatalf("profile %+v", p)
	}
	problem(t, h.do("POST", "/api/users", strings.Replace(ada, `"id":4`, `"id":3`, 1)), 409) // still the same E1001
	p := problem(t, h.do("POST", "/api/users", strings.Replace(ada, "E1001", "E9", 1)), 400)
	if len(p.Errors["AccessLevels[0].Id"]) == 0 {
		t.Fatalf("a deleted level is unknown: %v", p.Errors)
	}
	var lvl credoidsim.LevelRecord
	h.do("POST", "/sim/operator/levels", `{"name":"Site C Vault","locationId":3}`).decode(t, &lvl)
	if lvl.ID != 8 || h.sim.Catalogue().Levels[6] != lvl {
		t.Fatalf("new level %+v", lvl)
	}
}

// A renumbering restore swaps the ids of the users: the id that named one person's record names another's,
// and the indexes follow.
func TestRenumberUsers(t *testing.T) {
	h := start(t)
	h.login()
	expect(t, h.do("POST", "/api/users", ada), 201)
	var dup credoidsim.UserRecord
	h.do("POST", "/sim/operator/users", strings.Replace(strings.Replace(ada, `"additional1":"sa:0b8d",`, "", 1), "E1001", "E2002", 1)).decode(t, &dup)
	before := h.sim.UsersByExternalID("sa:0b8d")
	if len(before) != 1 || before[0].ID == dup.ID {
		t.Fatalf("before: %+v", before)
	}
	a := h.do("POST", "/sim/operator/renumber", nil)
	if a.status != 200 || strings.TrimSpace(string(a.body)) != fmt.Sprintf(`{"moved":{"%d":%d,"%d":%d}}`, before[0].ID, dup.ID, dup.ID, before[0].ID) {
		t.Fatalf("%d %s", a.status, a.body)
	}
	after := h.sim.UsersByExternalID("sa:0b8d")
	if len(after) != 1 || after[0].ID != dup.ID || after[0].EmployeeNumber != "E1001" {
		t.Fatalf("after: %+v", after)
	}
	if rec, _ := h.sim.User(before[0].ID); rec.Additional1 != "" || rec.EmployeeNumber != "E2002" {
		t.Fatalf("the old id now names %+v, want the other record", rec)
	}
	problem(t, h.do("POST", "/api/users", strings.Replace(ada, `"additional1":"sa:0b8d",`, "", 1)), 409) // E1001 still indexed
}

func TestCleanup(t *testing.T) {
	h := start(t) // the clock says 2025-02-01 09:00 UTC
	mk := func(name, expires string) int {
		var exp *string
		if expires != "" {
			exp = &expires
		}
		rec, err := h.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: name, LastName: "X", ExpirationDate: exp})
		if err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	expired := mk("expired", "2025-02-01T08:59:00")
	soon := mk("soon", "2025-02-01T09:30:00")
	mk("never", "")
	var out map[string][]int
	h.do("POST", "/sim/operator/cleanup", nil).decode(t, &out)
	if !slices.Equal(out["deleted"], []int{expired}) || len(h.sim.Users()) != 2 {
		t.Fatalf("clean-up deleted %v", out)
	}

	// Hourly: on the first API call of each hour of the server's clock.
	h.sim.SetFaults(credoidsim.Faults{CleanupHourly: true})
	h.do("GET", "/api/locations", nil) // 09:00: runs, nothing expired
	h.clock.Add(45 * time.Minute)
	h.do("GET", "/api/locations", nil) // 09:45, same hour: does not run
	if _, ok := h.sim.User(soon); !ok {
		t.Fatal("cleaned up within the hour")
	}
	h.clock.Add(20 * time.Minute)
	h.do("GET", "/api/locations", nil) // 10:05
	if _, ok := h.sim.User(soon); ok || len(h.sim.Users()) != 1 {
		t.Fatal("hourly clean-up did not run")
	}
}

func TestEventFeed(t *testing.T) {
	h := start(t)
	h.login()
	base := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		h.sim.AddEvent(credoidsim.Swipe{UserID: 1 + i%2, DoorName: []string{"Lab A In", "Lab A Out"}[i%2], LocationID: 1,
			At: base.Add(time.Duration(i) * time.Minute), Type: []string{"", "Access denied"}[i%2]})
	}
	a := h.do("POST", "/sim/events", `{"userId":7,"doorName":"Lab A In","locationId":1,"time":"2025-02-01T09:30:00"}`)
	expect(t, a, 201)
	want := `{"id":11,"time":"2025-02-01T09:30:00","typeId":1,"localizedTypeName":"Access granted","userId":7,"doorId":1,"doorName":"Lab A In","locationId":1}`
	if got := strings.TrimSpace(string(a.body)); got != want {
		t.Fatalf("event %s", got)
	}

	page := func(q string) []int64 {
		var es []credoidsim.EventRecord
		a := h.do("GET", "/api/events?"+q, nil)
		expect(t, a, 200)
		a.decode(t, &es)
		var ids []int64
		for _, e := range es {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if got := page("take=4"); !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Fatal(got)
	}
	if got := page("take=4&afterId=4"); !slices.Equal(got, []int64{5, 6, 7, 8}) {
		t.Fatal(got)
	}
	if got := page("from=2025-02-01T09:08:00&take=100"); !slices.Equal(got, []int64{9, 10, 11}) {
		t.Fatal(got)
	}
	if got := page("userId=2&to=2025-02-01T09:04:00"); !slices.Equal(got, []int64{2, 4}) {
		t.Fatal(got)
	}
	problem(t, h.do("GET", "/api/events?from=yesterday", nil), 400)

	// A duplicate swipe is served again by the next page that starts past it.
	dup := h.sim.AddEvent(credoidsim.Swipe{UserID: 1, DoorName: "Lab A In", Duplicate: true})
	h.sim.AddEvent(credoidsim.Swipe{UserID: 1, DoorName: "Lab A Out"})
	if got := page("afterId=10"); !slices.Equal(got, []int64{11, 12, 13}) {
		t.Fatal(got)
	}
	if got := page("afterId=13"); !slices.Equal(got, []int64{12, 13}) {
		t.Fatalf("replay %v (duplicate %d)", got, dup.ID)
	}
	if got := page("afterId=13"); len(got) != 0 {
		t.Fatal("replayed twice", got)
	}
	if n := len(h.sim.Events()); n != 13 {
		t.Fatal(n)
	}
}

func TestStatePageAndReset(t *testing.T) {
	h := start(t)
	h.login()
	expect(t, h.do("POST", "/api/users", ada), 201)
	h.sim.AddEvent(credoidsim.Swipe{UserID: 1, DoorName: "Lab <A> In"})
	h.sim.SetFaults(credoidsim.Faults{FailRate: 0.25, DuplicateCreates: true})

	var st credoidsim.State
	h.do("GET", "/sim/state", nil).decode(t, &st)
	if st.Counts != (credoidsim.Counts{Users: 1, LevelAssignments: 2, Events: 1}) || st.Users[0].LastName != "Lovelace" ||
		len(st.Catalogue.Levels) != 7 || st.RecentEvents[0].DoorName != "Lab <A> In" || st.TimeZone != "Europe/London" || st.Now != "2025-02-01T09:00:00" {
		t.Fatalf("state %+v", st)
	}
	a := h.do("GET", "/", nil)
	page := string(a.body)
	for _, s := range []string{"Ada Lovelace", "Site A Lab (2025-01-06T08:00:00 – 2025-07-01T08:00:00)", "Lab &lt;A&gt; In", "0.25 of calls fail", "every create is saved twice", "Contractor SC"} {
		if !strings.Contains(page, s) {
			t.Fatalf("page lacks %q:\n%s", s, page)
		}
	}
	if a.status != 200 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Fatal(a.status)
	}

	expect(t, h.do("POST", "/sim/reset", nil), 200)
	if len(h.sim.Users()) != 0 || len(h.sim.Events()) != 0 || h.sim.Faults().FailRate != 0 || len(h.sim.Catalogue().Levels) != 7 {
		t.Fatal("not reset")
	}
	problem(t, h.do("GET", "/api/users", nil), 401) // tokens are gone too
}

// The simulator takes concurrent clients (run with -race).
func TestConcurrentUse(t *testing.T) {
	h := start(t)
	h.login()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 25 {
				body := strings.NewReplacer("E1001", fmt.Sprintf("E%d-%d", w, i), "sa:0b8d", fmt.Sprintf("sa:%d-%d", w, i)).Replace(ada)
				a := h.do("POST", "/api/users", body)
				var rec credoidsim.UserRecord
				json.Unmarshal(a.body, &rec)
				h.do("PUT", fmt.Sprintf("/api/users/%d", rec.ID), body)
				h.do("GET", "/api/users?search=sa:", nil)
				h.sim.AddEvent(credoidsim.Swipe{UserID: rec.ID})
				h.do("GET", "/api/events?afterId=1", nil)
				if i%5 == 0 {
					h.do("DELETE", fmt.Sprintf("/api/users/%d", rec.ID), nil)
				}
			}
		})
	}
	wg.Wait()
	if n := len(h.sim.Users()); n != 8*20 {
		t.Fatalf("%d users", n)
	}
}
