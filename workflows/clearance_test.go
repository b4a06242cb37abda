package workflows

import (
	"context"
	"errors"
	"strconv"
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

// clearanceHarness runs one clearance's workflow with its activities faked: the clearance LoadClearance
// reads (a test may change its status, as a revocation would), the reminder policy in the database, and
// every message, notification, renewal case, expiry and signal with the workflow clock.
type clearanceHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  ClearanceInput

	mu         sync.Mutex
	clearance  domain.Clearance
	owner      *uuid.UUID
	policy     domain.ReminderPolicy
	openCase   string
	superseded []uuid.UUID
	// sendErr answers every SendMessage when set.
	sendErr error

	loads    []time.Time
	messages []messageCall
	notices  []notifyCall
	cases    []caseStart
	expires  []expireCall
	expiring []expiringCall
	signals  []signalCall
}

type expiringCall struct {
	activities.ClearanceExpiringInput
	Now time.Time
}

type messageCall struct {
	activities.SendInput
	Now time.Time
}

type caseStart struct {
	VettingCaseInput
	WorkflowID string
	CaseRefSA  string
	Now        time.Time
}

type expireCall struct {
	activities.ExpireClearanceInput
	Now time.Time
}

type signalCall struct {
	WorkflowID, Signal string
	Now                time.Time
}

var testSLA = domain.SLA{Due: 20 * oneDay, Reminders: []time.Duration{7 * oneDay, oneDay}}

// newClearance makes an active clearance valid from validFrom for the given years (its last valid day is
// the day before the anniversary), with the schema's reminder policy.
func newClearance(t *testing.T, level domain.Level, validFrom domain.Date, years int) *clearanceHarness {
	t.Helper()
	env := newTestEnv()
	env.SetWorkflowRunTimeout(20 * oneYear) // the test environment's default, ten years, is shorter than some clearances' lives
	id, source := uuid.New(), domain.NewCaseRef()
	policy := testReminderPolicy
	policy.UpdatedAt = testStart.Add(-oneYear)
	return &clearanceHarness{t: t, env: env, policy: policy,
		in: ClearanceInput{ClearanceID: id, SLA: testSLA, IssuingAuthority: "Ministry of Defence"},
		clearance: domain.Clearance{ID: id, PersonID: uuid.New(), Level: level, ValidFrom: validFrom,
			ValidTo: validFrom.AddYears(years).AddDays(-1), Status: domain.ClearanceActive, SourceCaseRef: &source,
			IssuingAuthority: "Ministry of Defence"}}
}

// at runs fn when the workflow clock reaches t.
func (h *clearanceHarness) at(t time.Time, fn func()) {
	h.env.RegisterDelayedCallback(fn, t.Sub(testStart))
}

func (h *clearanceHarness) setStatus(s domain.ClearanceStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clearance.Status = s
}

