package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
)

// dbActivity is how a workflow writes to the system of record: short attempts, retried until the
// database answers, never retried on input that cannot succeed.
var dbActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Minute,
		NonRetryableErrorTypes: activities.PermanentErrors,
	},
}

// dbLocalActivity is dbActivity run by the worker holding the workflow's task (a local activity): its
// result is recorded in the workflow's history as a marker, with no round trip through the task queue.
var dbLocalActivity = workflow.LocalActivityOptions{
	StartToCloseTimeout: dbActivity.StartToCloseTimeout,
	RetryPolicy:         dbActivity.RetryPolicy,
}

// runDB runs one of a workflow's short database activities (idempotent, each write in one transaction
// with its audit entry): as a local activity, in the workflow task, when local (a case started since patch
// "local-db", a clearance followed since "clearance-local-db"), through the task queue before. A local activity may run again after a crash
// before its task completed, as an activity may after one before it reported; the writes are keyed so a
// repeat changes nothing.
func runDB(ctx workflow.Context, local bool, activity any, args ...any) workflow.Future {
	if local {
		return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, dbLocalActivity), activity, args...)
	}
	return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activity, args...)
}
