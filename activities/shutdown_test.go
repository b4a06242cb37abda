package activities_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/internal/testenv"
)

// A worker stopped while an activity runs (Ctrl-C, a rolling deploy) logs no ERROR: the activity's
// context error is an Interrupted, benign error, retried on another worker. Before, every shutdown logged
// "Activity error ... context canceled" at ERROR for the access events follower.
func TestStoppingWorkerLogsNoActivityError(t *testing.T) {
	var logs testenv.Buffer
	c, err := client.Dial(client.Options{HostPort: testenv.TemporalAddress(t),
		Logger: log.NewStructuredLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	queue := "shutdown-" + rand.Text()
	w := sdkworker.New(c, queue, sdkworker.Options{Interceptors: []interceptor.WorkerInterceptor{&activities.ErrorsInterceptor{}}})
	started := make(chan struct{})
	w.RegisterActivityWithOptions(func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}, activity.RegisterOptions{Name: "Follow"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context) error {
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute}),
			"Follow").Get(ctx, nil)
	}, workflow.RegisterOptions{Name: "Follower"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "Follower")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.TerminateWorkflow(context.Background(), run.GetID(), "", "test over") }()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the activity never started")
	}
	w.Stop()
	// The SDK logs the activity's end as its handler returns, which may come after Stop.
	var lines []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if lines = strings.Split(strings.TrimSpace(logs.String()), "\n"); strings.Contains(logs.String(), `"Activity error."`) {
			break
		}
	}
	interrupted := false
	for _, line := range lines {
		var rec struct{ Level, Msg, Error string }
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec.Level == "ERROR" {
			t.Errorf("logged at ERROR: %s", line)
		}
		if rec.Msg == "Activity error." {
			interrupted = true
		}
	}
	if !interrupted {
		t.Errorf("the interrupted activity was not logged at all (at debug level): %s", lines)
	}
	var appErr *temporal.ApplicationError
	err = activities.Interrupted(context.Canceled)
	if !errors.As(err, &appErr) || appErr.Type() != activities.TypeInterrupted || appErr.NonRetryable() ||
		appErr.Category() != temporal.ApplicationErrorCategoryBenign {
		t.Errorf("Interrupted: %v; want a retryable, benign application error", err)
	}
}
