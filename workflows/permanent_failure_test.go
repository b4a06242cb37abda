package workflows

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// dataRejected is the error every activity returns when PostgreSQL refuses its data (activities.Permanent).
func dataRejected() error {
	return temporal.NewNonRetryableApplicationError("the database refused the data: SQLSTATE 22P05 (data exception)",
		activities.TypeDataRejected, nil)
}

// refuseEvents makes ApplyCaseEvent refuse the events refuse picks, as the database refuses a NUL, and
// counts the attempts at them.
func (h *caseHarness) refuseEvents(refuse func(activities.CaseEventInput) bool) *refusals {
	r := &refusals{}
	h.env.OnActivity(activities.A.ApplyCaseEvent, mock.Anything, mock.MatchedBy(refuse)).Return(
		func(context.Context, activities.CaseEventInput) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.n++
			if r.n > runaway {
				return temporal.NewNonRetryableApplicationError("refusals run away", "Runaway", nil)
			}
			return dataRejected()
		})
	return r
}

type refusals struct {
	mu sync.Mutex
	n  int
}

func (r *refusals) count() int { r.mu.Lock(); defer r.mu.Unlock(); return r.n }

// assertFailureRecorded checks the timeline says an event of kind failed, with the reason and none of its
// data, and that who hears of the case was told.
func assertFailureRecorded(t *testing.T, h *caseHarness, kind string, to []uuid.UUID, roles []domain.Role) {
	t.Helper()
	var found bool
	for _, e := range h.eventsOf(kindRecordingFailed) {
		if e.Event.Detail["kind"] != kind {
			continue
		}
		found = true
		assert.Contains(t, e.Event.Summary, "SQLSTATE 22P05", "the timeline says why")
		assert.Nil(t, e.Event.ActorID)
		for _, s := range []string{e.Event.Summary, e.Event.Detail["reason"].(string)} {
			assert.NotContains(t, s, "Mallory", "the refused data stays out of the timeline")
			assert.NotContains(t, s, "\x00")
		}
	}
	require.True(t, found, "a %s event on the timeline for %s; kinds %v", kindRecordingFailed, kind, h.kinds())
	var told bool
	for _, n := range h.noticesOf(kindRecordingFailed) {
		if strings.Contains(n.Message, " "+kind+" ") {
			told = true
			assert.Equal(t, to, n.UserIDs)
			assert.Equal(t, roles, n.Roles)
			assert.NotContains(t, n.Message, "Mallory")
		}
	}
	assert.True(t, told, "the failure of %s is notified", kind)
}

// A note the database refuses (a NUL in its text, bypassing the API) is refused to the caller as
// unprocessable, tried once, and recorded as a failure on the timeline for the owner; the next note, the
// SLA reminders and escalation and the outcome all still work.
func TestVettingCaseRefusedNoteDoesNotFreezeIt(t *testing.T) {
	h := newCase(t, domain.LevelDV, defaultSLA(t, domain.LevelDV))
	owner := uuid.New()
	bad := h.refuseEvents(func(in activities.CaseEventInput) bool {
		text, _ := in.Event.Detail["text"].(string)
		return strings.Contains(text, "\x00")
	})
	h.sendAt(oneDay, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	refused := h.sendAt(2*oneDay, UpdateAddNote, AddNote{Actor: owner, Text: "Mallory\x00 was here"})
	next := h.sendAt(2*oneDay+time.Minute, UpdateAddNote, AddNote{Actor: owner, Text: "A clean note"})
	decided := h.sendAt(100*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelDV, domain.DateOf(testStart.Add(100*oneDay))))
	final := h.run()

	require.True(t, refused.Accepted, "the validator lets the note through to the activity")
	require.True(t, refused.Completed)
	assertErrType(t, refused.Err, activities.TypeDataRejected, "the refused note")
	var rej *Rejection
	require.ErrorAs(t, rejection(refused.Err), &rej)
	assert.True(t, rej.Unprocessable, "the API answers 422")
	assert.Equal(t, 1, bad.count(), "a refused event is not retried")
	assertFailureRecorded(t, h, "note", []uuid.UUID{owner}, nil)

	mustComplete(t, next, "the next note")
	mustComplete(t, decided, "the outcome")
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", kindRecordingFailed, "note",
		"sla_reminder", "sla_reminder", "escalated", "outcome"}, h.kinds())
	assert.Len(t, h.noticesOf("sla_reminder"), 2, "the SLA timers still fire")
	assert.Len(t, h.noticesOf("sla_escalation"), 1)
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
}

