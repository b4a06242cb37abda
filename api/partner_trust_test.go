package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/partners"
)

// delegate opens a case for a new person at level (of type typ) on e and delegates it to site.
func (e *env) delegate(site, typ, level string) string {
	e.t.Helper()
	ref := e.openCase(e.createPerson("Amir", "Khan", "1979-02-03"), typ, level)
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/delegation",
		map[string]any{"siteId": site, "dueDate": time.Now().AddDate(0, 0, 30).Format(time.DateOnly)})
	return ref
}

// lastExternalAudit is the newest audit entry of an external endpoint ("lookup", "return", "whoami").
func (e *env) lastExternalAudit(endpoint string) map[string]any {
	e.t.Helper()
	raw := e.text(`SELECT detail::text FROM audit_log WHERE action = $1 ORDER BY id DESC LIMIT 1`, "external."+endpoint)
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		e.t.Fatal(err)
	}
	return m
}

// text reads one text value from the test database.
func (e *env) text(sql string, args ...any) string {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.database)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
	return s
}

// withoutLoopbackPartners runs the API as in production: partners over https at public addresses only.
func withoutLoopbackPartners() envOption { return func(e *env) { e.strictPartners = true } }

// A partner's return out of bounds (a level above the case's, a validity longer than the level's, a
// validFrom long past, dates outside the calendar the system keeps) is refused with 422 naming the field,
// audited, and changes nothing: the case waits for the partner, no clearance is written, no answer kept.
func TestPartnerReturnOutOfBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	bpss := e.delegate(site, "aftercare", "BPSS")
	sc := e.delegate(site, "new", "SC")
	today := time.Now().UTC()
	day := func(d time.Time) string { return d.Format(time.DateOnly) }
	for _, tc := range []struct {
		name, ref, level, from, to string
		status                     int
		field                      string
	}{
		{"eDV on a BPSS aftercare case", bpss, "eDV", day(today), day(today.AddDate(1, 0, 0)), 422, "clearanceLevel"},
		{"SC on a BPSS case", bpss, "SC", day(today), day(today.AddDate(1, 0, 0)), 422, "clearanceLevel"},
		{"1900 to 9999", bpss, "BPSS", "1900-01-01", "9999-12-31", 400, "validTo"},
		{"from 1900", bpss, "BPSS", "1900-01-01", day(today.AddDate(1, 0, 0)), 422, "validFrom"},
		{"to 2100", sc, "SC", day(today), "2100-12-31", 422, "validTo"},
		{"SC for 11 years", sc, "SC", day(today), day(today.AddDate(11, 0, 0)), 422, "validTo"},
		{"BPSS for 4 years", bpss, "BPSS", day(today), day(today.AddDate(4, 0, 0)), 422, "validTo"},
		{"validFrom two years ago", sc, "SC", day(today.AddDate(-2, 0, 0)), day(today.AddDate(3, 0, 0)), 422, "validFrom"},
		{"validFrom two years ahead", sc, "SC", day(today.AddDate(2, 0, 0)), day(today.AddDate(3, 0, 0)), 422, "validFrom"},
		{"validTo before validFrom", sc, "SC", day(today), day(today.AddDate(0, 0, -1)), 422, "validTo"},
		{"validTo on validFrom", sc, "SC", day(today), day(today), 422, "validTo"},
		{"0001-01-01", sc, "SC", "0001-01-01", day(today), 400, "validFrom"},
		{"2026-02-30", sc, "SC", "2026-02-30", day(today), 400, "validFrom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.partnerCall(key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": tc.ref, "outcome": "cleared",
				"clearanceLevel": tc.level, "validFrom": tc.from, "validTo": tc.to, "partnerCaseId": "BA-" + tc.name})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if f := problemField(t, r); f != tc.field {
				t.Fatalf("problem names %q, want %q: %s", f, tc.field, r.body)
			}
			a := e.lastExternalAudit("return")
			if a["status"] != float64(tc.status) || a["outcome"] != "refused" || a["partnerOrg"] != "Beacon Aerospace" {
				t.Fatalf("audit entry: %v", a)
			}
		})
	}
	for _, ref := range []string{bpss, sc} {
		if c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil); c["status"] != "with_partner" {
			t.Fatalf("case %s after refused returns: %v", ref, c["status"])
		}
	}
	if n := e.count(`SELECT count(*) FROM clearances`); n != 0 {
		t.Fatalf("%d clearances written", n)
	}
	if n := e.count(`SELECT count(*) FROM partner_returns`); n != 0 {
		t.Fatalf("%d returns kept", n)
	}
	// Within bounds, a lower level than the case's is accepted.
	from, to := validity(-30, 5)
	r := e.partnerCall(key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": sc, "outcome": "cleared",
		"clearanceLevel": "CTC", "validFrom": from, "validTo": to, "partnerCaseId": "BA-ok"})
	if r.status != 200 {
		t.Fatalf("a return in bounds: %d %s", r.status, r.body)
	}
	e.waitStatus(sc, "cleared")
}

