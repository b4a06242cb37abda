package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// partnerCall sends a request to an external endpoint with a partner key ("" for none).
func (e *env) partnerCall(key, method, path string, body any) resp {
	e.t.Helper()
	headers := map[string]string{}
	if key != "" {
		headers["Authorization"] = "Bearer " + key
	}
	return e.callWith("", method, path, body, headers)
}

// authFailures is the number of failed authentications counted, from every address.
func (e *env) authFailures() int {
	e.t.Helper()
	return e.count(`SELECT coalesce(sum(count), 0)::int FROM external_auth_failures`)
}

// Every refusal of the external endpoints, each written to the audit log.
func TestExternalErrorPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	readOnly := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+site+"/keys",
		map[string]any{"name": "read only", "scopes": []string{"vetting:read"}})["key"].(string)
	pinned := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+site+"/keys",
		map[string]any{"name": "pinned", "scopes": []string{"vetting:read"}, "ipAllow": []string{"10.0.0.0/8", "2001:db8::/32"}})["key"].(string)
	revokedKey := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+site+"/keys",
		map[string]any{"name": "old", "scopes": []string{"vetting:read"}})
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/partners/"+site+"/keys/"+revokedKey["id"].(string)+"/revoke", nil)
	expiring := e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+site+"/keys", map[string]any{"name": "short",
		"scopes": []string{"vetting:read"}, "expiresAt": time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)})["key"].(string)
	time.Sleep(1600 * time.Millisecond)

	person := e.createPerson("Jane", "Davies", "1985-04-12")
	notDelegated := e.openCase(person, "new", "SC")
	lookup := map[string]any{"firstName": "Jane", "lastName": "Davies", "dob": "1985-04-12", "reason": "Site access"}
	from, to := validity(-30, 5)
	ret := func(ref string) map[string]any {
		return map[string]any{"caseRef": ref, "outcome": "cleared", "clearanceLevel": "SC", "validFrom": from,
			"validTo": to, "partnerCaseId": "BA-1"}
	}
	var unauthorized []string
	for _, tc := range []struct {
		name, key, method, path string
		body                    any
		status                  int
		field                   string
	}{
		{"no key", "", "GET", "/api/external/vetting/whoami", nil, 401, ""},
		{"unknown key", "sap_abcdefgh_nosuchsecret", "GET", "/api/external/vetting/whoami", nil, 401, ""},
		{"malformed key", "let-me-in", "POST", "/api/external/vetting/lookup", lookup, 401, ""},
		{"right prefix, wrong secret", key[:13] + "wrongsecretwrongsecretwrongsecret", "GET", "/api/external/vetting/whoami", nil, 401, ""},
		{"revoked key", revokedKey["key"].(string), "POST", "/api/external/vetting/lookup", lookup, 401, ""},
		{"expired key", expiring, "POST", "/api/external/vetting/lookup", lookup, 401, ""},
		{"scope missing", readOnly, "POST", "/api/external/vetting/return", ret(notDelegated), 403, ""},
		{"address not allowed", pinned, "POST", "/api/external/vetting/lookup", lookup, 403, ""},
		{"reason missing", key, "POST", "/api/external/vetting/lookup", map[string]any{"firstName": "Jane", "lastName": "Davies", "dob": "1985-04-12"}, 400, "reason"},
		{"bad dob", key, "POST", "/api/external/vetting/lookup", map[string]any{"firstName": "Jane", "lastName": "Davies", "dob": "12/04/1985", "reason": "x"}, 400, "dob"},
		{"unknown field", key, "POST", "/api/external/vetting/lookup", map[string]any{"firstName": "Jane", "lastName": "Davies", "dob": "1985-04-12", "reason": "x", "niNumber": "AB123456C"}, 400, "niNumber"},
		{"malformed JSON", key, "POST", "/api/external/vetting/return", `{"caseRef":`, 400, "body"},
		{"bad outcome", key, "POST", "/api/external/vetting/return", map[string]any{"caseRef": notDelegated, "outcome": "approved", "partnerCaseId": "x"}, 400, "outcome"},
		{"unknown case", key, "POST", "/api/external/vetting/return", ret("v_nosuchcase00000000000000"), 404, ""},
		{"case not delegated to the partner", key, "POST", "/api/external/vetting/return", ret(notDelegated), 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'external.%'`)
			failuresBefore := e.authFailures()
			r := e.partnerCall(tc.key, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" {
				if f := problemField(t, r); f != tc.field {
					t.Fatalf("problem names %q, want %q", f, tc.field)
				}
			}
			if tc.status == 401 {
				unauthorized = append(unauthorized, strings.ReplaceAll(string(r.body), tc.path, "PATH"))
			}
			// A call without a valid key is counted against its address (outside the chain); every other
			// call takes its own audit entry.
			wantEntries, wantFailures := 1, 0
			if tc.status == 401 {
				wantEntries, wantFailures = 0, 1
			}
			if after := e.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'external.%'`); after != before+wantEntries {
				t.Fatalf("%d audit entries for one call, want %d", after-before, wantEntries)
			}
			if after := e.authFailures(); after != failuresBefore+wantFailures {
				t.Fatalf("%d failed authentications counted for one call, want %d", after-failuresBefore, wantFailures)
			}
		})
	}
	for _, body := range unauthorized[1:] {
		if body != unauthorized[0] {
			t.Fatalf("401 answers differ, so keys can be told apart:\n%s\n%s", unauthorized[0], body)
		}
	}
	// A return against a closed case is a conflict.
	delegated := e.openCase(e.createPerson("Amir", "Khan", "1979-02-03"), "new", "SC")
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+delegated+"/delegation",
		map[string]any{"siteId": site, "dueDate": time.Now().AddDate(0, 0, 30).Format(time.DateOnly)})
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+delegated+"/outcome", map[string]any{"outcome": "withdrawn"})
	if r := e.partnerCall(key, "POST", "/api/external/vetting/return", ret(delegated)); r.status != 409 {
		t.Fatalf("return against a closed case: %d %s", r.status, r.body)
	}
	who := e.partnerCall(key, "GET", "/api/external/vetting/whoami", nil)
	if who.status != 200 || who.json(t)["partnerOrg"] != "Beacon Aerospace" || who.json(t)["keyName"] != "production" {
		t.Fatalf("whoami: %d %s", who.status, who.body)
	}
	// The audit entries carry the call, never the secret.
	if n := e.count(`SELECT count(*) FROM audit_log WHERE detail::text LIKE '%' || $1 || '%'`, key[13:]); n != 0 {
		t.Fatal("a key's secret is in the audit log")
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'external.lookup' AND detail->>'status' = '403' AND detail->>'callerIp' = '127.0.0.1'`); n != 1 {
		t.Fatal("the refused call from a disallowed address is not audited with its address")
	}
	if logs := e.logs.String(); strings.Contains(logs, key[13:]) || strings.Contains(logs, pinned[13:]) {
		t.Fatal("a key's secret is in the logs")
	}
}

// The limits hold across API processes sharing the database: the 60th lookup in a minute passes, the
// 61st is refused with Retry-After, whichever process gets them. The first 57 calls are counted straight
// in the store; all are counted at one moment (the store's rate clock stands still), so how long the
// calls take does not matter.
func TestLookupRateLimitAcrossProcesses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.st.RateClock = testenv.NewClock(time.Now()).Now
	site, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	second := &env{t: t, tokens: e.tokens, queue: e.queue}
	second.start(e.st, e.tc)
	keyID := e.must(200, domain.RoleAdmin, "GET", "/api/v1/partners/"+site, nil)["keys"].([]any)[0].(map[string]any)["id"].(string)
	lookup := map[string]any{"firstName": "No", "lastName": "Body", "dob": "1990-01-01", "reason": "load"}
	if r := e.partnerCall(key, "POST", "/api/external/vetting/lookup", lookup); r.status != 200 {
		t.Fatalf("call 1: %d %s", r.status, r.body)
	}
	for i := 2; i <= 58; i++ {
		if ok, _, err := e.st.Take(context.Background(), "/api/external/vetting/lookup/"+keyID, api.LookupLimit); err != nil || !ok {
			t.Fatalf("call %d refused (%v)", i, err)
		}
	}
	for i, server := range []*env{second, e} {
		if r := server.partnerCall(key, "POST", "/api/external/vetting/lookup", lookup); r.status != 200 {
			t.Fatalf("call %d: %d %s", 59+i, r.status, r.body)
		}
	}
	r := second.partnerCall(key, "POST", "/api/external/vetting/lookup", lookup)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("call 61: %d %v %s", r.status, r.header, r.body)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'external.lookup' AND detail->>'status' = '429'`); n != 1 {
		t.Fatal("the limited call is not audited")
	}
}

