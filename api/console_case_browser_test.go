package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/sim/signicatsim"
)

// setValue sets the field sel to value as a person choosing it would (a select's option, a date), with
// the input and change events the page listens for.
func (p *page) setValue(sel, value string) {
	p.t.Helper()
	p.see(sel)
	eval[bool](p, `(() => { const el = document.querySelector(`+js(sel)+`); el.value = `+js(value)+`;
		el.dispatchEvent(new Event("input", { bubbles: true })); el.dispatchEvent(new Event("change", { bubbles: true })); return true; })()`)
}

// value is the current value of the field sel.
func (p *page) value(sel string) string {
	p.t.Helper()
	p.see(sel)
	return eval[string](p, `document.querySelector(`+js(sel)+`).value`)
}

// A vetting officer takes an SC upgrade case from opening to cleared at the console. The page follows the
// case as it changes elsewhere (the subject's identity check, an answer recorded by a colleague) without
// being reloaded and without losing what is being typed; the outcome form starts at the case's level (SC,
// not BPSS) with the expiry the SC policy allows, and records nothing until a summary naming the person,
// level and dates is confirmed.
func TestConsoleCaseBrowserClearsAnUpgradeCase(t *testing.T) {
	p := browse(t)
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	person := e.createPerson("Ada", "Lovelace", "1985-12-10")
	today := domain.DateOf(time.Now().UTC())

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleVettingOfficer], "Test vetting_officer")
	p.goTo("#/persons/" + person)
	p.seeButton("Open case")
	p.setValue(`form:has(select[name="type"]) select[name="type"]`, "upgrade")
	p.setValue(`form:has(select[name="type"]) select[name="level"]`, "SC")
	p.clickButton("Open case")
	p.waitFor("the case page", `location.hash.startsWith("#/cases/v_")`)
	ref := strings.TrimPrefix(eval[string](p, `location.hash`), "#/cases/")
	p.see("#case-person", "Ada Lovelace")
	p.see("#case-owner", "—")
	// From here on the page is never loaded again: a reload or navigation would drop this mark.
	eval[bool](p, `(window.stayed = true)`)
	stayed := func() {
		t.Helper()
		if !eval[bool](p, `window.stayed === true && location.hash === `+js("#/cases/"+ref)) {
			t.Fatalf("the case page was reloaded or left\n%s", p.shows())
		}
	}

	// The identity check appears as soon as it exists; the subject completes it at the provider.
	p.see("#identity-check", "Attempt 1", "pending")
	var checks []any
	e.eventually(10*time.Second, func() bool {
		checks = e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)
		return len(checks) == 1 && checks[0].(map[string]any)["captureUrl"] != ""
	}, func() string { return "no capture link" })
	capture(t, checks[0].(map[string]any)["captureUrl"].(string), "accepted", "1985-12-10")
	p.see("#case-status", "With the officer")
	p.see("#identity-check", "accepted")
	stayed()

	p.clickButton("Assign to me")
	p.see("#case-owner", "Test vetting_officer (you)")
	eval[bool](p, `(window.stayed = true)`)

	// A draft note survives the page following a change made elsewhere.
	p.fill(`input[name="text"]`, "draft, not sent")
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": "References checked"})
	p.see("#case-timeline", "References checked", "Test case_worker")
	if v := p.value(`input[name="text"]`); v != "draft, not sent" {
		t.Fatalf("the note being typed holds %q after the page updated", v)
	}

	// An information request shows its text; the answer recorded by a colleague shows without a reload.
	p.fill(`#information-request-form input[name="description"]`, "Your addresses for the last five years")
	p.setValue(`#information-request-form input[name="dueDate"]`, today.AddDays(7).String())
	p.clickButton("Request information")
	p.see("#case-status", "Information requested")
	p.see("#case-timeline", "Request: “Your addresses for the last five years”")
	eval[bool](p, `(window.stayed = true)`)
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/information-received",
		map[string]any{"note": "Five addresses sent by post"})
	p.see("#case-status", "With the officer")
	p.see("#case-timeline", "Answer: “Five addresses sent by post”")
	stayed()

	// The outcome form starts at the case's level and the SC policy's expiry (10 years), not BPSS.
	expiry := today.AddYears(10).String()
	if lv := p.value("#outcome-level"); lv != "SC" {
		t.Fatalf("the outcome form offers level %q first, want the case's SC", lv)
	}
	if from, to := p.value("#outcome-valid-from"), p.value("#outcome-valid-to"); from != today.String() || to != expiry {
		t.Fatalf("the outcome form offers %s to %s, want %s to %s", from, to, today, expiry)
	}
	p.see("#outcome-policy", "SC clearances are valid for at most 10 years")
	p.clickButton("Review outcome")
	p.see("#outcome-summary", "Ada Lovelace", "Cleared", "SC", today.String(), expiry)
	if got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)["status"]; got != "with_officer" {
		t.Fatalf("before Confirm the case is %v: the review recorded it", got)
	}
	// Back returns to the form as it was; Review again, then Confirm, twice over (a double click).
	p.clickButton("Back")
	p.see("#outcome-form")
	if lv := p.value("#outcome-level"); lv != "SC" {
		t.Fatalf("after Back the level is %q", lv)
	}
	// An expiry beyond the policy is refused, the reason shown beside the field it names.
	p.setValue("#outcome-valid-to", today.AddYears(11).String())
	p.clickButton("Review outcome")
	p.see("#outcome-summary", today.AddYears(11).String())
	p.clickButton("Confirm")
	p.waitFor("the expiry marked invalid", `(() => { const el = document.querySelector("#outcome-valid-to");
		const msg = el && document.getElementById(el.getAttribute("aria-describedby") || "");
		return el.getAttribute("aria-invalid") === "true" && !!msg && msg.checkVisibility() && msg.innerText.includes("must be no later than"); })()`)
	p.setValue("#outcome-valid-to", expiry)
	p.clickButton("Review outcome")
	p.see("#outcome-summary", "Ada Lovelace", expiry)
	eval[bool](p, `(() => { const b = document.querySelector("#outcome-confirm-button"); b.click(); b.click(); return true; })()`)
	p.see("#case-status", "Cleared")
	p.see("#case-outcome", "Cleared at SC, valid "+today.String()+" to "+expiry)

	var cls []map[string]any
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/persons/"+person+"/clearances"), &cls)
	if len(cls) != 1 || cls[0]["level"] != "SC" || cls[0]["validFrom"] != today.String() || cls[0]["validTo"] != expiry {
		t.Fatalf("clearances after Confirm: %v, want one SC from %s to %s", cls, today, expiry)
	}
	if n := e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1 AND kind = 'outcome'`, ref); n != 1 {
		t.Fatalf("%d outcomes recorded, want 1", n)
	}
}

// A case with the officer is delegated to a partner site picked by name; the page then names the partner
// and the case is with it.
func TestConsoleCaseBrowserDelegatesToAPartner(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners",
		map[string]any{"orgName": "Beacon Aerospace", "baseUrl": "https://beacon.invalid"})
	person := e.createPerson("Grace", "Hopper", "1906-12-09")
	ref := e.openCase(person, "new", "CTC")
	dueDay := domain.DateOf(time.Now().UTC()).AddDays(20)
	due := dueDay.String()

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.goTo("#/cases/" + ref)
	p.see("#case-person", "Grace Hopper")
	p.see("#delegation-site", "Beacon Aerospace")
	p.see("#case-owner", "—")
	if p.has("#outcome") {
		t.Fatalf("a case worker is offered the outcome form\n%s", p.shows())
	}
	eval[bool](p, `(() => { const s = document.querySelector("#delegation-site");
		s.value = [...s.options].find((o) => o.text === "Beacon Aerospace").value; return true; })()`)
	p.setValue(`#delegation-form input[name="dueDate"]`, due)
	p.clickButton("Delegate")
	p.see("#case-status", "With a partner site")
	p.see("#case-delegated", "Beacon Aerospace", "outcome due "+dueDay.Time().Format("2 Jan 2006"))
	p.see("#case-timeline", "Delegated to Beacon Aerospace")
}