// The officer's route checks the same bounds: 422 naming the field, and the case is left open.
func TestOfficerOutcomeOutOfBounds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.openCase(e.createPerson("Jane", "Davies", "1985-04-12"), "aftercare", "BPSS")
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	today := time.Now().UTC()
	day := func(d time.Time) string { return d.Format(time.DateOnly) }
	for _, tc := range []struct {
		level, from, to string
		status          int
		field           string
	}{
		{"eDV", day(today), day(today.AddDate(1, 0, 0)), 422, "level"},
		{"BPSS", "1900-01-01", day(today.AddDate(1, 0, 0)), 422, "validFrom"},
		{"BPSS", day(today), day(today.AddDate(10, 0, 0)), 422, "validTo"},
		{"BPSS", day(today), "9999-12-31", 400, "validTo"},
		{"BPSS", day(today), day(today.AddDate(0, 0, -1)), 422, "validTo"},
	} {
		r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{
			"outcome": "cleared", "level": tc.level, "validFrom": tc.from, "validTo": tc.to})
		if r.status != tc.status || problemField(t, r) != tc.field {
			t.Fatalf("%s %s..%s: %d %s, want %d naming %s", tc.level, tc.from, tc.to, r.status, r.body, tc.status, tc.field)
		}
	}
	if c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil); c["status"] != "with_officer" {
		t.Fatalf("case after refused outcomes: %v", c["status"])
	}
	if n := e.count(`SELECT count(*) FROM clearances`); n != 0 {
		t.Fatalf("%d clearances written", n)
	}
}

// A partnerCaseId used again with another body is a conflict, never a silent drop of the new outcome;
// the same body again gets the first answer.
func TestPartnerCaseIDReuse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	first, second := e.delegate(site, "new", "SC"), e.delegate(site, "new", "SC")
	from, to := validity(-30, 5)
	body := map[string]any{"caseRef": first, "outcome": "cleared", "clearanceLevel": "SC", "validFrom": from, "validTo": to,
		"partnerCaseId": "BA-VET-1"}
	r := e.partnerCall(key, "POST", "/api/external/vetting/return", body)
	if r.status != 200 {
		t.Fatalf("first return: %d %s", r.status, r.body)
	}
	firstAnswer := string(r.body)
	e.waitStatus(first, "cleared")

	for name, change := range map[string]map[string]any{
		"another case":    {"caseRef": second, "outcome": "refused", "clearanceLevel": nil, "validFrom": nil, "validTo": nil},
		"another outcome": {"outcome": "with_advisory"},
		"another level":   {"clearanceLevel": "CTC"},
		"other dates":     {"validTo": from[:4] + "-12-31"},
	} {
		reused := map[string]any{}
		for k, v := range body {
			reused[k] = v
		}
		for k, v := range change {
			if v == nil {
				delete(reused, k)
			} else {
				reused[k] = v
			}
		}
		r := e.partnerCall(key, "POST", "/api/external/vetting/return", reused)
		if r.status != 409 || problemField(t, r) != "partnerCaseId" {
			t.Fatalf("%s: %d %s, want 409 naming partnerCaseId", name, r.status, r.body)
		}
		if a := e.lastExternalAudit("return"); a["status"] != float64(409) {
			t.Fatalf("%s: audit entry %v", name, a)
		}
	}
	if c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+second, nil); c["status"] != "with_partner" {
		t.Fatalf("the second case after a reused partnerCaseId: %v", c["status"])
	}
	again := e.partnerCall(key, "POST", "/api/external/vetting/return", body)
	var a1, a2 map[string]any
	_ = json.Unmarshal([]byte(firstAnswer), &a1)
	_ = json.Unmarshal(again.body, &a2)
	if again.status != 200 || a1 == nil || fmt.Sprint(a1) != fmt.Sprint(a2) {
		t.Fatalf("the same return again: %d %s, want the first answer %s", again.status, again.body, firstAnswer)
	}
	if n := e.count(`SELECT count(*) FROM clearances`); n != 1 {
		t.Fatalf("%d clearances", n)
	}
}