func (h *clearanceHarness) run() ClearanceState {
	h.t.Helper()
	env := h.env
	env.OnActivity(activities.A.LoadClearance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) (activities.ClearanceInfo, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			require.Equal(h.t, h.clearance.ID, id)
			if len(h.loads) >= runaway {
				return activities.ClearanceInfo{}, temporal.NewNonRetryableApplicationError("runaway", "Runaway", nil)
			}
			h.loads = append(h.loads, env.Now().UTC())
			return activities.ClearanceInfo{Clearance: h.clearance, OwnerID: h.owner, Policy: h.policy}, nil
		})
	env.OnActivity(activities.A.SupersededClearances, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) ([]uuid.UUID, error) { return h.superseded, nil })
	env.OnActivity(activities.A.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.messages) >= runaway {
				return activities.SendResult{}, temporal.NewNonRetryableApplicationError("runaway", "Runaway", nil)
			}
			h.messages = append(h.messages, messageCall{SendInput: in, Now: env.Now().UTC()})
			if h.sendErr != nil {
				return activities.SendResult{}, h.sendErr
			}
			return activities.SendResult{ID: in.Key, Channel: "sms", Status: "queued"}, nil
		})
	recordNotices(env, &h.mu, &h.notices)
	env.OnActivity(activities.A.OpenCaseRef, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenCaseInput) (string, error) {
			assert.Equal(h.t, activities.OpenCaseInput{PersonID: h.clearance.PersonID, Type: domain.CaseRenewal,
				Level: h.clearance.Level}, in)
			return h.openCase, nil
		})
	env.OnActivity(activities.A.RecordClearanceExpiring, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ClearanceExpiringInput) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.expiring = append(h.expiring, expiringCall{ClearanceExpiringInput: in, Now: env.Now().UTC()})
			return nil
		})
	env.OnActivity(activities.A.ExpireClearance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.ExpireClearanceInput) (bool, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.expires = append(h.expires, expireCall{ExpireClearanceInput: in, Now: env.Now().UTC()})
			h.clearance.Status = domain.ClearanceExpired
			return true, nil
		})
	env.OnWorkflow(VettingCase, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in VettingCaseInput) (CaseState, error) {
			ref, _ := workflow.GetTypedSearchAttributes(ctx).GetKeyword(CaseRefKey)
			h.mu.Lock()
			defer h.mu.Unlock()
			h.cases = append(h.cases, caseStart{VettingCaseInput: in, WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID,
				CaseRefSA: ref, Now: workflow.Now(ctx).UTC()})
			return CaseState{}, nil
		})
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", mock.Anything, mock.Anything).Return(nil).
		Run(func(args mock.Arguments) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.signals = append(h.signals, signalCall{WorkflowID: args.String(1), Signal: args.String(3), Now: env.Now().UTC()})
		})

	env.ExecuteWorkflow(ClearanceLifecycle, h.in)
	require.True(h.t, env.IsWorkflowCompleted(), "the clearance's workflow should have ended")
	require.NoError(h.t, env.GetWorkflowError())
	var st ClearanceState
	require.NoError(h.t, env.GetWorkflowResult(&st))
	return st
}

// day is the start of the day n days before the clearance's last valid day (negative: after it), UTC.
func (h *clearanceHarness) day(n int) time.Time { return h.clearance.ValidTo.AddDays(-n).Time() }

func (h *clearanceHarness) nudgeKey(days int) string {
	return "clearance/" + h.clearance.ID.String() + "/nudge/" + strconv.Itoa(days)
}

func (h *clearanceHarness) noticesOf(kind domain.NotificationKind) []notifyCall {
	return where(h.notices, func(n notifyCall) bool { return n.Kind == kind })
}

func (h *clearanceHarness) signalsOf(name string) []signalCall {
	return where(h.signals, func(s signalCall) bool { return s.Signal == name })
}

// assertNudges checks the holder was nudged at exactly these offsets, each at the start of its day, once,
// and the owner (or the security controllers) told each time, naming the clearance and never the holder.
func (h *clearanceHarness) assertNudges(days ...int) {
	t := h.t
	t.Helper()
	require.Len(t, h.messages, len(days), "nudges sent")
	for i, d := range days {
		m := h.messages[i]
		assert.Equal(t, h.day(d), m.Now, "the %d-day nudge, at the start of its day", d)
		assert.Equal(t, h.nudgeKey(d), m.Key)
		assert.Equal(t, "renewal_nudge", m.Template)
		assert.Empty(t, m.Channel, "the person's preferred channel")
		require.NotNil(t, m.PersonID)
		assert.Equal(t, h.clearance.PersonID, *m.PersonID)
		require.NotNil(t, m.ClearanceID)
		assert.Equal(t, h.clearance.ID, *m.ClearanceID)
		assert.Equal(t, map[string]string{"Level": string(h.clearance.Level), "ValidTo": h.clearance.ValidTo.String(),
			"DaysLeft": strconv.Itoa(d)}, m.Vars)
	}
	require.Len(t, h.expiring, len(days), "clearance.expiring recorded at each nudge")
	for i, d := range days {
		assert.Equal(t, expiringCall{ClearanceExpiringInput: activities.ClearanceExpiringInput{ClearanceID: h.clearance.ID,
			Days: d, DaysLeft: d}, Now: h.day(d)}, h.expiring[i])
	}
	nudged := h.noticesOf("renewal_nudge")
	require.Len(t, nudged, len(days), "the owner hears of each nudge")
	for i, d := range days {
		n := nudged[i]
		assert.Equal(t, h.day(d), n.Now)
		assert.Equal(t, h.nudgeKey(d), n.Key)
		h.assertToOwner(n)
		assert.Contains(t, n.Message, string(h.clearance.Level)+" clearance "+h.clearance.ID.String())
		assert.Contains(t, n.Message, h.clearance.ValidTo.String())
	}
}

