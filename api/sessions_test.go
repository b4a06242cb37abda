package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

const sessionCookie = "__Host-signetassure_session"

// sessionFrom reads the session cookie a sign-in set, and checks how it is set.
func sessionFrom(t testing.TB, r resp) string {
	t.Helper()
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name != sessionCookie {
			continue
		}
		if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Fatalf("session cookie set as %q: want HttpOnly, Secure, SameSite=Lax, Path=/, no Domain", r.header.Values("Set-Cookie"))
		}
		return ck.Value
	}
	t.Fatalf("no %s cookie set (%d %s)", sessionCookie, r.status, r.body)
	return ""
}

// The console's sessions: a token is exchanged for a cookie (a new session each sign-in); the cookie
// works within the token's scopes, ends on sign-out, everywhere at once, on deactivation, when idle and
// at its absolute limit, each time with the same 401; a cross-site browser request is refused.
func TestConsoleSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	with := func(cookie, method, path string, body any, headers ...string) resp {
		t.Helper()
		h := map[string]string{"Cookie": sessionCookie + "=" + cookie}
		for i := 0; i+1 < len(headers); i += 2 {
			h[headers[i]] = headers[i+1]
		}
		return e.callWith("", method, path, body, h)
	}
	signIn := func(token string) string {
		t.Helper()
		r := e.callWith("", "POST", "/api/v1/session", nil, map[string]string{"Authorization": "Bearer " + token})
		if r.status != 201 {
			t.Fatalf("sign-in with a token: %d %s", r.status, r.body)
		}
		return sessionFrom(t, r)
	}

	first, second := signIn(e.tokens[domain.RoleCaseWorker]), signIn(e.tokens[domain.RoleCaseWorker])
	if first == second || !strings.HasPrefix(first, "sas_") {
		t.Fatalf("two sign-ins gave sessions %q and %q: want two new ones", first, second)
	}
	if r := with(first, "GET", "/api/v1/me", nil); r.status != 200 || r.json(t)["id"] != e.users[domain.RoleCaseWorker].ID.String() {
		t.Fatalf("the session's /me: %d %s", r.status, r.body)
	}
	// A browser on another site cannot use the cookie to change anything.
	before := e.count(`SELECT count(*) FROM persons`)
	person := map[string]any{"firstName": "Cross", "lastName": "Site", "dateOfBirth": "1980-01-02"}
	for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
		if r := with(first, "POST", "/api/v1/persons", person, h...); r.status != 403 {
			t.Fatalf("a cross-site POST (%s) with the cookie: %d %s", h[0], r.status, r.body)
		}
	}
	if n := e.count(`SELECT count(*) FROM persons`); n != before {
		t.Fatal("a cross-site request wrote a person")
	}
	if r := with(first, "POST", "/api/v1/persons", person, "Sec-Fetch-Site", "same-origin"); r.status != 201 {
		t.Fatalf("the console's own POST: %d %s", r.status, r.body)
	}

	// A session from a token keeps the token's scopes.
	reader := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/me/tokens",
		map[string]any{"name": "read only", "expiresAt": in, "scopes": []string{"cases:read"}})["token"].(string)
	narrow := signIn(reader)
	if r := with(narrow, "POST", "/api/v1/persons", person); r.status != 403 || !strings.Contains(string(r.body), "cases:write") {
		t.Fatalf("a write in a cases:read session: %d %s", r.status, r.body)
	}

	unknown := with("sas_nobody", "GET", "/api/v1/me", nil)
	if unknown.status != 401 {
		t.Fatalf("an unknown session: %d %s", unknown.status, unknown.body)
	}
	same401 := func(what string, r resp) {
		t.Helper()
		if r.status != 401 || string(r.body) != string(unknown.body) {
			t.Fatalf("%s: %d %s, want the same 401 as an unknown session", what, r.status, r.body)
		}
	}

	// Sign-out ends this session only and clears the cookie.
	out := with(first, "DELETE", "/api/v1/session", nil)
	if out.status != 204 || !strings.Contains(strings.Join(out.header.Values("Set-Cookie"), ";"), sessionCookie+"=;") {
		t.Fatalf("sign-out: %d %q", out.status, out.header.Values("Set-Cookie"))
	}
	same401("after sign-out", with(first, "GET", "/api/v1/me", nil))
	if r := with(second, "GET", "/api/v1/me/sessions", nil); r.status != 200 || !strings.Contains(string(r.body), `"endReason":"signed_out"`) ||
		!strings.Contains(string(r.body), `"current":true`) {
		t.Fatalf("the user's sessions: %d %s", r.status, r.body)
	}

	// Idle and absolute limits.
	idle, absolute := signIn(e.tokens[domain.RoleCaseWorker]), signIn(e.tokens[domain.RoleCaseWorker])
	testenv.Exec(t, e.database, `UPDATE staff_sessions SET last_seen_at = now() - interval '31 minutes' WHERE secret_hash = sha256(convert_to($1, 'UTF8'))`, idle)
	testenv.Exec(t, e.database, `UPDATE staff_sessions SET expires_at = now() - interval '1 second' WHERE secret_hash = sha256(convert_to($1, 'UTF8'))`, absolute)
	same401("idle for 31 minutes", with(idle, "GET", "/api/v1/me", nil))
	same401("past its absolute limit", with(absolute, "GET", "/api/v1/me", nil))

	// Sign-out everywhere ends every session of the user, not others'.
	other := signIn(e.tokens[domain.RoleVettingOfficer])
	if r := with(second, "DELETE", "/api/v1/me/sessions", nil); r.status != 200 || r.json(t)["ended"] != float64(4) {
		t.Fatalf("sign-out everywhere: %d %s, want 4 ended (second, narrow, idle, absolute)", r.status, r.body)
	}
	same401("after sign-out everywhere", with(second, "GET", "/api/v1/me", nil))
	same401("another session after sign-out everywhere", with(narrow, "GET", "/api/v1/me", nil))
	if r := with(other, "GET", "/api/v1/me", nil); r.status != 200 {
		t.Fatalf("another user's session after sign-out everywhere: %d", r.status)
	}

	// Deactivating a user ends their sessions at once.
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+officer, map[string]any{"active": false})
	same401("a deactivated user's session", with(other, "GET", "/api/v1/me", nil))
	if n := e.count(`SELECT count(*) FROM staff_sessions WHERE user_id = $1 AND ended_at IS NULL`, officer); n != 0 {
		t.Fatalf("%d sessions of a deactivated user still live", n)
	}
}

// Staff requests are limited per token or session and per address: past either, 429 with Retry-After,
// and nothing done.
func TestStaffRateLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withStaff(5, 8, api.SignIn{}))
	for i := range 5 {
		if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/me", nil); r.status != 200 {
			t.Fatalf("call %d within the token's rate: %d", i+1, r.status)
		}
	}
	r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/me", nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "one token or session") {
		t.Fatalf("past the token's rate: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	// Another token from the same address has its own allowance, until the address's runs out: the
	// address has made 5 calls that were let through, and these three make 8.
	for i := range 3 {
		if r := e.call(domain.RoleVettingOfficer, "GET", "/api/v1/me", nil); r.status != 200 {
			t.Fatalf("another token, call %d: %d %s", i+1, r.status, r.body)
		}
	}
	before := e.count(`SELECT count(*) FROM persons`)
	r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/persons", map[string]any{"firstName": "Rate", "lastName": "Limited", "dateOfBirth": "1980-01-02"})
	if r.status != 429 || r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "from one address") {
		t.Fatalf("past the address's rate: %d %q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
	if n := e.count(`SELECT count(*) FROM persons`); n != before {
		t.Fatal("a refused call wrote a person")
	}
}
