package api_test

import (
	"strings"
	"testing"

	"github.com/signetassure/signetassure/domain"
)

// seeRows waits until the work queue's rows name these persons, in this order.
func (p *page) seeRows(names ...string) {
	p.t.Helper()
	p.waitFor("the queue's rows "+strings.Join(names, ", "), `[...document.querySelectorAll("#queue tbody th a")]
		.map((a) => a.innerText.trim()).join(",") === `+js(strings.Join(names, ",")))
}

// The work queue in a real browser: a case worker signs in to it, sees the cases by their persons' and
// owners' names with statuses in words, finds a case by name and by reference, switches to the overdue
// and unassigned queues, sorts by person both ways, and finds the closed case only under Closed; a
// vetting officer starts on their own cases.
func TestConsoleInBrowserWorkQueue(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	fx := newQueueFixture(e)
	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")

	// A case worker starts on all open cases, soonest due first; Dan's closed case is not among them.
	p.see("h1", "Vetting cases")
	p.see(`#queue-open[aria-current="page"]`, "All open", "3")
	p.see("#queue-closed", "Closed", "1")
	p.see("#queue-result", "3 cases in all open")
	p.seeRows("Carol Cole", "Bob Baker", "Alice Archer")
	p.see("#queue", "Test vetting_officer", "Unassigned", "Information requested", "With the officer", "waiting ",
		"overdue by 1 day", "due in 3 days", "E100")
	if text := p.text("#queue"); strings.Contains(text, "Dan Drake") || strings.Contains(text, "open person") ||
		strings.Contains(text, "with_officer") || strings.Contains(text, "\tassigned") {
		t.Fatalf("the open queue shows a closed case, a placeholder or a status code:\n%s", text)
	}
	p.see(`#queue th[aria-sort="ascending"]`, "Due")
	if p.has("#queue-mine") {
		t.Error("a case worker, who owns no cases, is offered My cases")
	}

	// Search by name, then by case reference.
	p.fill("#queue-q", "archer")
	p.clickButton("Search")
	p.seeRows("Alice Archer")
	p.see("#queue-result", "1 case")
	p.fill("#queue-q", fx.bob)
	p.clickButton("Search")
	p.seeRows("Bob Baker")
	p.fill("#queue-q", "nobody at all")
	p.clickButton("Search")
	p.see("#queue-result", "No cases in all open match")
	p.clickButton("Clear")
	p.seeRows("Carol Cole", "Bob Baker", "Alice Archer")

	// The other queues.
	p.click("#queue-overdue")
	p.see(`#queue-overdue[aria-current="page"]`, "Overdue", "1")
	p.seeRows("Carol Cole")
	p.click("#queue-unassigned")
	p.seeRows("Carol Cole", "Bob Baker")

	// Sorting by person, one way and the other; the sort button keeps the focus.
	p.click("#sort-person")
	p.seeRows("Bob Baker", "Carol Cole")
	p.see(`#queue th[aria-sort="ascending"]`, "Person")
	if focused := eval[string](p, `document.activeElement ? document.activeElement.id : ""`); focused != "sort-person" {
		t.Errorf("after sorting the focus is on %q, want the sort button", focused)
	}
	p.click("#sort-person")
	p.seeRows("Carol Cole", "Bob Baker")
	p.see(`#queue th[aria-sort="descending"]`, "Person")

	// Two to a page.
	p.goTo("#/cases?queue=open&sort=person&limit=2")
	p.seeRows("Alice Archer", "Bob Baker")
	p.see(".pager", "Page 1 of 2")
	p.see("#queue-result", "3 cases in all open, showing 1 to 2")
	p.click("#page-next")
	p.seeRows("Carol Cole")
	p.see(".pager", "Page 2 of 2")
	if focused := eval[string](p, `document.activeElement ? document.activeElement.id : ""`); focused != "page-previous" {
		t.Errorf("on the last page the focus is on %q, want Previous", focused)
	}
	p.click("#page-previous")
	p.seeRows("Alice Archer", "Bob Baker")

	// Closed cases are apart.
	p.click("#queue-closed")
	p.seeRows("Dan Drake")
	p.see("#queue", "Withdrawn", "Test vetting_officer")

	// A name opens the case.
	p.click("#queue-open")
	p.seeRows("Carol Cole", "Bob Baker", "Alice Archer")
	p.click(`#queue a[href="#/cases/` + fx.alice + `"]`)
	p.see("h1", "Case "+fx.alice)

	// A vetting officer starts on their own cases.
	p.click("#sign-out")
	p.signInWithToken(e.tokens[domain.RoleVettingOfficer], "Test vetting_officer")
	p.click(`#nav a[href="#/cases"]`)
	p.see(`#queue-mine[aria-current="page"]`, "My cases", "1")
	p.seeRows("Alice Archer")
	p.see("#queue", "Test vetting_officer (you)", "waiting ")
}
