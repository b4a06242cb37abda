package api_test

import (
	"testing"

	"github.com/signetassure/signetassure/domain"
)

// A case worker reports a trip for a cleared person at the console: an unknown country is shown beside
// the destinations field and nothing is written; corrected, the trip's page says what the policy asks
// (briefing, approval, debrief), and the briefing acknowledged goes on its timeline. A security controller
// approves it, and the travel list shows it ready. axe-core finds no serious violation on either screen.
func TestConsoleTravelReportBriefApprove(t *testing.T) {
	p := browse(t)
	e := newTravelEnv(t)
	person := e.scPerson("Ada")

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.click("#nav-travel")
	p.see("h1", "Foreign travel")
	p.see("main", "No trips.")
	p.accessible("travel list")
	p.goTo("#/persons/" + person)
	p.see("#person-page h1", "Ada Traveller")
	p.click("#person-travel")
	p.click("#report-trip")
	p.see("h1", "Report a trip for Ada Traveller")
	p.fill(`#trip-report input[name="countries"]`, "FR XX")
	p.setValue(`#trip-report input[name="departsOn"]`, day(60))
	p.setValue(`#trip-report input[name="returnsOn"]`, day(69))
	p.fill(`#trip-report textarea[name="purpose"]`, "Standards meeting")
	p.chooseByText(`#trip-report select[name="companions"]`, "With others")
	p.accessible("trip report")
	p.clickButton("Report the trip")
	p.fieldError(`#trip-report input[name="countries"]`, "not an ISO 3166-1 alpha-2 country code")
	if n := e.count(`SELECT count(*) FROM travel_trips`); n != 0 {
		t.Fatalf("%d trips written by a refused report", n)
	}
	p.fill(`#trip-report input[name="countries"]`, "cn hk")
	p.clickButton("Report the trip")
	p.see("h1", "Trip of Ada Traveller")
	p.see("#trip-summary", "Awaiting briefing or approval", "CN, HK", "with others", "Countries of concern: CN")
	p.see("#trip-requires", "a briefing before departure", "a security controller's approval", "a debrief within 14 days of return")
	p.see("#trip-timeline", "Reported")
	p.accessible("trip")
	if p.has("#trip-approve") {
		t.Fatal("a case worker is offered the approval")
	}
	p.clickButton("Briefing acknowledged")
	p.see("#trip-timeline", "Briefing acknowledged")
	p.see("#trip-requires", "acknowledged")

	id := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/travel/trips?personId="+person, nil)["items"].([]any)[0].(map[string]any)["id"].(string)
	p.clickButton("Sign out")
	p.see("#sign-in")
	p.signInWithToken(e.tokens[domain.RoleSecurityController], "Test security_controller")
	p.goTo("#/travel/" + id)
	p.see("h1", "Trip of Ada Traveller")
	p.clickButton("Approve")
	p.see("#trip-summary", "Ready to travel")
	p.see("#trip-timeline", "Decided (approved)")
	p.click("#nav-travel")
	p.see("#trips", "Ada Traveller", "CN, HK", "Ready to travel")
}

// The traveller opens the link they were sent, without signing in: their trip is shown, the
// acknowledgement is refused until ticked (the error beside the box), then recorded and thanked for; the
// link does not work again. axe-core finds no serious violation on the page.
func TestConsoleTravelLinkAcknowledgesTheBriefing(t *testing.T) {
	p := browse(t)
	e := newTravelEnv(t)
	person := e.scPerson("Gil")
	id := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(person, []string{"CN"}, 20, 25))["id"].(string)
	token := e.linkIn(person, "travel_briefing")

	p.open(e.url)
	p.see("#sign-in")
	p.goTo("#/trip-link/" + token)
	p.see("h1", "Your trip")
	p.see("#trip-link-trip", "CN")
	if p.has("#sign-out") {
		t.Fatal("the traveller's page shows a staff session")
	}
	p.accessible("trip link")
	p.clickButton("Acknowledge the briefing")
	p.fieldError(`#trip-link-form input[name="acknowledged"]`, "must be true")
	p.click(`#trip-link-form input[name="acknowledged"]`)
	p.clickButton("Acknowledge the briefing")
	p.see("#trip-link-done", "Thank you")
	if e.trip(id)["briefedAt"] == nil {
		t.Fatal("the acknowledgement is not on the trip")
	}
	if r := e.call("", "GET", "/api/v1/travel/link/"+token, nil); r.status != 403 {
		t.Fatalf("the link works again: %d", r.status)
	}
}
