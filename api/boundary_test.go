package api_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
)

// The small holes of the request boundary (issue 11, finding 12, and the dates of finding 5).
func TestBoundarySmallFindings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Ada", "Byron", "1980-01-01")
	ref := e.openCase(person, "new", "SC")

	t.Run("an empty id is required, not a panic", func(t *testing.T) {
		for _, tc := range []struct {
			path, field string
			body        map[string]any
		}{
			{"/api/v1/cases", "personId", map[string]any{"personId": "", "type": "new", "level": "SC"}},
			{"/api/v1/cases/" + ref + "/delegation", "siteId", map[string]any{"siteId": "", "dueDate": today(30)}},
			{"/api/v1/persons/" + person + "/verifications", "siteId", map[string]any{"siteId": "", "reason": "check"}},
			{"/api/v1/cases/" + ref + "/owner", "ownerId", map[string]any{"ownerId": ""}},
		} {
			r := e.call(domain.RoleSecurityController, "POST", tc.path, tc.body)
			if r.status != 400 || problemField(t, r) != tc.field {
				t.Errorf("POST %s %v: %d %s, want 400 naming %s", tc.path, tc.body, r.status, r.body, tc.field)
			}
		}
	})

	t.Run("trailing data after the object is refused", func(t *testing.T) {
		r := e.call(domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+person, `{"firstName":"Eve"}]`)
		if r.status != 400 || problemField(t, r) != "body" {
			t.Fatalf("PATCH {...}]: %d %s", r.status, r.body)
		}
		if p := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+person, nil); p["firstName"] != "Ada" {
			t.Fatalf("the refused PATCH changed the person: %v", p["firstName"])
		}
	})

	t.Run("access mappings are read with named ids", func(t *testing.T) {
		location := e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": "MAP", "name": "Mapped Site"})["id"]
		r := e.call(domain.RoleAdmin, "PUT", "/api/v1/access/mappings", map[string]any{
			"companies": []any{map[string]any{"acsCompanyId": "1"}, map[string]any{"supplierId": "not-an-id", "acsCompanyId": "2"}},
			"locations": []any{map[string]any{"locationId": location, "acsLocationId": "7"}}})
		if r.status != 400 || problemField(t, r) != "companies[1].supplierId" {
			t.Fatalf("a malformed supplierId: %d %s", r.status, r.body)
		}
		// That the cleaned ids are then saved, against a catalogue: TestProfileRulesAndMappingsAreCheckedAgainstTheCatalogue.
	})

	t.Run("free query strings pass the text boundary", func(t *testing.T) {
		r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit?entityType=person&entityId="+url.QueryEscape("a\x00b"), nil)
		if r.status != 400 || problemField(t, r) != "entityId" || strings.Count(string(r.body), `"field"`) != 1 {
			t.Fatalf("audit trail of an id with a NUL: %d %s", r.status, r.body)
		}
	})

	t.Run("what the workflow records is the cleaned text", func(t *testing.T) {
		cv := e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes",
			map[string]any{"text": "  Zoe\u0308 said:\r\n\tline two \u200b ok  "})
		const want = "Zo\u00eb said:\n\tline two \u200b ok"
		timeline := cv["timeline"].([]any)
		last := timeline[len(timeline)-1].(map[string]any)
		if got := last["detail"].(map[string]any)["text"]; last["kind"] != "note" || got != want {
			t.Fatalf("the note recorded: %q %q", last["kind"], got)
		}
		if n := e.count(`SELECT count(*) FROM case_events WHERE case_ref = $1 AND kind = 'note' AND detail->>'text' = $2`,
			ref, want); n != 1 {
			t.Fatalf("%d notes in the database as the boundary cleaned it", n)
		}
	})

	t.Run("every API answer is no-store", func(t *testing.T) {
		for _, r := range []resp{
			e.call(domain.RoleCaseWorker, "GET", "/api/v1/persons/"+person, nil),
			e.call(domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{}),
			e.call(domain.RoleCaseWorker, "GET", "/api/v1/persons/nobody", nil),
			e.call("", "GET", "/api/v1/persons", nil),
			e.call(domain.RoleCaseWorker, "GET", "/api/v1/no-such-route", nil),
		} {
			if got := r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("answer %d %s: Cache-Control %q, want no-store", r.status, r.body, got)
			}
		}
	})

	t.Run("dates outside 1900-2100 are refused everywhere", func(t *testing.T) {
		for _, tc := range []struct {
			method, path, field string
			body                any
		}{
			{"POST", "/api/v1/persons", "dateOfBirth", map[string]any{"firstName": "A", "lastName": "B", "dateOfBirth": "0001-01-01"}},
			{"POST", "/api/v1/persons", "dateOfBirth", map[string]any{"firstName": "A", "lastName": "B", "dateOfBirth": "1899-12-31"}},
			{"POST", "/api/v1/cases/" + ref + "/information-requests", "dueDate", map[string]any{"description": "x", "dueDate": "9999-12-31"}},
			{"PUT", "/api/v1/persons/" + person + "/consents/sms", "at", map[string]any{"status": "opted_in", "method": "written", "at": "0001-01-01"}},
			{"POST", "/api/v1/persons/" + person + "/access/grants", "endsAt", map[string]any{"levelId": "1", "startsAt": today(0), "endsAt": "9999-12-31"}},
			{"GET", "/api/v1/messages?from=0001-01-01T00:00:00Z", "from", nil},
			{"GET", "/api/v1/cases?dueBefore=9999-12-31", "dueBefore", nil},
		} {
			r := e.call(domain.RoleCaseWorker, tc.method, tc.path, tc.body)
			if r.status == 403 {
				r = e.call(domain.RoleVettingOfficer, tc.method, tc.path, tc.body)
			}
			if r.status != 400 || problemField(t, r) != tc.field {
				t.Errorf("%s %s %v: %d %s, want 400 naming %s", tc.method, tc.path, tc.body, r.status, r.body, tc.field)
			}
		}
	})

	t.Run("names hold no invisible characters and search folds them alike", func(t *testing.T) {
		r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Zo\u200be",
			"lastName": "Ward", "dateOfBirth": "1990-02-03"})
		if r.status != 400 || problemField(t, r) != "firstName" {
			t.Fatalf("a zero-width space in a name: %d %s", r.status, r.body)
		}
		r = e.call(domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "\u202eZoe",
			"lastName": "Ward", "dateOfBirth": "1990-02-03"})
		if r.status != 400 || problemField(t, r) != "firstName" {
			t.Fatalf("a bidi override in a name: %d %s", r.status, r.body)
		}
		// Zoë typed with a combining diaeresis is stored composed, and both spellings find her.
		id := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Zoe\u0308",
			"lastName": "Ward", "dateOfBirth": "1990-02-03"})["id"]
		if p := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+id.(string), nil); p["firstName"] != "Zo\u00eb" {
			t.Fatalf("stored first name %q, want NFC Zoë", p["firstName"])
		}
		for _, q := range []string{"Zoe Ward", "Zo\u00eb", "zoe\u0308 ward"} {
			l := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons?q="+url.QueryEscape(q), nil)
			if l["total"] != float64(1) {
				t.Errorf("search %q: %v", q, l)
			}
		}
		r = e.call(domain.RoleCaseWorker, "GET", "/api/v1/persons?q="+url.QueryEscape("Zo\x00e"), nil)
		if r.status != 400 || problemField(t, r) != "q" {
			t.Errorf("search with a NUL: %d %s", r.status, r.body)
		}
	})
}

