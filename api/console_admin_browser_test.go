package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// accessible runs axe-core inside the page as it shows now and fails the test for each serious or
// critical violation it reports.
func (p *page) accessible(screen string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	vs, err := testenv.SeriousA11yViolations(ctx)
	if err != nil {
		p.t.Fatalf("axe-core on %s: %v", screen, err)
	}
	for _, v := range vs {
		p.t.Errorf("%s: %s", screen, v)
	}
}

// An auditor finds an entry made earlier through the Audit log screen: the status line tells the tree's
// size and newest checkpoint, the action filter finds the person's creation, and the entry opens onto
// its detail and the proof of its inclusion, and the whole log is verified intact on request. Their notifications read in words and are marked read. An
// administrator then adds a partner site, issues it a key (its secret shown once), revokes the key and
// then the site. axe-core finds no serious or critical violation on any of these screens.
func TestConsoleInBrowserAuditLogPartnersNotifications(t *testing.T) {
	p := browse(t)
	e := newEnv(t, withEvidence(t))
	keys := e.auditKeys
	person := e.createPerson("Audrey", "Trail", "1981-01-01")
	ref := e.openCase(person, "new", "SC")
	e.notify(domain.RoleAuditor, ref)
	if _, err := e.st.SequenceAudit(context.Background(), keys, treeOrigin); err != nil {
		t.Fatal(err)
	}
	size := e.count(`SELECT size::int FROM audit_tree`)

	p.open(e.url)
	p.see("#sign-in")
	p.accessible("the sign-in page")
	p.signInWithToken(e.tokens[domain.RoleAuditor], "Test auditor")
	p.click("#nav-audit")
	p.see("h1", "Audit log")
	// Signing in is audited after the checkpoint: it waits for the sequencer.
	waiting := e.count(`SELECT count(*)::int FROM audit_pending`)
	p.see("#audit-status", "tree of "+strconv.Itoa(size)+" entries", "newest signed checkpoint "+strconv.Itoa(size)+" at",
		strconv.Itoa(waiting)+" waiting for the sequencer")
	p.fill(`input[name="action"]`, "person.create")
	p.clickButton("Filter")
	p.waitFor("the filter in the address", `location.hash.includes("action=person.create")`)
	p.waitFor("one entry (and the heading)", `document.querySelectorAll("#audit-entries tr").length === 2`)
	p.see("#audit-entries", "person.create", person, "Test case_worker")
	p.click("#audit-entries summary")
	p.see("#audit-entries details[open] pre", "{")
	p.see("#audit-entries details[open]", "proof of inclusion")
	href := eval[string](p, `document.querySelector("#audit-entries details a").getAttribute("href")`)
	if r := e.call(domain.RoleAuditor, "GET", href, nil); !strings.HasSuffix(href, "/inclusion") || r.status != 200 ||
		!strings.Contains(string(r.body), `"leafIndex"`) {
		t.Fatalf("the proof link %s: %d %s", href, r.status, r.body)
	}
	p.see("#audit-verification", "has not been verified")
	p.clickButton("Verify the whole log now")
	p.see("#audit-verification", "Verified intact", "by Test auditor", "signed checkpoint")
	p.accessible("the audit log")

	p.click(`#nav a[href="#/notifications"]`)
	p.see("h1", "Notifications")
	p.see("#notifications", "Clearance expires soon", "Case due soon", "Audrey Trail", "case "+ref)
	p.see("#notifications-unread", "2 unread notifications")
	if text := p.text("#notifications"); strings.Contains(text, "sla_reminder") || strings.Contains(text, "0b7c0c8e") {
		t.Fatalf("the notifications show codes or ids:\n%s", text)
	}
	p.accessible("notifications")
	p.clickButton("Mark read")
	p.see("#notifications-unread", "1 unread notification")
	p.clickButton("Mark all read")
	p.see("#notifications-unread", "All read.")
	if n := e.count(`SELECT count(*) FROM staff_notifications WHERE user_id = $1 AND read_at IS NULL`, e.users[domain.RoleAuditor].ID); n != 0 {
		t.Fatalf("%d of the auditor's notifications unread on the server", n)
	}
	if p.has("#nav-partners:not([hidden])") {
		t.Fatal("an auditor is shown the Partners screen")
	}

	p.click("#sign-out")
	p.signInWithToken(e.tokens[domain.RoleAdmin], "Test admin")
	p.click("#nav-partners")
	p.see("h1", "Partner sites")
	p.fill(`input[name="orgName"]`, "Beacon Vetting")
	p.fill(`input[name="baseUrl"]`, "https://beacon.test.invalid")
	p.watchDrawings()
	p.clickButton("Add site")
	p.see("h1", "Beacon Vetting")
	p.drawnOnce("Beacon Vetting")
	p.fill(`input[name="name"]`, "their worker")
	p.clickButton("Issue key")
	p.see("#partner-key-secret")
	secret := p.text("#partner-key-secret")
	if !strings.HasPrefix(secret, "sap_") {
		t.Fatalf("the key shown is %q, want sap_…", secret)
	}
	p.see("#partner-keys", "their worker", "vetting:read", "active")
	p.accessible("a partner site")
	p.clickButton("Revoke key their worker")
	p.see("#partner-keys", "revoked")
	if strings.Contains(p.text("main"), secret) {
		t.Fatal("the key's secret is shown again")
	}
	if n := e.count(`SELECT count(*) FROM partner_keys WHERE name = 'their worker' AND revoked_at IS NOT NULL`); n != 1 {
		t.Fatalf("%d revoked keys on the server, want 1", n)
	}
	p.clickButton("Revoke site Beacon Vetting")
	p.see("main p", "revoked")
	if n := e.count(`SELECT count(*) FROM partner_sites WHERE org_name = 'Beacon Vetting' AND status = 'revoked'`); n != 1 {
		t.Fatalf("%d revoked sites on the server, want 1", n)
	}
	p.click(`#nav a[href="#/partners"]`)
	p.see("#partner-sites", "Beacon Vetting", "revoked")
	p.accessible("partner sites")

	p.click("#nav-organisation")
	p.see("h1", "Organisation")
	p.accessible("organisation")
	p.fill(`input[name="issuingAuthority"]`, "Vetting Office North")
	p.clickButton("Save settings")
	for deadline := time.Now().Add(stepTimeout); e.count(`SELECT count(*) FROM audit_log WHERE action = 'organisation.update'`) == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("the settings were not saved:\n%s", p.text("main"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := e.count(`SELECT count(*) FROM organisation WHERE issuing_authority = 'Vetting Office North'`); n != 1 {
		t.Fatal("the server does not have the new issuing authority")
	}
	p.click("#nav-audit")
	p.see("#audit-status", "tree of")
}
