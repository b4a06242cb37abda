package workflows

import (
	"context"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// AccessReviewWorkflowID is the id of the workflow that re-evaluates a person's access after a clearance
// change. The person is named by an opaque id.
func AccessReviewWorkflowID(personID uuid.UUID) string { return "access-review/" + personID.String() }

// SignalReviewAccess asks a running review for one more pass.
const SignalReviewAccess = "review"

// AccessEventsWorkflowID follows the ACS's event feed; one runs per deployment.
const AccessEventsWorkflowID = "access-events"

// AccessSyncScheduleID is the Temporal Schedule of the background sync.
const AccessSyncScheduleID = "access-sync"

// AccessSyncInput starts a sync.
type AccessSyncInput struct {
	Trigger string // "schedule", "manual"
}

// AccessEventsInput says how often the event feed is read.
type AccessEventsInput struct{ Every time.Duration }

// ReviewAccess asks for a person's access to be re-evaluated: their grants re-checked against their
// clearances, and their record in the ACS reconciled. Several requests while one review runs are folded
// into one more pass.
func ReviewAccess(ctx context.Context, c client.Client, taskQueue string, personID uuid.UUID) error {
	_, err := c.SignalWithStartWorkflow(ctx, AccessReviewWorkflowID(personID), SignalReviewAccess, nil,
		client.StartWorkflowOptions{TaskQueue: taskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE}, AccessReview, personID)
	return err
}

// StartAccessSync starts a sync now and returns its id (the workflow id), by which its progress is read.
func StartAccessSync(ctx context.Context, c client.Client, taskQueue, trigger string) (string, error) {
	id := AccessSyncScheduleID + "-" + uuid.NewString()
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: taskQueue}, AccessSync,
		AccessSyncInput{Trigger: trigger})
	return id, err
}
