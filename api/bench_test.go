package api_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/domain"
)

// benchConcurrency is how many requests are in flight at once.
const benchConcurrency = 16

// BenchmarkOpenCase opens cases through the API: each request returns when its case has reached its
// first wait (with the vetting officer), its read model and timeline written. Run with -benchtime Nx.
func BenchmarkOpenCase(b *testing.B) {
	e := newEnv(b)
	persons := make([]string, b.N)
	for i := range persons {
		persons[i] = e.createPerson("Bench", fmt.Sprintf("Person%d", i), "1980-01-01")
	}
	var next atomic.Int64
	b.SetParallelism(benchConcurrency / 2) // GOMAXPROCS is 2 on our machines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/cases",
				map[string]any{"personId": persons[i], "type": "new", "level": "SC"})
			if r.status != 201 {
				b.Errorf("open case: %d %s", r.status, r.body)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}

// BenchmarkBareWorkflow runs workflows of one no-op activity on the same kind of server, as the
// baseline the case rate is compared with.
func BenchmarkBareWorkflow(b *testing.B) {
	e := newEnv(b)
	queue := "bare-" + e.queue
	w := worker.New(e.tc, queue, worker.Options{})
	w.RegisterWorkflow(bareWorkflow)
	w.RegisterActivity(bareActivity)
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var next atomic.Int64
	b.SetParallelism(benchConcurrency / 2)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			run, err := e.tc.ExecuteWorkflow(context.Background(), client.StartWorkflowOptions{
				ID: fmt.Sprintf("bare/%s/%d", queue, next.Add(1)), TaskQueue: queue}, bareWorkflow)
			if err == nil {
				err = run.Get(context.Background(), nil)
			}
			if err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "workflows/s")
}

func bareWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 3}})
	return workflow.ExecuteActivity(ctx, bareActivity).Get(ctx, nil)
}

func bareActivity(context.Context) error { return nil }
