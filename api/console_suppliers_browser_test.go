package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// An administrator keeps suppliers at the console: adds a prime, then a sub-supplier whose tier the API
// refuses (shown beside the tier field, nothing added) and then takes; on the prime's page adds a contact
// whose phone number the API refuses (shown beside that row's field) and a contract with the clearance it
// requires at a site; reads the compliance view (people by state, the open case) and downloads it as CSV;
// links a partner site to the prime; archives the sub-supplier, which leaves the list of those in use.
// axe-core finds no serious or critical violation on the list or the page.
func TestConsoleInBrowserSuppliers(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	north := e.site("NORTH")
	partner := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners",
		map[string]any{"orgName": "Partner Org", "baseUrl": "https://partner.example.org"})["id"].(string)

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleAdmin], "Test admin")
	p.see("h1", "Vetting cases")
	p.click(`#nav a[href="#/suppliers"]`)
	p.see("h1", "Suppliers")
	p.see("main", "No suppliers yet.")
	p.accessible("suppliers")

	p.fill(`#supplier-new input[name="name"]`, "Acme Defence")
	p.clickButton("Add supplier")
	p.see("h1", "Acme Defence")
	prime := strings.TrimPrefix(eval[string](p, `location.hash`), "#/suppliers/")

	p.goTo("#/suppliers")
	p.see("#suppliers", "Acme Defence")
	p.fill(`#supplier-new input[name="name"]`, "Bolt Ltd")
	p.fill(`#supplier-new input[name="tier"]`, "3")
	p.chooseByText(`#supplier-new select[name="parentId"]`, "Acme Defence (tier 1)")
	p.clickButton("Add supplier")
	p.fieldError(`#supplier-new input[name="tier"]`, "must be 2")
	if n := e.count(`SELECT count(*) FROM suppliers`); n != 1 {
		t.Fatalf("%d suppliers after a refused one", n)
	}
	p.fill(`#supplier-new input[name="tier"]`, "2")
	p.clickButton("Add supplier")
	p.see("h1", "Bolt Ltd")
	p.see("main p", "Tier 2", "below Acme Defence")
	sub := strings.TrimPrefix(eval[string](p, `location.hash`), "#/suppliers/")

	// People of the prime, in two states, one with an open case.
	cleared := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Cleo", "lastName": "Cleared",
		"dateOfBirth": "1980-01-01", "supplierId": prime})["id"].(string)
	today := domain.DateOf(time.Now().UTC())
	if _, err := e.st.RecordClearance(context.Background(), nil, domain.Clearance{PersonID: uuid.MustParse(cleared), Level: domain.LevelSC,
		ValidFrom: today.AddDays(-1), ValidTo: today.AddDays(400), IssuingAuthority: "Test"}); err != nil {
		t.Fatal(err)
	}
	waiting := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Wes", "lastName": "Waiting",
		"dateOfBirth": "1980-01-01", "supplierId": prime})["id"].(string)
	ref := e.openCase(waiting, "new", "SC")

	p.goTo("#/suppliers/" + prime)
	p.see("h1", "Acme Defence")
	p.see(`#supplier-compliance [data-state="cleared"]`, "1")
	p.see(`#supplier-compliance [data-state="in_progress"]`, "1")
	p.see("#supplier-people", "Cleo Cleared", "Cleared", "Wes Waiting", "In progress", ref)
	p.see("#supplier-cases", ref)
	p.accessible("a supplier")

	p.click("#supplier-edit-details summary")
	p.fill(`#supplier-edit input[name="contacts[0].name"]`, "Ann Lee")
	p.fill(`#supplier-edit input[name="contacts[0].email"]`, "ann@acme.example")
	p.fill(`#supplier-edit input[name="contacts[0].phone"]`, "ring reception")
	p.fill(`#supplier-edit input[name="contracts[0].reference"]`, "C-1")
	p.chooseByText(`#supplier-edit select[name="contracts[0].sites[0].locationId"]`, "Site NORTH")
	p.chooseByText(`#supplier-edit select[name="contracts[0].sites[0].requiredLevel"]`, "SC")
	p.clickButton("Save changes")
	p.fieldError(`#supplier-edit input[name="contacts[0].phone"]`, "must be digits")
	if n := e.count(`SELECT count(*) FROM supplier_contacts`); n != 0 {
		t.Fatalf("%d contacts after a refused change", n)
	}
	p.fill(`#supplier-edit input[name="contacts[0].phone"]`, "020 7946 0000")
	p.clickButton("Save changes")
	p.see("main .notice", "Saved.")
	p.see("#supplier-details", "Ann Lee, ann@acme.example, 020 7946 0000", "C-1", "Site NORTH: SC")
	if n := e.count(`SELECT count(*) FROM supplier_contract_sites WHERE supplier_id = $1 AND location_id = $2 AND required_level = 'SC'`,
		prime, north); n != 1 {
		t.Fatalf("%d contract sites stored", n)
	}

	// The export is the compliance view's people, as the signed-in browser downloads it.
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	csv, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(document.querySelector("#supplier-export").href)
		.then(async (r) => r.headers.get("content-type") + "\n" + await r.text())`, chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(csv, "text/csv") || !strings.Contains(csv, "Cleo Cleared") || !strings.Contains(csv, ref) {
		t.Fatalf("the export: %s", csv)
	}

	p.goTo("#/partners/" + partner)
	p.see("h1", "Partner Org")
	p.chooseByText(`#partner-supplier select[name="supplierId"]`, "Acme Defence (tier 1)")
	p.clickButton("Save supplier")
	p.see("main p", "is the supplier Acme Defence")
	if n := e.count(`SELECT count(*) FROM partner_sites WHERE id = $1 AND supplier_id = $2`, partner, prime); n != 1 {
		t.Fatal("the partner site is not linked to the supplier")
	}

	p.goTo("#/suppliers/" + sub)
	p.see("h1", "Bolt Ltd")
	p.clickButton("Archive Bolt Ltd")
	p.see("main .notice", "Archived")
	p.seeButton("Restore Bolt Ltd")
	p.goTo("#/suppliers")
	p.see("#suppliers", "Acme Defence")
	if strings.Contains(p.text("#suppliers"), "Bolt Ltd") {
		t.Fatal("an archived supplier is listed among those in use")
	}
}