// Events the case writes on its own (an SLA reminder, the escalation) that the database refuses are
// recorded as failures for the security controllers, each tried once; the case goes on to its next
// timer and its outcome.
func TestVettingCaseRefusedTimerEventsDoNotFreezeIt(t *testing.T) {
	h := newCase(t, domain.LevelDV, defaultSLA(t, domain.LevelDV))
	var mu sync.Mutex
	seen := map[string]int{}
	bad := h.refuseEvents(func(in activities.CaseEventInput) bool {
		mu.Lock()
		defer mu.Unlock()
		if in.Event.Kind != "sla_reminder" && in.Event.Kind != "escalated" {
			return false
		}
		seen[in.Event.Kind]++
		// The first reminder, and every escalation.
		return in.Event.Kind == "escalated" || seen[in.Event.Kind] == 1
	})
	withdraw := h.sendAt(97*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
	final := h.run()

	controllers := []domain.Role{domain.RoleSecurityController}
	assertFailureRecorded(t, h, "sla_reminder", nil, controllers)
	assertFailureRecorded(t, h, "escalated", nil, controllers)
	assert.Equal(t, 2, bad.count(), "each refused event is tried once: no loop on the escalation")
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", kindRecordingFailed, "sla_reminder",
		kindRecordingFailed, "outcome"}, h.kinds())
	reminders := h.noticesOf("sla_reminder")
	require.Len(t, reminders, 1, "the second reminder still comes")
	assertNear(t, testStart.Add(94*oneDay), reminders[0].Now, "second reminder")
	mustComplete(t, withdraw, "the outcome after the failures")
	assert.Equal(t, domain.StatusWithdrawn, final.Case.Status)
}

// An identity check's result whose details the database refuses goes on the timeline without them: the
// case reaches the officer, the owner hears of the failure, and the check can be repeated.
func TestVettingCaseRefusedIdentityResultDoesNotFreezeIt(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.identityPlan = testIdentityPlan
	h.refuseEvents(func(in activities.CaseEventInput) bool {
		reason, _ := in.Event.Detail["failReason"].(string)
		return strings.Contains(reason, "\x00")
	})
	h.env.OnWorkflow(IdentityCheck, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in IdentityCheckInput) (activities.IdentityOutcome, error) {
			if err := workflow.Sleep(ctx, oneDay); err != nil {
				return activities.IdentityOutcome{}, err
			}
			if in.Attempt == 1 {
				return activities.IdentityOutcome{Attempt: 1, Status: domain.IdentityRejected, Mode: "capture",
					FailReason: "Mallory\x00"}, nil
			}
			return activities.IdentityOutcome{Attempt: 2, Status: domain.IdentityAccepted, Mode: "capture"}, nil
		})
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	var afterFirst CaseState
	h.at(2*oneDay, func() { afterFirst = h.query() })
	retry := h.sendAt(2*oneDay+time.Hour, UpdateRetryIdentityCheck, RetryIdentityCheck{Actor: owner})
	decided := h.sendAt(5*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	final := h.run()

	assertFailureRecorded(t, h, "identity_result", []uuid.UUID{owner}, nil)
	assert.Equal(t, domain.StatusWithOfficer, afterFirst.Case.Status, "the case reached the officer")
	results := h.eventsOf("identity_result")
	require.Len(t, results, 2)
	assert.Equal(t, "Identity check rejected (its details could not be recorded)", results[0].Event.Summary)
	assert.NotContains(t, results[0].Event.Detail, "failReason")
	mustComplete(t, retry, "a retry of the check")
	mustComplete(t, decided, "the outcome")
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
}