func (h *clearanceHarness) assertToOwner(n notifyCall) {
	t := h.t
	t.Helper()
	if h.owner != nil {
		assert.Equal(t, []uuid.UUID{*h.owner}, n.UserIDs, "to the vetting owner")
		assert.Empty(t, n.Roles)
	} else {
		assert.Empty(t, n.UserIDs)
		assert.Equal(t, []domain.Role{domain.RoleSecurityController}, n.Roles, "no owner: to the security controllers")
	}
	assert.NotContains(t, n.Message, h.clearance.PersonID.String(), "the holder is never named")
}

// assertLapsed checks the clearance was expired at the start of the day after its last valid day, the
// holder's access reviewed then, and the workflow ended.
func (h *clearanceHarness) assertLapsed(st ClearanceState) {
	t := h.t
	t.Helper()
	lapse := h.day(-1)
	require.Len(t, h.expires, 1, "expired once")
	assert.Equal(t, lapse, h.expires[0].Now)
	assert.Equal(t, activities.ExpireClearanceInput{ClearanceID: h.clearance.ID, Today: h.clearance.ValidTo.AddDays(1)},
		h.expires[0].ExpireClearanceInput)
	reviews := h.signalsOf(SignalReviewAccess)
	require.Len(t, reviews, 1, "the holder's access reviewed")
	assert.Equal(t, AccessReviewWorkflowID(h.clearance.PersonID), reviews[0].WorkflowID)
	assert.Equal(t, lapse, reviews[0].Now)
	assert.Equal(t, ClearanceEndLapsed, st.Ended)
	require.NotNil(t, st.EndedAt)
	assert.Equal(t, lapse, *st.EndedAt)
	assert.Equal(t, lapse, h.env.Now().UTC(), "nothing runs after the lapse")
}

// assertRenewalOpened checks the renewal case was started once, at the lead time, with a reference made
// from the clearance, and the owner told.
func (h *clearanceHarness) assertRenewalOpened(st ClearanceState, at time.Time) {
	t := h.t
	t.Helper()
	require.Len(t, h.cases, 1, "one renewal case")
	c := h.cases[0]
	ref := RenewalCaseRef(h.clearance.ID)
	assert.True(t, domain.IsCaseRef(ref), ref)
	assert.Equal(t, at, c.Now)
	assert.Equal(t, VettingCaseWorkflowID(ref), c.WorkflowID)
	assert.Equal(t, ref, c.CaseRefSA, "the case's search attributes are set at its start")
	assert.Equal(t, VettingCaseInput{CaseRef: ref, PersonID: h.clearance.PersonID, Type: domain.CaseRenewal,
		Level: h.clearance.Level, IssuingAuthority: "Ministry of Defence", SLA: testSLA}, c.VettingCaseInput)
	assert.Equal(t, ref, st.RenewalCaseRef)
	assert.True(t, st.RenewalOpened)
	opened := h.noticesOf("renewal_opened")
	require.Len(t, opened, 1)
	assert.Equal(t, at, opened[0].Now)
	assert.Empty(t, opened[0].CaseRef, "the new case may not be in the read model yet")
	assert.Contains(t, opened[0].Message, ref)
	h.assertToOwner(opened[0])
}

