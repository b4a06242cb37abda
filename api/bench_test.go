package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"golang.org/x/sync/errgroup"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/ldapdir"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/tracing"
	saworker "github.com/signetassure/signetassure/worker"
)

// benchConcurrency is how many requests are in flight at once.
const benchConcurrency = 16

// BenchmarkOpenCase opens cases through the API: each request returns when its case has reached its
// first wait (with the vetting officer), its read model and timeline written. Run with -benchtime Nx.
func BenchmarkOpenCase(b *testing.B) { openCases(b) }

// BenchmarkOpenCaseTracingOff is BenchmarkOpenCase as the processes run with no OTEL_* variable set: the
// Temporal client carries the tracing interceptor (temporalx.Instrument) and the API its server spans, on
// OpenTelemetry's no-op provider. Its ratio to BenchmarkOpenCase is the cost of tracing switched off.
func BenchmarkOpenCaseTracingOff(b *testing.B) {
	otel.SetTracerProvider(noop.NewTracerProvider())
	openCases(b, withTracedTemporal())
}

// BenchmarkOpenCaseTracingOn is BenchmarkOpenCase with every span recorded, redacted and handed to an
// exporter (one that drops them): the cost of tracing switched on, short of the network.
func BenchmarkOpenCaseTracingOn(b *testing.B) {
	tp := tracing.NewProvider(tracetest.NewNoopExporter())
	otel.SetTracerProvider(tp)
	defer tp.Shutdown(context.Background())
	openCases(b, withTracedTemporal())
}

func openCases(b *testing.B, opts ...envOption) {
	e := newEnv(b, append([]envOption{unlimitedStaff}, opts...)...)
	persons := make([]string, benchConcurrency+b.N)
	for i := range persons {
		persons[i] = e.createPerson("Bench", fmt.Sprintf("Person%d", i), "1980-01-01")
	}
	var next atomic.Int64
	open := func() error {
		r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases",
			map[string]any{"personId": persons[next.Add(1)-1], "type": "new", "level": "SC"})
		return status(r.status, http.StatusCreated)
	}
	warmUp(b, open)
	measure(b, open)
}

// BenchmarkBareWorkflow runs workflows of one no-op activity on the same kind of server, as the
// baseline the case rate is compared with.
func BenchmarkBareWorkflow(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	queue := "bare-" + e.queue
	w := worker.New(e.tc, queue, worker.Options{})
	w.RegisterWorkflow(bareWorkflow)
	w.RegisterActivity(bareActivity)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var next atomic.Int64
	bare := func() error {
		run, err := e.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
			ID: fmt.Sprintf("bare/%s/%d", queue, next.Add(1)), TaskQueue: queue}, bareWorkflow)
		if err != nil {
			return err
		}
		return run.Get(context.Background(), nil)
	}
	warmUp(b, bare)
	measure(b, bare)
}

func bareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	return workflow.ExecuteActivity(ctx, bareActivity).Get(ctx, nil)
}

func bareActivity(context.Context) error { return nil }

// BenchmarkLookup is the partner /lookup for a person on record, through key authentication, the
// shared rate limiter (lifted for the run), the matching, the disclosure and its audit entry, committed together.
func BenchmarkLookup(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	e.lookupLimit = 1_000_000
	e.start(e.st, e.tc) // serve again, with the limit lifted
	e.clear(e.createPerson("Jane", "Davies", "1985-04-12"), "SC")
	_, key := trust(e, "https://beacon.invalid", "Beacon Aerospace")
	body := map[string]any{"firstName": "Jane", "lastName": "Davies", "dob": "1985-04-12", "reason": "bench"}
	measure(b, func() error {
		return status(e.partnerCall(key, "POST", "/api/external/vetting/lookup", body).status, 200)
	})
}

// BenchmarkBareLookupQuery is the baseline: a bare handler running the same indexed person query, with
// no authentication, limiter, disclosure or audit.
func BenchmarkBareLookupQuery(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	e.createPerson("Jane", "Davies", "1985-04-12")
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps, err := e.st.PersonsByNameAndBirth(r.Context(), "Jane", "Davies", domain.NewDate(1985, 4, 12))
		if err != nil || len(ps) != 1 {
			w.WriteHeader(500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"found": true, "firstName": ps[0].FirstName})
	}))
	defer bare.Close()
	measure(b, func() error {
		res, err := http.Post(bare.URL, "application/json", strings.NewReader(`{}`))
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return status(res.StatusCode, 200)
	})
}

