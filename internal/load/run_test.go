package load_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// outcome is what a run did: every answer tallied, the cases opened, the sync and broadcast started, the
// CPU profiles of the first API and the first worker (nil when not taken).
type outcome struct {
	tally                     *tally
	opened                    *sync.Map
	syncID                    string
	broadcast                 string
	apiProfile, workerProfile []byte
	// cpu is the CPU time each process used during the run
	cpu map[string]time.Duration
}

// run drives the mixed load at s for its duration: every simulated case worker, every partner key at
// its limit, and a third of the way in an access sync and a broadcast to the group at once.
func (s *system) run() outcome {
	t := s.t
	sh := s.shape
	out := outcome{tally: newTally(), opened: &sync.Map{}}
	base := &http.Transport{MaxIdleConnsPerHost: 4 * (sh.CaseWorkers + sh.PartnerKeys), IdleConnTimeout: time.Minute}
	t.Cleanup(base.CloseIdleConnections)
	attacker := func(c checked, workers uint64) *vegeta.Attacker {
		return vegeta.NewAttacker(vegeta.Client(&http.Client{Transport: c, Timeout: 60 * time.Second}),
			vegeta.Workers(workers), vegeta.MaxWorkers(workers))
	}
	cpuBefore := s.cpuTimes()
	var wg sync.WaitGroup
	drain := func(results <-chan *vegeta.Result, caseWorker bool) {
		wg.Go(func() { out.tally.drain(results, caseWorker) })
	}
	for i, me := range s.caseWorkers {
		ses := &session{n: i + 1, me: me, apis: s.apis, sent: i, opened: out.opened}
		// One vegeta worker per session and no pacing: each case worker acts as soon as it is answered.
		drain(attacker(checked{base: base, session: ses}, 1).Attack(ses.targeter, vegeta.ConstantPacer{}, sh.Duration, "case worker"), true)
	}
	for i, key := range s.partnerKeys {
		var calls atomic.Int64 // two vegeta workers make the key's calls, one falling behind
		lookups := func(tgt *vegeta.Target) error {
			n := int(calls.Add(1)) + i
			*tgt = target(s.apis[n%len(s.apis)], key, http.MethodPost, "/api/external/vetting/lookup",
				"/api/external/vetting/lookup", http.StatusOK, s.lookups[n%len(s.lookups)], "")
			return nil
		}
		drain(attacker(checked{base: base}, 2).Attack(lookups, vegeta.ConstantPacer{Freq: api.LookupLimit, Per: time.Minute},
			sh.Duration, "partner"), false)
	}
	// A third of the way in: a sync and a broadcast at once, each one request.
	once := func(tgt vegeta.Target) *vegeta.Result {
		r := <-attacker(checked{base: base}, 1).Attack(vegeta.NewStaticTargeter(tgt), oncePacer{}, 0, "once")
		out.tally.add(r, false)
		return r
	}
	var started sync.WaitGroup
	started.Go(func() {
		time.Sleep(sh.Duration / 3) // the moment the sync and broadcast start, a third into the run
		var sy, bc *vegeta.Result
		var both sync.WaitGroup
		both.Go(func() {
			sy = once(target(s.apis[0], s.controller.token, http.MethodPost, "/api/v1/access/syncs", "/api/v1/access/syncs",
				http.StatusAccepted, nil, uuid.NewString()))
		})
		both.Go(func() {
			bc = once(target(s.apis[len(s.apis)-1], s.controller.token, http.MethodPost, "/api/v1/broadcasts", "/api/v1/broadcasts",
				http.StatusAccepted, map[string]any{"groupId": s.group, "text": "Site A drill: reply SAFE."}, uuid.NewString()))
		})
		both.Wait()
		out.syncID, out.broadcast = idOf(sy), idOf(bc)
	})
	if sh.Profile {
		for addr, profile := range map[string]*[]byte{s.apiProfiles: &out.apiProfile, s.workerProfiles: &out.workerProfile} {
			started.Go(func() {
				time.Sleep(sh.Duration / 4) // the middle half of the run
				*profile = cpuProfile(t, addr, sh.Duration/2)
			})
		}
	}
	started.Wait()
	wg.Wait()
	out.cpu = map[string]time.Duration{}
	for name, used := range s.cpuTimes() {
		out.cpu[name] = used - cpuBefore[name]
	}
	out.tally.close()
	return out
}

// oncePacer hits once, at once.
type oncePacer struct{}

func (oncePacer) Pace(_ time.Duration, hits uint64) (time.Duration, bool) { return 0, hits > 0 }
func (oncePacer) Rate(time.Duration) float64                              { return 0 }

