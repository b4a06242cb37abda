package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
)

// PartnerHealth probes every active partner site with /whoami, using the credential it issued us, and
// records the result on the site. A Temporal Schedule runs it.
func PartnerHealth(ctx workflow.Context) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.PermanentErrors},
	})
	var healthy int
	err := workflow.ExecuteActivity(ctx, activities.A.CheckPartnerHealth).Get(ctx, &healthy)
	return healthy, err
}

// AuditCheckpoint witnesses the audit tree's newest signed checkpoint (and signs the hash chain's last
// head, once, if no checkpoint covers it). A Temporal Schedule runs it; a log that no longer extends what
// was witnessed fails it, visibly, in the Temporal UI.
func AuditCheckpoint(ctx workflow.Context) (audit.CheckpointResult, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: activities.PermanentErrors},
	})
	var res audit.CheckpointResult
	err := workflow.ExecuteActivity(ctx, activities.A.SignAuditCheckpoint).Get(ctx, &res)
	return res, err
}
