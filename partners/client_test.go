package partners

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
)

const testSecret = "sap_abcd1234_S3cr3tB34r3rV4lu3xyz"

// The answer of the public contract's example, verbatim.
const exampleLookupAnswer = `{
  "found":   true,
  "subject": { "firstName": "Jane", "lastName": "Davies", "active": true },
  "matches": [
    {
      "clearanceLevel":   "SC",
      "validFrom":        "2024-09-01",
      "validTo":          "2027-09-01",
      "issuingAuthority": "Acme Defence Ltd",
      "expired":          false,
      "renewalDue":       false
    }
  ],
  "queriedAt":  "2026-05-20T09:15:00Z",
  "partnerOrg": "Beacon Aerospace"
}`

// loopback calls the fake partners, which listen on this machine.
var loopback = HTTPClient(true)

// partner is a fake partner: handle answers every call; it records what it was sent.
type partner struct {
	srv   *httptest.Server
	calls atomic.Int32
	last  atomic.Pointer[recorded]
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
}

func newPartner(t *testing.T, handle http.HandlerFunc) *partner {
	t.Helper()
	p := &partner{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.calls.Add(1)
		p.last.Store(&recorded{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: b})
		handle(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func answerJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func answerProblem(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func jsonEqual(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %s", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("JSON = %s\nwant %s", got, want)
	}
}

func TestLookupSendsBearerAndJSONAndDecodesTheAnswer(t *testing.T) {
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, exampleLookupAnswer) })
	c := New(p.srv.URL, testSecret, loopback)
	a, err := c.Lookup(context.Background(), LookupRequest{
		FirstName: "Jane", LastName: "Davies", DOB: domain.NewDate(1985, time.April, 12), Reason: "Pre-site access verification",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := p.last.Load()
	if got.method != http.MethodPost || got.path != PathLookup {
		t.Errorf("called %s %s", got.method, got.path)
	}
	if h := got.header.Get("Authorization"); h != "Bearer "+testSecret {
		t.Errorf("Authorization = %q", h)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	jsonEqual(t, got.body, `{"firstName":"Jane","lastName":"Davies","dob":"1985-04-12","reason":"Pre-site access verification"}`)

	want := LookupAnswer{
		Found:   true,
		Subject: &LookupSubject{FirstName: "Jane", LastName: "Davies", Active: true},
		Matches: []LookupMatch{{
			ClearanceLevel: domain.LevelSC,
			ValidFrom:      domain.NewDate(2024, time.September, 1), ValidTo: domain.NewDate(2027, time.September, 1),
			IssuingAuthority: "Acme Defence Ltd",
		}},
		QueriedAt:  time.Date(2026, 5, 20, 9, 15, 0, 0, time.UTC),
		PartnerOrg: "Beacon Aerospace",
	}
	raw := a.Raw
	a.Raw = nil
	if !reflect.DeepEqual(a, want) {
		t.Errorf("answer = %+v\nwant %+v", a, want)
	}
	jsonEqual(t, raw, exampleLookupAnswer)
}

// The shared types marshal with the contract's field names: the example answer survives a round trip.
func TestTypesMarshalWithTheContractsFieldNames(t *testing.T) {
	var a LookupAnswer
	if err := json.Unmarshal([]byte(exampleLookupAnswer), &a); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, b, exampleLookupAnswer)

	notFound, _ := json.Marshal(LookupAnswer{Matches: []LookupMatch{}, QueriedAt: time.Date(2026, 5, 20, 9, 15, 0, 0, time.UTC), PartnerOrg: "B"})
	jsonEqual(t, notFound, `{"found":false,"subject":null,"matches":[],"queriedAt":"2026-05-20T09:15:00Z","partnerOrg":"B"}`)

	ret, _ := json.Marshal(ReturnAnswer{CaseRef: "v_1", Outcome: domain.OutcomeCleared, Status: "cleared", PartnerCaseID: "BA-1",
		ReceivedAt: time.Date(2026, 5, 20, 9, 15, 0, 0, time.UTC)})
	jsonEqual(t, ret, `{"caseRef":"v_1","outcome":"cleared","status":"cleared","partnerCaseId":"BA-1","receivedAt":"2026-05-20T09:15:00Z"}`)

	who, _ := json.Marshal(WhoAmI{PartnerOrg: "B", KeyName: "k", Scopes: []string{ScopeRead, ScopeReturn}})
	jsonEqual(t, who, `{"partnerOrg":"B","keyName":"k","scopes":["vetting:read","vetting:return"]}`)
}

func TestLookupNotFound(t *testing.T) {
	for _, body := range []string{
		`{"found":false,"subject":null,"matches":[],"queriedAt":"2026-05-20T09:15:00Z","partnerOrg":"B"}`,
		`{"found":false,"matches":null,"queriedAt":"2026-05-20T09:15:00Z","partnerOrg":"B"}`,
	} {
		p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, body) })
		a, err := New(p.srv.URL, testSecret, loopback).Lookup(context.Background(), LookupRequest{FirstName: "A", LastName: "B", DOB: domain.NewDate(1990, 1, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if a.Found || a.Subject != nil || a.Matches == nil || len(a.Matches) != 0 || a.PartnerOrg != "B" {
			t.Errorf("answer to %s = %+v", body, a)
		}
	}
}

func TestReturnSendsTheOutcomeAndKeepsTheRawAnswer(t *testing.T) {
	const answer = `{"caseRef":"v_2c1f","outcome":"cleared","status":"cleared","partnerCaseId":"BA-VET-00421","receivedAt":"2026-05-20T09:15:00Z","extra":{"n":1}}`
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, answer) })
	c := New(p.srv.URL, testSecret, loopback)
	a, err := c.Return(context.Background(), ReturnRequest{
		CaseRef: "v_2c1f", Outcome: domain.OutcomeCleared, ClearanceLevel: domain.LevelSC,
		ValidFrom: domain.NewDate(2026, 5, 15), ValidTo: domain.NewDate(2031, 5, 15), PartnerCaseID: "BA-VET-00421",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := p.last.Load()
	if got.method != http.MethodPost || got.path != PathReturn || got.header.Get("Authorization") != "Bearer "+testSecret ||
		got.header.Get("Content-Type") != "application/json" {
		t.Errorf("called %s %s with %v", got.method, got.path, got.header)
	}
	jsonEqual(t, got.body, `{"caseRef":"v_2c1f","outcome":"cleared","clearanceLevel":"SC","validFrom":"2026-05-15","validTo":"2031-05-15","partnerCaseId":"BA-VET-00421"}`)
	if a.CaseRef != "v_2c1f" || a.Outcome != domain.OutcomeCleared || a.Status != "cleared" || a.PartnerCaseID != "BA-VET-00421" ||
		!a.ReceivedAt.Equal(time.Date(2026, 5, 20, 9, 15, 0, 0, time.UTC)) {
		t.Errorf("answer = %+v", a)
	}
	jsonEqual(t, a.Raw, answer)

	// A refusal carries no level and no dates.
	if _, err := c.Return(context.Background(), ReturnRequest{CaseRef: "v_2c1f", Outcome: domain.OutcomeCleared, PartnerCaseID: "BA-2"}); err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, p.last.Load().body, `{"caseRef":"v_2c1f","outcome":"cleared","partnerCaseId":"BA-2"}`)
}

