package workflows

import (
	"context"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
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
