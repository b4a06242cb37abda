package signicatsim_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/signicat"
	"github.com/signetassure/signetassure/sim/signicatsim"
)

// env is a simulator behind a test server.
type env struct {
	t   *testing.T
	sim *signicatsim.Sim
	srv *httptest.Server
	tok string
}

func newEnv(t *testing.T, o signicatsim.Options) *env {
	t.Helper()
	if o.DecisionDelay == 0 {
		o.DecisionDelay = 20 * time.Millisecond
	}
	if o.CallbackDelay == 0 {
		o.CallbackDelay = 5 * time.Millisecond
	}
	sim := signicatsim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	e := &env{t: t, sim: sim, srv: srv}
	e.tok = e.token()
	return e
}

// noRedirect is a client that does not follow redirects.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// tokenReq asks for a token with client_secret_basic or client_secret_post.
func (e *env) tokenReq(basic bool, id, secret, grant string) (*http.Response, []byte) {
	e.t.Helper()
	form := url.Values{"grant_type": {grant}, "scope": {signicat.Scope}}
	if !basic {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+signicat.TokenPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(id, secret)
	}
	return e.send(req)
}

func (e *env) send(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

func (e *env) token() string {
	e.t.Helper()
	o := e.sim.Options()
	resp, b := e.tokenReq(true, o.ClientID, o.ClientSecret, "client_credentials")
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	var tr signicat.TokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		e.t.Fatal(err)
	}
	return tr.AccessToken
}

// call makes an API call with e's token (or tok when given).
func (e *env) call(method, path string, body any, tok ...string) (*http.Response, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	bearer := e.tok
	if len(tok) > 0 {
		bearer = tok[0]
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.send(req)
}

// must makes an API call that must answer want, and decodes the answer into out.
func (e *env) must(want int, method, path string, body, out any) {
	e.t.Helper()
	resp, b := e.call(method, path, body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d (want %d) %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// problem checks a problem+json answer and returns it.
func (e *env) problem(resp *http.Response, b []byte, want int) signicat.Problem {
	e.t.Helper()
	if resp.StatusCode != want {
		e.t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		e.t.Fatalf("Content-Type %q", ct)
	}
	var p signicat.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		e.t.Fatal(err)
	}
	if p.Status != want || p.Title != http.StatusText(want) || p.Instance == "" || p.Method == "" || p.TraceID == "" || p.Type == "" {
		e.t.Fatalf("problem %+v", p)
	}
	if want < 500 && p.Type != "base:client-problem" {
		e.t.Fatalf("problem type %q", p.Type)
	}
	return p
}

func (e *env) dossier() string {
	e.t.Helper()
	var d signicat.Dossier
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, &d)
	if d.DossierID == "" || d.CreatedAt.IsZero() {
		e.t.Fatalf("dossier %+v", d)
	}
	return d.DossierID
}

func (e *env) process(dossierID string, cp signicat.CreateProcess) signicat.Process {
	e.t.Helper()
	var p signicat.Process
	e.must(http.StatusCreated, http.MethodPost, signicat.ProcessesPath(dossierID), cp, &p)
	if p.ProcessID == "" || p.Status != signicat.StatusPending || p.AuthorizationToken == "" {
		e.t.Fatalf("process %+v", p)
	}
	return p
}

func (e *env) getProcess(dossierID, processID string) signicat.Process {
	e.t.Helper()
	var p signicat.Process
	e.must(http.StatusOK, http.MethodGet, signicat.ProcessPath(dossierID, processID), nil, &p)
	return p
}

// final waits for the process to be final.
func (e *env) final(dossierID, processID string) signicat.Process {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := e.getProcess(dossierID, processID)
		if p.Status.Final() {
			return p
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("process still %s", p.Status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// processing makes a passport process, uploads its images and starts the verification.
func (e *env) processing(notificationURL, authHeader string) (string, string) {
	e.t.Helper()
	d := e.dossier()
	p := e.process(d, signicat.CreateProcess{Provider: "onfido", DocumentType: "passport",
		NotificationURL: notificationURL, AuthorizationHeader: authHeader})
	e.must(http.StatusOK, http.MethodPost, signicat.ImagesPath(d, p.ProcessID),
		signicat.Images{Front: pngURL("front"), Selfie: jpegURL("selfie")}, nil)
	var out signicat.Process
	e.must(http.StatusOK, http.MethodPost, signicat.VerifyPath(d, p.ProcessID), map[string]any{}, &out)
	if out.Status != signicat.StatusProcessing {
		e.t.Fatalf("after verify: %s", out.Status)
	}
	return d, p.ProcessID
}

func pngBytes(tag string) []byte  { return append([]byte("\x89PNG\r\n\x1a\n"), tag...) }
func jpegBytes(tag string) []byte { return append([]byte{0xff, 0xd8, 0xff, 0xe0}, tag...) }
func pngURL(tag string) string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes(tag))
}
func jpegURL(tag string) string {
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(jpegBytes(tag))
}

// receiver records callbacks.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	got   []signicat.Notification
	auth  []string
	fail  int // answer 500 to so many first calls
	calls int
}

func newReceiver(t *testing.T, fail int) *receiver {
	rc := &receiver{fail: fail}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n signicat.Notification
		json.NewDecoder(r.Body).Decode(&n)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		rc.calls++
		if rc.calls <= rc.fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		rc.got = append(rc.got, n)
		rc.auth = append(rc.auth, r.Header.Get("Authorization"))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) received() ([]signicat.Notification, []string, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]signicat.Notification(nil), rc.got...), append([]string(nil), rc.auth...), rc.calls
}

