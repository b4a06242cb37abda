package credoidsim_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/credoidsim"
)

// kept starts a seeded simulator over the state file path, as `signetassure dev` does.
func kept(t *testing.T, path string) (*harness, func()) {
	t.Helper()
	h := &harness{t: t, clock: testenv.NewClock(time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC))}
	h.sim = credoidsim.New(credoidsim.Options{Seed: true, Now: h.clock.Now})
	if err := h.sim.KeepState(path, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.sim.Handler())
	h.url = srv.URL
	h.login()
	return h, func() { srv.Close(); h.sim.Close() }
}

// A restarted simulator keeps its users under their ids (SignetAssure stores them, and links badges by
// them), and a new user never takes an id one had before.
func TestRestartKeepsUserIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "credoid.json")
	h, stop := kept(t, path)
	create := func(h *harness, first, employee string) int {
		t.Helper()
		a := h.do("POST", "/api/users", fmt.Sprintf(`{"firstName":%q,"lastName":"Test","employeeNumber":%q,"isActive":true}`, first, employee))
		expect(t, a, 201)
		var u struct{ ID int }
		a.decode(t, &u)
		return u.ID
	}
	ada := create(h, "Ada", "E1")
	bob := create(h, "Bob", "E2")
	expect(t, h.do("DELETE", fmt.Sprintf("/api/users/%d", ada), nil), 204)
	stop()

	h, stop = kept(t, path)
	defer stop()
	a := h.do("GET", fmt.Sprintf("/api/users/%d", bob), nil)
	expect(t, a, 200)
	if !strings.Contains(string(a.body), `"Bob"`) {
		t.Fatalf("user %d after a restart: %s", bob, a.body)
	}
	expect(t, h.do("GET", fmt.Sprintf("/api/users/%d", ada), nil), 404)
	if carol := create(h, "Carol", "E3"); carol == ada || carol == bob {
		t.Fatalf("a new user after a restart took id %d (Ada had %d, Bob %d)", carol, ada, bob)
	}
	if a := h.do("GET", "/api/users?search=bob", nil); !strings.Contains(string(a.body), `"Bob"`) {
		t.Fatalf("search after a restart: %d %s", a.status, a.body)
	}
}
