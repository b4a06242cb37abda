package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// queueFixture is four persons and their cases, one in each state the work queue tells apart:
// Alice's is the officer's, waiting on her for information and due in 20 days; Bob's is unassigned and
// due in 3 days; Carol's is unassigned and overdue; Dan's is closed (withdrawn). Alice, Carol and Dan
// are at the north site, Bob at the south.
type queueFixture struct {
	north                  string
	alice, bob, carol, dan string // case references
	alicePerson, bobPerson string
	carolPerson, danPerson string
}

func newQueueFixture(e *env) queueFixture {
	e.t.Helper()
	var fx queueFixture
	site := func(code string) string {
		return e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": code, "name": "Site " + code})["id"].(string)
	}
	north, south := site("NORTH"), site("SOUTH")
	fx.north = north
	person := func(first, last, number, at string) string {
		return e.must(201, domain.RoleVettingOfficer, "POST", "/api/v1/persons", map[string]any{"firstName": first,
			"lastName": last, "dateOfBirth": "1980-01-02", "employeeNumber": number, "locationId": at})["id"].(string)
	}
	fx.alicePerson = person("Alice", "Archer", "E100", north)
	fx.bobPerson = person("Bob", "Baker", "E200", south)
	fx.carolPerson = person("Carol", "Cole", "E300", north)
	fx.danPerson = person("Dan", "Drake", "E400", north)
	fx.alice = e.openCase(fx.alicePerson, "new", "SC")
	fx.bob = e.openCase(fx.bobPerson, "new", "SC")
	fx.carol = e.openCase(fx.carolPerson, "new", "SC")
	fx.dan = e.openCase(fx.danPerson, "new", "SC")

	officer := e.users[domain.RoleVettingOfficer].ID.String()
	for _, ref := range []string{fx.alice, fx.dan} {
		e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	}
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+fx.alice+"/information-requests", map[string]any{
		"description": "Ten years of addresses", "dueDate": time.Now().UTC().AddDate(0, 0, 5).Format(time.DateOnly)})
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+fx.dan+"/outcome", map[string]any{"outcome": "withdrawn"})
	// Due dates the SLA would take weeks to reach.
	for ref, days := range map[string]int{fx.alice: 20, fx.bob: 3, fx.carol: -1} {
		testenv.Exec(e.t, e.database, `UPDATE vetting_cases SET due_at = now() + make_interval(days => $2) WHERE case_ref = $1`, ref, days)
	}
	return fx
}

// listCases lists cases as role with the query, and names them by their persons' first names, in order.
func listCases(e *env, role domain.Role, query string) ([]string, map[string]any) {
	e.t.Helper()
	l := e.must(200, role, "GET", "/api/v1/cases?"+query, nil)
	var names []string
	for _, it := range l["items"].([]any) {
		c := it.(map[string]any)
		first, _, _ := strings.Cut(c["personName"].(string), " ")
		names = append(names, first)
	}
	return names, l
}