// Two returns sent at once under one partnerCaseId for two cases: one is carried out, the other is 409,
// and the other case still waits for its partner. A return the case refuses frees its partnerCaseId.
func TestPartnerCaseIDClaimedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	from, to := validity(-30, 5)
	for round := range 3 {
		refs := []string{e.delegate(site, "new", "SC"), e.delegate(site, "upgrade", "SC")}
		id := fmt.Sprintf("BA-RACE-%d", round)
		statuses := make([]int, len(refs))
		var wg sync.WaitGroup
		for i, ref := range refs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses[i] = e.partnerCall(key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": ref,
					"outcome": "cleared", "clearanceLevel": "SC", "validFrom": from, "validTo": to, "partnerCaseId": id}).status
			}()
		}
		wg.Wait()
		slices.Sort(statuses)
		if statuses[0] != 200 || statuses[1] != 409 {
			t.Fatalf("round %d: two returns under one partnerCaseId answered %v, want one 200 and one 409", round, statuses)
		}
		closed := 0
		for _, ref := range refs {
			if c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil); c["status"] == "cleared" {
				closed++
			} else if c["status"] != "with_partner" {
				t.Fatalf("round %d: case %s is %v", round, ref, c["status"])
			}
		}
		if closed != 1 {
			t.Fatalf("round %d: %d cases closed by one partnerCaseId", round, closed)
		}
	}

	// Refused by the case (its partner's level is above the case's): the partnerCaseId is free again.
	ref := e.delegate(site, "new", "CTC")
	r := e.partnerCall(key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": ref, "outcome": "cleared",
		"clearanceLevel": "SC", "validFrom": from, "validTo": to, "partnerCaseId": "BA-FIX"})
	if r.status != 422 {
		t.Fatalf("a return above the case's level: %d %s", r.status, r.body)
	}
	r = e.partnerCall(key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": ref, "outcome": "cleared",
		"clearanceLevel": "CTC", "validFrom": from, "validTo": to, "partnerCaseId": "BA-FIX"})
	if r.status != 200 {
		t.Fatalf("the corrected return under the same partnerCaseId: %d %s", r.status, r.body)
	}
}

