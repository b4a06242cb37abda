package signicat_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/signicat"
)

const (
	clientID     = "sandbox-round-apple-123"
	clientSecret = "s3cr3t-Value_do-not-leak"
)

// fake is an Assure API of our own: a token endpoint issuing tok-1, tok-2, ... and an API that checks the
// bearer token before handing the request to api.
type fake struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	expiresIn   int             // of the tokens issued; default 600
	tokenStatus int             // when not 0, the token endpoint answers this with invalid_client
	tokenBody   string          // when set, the token endpoint's error answer
	tokenDelay  time.Duration   // how long the token endpoint takes
	issued      int             // tokens issued
	refused     map[string]bool // tokens the API answers 401
	refuseAll   bool            // the API answers 401 whatever the token
	tokenForms  []tokenRequest  // what each token request carried
	apiCalls    int             // API requests, 401s included
	bodies      []string        // the body of each API request
	api         http.HandlerFunc
}

type tokenRequest struct {
	basicID, basicSecret string // from the Authorization header
	hasBasic             bool
	grantType, scope     string
	formID, formSecret   string
}

func newFake(t *testing.T, api http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{t: t, expiresIn: 600, refused: map[string]bool{}, api: api}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == signicat.TokenPath {
		f.token(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.apiCalls++
	f.bodies = append(f.bodies, string(body))
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	valid := ok && strings.HasPrefix(tok, "tok-") && !f.refused[tok] && !f.refuseAll
	f.mu.Unlock()
	if !valid {
		problem(w, http.StatusUnauthorized, "Unauthorized", "token "+tok+" refused")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	f.api(w, r)
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("token form: %v", err)
	}
	var tr tokenRequest
	tr.basicID, tr.basicSecret, tr.hasBasic = r.BasicAuth()
	tr.grantType, tr.scope = r.PostForm.Get("grant_type"), r.PostForm.Get("scope")
	tr.formID, tr.formSecret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	f.mu.Lock()
	delay := f.tokenDelay
	f.mu.Unlock()
	time.Sleep(delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenForms = append(f.tokenForms, tr)
	if f.tokenStatus != 0 {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.tokenStatus)
		body := f.tokenBody
		if body == "" {
			body = `{"error":"invalid_client"}`
		}
		io.WriteString(w, body)
		return
	}
	f.issued++
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(signicat.TokenResponse{AccessToken: fmt.Sprintf("tok-%d", f.issued),
		TokenType: "Bearer", ExpiresIn: f.expiresIn, Scope: signicat.Scope})
}

func (f *fake) tokenCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tokenForms)
}

func (f *fake) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiCalls
}

func (f *fake) set(edit func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f)
}

