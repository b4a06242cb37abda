package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/sim/credoidsim"
)

// A security controller runs the access control system from the console. On the Access screen they set
// the clearance a level demands (stored, and shown in words), resolve a finding listed by the person's
// name (gone from the list, stored resolved), and start a sync whose progress they watch until it shows
// completed with everyone reconciled. On the Reminder policy screen a value out of range is shown next to
// its field and changes nothing; good values are saved. axe-core finds no serious violation on either.
func TestConsoleAccessSecurityControllerScreens(t *testing.T) {
	p := browse(t)
	e := newAccessEnv(t)
	ctx := context.Background()
	if s := e.syncNow(); s["status"] != "completed" { // mirrors CredoID's levels
		t.Fatalf("the first sync: %v", s)
	}
	for _, first := range []string{"Gita", "Hamid"} {
		person, _ := e.clearedPerson(first)
		if _, err := e.st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: uuid.MustParse(person),
			LevelID: e.lab, StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(48 * time.Hour), TimeZone: "Europe/London"}); err != nil {
			t.Fatal(err)
		}
	}
	person := e.createPerson("Farah", "Nadeem", "1985-05-05")
	const findingID = "f_console_possible_match"
	if _, err := e.st.RecordFindings(ctx, []access.Finding{{ID: findingID, Kind: access.FindingPossibleMatch,
		PersonID: uuid.MustParse(person), UserID: "9001", Action: "left for a person to resolve"}}); err != nil {
		t.Fatal(err)
	}

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleSecurityController], "Test security_controller")
	p.click("#nav-access")
	p.see("h1", "Access")
	level := `#access-levels tr[data-level="` + e.lab + `"]`
	p.see(level, "Site A Lab", "not grantable")
	p.see("#access-findings", "Farah Nadeem", "A badge record may be this person's", "left for a person to resolve")
	if href := eval[string](p, `document.querySelector('#access-findings tr[data-finding="`+findingID+`"] a').getAttribute("href")`); href != "#/persons/"+person {
		t.Fatalf("the finding's person links to %q", href)
	}
	if text := p.text("main"); strings.Contains(text, "possible_match") || strings.Contains(text, person) {
		t.Fatalf("the Access screen shows codes or ids:\n%s", text)
	}
	p.accessible("the Access screen")
	p.screenshot("access-finding")

	// The clearance the lab demands.
	p.setValue(level+` select[name="requiredLevel"]`, "SC")
	p.click(level + " button")
	p.see(level, "SC or above")
	var levels []map[string]any
	e.decode(e.must200List(domain.RoleAuditor, "/api/v1/access/levels"), &levels)
	if i := slices.IndexFunc(levels, func(l map[string]any) bool { return l["id"] == e.lab }); i < 0 || levels[i]["requiredLevel"] != "SC" {
		t.Fatalf("the lab's policy is not stored: %v", levels)
	}

	// The finding, resolved with a note.
	finding := `#access-findings tr[data-finding="` + findingID + `"]`
	p.fill(finding+` input[name="note"]`, "not the same person: checked the photo")
	p.click(finding + " button")
	p.see("#access-findings-none", "Nothing to resolve.")
	if n := e.count(`SELECT count(*) FROM access_findings WHERE id = $1 AND resolved_at IS NOT NULL AND resolved_by = $2`,
		findingID, e.users[domain.RoleSecurityController].ID); n != 1 {
		t.Fatal("the finding is not stored resolved by the security controller")
	}

	// A sync, watched until it completes.
	p.clickButton("Sync now")
	var sync map[string]any
	waitFor(t, stepTimeout, "the sync asked for at the console never started", func() bool {
		var list map[string]any
		e.decode(e.must200List(domain.RoleAuditor, "/api/v1/access/syncs"), &list)
		items := list["items"].([]any)
		sync = items[0].(map[string]any)
		return len(items) == 2
	})
	sync = e.waitSync(sync["id"].(string), nil)
	if sync["status"] != "completed" || sync["trigger"] != "manual" {
		t.Fatalf("the sync: %v", sync)
	}
	progress := fmt.Sprintf("%v of %v persons reconciled", sync["done"], sync["total"])
	row := `#access-syncs tr[data-sync="` + sync["id"].(string) + `"]`
	p.see(row, "completed", "on demand", progress)
	if sync["total"].(float64) < 2 || strings.Contains(p.text(row), "errors") {
		t.Fatalf("the sync's row: %s (sync %v)", p.text(row), sync)
	}
	p.screenshot("access")
	if v := eval[float64](p, `document.querySelector('`+row+` progress').value`); v != sync["done"] {
		t.Fatalf("the progress bar shows %v, want %v", v, sync["done"])
	}

	// The reminder policy: a value out of range is refused next to its field, then good values are saved.
	before := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/reminder-policy", nil)
	p.click("#nav-reminders")
	p.see("h1", "Reminder policy")
	p.see(`#reminder-policy input[name="renewalLeadDays"]`)
	p.fill(`#reminder-policy input[name="nudgeDays"]`, "90, 5000")
	p.clickButton("Save policy")
	nudge := `#reminder-policy label:has(input[name="nudgeDays"]) .field-error`
	p.see(nudge, "5000 must be from 1 to 3650")
	p.waitFor("the field marked invalid", `document.querySelector('#reminder-policy input[name="nudgeDays"]').getAttribute("aria-invalid") === "true"`)
	p.accessible("the Reminder policy screen with an error")
	p.screenshot("reminder-policy-error")
	after := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/reminder-policy", nil)
	if fmt.Sprint(after["nudgeDays"], after["renewalLeadDays"], after["infoReminderDays"]) !=
		fmt.Sprint(before["nudgeDays"], before["renewalLeadDays"], before["infoReminderDays"]) {
		t.Fatalf("a refused policy changed it: %v, was %v", after, before)
	}
	p.fill(`#reminder-policy input[name="nudgeDays"]`, "120, 60, 14")
	p.fill(`#reminder-policy input[name="renewalLeadDays"]`, "75")
	p.fill(`#reminder-policy input[name="infoReminderDays"]`, "3")
	p.clickButton("Save policy")
	p.see("#reminders-saved", "Saved.")
	after = e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/reminder-policy", nil)
	if fmt.Sprint(after["nudgeDays"], after["renewalLeadDays"], after["infoReminderDays"]) != "[120 60 14] 75 [3]" {
		t.Fatalf("the policy saved is %v", after)
	}
	if p.has(nudge + ":not([hidden])") {
		t.Fatal("the error is still shown after a good save")
	}
	p.accessible("the Reminder policy screen")
	p.screenshot("reminder-policy")
}