// The limiter itself, exact at its boundary for both contract limits: a minute's calls at once pass, the
// next waits one interval, and one interval later one more passes.
func TestRateLimitBoundary(t *testing.T) {
	t.Parallel()
	st := newEnv(t).st
	clock := testenv.NewClock(time.Now())
	st.RateClock = clock.Now
	for _, limit := range []int{api.LookupLimit, api.ReturnLimit} {
		key := fmt.Sprint("boundary/", limit)
		interval := time.Minute / time.Duration(limit)
		for i := 1; i <= limit; i++ {
			if ok, _, err := st.Take(context.Background(), key, limit); err != nil || !ok {
				t.Fatalf("call %d of %d refused (%v)", i, limit, err)
			}
		}
		ok, wait, err := st.Take(context.Background(), key, limit)
		if err != nil || ok || wait != interval {
			t.Fatalf("call %d: ok=%v wait=%s err=%v, want refused for %s", limit+1, ok, wait, err, interval)
		}
		clock.Add(interval - time.Microsecond)
		if ok, _, _ := st.Take(context.Background(), key, limit); ok {
			t.Fatalf("call %d passed a microsecond early", limit+1)
		}
		clock.Add(time.Microsecond)
		if ok, _, err := st.Take(context.Background(), key, limit); err != nil || !ok {
			t.Fatalf("call %d refused one interval later (%v)", limit+1, err)
		}
	}
}
