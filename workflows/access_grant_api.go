package workflows

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// AccessGrantWorkflowID is a grant's workflow id: "access-grant/" and its opaque id.
func AccessGrantWorkflowID(grantID string) string { return "access-grant/" + grantID }

// GrantIDFromWorkflowID is the inverse of AccessGrantWorkflowID.
func GrantIDFromWorkflowID(id string) (string, bool) { return strings.CutPrefix(id, "access-grant/") }

// AccessReviewWorkflowID is the id of the workflow that re-evaluates a person's access after a clearance
// change. The person is named by an opaque id.
func AccessReviewWorkflowID(personID uuid.UUID) string { return "access-review/" + personID.String() }

// AccessEventsWorkflowID follows the ACS's event feed; one runs per deployment.
const AccessEventsWorkflowID = "access-events"

// AccessSyncScheduleID is the Temporal Schedule of the background sync.
const AccessSyncScheduleID = "access-sync"

// Updates, signals and the query of the grant workflow, and the review signal.
const (
	UpdateGrantRequested   = "requested"
	UpdateRevokeGrant      = "revoke"
	SignalClearanceChanged = "clearance-changed"
	SignalReviewAccess     = "review"
	QueryGrantState        = "state"
)

// AccessGrantInput starts a grant. The grant's dates are UTC instants.
type AccessGrantInput struct {
	Grant domain.AccessGrant
}

// GrantState is a grant's live state, as its query returns it.
type GrantState struct {
	Grant domain.AccessGrant
	// Recorded is true once the grant is in the system of record.
	Recorded bool
	// ClearanceUntil is when the clearance the grant rests on stops being valid, as last checked.
	ClearanceUntil time.Time
}

// RevokeGrant ends a grant early.
type RevokeGrant struct {
	Actor  uuid.UUID
	Reason string
}

// AccessSyncInput starts a sync.
type AccessSyncInput struct {
	Trigger string // "schedule", "manual"
}

// OpenGrant starts a grant's workflow and returns once the grant is recorded. A person who does not hold
// the clearance the level demands is a *Rejection, and nothing is recorded.
func OpenGrant(ctx context.Context, c client.Client, taskQueue string, g domain.AccessGrant) (GrantState, error) {
	var st GrantState
	err := updateWithStart(ctx, c, client.StartWorkflowOptions{
		ID:                    AccessGrantWorkflowID(g.ID),
		TaskQueue:             taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(GrantStatusKey.ValueSet(string(domain.GrantScheduled))),
	}, AccessGrant, AccessGrantInput{Grant: g}, UpdateGrantRequested, &st)
	return st, err
}

// RevokeAccessGrant ends a running grant now. The same non-empty updateID is applied once.
func RevokeAccessGrant(ctx context.Context, c client.Client, grantID, updateID string, r RevokeGrant) (GrantState, error) {
	var st GrantState
	err := updateRunning(ctx, c, AccessGrantWorkflowID(grantID), UpdateRevokeGrant, updateID, r, &st)
	return st, err
}

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

// grantActivity is how a grant waits on the ACS: its reconciliation is retried for a day (the sync goes on
// converging after that); a refusal is not retried.
var grantActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    5 * time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        5 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeAccessRefused}),
	},
}
