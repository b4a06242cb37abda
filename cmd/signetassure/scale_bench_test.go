package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/workflows"
)

// Scale of BenchmarkWorkerAtScale: a clearance and a grant workflow for each of scalePersons persons,
// and a storm of stormNudges renewal nudges falling due at one moment. SCALE_PERSONS and SCALE_STORM
// change them for a trial run.
var (
	scalePersons = envInt("SCALE_PERSONS", 10_000)
	stormNudges  = envInt("SCALE_STORM", 1_000)
)

// startsInFlight is how many workflow starts the benchmark keeps in flight.
const startsInFlight = 64

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkWorkerAtScale runs the real `signetassure worker` binary, alone in its process, against a test
// database and the test binary's Temporal dev server (SQLite, in memory), with the Twilio simulator:
//
//   - 20,000 long-running workflows are opened through the production start paths, a ClearanceLifecycle
//     (workflows.StartClearanceLifecycle) and an AccessGrant (workflows.OpenGrant) for each of 10,000
//     persons (seeded with COPY), and left waiting on their timers. Reported: the start rate, the time
//     until every workflow waits, and the worker's RSS (/proc/<pid>/status) and Go heap (its
//     /metrics) idle before and with them all open.
//   - A timer storm: 1,000 more clearances whose 180-day nudge is overdue, their workflows' first task
//     due at one moment (a start delay: the server's timer queue fires them together, as it fires the
//     renewal timers of every clearance whose nudge falls on one day at midnight UTC; nudges fall due
//     only at midnight, so the benchmark cannot wait for real ones). Each reads its clearance (as a
//     workflow's start does, two activities more than a timer's wake), records the clearance.expiring
//     event, sends the holder an SMS and tells the security controllers. Reported: the time from the due moment to the
//     last nudge handed to Twilio, and the p50/p99 lateness of the hand-overs.
//   - The baseline, in the same run on the same server: a storm of 1,000 bare one-activity workflows
//     due at one moment, run by an in-process worker; the drain ratio is the nudge storm's drain time
//     over the bare one's.
//
// The worker's tuning is the default (config.LoadWorkerTuning) unless WORKER_STICKY_CACHE,
// WORKER_MAX_WORKFLOW_TASKS or WORKER_MAX_ACTIVITIES are set for the benchmark. Run once:
// -benchtime 1x.
func BenchmarkWorkerAtScale(b *testing.B) {
	began := time.Now()
	bin := testenv.BuildSignetAssure(b)
	ctx := context.Background()
	dbURL := testenv.DatabaseURL(b)
	st := testenv.StoreAt(b, dbURL)
	tc := testenv.Temporal(b)

	sim, twilioEnv := testenv.TwilioForProcess(b)

	// One access level, demanding SC, that every grant is for.
	const levelID = "1"
	if _, err := st.RefreshLevels(ctx, []access.Level{{ID: levelID, Name: "Main site"}}); err != nil {
		b.Fatal(err)
	}
	sc := domain.LevelSC
	if _, err := st.SetLevelPolicy(ctx, nil, levelID, &sc); err != nil {
		b.Fatal(err)
	}
	seeded := time.Now()
	seed := seedScale(b, dbURL, levelID)
	b.Logf("seeded %d persons, %d clearances and %d grants with COPY in %s", len(seed.persons),
		len(seed.clearances)+len(seed.storm), len(seed.grants), time.Since(seeded).Round(time.Millisecond))

	queue := "scale-" + strings.ToLower(rand.Text()[:12])
	metricsAddr := "127.0.0.1:" + testenv.FreePort(b)
	env := map[string]string{
		"DATABASE_URL":        dbURL,
		"TEMPORAL_ADDRESS":    testenv.TemporalAddress(b),
		"TEMPORAL_NAMESPACE":  "default",
		"TEMPORAL_TASK_QUEUE": queue,
		"METRICS_ADDR":        metricsAddr,
		"LOG_LEVEL":           "error",
	}
	maps.Copy(env, twilioEnv)
	tuning := ""
	for _, name := range []string{"WORKER_STICKY_CACHE", "WORKER_MAX_WORKFLOW_TASKS", "WORKER_MAX_ACTIVITIES", "WORKER_POLLERS"} {
		if v := os.Getenv(name); v != "" {
			env[name] = v
			tuning += " " + name + "=" + v
		}
	}
	w := startWorker(b, bin, workerEnv(env), "scale")
	metricsURL := "http://" + metricsAddr + "/metrics"
	testenv.AwaitHTTP(b, metricsURL, "temporal_num_pollers", 30*time.Second)
	time.Sleep(5 * time.Second) // the worker's start-up settles: schedules, pollers, the audit sequencer
	idle := readWorker(b, w.cmd.Process.Pid, metricsURL)
	b.Logf("worker idle (tuning:%s): %s", orDefaultTuning(tuning), idle)

	// 20,000 workflows through the production start paths, many in flight, none waited for beyond its start
	// (a grant's start answers once the grant is recorded).
	slas, err := domain.ParseSLATable(domain.DefaultSLA, domain.DefaultSLAReminders)
	if err != nil {
		b.Fatal(err)
	}
	sla := slas.For(domain.CaseRenewal, domain.LevelSC)
	starting := time.Now()
	var failed atomic.Int64
	runAll(len(seed.clearances)+len(seed.grants), func(i int) {
		var err error
		if i%2 == 0 {
			err = workflows.StartClearanceLifecycle(ctx, tc, queue, workflows.ClearanceInput{ClearanceID: seed.clearances[i/2], SLA: sla})
		} else {
			sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			_, err = workflows.OpenGrant(sctx, tc, queue, seed.grants[i/2])
			cancel()
		}
		if err != nil && failed.Add(1) <= 5 {
			b.Errorf("start %d: %v", i, err)
		}
	})
	started := time.Since(starting)
	open := len(seed.clearances) + len(seed.grants)
	startRate := float64(open) / started.Seconds()
	b.Logf("started %d workflows in %s: %.0f/s", open, started.Round(time.Millisecond), startRate)
	waitIdleQueue(b, tc, queue, 20*time.Minute)
	settled := time.Since(starting)
	b.Logf("every workflow waits on its timers %s after the first start", settled.Round(time.Millisecond))
	if n := countOpen(b, tc, queue); n < open {
		b.Errorf("%d workflows open, want %d", n, open)
	}
	time.Sleep(5 * time.Second)
	loaded := readWorker(b, w.cmd.Process.Pid, metricsURL)
	b.Logf("worker with %d workflows open: %s", open, loaded)

	// The storm: 1,000 first workflow tasks due at one moment.
	due := time.Now().Add(30 * time.Second).Truncate(time.Second)
	runAll(len(seed.storm), func(i int) {
		_, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
			ID: workflows.ClearanceWorkflowID(seed.storm[i]), TaskQueue: queue, StartDelay: time.Until(due),
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		}, workflows.ClearanceLifecycle, workflows.ClearanceInput{ClearanceID: seed.storm[i], SLA: sla})
		if err != nil && failed.Add(1) <= 5 {
			b.Errorf("storm start %d: %v", i, err)
		}
	})
	if time.Now().After(due) {
		b.Fatalf("the storm's workflows took longer to start than the 30 s before they were due")
	}
	sent := waitNudges(b, dbURL, seed.storm, due.Add(10*time.Minute))
	storm := lateness(sent, due)
	b.Logf("storm of %d nudges due at %s: %s", len(seed.storm), due.Format(time.TimeOnly), storm)
	if stats := sim.Stats(); stats.Accepted != len(seed.storm) || stats.Duplicates != 0 {
		b.Errorf("Twilio accepted %d messages (%d duplicates), want %d", stats.Accepted, stats.Duplicates, len(seed.storm))
	}
	after := readWorker(b, w.cmd.Process.Pid, metricsURL)
	b.Logf("worker after the storm, %d workflows open: %s", open+len(seed.storm), after)

	bare := bareStorm(b, tc, len(seed.storm))
	b.Logf("baseline storm of %d bare one-activity workflows: %s", len(seed.storm), bare)
	_, peak := procMemory(w.cmd.Process.Pid) // VmHWM: the most the worker held resident since it started

	b.ReportMetric(float64(open), "workflows_open")
	b.ReportMetric(startRate, "starts/s")
	b.ReportMetric(settled.Seconds(), "s_to_settle")
	b.ReportMetric(mb(idle.rss), "idle_rss_MB")
	b.ReportMetric(mb(loaded.rss), "rss_MB")
	b.ReportMetric(mb(peak), "peak_rss_MB")
	b.ReportMetric(mb(loaded.rss)/mb(idle.rss), "rss/idle")
	b.ReportMetric(mb(loaded.heap), "heap_MB")
	b.ReportMetric(storm.drain.Seconds(), "storm_drain_s")
	b.ReportMetric(storm.p50.Seconds(), "storm_p50_s")
	b.ReportMetric(storm.p99.Seconds(), "storm_p99_s")
	b.ReportMetric(bare.drain.Seconds(), "bare_drain_s")
	b.ReportMetric(storm.drain.Seconds()/bare.drain.Seconds(), "drain/bare")
	b.Logf("whole benchmark: %s", time.Since(began).Round(time.Second))

	if peak > 512<<20 {
		b.Errorf("the worker's RSS reached %.0f MB, above 512 MB", mb(peak))
	}
	// The storm's pace is the server's as much as the worker's: it is reported against the bare storm's, not
	// failed on a time of its own.
	met := "met"
	if storm.drain > time.Minute {
		met = "not met"
	}
	b.Logf("storm drained in %s, %.2f times the bare storm's %s: the one-minute target %s", storm.drain.Round(time.Millisecond),
		storm.drain.Seconds()/bare.drain.Seconds(), bare.drain.Round(time.Millisecond), met)
}