// warmUp makes benchConcurrency calls, at once, before a measure: the first benchmark of a run would
// otherwise pay alone for the worker's pollers, the server's task queues and the connections starting.
func warmUp(b *testing.B, call func() error) {
	var g errgroup.Group
	for range benchConcurrency {
		g.Go(call)
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// measure runs call b.N times with benchConcurrency in flight, failing when a call does not succeed, and
// reports calls a second and the 50th and 99th latency percentiles.
func measure(b *testing.B, call func() error) {
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, b.N)
	b.SetParallelism(benchConcurrency / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			start := time.Now()
			err := call()
			d := time.Since(start)
			if err != nil {
				b.Error(err)
			}
			mu.Lock()
			latencies = append(latencies, d)
			mu.Unlock()
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	reportPercentiles(b, latencies, "")
}

// reportPercentiles reports the median and 99th percentile of latencies, in ms, as <prefix>p50-ms and
// <prefix>p99-ms.
func reportPercentiles(b *testing.B, latencies []time.Duration, prefix string) {
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), prefix+"p50-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
}

// status is nil when got is want, else an error saying what got was.
func status(got, want int) error {
	if got != want {
		return fmt.Errorf("status %d, want %d", got, want)
	}
	return nil
}

// unlimitedStaff lifts the staff rate limits for a benchmark's one token and address.
var unlimitedStaff = withStaff(math.MaxInt32, math.MaxInt32, api.SignIn{})

// BenchmarkStaffRequest is one authenticated staff request (a token, GET /api/v1/me): the baseline the
// sign-ins are compared with.
func BenchmarkStaffRequest(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	b.ResetTimer()
	for b.Loop() {
		if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/me", nil); r.status != 200 {
			b.Fatalf("GET /me: %d", r.status)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/request")
}

// BenchmarkSignInEntra is a whole Sign in with Microsoft against the Entra ID simulator on loopback:
// the redirect, the authorize answer, the callback with the code exchange, the ID token's verification,
// the user provisioned and the session started.
func BenchmarkSignInEntra(b *testing.B) {
	e := newEntraEnv(b)
	b.ResetTimer()
	for b.Loop() {
		if _, s := e.signIn(b, "carol.case@demo.signetassure.test", nil); s == nil {
			b.Fatal("no session")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sign-in")
}

// BenchmarkSignInLDAP is a directory password sign-in against a real OpenLDAP over StartTLS: the
// service bind, the search, the bind as the person, their nested groups, the session.
func BenchmarkSignInLDAP(b *testing.B) {
	s := testenv.Slapd(b)
	d, err := ldapdir.New(ldapdir.Config{URL: s.URL, StartTLS: true, RootCAs: s.CA, BindDN: testenv.SlapdServiceDN,
		BindPassword: testenv.SlapdServicePassword, UserBaseDN: testenv.SlapdPeopleDN, UserAttribute: "uid",
		GroupBaseDN: testenv.SlapdGroupsDN, Nested: ldapdir.NestedRecursive})
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, withStaff(math.MaxInt32, math.MaxInt32, api.SignIn{LDAP: d,
		LDAPRoles: domain.RoleMap{ldapdir.NormalizeDN(testenv.SlapdGroupStaff): {domain.RoleCaseWorker}}}))
	body := map[string]any{"username": "alice", "password": testenv.SlapdPasswords["alice"]}
	b.ResetTimer()
	for b.Loop() {
		if r := e.call("", "POST", "/api/v1/sign-in/ldap", body); r.status != 201 {
			b.Fatalf("sign-in: %d %s", r.status, r.body)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/sign-in")
}

// BenchmarkAuditedWrites is 16 writers at once each committing a transaction that holds one audit
// entry (the shape of every audited action's last step), through the store.
func BenchmarkAuditedWrites(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	actor := e.users[domain.RoleCaseWorker].ID
	var n atomic.Int64
	measure(b, func() error {
		return e.st.Audit(context.Background(), store.AuditEntry{Actor: &actor, Action: "bench.write", EntityType: "bench",
			EntityID: strconv.FormatInt(n.Add(1), 10), Detail: map[string]any{"n": 1}})
	})
}

// BenchmarkPlainWrites is the baseline: the same 16 writers each committing one row of the same shape
// into a table with no trigger and no queue.
func BenchmarkPlainWrites(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, e.database)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_entries (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(),
		actor_id uuid, action text NOT NULL, entity_type text NOT NULL, entity_id text NOT NULL, detail jsonb NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	actor := e.users[domain.RoleCaseWorker].ID
	var n atomic.Int64
	measure(b, func() error {
		_, err := pool.Exec(ctx, `INSERT INTO bench_entries (actor_id, action, entity_type, entity_id, detail) VALUES ($1, $2, $3, $4, $5)`,
			actor, "bench.write", "bench", strconv.FormatInt(n.Add(1), 10), `{"n": 1}`)
		return err
	})
}

// BenchmarkAuditSequencerLag is audited writes by 16 writers while the worker's sequencer runs every
// 2 s with a signing key: it reports how long each entry waited from its commit to the first signed
// checkpoint of the audit tree that holds it.
func BenchmarkAuditSequencerLag(b *testing.B) {
	e := newEnv(b, unlimitedStaff)
	keys := signingKeys(b)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		saworker.SequenceAudit(ctx, e.st, keys, "bench.test/audit", 2*time.Second, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	}()
	actor := e.users[domain.RoleCaseWorker].ID
	var n atomic.Int64
	measure(b, func() error {
		return e.st.Audit(context.Background(), store.AuditEntry{Actor: &actor, Action: "bench.lag", EntityType: "bench",
			EntityID: strconv.FormatInt(n.Add(1), 10)})
	})
	// covered: a bench entry and the first checkpoint holding it
	const covered = `FROM audit_log a JOIN audit_leaves l ON l.entry_id = a.id
		JOIN LATERAL (SELECT signed_at FROM audit_tree_checkpoints c WHERE c.size > l.leaf_index ORDER BY size LIMIT 1) c ON true
		WHERE a.action = 'bench.lag'`
	poll(b, time.Minute, func() bool { return e.count(`SELECT count(*) `+covered) == b.N },
		func() string { return "the sequencer did not catch up within a minute" })
	cancel()
	<-stopped
	var p50, p99 float64
	if err := e.st.AuditTree().QueryRow(context.Background(), `SELECT
		percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM c.signed_at - a.at)),
		percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM c.signed_at - a.at)) `+covered).Scan(&p50, &p99); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(p50, "lag-p50-s")
	b.ReportMetric(p99, "lag-p99-s")
}
