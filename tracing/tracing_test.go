package tracing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/temporalx"
	"github.com/signetassure/signetassure/tracing"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// unsetOTel clears every OTEL_* variable Start reads, for the test.
func unsetOTel(t *testing.T) {
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
}

// With only an OTLP endpoint set, Start exports spans over OTLP/HTTP (protobuf) to its /v1/traces: the
// service named by OTEL_SERVICE_NAME, the resource attributes of OTEL_RESOURCE_ATTRIBUTES, flushed by
// stop; the exported span has lost its query string and the caller's address, and the URL in its recorded
// error and status its query.
func TestOTLPExportSwitchedOnByEnvironment(t *testing.T) {
	unsetOTel(t)
	rcv := testenv.NewOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rcv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "signetassure-test")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=ci")

	stop, err := tracing.Start(t.Context(), "signetassure-api", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := otel.Tracer("test").Start(t.Context(), "HTTP GET", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.URLFull("https://acs.example/api/users?name=Smith"), semconv.URLQuery("name=Smith"),
			semconv.ClientAddress("192.0.2.7"), semconv.ServerAddress("acs.example")))
	failed := `Get "https://acs.example/api/users?name=Smith": context deadline exceeded`
	span.RecordError(errors.New(failed))
	span.SetStatus(codes.Error, failed)
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}

	spans, refused := rcv.Spans()
	if len(refused) > 0 {
		t.Errorf("requests that are not OTLP trace exports: %v", refused)
	}
	if len(spans) != 1 {
		t.Fatalf("the receiver got %d spans, want the one", len(spans))
	}
	s := spans[0]
	if s.Service() != "signetassure-test" {
		t.Errorf("service.name %q, want OTEL_SERVICE_NAME's", s.Service())
	}
	if env, _ := testenv.StringAttr(s.Resource, "deployment.environment.name"); env != "ci" {
		t.Errorf("deployment.environment.name %q, want OTEL_RESOURCE_ATTRIBUTES'", env)
	}
	if s.Name != "HTTP GET" {
		t.Errorf("span %q exported, want HTTP GET", s.Name)
	}
	if full, _ := testenv.StringAttr(s.Attributes, "url.full"); full != "https://acs.example/api/users" {
		t.Errorf("url.full %q, want it without its query", full)
	}
	if msg := s.Status.GetMessage(); msg != `Get "https://acs.example/api/users": context deadline exceeded` {
		t.Errorf("status message %q, want the URL without its query", msg)
	}
	if len(s.Events) == 0 {
		t.Error("the recorded error was not exported")
	}
	for _, ev := range s.Events {
		if m, _ := testenv.StringAttr(ev.Attributes, "exception.message"); strings.Contains(m, "Smith") || !strings.Contains(m, "acs.example") {
			t.Errorf("recorded error %q, want the URL without its query", m)
		}
	}
	for _, k := range []string{"url.query", "client.address"} {
		if v, ok := testenv.StringAttr(s.Attributes, k); ok {
			t.Errorf("exported %s=%q", k, v)
		}
	}
}

// Unless the environment asks for traces, no exporter runs and spans are not recorded: nothing set,
// OTEL_TRACES_EXPORTER=none, or OTEL_SDK_DISABLED=true (whatever endpoint is set).
func TestNoExporterUnlessAsked(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		on   bool
	}{
		{"nothing set", nil, false},
		{"none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, false},
		{"disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}, false},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:1/v1/traces"}, true},
		{"console", map[string]string{"OTEL_TRACES_EXPORTER": "console"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			unsetOTel(t)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if got := tracing.Enabled(); got != c.on {
				t.Fatalf("Enabled() = %v, want %v", got, c.on)
			}
			if c.on {
				return
			}
			stop, err := tracing.Start(t.Context(), "signetassure-api", slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			defer stop(context.Background())
			_, span := otel.Tracer("test").Start(t.Context(), "x")
			defer span.End()
			if span.IsRecording() {
				t.Error("a span is recorded with tracing off")
			}
		})
	}
}

// An activity's and a workflow's log lines (activity.GetLogger, workflow.GetLogger) carry the trace_id of
// the request that started the workflow, under the same key as the processes' own lines (config's
// logger, tracing.LogHandler).
func TestTemporalLogLinesCarryTheTraceID(t *testing.T) {
	tp := tracing.NewProvider(tracetest.NewInMemoryExporter())
	otel.SetTracerProvider(tp)
	defer tp.Shutdown(context.Background())
	logs := &testenv.Buffer{}
	log := config.Config{LogLevel: slog.LevelInfo}.LoggerTo(logs)
	opts := client.Options{HostPort: testenv.TemporalAddress(t)}
	if err := temporalx.Instrument(&opts, log, nil); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "tracing-" + strings.ToLower(t.Name())
	w := worker.New(c, queue, worker.Options{})
	w.RegisterActivityWithOptions(func(ctx context.Context) error {
		activity.GetLogger(ctx).Info("inside the activity")
		return nil
	}, activity.RegisterOptions{Name: "logs"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		workflow.GetLogger(ctx).Info("inside the workflow")
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
		return workflow.ExecuteActivity(ctx, "logs").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "logsWorkflow"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	ctx, request := otel.Tracer("test").Start(t.Context(), "POST /api/v1/cases")
	log.InfoContext(ctx, "http")
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "logsWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	request.End()
	want := request.SpanContext().TraceID().String()
	for _, msg := range []string{"http", "inside the workflow", "inside the activity"} {
		line := testenv.LogLine(t, logs.String(), map[string]any{"msg": msg})
		if line["trace_id"] != want {
			t.Errorf("%q: trace_id %v, want the request's %s: %v", msg, line["trace_id"], want, line)
		}
		if id, _ := line["span_id"].(string); len(id) != 16 {
			t.Errorf("%q: span_id %v", msg, line["span_id"])
		}
	}
}
