package workflows

import (
	"context"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
)

// AuditVerificationWorkflowID is the id of the workflow of verification id (opaque).
func AuditVerificationWorkflowID(id uuid.UUID) string { return "audit-verification/" + id.String() }

// StartAuditVerification starts verifying the audit log on an auditor's request. Starting one id again
// starts nothing: one request, one verification.
func StartAuditVerification(ctx context.Context, c client.Client, taskQueue string, in activities.AuditVerificationInput) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: AuditVerificationWorkflowID(in.ID), TaskQueue: taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, AuditVerification, in)
	return err
}

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
