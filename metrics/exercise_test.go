package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/metrics"
	"github.com/signetassure/signetassure/temporalx"
)

// exercised is a process's registry (metrics.NewRegistry) after the process has done what every metric
// records: an API request (200 and 404), a workflow on a worker dialled by temporalx.Dial whose first
// workflow task and first activity attempt fail, and business gauges over a seeded database.
func exercised(t *testing.T) *prometheus.Registry {
	t.Helper()
	reg := metrics.NewRegistry()

	requests, err := metrics.NewHTTP(reg)
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.Use(requests.Middleware)
	engine.GET("/api/v1/cases/:caseRef", func(c *gin.Context) { c.Status(http.StatusOK) })
	for _, path := range []string{"/api/v1/cases/v_x", "/nowhere"} {
		engine.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}

	url := testenv.DatabaseURL(t)
	seedOperations(t, url, time.Now())
	reg.MustRegister(metrics.NewBusiness(testenv.StoreAt(t, url), slog.New(slog.NewTextHandler(io.Discard, nil))))

	runFlakyWorkflow(t, reg)
	return reg
}

// runFlakyWorkflow dials Temporal as the processes do, with the SDK's metrics in reg, and runs a workflow
// whose first workflow task panics and whose activity fails once, on a worker of that client.
func runFlakyWorkflow(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	t.Setenv("TEMPORAL_ADDRESS", testenv.TemporalAddress(t))
	sdkMetrics, err := metrics.Temporal(reg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := temporalx.Dial(t.Context(), slog.New(slog.NewTextHandler(io.Discard, nil)), sdkMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "metrics-" + uuid.NewString()
	var tasks, attempts atomic.Int32
	flaky := func(ctx context.Context) error {
		if attempts.Add(1) == 1 {
			return errors.New("first attempt fails")
		}
		return nil
	}
	wf := func(ctx workflow.Context) error {
		if tasks.Add(1) == 1 {
			panic("first workflow task fails") // a workflow task failure, retried by the server
		}
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Millisecond}})
		return workflow.ExecuteActivity(ctx, "flaky").Get(ctx, nil)
	}
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "flakyWorkflow"})
	w.RegisterActivityWithOptions(flaky, activity.RegisterOptions{Name: "flaky"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "flakyWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
}
