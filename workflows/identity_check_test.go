package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// testIdentityPlan: two weeks to complete, reminders 7 and 2 days before, polls from a minute up to an hour.
var testIdentityPlan = activities.IdentityPlan{Provider: "signicat", LinkValidity: 14 * oneDay,
	Reminders: []time.Duration{2 * oneDay, 7 * oneDay}, PollFirst: time.Minute, PollMax: time.Hour}

// identityHarness runs one identity check attempt with the provider faked: the process's status at each
// moment is what status says.
type identityHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  IdentityCheckInput

	// startDelay is how long the provider takes to start the capture flow.
	startDelay time.Duration

	mu       sync.Mutex
	status   func(now time.Time) domain.IdentityStatus
	polls    []time.Time
	messages []messageAt
	finishes []activities.FinishInput
	deletes  []activities.DeleteInput
	attended []activities.AttendedInput
}

type messageAt struct {
	Key, Template string
	At            time.Time
}

func newIdentityCheck(t *testing.T) *identityHarness {
	env := newTestEnv()
	h := &identityHarness{t: t, env: env, in: IdentityCheckInput{CaseRef: domain.NewCaseRef(), PersonID: uuid.New(),
		Attempt: 1, Plan: testIdentityPlan}}
	h.status = func(time.Time) domain.IdentityStatus { return domain.IdentityPending }
	return h
}

func (h *identityHarness) run() (activities.IdentityOutcome, error) {
	env := h.env
	env.OnActivity(activities.A.StartIdentityCapture, mock.Anything, mock.Anything).Return(activities.IdentityStarted{
		DossierID: "d-1", ProcessID: "p-1", CaptureURL: "https://capture.test/c-1"}, nil).After(h.startDelay)
	env.OnActivity(activities.A.IdentityProgress, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, ref activities.IdentityRef) (activities.IdentityPoll, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			now := env.Now().UTC()
			h.polls = append(h.polls, now)
			if len(h.polls) > 400 {
				h.t.Fatal("polling runs away")
			}
			return activities.IdentityPoll{ProcessID: ref.ProcessID, Status: h.status(now)}, nil
		})
	env.OnActivity(activities.A.FinishIdentity, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishInput) (activities.IdentityOutcome, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.finishes = append(h.finishes, in)
			st := in.Status
			if st == "" {
				st = h.status(env.Now().UTC())
			}
			out := activities.IdentityOutcome{Attempt: in.Attempt, Status: st}
			if st == domain.IdentityAccepted {
				out.EvidenceSHA256 = "abc"
			}
			return out, nil
		})
	env.OnActivity(activities.A.DeleteIdentityData, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.DeleteInput) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.deletes = append(h.deletes, in)
			return nil
		})
	env.OnActivity(activities.A.StartAttendedCheck, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AttendedInput) (activities.IdentityStarted, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.attended = append(h.attended, in)
			return activities.IdentityStarted{DossierID: "d-1", ProcessID: "p-2"}, nil
		})
	env.OnActivity(activities.A.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.messages = append(h.messages, messageAt{Key: in.Key, Template: in.Template, At: env.Now().UTC()})
			assert.Equal(h.t, "https://capture.test/c-1", in.Vars["Link"])
			return activities.SendResult{Status: "queued"}, nil
		})
	env.ExecuteWorkflow(IdentityCheck, h.in)
	require.True(h.t, env.IsWorkflowCompleted())
	var out activities.IdentityOutcome
	err := env.GetWorkflowError()
	if err == nil {
		require.NoError(h.t, env.GetWorkflowResult(&out))
	}
	return out, err
}

// after reports whether the test clock is at least d past the start.
func after(now time.Time, d time.Duration) bool { return !now.Before(testStart.Add(d)) }

func TestIdentityCheckCallbackWakesItAtOnce(t *testing.T) {
	h := newIdentityCheck(t)
	// The subject completes the capture 3 days in; the provider decides a minute later and calls back.
	h.status = func(now time.Time) domain.IdentityStatus {
		switch {
		case after(now, 3*oneDay+time.Minute):
			return domain.IdentityAccepted
		case after(now, 3*oneDay):
			return domain.IdentityProcessing
		}
		return domain.IdentityPending
	}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalIdentityCallback, IdentityCallback{ProcessID: "p-1", Status: "accepted"})
	}, 3*oneDay+time.Minute)
	out, err := h.run()
	require.NoError(t, err)
	assert.Equal(t, domain.IdentityAccepted, out.Status)
	assert.True(t, out.ProviderDataDeleted)
	last := h.polls[len(h.polls)-1]
	assert.Equal(t, testStart.Add(3*oneDay+time.Minute), last, "the callback has the process read at once")
	require.Len(t, h.finishes, 1)
	assert.Equal(t, "p-1", h.finishes[0].ProcessID)
	require.Len(t, h.deletes, 1)
	assert.True(t, h.deletes[0].Dossier, "an accepted check deletes the dossier too")
	assert.Equal(t, []string{h.in.CaseRef + "/identity/1/link"}, keysOf(h.messages), "no reminder: done before the first")
}

