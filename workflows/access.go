package workflows

import (
	"slices"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
)

// AccessSync converges the ACS to what SignetAssure approves. Clearances past their last day are marked
// expired first and their holders' grants re-checked; the event feed is read so inactivity is judged on
// fresh events; then every person is reconciled. The sync's id (its workflow id) names its progress row,
// and its activity's heartbeat shows progress in the Temporal UI. A worker dying mid-sync is replaced: the
// activity is retried and finds done what was done.
func AccessSync(ctx workflow.Context, in AccessSyncInput) (activities.SyncResult, error) {
	var res activities.SyncResult
	db := workflow.WithActivityOptions(ctx, dbActivity)
	var expired []uuid.UUID
	if err := workflow.ExecuteActivity(db, activities.A.ExpireClearances).Get(ctx, &expired); err != nil {
		return res, err
	}
	for _, person := range expired {
		if err := requestReview(ctx, person); err != nil {
			return res, err
		}
	}
	feed := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.PermanentErrors}})
	if err := workflow.ExecuteActivity(feed, activities.A.PollAccessEvents).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("access sync: event feed not read", "error", err)
	}
	sync := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeAccessRefused})},
	})
	err := workflow.ExecuteActivity(sync, activities.A.SyncAccess, activities.SyncInput{
		SyncID: workflow.GetInfo(ctx).WorkflowExecution.ID, Trigger: in.Trigger}).Get(ctx, &res)
	return res, err
}

// AccessReview re-evaluates one person's access after a clearance change: it tells each of the person's
// open grants to re-check the clearance it rests on, and reconciles the person's record. Requests that
// arrive while it runs make it go round once more, so none is lost.
func AccessReview(ctx workflow.Context, personID uuid.UUID) error {
	requests := workflow.GetSignalChannel(ctx, SignalReviewAccess)
	db := workflow.WithActivityOptions(ctx, dbActivity)
	for more := true; more; more = requests.ReceiveAsync(nil) {
		for requests.ReceiveAsync(nil) {
		}
		var grants []string
		if err := workflow.ExecuteActivity(db, activities.A.OpenGrants, personID).Get(ctx, &grants); err != nil {
			return err
		}
		for _, id := range grants {
			// A grant that just ended has no workflow to tell: nothing is lost.
			_ = workflow.SignalExternalWorkflow(ctx, AccessGrantWorkflowID(id), "", SignalClearanceChanged, nil).Get(ctx, nil)
		}
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, grantActivity), activities.A.ReconcilePerson,
			personID).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Warn("access review: the ACS was not reconciled; the sync will", "error", err)
		}
	}
	return nil
}

// requestReview asks for a person's access review from a workflow: it signals the review running for the
// person, or starts one (a child left running on its own).
func requestReview(ctx workflow.Context, personID uuid.UUID) error {
	id := AccessReviewWorkflowID(personID)
	for range 3 {
		if workflow.SignalExternalWorkflow(ctx, id, "", SignalReviewAccess, nil).Get(ctx, nil) == nil {
			return nil
		}
		child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}), AccessReview, personID)
		err := child.GetChildWorkflowExecution().Get(ctx, nil)
		if err == nil {
			return nil
		}
		if !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return err
		}
		// One started meanwhile: signal it.
	}
	return nil
}

// AccessEvents follows the ACS's event feed: a heartbeating activity reads it every few seconds for an
// hour, then the workflow continues as new, so its history stays short.
func AccessEvents(ctx workflow.Context, in AccessEventsInput) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    max(3*in.Every, LongestHeartbeat),
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, MaximumInterval: 5 * time.Minute,
			NonRetryableErrorTypes: activities.PermanentErrors},
	})
	if err := workflow.ExecuteActivity(ctx, activities.A.FollowAccessEvents,
		activities.FollowInput{Every: in.Every, For: time.Hour}).Get(ctx, nil); err != nil {
		if !failedForGood(ctx, err) {
			return err
		}
		// The feed goes on: what the database refused is logged, and the feed read again after a while.
		workflow.GetLogger(ctx).Error("access events: the feed's events were refused", "error", err)
		if err := workflow.Sleep(ctx, max(in.Every, time.Minute)); err != nil {
			return err
		}
	}
	return workflow.NewContinueAsNewError(ctx, AccessEvents, in)
}