// A clearance whose reads and writes the database refuses at some of its moments goes on to the next:
// the 90-day nudge is skipped, the renewal case not tried again, the owner told of each (with the reason,
// tried once), and a lapse that cannot be recorded ends the workflow rather than freezing it.
func TestClearanceRefusedStepsDoNotFreezeIt(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	owner := uuid.New()
	h.owner = &owner
	var mu sync.Mutex
	refused := map[string]int{}
	refuse := func(what string) error {
		mu.Lock()
		defer mu.Unlock()
		refused[what]++
		return temporal.NewApplicationError("the database refused the data: SQLSTATE 22021 (data exception)",
			activities.TypeDataRejected) // retryable as raised: the retry policy must stop it
	}
	h.env.OnActivity(activities.A.LoadClearance, mock.Anything, mock.MatchedBy(func(uuid.UUID) bool {
		now := h.env.Now().UTC()
		return now.Equal(h.day(90)) || now.Equal(h.day(150))
	})).Return(func(context.Context, uuid.UUID) (activities.ClearanceInfo, error) {
		return activities.ClearanceInfo{}, refuse("load")
	})
	h.env.OnActivity(activities.A.ExpireClearance, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.ExpireClearanceInput) (bool, error) { return false, refuse("expire") })
	st := h.run()

	assert.Equal(t, map[string]int{"load": 2, "expire": 1}, refused, "each refused step tried once")
	h.assertNudges(180, 30, 7)
	assert.Equal(t, []int{90}, st.NudgesSkipped)
	assert.True(t, st.RenewalFailed)
	assert.Empty(t, h.cases, "the renewal case is not tried again")
	assert.Equal(t, ClearanceEndFailed, st.Ended)
	failed := h.noticesOf("clearance_step_failed")
	require.Len(t, failed, 3, "the nudge, the renewal case and the lapse")
	for i, at := range []time.Time{h.day(150), h.day(90), h.day(-1)} {
		assert.Equal(t, at, failed[i].Now)
		assert.Contains(t, failed[i].Message, "SQLSTATE 22021")
		h.assertToOwner(failed[i])
	}
	assert.Contains(t, failed[0].Message, "the renewal case could not be completed")
	assert.Contains(t, failed[2].Message, "the lapse could not be completed")
}

// A grant whose data the database refuses is refused to its requester as unprocessable, tried once, and
// the workflow ends cleanly.
func TestAccessGrantRefusedDataIsUnprocessable(t *testing.T) {
	h := newGrant(t, oneDay, oneYear, 5*oneYear)
	attempts := 0
	h.env.OnActivity(activities.A.RecordGrant, mock.Anything, mock.Anything).Return(
		func(context.Context, domain.AccessGrant) (domain.AccessGrant, error) {
			attempts++
			return domain.AccessGrant{}, temporal.NewApplicationError("the database refused the data: SQLSTATE 22021 (data exception)",
				activities.TypeDataRejected)
		})
	_, requested := h.run(nil)
	require.True(t, requested.Completed)
	assertErrType(t, requested.Err, activities.TypeDataRejected, "the grant requested")
	var rej *Rejection
	require.ErrorAs(t, rejection(requested.Err), &rej)
	assert.True(t, rej.Unprocessable, "the API answers 422")
	assert.Equal(t, 1, attempts, "not retried")
	assert.Empty(t, h.statuses)
}