func orDefaultTuning(s string) string {
	if s == "" {
		return " the defaults"
	}
	return s
}

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// scaleSeed is what seedScale wrote.
type scaleSeed struct {
	persons, clearances, storm []uuid.UUID
	grants                     []domain.AccessGrant
}

// seedScale writes, with COPY, scalePersons persons each with a clearance far from any reminder (valid for
// four more years) and a grant of levelID starting in 30 days, and stormNudges more persons each with a
// clearance expiring in 170 days: its 180-day nudge is overdue and its renewal case (150 days ahead)
// not, so its workflow's first task sends that nudge. Everyone prefers SMS.
func seedScale(b testing.TB, url, levelID string) scaleSeed {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	now := time.Now().UTC().Truncate(time.Second)
	today := domain.DateOf(now).Time()
	var s scaleSeed
	var persons, clearances, grants [][]any
	for i := range scalePersons + stormNudges {
		id, clearance := uuid.New(), uuid.New()
		s.persons = append(s.persons, id)
		persons = append(persons, []any{id, "Scale" + strconv.Itoa(i), "Person", "scale" + strconv.Itoa(i) + " person",
			time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), fmt.Sprintf("+447401%06d", i), "sms", true})
		validTo := today.AddDate(4, 0, 0)
		if i < scalePersons {
			s.clearances = append(s.clearances, clearance)
			g := domain.AccessGrant{ID: domain.NewGrantID(), PersonID: id, LevelID: levelID, StartsAt: now.AddDate(0, 0, 30),
				EndsAt: now.AddDate(1, 0, 0), TimeZone: "Europe/London", Status: domain.GrantScheduled}
			s.grants = append(s.grants, g)
			grants = append(grants, []any{g.ID, id, levelID, g.StartsAt, g.EndsAt, g.TimeZone, string(g.Status)})
		} else {
			s.storm = append(s.storm, clearance)
			validTo = today.AddDate(0, 0, 170)
		}
		clearances = append(clearances, []any{clearance, id, "SC", today.AddDate(-1, 0, 0), validTo, "active", "Bench"})
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"persons", []string{"id", "first_name", "last_name", "search_name", "date_of_birth", "mobile", "preferred_channel", "active"}, persons},
		{"clearances", []string{"id", "person_id", "level", "valid_from", "valid_to", "status", "issuing_authority"}, clearances},
		{"access_grants", []string{"id", "person_id", "level_id", "starts_at", "ends_at", "time_zone", "status"}, grants},
	} {
		if _, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			b.Fatalf("copy %s: %v", c.table, err)
		}
	}
	return s
}

