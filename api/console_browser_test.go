package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/entra"
	"github.com/signetassure/signetassure/ldapdir"
	"github.com/signetassure/signetassure/sim/adsim"
	"github.com/signetassure/signetassure/sim/entrasim"
)

// The console's sign-in and account screens in a real browser (headless Chromium): what a person sees
// when they sign in each way, are refused, sign out, issue themselves a token, and administer users.
// They run one at a time, before the package's parallel tests start, so that Chromium does not take the
// CPU the Temporal server needs under them.

// withConsoleEntra offers Sign in with Microsoft against an Entra ID simulator whose registered redirect
// URI is the API's own public address, so that the browser comes back to the console it started from.
func withConsoleEntra(sim **entrasim.Sim) envOption {
	return func(e *env) {
		callback := e.publicURL() + "/api/v1/sign-in/entra/callback"
		*sim = entrasim.New(entrasim.Options{RedirectURIs: []string{callback}})
		ts := httptest.NewServer((*sim).Handler())
		e.t.Cleanup(func() { ts.Close(); (*sim).Close() })
		d, err := entra.NewOnDemand(entra.Config{TenantID: entrasim.DefaultTenantID, ClientID: entrasim.DefaultClientID,
			ClientSecret: entrasim.DefaultClientSecret, RedirectURL: callback, Authority: ts.URL, GraphURL: ts.URL})
		if err != nil {
			e.t.Fatal(err)
		}
		e.staff = api.Deps{SignIn: api.SignIn{Entra: d, EntraRoles: domain.RoleMap{entrasim.GroupCaseWorkers: {domain.RoleCaseWorker}}}}
	}
}

// signInWithMicrosoft clicks "Sign in with Microsoft" and, on the simulator's page, picks the person.
func (p *page) signInWithMicrosoft(name string) {
	p.t.Helper()
	p.click("#sign-in-microsoft")
	p.see("h1", "Sign in with Microsoft — pick a user")
	p.clickButton("Sign in as " + name)
}

func liveSessions(e *env) int {
	return e.count(`SELECT count(*) FROM staff_sessions WHERE ended_at IS NULL`)
}

// Sign in with Microsoft: the person picks themselves at Entra ID, lands back on the console signed in
// with their name and role in the header; Sign out ends the session, and a reload stays signed out.
func TestConsoleInBrowserSignsInWithMicrosoft(t *testing.T) {
	p := browse(t)
	var sim *entrasim.Sim
	e := newEnv(t, withConsoleEntra(&sim))
	p.open(e.front)

	p.signInWithMicrosoft("Carol Case")
	p.see("#who", "Carol Case", "(case_worker)", "Sign out")
	p.see("h1", "Vetting cases")
	if at := p.at(); !strings.HasPrefix(at, e.front+"/ui/") || strings.Contains(at, "signInError") {
		t.Fatalf("signed in at %s, want the console", at)
	}
	if n := e.count(`SELECT count(*) FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
		WHERE s.ended_at IS NULL AND s.method = 'entra' AND u.display_name = 'Carol Case'`); n != 1 {
		t.Fatalf("%d live Entra sessions of Carol's, want 1", n)
	}
	if kept := p.keeps(); kept != `{}{}` {
		t.Fatalf("the page keeps %s where scripts can read it; the session is an HttpOnly cookie", kept)
	}

	p.click("#sign-out")
	p.see("#sign-in", "Sign in with Microsoft")
	if who := p.text("header"); strings.Contains(who, "Carol") {
		t.Fatalf("signed out, the header still shows %q", who)
	}
	if n := liveSessions(e); n != 0 {
		t.Fatalf("%d live sessions after signing out", n)
	}
	p.do(chromedp.Reload())
	p.see("#sign-in", "Sign in with Microsoft")
	if p.has("#sign-out") {
		t.Fatal("after a reload the console shows a signed-in header")
	}
}

