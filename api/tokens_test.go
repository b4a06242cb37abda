package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// A staff user issues themselves a token that expires (within the maximum), sees it listed by its prefix
// and never its secret, rotates it (the old one stops at once) and revokes it; an administrator revokes
// anyone's. The secret is in the one answer that issues it and nowhere kept, not even for a keyed retry.
func TestTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	as := func(token, method, path string, body any) resp {
		t.Helper()
		return e.callWith("", method, path, body, map[string]string{"Authorization": "Bearer " + token})
	}
	in := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

	before := e.count(`SELECT count(*) FROM api_tokens`)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"name": "laptop"}, "expiresAt"},
		{map[string]any{"name": "laptop", "expiresAt": in(-time.Hour), "scopes": []string{"cases:read"}}, "expiresAt"},
		{map[string]any{"name": "laptop", "expiresAt": in(91 * 24 * time.Hour)}, "expiresAt"},
		{map[string]any{"name": "laptop", "expiresAt": "next week"}, "expiresAt"},
		{map[string]any{"expiresAt": in(time.Hour)}, "name"},
		{map[string]any{"name": "laptop", "expiresAt": in(time.Hour)}, "scopes"},
		{map[string]any{"name": "laptop", "expiresAt": in(time.Hour), "scopes": []string{"cases:delete"}}, "scopes"},
		// a case worker's roles do not give users:admin
		{map[string]any{"name": "laptop", "expiresAt": in(time.Hour), "scopes": []string{"cases:read", "users:admin"}}, "scopes"},
	} {
		wantField(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", bad.body), 400, bad.field, fmt.Sprint(bad.body))
	}
	if n := e.count(`SELECT count(*) FROM api_tokens`); n != before {
		t.Fatalf("refused requests issued %d tokens", n-before)
	}

	key := map[string]string{"Idempotency-Key": "token-laptop"}
	body := map[string]any{"name": "laptop", "expiresAt": in(30 * 24 * time.Hour), "scopes": []string{"cases:read", "cases:write"}}
	issued := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", body, key)
	if issued.status != 201 {
		t.Fatalf("issue: %d %s", issued.status, issued.body)
	}
	tok := issued.json(t)
	secret, id := tok["token"].(string), tok["id"].(string)
	if !strings.HasPrefix(secret, "sat_") || tok["prefix"] != secret[:10] || tok["status"] != "active" {
		t.Fatalf("issued %v", tok)
	}
	if r := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", body, key); r.status != 409 || strings.Contains(string(r.body), secret) {
		t.Fatalf("a keyed retry of the issue: %d %s, want 409 without the secret", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM idempotency_keys WHERE position(convert_to($1, 'UTF8') IN coalesce(body, '')) > 0`, secret[4:]); n != 0 {
		t.Fatal("the secret is kept for a keyed retry")
	}
	me := as(secret, "GET", "/api/v1/me", nil)
	if me.status != 200 || me.json(t)["email"] != e.users[domain.RoleCaseWorker].Email {
		t.Fatalf("the new token signs in as %d %s", me.status, me.body)
	}
	list := as(secret, "GET", "/api/v1/me/tokens", nil)
	if list.status != 200 || strings.Contains(string(list.body), secret[10:]) || !strings.Contains(string(list.body), id) {
		t.Fatalf("the list: %d %s", list.status, list.body)
	}

	// Rotate: a new secret of the same name and expiry; the old one is refused at once.
	rotated := as(secret, "POST", "/api/v1/me/tokens/"+id+"/rotate", map[string]any{})
	if rotated.status != 201 {
		t.Fatalf("rotate: %d %s", rotated.status, rotated.body)
	}
	next := rotated.json(t)
	if next["name"] != "laptop" || next["expiresAt"] != tok["expiresAt"] || next["token"] == secret {
		t.Fatalf("rotated %v from %v", next, tok)
	}
	if r := as(secret, "GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("the rotated-out token: %d", r.status)
	}
	wantProblem(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/me/tokens/"+id+"/rotate", map[string]any{}), 409, "rotating a revoked token")
	newSecret, newID := next["token"].(string), next["id"].(string)

	// A token from before tokens had to expire is rotated only into one that does.
	legacy := e.users[domain.RoleCaseWorker].ID.String()
	var old string
	var listed []map[string]any
	if err := json.Unmarshal(e.call(domain.RoleAdmin, "GET", "/api/v1/users/"+legacy+"/tokens", nil).body, &listed); err != nil {
		t.Fatal(err)
	}
	for _, tk := range listed {
		if tk["expiresAt"] == nil {
			old = tk["id"].(string)
		}
	}
	wantField(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/me/tokens/"+old+"/rotate", map[string]any{}), 400, "expiresAt", "rotating a token that never expires")

	// Another user's token is not theirs to revoke; their own is, at once.
	wantProblem(t, e.call(domain.RoleVettingOfficer, "DELETE", "/api/v1/me/tokens/"+newID, nil), 404, "revoking another's token")
	if r := e.call(domain.RoleCaseWorker, "DELETE", "/api/v1/me/tokens/"+newID, nil); r.status != 200 || r.json(t)["status"] != "revoked" {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := as(newSecret, "GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("the revoked token: %d", r.status)
	}

	// An administrator lists and revokes anyone's tokens; no one else may.
	worker := e.users[domain.RoleCaseWorker].ID.String()
	third := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", map[string]any{"name": "ci", "expiresAt": in(time.Hour), "scopes": []string{"cases:read"}})
	wantProblem(t, e.call(domain.RoleSecurityController, "GET", "/api/v1/users/"+worker+"/tokens", nil), 403, "a controller listing tokens")
	var theirs []map[string]any
	if r := e.call(domain.RoleAdmin, "GET", "/api/v1/users/"+worker+"/tokens", nil); r.status != 200 || json.Unmarshal(r.body, &theirs) != nil || len(theirs) < 3 {
		t.Fatalf("an admin listing: %d %s", r.status, r.body)
	}
	wantProblem(t, e.call(domain.RoleSecurityController, "DELETE", "/api/v1/users/"+worker+"/tokens/"+third["id"].(string), nil), 403, "a controller revoking")
	e.must(200, domain.RoleAdmin, "DELETE", "/api/v1/users/"+worker+"/tokens/"+third["id"].(string), nil)
	if r := as(third["token"].(string), "GET", "/api/v1/me", nil); r.status != 401 {
		t.Fatalf("the token an admin revoked: %d", r.status)
	}
	for action, want := range map[string]int{"token.issue": 3, "token.rotate": 1, "token.revoke": 2} { // the test's own token, and two
		if n := e.count(`SELECT count(*) FROM audit_log WHERE action = $1 AND entity_id = $2`, action, worker); n != want {
			t.Errorf("%d %s audit entries, want %d", n, action, want)
		}
	}
	if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/me", nil); r.status != http.StatusOK {
		t.Fatalf("the case worker's other token stopped working: %d", r.status)
	}
}

// Unknown, expired and revoked tokens get one and the same 401; an address that keeps presenting bad
// tokens is refused (429 with Retry-After), its good tokens too, and every refusal is counted per address
// and minute outside the audit chain.
func TestStaffAuthenticationFailures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	expired := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", map[string]any{"name": "old", "expiresAt": in, "scopes": []string{"cases:read"}})
	testenv.Exec(t, e.database, `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, expired["id"])
	revoked := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", map[string]any{"name": "gone", "expiresAt": in, "scopes": []string{"cases:read"}})
	e.must(200, domain.RoleCaseWorker, "DELETE", "/api/v1/me/tokens/"+revoked["id"].(string), nil)
	chain := e.count(`SELECT count(*) FROM audit_log`)

	var first string
	for i, token := range []string{"sat_" + strings.Repeat("A", 43), expired["token"].(string), revoked["token"].(string), "", "not-a-token"} {
		r := e.callWith("", "GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer " + token})
		if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Fatalf("token %d: %d %s", i, r.status, r.body)
		}
		if first == "" {
			first = string(r.body)
		} else if string(r.body) != first {
			t.Fatalf("token %d is told apart: %s, not %s", i, r.body, first)
		}
	}
	for i := 5; i < 10; i++ {
		if r := e.callWith("", "GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer sat_wrong"}); r.status != 401 {
			t.Fatalf("failure %d: %d", i+1, r.status)
		}
	}
	limited := e.callWith("", "GET", "/api/v1/me", nil, map[string]string{"Authorization": "Bearer sat_wrong"})
	if limited.status != 429 || limited.header.Get("Retry-After") == "" {
		t.Fatalf("the 11th failure: %d %v", limited.status, limited.header)
	}
	wantProblem(t, e.call(domain.RoleCaseWorker, "GET", "/api/v1/me", nil), 429, "a good token from the address")
	if n := e.count(`SELECT coalesce(sum(count), 0) FROM external_auth_failures WHERE endpoint = 'staff'`); n != 12 {
		t.Fatalf("%d refusals counted, want 12", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_log`); n != chain {
		t.Fatalf("%d audit entries for refused tokens", n-chain)
	}
}

// A token does what its scopes say and no more, within its holder's roles; a token cannot issue a
// mightier one; the OpenAPI document names each route's scope.
func TestTokenScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	as := func(token, method, path string, body any) resp {
		t.Helper()
		return e.callWith("", method, path, body, map[string]string{"Authorization": "Bearer " + token})
	}
	reader := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/me/tokens",
		map[string]any{"name": "reports", "expiresAt": in, "scopes": []string{"cases:read"}})["token"].(string)

	if r := as(reader, "GET", "/api/v1/persons", nil); r.status != 200 {
		t.Fatalf("reading persons with cases:read: %d %s", r.status, r.body)
	}
	before := e.count(`SELECT count(*) FROM persons`)
	r := as(reader, "POST", "/api/v1/persons", map[string]any{"firstName": "Ann", "lastName": "Other", "dateOfBirth": "1980-01-02"})
	if r.status != 403 || !strings.Contains(string(r.body), "cases:write") {
		t.Fatalf("writing a person with cases:read only: %d %s, want 403 naming cases:write", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM persons`); n != before {
		t.Fatal("a refused write wrote a person")
	}
	if r := as(reader, "GET", "/api/v1/access/levels", nil); r.status != 403 || !strings.Contains(string(r.body), "access:read") {
		t.Fatalf("reading access levels with cases:read only: %d %s, want 403 naming access:read", r.status, r.body)
	}
	// A token limited to cases:read issues only within it, and lists and revokes its holder's tokens.
	wantField(t, as(reader, "POST", "/api/v1/me/tokens", map[string]any{"name": "more", "expiresAt": in,
		"scopes": []string{"cases:read", "cases:write"}}), 400, "scopes", "a token issuing a mightier one")
	if r := as(reader, "POST", "/api/v1/me/tokens", map[string]any{"name": "same", "expiresAt": in, "scopes": []string{"cases:read"}}); r.status != 201 {
		t.Fatalf("a token issuing one within its scopes: %d %s", r.status, r.body)
	}
	if r := as(reader, "GET", "/api/v1/me/tokens", nil); r.status != 200 || !strings.Contains(string(r.body), `"scopes":["cases:read"]`) {
		t.Fatalf("the token list does not show scopes: %d %s", r.status, r.body)
	}
	// Scopes never widen roles: an auditor's token with audit:read reads the audit log, and a case
	// worker cannot get audit:read at all.
	audit := e.must(201, domain.RoleAuditor, "POST", "/api/v1/me/tokens",
		map[string]any{"name": "siem", "expiresAt": in, "scopes": []string{"audit:read"}})["token"].(string)
	if r := as(audit, "GET", "/api/v1/audit?entityType=staff_user&entityId="+e.users[domain.RoleAuditor].ID.String(), nil); r.status != 200 {
		t.Fatalf("the auditor's audit:read token: %d %s", r.status, r.body)
	}
	if r := as(audit, "GET", "/api/v1/cases", nil); r.status != 403 || !strings.Contains(string(r.body), "cases:read") {
		t.Fatalf("the audit:read token reading cases: %d %s", r.status, r.body)
	}
	wantField(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/me/tokens", map[string]any{"name": "peek", "expiresAt": in,
		"scopes": []string{"audit:read"}}), 400, "scopes", "a case worker asking for audit:read")

	var doc struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(e.call("", "GET", "/api/openapi.json", nil).body, &doc); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"/api/v1/persons": "cases:write", "/api/v1/broadcasts": "messaging:send",
		"/api/v1/partners": "partners:admin", "/api/v1/users": "users:admin"} {
		if got := doc.Paths[path]["post"]["x-required-scope"]; got != want {
			t.Errorf("OpenAPI POST %s: x-required-scope %v, want %s", path, got, want)
		}
	}
	if got := doc.Paths["/api/v1/audit"]["get"]["x-required-scope"]; got != "audit:read" {
		t.Errorf("OpenAPI GET /api/v1/audit: x-required-scope %v", got)
	}
}
