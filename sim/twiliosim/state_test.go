package twiliosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/sim/twiliosim"
)

// A restarted simulator still answers for the messages SignetAssure sent before, by their sids, and
// moves on those still on their way.
func TestRestartKeepsMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "twilio.json")
	start := func() (*twiliosim.Sim, *httptest.Server) {
		s := twiliosim.New(twiliosim.Options{AccountSID: sid, AuthToken: token, DefaultFrom: from, DeliveryDelay: time.Hour})
		if err := s.KeepState(path, func(err error) { t.Error(err) }); err != nil {
			t.Fatal(err)
		}
		return s, httptest.NewServer(s.Handler())
	}
	call := func(srv *httptest.Server, method, p string, form url.Values) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/2010-04-01/Accounts/"+sid+"/Messages"+p, strings.NewReader(form.Encode()))
		req.SetBasicAuth(sid, token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	sim, srv := start()
	code, m := call(srv, http.MethodPost, ".json", url.Values{"To": {alice}, "From": {from}, "Body": {"Your vetting case needs a document"}})
	if code != http.StatusCreated {
		t.Fatalf("send: %d %v", code, m)
	}
	msgSid := m["sid"].(string)
	srv.Close()
	sim.Close()

	sim, srv = start()
	defer func() { srv.Close(); sim.Close() }()
	code, m = call(srv, http.MethodGet, "/"+msgSid+".json", nil)
	if code != http.StatusOK || m["sid"] != msgSid || m["to"] != alice {
		t.Fatalf("message %s after a restart: %d %v", msgSid, code, m)
	}
	if m["status"] == "queued" {
		// It was due in an hour; the restart moves it on at once rather than leaving it stuck.
		deadline := time.Now().Add(5 * time.Second)
		for m["status"] == "queued" && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			_, m = call(srv, http.MethodGet, "/"+msgSid+".json", nil)
		}
	}
	if m["status"] == "queued" {
		t.Fatalf("message still queued after a restart: %v", m)
	}
}
