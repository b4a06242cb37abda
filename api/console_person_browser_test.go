package api_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// openPerson goes to a person's page and waits until it shows them. Just signed in, it waits for the
// work queue first: the page asked for before it.
func (p *page) openPerson(id, name string) {
	p.t.Helper()
	if p.has("#sign-out") && !p.has("#person-page") {
		p.see("h1", "Vetting cases")
	}
	p.goTo("#/persons/" + id)
	p.see("#person-page h1", name)
}

// fieldError waits until the field sel is marked invalid with a visible message that says text.
func (p *page) fieldError(sel, text string) {
	p.t.Helper()
	p.waitFor(sel+" marked invalid with "+js(text), `(() => { const el = document.querySelector(`+js(sel)+`);
		const msg = el && document.getElementById(el.getAttribute("aria-describedby") || "");
		return !!el && el.getAttribute("aria-invalid") === "true" && !!msg && msg.checkVisibility() && msg.innerText.includes(`+js(text)+`); })()`)
}

// A case worker finds a person in the persons list and edits them at the console. A mobile the API refuses is shown beside
// the mobile field and changes nothing; then a new e-mail, a supplier and a site are saved, and the page
// names the supplier and the site. They record a disclosure made by letter (a double click records it
// once) and an SMS opt-out, each listed in words. axe-core finds no serious violation on the page.
func TestConsolePersonBrowserEditsDisclosesAndRecordsConsent(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	person := e.createPerson("Mary", "Jackson", "1981-04-09")
	supplier := e.must(201, domain.RoleAdmin, "POST", "/api/v1/suppliers", map[string]any{"name": "Orbital Catering", "tier": 2})["id"].(string)
	site := e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": "HAM", "name": "Hampton Yard"})["id"].(string)
	// A partner looked them up earlier: the lookup is a disclosure to the partner, named.
	partner := uuid.MustParse(e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners",
		map[string]any{"orgName": "Beacon Aerospace", "baseUrl": "https://beacon.invalid"})["id"].(string))
	if err := e.st.RecordDisclosures(context.Background(), store.DisclosureBatch{Disclosures: []domain.Disclosure{{
		PersonID: uuid.MustParse(person), Source: "partner_lookup", SiteID: &partner, Recipient: "Beacon Aerospace", Reason: "Site induction",
		Disclosed: map[string]any{"subject": map[string]any{"firstName": "Mary", "lastName": "Jackson", "active": true},
			"matches": []any{map[string]any{"clearanceLevel": "SC", "validFrom": "2024-01-01", "validTo": "2034-01-01"}}}}},
		Audit: store.AuditEntry{Action: "partner.lookup", EntityType: "person", EntityID: person}}); err != nil {
		t.Fatal(err)
	}

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.see("h1", "Vetting cases")
	p.click(`#nav a[href="#/persons"]`)
	p.see("#persons", "Jackson, Mary", "9 Apr 1981")
	p.accessible("the persons list")
	p.click(`#persons a[href="#/persons/` + person + `"]`)
	p.see("#person-page h1", "Mary Jackson")
	p.see("#person-supplier", "—")
	p.see("#disclosures", "Beacon Aerospace", "Partner lookup", "Site induction", "SC valid 1 Jan 2024 to 1 Jan 2034")
	p.see("#person-consents", "Nothing recorded: may not be sent")
	p.accessible("the person page")

	// A mobile the API refuses: its message beside the field, nothing changed.
	p.click("#person-edit-details summary")
	p.fill(`#person-edit input[name="mobile"]`, "12345")
	p.fill(`#person-edit input[name="email"]`, "mary@example.org")
	p.clickButton("Save changes")
	p.fieldError(`#person-edit input[name="mobile"]`, "must be a valid UK mobile number")
	p.accessible("the edit form with an error")
	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/persons/"+person, nil)
	if got["mobile"] != "+447400123456" || got["email"] != nil && got["email"] != "" {
		t.Fatalf("a refused edit changed the person: %v", got)
	}

	// Corrected, with a supplier and a site chosen by name: saved.
	p.fill(`#person-edit input[name="mobile"]`, "07400 654321")
	p.chooseByText(`#person-edit select[name="supplierId"]`, "Orbital Catering")
	p.chooseByText(`#person-edit select[name="locationId"]`, "Hampton Yard")
	p.clickButton("Save changes")
	p.see("#person-notice", "Saved.")
	p.see("#person-supplier", "Orbital Catering")
	p.see("#person-site", "Hampton Yard")
	p.see("#person-email", "mary@example.org")
	got = e.must(200, domain.RoleAuditor, "GET", "/api/v1/persons/"+person, nil)
	if got["email"] != "mary@example.org" || got["mobile"] != "+447400654321" || got["supplierId"] != supplier || got["locationId"] != site {
		t.Fatalf("after Save the person is %v", got)
	}

	// A disclosure made by letter, recorded once though its button is clicked twice.
	p.fill(`#disclosure-form input[name="recipient"]`, "Harbour Police")
	p.fill(`#disclosure-form input[name="reason"]`, "Court order 2026/114")
	p.fill(`#disclosure-form textarea[name="disclosed"]`, "Name and current site")
	eval[bool](p, `(() => { const b = document.querySelector("#disclosure-form button[type=submit]"); b.click(); b.click(); return true; })()`)
	p.see("#person-notice", "Disclosure recorded.")
	p.see("#disclosures", "Harbour Police", "Recorded by hand", "Court order 2026/114", "Name and current site")
	if n := e.count(`SELECT count(*) FROM disclosures WHERE person_id = $1 AND recipient = 'Harbour Police'`, person); n != 1 {
		t.Fatalf("%d disclosures stored after a double click, want 1", n)
	}

	// An SMS opt-out, shown in words.
	p.setValue(`#consent-form select[name="channel"]`, "sms")
	p.setValue(`#consent-form select[name="status"]`, "opted_out")
	p.setValue(`#consent-form select[name="method"]`, "verbal")
	p.clickButton("Record")
	p.see("#person-notice", "Recorded.")
	p.see("#consents", "SMS", "+447400654321", "Opted out", "Spoken")
	var consents []map[string]any
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/persons/"+person+"/consents"), &consents)
	if len(consents) != 1 || consents[0]["channel"] != "sms" || consents[0]["status"] != "opted_out" {
		t.Fatalf("consents after Record: %v", consents)
	}
	p.accessible("the person page after the changes")

	// The sensitive details, revealed (audited), are changed in place.
	p.clickButton("Show (audited)")
	p.see("#sensitive", "1 Test Street", "AB123456C")
	p.fill(`#person-sensitive-edit textarea[name="address"]`, "2 Dock Road")
	p.clickButton("Save sensitive details")
	p.see("#person-notice", "Saved.")
	p.seeButton("Show (audited)")
	if a := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+person+"?reveal=sensitive", nil)["address"]; a != "2 Dock Road" {
		t.Fatalf("the address after Save is %v", a)
	}
}

