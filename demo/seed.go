package demo

import (
	"context"
	"fmt"
	"time"

	"github.com/signetassure/signetassure/domain"
)

type idResp struct {
	ID string `json:"id"`
}

type caseResp struct {
	CaseRef string `json:"caseRef"`
}

// Seed loads demo data through the API at base: the organisation, three sites, four suppliers, twenty
// persons and cases in every state a case rests in, with clearances some of which are near expiry. It
// does nothing when persons exist already, so a restart keeps what is there.
func Seed(ctx context.Context, base string, us []User, now time.Time) error {
	admin := client{base, TokenFor(us, domain.RoleAdmin)}
	worker := client{base, TokenFor(us, domain.RoleCaseWorker)}
	officer := client{base, TokenFor(us, domain.RoleVettingOfficer)}

	var existing struct {
		Total int `json:"total"`
	}
	if err := worker.call(ctx, "GET", "/api/v1/persons?limit=1", nil, &existing); err != nil {
		return err
	}
	if existing.Total > 0 {
		return nil
	}
	persons, err := seedPeople(ctx, admin, worker, officer)
	if err != nil {
		return err
	}
	return seedCases(ctx, worker, officer, persons, now)
}

// seedPeople makes the organisation, its sites and suppliers, and the persons, with WhatsApp consent where
// they gave it; it returns the persons' ids.
func seedPeople(ctx context.Context, admin, worker, officer client) ([]string, error) {
	if err := admin.call(ctx, "PUT", "/api/v1/organisation", map[string]any{
		"name": "Acme Defence Ltd", "issuingAuthority": "Acme Defence Ltd", "timeZone": "Europe/London"}, nil); err != nil {
		return nil, err
	}
	var sites []string
	for _, l := range [][2]string{{"FAR", "Farnborough Works"}, {"BRS", "Bristol Filton"}, {"BAR", "Barrow Yard"}} {
		var r idResp
		if err := admin.call(ctx, "POST", "/api/v1/locations", map[string]any{"code": l[0], "name": l[1]}, &r); err != nil {
			return nil, err
		}
		sites = append(sites, r.ID)
	}
	// Two primes, each with a sub-supplier one tier below it; each works at a site, under a contract that
	// requires SC there.
	var suppliers []string
	for i, name := range []string{"Beacon Aerospace", "Northgate Systems", "Kestrel Fabrication", "Harbour Secure Logistics"} {
		body := map[string]any{"name": name, "tier": 1 + i/2, "siteIds": []string{sites[i%len(sites)]},
			"contacts": []map[string]any{{"name": "Security desk", "role": "Security manager", "phone": "020 7946 00" + fmt.Sprint(10+i)}},
			"contracts": []map[string]any{{"reference": fmt.Sprintf("ACME-C-%03d", 100+i), "title": "Site services", "startsOn": "2026-01-01",
				"sites": []map[string]any{{"locationId": sites[i%len(sites)], "requiredLevel": "SC"}}}}}
		if i >= 2 {
			body["parentId"] = suppliers[i-2]
		}
		var r idResp
		if err := admin.call(ctx, "POST", "/api/v1/suppliers", body, &r); err != nil {
			return nil, err
		}
		suppliers = append(suppliers, r.ID)
	}

	names := [][2]string{{"Jane", "Davies"}, {"Amir", "Khan"}, {"Siobhan", "O'Neill"}, {"Tomasz", "Nowak"},
		{"Grace", "Okafor"}, {"Owen", "Price"}, {"Priya", "Shah"}, {"Callum", "MacLeod"}, {"Zoë", "Fontaine"},
		{"Rhys", "Evans"}, {"Hannah", "Clarke"}, {"Kwame", "Mensah"}, {"Isla", "Fraser"}, {"Daniel", "Hughes"},
		{"Mei", "Chen"}, {"Liam", "Byrne"}, {"Fatima", "Rahman"}, {"George", "Whitfield"}, {"Chloé", "Martin"},
		{"Ewan", "Stewart"}}
	var persons []string
	for i, n := range names {
		body := map[string]any{
			"firstName": n[0], "lastName": n[1],
			"dateOfBirth":    fmt.Sprintf("%d-%02d-%02d", 1965+i*2, 1+i%12, 1+i%27),
			"email":          fmt.Sprintf("person%02d@demo.invalid", i+1),
			"mobile":         fmt.Sprintf("+4474001234%02d", i+1),
			"employeeNumber": fmt.Sprintf("E%05d", 1000+i),
			"locationId":     sites[i%len(sites)],
			"lineManager":    "Line Manager " + string(rune('A'+i%5)),
			"address":        fmt.Sprintf("%d High Street, Farnborough GU14 %dAB", 10+i, i%9+1),
		}
		if i%3 != 0 {
			body["supplierId"] = suppliers[i%len(suppliers)]
		}
		body["preferredChannel"] = []string{"email", "sms", "whatsapp"}[i%3]
		var r idResp
		if err := worker.call(ctx, "POST", "/api/v1/persons", body, &r); err != nil {
			return nil, err
		}
		persons = append(persons, r.ID)
		// WhatsApp only with consent, recorded with how it was given; one person preferring WhatsApp never
		// gave it, and is told by e-mail instead.
		if i%3 == 2 && i != 2 {
			if err := officer.call(ctx, "PUT", "/api/v1/persons/"+r.ID+"/consents/whatsapp", map[string]any{
				"status": "opted_in", "method": "written", "evidence": fmt.Sprintf("Onboarding form OB-%04d", 100+i)}, nil); err != nil {
				return nil, err
			}
		}
	}

	return persons, nil
}

