package signicatsim_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/signetassure/signetassure/sim/signicatsim"
)

// kept starts a simulator over the state file path, as `signetassure dev` does, behind a test server.
func kept(t *testing.T, path string) *env {
	t.Helper()
	sim := signicatsim.New(signicatsim.Options{DecisionDelay: 20 * time.Millisecond})
	if err := sim.KeepState(path, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	e := &env{t: t, sim: sim, srv: srv}
	e.tok = e.token()
	return e
}

func (e *env) stop() {
	e.srv.Close()
	e.sim.Close()
}

// A restarted simulator still answers the capture links and the processes of before: SignetAssure keeps
// both on its cases.
func TestRestartKeepsCapturesAndProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "signicat.json")
	e := kept(t, path)
	d := e.dossier()
	var c struct {
		ID, URL, ProcessID string
	}
	e.must(http.StatusCreated, http.MethodPost, "/assure/dossiers/"+d+"/capture", map[string]any{
		"providers":   []map[string]string{{"provider": "signicatvideoid", "processType": "substantial"}},
		"redirectUrl": "https://app.example/return",
	}, &c)
	oldToken := e.tok
	e.stop()

	e = kept(t, path)
	defer e.stop()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/capture/"+c.ID, nil)
	if resp, b := e.send(req); resp.StatusCode != http.StatusOK {
		t.Fatalf("capture link after a restart: %d %s", resp.StatusCode, b)
	}
	var p struct{ ProcessID, Status string }
	e.must(http.StatusOK, http.MethodGet, "/assure/dossiers/"+d+"/processes/"+c.ProcessID, nil, &p)
	if p.ProcessID != c.ProcessID || p.Status != "pending" {
		t.Fatalf("process after a restart: %+v", p)
	}
	if resp, b := e.call(http.MethodGet, "/assure/dossiers/"+d, nil, oldToken); resp.StatusCode != http.StatusOK {
		t.Fatalf("a token of before the restart: %d %s", resp.StatusCode, b)
	}
}

// A simulator without a state file starts empty every time, as tests want.
func TestNoStateFileStartsEmpty(t *testing.T) {
	e := newEnv(t, signicatsim.Options{})
	e.dossier()
	e2 := newEnv(t, signicatsim.Options{})
	if n := len(e2.sim.State().Dossiers); n != 0 {
		t.Fatalf("a second in-memory simulator holds %d dossiers", n)
	}
}