// The case list carries names, narrows to each work queue, finds cases by name, reference and employee
// number, sorts and pages, and leaves closed cases out unless asked for them.
func TestCaseQueueListsNamesQueuesSearchSortAndPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fx := newQueueFixture(e)
	officer := domain.RoleVettingOfficer

	want := func(query string, role domain.Role, names ...string) map[string]any {
		t.Helper()
		got, l := listCases(e, role, query)
		if strings.Join(got, ",") != strings.Join(names, ",") {
			t.Errorf("GET /cases?%s as %s: %v, want %v", query, role, got, names)
		}
		return l
	}

	l := want("", officer, "Carol", "Bob", "Alice") // soonest due first; Dan's closed case apart
	for _, it := range l["items"].([]any) {
		c := it.(map[string]any)
		switch c["caseRef"] {
		case fx.alice:
			if c["personName"] != "Alice Archer" || c["ownerName"] != "Test vetting_officer" || c["employeeNumber"] != "E100" {
				t.Errorf("Alice's case: person %v, owner %v, employee number %v", c["personName"], c["ownerName"], c["employeeNumber"])
			}
			since, err := time.Parse(time.RFC3339Nano, fmt.Sprint(c["statusSince"]))
			opened, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(c["openedAt"]))
			if err != nil || !since.After(opened) || time.Since(since) > time.Minute {
				t.Errorf("Alice's case waits since %v (opened %v): want the information request's time", c["statusSince"], opened)
			}
		case fx.bob:
			if c["personName"] != "Bob Baker" || c["ownerName"] != "" {
				t.Errorf("Bob's case: person %v, owner %v", c["personName"], c["ownerName"])
			}
		}
	}

	want("queue=mine", officer, "Alice")
	want("queue=mine", domain.RoleCaseWorker)
	want("queue=unassigned", officer, "Carol", "Bob")
	want("queue=overdue", officer, "Carol")
	want("queue=due_soon", officer, "Bob")
	want("queue=waiting_on_subject", officer, "Alice")
	want("queue=open", officer, "Carol", "Bob", "Alice")
	want("queue=closed", officer, "Dan")
	want("open=false", officer, "Dan")
	want("status=withdrawn", officer, "Dan")
	want("queue=closed&q=archer", officer)

	want("q=archer", officer, "Alice")
	want("q=ALICE", officer, "Alice")
	want("q="+url.QueryEscape(fx.bob), officer, "Bob")
	want("q="+url.QueryEscape(strings.ToUpper(fx.bob[2:12])), officer, "Bob")
	want("q=e300", officer, "Carol")
	want("q=nobody", officer)

	want("sort=person", officer, "Alice", "Bob", "Carol")
	want("sort=-person", officer, "Carol", "Bob", "Alice")
	want("sort=-due", officer, "Alice", "Bob", "Carol")
	want("sort=opened", officer, "Alice", "Bob", "Carol")
	want("sort=-opened", officer, "Carol", "Bob", "Alice")
	want("sort=updated", officer, "Bob", "Carol", "Alice")
	l = want("sort=person&limit=2&offset=2", officer, "Carol")
	if l["total"] != float64(3) || l["limit"] != float64(2) || l["offset"] != float64(2) {
		t.Errorf("page: total %v limit %v offset %v, want 3 2 2", l["total"], l["limit"], l["offset"])
	}
	want("sort=person&limit=2", officer, "Alice", "Bob")

	counts := e.must(200, officer, "GET", "/api/v1/cases/counts", nil)
	wantCounts(t, counts, "officer", map[string]float64{"mine": 1, "unassigned": 2, "overdue": 1, "due_soon": 1,
		"waiting_on_subject": 1, "open": 3, "closed": 1}, map[string]float64{"with_officer": 2,
		"awaiting_information": 1, "withdrawn": 1, "cleared": 0})
	wantCounts(t, e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/counts", nil), "case worker",
		map[string]float64{"mine": 0, "unassigned": 2, "open": 3, "closed": 1}, nil)

	for _, bad := range []struct{ query, field string }{
		{"queue=later", "queue"}, {"queue=mine,closed", "queue"}, {"sort=name", "sort"}, {"sort=-", "sort"},
		{"q=a%00b", "q"}, {"q=" + strings.Repeat("a", 201), "q"}, {"limit=0", "limit"}, {"offset=-1", "offset"},
		{"status=lost", "status"}, {"open=perhaps", "open"},
	} {
		wantField(t, e.call(officer, "GET", "/api/v1/cases?"+bad.query, nil), 400, bad.field, bad.query)
	}
}

func wantCounts(t *testing.T, counts map[string]any, who string, queues, statuses map[string]float64) {
	t.Helper()
	qs, _ := counts["queues"].(map[string]any)
	for q, n := range queues {
		if qs[q] != n {
			t.Errorf("%s: %s counts %v, want %v (%v)", who, q, qs[q], n, counts)
		}
	}
	ss, _ := counts["statuses"].(map[string]any)
	for s, n := range statuses {
		if ss[s] != n {
			t.Errorf("%s: status %s counts %v, want %v (%v)", who, s, ss[s], n, counts)
		}
	}
}