func TestIdentityCheckPollingFindsTheResultWithoutCallback(t *testing.T) {
	h := newIdentityCheck(t)
	h.status = func(now time.Time) domain.IdentityStatus {
		if after(now, 2*oneDay) {
			return domain.IdentityRejected
		}
		return domain.IdentityPending
	}
	out, err := h.run()
	require.NoError(t, err)
	assert.Equal(t, domain.IdentityRejected, out.Status)
	finished := h.polls[len(h.polls)-1]
	assert.True(t, finished.Sub(testStart.Add(2*oneDay)) <= time.Hour, "found within the longest poll interval, at %s", finished)
	// Polls back off: a minute, two, four... then hourly, so two days take about fifty reads, not thousands.
	assert.Less(t, len(h.polls), 60)
	assert.Equal(t, time.Minute, h.polls[0].Sub(testStart))
	require.Len(t, h.deletes, 1)
	assert.False(t, h.deletes[0].Dossier, "a rejected check keeps the dossier for a retry; its process goes")
	assert.Equal(t, "p-1", h.deletes[0].ProcessID)
}

func TestIdentityCheckRemindsThenExpires(t *testing.T) {
	h := newIdentityCheck(t)
	out, err := h.run()
	require.NoError(t, err)
	assert.Equal(t, domain.IdentityExpired, out.Status)
	ref := h.in.CaseRef
	assert.Equal(t, []messageAt{
		{Key: ref + "/identity/1/link", Template: "identity_check_link", At: testStart},
		{Key: ref + "/identity/1/reminder/1", Template: "identity_check_reminder", At: testStart.Add(7 * oneDay)},
		{Key: ref + "/identity/1/reminder/2", Template: "identity_check_reminder", At: testStart.Add(12 * oneDay)},
	}, h.messages)
	require.Len(t, h.finishes, 1)
	assert.Equal(t, domain.IdentityExpired, h.finishes[0].Status)
	assert.Equal(t, testStart.Add(14*oneDay), h.env.Now().UTC(), "expired at the deadline")
}

func TestIdentityCheckDuplicateCallbacksFinishOnce(t *testing.T) {
	h := newIdentityCheck(t)
	h.status = func(now time.Time) domain.IdentityStatus {
		if after(now, time.Hour) {
			return domain.IdentityInconclusive
		}
		return domain.IdentityPending
	}
	for _, d := range []time.Duration{time.Hour, time.Hour + time.Second, time.Hour + 2*time.Second} {
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(SignalIdentityCallback, IdentityCallback{ProcessID: "p-1", Status: "inconclusive"})
		}, d)
	}
	out, err := h.run()
	require.NoError(t, err)
	assert.Equal(t, domain.IdentityInconclusive, out.Status)
	assert.Len(t, h.finishes, 1)
	assert.Len(t, h.deletes, 1)
}

func TestIdentityCheckStaffAttended(t *testing.T) {
	h := newIdentityCheck(t)
	actor, upload := uuid.New(), uuid.New()
	h.status = func(now time.Time) domain.IdentityStatus {
		if after(now, 8*oneDay+10*time.Minute) {
			return domain.IdentityAccepted
		}
		if after(now, 8*oneDay) {
			return domain.IdentityProcessing
		}
		return domain.IdentityPending
	}
	var rejected error
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateAttendedImages, "u-0", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { rejected = err }, OnAccept: func() {}, OnComplete: func(any, error) {}},
			AttendedImages{Actor: actor})
	}, 8*oneDay-time.Hour)
	var state IdentityCheckState
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateAttendedImages, "u-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(r any, err error) {
				require.NoError(t, err)
				state = r.(IdentityCheckState)
			}}, AttendedImages{Actor: actor, UploadID: upload})
	}, 8*oneDay)
	out, err := h.run()
	require.NoError(t, err)
	assertErrType(t, rejected, TypeRejectedInput, "an update without images")
	assert.Equal(t, domain.IdentityAccepted, out.Status)
	require.Len(t, h.attended, 1)
	assert.Equal(t, upload, h.attended[0].UploadID)
	assert.Equal(t, actor, h.attended[0].Actor)
	assert.Equal(t, domain.IdentityModeAttended, state.Mode)
	assert.Equal(t, domain.IdentityProcessing, state.Status)
	assert.Equal(t, "p-2", h.finishes[0].ProcessID, "the attended process is the one read")
	// The reminder at day 7 went; the one at day 12 did not: the check no longer waits for the subject.
	assert.Equal(t, []string{h.in.CaseRef + "/identity/1/link", h.in.CaseRef + "/identity/1/reminder/1"}, keysOf(h.messages))
}