// A five-year SC clearance, in milliseconds: nudged 180, 90, 30 and 7 days before its last day, its
// renewal case opened 150 days before, expired the day after its last day and the holder's access reviewed.
func TestClearanceFiveYearLife(t *testing.T) {
	began := time.Now()
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	owner, previous := uuid.New(), uuid.New()
	h.owner, h.superseded = &owner, []uuid.UUID{previous}
	var midLife ClearanceState
	h.at(testStart.Add(2*oneYear), func() {
		v, err := h.env.QueryWorkflow(QueryClearanceState)
		require.NoError(t, err)
		require.NoError(t, v.Get(&midLife))
	})
	st := h.run()

	assert.Less(t, time.Since(began), 10*time.Second, "five years on the test clock")
	assert.Equal(t, domain.NewDate(2031, time.March, 1), h.clearance.ValidTo)
	h.assertNudges(180, 90, 30, 7)
	h.assertRenewalOpened(st, h.day(150))
	h.assertLapsed(st)
	assert.Equal(t, []int{180, 90, 30, 7}, st.NudgesSent)
	assert.Empty(t, st.NudgesSkipped)

	renewed := h.signalsOf(SignalClearanceRenewed)
	require.Len(t, renewed, 1, "the clearance it superseded is told to end")
	assert.Equal(t, ClearanceWorkflowID(previous), renewed[0].WorkflowID)
	assert.Equal(t, testStart, renewed[0].Now)

	assert.True(t, midLife.Begun)
	assert.Empty(t, midLife.NudgesSent)
	assert.Equal(t, h.clearance.ValidTo, midLife.ValidTo)
	assert.Equal(t, &owner, midLife.OwnerID)
	// Read at its start and before each nudge and the renewal case; never polled.
	assert.Len(t, h.loads, 1+4+1)
}

// A ten-year clearance that comes into force a month after it was recorded, with no vetting owner: its
// whole life, the security controllers hearing of it.
func TestClearanceTenYearLife(t *testing.T) {
	h := newClearance(t, domain.LevelCTC, domain.DateOf(testStart.Add(30*oneDay)), 10)
	st := h.run()

	h.assertNudges(180, 90, 30, 7)
	h.assertRenewalOpened(st, h.day(150))
	h.assertLapsed(st)
	assert.Equal(t, domain.NewDate(2036, time.April, 1).Time(), h.day(-1), "ten years after validFrom (2026-04-01)")
	require.NotEmpty(t, h.loads)
	assert.Equal(t, testStart, h.loads[0], "read when started")
	if len(h.loads) > 1 {
		assert.Equal(t, h.day(180), h.loads[1], "then not before the first nudge")
	}
}

// A renewal recorded in year three ends the workflow at once: nothing is sent, no case opened, nothing
// expired.
func TestClearanceRenewedEndsIt(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	renewedAt := testStart.Add(2*oneYear + 100*oneDay)
	h.at(renewedAt, func() {
		h.setStatus(domain.ClearanceSuperseded)
		h.env.SignalWorkflow(SignalClearanceRenewed, nil)
	})
	st := h.run()

	assert.Empty(t, h.messages)
	assert.Empty(t, h.notices)
	assert.Empty(t, h.cases)
	assert.Empty(t, h.expires)
	assert.Empty(t, h.signalsOf(SignalReviewAccess))
	assert.Equal(t, ClearanceEndRenewed, st.Ended)
	require.NotNil(t, st.EndedAt)
	assert.Equal(t, renewedAt, *st.EndedAt)
	assert.Equal(t, renewedAt, h.env.Now().UTC(), "ended at once")
	assert.Len(t, h.loads, 1, "read only at its start")
}