// A return answer that is opaque beyond caseRef and outcome is accepted; one that does not echo them is not.
func TestReturnAnswerMustEchoCaseRefAndOutcome(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"caseRef":"v_1","outcome":"refused"}`:             true,
		`{"caseRef":"v_1","outcome":"refused","x":[1,2]}`:   true,
		`{"caseRef":"v_2","outcome":"refused"}`:             false,
		`{"caseRef":"v_1","outcome":"cleared"}`:             false,
		`{"outcome":"refused"}`:                             false,
		`["v_1","refused"]`:                                 false,
		`{"caseRef":"v_1","outcome":"refused","status":{}}`: false, // not the contract's types
	} {
		p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, body) })
		a, err := New(p.srv.URL, testSecret, loopback).Return(context.Background(),
			ReturnRequest{CaseRef: "v_1", Outcome: domain.OutcomeRefused, PartnerCaseID: "P-1"})
		if ok {
			if err != nil || string(a.Raw) != body {
				t.Errorf("answer %s: %+v, %v", body, a, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidAnswer) || IsRetryable(err) {
			t.Errorf("answer %s: err = %v, want a non-retryable ErrInvalidAnswer", body, err)
		}
	}
}

func TestWhoAmI(t *testing.T) {
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) {
		answerJSON(w, 200, `{"partnerOrg":"Beacon Aerospace","keyName":"prime-integration","scopes":["vetting:read","vetting:return"]}`)
	})
	// A base URL with a path prefix and a trailing slash.
	a, err := New(p.srv.URL+"/signet/", testSecret, loopback).WhoAmI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := p.last.Load()
	if got.method != http.MethodGet || got.path != "/signet"+PathWhoAmI || got.header.Get("Authorization") != "Bearer "+testSecret ||
		len(got.body) != 0 || got.header.Get("Content-Type") != "" {
		t.Errorf("called %s %s with %v and %q", got.method, got.path, got.header, got.body)
	}
	want := WhoAmI{PartnerOrg: "Beacon Aerospace", KeyName: "prime-integration", Scopes: []string{ScopeRead, ScopeReturn}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("whoami = %+v", a)
	}
}

func TestProblemAnswersAreNotRetryable(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			body := fmt.Sprintf(`{"type":"https://signetassure.dev/problems/x","title":%q,"status":%d,"detail":"Jane Davies 1985-04-12 is the detail","errors":[{"field":"dob","message":"1985-04-12 is wrong"}]}`,
				http.StatusText(status), status)
			p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerProblem(w, status, body) })
			_, err := New(p.srv.URL, testSecret, loopback).Lookup(context.Background(), LookupRequest{FirstName: "Jane", LastName: "Davies", DOB: domain.NewDate(1985, 4, 12)})
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			want := &Problem{Type: "https://signetassure.dev/problems/x", Title: http.StatusText(status), Status: status,
				Detail: "Jane Davies 1985-04-12 is the detail", Errors: []FieldError{{Field: "dob", Message: "1985-04-12 is wrong"}}}
			if e.Status != status || e.Op != "lookup" || !reflect.DeepEqual(e.Problem, want) || e.RetryAfter != 0 {
				t.Errorf("error = %+v, problem %+v", e, e.Problem)
			}
			if e.Retryable() || IsRetryable(err) {
				t.Errorf("%d is retryable", status)
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(status)) || !strings.Contains(msg, `"dob"`) {
				t.Errorf("message %q names neither the status nor the field", msg)
			}
			// The message may be logged: it repeats no personal data the partner echoed.
			if strings.Contains(msg, "Jane") || strings.Contains(msg, "1985") {
				t.Errorf("message %q repeats the problem's detail", msg)
			}
		})
	}
}

func TestTooManyRequestsIsRetryableAfterRetryAfter(t *testing.T) {
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		answerProblem(w, 429, `{"type":"https://signetassure.dev/problems/rate-limited","title":"Too Many Requests","status":429}`)
	})
	_, err := New(p.srv.URL, testSecret, loopback).WhoAmI(context.Background())
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Status != 429 || e.RetryAfter != 30*time.Second || e.Problem == nil || e.Problem.Status != 429 {
		t.Fatalf("err = %#v", err)
	}
	if !e.Retryable() || !IsRetryable(err) || !IsRetryable(fmt.Errorf("wrapped: %w", err)) {
		t.Error("429 is not retryable")
	}
	if !strings.Contains(err.Error(), "retry after 30s") {
		t.Errorf("message %q", err)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 5, 20, 9, 15, 0, 0, time.UTC)
	for h, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-5":                            0,
		" 120 ":                         2 * time.Minute,
		"abc":                           0,
		"99999999999":                   7 * 24 * time.Hour,
		"Wed, 20 May 2026 09:16:30 GMT": 90 * time.Second,
		"Wed, 20 May 2026 09:14:00 GMT": 0,
	} {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestServerErrorsAndRequestTimeoutAreRetryable(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{503, `{"type":"https://signetassure.dev/problems/unavailable","title":"Service Unavailable","status":503}`},
		{500, `<html>oops</html>`},
		{502, ``},
		{408, ``},
	} {
		p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerProblem(w, tc.status, tc.body) })
		_, err := New(p.srv.URL, testSecret, loopback).Return(context.Background(), ReturnRequest{CaseRef: "v_1", Outcome: domain.OutcomeWithdrawn, PartnerCaseID: "X"})
		e, ok := errors.AsType[*Error](err)
		if !ok || e.Status != tc.status || !e.Retryable() || !IsRetryable(err) {
			t.Errorf("%d: err = %v, want a retryable *Error", tc.status, err)
			continue
		}
		if (e.Problem != nil) != strings.HasPrefix(tc.body, "{") {
			t.Errorf("%d: problem = %+v", tc.status, e.Problem)
		}
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = New("http://"+addr, testSecret, loopback).Lookup(context.Background(), LookupRequest{FirstName: "A"})
	if err == nil {
		t.Fatal("no error")
	}
	if !IsRetryable(err) || !errors.Is(err, ErrTransport) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("err = %v: retryable %v", err, IsRetryable(err))
	}
	if _, ok := errors.AsType[*Error](err); ok {
		t.Error("a transport error is an *Error")
	}
}

func TestTimeoutIsRetryableButCancelIsNot(t *testing.T) {
	release := make(chan struct{})
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	_, err := New(p.srv.URL, testSecret, &http.Client{Timeout: 50 * time.Millisecond}).WhoAmI(context.Background())
	if !IsRetryable(err) || !errors.Is(err, ErrTransport) {
		t.Errorf("timeout: err = %v, retryable %v", err, IsRetryable(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = New(p.srv.URL, testSecret, loopback).WhoAmI(ctx)
	if err == nil || IsRetryable(err) || !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: err = %v, retryable %v", err, IsRetryable(err))
	}
	if IsRetryable(nil) || IsRetryable(errors.New("x")) {
		t.Error("IsRetryable of nil or a plain error")
	}
}

func TestDefaultTimeoutAndCallersClientUntouched(t *testing.T) {
	if c := New("http://x", testSecret, nil); c.http.Timeout != DefaultTimeout || DefaultTimeout != 15*time.Second {
		t.Errorf("default timeout %v", c.http.Timeout)
	}
	hc := &http.Client{Timeout: time.Second}
	c := New("http://x", testSecret, hc)
	if c.http == hc || hc.CheckRedirect != nil || c.http.Timeout != time.Second {
		t.Error("New changed or shares the caller's http.Client")
	}
}

// The bearer secret is never in an error's message, however the call fails, even when the partner echoes it.
func TestSecretNeverInErrors(t *testing.T) {
	echo := func(status int, ct string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(status)
			fmt.Fprintf(w, `{"type":"https://x/%[1]s","title":"bad %[1]s","status":%[2]d,"detail":"key %[1]s","instance":"/%[1]s","errors":[{"field":"%[1]s","message":"%[1]s"}]}`, a, status)
		}
	}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer other.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + l.Addr().String()
	l.Close()

	cases := map[string]struct {
		url     string
		handler http.HandlerFunc
		client  *http.Client
	}{
		"401 echo": {handler: echo(401, "application/problem+json")},
		"403 echo": {handler: echo(403, "application/problem+json")},
		"409 echo": {handler: echo(409, "application/json")},
		"429 echo": {handler: echo(429, "application/problem+json")},
		"503 echo": {handler: echo(503, "text/plain")},
		"200 not JSON": {handler: func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "<p>%s</p>", r.Header.Get("Authorization"))
		}},
		"200 bad fields": {handler: func(w http.ResponseWriter, r *http.Request) {
			a := r.Header.Get("Authorization")
			fmt.Fprintf(w, `{"found":%q,"outcome":%q,"scopes":%q}`, a, a, a)
		}},
		"redirect": {handler: func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/"+testSecret, http.StatusTemporaryRedirect)
		}},
		"timeout": {handler: func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, client: &http.Client{Timeout: 30 * time.Millisecond}},
		"refused": {url: refused},
		"bad url": {url: "ftp://" + testSecret},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			u := tc.url
			if tc.handler != nil {
				u = newPartner(t, tc.handler).srv.URL
			}
			hc := tc.client
			if hc == nil {
				hc = loopback
			}
			c := New(u, testSecret, hc)
			_, e1 := c.Lookup(context.Background(), LookupRequest{FirstName: "A", LastName: "B", DOB: domain.NewDate(1990, 1, 1)})
			_, e2 := c.Return(context.Background(), ReturnRequest{CaseRef: "v_1", Outcome: domain.OutcomeCleared, PartnerCaseID: "P"})
			_, e3 := c.WhoAmI(context.Background())
			for _, err := range []error{e1, e2, e3} {
				if err == nil {
					t.Fatal("no error")
				}
				for _, s := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
					if strings.Contains(s, testSecret) || strings.Contains(s, "S3cr3t") {
						t.Errorf("error carries the secret: %s", s)
					}
				}
				if e, ok := errors.AsType[*Error](err); ok && e.Problem != nil {
					b, _ := json.Marshal(e.Problem)
					if bytes.Contains(b, []byte(testSecret)) {
						t.Errorf("problem carries the secret: %s", b)
					}
				}
			}
		})
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, `{}`) })
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	_, err := New(p.srv.URL, testSecret, loopback).WhoAmI(context.Background())
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Status != http.StatusTemporaryRedirect || IsRetryable(err) {
		t.Errorf("err = %v", err)
	}
	if other.calls.Load() != 0 {
		t.Error("the redirect was followed")
	}
}

func TestAnswerSizeLimit(t *testing.T) {
	// {"found":false,"matches":[],"partnerOrg":"xxx…"} exactly MaxAnswerBytes long is read; one byte more is not.
	answer := func(n int) string {
		head, tail := `{"found":false,"matches":[],"partnerOrg":"`, `"}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	for _, tc := range []struct {
		size int
		ok   bool
	}{{MaxAnswerBytes, true}, {MaxAnswerBytes + 1, false}, {3 * MaxAnswerBytes, false}} {
		body := answer(tc.size)
		p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, body) })
		a, err := New(p.srv.URL, testSecret, loopback).Lookup(context.Background(), LookupRequest{FirstName: "A"})
		if tc.ok {
			if err != nil || len(a.PartnerOrg) != tc.size-44 {
				t.Errorf("%d bytes: %v (%d)", tc.size, err, len(a.PartnerOrg))
			}
			continue
		}
		if !errors.Is(err, ErrInvalidAnswer) || IsRetryable(err) {
			t.Errorf("%d bytes: err = %v, want a non-retryable ErrInvalidAnswer", tc.size, err)
		}
	}

	// An oversized problem is still an *Error with its status, without a problem.
	big := `{"type":"x","title":"t","status":400,"detail":"` + strings.Repeat("d", MaxAnswerBytes) + `"}`
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerProblem(w, 400, big) })
	_, err := New(p.srv.URL, testSecret, loopback).WhoAmI(context.Background())
	if e, ok := errors.AsType[*Error](err); !ok || e.Status != 400 || e.Problem != nil {
		t.Errorf("err = %v", err)
	}
}