// A case worker's images that arrive while the capture flow is still being started wait for it, and are
// not refused as if the check had ended.
func TestIdentityCheckStaffAttendedWhileStarting(t *testing.T) {
	h := newIdentityCheck(t)
	h.startDelay = 10 * time.Minute
	h.status = func(now time.Time) domain.IdentityStatus {
		if after(now, time.Hour) {
			return domain.IdentityAccepted
		}
		return domain.IdentityProcessing
	}
	upload := uuid.New()
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateAttendedImages, "u-1", &testsuite.TestUpdateCallback{
			OnReject: func(err error) { t.Errorf("rejected: %v", err) }, OnAccept: func() {},
			OnComplete: func(_ any, err error) { assert.NoError(t, err) }}, AttendedImages{Actor: uuid.New(), UploadID: upload})
	}, time.Minute)
	out, err := h.run()
	require.NoError(t, err)
	assert.Equal(t, domain.IdentityAccepted, out.Status)
	require.Len(t, h.attended, 1)
	assert.Equal(t, upload, h.attended[0].UploadID)
}

func TestIdentityCheckCancelledWithItsCase(t *testing.T) {
	h := newIdentityCheck(t)
	h.env.RegisterDelayedCallback(func() { h.env.CancelWorkflow() }, oneDay)
	_, err := h.run()
	require.Error(t, err)
	require.Len(t, h.finishes, 1)
	assert.Equal(t, domain.IdentityCanceled, h.finishes[0].Status)
	require.Len(t, h.deletes, 1)
	assert.Equal(t, "p-1", h.deletes[0].ProcessID)
}

func keysOf(m []messageAt) []string {
	var out []string
	for _, x := range m {
		out = append(out, x.Key)
	}
	return out
}

// The case side: an identity check configured runs before the case goes to the officer; its outcome goes
// on the timeline, and a mismatch is flagged to the owner.
func TestVettingCaseRunsTheIdentityCheck(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.identityPlan = testIdentityPlan
	var mu sync.Mutex
	var attempts []IdentityCheckInput
	var ids []string
	h.env.OnWorkflow(IdentityCheck, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in IdentityCheckInput) (activities.IdentityOutcome, error) {
			mu.Lock()
			attempts = append(attempts, in)
			ids = append(ids, workflow.GetInfo(ctx).WorkflowExecution.ID)
			mu.Unlock()
			if err := workflow.Sleep(ctx, 2*oneDay); err != nil {
				return activities.IdentityOutcome{}, err
			}
			if in.Attempt == 1 {
				return activities.IdentityOutcome{Attempt: 1, Status: domain.IdentityAccepted, Mode: "capture",
					Mismatches: []string{domain.MismatchDateOfBirth}, EvidenceSHA256: "abc", ProviderDataDeleted: true}, nil
			}
			return activities.IdentityOutcome{Attempt: 2, Status: domain.IdentityAccepted, Mode: "capture"}, nil
		})
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	early := h.sendAt(oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	retry := h.sendAt(3*oneDay, UpdateRetryIdentityCheck, RetryIdentityCheck{Actor: owner})
	h.sendAt(6*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	st := h.run()

	mustReject(t, early, TypeInvalidTransition, "an outcome while the identity check runs")
	mustComplete(t, retry, "a retry once the first attempt ended")
	assert.Equal(t, domain.StatusCleared, st.Case.Status)
	require.Len(t, attempts, 2)
	assert.Equal(t, []int{1, 2}, []int{attempts[0].Attempt, attempts[1].Attempt})
	assert.Equal(t, IdentityCheckWorkflowID(h.in.CaseRef), ids[0])
	assert.Equal(t, ids[0], ids[1], "every attempt runs under the case's identity check id")
	assert.Equal(t, []string{"opened", "identity_check", "owner_assigned", "identity_result", "identity_check",
		"identity_result", "outcome"}, h.kinds())
	first := h.eventsOf("identity_result")[0]
	assert.Equal(t, domain.StatusWithOfficer, first.Case.Status)
	assert.Contains(t, first.Event.Summary, "date of birth")
	assert.Equal(t, "abc", first.Event.Detail["evidenceSha256"])
	flagged := h.noticesOf("identity_result")
	require.Len(t, flagged, 1, "the mismatch is flagged; the clean second attempt is not")
	assert.Equal(t, []uuid.UUID{owner}, flagged[0].UserIDs)
	assert.Equal(t, 2, st.IdentityAttempt)
	assert.False(t, st.IdentityRunning)
}