// wait waits until the receiver got n callbacks.
func (rc *receiver) wait(t *testing.T, n int, within time.Duration) []signicat.Notification {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, _, _ := rc.received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callbacks, want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestToken(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	resp, b := e.tokenReq(false, signicatsim.DefaultClientID, signicatsim.DefaultClientSecret, "client_credentials")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post: %d %s", resp.StatusCode, b)
	}
	var tr signicat.TokenResponse
	json.Unmarshal(b, &tr)
	if tr.AccessToken == "" || tr.AccessToken == e.tok || tr.TokenType != "Bearer" || tr.ExpiresIn != 600 || tr.Scope != signicat.Scope {
		t.Fatalf("token %+v", tr)
	}
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)
	e.tok = tr.AccessToken
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)

	resp, b = e.tokenReq(true, signicatsim.DefaultClientID, "wrong", "client_credentials")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"error":"invalid_client"`) {
		t.Fatalf("bad secret: %d %s", resp.StatusCode, b)
	}
	resp, b = e.tokenReq(false, "someone", signicatsim.DefaultClientSecret, "client_credentials")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), `"error":"invalid_client"`) {
		t.Fatalf("bad id: %d %s", resp.StatusCode, b)
	}
	resp, b = e.tokenReq(true, signicatsim.DefaultClientID, signicatsim.DefaultClientSecret, "password")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"error":"unsupported_grant_type"`) {
		t.Fatalf("bad grant: %d %s", resp.StatusCode, b)
	}
	st := e.sim.Stats()
	if st.TokensBasic != 1 || st.TokensPost != 1 || st.TokenRejections != 3 {
		t.Fatalf("stats %+v", st)
	}

	// Without a token, or with a made-up one: 401 problem.
	for _, tok := range []string{"", "made-up"} {
		resp, b := e.call(http.MethodPost, signicat.DossiersPath, map[string]any{}, tok)
		e.problem(resp, b, http.StatusUnauthorized)
	}
	if got := e.sim.Stats().Unauthorized; got != 2 {
		t.Fatalf("unauthorized %d", got)
	}
}

func TestTokenBasicFormEncoded(t *testing.T) {
	// RFC 6749 form-encodes the id and secret before Basic (golang.org/x/oauth2 does): both spellings work.
	e := newEnv(t, signicatsim.Options{ClientID: "sandbox-round apple", ClientSecret: "s3cr/t+x="})
	resp, b := e.tokenReq(true, url.QueryEscape("sandbox-round apple"), url.QueryEscape("s3cr/t+x="), "client_credentials")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("encoded basic: %d %s", resp.StatusCode, b)
	}
	resp, b = e.tokenReq(true, "sandbox-round apple", "s3cr/t+x=", "client_credentials")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("raw basic: %d %s", resp.StatusCode, b)
	}
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t, signicatsim.Options{TokenTTL: time.Second})
	resp, b := e.tokenReq(false, signicatsim.DefaultClientID, signicatsim.DefaultClientSecret, "client_credentials")
	var tr signicat.TokenResponse
	json.Unmarshal(b, &tr)
	if resp.StatusCode != http.StatusOK || tr.ExpiresIn != 1 {
		t.Fatalf("token %d %s", resp.StatusCode, b)
	}
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)
	time.Sleep(1100 * time.Millisecond)
	resp, b = e.call(http.MethodPost, signicat.DossiersPath, map[string]any{})
	e.problem(resp, b, http.StatusUnauthorized)
	e.tok = e.token()
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)
}