// A new reminder policy applies to the running workflow at once: its offsets replace the old ones (the
// 180-day nudge already sent is not sent again), and a renewal lead time moved past now opens the case at
// once.
func TestClearanceReminderPolicyChange(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	changedAt := h.day(170).Add(10 * time.Hour)
	next := domain.ReminderPolicy{NudgeDays: []int{60, 14, 180}, RenewalLeadDays: 200, InfoReminderDays: []int{2},
		UpdatedAt: changedAt}
	h.at(changedAt, func() {
		h.mu.Lock()
		h.policy = next // the database first, then the signal, as the API does
		h.mu.Unlock()
		h.env.SignalWorkflow(SignalReminderPolicy, next)
	})
	st := h.run()

	h.assertNudges(180, 60, 14)
	h.assertRenewalOpened(st, changedAt) // 200 days before validTo is past: opened when the policy changed
	h.assertLapsed(st)
	assert.Equal(t, []int{180, 60, 14}, st.Policy.NudgeDays)
	assert.Equal(t, 200, st.Policy.RenewalLeadDays)
}

// Offsets a new policy adds whose moment is past are skipped, not sent late; the lead time moved later
// re-times the renewal case.
func TestClearanceReminderPolicyAddsPastOffsets(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	changedAt := h.day(100)
	next := domain.ReminderPolicy{NudgeDays: []int{120, 45}, RenewalLeadDays: 50, UpdatedAt: changedAt}
	h.at(changedAt.Add(time.Hour), func() {
		h.mu.Lock()
		h.policy = next
		h.mu.Unlock()
		h.env.SignalWorkflow(SignalReminderPolicy, next)
	})
	// Opened before the change (150 days before): the case is not opened again.
	st := h.run()

	h.assertNudges(180, 45)
	h.assertRenewalOpened(st, h.day(150))
	assert.Equal(t, []int{120}, st.NudgesSkipped, "added after its moment: skipped")
}

// A clearance found revoked when a nudge is due ends the workflow without a word to anyone.
func TestClearanceRevokedFoundAtANudge(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	h.at(testStart.Add(3*oneYear), func() { h.setStatus(domain.ClearanceRevoked) })
	st := h.run()

	assert.Empty(t, h.messages)
	assert.Empty(t, h.notices)
	assert.Empty(t, h.cases)
	assert.Empty(t, h.expires)
	assert.Equal(t, string(domain.ClearanceRevoked), st.Ended)
	assert.Equal(t, h.day(180), h.env.Now().UTC(), "ended at the first nudge's moment")
}

// A suspended clearance is not nudged while suspended, and the workflow goes on: lifted, the later nudges
// are sent.
func TestClearanceSuspendedSkipsNudges(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	h.at(h.day(200), func() { h.setStatus(domain.ClearanceSuspended) })
	h.at(h.day(100), func() { h.setStatus(domain.ClearanceActive) })
	st := h.run()

	h.assertNudges(90, 30, 7)
	assert.Equal(t, []int{180}, st.NudgesSkipped)
	h.assertRenewalOpened(st, h.day(150))
	h.assertLapsed(st)
}

// The person has a renewal case open at this level already: no second case is opened.
func TestClearanceRenewalCaseAlreadyOpen(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	existing := domain.NewCaseRef()
	h.openCase = existing
	st := h.run()

	assert.Empty(t, h.cases, "no second renewal case")
	assert.Empty(t, h.noticesOf("renewal_opened"))
	assert.Equal(t, existing, st.RenewalCaseRef)
	assert.False(t, st.RenewalOpened)
	h.assertNudges(180, 90, 30, 7)
	h.assertLapsed(st)
}

// A message the provider refuses for good does not fail the workflow: each nudge is tried once, the owner
// hears it could not be sent, and the clearance still lapses.
func TestClearanceFailingNudgeDoesNotFailIt(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	h.sendErr = temporal.NewNonRetryableApplicationError("credentials refused", activities.TypeMessagingRefused, nil)
	st := h.run()

	h.assertNudges(180, 90, 30, 7) // one attempt each: not retried
	for _, n := range h.noticesOf("renewal_nudge") {
		assert.Contains(t, n.Message, "could not be sent")
	}
	assert.Equal(t, []int{180, 90, 30, 7}, st.NudgesSent, "tried, and not tried again")
	h.assertLapsed(st)
}