// A sign-in Entra ID vouched for wrongly (an ID token for another sign-in's nonce) is refused: the page
// says so, and nobody is signed in.
func TestConsoleInBrowserShowsRefusedSignIn(t *testing.T) {
	p := browse(t)
	var sim *entrasim.Sim
	e := newEnv(t, withConsoleEntra(&sim))
	sim.SetFaults(entrasim.Faults{NextIDToken: entrasim.SpoilWrongNonce})
	p.open(e.front)
	p.signInWithMicrosoft("Carol Case")
	p.see(`#sign-in [role="alert"]`, "Sign-in was refused; try again.")
	p.see("#sign-in-microsoft")
	if p.has("#sign-out") {
		t.Fatal("a refused sign-in shows a signed-in header")
	}
	if n := e.count(`SELECT count(*) FROM staff_sessions`); n != 0 {
		t.Fatalf("%d sessions after a refused sign-in", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'sign_in.refused' AND detail->>'reason' = 'id_token_nonce'`); n != 1 {
		t.Fatalf("%d refusals audited for the nonce, want 1", n)
	}
}

// The directory account form: a wrong password is shown as wrong and signs nobody in; the right one
// signs the person in with the roles of their directory groups.
func TestConsoleInBrowserSignsInWithDirectoryPassword(t *testing.T) {
	p := browse(t)
	ad, err := adsim.Start(adsim.DemoDirectory(), adsim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ad.Close() })
	d, err := ldapdir.New(ldapdir.Config{URL: ad.URL(), AllowInsecure: true, BindDN: adsim.DemoServiceDN,
		BindPassword: adsim.DemoServicePassword, UserBaseDN: adsim.DemoBaseDN, UserAttribute: "sAMAccountName",
		GroupBaseDN: adsim.DemoGroupsDN, SubjectAttribute: "objectGUID", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	roles := domain.RoleMap{ldapdir.NormalizeDN(adsim.DemoGroupVettingOfficers): {domain.RoleVettingOfficer}}
	e := newEnv(t, withStaff(0, 0, api.SignIn{LDAP: d, LDAPRoles: roles}))
	p.open(e.url)

	p.see("#sign-in", "Directory account")
	p.fill(`#sign-in input[name="username"]`, "ben.hughes")
	p.fill(`#sign-in input[name="password"]`, "not-his-password")
	p.click(`#sign-in form:has(input[name="username"]) button[type="submit"]`)
	p.see(`#sign-in form:has(input[name="username"]) [role="alert"]`, "the user name or password is wrong")
	if p.has("#sign-out") || liveSessions(e) != 0 {
		t.Fatal("a wrong password signed in")
	}

	p.fill(`#sign-in input[name="password"]`, adsim.DemoPassword)
	p.click(`#sign-in form:has(input[name="username"]) button[type="submit"]`)
	p.see("#who", "Ben Hughes", "(vetting_officer)")
	p.see("h1", "Vetting cases")
	if n := e.count(`SELECT count(*) FROM staff_sessions s JOIN staff_users u ON u.id = s.user_id
		WHERE s.ended_at IS NULL AND s.method = 'ldap' AND u.directory = 'ldap' AND u.display_name = 'Ben Hughes'`); n != 1 {
		t.Fatalf("%d live LDAP sessions of Ben's, want 1", n)
	}
}

// A person signed in with their token issues themselves a narrower one on My account: its secret is
// shown once, and only once; the list shows its prefix and scope, never the secret. Sign out everywhere
// then signs them out.
func TestConsoleInBrowserIssuesTokenShownOnce(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.see("#who", "(case_worker)")
	if kept := p.keeps(); strings.Contains(kept, e.tokens[domain.RoleCaseWorker]) {
		t.Fatal("the console keeps the token it signed in with")
	}
	if n := e.count(`SELECT count(*) FROM staff_sessions WHERE method = 'token' AND ended_at IS NULL AND user_id = $1`,
		e.users[domain.RoleCaseWorker].ID); n != 1 {
		t.Fatalf("%d token sessions, want 1", n)
	}

	p.click(`#who a[href="#/account"]`)
	p.see("h1", "My account")
	expires := time.Now().AddDate(0, 0, 12).Format(time.DateOnly)
	p.fill(`input[name="name"]`, "laptop script")
	p.do(chromedp.SetValue(chromedp.CSS(`input[name="expires"]`), expires))
	if !eval[bool](p, `document.querySelector('input[name="scope:cases:read"]').checked &&
		[...document.querySelectorAll('input[name^="scope:"]:checked')].length === 1`) {
		t.Fatal(`the new token's scopes are not just "cases:read"`)
	}
	p.clickButton("Issue")
	p.see("#token-secret")
	secret := p.text("#token-secret")
	if !strings.HasPrefix(secret, "sat_") {
		t.Fatalf("the secret shown is %q, want sat_…", secret)
	}
	p.see(".secret", "copy it now, it is not shown again")
	p.see("#tokens", "laptop script", "cases:read")
	row := eval[string](p, `[...document.querySelectorAll("#tokens tr")].find((r) => r.innerText.includes("laptop script")).innerText`)
	prefix := eval[string](p, `[...document.querySelectorAll("#tokens tr")].find((r) => r.innerText.includes("laptop script")).querySelector("code").innerText`)
	if !strings.HasPrefix(prefix, "sat_") || !strings.HasPrefix(secret, prefix) || strings.Contains(row, secret) {
		t.Fatalf("the token's row %q: want its prefix of %q, never the secret", row, secret)
	}
	if n := e.count(`SELECT count(*) FROM api_tokens WHERE user_id = $1 AND name = 'laptop script' AND scopes = '{cases:read}'
		AND prefix = $2 AND expires_at::date = $3::date AND revoked_at IS NULL`, e.users[domain.RoleCaseWorker].ID, prefix, expires); n != 1 {
		t.Fatalf("the server recorded %d such tokens, want 1", n)
	}

	p.click(`#nav a[href="#/cases"]`)
	p.see("h1", "Vetting cases")
	p.click(`#who a[href="#/account"]`)
	p.see("h1", "My account")
	p.see("#tokens", "laptop script", prefix, "cases:read")
	if p.has("#token-secret") || strings.Contains(p.text("main"), secret) {
		t.Fatal("the secret is shown again")
	}

	// Sign out everywhere ends this session too: back to the sign-in page.
	p.clickButton("Sign out everywhere")
	p.see("#sign-in", "API token")
	if n := liveSessions(e); n != 0 {
		t.Fatalf("%d live sessions after signing out everywhere", n)
	}
}

// An administrator adds a user through the Users screen, opens them and deactivates them: the list then
// shows them deactivated, and the server has them inactive.
func TestConsoleInBrowserAdministersUsers(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleAdmin], "Test admin")
	p.click("#nav-users")
	p.see("h1", "Users")
	p.see("#users", "Test case_worker")

	p.fill(`input[name="displayName"]`, "Dora Dean")
	p.fill(`input[name="email"]`, "dora.dean@test.invalid")
	p.do(chromedp.SetValue(chromedp.CSS(`select[name="directory"]`), "local"))
	p.click(`input[name="role:case_worker"]`)
	p.clickButton("Add")
	p.see("#users", "Dora Dean", "dora.dean@test.invalid", "case_worker")
	if n := e.count(`SELECT count(*) FROM staff_users WHERE email = 'dora.dean@test.invalid' AND active AND directory = 'local'
		AND roles = '{case_worker}'`); n != 1 {
		t.Fatalf("the server recorded %d such users, want 1", n)
	}

	p.do(chromedp.Click(chromedp.Search(`//table[@id="users"]//tr[td[normalize-space()="Dora Dean"]]`), chromedp.NodeVisible))
	p.see("h1", "Dora Dean")
	p.see("main", "dora.dean@test.invalid", "local", "active", "Issue a token to hand over")
	if text := p.text("main"); strings.Contains(text, "[object") {
		t.Fatalf("the user's page shows a script's object in place of its content:\n%s", text)
	}
	p.clickButton("Deactivate (ends their sessions and tokens now)")
	p.see("main", "deactivated")
	p.seeButton("Reactivate")

	p.click("#nav-users")
	p.see("h1", "Users")
	if row := eval[string](p, `[...document.querySelectorAll("#users tr")].find((r) => r.innerText.includes("Dora Dean")).innerText`); !strings.Contains(row, "deactivated") {
		t.Fatalf("Dora's row in the list: %q, want deactivated", row)
	}
	if n := e.count(`SELECT count(*) FROM staff_users WHERE email = 'dora.dean@test.invalid' AND NOT active`); n != 1 {
		t.Fatal("the server has Dora still active")
	}
}