// idOf is the id in a result's JSON answer ("" none).
func idOf(r *vegeta.Result) string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(r.Body, &v)
	return v.ID
}

// cpuProfile takes a CPU profile of the process serving PPROF_ADDR at addr, over d.
func cpuProfile(t *testing.T, addr string, d time.Duration) []byte {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, int(d.Seconds())))
	if err != nil {
		t.Errorf("CPU profile: %v", err)
		return nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("CPU profile: %d %v", resp.StatusCode, err)
		return nil
	}
	return b
}

// settle waits, within 3 minutes, for the sync to complete and the broadcast to hand every message to
// Twilio.
func (s *system) settle(out outcome) {
	t := s.t
	ctx := context.Background()
	if out.syncID == "" || out.broadcast == "" {
		t.Fatalf("the sync (%q) or the broadcast (%q) did not start", out.syncID, out.broadcast)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		row, err := s.st.AccessSync(ctx, out.syncID)
		synced := err == nil && row.FinishedAt != nil
		sent := testenv.Count(t, s.dbURL, `SELECT count(*) FROM messages WHERE broadcast_id = $1 AND provider_id IS NOT NULL`,
			uuid.MustParse(out.broadcast))
		if synced && sent == s.shape.Recipients {
			if row.Status != "completed" || row.Errors != 0 {
				t.Errorf("the sync ended %s with %d errors", row.Status, row.Errors)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 minutes: sync %+v (%v), %d of %d broadcast messages handed over", row, err, sent, s.shape.Recipients)
		}
		time.Sleep(200 * time.Millisecond) // the workflows run on: their state is checked above
	}
}

// report logs the run's figures: per route its requests, unexpected answers and latencies, then the
// case workers' throughput. It returns the slowest route by p99 of those called at least 20 times, and
// the case workers' requests answered as expected a second.
func report(t *testing.T, name string, sh shape, out outcome) (slowest string, rate float64) {
	tl := out.tally
	var routes []string
	for r := range tl.routes {
		routes = append(routes, r)
	}
	sort.Strings(routes)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d case workers, %d partner keys at %d lookups a minute each, a sync of %d persons and a broadcast to %d, for %s\n",
		name, sh.CaseWorkers, sh.PartnerKeys, api.LookupLimit, sh.SyncPersons, sh.Recipients, sh.Duration)
	fmt.Fprintf(&b, "  %-50s %8s %7s %9s %9s %9s\n", "route", "requests", "errors", "p50", "p99", "max")
	var worst time.Duration
	for _, r := range routes {
		m := tl.routes[r]
		fmt.Fprintf(&b, "  %-50s %8d %7d %9s %9s %9s\n", r, m.Requests, tl.errors[r], ms(m.Latencies.P50), ms(m.Latencies.P99), ms(m.Latencies.Max))
		if m.Requests >= 20 && m.Latencies.P99 > worst {
			worst, slowest = m.Latencies.P99, r
		}
	}
	rate = float64(tl.all.Requests-uint64(countErrors(tl, true))) / sh.Duration.Seconds()
	fmt.Fprintf(&b, "  case workers: %d requests, %.1f answered as expected a second (%d cases opened, %.2f a second); %d unexpected answers in all\n",
		tl.all.Requests, rate, tl.ok["POST /api/v1/cases"],
		float64(tl.ok["POST /api/v1/cases"])/sh.Duration.Seconds(), tl.errorCount())
	for _, p := range tl.first {
		fmt.Fprintf(&b, "  unexpected: %s\n", p)
	}
	var procs []string
	for p := range out.cpu {
		procs = append(procs, p)
	}
	sort.Strings(procs)
	fmt.Fprintf(&b, "  CPU used during the run:")
	for _, p := range procs {
		fmt.Fprintf(&b, " %s %.1fs,", p, out.cpu[p].Seconds())
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, " on %d CPUs (load average at the end: %s)\n", runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " "))
	t.Log(b.String())
	return slowest, rate
}

// countErrors is how many unexpected answers the case workers' routes had (caseWorker) or the others.
func countErrors(tl *tally, caseWorker bool) int {
	n := 0
	for r, e := range tl.errors {
		if isCaseWorkerRoute(r) == caseWorker {
			n += e
		}
	}
	return n
}

func isCaseWorkerRoute(r string) bool {
	return strings.Contains(r, "/api/v1/cases") || strings.Contains(r, "/api/v1/persons") || strings.HasSuffix(r, "(no answer)")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