// A revoke whose reason the database refuses is refused to its caller, tried once; the grant runs on and
// the next revoke ends it.
func TestAccessGrantRefusedRevokeDoesNotFreezeIt(t *testing.T) {
	h := newGrant(t, oneDay, oneYear, 5*oneYear)
	attempts := 0
	h.env.OnActivity(activities.A.SetGrantStatus, mock.Anything, mock.MatchedBy(func(in activities.GrantStatusInput) bool {
		return strings.Contains(in.Reason, "\x00")
	})).Return(func(context.Context, activities.GrantStatusInput) (domain.AccessGrant, error) {
		attempts++
		return domain.AccessGrant{}, dataRejected()
	})
	actor := uuid.New()
	bad := h.revokeAt(10*oneDay, RevokeGrant{Actor: actor, Reason: "Mallory\x00"})
	good := h.revokeAt(20*oneDay, RevokeGrant{Actor: actor, Reason: "left the project"})
	st, _ := h.run(nil)

	require.True(t, bad.Completed)
	assertErrType(t, bad.Err, activities.TypeDataRejected, "the refused revoke")
	assert.NotContains(t, bad.Err.Error(), "Mallory")
	assert.Equal(t, 1, attempts, "not retried")
	require.True(t, good.Completed)
	require.NoError(t, good.Err)
	require.Equal(t, []domain.GrantStatus{domain.GrantActive, domain.GrantRevoked}, h.statusesSeen())
	assert.Equal(t, testStart.Add(20*oneDay), h.statuses[1].At)
	assert.Equal(t, domain.GrantRevoked, st.Grant.Status)
}

// A broadcast shard whose data the database refuses is tried once; the broadcast goes on with the others,
// collects replies and answers its close.
func TestBroadcastRefusedShardDoesNotFreezeIt(t *testing.T) {
	env := newTestEnv()
	id := uuid.New()
	env.OnActivity(activities.A.PrepareBroadcast, mock.Anything, mock.Anything).Return(20, nil)
	var mu sync.Mutex
	attempts := map[int]int{}
	env.OnActivity(activities.A.SendBroadcastShard, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.BroadcastShardInput) (activities.BroadcastShardResult, error) {
			mu.Lock()
			defer mu.Unlock()
			attempts[in.Shard]++
			if in.Shard == 0 {
				return activities.BroadcastShardResult{}, temporal.NewApplicationError(
					"the database refused the data: SQLSTATE 22021 (data exception)", activities.TypeDataRejected)
			}
			return activities.BroadcastShardResult{Handed: 10}, nil
		})
	var phases []string
	env.OnActivity(activities.A.SetBroadcastStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SetBroadcastStatusInput) error {
			mu.Lock()
			defer mu.Unlock()
			phases = append(phases, in.Status)
			return nil
		})
	closed := &sentUpdate{}
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateCloseBroadcast, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() { closed.Accepted = true },
			OnReject:   func(err error) { closed.Rejected, closed.Err = true, err },
			OnComplete: func(_ any, err error) { closed.Completed, closed.Err = true, err },
		})
	}, time.Hour)
	env.ExecuteWorkflow(Broadcast, BroadcastInput{BroadcastID: id, Text: "Drill", Shards: 2, ReplyUntil: testStart.Add(oneDay)})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var st BroadcastState
	require.NoError(t, env.GetWorkflowResult(&st))
	assert.Equal(t, map[int]int{0: 1, 1: 1}, attempts, "the refused shard is tried once")
	assert.Equal(t, 10, st.Handed)
	assert.Equal(t, []string{domain.BroadcastCollecting, domain.BroadcastClosed}, phases)
	require.True(t, closed.Completed, "the close is answered")
	assert.NoError(t, closed.Err)
}

// The access control system's event feed, its events refused by the database, is not retried into a loop
// and does not stop: it waits a while and reads on in a new run.
func TestAccessEventsRefusedFeedGoesOn(t *testing.T) {
	env := newTestEnv()
	attempts := 0
	env.OnActivity(activities.A.FollowAccessEvents, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FollowInput) (int, error) {
			attempts++
			return 0, temporal.NewApplicationError("the database refused the data: SQLSTATE 22021 (data exception)",
				activities.TypeDataRejected)
		})
	env.ExecuteWorkflow(AccessEvents, AccessEventsInput{Every: 5 * time.Second})
	require.True(t, env.IsWorkflowCompleted())
	assert.True(t, workflow.IsContinueAsNewError(env.GetWorkflowError()), "it reads on in a new run: %v", env.GetWorkflowError())
	assert.Equal(t, 1, attempts, "not retried")
	assert.Equal(t, testStart.Add(time.Minute), env.Now().UTC(), "after a minute's wait")
}

