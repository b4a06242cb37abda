package workflows

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
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

// Updates, signals and the query of the grant workflow.
const (
	UpdateGrantRequested   = "requested"
	UpdateRevokeGrant      = "revoke"
	SignalClearanceChanged = "clearance-changed"
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