// A lookup answers only what an access decision needs: the clearances held. A refused person and a
// person whose only case is open are found with no clearance, and neither the refusal nor the level
// asked for is in the answer or in the disclosure recorded.
func TestLookupDisclosesHeldClearancesOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	refused := e.createPerson("Rhys", "Morgan", "1981-06-07")
	ref := e.openCase(refused, "new", "SC")
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{"outcome": "refused"})
	open := e.createPerson("Olu", "Adeyemi", "1990-10-11")
	openRef := e.openCase(open, "new", "DV")
	cleared := e.createPerson("Jane", "Davies", "1985-04-12")
	from, to := validity(-90, 3)
	e.clearFor(cleared, "eSC", from, to)

	for _, tc := range []struct {
		first, last, dob, person string
		matches                  int
		forbidden                []string
	}{
		{"Rhys", "Morgan", "1981-06-07", refused, 0, []string{"refused", "SC", ref, "status"}},
		{"Olu", "Adeyemi", "1990-10-11", open, 0, []string{"DV", openRef, "status", "new"}},
		{"Jane", "Davies", "1985-04-12", cleared, 1, []string{"caseRef", "status", "vettingOwner", "type"}},
	} {
		r := e.partnerCall(key, "POST", "/api/external/vetting/lookup", map[string]any{"firstName": tc.first, "lastName": tc.last,
			"dob": tc.dob, "reason": "Site access"})
		if r.status != 200 {
			t.Fatalf("lookup %s: %d %s", tc.last, r.status, r.body)
		}
		var a partners.LookupAnswer
		if err := json.Unmarshal(r.body, &a); err != nil || !a.Found || len(a.Matches) != tc.matches {
			t.Fatalf("lookup %s: %s", tc.last, r.body)
		}
		disclosed := e.text(`SELECT disclosed::text FROM disclosures WHERE person_id = $1`, tc.person)
		for _, f := range tc.forbidden {
			if strings.Contains(string(r.body), `"`+f+`"`) || strings.Contains(disclosed, `"`+f+`"`) {
				t.Fatalf("lookup %s discloses %q: %s / %s", tc.last, f, r.body, disclosed)
			}
		}
		if tc.matches == 1 {
			m := a.Matches[0]
			if m.ClearanceLevel != "eSC" || m.ValidFrom.String() != from || m.ValidTo.String() != to || m.Expired || m.RenewalDue {
				t.Fatalf("held clearance: %s", r.body)
			}
		}
	}
}

// A caseRef of any shape that names no case delegated to the caller answers 404, audited. (One that is
// not clean text or too long, a NUL in it say, is refused at the request boundary like any field: 400
// naming it.)
func TestReturnUnknownCaseRefIs404(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	for _, ref := range []string{"v_nosuchcase00000000000000", "V_X", "not a reference", "../../etc", strings.Repeat("v", 400)} {
		before := e.count(`SELECT count(*) FROM audit_log WHERE action = 'external.return' AND detail->>'status' = '404'`)
		r := e.partnerCall(key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": ref, "outcome": "refused",
			"partnerCaseId": "BA-1"})
		if r.status != 404 {
			t.Fatalf("caseRef %.20q: %d %s", ref, r.status, r.body)
		}
		if after := e.count(`SELECT count(*) FROM audit_log WHERE action = 'external.return' AND detail->>'status' = '404'`); after != before+1 {
			t.Fatalf("caseRef %.20q: not audited", ref)
		}
	}
}

// RFC 9110: the authentication scheme is case-insensitive, for partner keys and staff tokens alike.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		r := e.callWith("", "GET", "/api/external/vetting/whoami", nil, map[string]string{"Authorization": scheme + " " + key})
		if r.status != 200 {
			t.Fatalf("partner %q: %d %s", scheme, r.status, r.body)
		}
		r = e.callWith("", "GET", "/api/v1/me", nil, map[string]string{"Authorization": scheme + " " + e.tokens[domain.RoleAuditor]})
		if r.status != 200 {
			t.Fatalf("staff %q: %d %s", scheme, r.status, r.body)
		}
	}
	for _, h := range []string{"Basic " + key, key, "Bearer", "Bearer  ", "Bearerx " + key} {
		if r := e.callWith("", "GET", "/api/external/vetting/whoami", nil, map[string]string{"Authorization": h}); r.status != 401 {
			t.Fatalf("%.12q: %d", h, r.status)
		}
	}
}

