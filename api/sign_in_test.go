package api_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/entra"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/ldapdir"
	"github.com/signetassure/signetassure/sim/entrasim"
)

// noRedirects is a browser that shows each redirect instead of following it.
var noRedirects = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get fetches u with cookies, not following a redirect.
func get(t testing.TB, u string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

func cookieOf(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	return nil
}

// entraEnv is the API with Sign in with Microsoft against the Entra ID simulator.
type entraEnv struct {
	*env
	sim   *entrasim.Sim
	roles domain.RoleMap
}

// entraCallback is the redirect URI registered for the tests; the test's browser takes the code and
// state from it to the API's own address.
const entraCallback = "https://signetassure.test/api/v1/sign-in/entra/callback"

func newEntraEnv(t testing.TB) *entraEnv {
	sim := entrasim.New(entrasim.Options{RedirectURIs: []string{entraCallback}, GraphMaxPageSize: 100})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	d, err := entra.NewOnDemand(entra.Config{TenantID: entrasim.DefaultTenantID, ClientID: entrasim.DefaultClientID,
		ClientSecret: entrasim.DefaultClientSecret, RedirectURL: entraCallback, Authority: ts.URL, GraphURL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	roles := domain.RoleMap{entrasim.GroupCaseWorkers: {domain.RoleCaseWorker}, strings.ToLower(entrasim.AppRoleAuditReader): {domain.RoleAuditor}}
	return &entraEnv{env: newEnv(t, withStaff(0, 0, api.SignIn{Entra: d, EntraRoles: roles})), sim: sim, roles: roles}
}

// signIn walks a browser through Sign in with Microsoft as the person of that e-mail; spoil, when
// given, changes the return from Entra ID (its query and the browser's cookie) before it reaches us.
// It returns the API's final redirect and the session cookie, if one was set.
func (e *entraEnv) signIn(t testing.TB, email string, spoil func(q url.Values, browser **http.Cookie)) (string, *http.Cookie) {
	t.Helper()
	start := get(t, e.url+"/api/v1/sign-in/entra?returnTo=/ui/cases")
	browser := cookieOf(start, "signetassure_sign_in")
	if start.StatusCode != http.StatusFound || browser == nil || !browser.HttpOnly {
		t.Fatalf("start: %d, browser cookie %v", start.StatusCode, browser)
	}
	authorize, err := url.Parse(start.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := authorize.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("the authorize request lacks PKCE, nonce or state: %s", authorize)
	}
	q.Set("login_hint", email)
	authorize.RawQuery = q.Encode()
	picked := get(t, authorize.String())
	back, err := url.Parse(picked.Header.Get("Location"))
	if picked.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(back.String(), entraCallback) {
		t.Fatalf("Entra ID's answer: %d %s", picked.StatusCode, picked.Header.Get("Location"))
	}
	bq := back.Query()
	if spoil != nil {
		spoil(bq, &browser)
	}
	var cookies []*http.Cookie
	if browser != nil {
		cookies = append(cookies, browser)
	}
	res := get(t, e.url+"/api/v1/sign-in/entra/callback?"+bq.Encode(), cookies...)
	if res.StatusCode != http.StatusFound {
		t.Fatalf("callback: %d", res.StatusCode)
	}
	return res.Header.Get("Location"), cookieOf(res, sessionCookie)
}

func (e *entraEnv) me(t testing.TB, session *http.Cookie) resp {
	t.Helper()
	return e.callWith("", "GET", "/api/v1/me", nil, map[string]string{"Cookie": session.Name + "=" + session.Value})
}

func (e *entraEnv) refusals(reason string) int {
	return e.count(`SELECT count(*) FROM audit_log WHERE action = 'sign_in.refused' AND detail->>'reason' = $1`, reason)
}

// Sign in with Microsoft: the authorization code flow with PKCE, the ID token checked, the person made a
// user just in time with the roles their groups (or app roles, or, past 200 groups, Graph) give.
func TestEntraSignIn(t *testing.T) {
	t.Parallel()
	e := newEntraEnv(t)
	if r := e.call("", "GET", "/api/v1/sign-in", nil); r.status != 200 || r.json(t)["entra"] != true || r.json(t)["ldap"] != false {
		t.Fatalf("sign-in methods: %d %s", r.status, r.body)
	}
	to, session := e.signIn(t, "carol.case@demo.signetassure.test", nil)
	if to != "/ui/cases" || session == nil {
		t.Fatalf("signed in to %q with session %v", to, session)
	}
	me := e.me(t, session).json(t)
	if me["displayName"] != "Carol Case" || me["directory"] != "entra" || !slices.Equal(anyStrings(me["roles"]), []string{"case_worker"}) {
		t.Fatalf("the signed-in user: %v", me)
	}
	// A second sign-in is the same user, in a new session.
	_, again := e.signIn(t, "carol.case@demo.signetassure.test", nil)
	if again.Value == session.Value || e.me(t, again).json(t)["id"] != me["id"] {
		t.Fatal("a second sign-in is not a new session of the same user")
	}
	// An app role maps too; past 200 groups the groups come from Graph, paged.
	if r := e.me(t, second(e.signIn(t, "audrey.audit@demo.signetassure.test", nil))).json(t); !slices.Equal(anyStrings(r["roles"]), []string{"auditor"}) {
		t.Fatalf("the auditor by app role: %v", r)
	}
	graphBefore := e.sim.Stats()
	if r := e.me(t, second(e.signIn(t, "olive.overage@demo.signetassure.test", nil))).json(t); !slices.Equal(anyStrings(r["roles"]), []string{"case_worker"}) {
		t.Fatalf("the overage user: %v", r)
	}
	if e.sim.Stats() == graphBefore {
		t.Fatal("the overage user's groups were not read from Graph")
	}
	// Signing-key rollover: the new key's tokens verify.
	e.sim.Rollover()
	if _, s := e.signIn(t, "carol.case@demo.signetassure.test", nil); s == nil {
		t.Fatal("no sign-in after the signing key rolled over")
	}
}

func second[A, B any](_ A, b B) B { return b }

func anyStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// Every way an Entra ID sign-in can be wrong is refused, audited with its reason, and starts no session:
// a forged or replayed state, another browser, and ID tokens with the wrong issuer, audience, nonce or
// tenant, expired, unsigned or signed by a key Entra ID does not publish.
func TestEntraSignInRefusals(t *testing.T) {
	t.Parallel()
	e := newEntraEnv(t)
	refused := func(what, reason string, spoil func(url.Values, **http.Cookie)) {
		t.Helper()
		before := e.refusals(reason)
		to, session := e.signIn(t, "carol.case@demo.signetassure.test", spoil)
		if session != nil || !strings.HasPrefix(to, "/ui/?signInError=") {
			t.Errorf("%s: signed in (to %q)", what, to)
		}
		if e.refusals(reason) != before+1 {
			t.Errorf("%s: no sign_in.refused audit entry with reason %s", what, reason)
		}
	}
	refused("no browser cookie", "state_missing", func(_ url.Values, b **http.Cookie) { *b = nil })
	refused("another browser's cookie", "state_unknown", func(_ url.Values, b **http.Cookie) {
		*b = &http.Cookie{Name: "signetassure_sign_in", Value: "another-browser"}
	})
	refused("a forged state", "state_unknown", func(q url.Values, _ **http.Cookie) { q.Set("state", "forged") })
	refused("an error from Entra ID", "directory_error:access_denied", func(q url.Values, _ **http.Cookie) {
		q.Del("code")
		q.Set("error", "access_denied")
	})
	for spoil, reason := range map[string]string{
		entrasim.SpoilWrongIssuer: "id_token_issuer", entrasim.SpoilWrongAudience: "id_token_audience",
		entrasim.SpoilWrongNonce: "id_token_nonce", entrasim.SpoilExpired: "id_token_expired",
		entrasim.SpoilAlgNone: "id_token_unsigned", entrasim.SpoilUnknownKey: "id_token_signature",
		entrasim.SpoilWrongTenant: "tenant",
	} {
		e.sim.SetFaults(entrasim.Faults{NextIDToken: spoil})
		refused("an ID token spoiled by "+spoil, reason, nil)
	}
	// A state is used once: the same return replayed is refused.
	var replay url.Values
	var browser *http.Cookie
	if _, s := e.signIn(t, "carol.case@demo.signetassure.test", func(q url.Values, b **http.Cookie) {
		replay, browser = url.Values{}, *b
		for k, v := range q {
			replay[k] = v
		}
	}); s == nil {
		t.Fatal("the sign-in to replay failed")
	}
	before := e.refusals("state_unknown")
	if res := get(t, e.url+"/api/v1/sign-in/entra/callback?"+replay.Encode(), browser); cookieOf(res, sessionCookie) != nil ||
		e.refusals("state_unknown") != before+1 {
		t.Fatal("a replayed return signed in again, or was not audited")
	}
	if n := e.count(`SELECT count(*) FROM staff_sessions`); n != 1 {
		t.Fatalf("%d sessions, want only the one good sign-in's", n)
	}
	// Entra ID down: a clear error, no session.
	e.sim.SetFaults(entrasim.Faults{TokenDown: true})
	if to, s := e.signIn(t, "carol.case@demo.signetassure.test", nil); s != nil || to != "/ui/?signInError=unavailable" {
		t.Fatalf("with the token endpoint down: to %q, session %v", to, s)
	}
}

// A person whose groups no longer give a role loses access at their next sign-in: the user is
// deactivated by the directory, their sessions end; their groups given back, they sign in again. A user
// an administrator deactivated stays out.
func TestDirectoryRemovesAccess(t *testing.T) {
	t.Parallel()
	e := newEntraEnv(t)
	_, first := e.signIn(t, "carol.case@demo.signetassure.test", nil)
	id := e.me(t, first).json(t)["id"].(string)
	delete(e.roles, entrasim.GroupCaseWorkers) // the organisation stops mapping Carol's group
	to, s := e.signIn(t, "carol.case@demo.signetassure.test", nil)
	if s != nil || !strings.Contains(to, "signInError=") {
		t.Fatalf("signed in with no role: %q", to)
	}
	if r := e.me(t, first); r.status != 401 {
		t.Fatalf("the earlier session after the directory removed the role: %d", r.status)
	}
	if n := e.count(`SELECT count(*) FROM staff_users WHERE id = $1 AND NOT active AND deactivated_by = 'directory'`, id); n != 1 {
		t.Fatal("the user is not deactivated by the directory")
	}
	if e.refusals("no_role") != 1 {
		t.Fatal("the refusal is not audited with the reason no_role")
	}
	e.roles[entrasim.GroupCaseWorkers] = []domain.Role{domain.RoleCaseWorker}
	_, back := e.signIn(t, "carol.case@demo.signetassure.test", nil)
	if back == nil || e.me(t, back).json(t)["id"] != id {
		t.Fatal("given the role back, Carol does not sign in as the same user")
	}
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+id, map[string]any{"active": false})
	if _, s := e.signIn(t, "carol.case@demo.signetassure.test", nil); s != nil || e.refusals("deactivated") != 1 {
		t.Fatal("a user an administrator deactivated signed in through the directory, or was not audited as deactivated")
	}
	// A local account's e-mail is not taken over by a directory's claim.
	e.must(201, domain.RoleAdmin, "POST", "/api/v1/users", map[string]any{"displayName": "Victor Local",
		"email": "victor.vett@demo.signetassure.test", "roles": []string{"vetting_officer"}})
	e.roles[entrasim.GroupVettingOfficers] = []domain.Role{domain.RoleVettingOfficer}
	if _, s := e.signIn(t, "victor.vett@demo.signetassure.test", nil); s != nil || e.refusals("not_linked") != 1 {
		t.Fatal("a directory sign-in took over a local account by its e-mail, or was not audited as not_linked")
	}
}

// LDAP sign-in against a real OpenLDAP server: the password checked by binding, nested groups mapped to
// roles, injection in the user name matching nobody, and a directory that is down giving a clear 503.
// A person taken out of their groups in the directory loses access at their next sign-in.
func TestLDAPSignIn(t *testing.T) {
	t.Parallel()
	s := testenv.NewSlapd(t, testenv.SlapdFixtureLDIF())
	ca, err := ldapdir.LoadCA(s.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ldapdir.Config{URL: s.URL, StartTLS: true, RootCAs: ca, BindDN: testenv.SlapdServiceDN,
		BindPassword: testenv.SlapdServicePassword, UserBaseDN: testenv.SlapdPeopleDN, UserAttribute: "uid",
		GroupBaseDN: testenv.SlapdGroupsDN, Nested: ldapdir.NestedRecursive, Timeout: 5 * time.Second}
	d, err := ldapdir.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	roles := domain.RoleMap{ldapdir.NormalizeDN(testenv.SlapdGroupStaff): {domain.RoleCaseWorker},
		ldapdir.NormalizeDN(testenv.SlapdGroupVettingOfficers): {domain.RoleVettingOfficer}}
	e := newEnv(t, withStaff(0, 0, api.SignIn{LDAP: d, LDAPRoles: roles}))
	password := func(user, pw string) resp {
		return e.call("", "POST", "/api/v1/sign-in/ldap", map[string]any{"username": user, "password": pw})
	}
	r := password("alice", testenv.SlapdPasswords["alice"])
	if r.status != 201 {
		t.Fatalf("alice signs in: %d %s", r.status, r.body)
	}
	session := sessionFrom(t, r)
	// alice is in vetting-officers, and through it (nested) in staff.
	if got := anyStrings(r.json(t)["user"].(map[string]any)["roles"]); !slices.Equal(got, []string{"case_worker", "vetting_officer"}) {
		t.Fatalf("alice's roles %v", got)
	}
	wrong := password("alice", "not-her-password")
	if wrong.status != 401 {
		t.Fatalf("a wrong password: %d %s", wrong.status, wrong.body)
	}
	for _, name := range []string{"nobody", "*", "alice)(|(uid=*", "al*", `alice\00`} {
		if r := password(name, testenv.SlapdPasswords["alice"]); r.status != 401 || string(r.body) != string(wrong.body) {
			t.Errorf("user name %q: %d %s, want the wrong password's 401", name, r.status, r.body)
		}
	}
	if n := e.count(`SELECT coalesce(sum(count), 0) FROM external_auth_failures WHERE endpoint = 'sign-in'`); n != 6 {
		t.Errorf("%d failed sign-ins counted, want 6", n)
	}
	wantField(t, password("alice", ""), 400, "password", "an empty password")

	// alice is taken out of her groups in the directory itself.
	conn, err := ldap.DialURL(s.LDAPSURL, ldap.DialWithTLSConfig(&tls.Config{RootCAs: s.CA, ServerName: "127.0.0.1"}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(testenv.SlapdRootDN, testenv.SlapdRootPassword); err != nil {
		t.Fatal(err)
	}
	// (a groupOfNames keeps one member at least: vetting-officers gets admin in her place)
	for _, g := range []string{testenv.SlapdGroupVettingOfficers, testenv.SlapdGroupLoopA} {
		m := ldap.NewModifyRequest(g, nil)
		if g == testenv.SlapdGroupVettingOfficers {
			m.Add("member", []string{"uid=admin," + testenv.SlapdPeopleDN})
		}
		m.Delete("member", []string{"uid=alice," + testenv.SlapdPeopleDN})
		if err := conn.Modify(m); err != nil {
			t.Fatal(err)
		}
	}
	if r := password("alice", testenv.SlapdPasswords["alice"]); r.status != 403 {
		t.Fatalf("alice without groups: %d %s", r.status, r.body)
	}
	if r := e.callWith("", "GET", "/api/v1/me", nil, map[string]string{"Cookie": sessionCookie + "=" + session}); r.status != 401 {
		t.Fatalf("alice's earlier session after she lost her groups: %d", r.status)
	}

	// The directory down: 503, never a sign-in without the check.
	s.Stop()
	if r := password("bob", testenv.SlapdPasswords["bob"]); r.status != 503 || !strings.Contains(string(r.body), "directory") {
		t.Fatalf("with the directory down: %d %s", r.status, r.body)
	}
}