// A body sent a byte at a time is cut off after BodyTimeout, and the connection freed.
func TestSlowBodyIsCutOff(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv, err := api.New(api.Deps{Store: e.st, Temporal: e.tc, TaskQueue: e.queue, SLA: e.sla,
		BodyTimeout: 500 * time.Millisecond, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	hs := srv.HTTPServer()
	if hs.ReadHeaderTimeout == 0 || hs.IdleTimeout == 0 {
		t.Errorf("the API's http.Server has no header or idle timeout: %+v", hs)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = io.WriteString(conn, "POST /api/v1/persons HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "+
		e.tokens[domain.RoleCaseWorker]+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The rest of the body never comes; the server must answer within a bound, not wait for it.
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(b), `"field":"body"`) {
		t.Fatalf("a stalled body: %d %s", res.StatusCode, b)
	}
	if n := e.count(`SELECT count(*) FROM persons`); n != 0 {
		t.Fatalf("%d persons written", n)
	}

	// A body no handler reads (the call is refused first) does not hold the connection either.
	conn2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if _, err := io.WriteString(conn2, "POST /api/v1/persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		"Content-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	_ = conn2.SetReadDeadline(time.Now().Add(15 * time.Second))
	br := bufio.NewReader(conn2)
	res2, err := http.ReadResponse(br, nil)
	if err != nil || res2.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an unauthenticated call with a stalled body: %v %v", res2, err)
	}
	_, _ = io.Copy(io.Discard, res2.Body)
	start = time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("the connection is still held %s after the answer: %v", time.Since(start).Round(time.Millisecond), err)
	}
}

// today is the date n days from now (UTC), as the API reads dates.
func today(n int) string {
	return time.Now().UTC().AddDate(0, 0, n).Format(time.DateOnly)
}

// A path parameter is text from the caller too: one that is not clean text names nothing.
func TestBadPathParametersNameNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		role         domain.Role
		method, path string
		body         any
	}{
		{domain.RoleCaseWorker, "GET", "/api/v1/cases/v_a%00b", nil},
		{domain.RoleCaseWorker, "GET", "/api/v1/cases/v_a%E2%80%AEb/identity-checks", nil},
		{domain.RoleSecurityController, "PUT", "/api/v1/access/levels/a%00b/policy", map[string]any{"requiredLevel": "SC"}},
		{domain.RoleSecurityController, "POST", "/api/v1/access/findings/a%00b/resolve", map[string]any{}},
		{domain.RoleCaseWorker, "GET", "/api/v1/messages/m_a%00b", nil},
		{domain.RoleCaseWorker, "GET", "/api/v1/messages/" + strings.Repeat("m", 2000), nil},
	} {
		r := e.call(tc.role, tc.method, tc.path, tc.body)
		if r.status != 404 {
			t.Errorf("%s %s: %d %s, want 404", tc.method, tc.path, r.status, r.body)
		}
	}
}

// A message's vars are text from the caller: a NUL never reaches the workflow or Twilio, and what Twilio
// receives is filled in from the cleaned values.
func TestMessageVarsReachTheProviderCleaned(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.messagePerson("07400 123456", "ada@example.org")
	r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/messages", map[string]any{"personId": person,
		"channel": "sms", "template": "renewal_nudge", "vars": map[string]string{"Level": "SC", "ValidTo": "2031-01-31\x00", "DaysLeft": "90"}})
	if r.status != 400 || problemField(t, r) != "vars.ValidTo" {
		t.Fatalf("a var with a NUL: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM messages`); n != 0 || p.twilio.Stats().Accepted != 0 {
		t.Fatalf("a refused message went on: %d in the outbox, %d at Twilio", n, p.twilio.Stats().Accepted)
	}
	sms := e.sendMessage(person, "sms", "renewal_nudge", map[string]string{"Level": "  SC ", "ValidTo": " 2031-01-31", "DaysLeft": "90 "})
	msgs := p.twilio.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "your SC clearance expires on 2031-01-31 (90 days).") {
		t.Fatalf("Twilio received %+v (answered %v)", msgs, sms["body"])
	}
}
