package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
)

// pair is two organisations' SignetAssure, Acme and Beacon, each with its own database, worker and API
// on loopback, that have issued keys to each other.
type pair struct {
	acme, beacon *env
	// beaconAtAcme is Acme's record of the Beacon site (and acmeAtBeacon the reverse).
	beaconAtAcme, acmeAtBeacon string
	// keyForBeacon is the key Acme issued Beacon (Beacon stores it as its credential for Acme).
	keyForBeacon, keyForAcme string
}

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{acme: newEnv(t), beacon: newEnv(t)}
	p.acme.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Acme Defence Ltd", "issuingAuthority": "Acme Defence Ltd"})
	p.beacon.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Beacon Aerospace", "issuingAuthority": "Beacon Aerospace"})
	p.beaconAtAcme, p.keyForBeacon = trust(p.acme, p.beacon.url, "Beacon Aerospace")
	p.acmeAtBeacon, p.keyForAcme = trust(p.beacon, p.acme.url, "Acme Defence Ltd")
	p.beacon.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.acmeAtBeacon+"/credentials", map[string]any{"name": "from Acme", "secret": p.keyForBeacon})
	p.acme.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.beaconAtAcme+"/credentials", map[string]any{"name": "from Beacon", "secret": p.keyForAcme})
	return p
}

// trust records a partner site on e and issues it a key with both scopes.
func trust(e *env, baseURL, org string) (siteID, key string) {
	site := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners", map[string]any{"orgName": org, "baseUrl": baseURL})
	k := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+site["id"].(string)+"/keys",
		map[string]any{"name": "production", "scopes": []string{"vetting:read", "vetting:return"}})
	return site["id"].(string), k["key"].(string)
}

// clear drives a new case on e for the person to cleared at level, valid from 90 days ago for three
// years (dates relative to the clock, so the clearance is unexpired and not yet due for renewal).
func (e *env) clear(person, level string) string {
	e.t.Helper()
	from := time.Now().UTC().AddDate(0, 0, -90)
	return e.clearFor(person, level, from.Format(time.DateOnly), from.AddDate(3, 0, 0).Format(time.DateOnly))
}

// clearFor drives a new case on e for the person to cleared at level, valid from..to.
func (e *env) clearFor(person, level, from, to string) string {
	e.t.Helper()
	ref := e.openCase(person, "new", level)
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{
		"outcome": "cleared", "level": level, "validFrom": from, "validTo": to})
	return ref
}

// validity is a validity from days after today for years, as the API writes dates.
func validity(days, years int) (from, to string) {
	f := time.Now().UTC().AddDate(0, 0, days)
	return f.Format(time.DateOnly), f.AddDate(years, 0, 0).Format(time.DateOnly)
}

