package load_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// Two API processes and two worker processes against one database and Temporal server carry the mixed
// load (requests spread over both APIs, each case's open retried on the other API) for a short while:
// every answer is the one expected, and nothing is done twice. The first API serves its CPU profile at
// PPROF_ADDR, its requests' samples labelled with their routes.
func TestScaleOutCarriesTheLoadOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs two APIs and two workers under load")
	}
	sh := shape{APIs: 2, Workers: 2, Duration: 12 * time.Second, CaseWorkers: 10, PartnerKeys: 2,
		SyncPersons: 40, Recipients: 60, BroadcastRate: 50, Profile: true}
	s := startSystem(t, testenv.BuildSignetAssure(t), sh)
	out := s.run()
	report(t, "2 APIs + 2 workers", sh, out)
	if n := out.tally.errorCount(); n != 0 {
		t.Errorf("%d unexpected answers", n)
	}
	if routes, err := routesSampled(out.apiProfile); err != nil || len(routes) == 0 {
		t.Errorf("the first API's CPU profile has no samples labelled with a route: %v %v", routes, err)
	}
	s.settle(out)
	s.checkOnce(out)
}

// `make load`: the mixed load for LOAD_DURATION on one API and one worker (with CPU profiles of both),
// then on two of each, each on a fresh database; the figures of both, the slowest route's profile,
// and the same checks as TestScaleOutCarriesTheLoadOnce.
func TestMixedLoad(t *testing.T) {
	env := os.Getenv("LOAD_DURATION")
	if env == "" {
		t.Skip("make load runs it, for LOAD_DURATION (e.g. 60s) per configuration")
	}
	d, err := time.ParseDuration(env)
	if err != nil || d < 10*time.Second {
		t.Fatalf("LOAD_DURATION %q: want a duration of 10s or more", env)
	}
	bin := testenv.BuildSignetAssure(t)
	rates := map[int]float64{}
	for _, n := range []int{1, 2} {
		sh := shape{APIs: n, Workers: n, Duration: d, CaseWorkers: 50, PartnerKeys: 5, SyncPersons: 500,
			Recipients: 500, BroadcastRate: 50, Profile: n == 1}
		name := fmt.Sprintf("%d API + %d worker", n, n)
		t.Run(name, func(t *testing.T) {
			s := startSystem(t, bin, sh)
			out := s.run()
			slowest, rate := report(t, name, sh, out)
			rates[n] = rate
			if n := out.tally.errorCount(); n != 0 {
				t.Errorf("%d unexpected answers", n)
			}
			for _, p := range []struct {
				process, route string
				data           []byte
			}{{"api", slowest, out.apiProfile}, {"worker", "", out.workerProfile}} {
				if !sh.Profile {
					break
				}
				path := filepath.Join(testenv.RepoRoot(), ".data", "load", p.process+"-cpu.pprof")
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, p.data, 0o644); err != nil {
					t.Fatal(err)
				}
				top, err := routeProfile(p.data, p.route, 12)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("the %s's CPU profile (go tool pprof %s), %s:\n%s", p.process, path, map[bool]string{true: "the whole process",
					false: "the slowest route's samples (-tagfocus 'route=" + p.route + "')"}[p.route == ""], top)
			}
			s.settle(out)
			s.checkOnce(out)
		})
	}
	if rates[1] > 0 {
		t.Logf("case workers' requests answered a second: %.1f on 1 API + 1 worker, %.1f on 2 + 2 (%.2f×)",
			rates[1], rates[2], rates[2]/rates[1])
	}
}
