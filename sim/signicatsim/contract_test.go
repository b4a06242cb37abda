package signicatsim_test

// Contract tests: the simulator's answers against Signicat's documented JSON, the fixtures in
// signicat/testdata/vendor (their sources are in its README.md), with the helper the client tests use.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/sim/signicatsim"
)

// vendorFixture reads a vendor fixture of the provider package (one copy, wherever this package lives).
func vendorFixture(t *testing.T, name string) []byte {
	t.Helper()
	return contracttest.Fixture(t, "signicat", name)
}

// contractCall sends a request to the simulator and returns the status and body.
func contractCall(t *testing.T, method, u, token string, body []byte) (int, []byte) {
	t.Helper()
	if token != "" {
		token = "Bearer " + token
	}
	status, _, b := contracttest.Call(t, method, u, token, body)
	return status, b
}

// The documented timestamp form: ISO 8601 UTC, YYYY-MM-DDThh:mm:ssZ (Key concepts > Normalisation).
var documentedTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)

func checkTimestamps(t *testing.T, what string, body []byte, keys ...string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if s, _ := m[k].(string); !documentedTimestamp.MatchString(s) {
			t.Errorf("%s %s %q: Signicat documents YYYY-MM-DDThh:mm:ssZ (no fractional seconds)", what, k, s)
		}
	}
}

func TestContractAnswersHaveTheDocumentedShape(t *testing.T) {
	callbacks := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		callbacks <- b
	}))
	defer receiver.Close()

	sim := signicatsim.New(signicatsim.Options{DecisionDelay: 10 * time.Millisecond, CallbackDelay: 5 * time.Millisecond})
	srv := httptest.NewServer(sim.Handler())
	defer func() {
		srv.Close()
		sim.Close()
	}()

	// The token answer (seed 002), to the documented client_secret_post form.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"signicat-api"},
		"client_id": {signicatsim.DefaultClientID}, "client_secret": {signicatsim.DefaultClientSecret}}
	resp, err := http.PostForm(srv.URL+"/auth/open/connect/token", form)
	if err != nil {
		t.Fatal(err)
	}
	tokBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", resp.StatusCode, tokBody)
	}
	contracttest.AssertShape(t, vendorFixture(t, "token_response.json"), tokBody, contracttest.Options{})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(tokBody, &tok)

	// Create dossier (seed 001 step A sends no body; the reference notes send {}).
	status, body := contractCall(t, http.MethodPost, srv.URL+"/assure/dossiers", tok.AccessToken, []byte(`{}`))
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create dossier: %d %s", status, body)
	}
	contracttest.AssertShape(t, vendorFixture(t, "create_dossier_response.json"), body, contracttest.Options{})
	checkTimestamps(t, "create dossier", body, "createdAt", "updatedAt")
	var d struct {
		DossierID string `json:"dossierId"`
	}
	_ = json.Unmarshal(body, &d)

	// Create process with the documented body as it is, and once more with our receiver as its
	// notificationUrl.
	createProcess := vendorFixture(t, "create_process_request.json")
	status, body = contractCall(t, http.MethodPost, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes", tok.AccessToken, createProcess)
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create process with the documented body: %d %s", status, body)
	}
	contracttest.AssertShape(t, vendorFixture(t, "process_get_pending.json"), body, contracttest.Options{})
	withReceiver := bytes.Replace(createProcess, []byte("https://example.com/callback"), []byte(receiver.URL), 1)
	status, body = contractCall(t, http.MethodPost, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes", tok.AccessToken, withReceiver)
	if status != http.StatusCreated && status != http.StatusOK {
		t.Fatalf("create process: %d %s", status, body)
	}
	var p struct {
		ProcessID string `json:"processId"`
	}
	_ = json.Unmarshal(body, &p)

	// Get process while pending (Get process > Process information).
	status, body = contractCall(t, http.MethodGet, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes/"+p.ProcessID, tok.AccessToken, nil)
	if status != http.StatusOK {
		t.Fatalf("get process: %d %s", status, body)
	}
	contracttest.AssertShape(t, vendorFixture(t, "process_get_pending.json"), body, contracttest.Options{})
	checkTimestamps(t, "get process", body, "createdAt", "updatedAt")

	// Set images with the documented body, then start verification.
	status, body = contractCall(t, http.MethodPost, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes/"+p.ProcessID+"/images", tok.AccessToken,
		vendorFixture(t, "set_images_request.json"))
	if status != http.StatusOK && status != http.StatusCreated && status != http.StatusNoContent {
		t.Fatalf("set images with the documented body: %d %s", status, body)
	}
	status, body = contractCall(t, http.MethodPost, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes/"+p.ProcessID, tok.AccessToken, nil)
	if status/100 != 2 {
		t.Fatalf("start verification: %d %s", status, body)
	}

	// The accepted process: the documented final result, field for field, as the sim's test data gives it.
	var documented struct {
		FinalResult signicatsim.FinalResult `json:"finalResult"`
	}
	accepted := vendorFixture(t, "process_get_accepted.json")
	if err := json.Unmarshal(accepted, &documented); err != nil {
		t.Fatal(err)
	}
	if err := sim.Decide(p.ProcessID, signicatsim.StatusAccepted, documented.FinalResult); err != nil {
		t.Fatal(err)
	}
	var cb []byte
	select {
	case cb = <-callbacks:
	case <-time.After(5 * time.Second):
		t.Fatal("no callback")
	}
	contracttest.AssertShape(t, vendorFixture(t, "notification.json"), cb, contracttest.Options{})

	status, body = contractCall(t, http.MethodGet, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes/"+p.ProcessID, tok.AccessToken, nil)
	if status != http.StatusOK {
		t.Fatalf("get process: %d %s", status, body)
	}
	contracttest.AssertShape(t, accepted, body, contracttest.Options{
		// providerSpecific is documented per provider (this one is Signicat Paper's); the simulator's
		// provider is none of them.
		Skip: []string{"providerSpecific"},
	})
	checkTimestamps(t, "accepted process", body, "createdAt", "updatedAt")

	// The documented problem answer, for a process that does not exist.
	status, body = contractCall(t, http.MethodGet, srv.URL+"/assure/dossiers/"+d.DossierID+"/processes/00000000-0000-0000-0000-000000000000", tok.AccessToken, nil)
	if status != http.StatusNotFound {
		t.Fatalf("get missing process: %d %s", status, body)
	}
	contracttest.AssertShape(t, vendorFixture(t, "problem.json"), body, contracttest.Options{})
	if !strings.Contains(string(body), `"base:client-problem"`) {
		t.Errorf("problem type: %s", body)
	}

	// The documented start capture body is accepted.
	status, body = contractCall(t, http.MethodPost, srv.URL+"/assure/dossiers/"+d.DossierID+"/capture", tok.AccessToken,
		vendorFixture(t, "start_capture_request.json"))
	if status/100 != 2 {
		t.Fatalf("start capture with the documented body: %d %s", status, body)
	}
}