// A thousand calls with bad keys from one address add a bounded number of rows, outside the audit
// chain, and every call is counted; the address is refused with 429 and Retry-After once past its
// allowance, even with a good key.
func TestBadKeyFloodIsBoundedAndCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	chainBefore := e.count(`SELECT count(*) FROM audit_log`)
	const calls = 1000
	statuses := map[int]int{}
	for i := range calls {
		bad := fmt.Sprintf("sap_abcdefgh_wrong%04d", i)
		path := "/api/external/vetting/whoami"
		if i%2 == 1 {
			path = "/api/external/vetting/lookup"
		}
		r := e.callWith("", "POST", path, `{}`, map[string]string{"Authorization": "Bearer " + bad})
		if r.status == 405 {
			r = e.callWith("", "GET", path, nil, map[string]string{"Authorization": "Bearer " + bad})
		}
		statuses[r.status]++
		if r.status == 429 && r.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	if statuses[401] == 0 || statuses[429] == 0 || statuses[401]+statuses[429] != calls {
		t.Fatalf("statuses %v", statuses)
	}
	if n := e.count(`SELECT count(*) FROM audit_log`); n != chainBefore {
		t.Fatalf("%d chained audit entries for bad keys", n-chainBefore)
	}
	if n := e.authFailures(); n != calls {
		t.Fatalf("%d failed calls counted, want %d", n, calls)
	}
	if rows := e.count(`SELECT count(*) FROM external_auth_failures`); rows > 2*2*2 {
		t.Fatalf("%d rows for one address (want at most 2 endpoints x 2 outcomes x 2 minutes)", rows)
	}
	if r := e.partnerCall(key, "GET", "/api/external/vetting/whoami", nil); r.status != 429 {
		t.Fatalf("a good key from a blocked address: %d", r.status)
	}
}

