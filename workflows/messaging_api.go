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

// The broadcast workflow's query and updates, and the message-cost Schedule.
const (
	QueryBroadcastState    = "state"
	UpdateCloseBroadcast   = "close"
	UpdateBroadcastCreated = "created"
	MessageCostsScheduleID = "message-costs"
	// BroadcastShards is how many activities send a broadcast in parallel.
	BroadcastShards = 4
)

// BroadcastInput starts a broadcast: its text (not personal data: the same for everyone), the provider
// rate across all shards (messages a second; 0: unlimited) and when replies stop being collected. With
// GroupID set, the workflow writes the broadcast's row itself first (from GroupID, Keywords, CreatedBy
// and CreatedAt as well); without it (a broadcast started before, or by code that wrote the row), the
// row must exist.
type BroadcastInput struct {
	BroadcastID uuid.UUID
	Text        string
	Rate        float64
	Shards      int
	ReplyUntil  time.Time
	GroupID     uuid.UUID  `json:",omitempty"`
	Keywords    []string   `json:",omitempty"`
	CreatedBy   *uuid.UUID `json:",omitempty"`
	CreatedAt   time.Time  `json:",omitempty"`
}

// BroadcastState is a broadcast's workflow phase and what its shards handed over.
type BroadcastState struct {
	Phase      string
	Recipients int
	Handed     int
	Suppressed int
	Failed     int
}

// CreateBroadcast starts a broadcast's workflow, which writes the broadcast's row (in.GroupID set), and
// returns once the row is written. Nothing is written unless the workflow starts: with Temporal
// unreachable, nothing at all. A broadcast whose workflow runs already (a retried request) is found, and
// one whose workflow has ended is a Rejection (Conflict). When no worker takes the workflow up in time
// the error is *Pending: the broadcast is written and sent once a worker runs.
func CreateBroadcast(ctx context.Context, c client.Client, taskQueue string, in BroadcastInput) (BroadcastState, error) {
	var st BroadcastState
	err := updateWithStart(ctx, c, client.StartWorkflowOptions{ID: BroadcastWorkflowID(in.BroadcastID), TaskQueue: taskQueue},
		Broadcast, in, UpdateBroadcastCreated, &st)
	return st, err
}

// StartBroadcast starts the workflow of a broadcast whose row is written already; starting one that
// runs already is no error (a retried request).
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