// chooseByText picks the option of the select sel whose text is text.
func (p *page) chooseByText(sel, text string) {
	p.t.Helper()
	p.see(sel)
	if !eval[bool](p, `(() => { const s = document.querySelector(`+js(sel)+`);
		const o = [...s.options].find((o) => o.text === `+js(text)+`); if (!o) return false;
		s.value = o.value; s.dispatchEvent(new Event("change", { bubbles: true })); return true; })()`) {
		p.t.Fatalf("%s offers no %q\n%s", sel, text, p.shows())
	}
}

// A grant revoked: a security controller on a person's page revokes their active lab access with a
// reason. The grant reads Revoked with the reason, and the badge system (the CredoID simulator) no longer
// holds the lab on the person's record. The page's live door events stream ends when the page is left,
// and when the server stops (so that the test's server closes without waiting on it).
func TestConsolePersonBrowserRevokesAGrant(t *testing.T) {
	p := browse(t)
	e := newAccessEnv(t)
	e.ready()
	person, _ := e.clearedPerson("Dorothy")
	now := time.Now().UTC()
	r := e.requestGrant(domain.RoleCaseWorker, person, now.Add(-time.Minute), now.Add(24*time.Hour), nil)
	if r.status != http.StatusCreated {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	grant := r.json(t)["id"].(string)
	labOnSim := func() bool {
		for _, u := range e.sim.UsersByExternalID(access.ExternalID(uuid.MustParse(person))) {
			for _, l := range u.AccessLevels {
				if strconv.Itoa(l.ID) == e.lab {
					return true
				}
			}
		}
		return false
	}
	waitFor(t, 15*time.Second, "the lab never reached the person's record in the simulator", labOnSim)

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleSecurityController], "Test security_controller")
	p.openPerson(person, "Dorothy Tester")
	row := "#grant-" + grant
	p.see(row, "Active", "lab work")
	if p.has("#person-edit") || p.has("#disclosure-form") {
		t.Fatalf("a security controller, who may not change a person, is offered the forms to\n%s", p.shows())
	}
	waitFor(t, stepTimeout, "the page's door events stream never opened", func() bool { return e.srv.OpenStreams() == 1 })
	p.accessible("the person page with door access")

	p.fill(row+` input[name="reason"]`, "Left the project")
	p.click(row + ` button[type="submit"]`)
	p.see("#person-notice", "Access revoked.")
	p.see(row+" .grant-status", "Revoked")
	p.see(row, "Left the project")
	if p.has(row + " form") {
		t.Fatalf("a revoked grant is offered for revoking again\n%s", p.shows())
	}
	if g := e.grant(grant); g["status"] != "revoked" || g["endReason"] != "Left the project" {
		t.Fatalf("the grant after Revoke: %v", g)
	}
	waitFor(t, 15*time.Second, "the simulator still holds the lab on the person's record after the revoke", func() bool { return !labOnSim() })

	// The stream ends when the page is left: its handler returns, the server serves none.
	waitFor(t, stepTimeout, "the door events stream did not reopen after the page was drawn again", func() bool { return e.srv.OpenStreams() == 1 })
	p.goTo("#/cases")
	p.see("h1", "Vetting cases")
	waitFor(t, stepTimeout, "the door events stream still open after the page was left", func() bool { return e.srv.OpenStreams() == 0 })
	// And when the server stops, though the page still follows it.
	p.openPerson(person, "Dorothy Tester")
	waitFor(t, stepTimeout, "the door events stream never reopened", func() bool { return e.srv.OpenStreams() == 1 })
	e.srv.EndStreams()
	waitFor(t, stepTimeout, "the door events stream still open after the server stopped streams", func() bool { return e.srv.OpenStreams() == 0 })
}