// Any external call that fails inside, with a 5xx, still leaves an audit entry with the status answered.
func TestExternalServerErrorIsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	e.createPerson("Jane", "Davies", "1985-04-12")
	testenv.Exec(t, e.database, `ALTER TABLE disclosures RENAME TO disclosures_away`)
	r := e.partnerCall(key, "POST", "/api/external/vetting/lookup", map[string]any{"firstName": "Jane", "lastName": "Davies",
		"dob": "1985-04-12", "reason": "Site access"})
	if r.status < 500 {
		t.Fatalf("lookup with its table gone: %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "Davies") {
		t.Fatalf("a failed lookup disclosed: %s", r.body)
	}
	// The entry is written as the call ends, after its answer: wait for it, with a deadline.
	deadline := time.Now().Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM audit_log WHERE action = 'external.lookup'`) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the failed lookup left no audit entry")
		}
		time.Sleep(20 * time.Millisecond)
	}
	a := e.lastExternalAudit("lookup")
	if a["status"] != float64(r.status) || a["outcome"] != "error" || a["partnerOrg"] != "Beacon Aerospace" {
		t.Fatalf("audit entry of the failed lookup: %v", a)
	}
}

// A partner base URL must be https, without user name, query or fragment, and not an internal address;
// http and loopback only in loopback development.
func TestPartnerBaseURLRefusals(t *testing.T) {
	t.Parallel()
	strict := newEnv(t, withoutLoopbackPartners())
	dev := newEnv(t)
	for _, u := range []string{"http://vetting.example", "https://user:pass@vetting.example", "https://vetting.example/#x",
		"https://vetting.example/?k=v", "https://169.254.169.254/latest/meta-data/", "https://127.0.0.1:8080", "https://[::1]/",
		"https://10.0.0.5", "https://[fd12::1]", "https://100.64.1.1", "https://[::ffff:169.254.169.254]", "ftp://vetting.example",
		"vetting.example", "https://vetting.example/\u202e"} {
		for name, e := range map[string]*env{"strict": strict, "dev": dev} {
			if name == "dev" && strings.HasPrefix(u, "https://127.0.0.1") || name == "dev" && u == "https://[::1]/" {
				continue
			}
			r := e.call(domain.RoleAdmin, "POST", "/api/v1/partners", map[string]any{"orgName": "Beacon", "baseUrl": u})
			if r.status != 400 || problemField(t, r) != "baseUrl" {
				t.Fatalf("%s %q: %d %s", name, u, r.status, r.body)
			}
		}
	}
	if n := strict.count(`SELECT count(*) FROM partner_sites`) + dev.count(`SELECT count(*) FROM partner_sites`); n != 0 {
		t.Fatalf("%d sites recorded", n)
	}
	dev.must(201, domain.RoleAdmin, "POST", "/api/v1/partners", map[string]any{"orgName": "Local", "baseUrl": "http://127.0.0.1:8081"})
	strict.must(201, domain.RoleAdmin, "POST", "/api/v1/partners", map[string]any{"orgName": "Beacon", "baseUrl": "https://vetting.example/signet/"})
}

// However a partner cannot be reached (nothing listens, its name does not resolve, TLS fails, its name
// resolves to an address not allowed), the caller gets one answer, which tells it nothing of the cause.
func TestUnreachablePartnerHasOneWording(t *testing.T) {
	t.Parallel()
	strict := newEnv(t, withoutLoopbackPartners())
	dev := newEnv(t)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	tlsSrv := httptest.NewTLSServer(nil) // a certificate nobody trusts
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(nil)
	t.Cleanup(plain.Close)
	_, plainPort, _ := net.SplitHostPort(strings.TrimPrefix(plain.URL, "http://"))
	var answers []string
	for _, tc := range []struct {
		e    *env
		name string
		url  string
	}{
		{dev, "refused", "http://" + closedAddr},
		{dev, "tls", tlsSrv.URL},
		{dev, "dns", "https://nosuch-partner.invalid"},
		{strict, "resolves to loopback", "https://localhost:" + plainPort},
	} {
		site, _ := trust(tc.e, tc.url, "Partner "+tc.name)
		tc.e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+site+"/credentials", map[string]any{"name": "theirs", "secret": "sap_abcdefgh_x"})
		person := tc.e.createPerson("Jane", "Davies", "1985-04-12")
		r := tc.e.call(domain.RoleCaseWorker, "POST", "/api/v1/persons/"+person+"/verifications", map[string]any{"siteId": site, "reason": "x"})
		if r.status != 502 {
			t.Fatalf("%s: %d %s", tc.name, r.status, r.body)
		}
		p := r.json(t)
		answers = append(answers, fmt.Sprint(p["type"], p["title"], p["detail"]))
	}
	for i, a := range answers[1:] {
		if a != answers[0] {
			t.Fatalf("unreachable partners answered differently:\n%s\n%s", answers[0], a)
		}
		_ = i
	}
	if !strings.Contains(answers[0], partners.Unreachable) {
		t.Fatalf("answer %s", answers[0])
	}
}

// The three partner endpoints given NUL, a bidirectional override, a zero-width character or a
// megabyte in each string field, and dates outside the calendar or not in it: never a 5xx, every refusal
// names its field, nothing changes, and each call is in the audit log (or, without a valid key, counted
// against its address) with the status answered.
func TestPartnerEndpointsBadInputSweep(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	ref := e.delegate(site, "new", "SC")
	e.clear(e.createPerson("Jane", "Davies", "1985-04-12"), "SC")
	from, to := validity(-30, 5)
	bad := map[string]string{"NUL": "Jane\x00Davies", "bidi override": "Jane\u202eseivaD", "zero width": "Ja\u200bne",
		"1 MB": strings.Repeat("J", 1_000_000)}
	badDates := []string{"0001-01-01", "9999-12-31", "2026-02-30"}
	type call struct {
		endpoint, field string
		body            map[string]any
	}
	var calls []call
	lookup := map[string]any{"firstName": "Jane", "lastName": "Davies", "dob": "1985-04-12", "reason": "Site access"}
	ret := map[string]any{"caseRef": ref, "outcome": "cleared", "clearanceLevel": "SC", "validFrom": from, "validTo": to,
		"partnerCaseId": "BA-1"}
	with := func(base map[string]any, field, v string) map[string]any {
		m := map[string]any{}
		for k, x := range base {
			m[k] = x
		}
		m[field] = v
		return m
	}
	for _, f := range []string{"firstName", "lastName", "reason"} {
		for _, v := range bad {
			calls = append(calls, call{"lookup", f, with(lookup, f, v)})
		}
	}
	for _, v := range badDates {
		calls = append(calls, call{"lookup", "dob", with(lookup, "dob", v)})
	}
	for _, f := range []string{"caseRef", "outcome", "clearanceLevel", "partnerCaseId"} {
		for _, v := range bad {
			calls = append(calls, call{"return", f, with(ret, f, v)})
		}
	}
	for _, f := range []string{"validFrom", "validTo"} {
		for _, v := range badDates {
			calls = append(calls, call{"return", f, with(ret, f, v)})
		}
	}
	state := func() string {
		return fmt.Sprint(e.count(`SELECT count(*) FROM clearances`), e.count(`SELECT count(*) FROM partner_returns`),
			e.count(`SELECT count(*) FROM disclosures`), e.count(`SELECT count(*) FROM vetting_cases WHERE status = 'with_partner'`))
	}
	before := state()
	for _, c := range calls {
		name := fmt.Sprintf("%s %s %.12q", c.endpoint, c.field, fmt.Sprint(c.body[c.field]))
		entries := e.count(`SELECT count(*) FROM audit_log WHERE action = $1`, "external."+c.endpoint)
		r := e.partnerCall(key, "POST", "/api/external/vetting/"+c.endpoint, c.body)
		if r.status >= 500 || r.status < 400 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		if f := problemField(t, r); f != c.field {
			t.Fatalf("%s: the refusal names %q: %.300s", name, f, r.body)
		}
		if n := e.count(`SELECT count(*) FROM audit_log WHERE action = $1`, "external."+c.endpoint); n != entries+1 {
			t.Fatalf("%s: %d audit entries", name, n-entries)
		}
		if a := e.lastExternalAudit(c.endpoint); a["status"] != float64(r.status) || a["partnerOrg"] != "Beacon Aerospace" {
			t.Fatalf("%s: audit entry %v", name, a)
		}
	}
	if after := state(); after != before {
		t.Fatalf("bad input changed the record: %s -> %s", before, after)
	}
	// /whoami has no body: its one string is the key itself. Sent straight to the handler, as a proxy
	// could pass it on.
	for name, v := range bad {
		failures := e.authFailures()
		req := httptest.NewRequest("GET", "/api/external/vetting/whoami", nil)
		req.Header["Authorization"] = []string{"Bearer " + key[:13] + v}
		w := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(w, req)
		if w.Code != 401 {
			t.Fatalf("whoami with %s: %d %s", name, w.Code, w.Body)
		}
		if e.authFailures() != failures+1 {
			t.Fatalf("whoami with %s: not counted", name)
		}
	}
}

// panicky is a Temporal client whose every call panics (its embedded interface is nil).
type panicky struct{ client.Client }

// A panic inside an external call is answered 500 and still leaves the call's audit entry.
func TestExternalPanicIsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	ref := e.delegate(site, "new", "SC")
	from, to := validity(-30, 5)
	body, _ := json.Marshal(map[string]any{"caseRef": ref, "outcome": "cleared", "clearanceLevel": "SC", "validFrom": from,
		"validTo": to, "partnerCaseId": "BA-1"})
	real := e.srv.Temporal
	e.srv.Temporal = panicky{}
	req := httptest.NewRequest("POST", "/api/external/vetting/return", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.RemoteAddr = "203.0.113.9:4711"
	w := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(w, req)
	e.srv.Temporal = real
	if w.Code != 500 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
		t.Fatalf("a panicking return: %d %s", w.Code, w.Body)
	}
	a := e.lastExternalAudit("return")
	if a["status"] != float64(500) || a["outcome"] != "error" || a["callerIp"] != "203.0.113.9" || a["partnerOrg"] != "Beacon Aerospace" {
		t.Fatalf("audit entry of the panicking return: %v", a)
	}
	if c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil); c["status"] != "with_partner" {
		t.Fatalf("case after a panicking return: %v", c["status"])
	}
}