func TestInvalidAnswersAreNotRetryable(t *testing.T) {
	for _, body := range []string{``, `<html></html>`, `{"found":`, `[]`, `{"found":"yes"}`, `{"matches":[{"validFrom":"01/02/2024"}]}`} {
		p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, body) })
		_, err := New(p.srv.URL, testSecret, loopback).Lookup(context.Background(), LookupRequest{FirstName: "A"})
		if !errors.Is(err, ErrInvalidAnswer) || IsRetryable(err) {
			t.Errorf("answer %q: err = %v", body, err)
		}
	}
}

func TestNoSecretOrBadURLCallsNobody(t *testing.T) {
	p := newPartner(t, func(w http.ResponseWriter, r *http.Request) { answerJSON(w, 200, `{}`) })
	if _, err := New(p.srv.URL, "", nil).WhoAmI(context.Background()); !errors.Is(err, ErrNoCredential) || IsRetryable(err) {
		t.Errorf("no secret: err = %v", err)
	}
	for _, u := range []string{"", "vetting.example", "ftp://vetting.example", "http://"} {
		if _, err := New(u, testSecret, nil).WhoAmI(context.Background()); err == nil || IsRetryable(err) {
			t.Errorf("base URL %q: err = %v", u, err)
		}
	}
	if p.calls.Load() != 0 {
		t.Error("the partner was called")
	}
}
