package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
)

// An administrator adds a staff user, issues them a token to hand over, changes their roles and
// deactivates them, which ends their tokens at once; nobody else may, bad fields are named and change
// nothing, and the last active administrator cannot be removed. Every change is audited.
func TestStaffUserAdministration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	users := e.count(`SELECT count(*) FROM staff_users`)
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"email": "nia@example.org", "roles": []string{"case_worker"}}, "displayName"},
		{map[string]any{"displayName": "Nia", "email": "not an address", "roles": []string{"case_worker"}}, "email"},
		{map[string]any{"displayName": "Nia", "email": "nia@example.org"}, "roles"},
		{map[string]any{"displayName": "Nia", "email": "nia@example.org", "roles": []string{"superuser"}}, "roles"},
		{map[string]any{"displayName": "Nia", "email": e.users[domain.RoleAuditor].Email, "roles": []string{"case_worker"}}, "email"},
	} {
		r := e.call(domain.RoleAdmin, "POST", "/api/v1/users", bad.body)
		if r.status != 400 && r.status != 409 || problemField(t, r) != bad.field {
			t.Errorf("%v: %d %s, want the field %s named", bad.body, r.status, r.body, bad.field)
		}
	}
	wantProblem(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/users", map[string]any{
		"displayName": "Nia", "email": "nia@example.org", "roles": []string{"admin"}}), 403, "a controller adding a user")
	if n := e.count(`SELECT count(*) FROM staff_users`); n != users {
		t.Fatalf("refused requests added %d users", n-users)
	}

	nia := e.must(201, domain.RoleAdmin, "POST", "/api/v1/users", map[string]any{
		"displayName": "Nia Okoye", "email": "nia@example.org", "roles": []string{"case_worker", "case_worker"}})
	id := nia["id"].(string)
	if roles := nia["roles"].([]any); len(roles) != 1 || roles[0] != "case_worker" {
		t.Fatalf("roles %v", roles)
	}
	handed := e.must(201, domain.RoleAdmin, "POST", "/api/v1/users/"+id+"/tokens", map[string]any{
		"name": "first sign-in", "expiresAt": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339),
		"scopes": []string{"cases:read", "cases:write"}})
	token := map[string]string{"Authorization": "Bearer " + handed["token"].(string)}
	if r := e.callWith("", "GET", "/api/v1/me", nil, token); r.status != 200 || r.json(t)["email"] != "nia@example.org" {
		t.Fatalf("the handed-over token: %d %s", r.status, r.body)
	}
	if r := e.callWith("", "GET", "/api/v1/clearances", nil, token); r.status != 200 {
		t.Fatalf("a case worker reading the register: %d", r.status)
	}
	if r := e.callWith("", "PUT", "/api/v1/reminder-policy", map[string]any{}, token); r.status != http.StatusForbidden {
		t.Fatalf("a case worker changing the policy: %d", r.status)
	}

	// Roles changed: they hold from the next request.
	e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+id, map[string]any{"roles": []string{"auditor"}})
	if r := e.callWith("", "POST", "/api/v1/persons", map[string]any{"firstName": "A", "lastName": "B", "dateOfBirth": "1990-01-01"}, token); r.status != http.StatusForbidden {
		t.Fatalf("an auditor adding a person: %d", r.status)
	}
	wantField(t, e.call(domain.RoleAdmin, "PATCH", "/api/v1/users/"+id, map[string]any{}), 400, "body", "an empty change")

	// Deactivated: the token ends at once, and is marked revoked.
	got := e.must(200, domain.RoleAdmin, "PATCH", "/api/v1/users/"+id, map[string]any{"active": false})
	if got["active"] != false {
		t.Fatalf("deactivated: %v", got)
	}
	if r := e.callWith("", "GET", "/api/v1/me", nil, token); r.status != 401 {
		t.Fatalf("a deactivated user's token: %d", r.status)
	}
	if n := e.count(`SELECT count(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL`, id); n != 0 {
		t.Fatalf("%d live tokens after deactivation", n)
	}
	wantProblem(t, e.call(domain.RoleAdmin, "POST", "/api/v1/users/"+id+"/tokens", map[string]any{
		"name": "again", "expiresAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "scopes": []string{"cases:read"}}), 409, "a token for a deactivated user")

	// The last administrator stays.
	admin := e.users[domain.RoleAdmin].ID.String()
	wantProblem(t, e.call(domain.RoleAdmin, "PATCH", "/api/v1/users/"+admin, map[string]any{"active": false}), 409, "deactivating the last admin")
	wantProblem(t, e.call(domain.RoleAdmin, "PATCH", "/api/v1/users/"+admin, map[string]any{"roles": []string{"auditor"}}), 409, "demoting the last admin")
	if r := e.call(domain.RoleAdmin, "GET", "/api/v1/me", nil); r.status != 200 {
		t.Fatalf("the administrator after the refused changes: %d", r.status)
	}

	for action, want := range map[string]int{"user.create": 1, "user.update": 2, "token.issue": 1} {
		if n := e.count(`SELECT count(*) FROM audit_log WHERE action = $1 AND entity_id = $2`, action, id); n != want {
			t.Errorf("%d %s audit entries, want %d", n, action, want)
		}
	}
}