func (f *fake) client(t *testing.T, edit func(*signicat.Config)) *signicat.Client {
	t.Helper()
	cfg := signicat.Config{BaseURL: f.srv.URL + "/", ClientID: clientID, ClientSecret: clientSecret,
		Timeout: 2 * time.Second, Transport: f.srv.Client().Transport}
	if edit != nil {
		edit(&cfg)
	}
	c, err := signicat.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(signicat.Problem{Instance: "/x", Method: "GET", Status: status,
		Type: "base:client-problem", Title: title, Detail: detail, TraceID: "trace-1"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// processAPI answers every call with one process.
func processAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, signicat.Process{ProcessID: "p1", Provider: "onfido", Status: signicat.StatusProcessing})
}

func TestNewValidates(t *testing.T) {
	good := signicat.Config{BaseURL: "https://api.signicat.com", ClientID: "id", ClientSecret: "secret"}
	if _, err := signicat.New(good); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*signicat.Config){
		"relative base": func(c *signicat.Config) { c.BaseURL = "/assure" },
		"ftp base":      func(c *signicat.Config) { c.BaseURL = "ftp://api.signicat.com" },
		"empty base":    func(c *signicat.Config) { c.BaseURL = "" },
		"bad token url": func(c *signicat.Config) { c.TokenURL = "api.signicat.com/token" },
		"no id":         func(c *signicat.Config) { c.ClientID = "" },
		"no secret":     func(c *signicat.Config) { c.ClientSecret = "" },
		"bad style":     func(c *signicat.Config) { c.AuthStyle = "jwt" },
	} {
		cfg := good
		edit(&cfg)
		if _, err := signicat.New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestTokenCachedAcrossConcurrentCalls(t *testing.T) {
	f := newFake(t, processAPI)
	c := f.client(t, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if _, err := c.GetProcess(context.Background(), "d1", "p1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.tokenCalls(); n != 1 {
		t.Fatalf("token requests = %d, want 1", n)
	}
	if n := f.calls(); n != 50 {
		t.Fatalf("API calls = %d, want 50", n)
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	f := newFake(t, processAPI)
	// The library renews 10 s before expiry: a token of 11 s is good for about 1 s.
	f.set(func(f *fake) { f.expiresIn = 11 })
	c := f.client(t, nil)
	ctx := context.Background()
	for range 3 {
		if _, err := c.GetProcess(ctx, "d1", "p1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls(); n != 1 {
		t.Fatalf("token requests = %d, want 1 while the token is fresh", n)
	}
	time.Sleep(1200 * time.Millisecond)
	for range 3 {
		if _, err := c.GetProcess(ctx, "d1", "p1"); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.tokenCalls(); n != 2 {
		t.Fatalf("token requests = %d, want 2 after the first came due", n)
	}
}

func TestAuthStyles(t *testing.T) {
	for _, style := range []signicat.AuthStyle{"", signicat.AuthBasic, signicat.AuthPost} {
		t.Run(string(style), func(t *testing.T) {
			f := newFake(t, processAPI)
			c := f.client(t, func(c *signicat.Config) { c.AuthStyle = style })
			if _, err := c.GetProcess(context.Background(), "d1", "p1"); err != nil {
				t.Fatal(err)
			}
			f.mu.Lock()
			tr := f.tokenForms[0]
			f.mu.Unlock()
			if tr.grantType != "client_credentials" || tr.scope != "signicat-api" {
				t.Fatalf("grant_type %q scope %q", tr.grantType, tr.scope)
			}
			if style == signicat.AuthPost {
				if tr.hasBasic || tr.formID != clientID || tr.formSecret != clientSecret {
					t.Fatalf("post: %+v", tr)
				}
			} else if !tr.hasBasic || tr.basicID != clientID || tr.basicSecret != clientSecret || tr.formSecret != "" || tr.formID != "" {
				t.Fatalf("basic: %+v", tr)
			}
		})
	}
}

func TestRetryOnceOn401(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, signicat.Process{ProcessID: "p9", Provider: "onfido", Status: signicat.StatusPending})
	})
	f.set(func(f *fake) { f.refused["tok-1"] = true }) // the first token is refused, once issued
	c := f.client(t, nil)
	in := signicat.CreateProcess{Provider: "onfido", DocumentType: "passport"}
	p, err := c.CreateProcess(context.Background(), "d1", in)
	if err != nil {
		t.Fatal(err)
	}
	if p.ProcessID != "p9" {
		t.Fatalf("process %+v", p)
	}
	if f.tokenCalls() != 2 || f.calls() != 2 {
		t.Fatalf("token requests %d, API calls %d; want 2 and 2", f.tokenCalls(), f.calls())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want, _ := json.Marshal(in)
	for i, b := range f.bodies {
		if strings.TrimSpace(b) != string(want) {
			t.Fatalf("body %d = %q, want %q", i, b, want)
		}
	}
}

func TestConcurrent401sFetchOneToken(t *testing.T) {
	f := newFake(t, processAPI)
	c := f.client(t, nil)
	ctx := context.Background()
	if _, err := c.GetProcess(ctx, "d1", "p1"); err != nil { // caches tok-1
		t.Fatal(err)
	}
	f.set(func(f *fake) { f.refused["tok-1"] = true })
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.GetProcess(ctx, "d1", "p1"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := f.tokenCalls(); n != 2 {
		t.Fatalf("token requests = %d, want 2 (one for the refused token)", n)
	}
}

func TestPersistent401(t *testing.T) {
	f := newFake(t, processAPI)
	f.set(func(f *fake) { f.refuseAll = true })
	c := f.client(t, nil)
	_, err := c.GetProcess(context.Background(), "d1", "p1")
	var e *signicat.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized || e.Op != "get process" {
		t.Fatalf("err = %v", err)
	}
	if signicat.Retryable(err) {
		t.Fatal("a refused token is retryable")
	}
	if f.calls() != 2 || f.tokenCalls() != 2 {
		t.Fatalf("API calls %d, token requests %d; want 2 and 2", f.calls(), f.tokenCalls())
	}
}

func TestTokenEndpointFailure(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
	}{{http.StatusUnauthorized, false}, {http.StatusBadRequest, false}, {http.StatusServiceUnavailable, true}, {http.StatusTooManyRequests, true}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			f := newFake(t, processAPI)
			f.set(func(f *fake) {
				f.tokenStatus = tc.status
				// A careless endpoint echoing the secret.
				f.tokenBody = `{"error":"invalid_client","error_description":"secret ` + clientSecret + ` unknown"}`
			})
			c := f.client(t, nil)
			_, err := c.GetDossier(context.Background(), "d1")
			var e *signicat.Error
			if !errors.As(err, &e) || e.Op != signicat.OpToken || e.StatusCode != tc.status {
				t.Fatalf("err = %#v", err)
			}
			if signicat.Retryable(err) != tc.retryable {
				t.Fatalf("Retryable(%v) = %v", err, !tc.retryable)
			}
			if !strings.Contains(err.Error(), "invalid_client") || strings.Contains(err.Error(), clientSecret) {
				t.Fatalf("message %q", err)
			}
			if s := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(s, clientSecret) {
				t.Fatalf("formatted error quotes the secret: %s", s)
			}
			if f.calls() != 0 {
				t.Fatal("the API was called without a token")
			}
		})
	}
}

func TestTokenFailureSharedByWaitingCallers(t *testing.T) {
	f := newFake(t, processAPI)
	f.set(func(f *fake) {
		f.tokenStatus = http.StatusServiceUnavailable
		f.tokenDelay = 300 * time.Millisecond // every caller arrives while the one fetch runs
	})
	c := f.client(t, nil)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			_, err := c.GetProcess(context.Background(), "d1", "p1")
			var e *signicat.Error
			if !errors.As(err, &e) || e.Op != signicat.OpToken || e.StatusCode != 503 {
				t.Errorf("err = %v", err)
			}
		})
	}
	wg.Wait()
	if n := f.tokenCalls(); n != 1 {
		t.Fatalf("token requests = %d, want 1 shared by all callers", n)
	}
	// A caller that gives up waiting gets its own error, not the fetch's.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.GetProcess(ctx, "d1", "p1"); !errors.Is(err, context.DeadlineExceeded) || !signicat.Retryable(err) {
		t.Fatalf("err = %v", err)
	}
	// And the client recovers once the endpoint does.
	f.set(func(f *fake) { f.tokenStatus, f.tokenDelay = 0, 0 })
	if _, err := c.GetProcess(context.Background(), "d1", "p1"); err != nil {
		t.Fatal(err)
	}
}