// seedCases opens a case for each of the first persons and drives it to the state it rests in.
func seedCases(ctx context.Context, worker, officer client, persons []string, now time.Time) error {
	var me struct {
		ID string `json:"id"`
	}
	if err := officer.call(ctx, "GET", "/api/v1/me", nil, &me); err != nil {
		return err
	}
	date := func(t time.Time) string { return t.Format(time.DateOnly) }
	// Each plan drives one case to the state it rests in.
	type plan struct {
		level, typ string
		steps      []func(ref string) error
	}
	assign := func(ref string) error {
		return officer.call(ctx, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": me.ID}, nil)
	}
	note := func(text string) func(string) error {
		return func(ref string) error {
			return worker.call(ctx, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": text}, nil)
		}
	}
	askInfo := func(ref string) error {
		return officer.call(ctx, "POST", "/api/v1/cases/"+ref+"/information-requests", map[string]any{
			"description": "Five-year address history and referee details", "dueDate": date(now.AddDate(0, 0, 10))}, nil)
	}
	decide := func(outcome, level string, from, to time.Time) func(string) error {
		return func(ref string) error {
			body := map[string]any{"outcome": outcome}
			if outcome == "cleared" || outcome == "with_advisory" {
				body["level"], body["validFrom"], body["validTo"] = level, date(from), date(to)
			}
			return officer.call(ctx, "POST", "/api/v1/cases/"+ref+"/outcome", body, nil)
		}
	}
	// With an identity provider configured, a case waits for the subject's identity check: the subject
	// passes it (through the provider's capture page), once with a date of birth that differs from the
	// record; the first two cases still wait for theirs.
	identified := func(ref string) error { return identify(ctx, worker, ref, false) }
	mismatched := func(ref string) error { return identify(ctx, worker, ref, true) }
	plans := []plan{
		{"SC", "new", nil},
		{"CTC", "new", nil},
		{"DV", "new", []func(string) error{mismatched, assign}},
		{"SC", "upgrade", []func(string) error{identified, assign, note("Referees contacted")}},
		{"SC", "new", []func(string) error{identified, assign, askInfo}},
		{"DV", "renewal", []func(string) error{identified, assign, askInfo}},
		{"SC", "new", []func(string) error{identified, assign, decide("cleared", "SC", now.AddDate(0, 0, -10), now.AddDate(10, 0, -10))}},
		{"CTC", "new", []func(string) error{identified, assign, decide("cleared", "CTC", now.AddDate(0, -1, 0), now.AddDate(3, -1, 0))}},
		// Clearances near expiry: an outcome may be dated at most a year back (domain.MaxBackdateYears), so
		// these were recorded late, for a short validity.
		{"SC", "renewal", []func(string) error{identified, assign, decide("cleared", "SC", now.AddDate(0, -11, 0), now.AddDate(0, 0, 30))}},
		{"DV", "new", []func(string) error{identified, assign, decide("cleared", "DV", now.AddDate(0, -11, 0), now.AddDate(0, 0, 75))}},
		{"BPSS", "new", []func(string) error{identified, assign, decide("cleared", "BPSS", now.AddDate(0, -11, 0), now.AddDate(0, 0, 150))}},
		{"SC", "new", []func(string) error{identified, assign, decide("with_advisory", "SC", now, now.AddDate(5, 0, 0))}},
		{"SC", "new", []func(string) error{identified, assign, decide("refused", "", now, now)}},
		{"CTC", "new", []func(string) error{decide("withdrawn", "", now, now)}},
		{"eSC", "transfer", []func(string) error{identified, assign}},
		{"BPSS", "aftercare", []func(string) error{identified, note("Change of circumstances reported")}},
	}
	for i, p := range plans {
		var c caseResp
		if err := worker.call(ctx, "POST", "/api/v1/cases", map[string]any{
			"personId": persons[i], "type": p.typ, "level": p.level}, &c); err != nil {
			return err
		}
		for _, step := range p.steps {
			if err := step(c.CaseRef); err != nil {
				return err
			}
		}
	}
	return nil
}
