package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
)

// AuditVerification verifies the whole audit log as `signetassure audit verify` does, on the worker,
// which holds the verifying keys and the witness file; its report is the workflow's result and an audit
// entry of its own. A log that is not intact is a report, not a failure.
func AuditVerification(ctx workflow.Context, in activities.AuditVerificationInput) (audit.Report, error) {
	var report audit.Report
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Hour,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 5,
			NonRetryableErrorTypes: activities.PermanentErrors},
	})
	err := workflow.ExecuteActivity(ctx, activities.A.VerifyAuditLog, in).Get(ctx, &report)
	return report, err
}