// An auditor asks for a person's evidence pack from the Evidence packs screen, watches it become ready,
// and copies its link, which downloads the pack.
func TestConsoleInBrowserRequestsAnEvidencePack(t *testing.T) {
	p := browse(t)
	e := newEnv(t, withEvidence(t))
	person := e.createPerson("Eve", "Dence", "1988-08-08")
	e.sequence()
	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleAuditor], "Test auditor")
	p.click(`#nav a[href="#/evidence"]`)
	p.see("h1", "Evidence packs")
	p.fill(`input[name="id"]`, person)
	p.clickButton("Request pack")
	p.see("#evidence-packs", "person "+person, "auditor", "ready", "100%")
	p.clickButton("Copy link")
	p.see("#evidence-link")
	link := eval[string](p, `document.querySelector("#evidence-link").value`)
	if !strings.HasPrefix(link, "/evidence/download/") {
		t.Fatalf("the link shown is %q", link)
	}
	if r := e.get(link); r.status != 200 {
		t.Fatalf("the copied link: %d %s", r.status, r.body)
	}
}

// A session that ends while the console is in use (it expired, or the user signed out everywhere) does
// not strand the user: the next screen they open asks them to sign in again, saying why, and signing in
// brings them to that screen.
func TestConsoleInBrowserSessionEndsGracefully(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	e.createPerson("Mae", "Jemison", "1986-10-17")
	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.click(`#nav a[href="#/clearances"]`)
	p.see("h1", "Clearance register")
	if p.has("#session-ended") {
		t.Fatal("a session-ended notice while signed in")
	}

	e.must(200, domain.RoleCaseWorker, "DELETE", "/api/v1/me/sessions", nil) // signed out everywhere, elsewhere
	p.click(`#nav a[href="#/persons"]`)
	p.see("#session-ended", "Your session has ended")
	p.accessible("the sign-in page after the session ended")
	if hash := eval[string](p, `location.hash`); hash != "#/persons" {
		t.Fatalf("the address after the session ended: %q", hash)
	}
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.see("h1", "Persons")
	p.see("main", "Jemison")
	if p.has("#session-ended") {
		t.Fatal("the notice stays after signing in again")
	}
}