// A workflow started late in a clearance's life (its moments past) tells the holder at once, under the
// latest nudge past (the 90-day one, 100 days before the end) and skips the earlier ones; it opens the
// renewal case at once.
func TestClearanceStartedLate(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart.Add(-5*oneYear+80*oneDay)), 5)
	st := h.run()

	require.Len(t, h.messages, 3, "one nudge now, then the 30- and 7-day ones")
	catchUp := h.messages[0]
	assert.Equal(t, testStart, catchUp.Now, "the catch-up nudge goes at once")
	assert.Equal(t, h.nudgeKey(90), catchUp.Key)
	assert.Equal(t, h.clearance.ValidTo.String(), catchUp.Vars["ValidTo"])
	assert.Equal(t, strconv.Itoa(int(h.clearance.ValidTo.Time().Sub(domain.DateOf(testStart).Time())/oneDay)), catchUp.Vars["DaysLeft"])
	assert.Equal(t, h.day(30), h.messages[1].Now)
	assert.Equal(t, h.day(7), h.messages[2].Now)
	assert.Equal(t, []int{180}, st.NudgesSkipped)
	assert.Equal(t, []int{90, 30, 7}, st.NudgesSent)
	h.assertRenewalOpened(st, testStart)
	h.assertLapsed(st)
}

// A clearance no longer in force when its workflow starts: nothing to do.
func TestClearanceNotInForce(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	h.clearance.Status = domain.ClearanceSuperseded
	st := h.run()
	assert.Equal(t, string(domain.ClearanceSuperseded), st.Ended)
	assert.Empty(t, h.messages)
	assert.Empty(t, h.cases)
	assert.Empty(t, h.expires)
	assert.Equal(t, testStart, h.env.Now().UTC())
}

// A workflow continued as new carries its state: what was done is not done again, and it is not started
// over (the clearances it superseded are not told twice).
func TestClearanceResumes(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart.Add(-5*oneYear+100*oneDay)), 5)
	ref := RenewalCaseRef(h.clearance.ID)
	h.in.Resume = &ClearanceState{ClearanceID: h.clearance.ID, PersonID: h.clearance.PersonID, Level: h.clearance.Level,
		ValidFrom: h.clearance.ValidFrom, ValidTo: h.clearance.ValidTo, Status: domain.ClearanceActive,
		Policy: h.policy, Loaded: true, Begun: true, PredecessorsTold: true, NudgesSent: []int{180, 90},
		RenewalCaseRef: ref, RenewalOpened: true}
	h.superseded = []uuid.UUID{uuid.New()}
	st := h.run()

	// 90 was sent before the resume although its moment is still ahead here: it is not sent again.
	h.assertNudges(30, 7)
	assert.Empty(t, h.cases)
	assert.Empty(t, h.signalsOf(SignalClearanceRenewed))
	assert.Equal(t, []int{180, 90, 30, 7}, st.NudgesSent)
	h.assertLapsed(st)
}

func TestClearanceInputIsChecked(t *testing.T) {
	h := newClearance(t, domain.LevelSC, domain.DateOf(testStart), 5)
	h.env.ExecuteWorkflow(ClearanceLifecycle, ClearanceInput{ClearanceID: h.clearance.ID})
	require.True(t, h.env.IsWorkflowCompleted())
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(h.env.GetWorkflowError(), &appErr))
	assert.Equal(t, TypeRejectedInput, appErr.Type(), "no SLA for its renewal case")
}

func TestRenewalCaseRef(t *testing.T) {
	id := uuid.New()
	ref := RenewalCaseRef(id)
	assert.True(t, domain.IsCaseRef(ref), ref)
	assert.Equal(t, ref, RenewalCaseRef(id), "the same clearance, the same case")
	assert.NotEqual(t, ref, RenewalCaseRef(uuid.New()))
	assert.NotContains(t, ref, id.String()[:8], "opaque")
	back, ok := ClearanceIDFromWorkflowID(ClearanceWorkflowID(id))
	assert.True(t, ok)
	assert.Equal(t, id, back)
	_, ok = ClearanceIDFromWorkflowID("vetting-case/" + ref)
	assert.False(t, ok)
}