func TestSharingBetweenTwoOrganisations(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	acme, beacon := p.acme, p.beacon

	// Lookup: Beacon verifies its supplier's person against Acme, who holds her SC clearance.
	janeAtAcme := acme.createPerson("Jane", "Davies", "1985-04-12")
	clearedRef := acme.clear(janeAtAcme, "SC")
	janeAtBeacon := beacon.createPerson("JANE", "  Davies ", "1985-04-12")
	v := beacon.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons/"+janeAtBeacon+"/verifications",
		map[string]any{"siteId": p.acmeAtBeacon, "reason": "Pre-site access verification"})
	if v["found"] != true {
		t.Fatalf("verification: %v", v)
	}
	var answer partners.LookupAnswer
	raw, _ := json.Marshal(v["answer"])
	if err := json.Unmarshal(raw, &answer); err != nil {
		t.Fatal(err)
	}
	if len(answer.Matches) != 1 || answer.Matches[0].ClearanceLevel != "SC" || answer.Matches[0].RenewalDue ||
		answer.Matches[0].IssuingAuthority != "Acme Defence Ltd" || answer.Matches[0].Expired || answer.PartnerOrg != "Beacon Aerospace" ||
		answer.Subject == nil || answer.Subject.LastName != "Davies" {
		t.Fatalf("lookup answer: %s", raw)
	}
	for _, forbidden := range []string{"address", "niNumber", "lineManager", "email", "mobile", "personId", "Test Street", "AB123456C", janeAtAcme, clearedRef} {
		if strings.Contains(string(raw), forbidden) {
			t.Fatalf("the lookup answer discloses %q: %s", forbidden, raw)
		}
	}
	var ds []map[string]any
	acme.decode(acme.must200List(domain.RoleCaseWorker, "/api/v1/persons/"+janeAtAcme+"/disclosures"), &ds)
	if len(ds) != 1 || ds[0]["recipient"] != "Beacon Aerospace" || ds[0]["reason"] != "Pre-site access verification" || ds[0]["source"] != "partner_lookup" {
		t.Fatalf("disclosures at Acme: %v", ds)
	}
	acme.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons/"+janeAtAcme+"/disclosures",
		map[string]any{"recipient": "MOD Site Security", "reason": "Site pass", "disclosed": "SC clearance held"})
	acme.decode(acme.must200List(domain.RoleAuditor, "/api/v1/persons/"+janeAtAcme+"/disclosures"), &ds)
	if len(ds) != 2 {
		t.Fatalf("partner and manual disclosures in one list: %v", ds)
	}

	// Delegation: Acme delegates a case to Beacon; Beacon runs the check for Acme and clears it; the
	// outcome comes back to Acme's case and the clearance lands on Acme's person.
	amir := acme.createPerson("Amir", "Khan", "1979-02-03")
	ref := acme.openCase(amir, "new", "SC")
	delegated := acme.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/delegation", map[string]any{
		"siteId": p.beaconAtAcme, "dueDate": time.Now().AddDate(0, 0, 30).Format(time.DateOnly)})
	if delegated["status"] != "with_partner" || delegated["delegatedSiteId"] != p.beaconAtAcme {
		t.Fatalf("delegated case: %v", delegated)
	}
	amirAtBeacon := beacon.createPerson("Amir", "Khan", "1979-02-03")
	forAcme := beacon.must(201, domain.RoleCaseWorker, "POST", "/api/v1/cases", map[string]any{
		"personId": amirAtBeacon, "type": "new", "level": "SC", "forSiteId": p.acmeAtBeacon, "forCaseRef": ref})["caseRef"].(string)
	officer := beacon.users[domain.RoleVettingOfficer].ID.String()
	beacon.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+forAcme+"/owner", map[string]any{"ownerId": officer})
	from, to := validity(-30, 5)
	beacon.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+forAcme+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": from, "validTo": to})
	acmeCase := acme.waitStatus(ref, "cleared")
	if kinds := strings.Join(timelineKinds(acmeCase), ","); !strings.HasSuffix(kinds, "delegated,outcome") {
		t.Fatalf("Acme's timeline: %s", kinds)
	}
	var cls []map[string]any
	acme.decode(acme.must200List(domain.RoleCaseWorker, "/api/v1/persons/"+amir+"/clearances"), &cls)
	if len(cls) != 1 || cls[0]["level"] != "SC" || cls[0]["validTo"] != to || cls[0]["sourceCaseRef"] != ref {
		t.Fatalf("mirrored clearance: %v", cls)
	}
	beaconCase := beacon.waitKind(forAcme, "returned_to_partner")
	_ = beaconCase

	// A repeat of the return (same partnerCaseId) gets the first answer and changes nothing.
	client := partners.New(acme.url, p.keyForBeacon, partners.HTTPClient(true))
	fromDate, _ := domain.ParseDate(from)
	toDate, _ := domain.ParseDate(to)
	again, err := client.Return(context.Background(), partners.ReturnRequest{CaseRef: ref, Outcome: "cleared",
		ClearanceLevel: "SC", ValidFrom: fromDate, ValidTo: toDate, PartnerCaseID: forAcme})
	if err != nil || again.CaseRef != ref || again.Status != "cleared" {
		t.Fatalf("repeated return: %+v %v", again, err)
	}
	if n := acme.count(`SELECT count(*) FROM clearances WHERE person_id = $1`, amir); n != 1 {
		t.Fatalf("a repeated return made %d clearances", n)
	}

	// Both sides audited the calls.
	if n := acme.count(`SELECT count(*) FROM audit_log WHERE action = 'external.lookup' AND detail->>'partnerOrg' = 'Beacon Aerospace'`); n != 1 {
		t.Fatalf("Acme audited %d lookups", n)
	}
	if n := acme.count(`SELECT count(*) FROM audit_log WHERE action = 'external.return'`); n != 2 {
		t.Fatalf("Acme audited %d returns, want the first and the repeat", n)
	}
	if n := beacon.count(`SELECT count(*) FROM audit_log WHERE action = 'partner.verify'`); n != 1 {
		t.Fatalf("Beacon audited %d verifications", n)
	}

	// No secret reaches either side's logs or answers.
	for _, e := range []*env{acme, beacon} {
		logs := e.logs.String()
		for _, secret := range []string{p.keyForBeacon, p.keyForAcme} {
			if strings.Contains(logs, secret[13:]) {
				t.Fatal("a partner key's secret is in the logs")
			}
		}
	}
	site := acme.must(200, domain.RoleAdmin, "GET", "/api/v1/partners/"+p.beaconAtAcme, nil)
	if raw, _ := json.Marshal(site); strings.Contains(string(raw), p.keyForAcme[13:]) || strings.Contains(string(raw), p.keyForBeacon[13:]) {
		t.Fatal("the partner site's answer shows a secret")
	}
	if n := acme.count(`SELECT count(*) FROM partner_credentials WHERE position($1::bytea in sealed) > 0`, []byte(p.keyForAcme)); n != 0 {
		t.Fatal("a partner credential is stored in clear")
	}

	// Revocation cuts both ways: Acme revokes Beacon; Beacon's key stops working at Acme, and Acme can no
	// longer call Beacon with the credential Beacon issued it.
	acme.must(200, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.beaconAtAcme+"/revoke", nil)
	if _, err := client.WhoAmI(context.Background()); !isStatus(err, 401) {
		t.Fatalf("a revoked site's key: %v", err)
	}
	r := acme.call(domain.RoleCaseWorker, "POST", "/api/v1/persons/"+amir+"/verifications", map[string]any{"siteId": p.beaconAtAcme, "reason": "x"})
	if r.status != 400 {
		t.Fatalf("calling a revoked site: %d %s", r.status, r.body)
	}
	if n := acme.count(`SELECT count(*) FROM partner_keys WHERE site_id = $1 AND revoked_at IS NULL`, p.beaconAtAcme); n != 0 {
		t.Fatal("a key outlived its site")
	}
	if n := acme.count(`SELECT count(*) FROM partner_credentials WHERE site_id = $1 AND active`, p.beaconAtAcme); n != 0 {
		t.Fatal("a credential outlived its site")
	}
}

func isStatus(err error, status int) bool {
	var pe *partners.Error
	return errorsAs(err, &pe) && pe.Status == status
}

// waitStatus waits until the case has the status and returns it.
func (e *env) waitStatus(ref, status string) map[string]any {
	e.t.Helper()
	return e.waitCase(ref, func(c map[string]any) bool { return c["status"] == status })
}

// waitKind waits until the case's timeline has an entry of kind.
func (e *env) waitKind(ref, kind string) map[string]any {
	e.t.Helper()
	return e.waitCase(ref, func(c map[string]any) bool {
		for _, k := range timelineKinds(c) {
			if k == kind {
				return true
			}
		}
		return false
	})
}

func (e *env) waitCase(ref string, ok func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.call(domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
		if r.status == 200 && ok(r.json(e.t)) {
			return r.json(e.t)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("case %s never got there: %s", ref, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