// runAll calls fn for 0..n-1, startsInFlight at a time, and returns when all have returned.
func runAll(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range startsInFlight {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// waitIdleQueue waits until neither workflow nor activity tasks are waiting on queue, three looks running.
func waitIdleQueue(b testing.TB, tc client.Client, queue string, within time.Duration) {
	b.Helper()
	deadline := time.Now().Add(within)
	for idle := 0; idle < 3; {
		if time.Now().After(deadline) {
			b.Fatalf("the task queue still had a backlog after %s", within)
		}
		time.Sleep(2 * time.Second)
		backlog := int64(0)
		for _, typ := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
			res, err := tc.WorkflowService().DescribeTaskQueue(context.Background(), &workflowservice.DescribeTaskQueueRequest{
				Namespace: "default", TaskQueue: &taskqueuepb.TaskQueue{Name: queue}, TaskQueueType: typ, ReportStats: true})
			if err != nil {
				b.Fatal(err)
			}
			backlog += res.GetStats().GetApproximateBacklogCount()
		}
		if backlog == 0 {
			idle++
		} else {
			idle = 0
		}
	}
}

// countOpen counts the running workflows on queue.
func countOpen(b *testing.B, tc client.Client, queue string) int {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := tc.CountWorkflow(context.Background(), &workflowservice.CountWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = '%s' AND ExecutionStatus = 'Running'", queue)})
		if err == nil || time.Now().After(deadline) {
			if err != nil {
				b.Fatal(err)
			}
			return int(res.GetCount())
		}
		time.Sleep(time.Second)
	}
}

// waitNudges waits until every storm clearance's nudge was handed to Twilio and returns when each was
// (the message's last change: the simulator moves none past queued).
func waitNudges(b *testing.B, url string, clearances []uuid.UUID, deadline time.Time) []time.Time {
	b.Helper()
	for {
		n := testenv.Count(b, url, `SELECT count(*) FROM messages WHERE clearance_id = ANY($1) AND provider_id IS NOT NULL`, clearances)
		if n == len(clearances) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d nudges handed to Twilio by %s", n, len(clearances), deadline.Format(time.TimeOnly))
		}
		time.Sleep(250 * time.Millisecond)
	}
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `SELECT updated_at FROM messages WHERE clearance_id = ANY($1) AND provider_id IS NOT NULL`, clearances)
	if err != nil {
		b.Fatal(err)
	}
	at, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		b.Fatal(err)
	}
	return at
}