// While a screen reads, what is on the screen stays and the header says it is loading; the new screen
// takes the keyboard focus at its heading; when the API cannot be reached, the screen says so in words,
// and the next try works; a screen that never answers does not keep the user from going elsewhere.
func TestConsoleInBrowserLoadingAndUnreachable(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleCaseWorker], "Test case_worker")
	p.see("h1", "Vetting cases")

	// The network holds every answer until the test lets it through.
	eval[bool](p, `(() => { window.realFetch = window.fetch; window.held = [];
		window.fetch = (...args) => new Promise((resolve, reject) => window.held.push(() => window.realFetch(...args).then(resolve, reject)));
		return true; })()`)
	p.click(`#nav a[href="#/clearances"]`)
	p.waitFor("the loading notice", `!document.getElementById("busy").hidden && document.querySelector("main").getAttribute("aria-busy") === "true"`)
	p.see("h1", "Vetting cases") // the screen in place until the next one is read
	eval[bool](p, `(() => { window.fetch = window.realFetch; window.held.splice(0).forEach((go) => go()); return true; })()`)
	p.see("h1", "Clearance register")
	p.waitFor("the keyboard focus on the new screen's heading", `document.activeElement === document.querySelector("main h1")`)
	p.waitFor("the loading notice gone", `document.getElementById("busy").hidden && !document.querySelector("main").hasAttribute("aria-busy")`)

	eval[bool](p, `(window.fetch = () => Promise.reject(new TypeError("Failed to fetch")), true)`)
	p.click(`#nav a[href="#/persons"]`)
	p.see("main .error", "SignetAssure could not be reached")
	eval[bool](p, `(window.fetch = window.realFetch, true)`)
	p.click(`#nav a[href="#/clearances"]`)
	p.see("h1", "Clearance register")

	// A screen whose reads never answer does not keep the user from going elsewhere.
	eval[bool](p, `(window.fetch = (url, opts) => String(url).includes("/persons") ? new Promise(() => {}) : window.realFetch(url, opts), true)`)
	p.click(`#nav a[href="#/persons"]`)
	p.waitFor("the persons screen reading", `!document.getElementById("busy").hidden`)
	p.click(`#nav a[href="#/messages"]`)
	p.see("h1", "Messages")
	eval[bool](p, `(window.fetch = window.realFetch, true)`)
}
