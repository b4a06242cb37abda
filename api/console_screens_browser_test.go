package api_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// screen is one of the console's main screens as a role sees it: where it is and what shows it is drawn.
type screen struct {
	role       domain.Role
	name, hash string
	sel        string
	wants      []string
}

// Each role's main screens draw with names and words, and axe-core finds no serious or critical
// violation on any of them. With SCREENSHOTS set to a folder, a PNG of each is written there (the
// README's pictures: `SCREENSHOTS=docs/screenshots go test ./api/ -run TestConsoleMainScreens`).
func TestConsoleMainScreens(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	fx := newQueueFixture(e)
	supplier := e.supplier(map[string]any{"name": "Acme Defence", "tier": 1, "companyNumber": "01234567", "sponsorReference": "SP-9",
		"contacts": []map[string]any{{"name": "Ann Lee", "role": "Security manager", "email": "ann@acme.example"}}})
	e.supplier(map[string]any{"name": "Bolt Ltd", "tier": 2, "parentId": supplier})
	e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Sue", "lastName": "Supplied",
		"dateOfBirth": "1980-01-01", "supplierId": supplier})
	soon := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Ed", "lastName": "Expiring",
		"dateOfBirth": "1980-01-01", "supplierId": supplier})["id"].(string)
	today := domain.DateOf(time.Now().UTC())
	if _, err := e.st.RecordClearance(context.Background(), nil, domain.Clearance{PersonID: uuid.MustParse(soon), Level: domain.LevelSC,
		ValidFrom: today.AddDays(-300), ValidTo: today.AddDays(30), IssuingAuthority: "Test"}); err != nil {
		t.Fatal(err)
	}
	trip := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(fx.alicePerson, []string{"FR"}, 30, 35))["id"].(string)
	screens := []screen{
		{role: domain.RoleCaseWorker, name: "work-queue", hash: "#/cases", sel: "#queue", wants: []string{"Carol Cole", "overdue by 1 day"}},
		{role: domain.RoleVettingOfficer, name: "case", hash: "#/cases/" + fx.alice, sel: "#case-person", wants: []string{"Alice Archer"}},
		{role: domain.RoleVettingOfficer, name: "person", hash: "#/persons/" + fx.alicePerson, sel: "main", wants: []string{"Alice"}},
		{role: domain.RoleSecurityController, name: "access", hash: "#/access", sel: "main", wants: []string{"Access levels", "Syncs"}},
		{role: domain.RoleSecurityController, name: "reminder-policy", hash: "#/reminders", sel: "main", wants: []string{"Reminder policy"}},
		{role: domain.RoleSecurityController, name: "broadcasts", hash: "#/broadcasts", sel: "main", wants: []string{"Broadcasts", "New group"}},
		{role: domain.RoleSecurityController, name: "travel", hash: "#/travel", sel: "#trips", wants: []string{"Alice Archer", "FR"}},
		{role: domain.RoleSecurityController, name: "trip", hash: "#/travel/" + trip, sel: "#trip-summary", wants: []string{"Ready to travel", "FR"}},
		{role: domain.RoleAuditor, name: "audit-log", hash: "#/audit", sel: "main", wants: []string{"Audit log", "case.open"}},
		{role: domain.RoleAuditor, name: "evidence-packs", hash: "#/evidence", sel: "main", wants: []string{"Evidence packs"}},
		{role: domain.RoleAdmin, name: "users", hash: "#/users", sel: "main", wants: []string{"Users", "Test auditor"}},
		{role: domain.RoleAdmin, name: "partners", hash: "#/partners", sel: "main", wants: []string{"Partner"}},
		{role: domain.RoleAdmin, name: "suppliers", hash: "#/suppliers", sel: "#suppliers", wants: []string{"Acme Defence"}},
		{role: domain.RoleAdmin, name: "supplier", hash: "#/suppliers/" + supplier, sel: "#supplier-people", wants: []string{"Sue Supplied", "Not cleared", "Ed Expiring", "Expiring within 90 days"}},
	}
	dir := os.Getenv("SCREENSHOTS")
	var signedIn domain.Role
	p.open(e.url)
	for _, s := range screens {
		if s.role != signedIn {
			if signedIn != "" {
				p.clickButton("Sign out")
			}
			p.see("#sign-in")
			p.signInWithToken(e.tokens[s.role], "Test "+string(s.role))
			signedIn = s.role
		}
		p.goTo(s.hash)
		p.see(s.sel, s.wants...)
		p.accessible(s.name)
		ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
		cancel()
		if err != nil {
			t.Fatalf("%s: screenshot: %v", s.name, err)
		}
		if _, err := png.Decode(bytes.NewReader(shot)); err != nil || len(shot) < 10_000 {
			t.Fatalf("%s: the screenshot is not a picture of a page (%d bytes): %v", s.name, len(shot), err)
		}
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, s.name+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