func TestErrors(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/bad"):
			problem(w, http.StatusBadRequest, "Bad Request", "documentType is required; you sent "+r.Header.Get("Authorization"))
		case strings.HasSuffix(r.URL.Path, "/missing"):
			problem(w, http.StatusNotFound, "Not Found", "no such process")
		case strings.HasSuffix(r.URL.Path, "/busy"):
			w.WriteHeader(http.StatusTooManyRequests)
		case strings.HasSuffix(r.URL.Path, "/broken"):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>bad gateway</html>")
		case strings.HasSuffix(r.URL.Path, "/slow"):
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		default:
			processAPI(w, r)
		}
	})
	c := f.client(t, func(c *signicat.Config) { c.Timeout = 200 * time.Millisecond })
	ctx := context.Background()

	_, err := c.GetProcess(ctx, "d1", "bad")
	var e *signicat.Error
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Problem == nil || e.Problem.Title != "Bad Request" ||
		e.Problem.Status != 400 || !strings.HasPrefix(e.Problem.Detail, "documentType is required") || e.Problem.TraceID != "trace-1" {
		t.Fatalf("err = %#v", err)
	}
	if signicat.Retryable(err) || signicat.NotFound(err) {
		t.Fatal("400 is retryable or not found")
	}
	if msg := err.Error(); !strings.Contains(msg, "documentType is required") || strings.Contains(msg, "tok-1") ||
		!strings.Contains(msg, "get process") {
		t.Fatalf("message %q", msg)
	}

	_, err = c.GetProcess(ctx, "d1", "missing")
	if !signicat.NotFound(err) || signicat.Retryable(err) {
		t.Fatalf("404: %v", err)
	}
	_, err = c.GetProcess(ctx, "d1", "busy")
	if !signicat.Retryable(err) {
		t.Fatalf("429 not retryable: %v", err)
	}
	_, err = c.GetProcess(ctx, "d1", "broken")
	if !errors.As(err, &e) || e.StatusCode != 502 || e.Problem != nil || !signicat.Retryable(err) {
		t.Fatalf("502: %#v", err)
	}

	start := time.Now()
	_, err = c.GetProcess(ctx, "d1", "slow")
	if err == nil || !signicat.Retryable(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v (retryable %v)", err, signicat.Retryable(err))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the call took %v", d)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err = c.GetProcess(cctx, "d1", "p1"); err == nil || signicat.Retryable(err) {
		t.Fatalf("canceled: %v", err)
	}

	if _, err = c.GetProcess(ctx, "", "p1"); err == nil || signicat.Retryable(err) {
		t.Fatalf("empty id: %v", err)
	}
}

