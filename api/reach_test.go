package api_test

import (
	"strings"
	"testing"

	"github.com/signetassure/signetassure/domain"
)

// Where the organisation scopes case workers, a case worker sees only the persons of their sites and
// suppliers, and their cases and clearances; others are 404 as if they did not exist. Officers see all.
func TestCaseWorkerScoping(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site := func(code string) string {
		return e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": code, "name": "Site " + code})["id"].(string)
	}
	north, south := site("NORTH"), site("SOUTH")
	acme := e.must(201, domain.RoleAdmin, "POST", "/api/v1/suppliers", map[string]any{"name": "Acme", "tier": 1})["id"].(string)
	person := func(last string, at map[string]any) string {
		body := map[string]any{"firstName": "Pat", "lastName": last, "dateOfBirth": "1980-01-02"}
		for k, v := range at {
			body[k] = v
		}
		return e.must(201, domain.RoleVettingOfficer, "POST", "/api/v1/persons", body)["id"].(string)
	}
	atNorth := person("North", map[string]any{"locationId": north})
	atSouth := person("South", map[string]any{"locationId": south})
	ofAcme := person("Acme", map[string]any{"supplierId": acme})
	nowhere := person("Nowhere", nil)
	southCase := e.must(201, domain.RoleVettingOfficer, "POST", "/api/v1/cases",
		map[string]any{"personId": atSouth, "type": "new", "level": "SC"})["caseRef"].(string)

	worker := e.users[domain.RoleCaseWorker].ID.String()
	wantField(t, e.call(domain.RoleAdmin, "PATCH", "/api/v1/users/"+worker, map[string]any{"locationIds": []string{north, "9f3c1a52-0000-4000-8000-000000000000"}}),
		400, "locationIds[1]", "a site that does not exist")
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+worker, map[string]any{"locationIds": []string{north}, "supplierIds": []string{acme}})

	seen := func(role domain.Role) string {
		t.Helper()
		r := e.call(role, "GET", "/api/v1/persons?limit=100", nil)
		if r.status != 200 {
			t.Fatalf("list persons: %d %s", r.status, r.body)
		}
		var names []string
		for _, id := range []string{atNorth, atSouth, ofAcme, nowhere} {
			if strings.Contains(string(r.body), id) {
				names = append(names, map[string]string{atNorth: "north", atSouth: "south", ofAcme: "acme", nowhere: "nowhere"}[id])
			}
		}
		return strings.Join(names, ",")
	}
	if got := seen(domain.RoleCaseWorker); got != "north,south,acme,nowhere" {
		t.Fatalf("before scoping is turned on, the case worker sees %s", got)
	}
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Org", "issuingAuthority": "Org", "scopeCaseWorkers": true})
	if got := seen(domain.RoleCaseWorker); got != "north,acme" {
		t.Fatalf("a scoped case worker sees %s, want north,acme", got)
	}
	if got := seen(domain.RoleVettingOfficer); got != "north,south,acme,nowhere" {
		t.Fatalf("a vetting officer sees %s", got)
	}
	for _, path := range []string{"/api/v1/persons/" + atSouth, "/api/v1/persons/" + nowhere, "/api/v1/persons/" + atSouth + "/clearances",
		"/api/v1/cases/" + southCase} {
		if r := e.call(domain.RoleCaseWorker, "GET", path, nil); r.status != 404 {
			t.Errorf("a scoped case worker reading %s: %d, want 404", path, r.status)
		}
	}
	if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/persons/"+atNorth, nil); r.status != 200 {
		t.Errorf("a scoped case worker reading a person of their site: %d", r.status)
	}
	if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/cases?limit=100", nil); r.status != 200 || strings.Contains(string(r.body), southCase) {
		t.Errorf("a scoped case worker's case list: %d, holds another site's case: %v", r.status, strings.Contains(string(r.body), southCase))
	}
	before := e.count(`SELECT count(*) FROM vetting_cases`)
	wantField(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{"personId": nowhere, "type": "new", "level": "BPSS"}),
		400, "personId", "a scoped case worker opening a case for a person outside their reach")
	if n := e.count(`SELECT count(*) FROM vetting_cases`); n != before {
		t.Fatal("a refused case was opened")
	}
	// An organisation update that does not name the setting keeps it.
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Org", "issuingAuthority": "Org", "timeZone": "Europe/London"})
	if got := seen(domain.RoleCaseWorker); got != "north,acme" {
		t.Fatalf("after an organisation update without the setting, the case worker sees %s", got)
	}
}