// An identity check whose result the database refuses is tried once and ends (no retry loop); its case
// records the failure with the reason, tells the owner, and the officer can repeat the check.
func TestIdentityCheckRefusedResultDoesNotFreezeIt(t *testing.T) {
	h := newIdentityCheck(t)
	h.status = func(now time.Time) domain.IdentityStatus {
		if after(now, oneDay) {
			return domain.IdentityAccepted
		}
		return domain.IdentityPending
	}
	finishes := 0
	h.env.OnActivity(activities.A.FinishIdentity, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FinishInput) (activities.IdentityOutcome, error) {
			finishes++
			return activities.IdentityOutcome{}, temporal.NewApplicationError(
				"the database refused the data: SQLSTATE 22021 (data exception)", activities.TypeDataRejected)
		})
	_, err := h.run()
	assertErrType(t, err, activities.TypeDataRejected, "the check's end")
	assert.Equal(t, 1, finishes, "the refused result is not retried")
	assert.Less(t, h.env.Now().Sub(testStart), 2*oneDay, "it ended when the result came")

	// The case it belongs to: the failed attempt goes on the timeline and to the owner; a retry runs.
	c := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	c.identityPlan = testIdentityPlan
	c.env.OnWorkflow(IdentityCheck, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in IdentityCheckInput) (activities.IdentityOutcome, error) {
			if err := workflow.Sleep(ctx, oneDay); err != nil {
				return activities.IdentityOutcome{}, err
			}
			if in.Attempt == 1 {
				return activities.IdentityOutcome{}, temporal.NewNonRetryableApplicationError(
					"the database refused the data: SQLSTATE 22021 (data exception)", activities.TypeDataRejected, nil)
			}
			return activities.IdentityOutcome{Attempt: 2, Status: domain.IdentityAccepted, Mode: "capture"}, nil
		})
	owner := uuid.New()
	c.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	retry := c.sendAt(2*oneDay, UpdateRetryIdentityCheck, RetryIdentityCheck{Actor: owner})
	decided := c.sendAt(5*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	st := c.run()
	results := c.eventsOf("identity_result")
	require.Len(t, results, 2)
	assert.Contains(t, results[0].Event.Summary, "failed (the database refused the data: SQLSTATE 22021")
	flagged := c.noticesOf("identity_result")
	require.NotEmpty(t, flagged)
	assert.Equal(t, []uuid.UUID{owner}, flagged[0].UserIDs)
	mustComplete(t, retry, "the retry after the failure")
	mustComplete(t, decided, "the outcome")
	assert.Equal(t, domain.StatusCleared, st.Case.Status)
}

// A scheduled sync whose data the database refuses is tried once and its run ends, failed and visible in
// the Temporal UI, instead of retrying for ever: the schedule's next run starts afresh.
func TestAccessSyncRefusedDataEndsTheRun(t *testing.T) {
	env := newTestEnv()
	attempts := 0
	env.OnActivity(activities.A.ExpireClearances, mock.Anything).Return(func(context.Context) ([]uuid.UUID, error) {
		attempts++
		return nil, temporal.NewApplicationError("the database refused the data: SQLSTATE 23514 (integrity constraint violation)",
			activities.TypeDataRejected)
	})
	env.ExecuteWorkflow(AccessSync, AccessSyncInput{})
	require.True(t, env.IsWorkflowCompleted())
	assertErrType(t, env.GetWorkflowError(), activities.TypeDataRejected, "the sync run")
	assert.Equal(t, 1, attempts, "not retried")
}
