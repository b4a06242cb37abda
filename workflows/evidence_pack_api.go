package workflows

import (
	"context"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// EvidencePackWorkflowID is the id of the workflow that builds evidence pack id: the pack's opaque id,
// never its subject.
func EvidencePackWorkflowID(id uuid.UUID) string { return "evidence-pack/" + id.String() }

// EvidencePackInput names the pack to build; its row says what it is of and for whom.
type EvidencePackInput struct {
	PackID uuid.UUID
}

// StartEvidencePack starts building a pack whose row is written (queued). Starting it again while it runs
// or after it ended starts nothing: one pack, one build.
func StartEvidencePack(ctx context.Context, c client.Client, taskQueue string, id uuid.UUID) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: EvidencePackWorkflowID(id), TaskQueue: taskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}, EvidencePack, EvidencePackInput{PackID: id})
	return err
}