func TestNetworkErrorRetryable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	c, err := signicat.New(signicat.Config{BaseURL: url, ClientID: clientID, ClientSecret: clientSecret, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateDossier(context.Background())
	var e *signicat.Error
	if !errors.As(err, &e) || e.Op != signicat.OpToken || e.StatusCode != 0 || !signicat.Retryable(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestDeleteNotFoundIsNil(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.EscapedPath())
		mu.Unlock()
		if r.Method != http.MethodDelete {
			t.Errorf("method %s", r.Method)
		}
		if strings.Contains(r.URL.Path, "gone") {
			problem(w, http.StatusNotFound, "Not Found", "")
			return
		}
		if strings.Contains(r.URL.Path, "locked") {
			problem(w, http.StatusConflict, "Conflict", "")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	c := f.client(t, nil)
	ctx := context.Background()
	for _, err := range []error{
		c.DeleteDossier(ctx, "gone"), c.DeleteProcess(ctx, "d1", "gone"),
		c.DeleteDossier(ctx, "d 1/x"), c.DeleteProcess(ctx, "d1", "p1"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteProcess(ctx, "d1", "locked"); err == nil || signicat.Retryable(err) {
		t.Fatalf("409: %v", err)
	}
	if err := c.DeleteDossier(ctx, ""); err == nil {
		t.Fatal("deleted the dossier collection")
	}
	mu.Lock()
	defer mu.Unlock()
	if seen[2] != "DELETE /assure/dossiers/d%201%2Fx" || seen[3] != "DELETE /assure/dossiers/d1/processes/p1" {
		t.Fatalf("paths %q", seen)
	}
}

func TestDocumentTypesCached(t *testing.T) {
	var mu sync.Mutex
	fetches := map[string]int{}
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetches[r.URL.Path]++
		mu.Unlock()
		time.Sleep(20 * time.Millisecond) // so concurrent callers overlap
		if strings.Contains(r.URL.Path, "readid") {
			// A bare array is taken too.
			writeJSON(w, []signicat.DocumentType{{DocumentType: "passport"}})
			return
		}
		writeJSON(w, signicat.DocumentTypes{DocumentTypes: []signicat.DocumentType{
			{DocumentType: "passport", Name: "Passport", Countries: []string{"GBR"}},
			{DocumentType: "driving_license", TwoSided: true},
		}})
	})
	c := f.client(t, func(c *signicat.Config) { c.DocumentTypesTTL = 300 * time.Millisecond })
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			types, err := c.DocumentTypes(ctx, "onfido")
			if err != nil {
				t.Error(err)
				return
			}
			if len(types) != 2 || types[0].DocumentType != "passport" || !types[1].TwoSided {
				t.Errorf("types %+v", types)
			}
		})
	}
	wg.Wait()
	types, err := c.DocumentTypes(ctx, "onfido")
	if err != nil {
		t.Fatal(err)
	}
	types[0].DocumentType = "scribbled" // the caller's copy
	if types, _ := c.DocumentTypes(ctx, "readid"); len(types) != 1 {
		t.Fatalf("readid %+v", types)
	}
	count := func(p string) int {
		mu.Lock()
		defer mu.Unlock()
		return fetches["/assure/"+p+"/document-types"]
	}
	if count("onfido") != 1 || count("readid") != 1 {
		t.Fatalf("fetches %v", fetches)
	}
	time.Sleep(350 * time.Millisecond)
	types, err = c.DocumentTypes(ctx, "onfido")
	if err != nil || types[0].DocumentType != "passport" {
		t.Fatalf("%v %+v", err, types)
	}
	if count("onfido") != 2 {
		t.Fatalf("not refetched after the TTL: %v", fetches)
	}
}

