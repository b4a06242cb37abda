package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/temporalx"
	"github.com/signetassure/signetassure/tracing"
)

// recordTraces makes the process's tracer provider one that keeps its spans (through tracing.Redact, as
// exported) in memory, for what the test builds after it; spans flushes and returns them. The provider is
// shut down when the test ends, so later tests record nothing.
func recordTraces(t *testing.T) (spans func() tracetest.SpanStubs) {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider(exp)
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return func() tracetest.SpanStubs {
		if err := tp.ForceFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		return exp.GetSpans()
	}
}

// withTracedTemporal gives the API and the worker a Temporal client made as the processes make theirs
// (temporalx.Instrument), tracing interceptor included.
func withTracedTemporal() envOption {
	return func(e *env) {
		opts := client.Options{HostPort: testenv.TemporalAddress(e.t)}
		if err := temporalx.Instrument(&opts, slog.New(slog.NewTextHandler(io.Discard, nil)), nil); err != nil {
			e.t.Fatal(err)
		}
		c, err := client.Dial(opts)
		if err != nil {
			e.t.Fatal(err)
		}
		e.t.Cleanup(c.Close)
		e.tc = c
	}
}

// One request is one trace: opening a case over the API, and asking for an access sync, each yield the
// HTTP server span named by its route template, the workflow's start, its run, its activities and (the
// sync) the calls to the access control system's API, all under the request's trace id, which the
// request's log line carries too. No span name holds the case reference, the person's id or name, and
// no attribute the person's details or the query string.
func TestOneTraceFromRequestToOutsideCall(t *testing.T) {
	spans := recordTraces(t)
	sim := credoidsim.New(credoidsim.Options{Username: "operator", Password: "pw", Seed: true})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	acs := credoid.New(credoid.Config{BaseURL: srv.URL, Username: "operator", Password: "pw",
		HTTP: access.HTTPOptions{Timeout: 2 * time.Second, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}})
	e := newEnv(t, withACS(acs, store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, 4),
		withTracedTemporal())
	ae := &accessEnv{env: e, sim: sim, acs: acs, lab: strconv.Itoa(credoidsim.LevelSiteALab)}

	person := e.createPerson("Tracey", "Spanwell", "1980-02-03")
	ref := e.openCase(person, "new", "SC")
	e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+person, nil)
	e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases?q=Spanwell", nil)
	if s := ae.syncNow(); s["status"] != "completed" {
		t.Fatalf("sync did not complete: %v", s)
	}
	simHost, _ := url.Parse(srv.URL)

	// The sync reads completed once its last activity wrote it; its workflow ends a moment later.
	var all tracetest.SpanStubs
	waitFor(t, 10*time.Second, "the sync's workflow span", func() bool {
		all = spans()
		return findSpan(all, func(s tracetest.SpanStub) bool { return s.Name == "RunWorkflow:AccessSync" }) != nil
	})
	byTrace := map[trace.TraceID][]tracetest.SpanStub{}
	for _, s := range all {
		byTrace[s.SpanContext.TraceID()] = append(byTrace[s.SpanContext.TraceID()], s)
	}
	for _, c := range []struct {
		request string
		want    []string // span names, or name prefixes ending in ":"
		client  bool     // a client span to the simulator
	}{
		// The case's workflow goes on running (its RunWorkflow span ends with it); the update that opened it
		// is the request's.
		{"POST /api/v1/cases", []string{"UpdateWithStartWorkflow:opened", "HandleUpdate:opened", "RunActivity:ApplyCaseEvent"}, false},
		{"POST /api/v1/access/syncs", []string{"StartWorkflow:AccessSync", "RunWorkflow:AccessSync", "StartActivity:", "RunActivity:"}, true},
	} {
		server := findSpan(all, func(s tracetest.SpanStub) bool { return s.Name == c.request && s.SpanKind == trace.SpanKindServer })
		if server == nil {
			t.Errorf("no server span %q among %v", c.request, spanNames(all))
			continue
		}
		id := server.SpanContext.TraceID()
		inTrace := byTrace[id]
		for _, want := range c.want {
			if findSpan(inTrace, func(s tracetest.SpanStub) bool {
				return s.Name == want || strings.HasSuffix(want, ":") && strings.HasPrefix(s.Name, want)
			}) == nil {
				t.Errorf("%s: no span %q in its trace %s: %v", c.request, want, id, spanNames(inTrace))
			}
		}
		if c.client {
			call := findSpan(inTrace, func(s tracetest.SpanStub) bool {
				return s.SpanKind == trace.SpanKindClient && attr(s, "server.address") == simHost.Hostname() &&
					strings.HasPrefix(s.Name, "HTTP ")
			})
			if call == nil {
				t.Errorf("%s: no client span to the access control system in its trace: %v", c.request, spanNames(inTrace))
			} else if full := attr(*call, "url.full"); !strings.HasPrefix(full, srv.URL+"/") || strings.Contains(full, "?") {
				t.Errorf("client span url.full %q: want the simulator's URL without a query", full)
			}
		}
		if line := testenv.LogLine(t, e.logs.String(), map[string]any{"msg": "http", "route": strings.TrimPrefix(c.request, "POST ")}); line["trace_id"] != id.String() {
			t.Errorf("%s: its log line %v carries trace_id %v, want %s", c.request, line, line["trace_id"], id)
		}
	}

	for _, s := range all {
		for _, secret := range []string{ref, person, "Tracey", "Spanwell", "AB123456C", "07400", "q="} {
			if strings.Contains(s.Name, secret) {
				t.Errorf("span name %q holds %q", s.Name, secret)
			}
			for _, a := range s.Attributes {
				if secret != ref && strings.Contains(a.Value.String(), secret) {
					t.Errorf("span %q attribute %s=%q holds %q", s.Name, a.Key, a.Value.String(), secret)
				}
			}
		}
	}
}

func findSpan(spans tracetest.SpanStubs, match func(tracetest.SpanStub) bool) *tracetest.SpanStub {
	for i := range spans {
		if match(spans[i]) {
			return &spans[i]
		}
	}
	return nil
}

func spanNames(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func attr(s tracetest.SpanStub, key string) string {
	for _, a := range s.Attributes {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}