// A scoped case worker's queue, search and counts hold only the cases of their sites' persons.
func TestCaseQueueKeepsToTheCaseWorkersReach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fx := newQueueFixture(e)
	worker := e.users[domain.RoleCaseWorker].ID.String()
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+worker, map[string]any{"locationIds": []string{fx.north}})
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Org", "issuingAuthority": "Org",
		"scopeCaseWorkers": true})

	for query, want := range map[string]string{
		"":                             "Carol,Alice",
		"queue=unassigned":             "Carol",
		"queue=due_soon":               "",
		"q=baker":                      "",
		"q=e200":                       "",
		"q=" + url.QueryEscape(fx.bob): "",
		"queue=closed":                 "Dan",
		"sort=person":                  "Alice,Carol",
	} {
		got, l := listCases(e, domain.RoleCaseWorker, query)
		if strings.Join(got, ",") != want {
			t.Errorf("a scoped case worker's GET /cases?%s: %v, want %s", query, got, want)
		}
		if l["total"] != float64(len(got)) {
			t.Errorf("GET /cases?%s: total %v, %d items", query, l["total"], len(got))
		}
	}
	wantCounts(t, e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/counts", nil), "scoped case worker",
		map[string]float64{"unassigned": 1, "overdue": 1, "due_soon": 0, "waiting_on_subject": 1, "open": 2, "closed": 1},
		map[string]float64{"with_officer": 1, "awaiting_information": 1})
	wantCounts(t, e.must(200, domain.RoleVettingOfficer, "GET", "/api/v1/cases/counts", nil), "officer",
		map[string]float64{"open": 3, "closed": 1}, nil)
}

// The outbox names the persons its messages went to, but not to a scoped case worker a person outside
// their reach.
func TestOutboxNamesPersonsWithinReach(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	site := func(code string) string {
		return e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": code, "name": "Site " + code})["id"].(string)
	}
	north, south := site("NORTH"), site("SOUTH")
	person := func(first, last, mobile, at string) string {
		return e.must(201, domain.RoleVettingOfficer, "POST", "/api/v1/persons", map[string]any{"firstName": first,
			"lastName": last, "dateOfBirth": "1980-01-02", "mobile": mobile, "locationId": at})["id"].(string)
	}
	alice, bob := person("Alice", "Archer", "07400 100001", north), person("Bob", "Baker", "07400 100002", south)
	e.sendMessage(alice, "sms", "renewal_nudge", reminderVars)
	e.sendMessage(bob, "sms", "renewal_nudge", reminderVars)

	named := func(role domain.Role) map[string]any {
		t.Helper()
		out := map[string]any{}
		for _, it := range e.must(200, role, "GET", "/api/v1/messages", nil)["items"].([]any) {
			m := it.(map[string]any)
			out[fmt.Sprint(m["personId"])] = m["personName"]
		}
		return out
	}
	if got := named(domain.RoleCaseWorker); got[alice] != "Alice Archer" || got[bob] != "Bob Baker" {
		t.Fatalf("the outbox names %v, want Alice Archer and Bob Baker", got)
	}
	worker := e.users[domain.RoleCaseWorker].ID.String()
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+worker, map[string]any{"locationIds": []string{north}})
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Org", "issuingAuthority": "Org",
		"scopeCaseWorkers": true})
	if got := named(domain.RoleCaseWorker); got[alice] != "Alice Archer" || got[bob] != nil {
		t.Fatalf("a scoped case worker's outbox names %v, want Alice Archer only", got)
	}
	if got := named(domain.RoleVettingOfficer); got[bob] != "Bob Baker" {
		t.Fatalf("an officer's outbox names %v, want Bob Baker too", got)
	}
}