// screenshot writes a PNG of the page as it shows now into the folder SCREENSHOTS names, if it names one.
func (p *page) screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv("SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// A person the access control system refuses is named on the Access screen: the sync that could not
// reconcile them says so in words, and the change that failed is listed by their name; replayed once the
// refusal is lifted, their record reaches the badge system.
func TestConsoleAccessNamesWhomASyncCouldNotReconcile(t *testing.T) {
	p := browse(t)
	e := newAccessEnv(t)
	e.ready()
	ctx := context.Background()
	person, _ := e.clearedPerson("Ivo")
	number := "E-REFUSED"
	if _, err := e.st.UpdatePerson(ctx, nil, uuid.MustParse(person), []string{"employeeNumber"},
		func(x *domain.Person) { x.EmployeeNumber = &number }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: uuid.MustParse(person),
		LevelID: e.lab, StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(48 * time.Hour), TimeZone: "Europe/London"}); err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(credoidsim.Faults{RefuseEmployeeNumbers: []string{number}})
	sync := e.syncNow()
	if sync["status"] != "completed_with_errors" || sync["personNames"].(map[string]any)[person] != "Ivo Tester" {
		t.Fatalf("the sync does not name the person it could not reconcile: %v", sync)
	}

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleSecurityController], "Test security_controller")
	p.click("#nav-access")
	p.see(`#access-syncs tr[data-sync="`+sync["id"].(string)+`"]`, "completed with errors", "Ivo Tester: refused by the badge system")
	operation := `#access-operations tr:has(a[href="#/persons/` + person + `"])`
	p.see(operation, "Ivo Tester", "Create badge record")
	if text := p.text("main"); strings.Contains(text, "completed_with_errors") || strings.Contains(text, person) {
		t.Fatalf("the Access screen shows codes or ids:\n%s", text)
	}
	p.accessible("the Access screen with a failed change")

	e.sim.SetFaults(credoidsim.Faults{})
	p.click(operation + " button")
	waitFor(t, stepTimeout, "the replayed person's record never reached the badge system", func() bool { return len(e.records(person)) == 1 })
}
