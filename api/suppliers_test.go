package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// supplier adds a supplier as an administrator and returns its id.
func (e *env) supplier(body map[string]any) string {
	e.t.Helper()
	return e.must(201, domain.RoleAdmin, "POST", "/api/v1/suppliers", body)["id"].(string)
}

func (e *env) site(code string) string {
	e.t.Helper()
	return e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": code, "name": "Site " + code})["id"].(string)
}

// A supplier's life: added with its chain, sites, contacts and contracts; changed field by field (a list
// given replaces the one held); archived and restored in the chain's order; each change in the audit log
// and the events outbox; an archived supplier out of the default list and taking no new person.
func TestSupplierLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	north, south := e.site("N1"), e.site("S1")
	prime := e.supplier(map[string]any{"name": "Acme Defence", "tier": 1, "companyNumber": "01234567",
		"sponsorReference": "SP-9", "siteIds": []string{north},
		"contacts": []map[string]any{{"name": "Ann Lee", "role": "Security manager", "email": "ann@acme.example", "phone": "+44 20 7946 0000"}},
		"contracts": []map[string]any{{"reference": "C-1", "title": "Radar", "startsOn": "2026-01-01", "endsOn": "2027-12-31",
			"sites": []map[string]any{{"locationId": north, "requiredLevel": "SC"}, {"locationId": south, "requiredLevel": "BPSS"}}}}})
	sub := e.supplier(map[string]any{"name": "Bolt Ltd", "tier": 2, "parentId": prime})

	got := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/suppliers/"+prime, nil)
	k := got["contracts"].([]any)[0].(map[string]any)
	if got["sponsorReference"] != "SP-9" || len(got["siteIds"].([]any)) != 1 || len(k["sites"].([]any)) != 2 ||
		k["endsOn"] != "2027-12-31" || got["contacts"].([]any)[0].(map[string]any)["phone"] != "+44 20 7946 0000" {
		t.Fatalf("the prime as stored: %v", got)
	}
	if p := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/suppliers/"+sub, nil); p["parentId"] != prime || p["tier"] != 2.0 {
		t.Fatalf("the sub-supplier: %v", p)
	}

	// Only what is named changes; contacts given replace those held, contracts not named stay.
	changed := e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/suppliers/"+prime, map[string]any{"name": "Acme Defence plc",
		"contacts": []map[string]any{{"name": "Bea Ray"}, {"name": "Cy Dee", "email": "cy@acme.example"}}})
	if changed["name"] != "Acme Defence plc" || len(changed["contacts"].([]any)) != 2 || len(changed["contracts"].([]any)) != 1 ||
		changed["companyNumber"] != "01234567" {
		t.Fatalf("after the change: %v", changed)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity_type = 'supplier' AND entity_id = $1 AND action = 'supplier.update'
		AND detail->'fields' = '["name", "contacts"]'::jsonb`, prime); n != 1 {
		t.Fatalf("%d audit entries naming the fields changed", n)
	}

	// Archived in the chain's order: not the prime while its sub-supplier is in use.
	wantProblem(t, e.call(domain.RoleAdmin, "POST", "/api/v1/suppliers/"+prime+"/archive", nil), 409, "archiving a prime above a sub-supplier in use")
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/suppliers/"+sub+"/archive", nil)
	wantProblem(t, e.call(domain.RoleAdmin, "POST", "/api/v1/suppliers/"+sub+"/archive", nil), 409, "archiving twice")
	archived := e.must(200, domain.RoleAdmin, "POST", "/api/v1/suppliers/"+prime+"/archive", nil)
	if archived["archivedAt"] == nil {
		t.Fatalf("archived: %v", archived)
	}
	wantProblem(t, e.call(domain.RoleAdmin, "POST", "/api/v1/suppliers/"+sub+"/restore", nil), 409, "restoring below an archived parent")
	listed := func(query string) string {
		var names []string
		r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/suppliers"+query, nil)
		var list []map[string]any
		if err := jsonUnmarshal(r.body, &list); err != nil {
			t.Fatalf("%s: %d %s", query, r.status, r.body)
		}
		for _, s := range list {
			names = append(names, s["name"].(string))
		}
		return strings.Join(names, ",")
	}
	if got := listed(""); got != "" {
		t.Errorf("suppliers in use: %q, want none", got)
	}
	if got := listed("?status=archived"); got != "Acme Defence plc,Bolt Ltd" {
		t.Errorf("archived: %q", got)
	}
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/suppliers/"+prime+"/restore", nil)
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/suppliers/"+sub+"/restore", nil)
	if got := listed("?q=bolt"); got != "Bolt Ltd" {
		t.Errorf("search: %q", got)
	}
	if got := listed("?parentId=" + prime); got != "Bolt Ltd" {
		t.Errorf("sub-suppliers of the prime: %q", got)
	}
	wantField(t, e.call(domain.RoleAdmin, "GET", "/api/v1/suppliers?status=gone", nil), 400, "status", "an unknown status filter")

	for id, want := range map[string]int{prime: 4, sub: 3} { // created, (updated,) archived, restored
		if n := e.count(`SELECT count(*) FROM events WHERE subject = $1`, "supplier/"+id); n != want {
			t.Errorf("%d events of supplier/%s, want %d", n, id, want)
		}
	}
	for typ, want := range map[string]int{"supplier.created": 2, "supplier.updated": 1, "supplier.archived": 2, "supplier.restored": 2} {
		if n := e.count(`SELECT count(*) FROM events WHERE type = $1 AND subject LIKE 'supplier/%'`, typ); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
}

// Bad input is refused with a 4xx problem naming the field, and nothing at all is written.
func TestSupplierBadInputWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	north := e.site("N1")
	prime := e.supplier(map[string]any{"name": "Acme", "tier": 1})
	sub := e.supplier(map[string]any{"name": "Bolt", "tier": 2, "parentId": prime})
	subsub := e.supplier(map[string]any{"name": "Cog", "tier": 3, "parentId": sub})
	gone := e.supplier(map[string]any{"name": "Gone", "tier": 1})
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/suppliers/"+gone+"/archive", nil)
	person := e.createPerson("Pat", "Moved", "1980-01-01")
	partner := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners",
		map[string]any{"orgName": "Partner", "baseUrl": "https://partner.example.org"})["id"].(string)
	nowhere := uuid.NewString()
	contract := func(site map[string]any) map[string]any {
		return map[string]any{"contracts": []map[string]any{{"reference": "C-1", "sites": []map[string]any{site}}}}
	}
	with := func(base map[string]any, more map[string]any) map[string]any {
		for k, v := range more {
			base[k] = v
		}
		return base
	}
	for _, c := range []struct {
		what, method, path string
		body               map[string]any
		status             int
		field              string
	}{
		{"an unknown parent", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 2, "parentId": nowhere}, 400, "parentId"},
		{"a parent that is not an id", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 2, "parentId": "acme"}, 400, "parentId"},
		{"an archived parent", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 2, "parentId": gone}, 400, "parentId"},
		{"a tier not one below the parent's", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 3, "parentId": prime}, 400, "tier"},
		{"a tier out of range", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 10}, 400, "tier"},
		{"no tier", "POST", "/api/v1/suppliers", map[string]any{"name": "New"}, 400, "tier"},
		{"a duplicate name, in another case", "POST", "/api/v1/suppliers", map[string]any{"name": "ACME", "tier": 1}, 409, "name"},
		{"a renaming onto another's name", "PATCH", "/api/v1/suppliers/" + sub, map[string]any{"name": "acme"}, 409, "name"},
		{"the supplier as its own parent", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"parentId": prime, "tier": 2}, 400, "parentId"},
		{"a parent below it (a cycle)", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"parentId": subsub, "tier": 4}, 400, "parentId"},
		{"a tier change under its sub-suppliers", "PATCH", "/api/v1/suppliers/" + sub, map[string]any{"tier": 1, "parentId": ""}, 400, "tier"},
		{"an unknown site", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 1, "siteIds": []string{north, nowhere}}, 400, "siteIds[1]"},
		{"a site twice", "POST", "/api/v1/suppliers", map[string]any{"name": "New", "tier": 1, "siteIds": []string{north, north}}, 400, "siteIds[1]"},
		{"an unknown contract site", "PATCH", "/api/v1/suppliers/" + prime, contract(map[string]any{"locationId": nowhere, "requiredLevel": "SC"}), 400, "contracts[0].sites[0].locationId"},
		{"a bad clearance level", "PATCH", "/api/v1/suppliers/" + prime, contract(map[string]any{"locationId": north, "requiredLevel": "TS"}), 400, "contracts[0].sites[0].requiredLevel"},
		{"no clearance level", "PATCH", "/api/v1/suppliers/" + prime, contract(map[string]any{"locationId": north}), 400, "contracts[0].sites[0].requiredLevel"},
		{"a contract ending before it starts", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"contracts": []map[string]any{
			{"reference": "C-1", "startsOn": "2026-05-01", "endsOn": "2026-04-30"}}}, 400, "contracts[0].endsOn"},
		{"a contract reference twice", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"contracts": []map[string]any{
			{"reference": "C-1"}, {"reference": "C-1"}}}, 400, "contracts[1].reference"},
		{"a contact without a name", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"contacts": []map[string]any{{"role": "Buyer"}}}, 400, "contacts[0].name"},
		{"a contact's bad e-mail", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"contacts": []map[string]any{{"name": "Al", "email": "al@"}}}, 400, "contacts[0].email"},
		{"a contact's bad phone", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"contacts": []map[string]any{{"name": "Al", "phone": "call me"}}}, 400, "contacts[0].phone"},
		{"an unknown field", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{"colour": "red"}, 400, "colour"},
		{"nothing to change", "PATCH", "/api/v1/suppliers/" + prime, map[string]any{}, 400, "body"},
		{"an archived supplier for a new person", "POST", "/api/v1/persons", map[string]any{"firstName": "New", "lastName": "Starter",
			"dateOfBirth": "1990-01-01", "supplierId": gone}, 400, "supplierId"},
		{"a person moved to an archived supplier", "PATCH", "/api/v1/persons/" + person, map[string]any{"supplierId": gone}, 400, "supplierId"},
		{"an unknown supplier for a new person", "POST", "/api/v1/persons", map[string]any{"firstName": "New", "lastName": "Starter",
			"dateOfBirth": "1990-01-01", "supplierId": nowhere}, 400, "supplierId"},
		{"a partner linked to an archived supplier", "PUT", "/api/v1/partners/" + partner + "/supplier", map[string]any{"supplierId": gone}, 400, "supplierId"},
		{"a partner linked to an unknown supplier", "PUT", "/api/v1/partners/" + partner + "/supplier", map[string]any{"supplierId": nowhere}, 400, "supplierId"},
	} {
		t.Run(c.what, func(t *testing.T) {
			before := e.settledSnapshot(t)
			role := domain.RoleAdmin
			if strings.HasPrefix(c.path, "/api/v1/persons") {
				role = domain.RoleCaseWorker
			}
			wantField(t, e.call(role, c.method, c.path, with(map[string]any{}, c.body)), c.status, c.field, c.what)
			after := e.snapshot(t)
			for table, was := range before {
				if after[table] != was {
					t.Errorf("table %s changed: %s -> %s", table, was, after[table])
				}
			}
		})
	}
	// The same requests, put right, are taken.
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/suppliers/"+prime, contract(map[string]any{"locationId": north, "requiredLevel": "SC"}))
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/suppliers/"+subsub, map[string]any{"parentId": prime, "tier": 2})
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/partners/"+partner+"/supplier", map[string]any{"supplierId": prime})
	if got := e.must(200, domain.RoleAdmin, "GET", "/api/v1/partners/"+partner, nil)["supplierId"]; got != prime {
		t.Errorf("the partner is linked to %v", got)
	}
	// A person stays with a supplier archived after they joined, and may still be edited.
	staying := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Sam", "lastName": "Stay",
		"dateOfBirth": "1990-01-01", "supplierId": sub})["id"].(string)
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/suppliers/"+sub+"/archive", nil)
	e.must(200, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+staying, map[string]any{"middleNames": "Q", "supplierId": sub})
}

// The compliance view sorts a supplier's active people by clearance state on today's date: cleared
// (beyond 90 days), expiring (within 90), in progress (none in force, a case open), lapsed (held one,
// none in force, no case) and uncleared; with the open cases; the same rows as CSV. The supplierId
// filters of persons, cases, clearances and grants keep to the supplier's people.
func TestSupplierCompliance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	acme := e.supplier(map[string]any{"name": "Acme", "tier": 1})
	other := e.supplier(map[string]any{"name": "Other", "tier": 1})
	person := func(last, supplier string) string {
		return e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Pat", "lastName": last,
			"dateOfBirth": "1980-01-01", "supplierId": supplier, "employeeNumber": "=cmd|" + last})["id"].(string)
	}
	today := domain.DateOf(time.Now().UTC())
	clear := func(id string, from, to domain.Date) domain.Clearance {
		c, err := e.st.RecordClearance(ctx, nil, domain.Clearance{PersonID: uuid.MustParse(id), Level: domain.LevelSC,
			ValidFrom: from, ValidTo: to, IssuingAuthority: "Test"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cleared, expiring, lapsed, progress, lapsedInProgress, uncleared := person("Cleared", acme), person("Expiring", acme),
		person("Lapsed", acme), person("Progress", acme), person("Renewing", acme), person("Uncleared", acme)
	clear(cleared, today.AddDays(-10), today.AddDays(domain.ExpiringWithin))
	clear(expiring, today.AddDays(-10), today.AddDays(domain.ExpiringWithin-1))
	for _, id := range []string{lapsed, lapsedInProgress} {
		c := clear(id, today.AddDays(-400), today.AddDays(-1))
		if ok, err := e.st.ExpireClearance(ctx, c.ID, today); err != nil || !ok {
			t.Fatalf("expire: %v %v", ok, err)
		}
	}
	progressCase := e.openCase(progress, "new", "SC")
	e.openCase(lapsedInProgress, "renewal", "SC")
	left := person("Left", acme)
	clear(left, today.AddDays(-10), today.AddDays(400))
	e.must(200, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+left, map[string]any{"active": false})
	elsewhere := person("Elsewhere", other)
	clear(elsewhere, today.AddDays(-10), today.AddDays(400))
	otherCase := e.openCase(elsewhere, "new", "SC")

	v := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/suppliers/"+acme+"/compliance", nil)
	if fmt.Sprint(v["counts"]) != "map[cleared:1 expiring:1 in_progress:2 lapsed:1 uncleared:1]" || v["expiringWithinDays"] != 90.0 {
		t.Fatalf("counts %v", v["counts"])
	}
	states := map[string]string{}
	for _, p := range v["people"].([]any) {
		p := p.(map[string]any)
		states[p["personId"].(string)] = p["state"].(string)
	}
	want := map[string]string{cleared: "cleared", expiring: "expiring", lapsed: "lapsed", progress: "in_progress",
		lapsedInProgress: "in_progress", uncleared: "uncleared"}
	if fmt.Sprint(states) != fmt.Sprint(want) {
		t.Errorf("states %v, want %v", states, want)
	}
	cases := fmt.Sprint(v["openCases"])
	if v["openCasesTotal"] != 2.0 || !strings.Contains(cases, progressCase) || strings.Contains(cases, otherCase) {
		t.Errorf("open cases (%v): %s", v["openCasesTotal"], cases)
	}

	r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/suppliers/"+acme+"/compliance.csv", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("CSV: %d %s %s", r.status, r.header, r.body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || len(rows) != 7 || strings.Join(rows[0], ",") != "person_id,name,employee_number,state,level,valid_to,open_case" {
		t.Fatalf("CSV rows (%v): %q", err, rows)
	}
	for _, row := range rows[1:] {
		if want[row[0]] != row[3] {
			t.Errorf("CSV row %q: state %s, want %s", row, row[3], want[row[0]])
		}
		if !strings.HasPrefix(row[2], "'=") {
			t.Errorf("CSV row %q: a formula-like cell left as it is", row)
		}
	}

	// The supplier filters across persons, cases, clearances and access grants.
	ids := func(path, key string) string {
		var n []string
		for _, it := range e.must(200, domain.RoleSecurityController, "GET", path, nil)["items"].([]any) {
			n = append(n, it.(map[string]any)[key].(string))
		}
		return strings.Join(n, ",")
	}
	if got := ids("/api/v1/persons?limit=200&supplierId="+other, "id"); got != elsewhere {
		t.Errorf("persons of the other supplier: %s", got)
	}
	ours := e.createPerson("Olly", "Ours", "1980-01-01")
	if got := ids("/api/v1/persons?limit=200&ownStaff=true", "id"); got != ours {
		t.Errorf("our own staff: %s", got)
	}
	if got := ids("/api/v1/persons?limit=200&ownStaff=false", "id"); strings.Contains(got, ours) || strings.Count(got, ",") != 7 {
		t.Errorf("the suppliers' people (8): %s", got)
	}
	if got := ids("/api/v1/cases?supplierId="+other, "caseRef"); got != otherCase {
		t.Errorf("cases of the other supplier: %s", got)
	}
	if got := ids("/api/v1/clearances?status=active&supplierId="+other, "personId"); got != elsewhere {
		t.Errorf("active clearances of the other supplier: %s", got)
	}
	testenv.Exec(t, e.database, `INSERT INTO access_levels (id, name, acs_location_id, required_level) VALUES ('L9', 'Lab', 'acs-n', 'SC')`)
	north := e.site("N1")
	testenv.Exec(t, e.database, `INSERT INTO access_location_map (location_id, acs_location_id) VALUES ($1, 'acs-n')`, north)
	for _, p := range []string{cleared, elsewhere} {
		if _, err := e.st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: uuid.MustParse(p), LevelID: "L9",
			StartsAt: time.Now(), EndsAt: time.Now().Add(24 * time.Hour), TimeZone: "Europe/London"}); err != nil {
			t.Fatal(err)
		}
	}
	grants := e.must(200, domain.RoleSecurityController, "GET", "/api/v1/access/grants?status=scheduled,active&supplierId="+acme, nil)
	items := grants["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["personId"] != cleared || items[0].(map[string]any)["locationId"] != north ||
		items[0].(map[string]any)["levelName"] != "Lab" {
		t.Errorf("grants held by the supplier's people: %v", grants)
	}
	wantField(t, e.call(domain.RoleSecurityController, "GET", "/api/v1/access/grants?status=open", nil), 400, "status", "an unknown grant status")
	wantField(t, e.call(domain.RoleSecurityController, "GET", "/api/v1/cases?supplierId=acme", nil), 400, "supplierId", "a supplier filter that is no id")
}

// Where the organisation scopes case workers, a case worker sees only their own suppliers: the list, a
// supplier and its compliance view; any other is 404 as if it did not exist. Others see every supplier.
func TestSupplierScopedCaseWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine, theirs := e.supplier(map[string]any{"name": "Mine", "tier": 1}), e.supplier(map[string]any{"name": "Theirs", "tier": 1})
	var theirPerson string
	for _, s := range []string{mine, theirs} {
		theirPerson = e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Pat", "lastName": "Of",
			"dateOfBirth": "1980-01-01", "supplierId": s})["id"].(string)
	}
	e.must(201, domain.RoleVettingOfficer, "POST", "/api/v1/cases", map[string]any{"personId": theirPerson, "type": "new", "level": "SC"})
	worker := e.users[domain.RoleCaseWorker].ID.String()
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+worker, map[string]any{"supplierIds": []string{mine}})
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Org", "issuingAuthority": "Org", "scopeCaseWorkers": true})

	names := func(role domain.Role) string {
		var list []map[string]any
		if err := jsonUnmarshal(e.call(role, "GET", "/api/v1/suppliers?status=all", nil).body, &list); err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, s := range list {
			n = append(n, s["name"].(string))
		}
		return strings.Join(n, ",")
	}
	if got := names(domain.RoleCaseWorker); got != "Mine" {
		t.Errorf("a scoped case worker lists %q", got)
	}
	if got := names(domain.RoleVettingOfficer); got != "Mine,Theirs" {
		t.Errorf("a vetting officer lists %q", got)
	}
	for _, path := range []string{"/api/v1/suppliers/" + theirs, "/api/v1/suppliers/" + theirs + "/compliance",
		"/api/v1/suppliers/" + theirs + "/compliance.csv"} {
		wantProblem(t, e.call(domain.RoleCaseWorker, "GET", path, nil), 404, "a scoped case worker reading "+path)
	}
	if v := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/suppliers/"+mine+"/compliance", nil); len(v["people"].([]any)) != 1 {
		t.Errorf("a scoped case worker's own supplier: %v", v)
	}
	for role, want := range map[domain.Role]float64{domain.RoleCaseWorker: 0, domain.RoleVettingOfficer: 1} {
		if n := e.must(200, role, "GET", "/api/v1/cases?supplierId="+theirs, nil)["total"]; n != want {
			t.Errorf("%s: %v cases of the other supplier, want %v", role, n, want)
		}
	}
	if v := e.must(200, domain.RoleVettingOfficer, "GET", "/api/v1/suppliers/"+theirs+"/compliance", nil); len(v["people"].([]any)) != 1 {
		t.Errorf("a vetting officer reading another supplier: %v", v)
	}
	// The grants list keeps to their reach too.
	testenv.Exec(t, e.database, `INSERT INTO access_levels (id, name, required_level) VALUES ('L1', 'Gate', 'BPSS')`)
	if _, err := e.st.CreateGrant(context.Background(), domain.AccessGrant{ID: domain.NewGrantID(), PersonID: uuid.MustParse(theirPerson),
		LevelID: "L1", StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour), TimeZone: "Europe/London"}); err != nil {
		t.Fatal(err)
	}
	for role, want := range map[domain.Role]float64{domain.RoleCaseWorker: 0, domain.RoleVettingOfficer: 1} {
		if n := e.must(200, role, "GET", "/api/v1/access/grants?supplierId="+theirs, nil)["total"]; n != want {
			t.Errorf("%s: %v grants of the other supplier's people, want %v", role, n, want)
		}
	}
}

// Two suppliers each placed below the other at the same moment: one change is taken, the other refused
// as a cycle (never both, which would leave a chain with no prime, and never a 5xx).
func TestSupplierChainChangesAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for round := range 5 {
		a := e.supplier(map[string]any{"name": fmt.Sprint("A", round), "tier": 1})
		b := e.supplier(map[string]any{"name": fmt.Sprint("B", round), "tier": 1})
		statuses := make(chan int, 2)
		for _, pair := range [][2]string{{a, b}, {b, a}} {
			go func() {
				r := e.call(domain.RoleAdmin, "PATCH", "/api/v1/suppliers/"+pair[0], map[string]any{"parentId": pair[1], "tier": 2})
				statuses <- r.status
			}()
		}
		got := []int{<-statuses, <-statuses}
		if got[0]+got[1] != 600 || (got[0] != 200 && got[0] != 400) {
			t.Fatalf("round %d: the two changes answered %v, want one 200 and one 400", round, got)
		}
		if n := e.count(`SELECT count(*) FROM suppliers WHERE id IN ($1, $2) AND parent_id IS NULL`, a, b); n != 1 {
			t.Fatalf("round %d: %d of the two are primes, want 1", round, n)
		}
	}
}
