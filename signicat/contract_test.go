package signicat_test

// Contract tests: the Client against Signicat's documented JSON, the fixtures in testdata/vendor (see its
// README.md for the source of each). The answers are served as written; the requests the Client sends are
// compared with the documented request bodies, not with our own structs.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/signicat"
)

// vendorAssure serves the token fixture at the token path and, for each "METHOD path" in answers, the
// status and fixture given; it keeps the body of every API request and the token request's form.
type vendorAssure struct {
	srv     *httptest.Server
	mu      sync.Mutex
	bodies  map[string][]byte // by "METHOD path"
	tokenRq url.Values
}

type vendorAnswer struct {
	status  int
	fixture string
}

func newVendorAssure(t *testing.T, answers map[string]vendorAnswer) *vendorAssure {
	t.Helper()
	token := contracttest.Load(t, "token_response.json")
	v := &vendorAssure{bodies: map[string][]byte{}}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == signicat.TokenPath {
			_ = r.ParseForm()
			v.mu.Lock()
			v.tokenRq = r.PostForm
			v.mu.Unlock()
			w.Header().Set("Content-Type", "application/json; charset=UTF-8")
			_, _ = w.Write(token)
			return
		}
		key := r.Method + " " + r.URL.Path
		body, _ := io.ReadAll(r.Body)
		v.mu.Lock()
		v.bodies[key] = body
		v.mu.Unlock()
		a, ok := answers[key]
		if !ok {
			t.Errorf("unexpected request %s", key)
			http.NotFound(w, r)
			return
		}
		ct := "application/json"
		if a.status >= 400 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(a.status)
		if a.fixture != "" {
			_, _ = w.Write(contracttest.Load(t, a.fixture))
		}
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func (v *vendorAssure) client(t *testing.T) *signicat.Client {
	t.Helper()
	c, err := signicat.New(signicat.Config{BaseURL: v.srv.URL, ClientID: "sandbox-round-apple-123",
		ClientSecret: "fakeCl13n7S3Cr3T1234567890", AuthStyle: signicat.AuthPost, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (v *vendorAssure) body(key string) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.bodies[key]
}

const (
	docDossier = "e6137ef5-6470-4e17-897d-9ccde03dc9eb"
	docProcess = "4e48363a-37cb-4cff-8f91-afc9e52271fc"
)

func TestContractDossierAndProcessAnswers(t *testing.T) {
	v := newVendorAssure(t, map[string]vendorAnswer{
		"POST " + signicat.DossiersPath:                          {http.StatusCreated, "create_dossier_response.json"},
		"GET " + signicat.ProcessPath(docDossier, docProcess):    {http.StatusOK, "process_get_accepted.json"},
		"GET " + signicat.ProcessPath(docDossier, "pending-one"): {http.StatusOK, "process_get_pending.json"},
	})
	c := v.client(t)
	ctx := context.Background()

	d, err := c.CreateDossier(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.DossierID != docDossier || !d.CreatedAt.Equal(time.Date(2019, 9, 19, 22, 10, 50, 0, time.UTC)) {
		t.Errorf("create dossier: got %+v", d)
	}
	// The token request carries the documented form (seed 002, client_secret_post).
	for _, k := range []string{"grant_type", "scope", "client_id", "client_secret"} {
		if v.tokenRq.Get(k) == "" {
			t.Errorf("token request: %s missing from %v", k, v.tokenRq)
		}
	}
	if v.tokenRq.Get("grant_type") != "client_credentials" || v.tokenRq.Get("scope") != "signicat-api" {
		t.Errorf("token request: %v", v.tokenRq)
	}

	p, err := c.GetProcess(ctx, docDossier, "pending-one")
	if err != nil {
		t.Fatal(err)
	}
	if p.ProcessID != docProcess || p.Provider != "onfido" || p.Status != signicat.StatusPending || p.Status.Final() ||
		p.FinalResult != nil || !p.UpdatedAt.Equal(time.Date(2019, 9, 19, 22, 10, 56, 0, time.UTC)) {
		t.Errorf("pending process: got %+v", p)
	}

	p, err = c.GetProcess(ctx, docDossier, docProcess)
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != signicat.StatusAccepted || !p.Status.Final() || p.Provider != "signicatpaper" {
		t.Errorf("accepted process: got status %q provider %q", p.Status, p.Provider)
	}
	want := signicat.FinalResult{FirstName: "Maria Paula", LastName: "Santos Mendes", DateOfBirth: "2002-04-29",
		DocumentNumber: "1234567890", DocumentType: "passport", DateOfExpiry: "2030-07-08",
		IssuingCountry: "PRT", Nationality: "PRT"}
	if p.FinalResult == nil || *p.FinalResult != want {
		t.Errorf("final result: got %+v, want %+v", p.FinalResult, want)
	}
	if _, ok := p.ProviderSpecific["mrz"].(map[string]any); !ok {
		t.Errorf("providerSpecific kept as it came: got %v", p.ProviderSpecific)
	}
}

func TestContractRequestsSent(t *testing.T) {
	processes := "POST " + signicat.ProcessesPath(docDossier)
	images := "POST " + signicat.ImagesPath(docDossier, docProcess)
	capture := "POST " + signicat.CapturePath(docDossier)
	v := newVendorAssure(t, map[string]vendorAnswer{
		processes: {http.StatusCreated, "process_get_pending.json"},
		images:    {http.StatusOK, "process_get_pending.json"},
		capture:   {http.StatusOK, ""},
		"POST " + signicat.VerifyPath(docDossier, docProcess): {http.StatusOK, "process_get_pending.json"},
	})
	c := v.client(t)
	ctx := context.Background()

	// Each request fixture is what the documentation sends; the Client, given the same values, must send
	// the same keys with the same values.
	var cp map[string]string
	fixture := contracttest.Load(t, "create_process_request.json")
	if err := json.Unmarshal(fixture, &cp); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateProcess(ctx, docDossier, signicat.CreateProcess{Provider: cp["provider"],
		DocumentType: cp["documentType"], NotificationURL: cp["notificationUrl"],
		AuthorizationHeader: cp["authorizationHeader"]}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "create process", fixture, v.body(processes))

	var im map[string]string
	fixture = contracttest.Load(t, "set_images_request.json")
	if err := json.Unmarshal(fixture, &im); err != nil {
		t.Fatal(err)
	}
	if err := c.SetImages(ctx, docDossier, docProcess, signicat.Images{Front: im["front"], Back: im["back"],
		Selfie: im["selfie"]}); err != nil {
		t.Fatal(err)
	}
	assertSameJSON(t, "set images", fixture, v.body(images))

	var sc struct {
		Providers []struct {
			Provider    string `json:"provider"`
			ProcessType string `json:"processType"`
		} `json:"providers"`
		RedirectURL         string `json:"redirectUrl"`
		NotificationURL     string `json:"notificationUrl"`
		AuthorizationHeader string `json:"authorizationHeader"`
	}
	fixture = contracttest.Load(t, "start_capture_request.json")
	if err := json.Unmarshal(fixture, &sc); err != nil {
		t.Fatal(err)
	}
	// The capture answer's shape is not documented (see README): an empty answer is not read here.
	_, _ = c.StartCapture(ctx, docDossier, signicat.StartCapture{
		Providers:   []signicat.CaptureProvider{{Provider: sc.Providers[0].Provider, ProcessType: sc.Providers[0].ProcessType}},
		RedirectURL: sc.RedirectURL, NotificationURL: sc.NotificationURL, AuthorizationHeader: sc.AuthorizationHeader})
	assertSameJSON(t, "start capture", fixture, v.body(capture))

	if err := c.StartVerification(ctx, docDossier, docProcess); err != nil {
		t.Fatal(err)
	}
}

// assertSameJSON: got is the documented request, key for key and value for value.
func assertSameJSON(t *testing.T, what string, fixture, got []byte) {
	t.Helper()
	contracttest.AssertShape(t, fixture, got, contracttest.Options{})
	var a, b any
	if err := json.Unmarshal(fixture, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &b); err != nil {
		t.Fatalf("%s: the body sent is not JSON: %v", what, err)
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if string(aj) != string(bj) {
		t.Errorf("%s: sent %s, documented %s", what, bj, aj)
	}
}

func TestContractProblemAnswer(t *testing.T) {
	v := newVendorAssure(t, map[string]vendorAnswer{
		"GET " + signicat.ProcessPath(docDossier, "gone"): {http.StatusNotFound, "problem.json"},
	})
	_, err := v.client(t).GetProcess(context.Background(), docDossier, "gone")
	var e *signicat.Error
	if !errors.As(err, &e) {
		t.Fatalf("got %v", err)
	}
	if e.StatusCode != http.StatusNotFound || e.Problem == nil || e.Problem.Type != "base:client-problem" ||
		e.Problem.Title != "Not Found" || e.Problem.Detail != "Process not found" ||
		e.Problem.TraceID != "4bf239c088089f2bca77d3a413909f1d" || e.Problem.Status != 404 || e.Problem.Method != "GET" {
		t.Errorf("got %+v, problem %+v", e, e.Problem)
	}
}

// The callback body is what Client.ParseCallback decodes (into Notification) for api/identity.go.
func TestContractNotification(t *testing.T) {
	var n signicat.Notification
	if err := json.Unmarshal(contracttest.Load(t, "notification.json"), &n); err != nil {
		t.Fatal(err)
	}
	if n.DossierID != docDossier || n.ProcessID != docProcess || n.Status != signicat.StatusAccepted {
		t.Errorf("got %+v", n)
	}
}

// Signicat documents timestamps as YYYY-MM-DDThh:mm:ssZ; the Client also reads them with fractional
// seconds (an older simulator wrote them so, and RFC 3339 allows them).
func TestTimestampsWithAndWithoutFractionalSeconds(t *testing.T) {
	want := time.Date(2019, 9, 19, 22, 10, 56, 0, time.UTC)
	for _, ts := range []string{"2019-09-19T22:10:56Z", "2019-09-19T22:10:56.000Z", "2019-09-19T22:10:56.5Z"} {
		var p signicat.Process
		if err := json.Unmarshal([]byte(`{"processId":"p","status":"accepted","createdAt":"`+ts+`","updatedAt":"`+ts+`"}`), &p); err != nil {
			t.Errorf("%s: %v", ts, err)
			continue
		}
		if !p.CreatedAt.Truncate(time.Second).Equal(want) || !p.UpdatedAt.Truncate(time.Second).Equal(want) {
			t.Errorf("%s: read as %v, %v", ts, p.CreatedAt, p.UpdatedAt)
		}
	}
}