// stormResult is how late a storm's work was done after it fell due.
type stormResult struct {
	n               int
	drain, p50, p99 time.Duration
	rate            float64 // done a second, from due to the last
}

func (r stormResult) String() string {
	return fmt.Sprintf("%d done, the last %s after due (%.0f/s), lateness p50 %s, p99 %s", r.n,
		r.drain.Round(time.Millisecond), r.rate, r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond))
}

func lateness(done []time.Time, due time.Time) stormResult {
	late := make([]time.Duration, len(done))
	for i, t := range done {
		late[i] = max(t.Sub(due), 0)
	}
	slices.Sort(late)
	r := stormResult{n: len(late)}
	if len(late) == 0 {
		return r
	}
	pct := func(p float64) time.Duration { return late[min(len(late)-1, int(p*float64(len(late))))] }
	r.drain, r.p50, r.p99 = late[len(late)-1], pct(0.50), pct(0.99)
	r.rate = float64(len(late)) / r.drain.Seconds()
	return r
}

// bareStorm is the baseline: n workflows of one no-op activity, their first task due at one moment, run by
// a worker in this process on the same server; when each activity ran is their lateness.
func bareStorm(b *testing.B, tc client.Client, n int) stormResult {
	b.Helper()
	queue := "bare-" + strings.ToLower(rand.Text()[:12])
	var mu sync.Mutex
	var done []time.Time
	// As many pollers as the worker measured has, so only what runs differs.
	pollers := envInt("WORKER_POLLERS", 2)
	w := sdkworker.New(tc, queue, sdkworker.Options{MaxConcurrentWorkflowTaskPollers: pollers, MaxConcurrentActivityTaskPollers: pollers})
	w.RegisterWorkflow(bareStormWorkflow)
	w.RegisterActivityWithOptions(func(context.Context) error {
		mu.Lock()
		done = append(done, time.Now())
		mu.Unlock()
		return nil
	}, activity.RegisterOptions{Name: "bare"})
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	due := time.Now().Add(30 * time.Second).Truncate(time.Second)
	runAll(n, func(i int) {
		if _, err := tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("%s/%d", queue, i), TaskQueue: queue, StartDelay: time.Until(due)}, bareStormWorkflow); err != nil {
			b.Error(err)
		}
	})
	deadline := due.Add(10 * time.Minute)
	for {
		mu.Lock()
		got := len(done)
		mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d bare workflows ran their activity by %s", got, n, deadline.Format(time.TimeOnly))
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	return lateness(done, due)
}

func bareStormWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	return workflow.ExecuteActivity(ctx, "bare").Get(ctx, nil)
}

// workerReading is the worker process's memory at one moment.
type workerReading struct {
	rss, hwm, heap, heapSys, stacks int64
	goroutines, cached              int64
}

func (r workerReading) String() string {
	return fmt.Sprintf("RSS %.1f MB (peak so far %.1f MB), Go heap in use %.1f MB (from the OS %.1f MB), stacks %.1f MB, %d goroutines, sticky cache %d",
		mb(r.rss), mb(r.hwm), mb(r.heap), mb(r.heapSys), mb(r.stacks), r.goroutines, r.cached)
}

// readWorker reads the worker's RSS from /proc and its Go heap, goroutines and sticky cache from its metrics.
func readWorker(b *testing.B, pid int, metricsURL string) workerReading {
	b.Helper()
	var r workerReading
	r.rss, r.hwm = procMemory(pid)
	res, err := http.Get(metricsURL)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for line := range strings.Lines(string(body)) {
		name, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case name == "go_memstats_heap_inuse_bytes":
			r.heap = int64(f)
		case name == "go_memstats_heap_sys_bytes":
			r.heapSys = int64(f)
		case name == "go_memstats_stack_inuse_bytes":
			r.stacks = int64(f)
		case name == "go_goroutines":
			r.goroutines = int64(f)
		case strings.HasPrefix(name, "temporal_sticky_cache_size"):
			r.cached = int64(f)
		}
	}
	return r
}

// procMemory is a process's resident set and its peak (VmRSS, VmHWM), in bytes.
func procMemory(pid int) (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, _ := strings.Cut(sc.Text(), ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}