// Dates and times read in the organisation's time zone, not the browser's or UTC: in Kolkata (UTC+5:30,
// so no instant reads the same in both) the case page's timeline and opening date follow it.
func TestConsoleCaseBrowserDatesInTheOrganisationsZone(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	e.must(200, domain.RoleAdmin, "PUT", "/api/v1/organisation", map[string]any{"name": "Org", "issuingAuthority": "Org",
		"timeZone": "Asia/Kolkata"})
	ref := e.openCase(e.createPerson("Indira", "Rao", "1984-02-02"), "new", "SC")
	c := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/"+ref, nil)
	opened, err := time.Parse(time.RFC3339Nano, c["timeline"].([]any)[0].(map[string]any)["at"].(string))
	if err != nil {
		t.Fatal(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	const layout = "2 Jan 2006, 15:04"
	inZone, inUTC := opened.In(kolkata).Format(layout), opened.UTC().Format(layout)

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.goTo("#/cases/" + ref)
	p.see("#case-timeline", inZone)
	p.see("main", "Opened", opened.In(kolkata).Format("2 Jan 2006"))
	if strings.Contains(p.text("#case-timeline"), inUTC) {
		t.Fatalf("the timeline shows UTC's %s:\n%s", inUTC, p.text("#case-timeline"))
	}
}