func TestAuthFaults(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	e.sim.SetFaults(signicatsim.Faults{Unauthorized401Once: true})
	resp, b := e.call(http.MethodPost, signicat.DossiersPath, map[string]any{})
	e.problem(resp, b, http.StatusUnauthorized)
	if e.sim.Faults().Unauthorized401Once {
		t.Fatal("the 401-once switch did not clear itself")
	}
	// The token was revoked: a client that fetches a new one and retries succeeds.
	resp, b = e.call(http.MethodPost, signicat.DossiersPath, map[string]any{})
	e.problem(resp, b, http.StatusUnauthorized)
	e.tok = e.token()
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)

	e.sim.SetFaults(signicatsim.Faults{Always401: true})
	resp, b = e.call(http.MethodPost, signicat.DossiersPath, map[string]any{})
	e.problem(resp, b, http.StatusUnauthorized)
	e.tok = e.token()
	resp, b = e.call(http.MethodPost, signicat.DossiersPath, map[string]any{})
	e.problem(resp, b, http.StatusUnauthorized)

	e.sim.SetFaults(signicatsim.Faults{FailNext: 2})
	for range 2 {
		resp, b := e.call(http.MethodPost, signicat.DossiersPath, map[string]any{})
		if p := e.problem(resp, b, http.StatusServiceUnavailable); p.Type != "base:server-problem" {
			t.Fatalf("problem %+v", p)
		}
	}
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)

	// Through the control API: failNext with another status.
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/sim/faults", strings.NewReader(`{"failNext":1,"failStatus":500,"latencyMs":1}`))
	if resp, b := e.send(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("faults: %d %s", resp.StatusCode, b)
	}
	resp, b = e.call(http.MethodGet, signicat.DocumentTypesPath("onfido"), nil)
	e.problem(resp, b, http.StatusInternalServerError)
	e.must(http.StatusOK, http.MethodGet, signicat.DocumentTypesPath("onfido"), nil, nil)
	st := e.sim.Stats()
	if st.Unauthorized != 4 || st.InjectedFailures != 3 || st.APICalls != 10 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCaptureFlow(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	rc := newReceiver(t, 0)
	d := e.dossier()
	var c signicat.Capture
	e.must(http.StatusCreated, http.MethodPost, signicat.CapturePath(d), signicat.StartCapture{
		Providers:   []signicat.CaptureProvider{{Provider: "signicatvideoid", ProcessType: "substantial"}},
		RedirectURL: "https://app.example/return?case=42&x=a%20b", NotificationURL: rc.URL + "/hook", AuthorizationHeader: "Bearer cb-secret",
	}, &c)
	if c.ID == "" || c.URL != e.srv.URL+"/capture/"+c.ID || c.ProcessID == "" {
		t.Fatalf("capture %+v", c)
	}
	if p := e.getProcess(d, c.ProcessID); p.Status != signicat.StatusPending || p.Provider != "signicatvideoid" || p.ProcessType != "substantial" {
		t.Fatalf("process %+v", p)
	}

	req, _ := http.NewRequest(http.MethodGet, c.URL, nil)
	resp, b := e.send(req)
	page := string(b)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<form") || !strings.Contains(page, "imulator") {
		t.Fatalf("capture page: %d %s", resp.StatusCode, page)
	}
	for _, f := range []string{"firstName", "lastName", "dateOfBirth", "documentType", "documentNumber", "dateOfExpiry",
		"issuingCountry", "nationality", `value="accepted"`, `value="rejected"`, `value="inconclusive"`, `value="failed"`, `value="canceled"`, `value="GBR"`} {
		if !strings.Contains(page, f) {
			t.Fatalf("capture page lacks %s", f)
		}
	}

	// A bad date is refused, and what was typed comes back escaped.
	form := url.Values{"status": {"accepted"}, "firstName": {"<script>x</script>"}, "lastName": {"Davies"},
		"dateOfBirth": {"12/04/1985"}, "documentType": {"driving_license"}, "documentNumber": {"DAVIE851125J99"},
		"dateOfExpiry": {"2031-01-01"}, "issuingCountry": {"gbr"}, "nationality": {"GBR"}}
	resp, b = e.postForm(c.URL, form)
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(b), "<script>x") || !strings.Contains(string(b), "&lt;script&gt;") ||
		!strings.Contains(string(b), "YYYY-MM-DD") {
		t.Fatalf("bad form: %d %s", resp.StatusCode, b)
	}

	form.Set("firstName", "Jane")
	form.Set("dateOfBirth", "1985-04-12")
	resp, _ = e.postForm(c.URL, form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Host != "app.example" || loc.Path != "/return" {
		t.Fatalf("location %q", resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("case") != "42" || q.Get("x") != "a b" || q.Get("dossierId") != d || q.Get("processId") != c.ProcessID || q.Get("status") != "processing" {
		t.Fatalf("redirect query %v", q)
	}
	if p := e.getProcess(d, c.ProcessID); p.Status != signicat.StatusProcessing {
		t.Fatalf("after capture: %s", p.Status)
	}
	p := e.final(d, c.ProcessID)
	want := signicat.FinalResult{FirstName: "Jane", LastName: "Davies", DateOfBirth: "1985-04-12", DocumentNumber: "DAVIE851125J99",
		DocumentType: "driving_license", DateOfExpiry: "2031-01-01", IssuingCountry: "GBR", Nationality: "GBR"}
	if p.Status != signicat.StatusAccepted || p.FinalResult == nil || *p.FinalResult != want || p.DocumentType != "driving_license" {
		t.Fatalf("final %+v %+v", p, p.FinalResult)
	}

	rc.wait(t, 1, 2*time.Second)
	time.Sleep(50 * time.Millisecond) // room for a second callback, which must not come
	got, auth, _ := rc.received()
	if len(got) != 1 || got[0] != (signicat.Notification{DossierID: d, ProcessID: c.ProcessID, Status: signicat.StatusAccepted}) || auth[0] != "Bearer cb-secret" {
		t.Fatalf("callbacks %+v %q", got, auth)
	}

	// A used capture is refused politely.
	resp, b = e.postForm(c.URL, form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "already been done") {
		t.Fatalf("second submit: %d %s", resp.StatusCode, b)
	}
	req, _ = http.NewRequest(http.MethodGet, c.URL, nil)
	if resp, b := e.send(req); resp.StatusCode != http.StatusConflict || strings.Contains(string(b), "<form") {
		t.Fatalf("used page: %d", resp.StatusCode)
	}
	st := e.sim.Stats()
	if st.CapturesStarted != 1 || st.CapturesCompleted != 1 || st.CallbacksSent != 1 || st.Decisions != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCapturePublicURLAndValidation(t *testing.T) {
	e := newEnv(t, signicatsim.Options{PublicURL: "https://sim.example/"})
	d := e.dossier()
	var c signicat.Capture
	e.must(http.StatusCreated, http.MethodPost, signicat.CapturePath(d), signicat.StartCapture{
		Providers: []signicat.CaptureProvider{{Provider: "onfido"}}, RedirectURL: "https://app.example/back"}, &c)
	if c.URL != "https://sim.example/capture/"+c.ID {
		t.Fatalf("url %q", c.URL)
	}
	resp, b := e.call(http.MethodPost, signicat.CapturePath(d), signicat.StartCapture{RedirectURL: "https://app.example/back"})
	if p := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(p.Detail, "providers") {
		t.Fatalf("detail %q", p.Detail)
	}
	resp, b = e.call(http.MethodPost, signicat.CapturePath(d), signicat.StartCapture{Providers: []signicat.CaptureProvider{{Provider: "onfido"}}})
	if p := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(p.Detail, "redirectUrl") {
		t.Fatalf("detail %q", p.Detail)
	}
	resp, b = e.call(http.MethodPost, signicat.CapturePath("nope"), signicat.StartCapture{
		Providers: []signicat.CaptureProvider{{Provider: "onfido"}}, RedirectURL: "https://app.example/back"})
	e.problem(resp, b, http.StatusNotFound)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/capture/unknown", nil)
	if resp, _ := e.send(req); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown capture: %d", resp.StatusCode)
	}
}

func (e *env) postForm(u string, form url.Values) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return e.send(req)
}

func TestAttendedFlow(t *testing.T) {
	e := newEnv(t, signicatsim.Options{MaxImageBytes: 1024})
	rc := newReceiver(t, 0)
	var dt signicat.DocumentTypes
	e.must(http.StatusOK, http.MethodGet, signicat.DocumentTypesPath("onfido"), nil, &dt)
	if len(dt.DocumentTypes) != 4 || dt.DocumentTypes[0].DocumentType != "passport" || dt.DocumentTypes[0].TwoSided || !dt.DocumentTypes[1].TwoSided {
		t.Fatalf("document types %+v", dt)
	}

	d := e.dossier()
	resp, b := e.call(http.MethodPost, signicat.ProcessesPath(d), signicat.CreateProcess{DocumentType: "passport"})
	if p := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(p.Detail, "provider") {
		t.Fatalf("detail %q", p.Detail)
	}
	resp, b = e.call(http.MethodPost, signicat.ProcessesPath(d), signicat.CreateProcess{Provider: "onfido", DocumentType: "library_card"})
	if p := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(p.Detail, "documentType") {
		t.Fatalf("detail %q", p.Detail)
	}
	resp, b = e.call(http.MethodPost, signicat.ProcessesPath(d), map[string]any{"provider": 7})
	if p := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(p.Detail, "provider") {
		t.Fatalf("detail %q", p.Detail)
	}
	resp, b = e.call(http.MethodPost, signicat.ProcessesPath("no-such-dossier"), signicat.CreateProcess{Provider: "onfido"})
	e.problem(resp, b, http.StatusNotFound)

	p := e.process(d, signicat.CreateProcess{Provider: "onfido", DocumentType: "driving_license",
		NotificationURL: rc.URL, AuthorizationHeader: "Token abc"})
	images := signicat.ImagesPath(d, p.ProcessID)
	for _, c := range []struct {
		body  signicat.Images
		field string
		want  string
	}{
		{signicat.Images{Front: "data:image/gif;base64,R0lGODlh"}, "front", "media type"},
		{signicat.Images{Selfie: "data:image/png;base64,!!!not base64"}, "selfie", "base64"},
		{signicat.Images{Back: "data:image/png;base64," + base64.StdEncoding.EncodeToString(jpegBytes("x"))}, "back", "PNG"},
		{signicat.Images{Front: "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes(strings.Repeat("x", 2000)))}, "front", "1024"},
		{signicat.Images{Front: "https://example.com/front.png"}, "front", "data URL"},
		{signicat.Images{}, "front", "at least one"},
	} {
		resp, b := e.call(http.MethodPost, images, c.body)
		pr := e.problem(resp, b, http.StatusBadRequest)
		if !strings.HasPrefix(pr.Detail, c.field) || !strings.Contains(pr.Detail, c.want) {
			t.Fatalf("%+v: detail %q", c.body, pr.Detail)
		}
	}

	verify := signicat.VerifyPath(d, p.ProcessID)
	resp, b = e.call(http.MethodPost, verify, nil)
	if pr := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(pr.Detail, "selfie") {
		t.Fatalf("detail %q", pr.Detail)
	}
	e.must(http.StatusOK, http.MethodPost, images, signicat.Images{Front: pngURL("old front")}, nil)
	resp, b = e.call(http.MethodPost, verify, nil)
	if pr := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(pr.Detail, "selfie") {
		t.Fatalf("verify without selfie: %q", pr.Detail)
	}
	e.must(http.StatusOK, http.MethodPost, images, signicat.Images{Front: pngURL("front"), Selfie: jpegURL("selfie")}, nil)
	resp, b = e.call(http.MethodPost, verify, nil)
	if pr := e.problem(resp, b, http.StatusBadRequest); !strings.Contains(pr.Detail, "back") || strings.Contains(pr.Detail, "selfie:") {
		t.Fatalf("two-sided without back: %q", pr.Detail)
	}
	e.must(http.StatusOK, http.MethodPost, images, signicat.Images{Back: pngURL("back")}, nil)
	var out signicat.Process
	e.must(http.StatusOK, http.MethodPost, verify, nil, &out)
	if out.Status != signicat.StatusProcessing {
		t.Fatalf("verify: %s", out.Status)
	}
	// No more images, no second start, no zip yet.
	resp, b = e.call(http.MethodPost, images, signicat.Images{Front: pngURL("late")})
	e.problem(resp, b, http.StatusConflict)
	resp, b = e.call(http.MethodPost, verify, nil)
	e.problem(resp, b, http.StatusConflict)
	resp, b = e.call(http.MethodGet, signicat.DownloadPath(d, p.ProcessID), nil)
	if pr := e.problem(resp, b, http.StatusConflict); !strings.Contains(pr.Detail, "process is not finished") {
		t.Fatalf("detail %q", pr.Detail)
	}
	// Stays processing until decided.
	time.Sleep(60 * time.Millisecond)
	if got := e.getProcess(d, p.ProcessID); got.Status != signicat.StatusProcessing {
		t.Fatalf("undecided: %s", got.Status)
	}

	// Decide through the control endpoint.
	decide := e.srv.URL + "/sim/processes/" + p.ProcessID + "/decide"
	req, _ := http.NewRequest(http.MethodPost, decide, strings.NewReader(`{"status":"bogus"}`))
	if resp, _ := e.send(req); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bogus decide: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodPost, decide, strings.NewReader(`{"status":"rejected","finalResult":{"firstName":"Jane","documentNumber":"X1"}}`))
	if resp, b := e.send(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("decide: %d %s", resp.StatusCode, b)
	}
	req, _ = http.NewRequest(http.MethodPost, decide, strings.NewReader(`{"status":"accepted"}`))
	if resp, _ := e.send(req); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second decide: %d", resp.StatusCode)
	}
	final := e.final(d, p.ProcessID)
	if final.Status != signicat.StatusRejected || final.FinalResult == nil || final.FinalResult.DocumentNumber != "X1" || final.FailReason == "" {
		t.Fatalf("final %+v", final)
	}
	got := rc.wait(t, 1, 2*time.Second)
	_, auth, _ := rc.received()
	if got[0].Status != signicat.StatusRejected || got[0].ProcessID != p.ProcessID || auth[0] != "Token abc" {
		t.Fatalf("callback %+v %q", got, auth)
	}

	// The image as uploaded.
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+signicat.ImagesPath(d, p.ProcessID)+"/selfie", nil)
	req.Header.Set("Authorization", "Bearer "+e.tok)
	if resp, b := e.send(req); resp.StatusCode != http.StatusOK || !bytes.Equal(b, jpegBytes("selfie")) || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("selfie: %d %q", resp.StatusCode, b)
	}

	// The zip: deterministic, with result.json and the images.
	resp, z1 := e.call(http.MethodGet, signicat.DownloadPath(d, p.ProcessID), nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	time.Sleep(1100 * time.Millisecond) // a zip stamped with the wall clock would differ now
	_, z2 := e.call(http.MethodGet, signicat.DownloadPath(d, p.ProcessID), nil)
	if sha256.Sum256(z1) != sha256.Sum256(z2) {
		t.Fatal("the zip is not deterministic")
	}
	zr, err := zip.NewReader(bytes.NewReader(z1), int64(len(z1)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rd, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rd)
		rd.Close()
	}
	var res signicat.Process
	if err := json.Unmarshal(files["result.json"], &res); err != nil || res.ProcessID != p.ProcessID || res.Status != signicat.StatusRejected {
		t.Fatalf("result.json %s (%v)", files["result.json"], err)
	}
	if !bytes.Equal(files["front.png"], pngBytes("front")) || !bytes.Equal(files["back.png"], pngBytes("back")) ||
		!bytes.Equal(files["selfie.jpg"], jpegBytes("selfie")) || len(files) != 4 {
		t.Fatalf("zip files %v", len(files))
	}
	if st := e.sim.Stats(); st.Downloads != 2 {
		t.Fatalf("downloads %d", st.Downloads)
	}
}

