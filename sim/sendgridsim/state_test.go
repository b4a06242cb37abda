package sendgridsim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/sim/sendgridsim"
)

// A restarted simulator still answers for the messages SignetAssure sent before, and keeps its
// suppressions.
func TestRestartKeepsMessages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "sendgrid.json")
	start := func() (*sendgridsim.Sim, *httptest.Server) {
		s := sendgridsim.New(sendgridsim.Options{APIKey: "SG.test"})
		if err := s.KeepState(path, func(err error) { t.Error(err) }); err != nil {
			t.Fatal(err)
		}
		return s, httptest.NewServer(s.Handler())
	}
	call := func(srv *httptest.Server, method, p, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+p, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer SG.test")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	sim, srv := start()
	resp, b := call(srv, http.MethodPost, "/v3/mail/send", `{"personalizations":[{"to":[{"email":"ada@example.org"}]}],
		"from":{"email":"vetting@signetassure.example"},"subject":"Your case","content":[{"type":"text/plain","value":"Hello"}]}`)
	xid := resp.Header.Get("X-Message-Id")
	if resp.StatusCode != http.StatusAccepted || xid == "" {
		t.Fatalf("send: %d %s", resp.StatusCode, b)
	}
	if _, err := sim.Unsubscribe("grace@example.org", "unsubscribe"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	sim.Close()

	sim, srv = start()
	defer func() { srv.Close(); sim.Close() }()
	if resp, b := call(srv, http.MethodGet, "/v3/messages/"+xid, ""); resp.StatusCode != http.StatusOK || !strings.Contains(b, "ada@example.org") {
		t.Fatalf("message %s after a restart: %d %s", xid, resp.StatusCode, b)
	}
	if st := sim.State(0); len(st.Suppressions) != 1 {
		t.Fatalf("suppressions after a restart: %+v", st.Suppressions)
	}
}