func TestDownloadStreams(t *testing.T) {
	zip := make([]byte, 3<<20)
	rand.Read(zip)
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/assure/dossiers/d1/processes/p1/download" {
			problem(w, http.StatusNotFound, "Not Found", "")
			return
		}
		w.Header().Set("Content-Type", "application/zip")
		w.Write(zip)
	})
	c := f.client(t, nil)
	var buf bytes.Buffer
	n, err := c.DownloadResult(context.Background(), "d1", "p1", &buf)
	if err != nil || n != int64(len(zip)) || !bytes.Equal(buf.Bytes(), zip) {
		t.Fatalf("n %d err %v equal %v", n, err, bytes.Equal(buf.Bytes(), zip))
	}
	if _, err := c.DownloadResult(context.Background(), "d1", "p2", io.Discard); !signicat.NotFound(err) {
		t.Fatalf("err %v", err)
	}
}

func TestCallsSendTheContract(t *testing.T) {
	type req struct{ method, path, body, ctype string }
	var mu sync.Mutex
	var got []req
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, req{r.Method, r.URL.Path, strings.TrimSpace(string(b)), r.Header.Get("Content-Type")})
		mu.Unlock()
		switch {
		case r.URL.Path == "/assure/dossiers" || r.URL.Path == "/assure/dossiers/d1":
			writeJSON(w, signicat.Dossier{DossierID: "d1", Processes: []signicat.Process{{ProcessID: "p1"}}})
		case strings.HasSuffix(r.URL.Path, "/capture"):
			writeJSON(w, signicat.Capture{URL: "https://capture.example/x"})
		case strings.HasSuffix(r.URL.Path, "/images"):
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, signicat.Process{ProcessID: "p1", Status: signicat.StatusAccepted,
				FinalResult: &signicat.FinalResult{DocumentNumber: "123"}})
		}
	})
	c := f.client(t, nil)
	ctx := context.Background()
	d, err := c.CreateDossier(ctx)
	if err != nil || d.DossierID != "d1" {
		t.Fatal(d, err)
	}
	if d, err = c.GetDossier(ctx, "d1"); err != nil || len(d.Processes) != 1 {
		t.Fatal(d, err)
	}
	cp, err := c.StartCapture(ctx, "d1", signicat.StartCapture{Providers: []signicat.CaptureProvider{{Provider: "onfido"}}, RedirectURL: "https://us/back"})
	if err != nil || cp.URL != "https://capture.example/x" {
		t.Fatal(cp, err)
	}
	if err := c.SetImages(ctx, "d1", "p1", signicat.Images{Front: "data:image/png;base64,AA=="}); err != nil {
		t.Fatal(err)
	}
	if err := c.StartVerification(ctx, "d1", "p1"); err != nil {
		t.Fatal(err)
	}
	p, err := c.GetProcess(ctx, "d1", "p1")
	if err != nil || !p.Status.Final() || p.FinalResult.DocumentNumber != "123" {
		t.Fatal(p, err)
	}
	want := []req{
		{"POST", "/assure/dossiers", "{}", "application/json"},
		{"GET", "/assure/dossiers/d1", "", ""},
		{"POST", "/assure/dossiers/d1/capture", `{"providers":[{"provider":"onfido"}],"redirectUrl":"https://us/back"}`, "application/json"},
		{"POST", "/assure/dossiers/d1/processes/p1/images", `{"front":"data:image/png;base64,AA=="}`, "application/json"},
		{"POST", "/assure/dossiers/d1/processes/p1", "{}", "application/json"},
		{"GET", "/assure/dossiers/d1/processes/p1", "", ""},
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("requests\n got %q\nwant %q", got, want)
	}
}

func TestErrorsNeverQuoteSecrets(t *testing.T) {
	// An API echoing the Authorization header it got, in the problem and in a broken 2xx answer.
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"processId": "`+r.Header.Get("Authorization")+` `+clientSecret)
			return
		}
		problem(w, http.StatusForbidden, "Forbidden "+r.Header.Get("Authorization"), clientSecret)
	})
	c := f.client(t, nil)
	ctx := context.Background()
	_, err1 := c.CreateDossier(ctx)
	_, err2 := c.GetProcess(ctx, "d1", "p1")
	for _, err := range []error{err1, err2} {
		if err == nil {
			t.Fatal("no error")
		}
		s := fmt.Sprintf("%v|%s|%+v|%#v", err, err, err, err)
		if strings.Contains(s, clientSecret) || strings.Contains(s, "tok-1") {
			t.Fatalf("error quotes a secret: %s", s)
		}
	}
}