func TestDecideMethod(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	d := e.dossier()
	p := e.process(d, signicat.CreateProcess{Provider: "onfido", DocumentType: "passport"})
	if err := e.sim.Decide(p.ProcessID, signicatsim.StatusAccepted, signicatsim.FinalResult{}); err == nil {
		t.Fatal("decided a pending process")
	}
	if err := e.sim.Decide("nope", signicatsim.StatusAccepted, signicatsim.FinalResult{}); err != signicatsim.ErrNoProcess {
		t.Fatalf("unknown process: %v", err)
	}
	_, id := e.processing("", "")
	if err := e.sim.Decide(id, signicatsim.StatusProcessing, signicatsim.FinalResult{}); err == nil {
		t.Fatal("decided a non-final status")
	}
	if err := e.sim.Decide(id, signicatsim.StatusCanceled, signicatsim.FinalResult{}); err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Decide(id, signicatsim.StatusAccepted, signicatsim.FinalResult{}); err != signicatsim.ErrAlreadyDecided {
		t.Fatalf("second decision: %v", err)
	}
}

func TestCallbackModes(t *testing.T) {
	cases := []struct {
		mode      signicatsim.CallbackMode
		fail      int
		want      int           // callbacks the receiver answers 2xx
		notBefore time.Duration // none before this
	}{
		{mode: signicatsim.CallbacksNormal, want: 1},
		{mode: signicatsim.CallbacksDrop, want: 0},
		{mode: signicatsim.CallbacksDuplicate, want: 2},
		{mode: signicatsim.CallbacksLate, want: 1, notBefore: 150 * time.Millisecond},
		{mode: signicatsim.CallbacksNormal, fail: 1, want: 1}, // retried after a 500
	}
	for _, c := range cases {
		name := string(c.mode)
		if name == "" {
			name = "normal"
		}
		if c.fail > 0 {
			name += "-retried"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, signicatsim.Options{LateCallbackDelay: 300 * time.Millisecond})
			rc := newReceiver(t, c.fail)
			e.sim.SetFaults(signicatsim.Faults{Callbacks: c.mode})
			d, id := e.processing(rc.URL, "Basic c2ltOmNi")
			start := time.Now()
			if err := e.sim.Decide(id, signicatsim.StatusAccepted, signicatsim.FinalResult{FirstName: "Jane"}); err != nil {
				t.Fatal(err)
			}
			e.final(d, id)
			if c.notBefore > 0 {
				for time.Since(start) < c.notBefore {
					if got, _, _ := rc.received(); len(got) > 0 {
						t.Fatalf("callback after %v", time.Since(start))
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
			if c.want > 0 {
				rc.wait(t, c.want, 3*time.Second)
			}
			time.Sleep(150 * time.Millisecond)
			got, auth, calls := rc.received()
			if len(got) != c.want || calls != c.want+c.fail {
				t.Fatalf("%d callbacks in %d calls, want %d", len(got), calls, c.want)
			}
			for i, n := range got {
				if n != (signicat.Notification{DossierID: d, ProcessID: id, Status: signicat.StatusAccepted}) || auth[i] != "Basic c2ltOmNi" {
					t.Fatalf("callback %+v %q", n, auth[i])
				}
			}
			st := e.sim.Stats()
			switch c.mode {
			case signicatsim.CallbacksDrop:
				if st.CallbacksDropped != 1 || st.CallbacksSent != 0 {
					t.Fatalf("stats %+v", st)
				}
			case signicatsim.CallbacksDuplicate:
				if st.CallbacksDuplicated != 1 || st.CallbacksSent != 2 {
					t.Fatalf("stats %+v", st)
				}
			default:
				if st.CallbacksSent != 1 || st.CallbacksFailed != c.fail || st.CallbacksGivenUp != 0 {
					t.Fatalf("stats %+v", st)
				}
			}
		})
	}
}

func TestCallbackGivesUp(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	rc := newReceiver(t, 100)
	d, id := e.processing(rc.URL, "")
	e.sim.Decide(id, signicatsim.StatusFailed, signicatsim.FinalResult{})
	if p := e.final(d, id); p.Status != signicat.StatusFailed || p.FinalResult != nil || p.FailReason == "" {
		t.Fatalf("final %+v", p)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.sim.Stats().CallbacksGivenUp == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", e.sim.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, calls := rc.received(); calls != 4 {
		t.Fatalf("%d attempts, want 4", calls)
	}
	if st := e.sim.Stats(); st.CallbacksFailed != 4 || st.CallbacksSent != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestDelete(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	d := e.dossier()
	p1 := e.process(d, signicat.CreateProcess{Provider: "onfido", DocumentType: "passport"})
	p2 := e.process(d, signicat.CreateProcess{Provider: "onfido"})
	p3 := e.process(d, signicat.CreateProcess{Provider: "readid"})
	var got signicat.Dossier
	e.must(http.StatusOK, http.MethodGet, signicat.DossierPath(d), nil, &got)
	if len(got.Processes) != 3 || got.Processes[0].ProcessID != p1.ProcessID || got.Processes[0].AuthorizationToken != "" {
		t.Fatalf("dossier %+v", got)
	}
	e.must(http.StatusNoContent, http.MethodDelete, signicat.ProcessPath(d, p3.ProcessID), nil, nil)
	resp, b := e.call(http.MethodGet, signicat.ProcessPath(d, p3.ProcessID), nil)
	e.problem(resp, b, http.StatusNotFound)

	// A process is only found in its own dossier.
	other := e.dossier()
	resp, b = e.call(http.MethodGet, signicat.ProcessPath(other, p1.ProcessID), nil)
	e.problem(resp, b, http.StatusNotFound)

	e.must(http.StatusNoContent, http.MethodDelete, signicat.DossierPath(d), nil, nil)
	for _, path := range []string{signicat.DossierPath(d), signicat.ProcessPath(d, p1.ProcessID), signicat.ProcessPath(d, p2.ProcessID)} {
		resp, b := e.call(http.MethodGet, path, nil)
		e.problem(resp, b, http.StatusNotFound)
	}
	resp, b = e.call(http.MethodDelete, signicat.DossierPath(d), nil)
	e.problem(resp, b, http.StatusNotFound)
	if err := e.sim.Decide(p1.ProcessID, signicatsim.StatusAccepted, signicatsim.FinalResult{}); err != signicatsim.ErrNoProcess {
		t.Fatalf("decide deleted: %v", err)
	}
	st := e.sim.Stats()
	if st.DossiersCreated != 2 || st.DossiersDeleted != 1 || st.ProcessesDeleted != 3 || st.ProcessesCreated != 3 {
		t.Fatalf("stats %+v", st)
	}
	// Unknown paths and methods answer problems too.
	resp, b = e.call(http.MethodGet, "/assure/nothing/here/at/all", nil)
	e.problem(resp, b, http.StatusNotFound)
	resp, b = e.call(http.MethodPut, signicat.DossierPath(other), nil)
	e.problem(resp, b, http.StatusMethodNotAllowed)
}

func TestControlAndPage(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	_, id := e.processing("", "")
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		resp, b := e.send(req)
		return resp.StatusCode, string(b)
	}
	code, page := get("/")
	if code != http.StatusOK || !strings.Contains(page, id) || !strings.Contains(page, "sim/processes/"+id+"/decide") {
		t.Fatalf("page: %d %s", code, page)
	}
	var st signicatsim.State
	code, body := get("/sim/state")
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != http.StatusOK || len(st.Dossiers) != 1 ||
		st.Dossiers[0].Processes[0].ProcessID != id || st.Dossiers[0].Processes[0].Images["front"] == 0 || st.Faults.FailStatus != 503 {
		t.Fatalf("state %d %s", code, body)
	}

	// The page's decide form.
	resp, _ := e.postForm(e.srv.URL+"/sim/processes/"+id+"/decide", url.Values{"status": {"inconclusive"}, "firstName": {"Jane"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("decide form: %d", resp.StatusCode)
	}
	if p := e.final(st.Dossiers[0].DossierID, id); p.Status != signicat.StatusInconclusive || p.FinalResult.FirstName != "Jane" {
		t.Fatalf("final %+v", p)
	}
	// The page's faults form replaces all.
	resp, _ = e.postForm(e.srv.URL+"/sim/faults", url.Values{"callbacks": {"late"}, "always401": {"on"}, "failNext": {"2"}})
	if f := e.sim.Faults(); resp.StatusCode != http.StatusSeeOther || f.Callbacks != signicatsim.CallbacksLate || !f.Always401 || f.FailNext != 2 {
		t.Fatalf("faults form: %d %+v", resp.StatusCode, f)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/sim/faults", strings.NewReader(`{"callbacks":"sideways"}`))
	if resp, _ := e.send(req); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad mode: %d", resp.StatusCode)
	}
	_, page = get("/")
	if !strings.Contains(page, "Faults are on") {
		t.Fatal("the page does not show the faults")
	}

	// Try a capture from the page: it lands on a capture page that returns to the page.
	resp, _ = e.postForm(e.srv.URL+"/sim/try", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), e.srv.URL+"/capture/") {
		t.Fatalf("try: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = e.postForm(resp.Header.Get("Location"), url.Values{"status": {"accepted"}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, e.srv.URL+"/?dossierId=") {
		t.Fatalf("try capture: %d %q", resp.StatusCode, loc)
	}

	resp, _ = e.postForm(e.srv.URL+"/sim/reset", url.Values{})
	if st := e.sim.State(); resp.StatusCode != http.StatusSeeOther || len(st.Dossiers) != 0 || st.Faults.Always401 || st.Stats.APICalls != 0 {
		t.Fatalf("reset: %+v", st)
	}
	// Tokens survive a reset.
	e.must(http.StatusCreated, http.MethodPost, signicat.DossiersPath, map[string]any{}, nil)
}
