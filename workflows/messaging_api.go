package workflows

import (
	"context"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
)

// MessageWorkflowID is the workflow id of a one-off message: "message/" and the message id.
func MessageWorkflowID(messageID string) string { return "message/" + messageID }

// BroadcastWorkflowID is the workflow id of a broadcast: "broadcast/" and its id.
func BroadcastWorkflowID(id uuid.UUID) string { return "broadcast/" + id.String() }

// The broadcast workflow's query and update, and the message-cost Schedule.
const (
	QueryBroadcastState    = "state"
	UpdateCloseBroadcast   = "close"
	MessageCostsScheduleID = "message-costs"
	// BroadcastShards is how many activities send a broadcast in parallel.
	BroadcastShards = 4
)

// BroadcastInput starts a broadcast: its text (not personal data: the same for everyone), the provider
// rate across all shards (messages a second; 0: unlimited) and when replies stop being collected.
type BroadcastInput struct {
	BroadcastID uuid.UUID
	Text        string
	Rate        float64
	Shards      int
	ReplyUntil  time.Time
}

// BroadcastState is a broadcast's workflow phase and what its shards handed over.
type BroadcastState struct {
	Phase      string
	Recipients int
	Handed     int
	Suppressed int
	Failed     int
}

// StartBroadcast starts a broadcast's workflow; starting one that runs already is no error (a retried
// request).
func StartBroadcast(ctx context.Context, c client.Client, taskQueue string, in BroadcastInput) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: BroadcastWorkflowID(in.BroadcastID),
		TaskQueue: taskQueue, WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE}, Broadcast, in)
	return rejection(err)
}

// CloseBroadcast stops collecting a broadcast's replies.
func CloseBroadcast(ctx context.Context, c client.Client, id uuid.UUID) (BroadcastState, error) {
	var st BroadcastState
	err := updateRunning(ctx, c, BroadcastWorkflowID(id), UpdateCloseBroadcast, "", nil, &st)
	return st, err
}

// SendMessage sends one message through its own workflow (id from the message id, so a repeated request
// sends once) and waits for the hand-over.
func SendMessage(ctx context.Context, c client.Client, taskQueue string, in activities.SendInput) (activities.SendResult, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: MessageWorkflowID(in.Key), TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY}, SendOne, in)
	if err != nil {
		return activities.SendResult{}, rejection(err)
	}
	var res activities.SendResult
	err = run.Get(ctx, &res)
	return res, rejection(err)
}
