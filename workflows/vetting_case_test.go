package workflows

import (
	"context"
	"errors"
	"fmt"
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

const oneDay = 24 * time.Hour

// runaway is more timeline events or notifications than any test case writes: a workflow that loops on a
// timer fails fast instead of filling memory.
const runaway = 100

// testStart is when every test case is opened, on the test environment's clock.
var testStart = time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)

// newTestEnv is a time-skipping test environment whose clock starts at testStart; a test stuck for a
// minute of real time fails.
func newTestEnv() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(testStart)
	env.SetTestTimeout(time.Minute)
	return env
}

// where is the elements of xs that keep takes, in order: how a harness picks the calls of one kind.
func where[T any](xs []T, keep func(T) bool) []T {
	var out []T
	for _, x := range xs {
		if keep(x) {
			out = append(out, x)
		}
	}
	return out
}

// notifyCall is one NotifyStaff call and the workflow clock when it ran.
type notifyCall struct {
	activities.NotifyInput
	Now time.Time
}

// recordNotices fakes NotifyStaff in env, keeping each call with the workflow clock in into (under mu),
// and failing a workflow that runs away.
func recordNotices(env *testsuite.TestWorkflowEnvironment, mu *sync.Mutex, into *[]notifyCall) {
	env.OnActivity(activities.A.NotifyStaff, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.NotifyInput) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			if len(*into) >= runaway {
				return 0, temporal.NewNonRetryableApplicationError("runaway", "Runaway", nil)
			}
			*into = append(*into, notifyCall{NotifyInput: in, Now: env.Now().UTC()})
			return 1, nil
		})
}

// sentUpdate is what became of one update sent to the case.
type sentUpdate struct {
	Accepted, Rejected, Completed bool
	Err                           error
	State                         CaseState
	// Result is the update's result as the handler returned it (a CaseState, or a partner's answer).
	Result any
	// EventsWritten is how many ApplyCaseEvent calls had been made when the update completed.
	EventsWritten int
}

// caseHarness runs one vetting case in the test environment with its activities faked: it records each
// timeline write, clearance and notification, and each search attribute upsert.
type caseHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  VettingCaseInput

	// slowEvents delays the ApplyCaseEvent call of the event kinds named, on the workflow clock;
	// slowClearance delays RecordClearance.
	slowEvents    map[string]time.Duration
	slowClearance time.Duration

	mu         sync.Mutex
	events     []activities.CaseEventInput
	clearances []domain.Clearance
	notices    []notifyCall
	attrs      []temporal.SearchAttributes

	// postReturn, when set, answers each attempt of PostPartnerReturn (the first is 1); nil acknowledges.
	postReturn func(attempt int, in activities.PostPartnerReturnInput) error
	returns    []activities.RecordPartnerReturnInput
	// reviews are the access reviews requested, by workflow id.
	reviews []string
	posts   []postCall
	// identityPlan is the configured identity check; none when zero.
	identityPlan activities.IdentityPlan
}

// postCall is one attempt of PostPartnerReturn, the workflow clock then and how many timeline events had
// been written.
type postCall struct {
	activities.PostPartnerReturnInput
	Now           time.Time
	EventsWritten int
}

func newCase(t *testing.T, level domain.Level, sla domain.SLA) *caseHarness {
	t.Helper()
	env := newTestEnv()
	opener := uuid.New()
	return &caseHarness{t: t, env: env, slowEvents: map[string]time.Duration{}, in: VettingCaseInput{
		CaseRef: domain.NewCaseRef(), PersonID: uuid.New(), Type: domain.CaseNew, Level: level,
		IssuingAuthority: "Ministry of Defence", OpenedBy: &opener, SLA: sla,
	}}
}

func defaultSLA(t *testing.T, level domain.Level) domain.SLA {
	t.Helper()
	table, err := domain.ParseSLATable(domain.DefaultSLA, domain.DefaultSLAReminders)
	require.NoError(t, err)
	return table.For(domain.CaseNew, level)
}

func (h *caseHarness) applyCaseEvent(_ context.Context, in activities.CaseEventInput) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) >= runaway {
		return temporal.NewNonRetryableApplicationError("the timeline runs away", "Runaway", nil)
	}
	h.events = append(h.events, in)
	return nil
}

func (h *caseHarness) recordClearance(_ context.Context, c domain.Clearance) (domain.Clearance, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clearances = append(h.clearances, c)
	c.ID = uuid.New()
	c.Status = domain.ClearanceActive
	return c, nil
}

func (h *caseHarness) notifyStaff(_ context.Context, in activities.NotifyInput) (int, error) {
	now := h.env.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.notices) >= runaway {
		return 0, temporal.NewNonRetryableApplicationError("notifications run away", "Runaway", nil)
	}
	h.notices = append(h.notices, notifyCall{NotifyInput: in, Now: now})
	return len(in.UserIDs) + len(in.Roles), nil
}

func (h *caseHarness) recordPartnerReturn(_ context.Context, in activities.RecordPartnerReturnInput) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.returns = append(h.returns, in)
	return nil
}

func (h *caseHarness) postPartnerReturn(_ context.Context, in activities.PostPartnerReturnInput) error {
	now := h.env.Now()
	h.mu.Lock()
	if len(h.posts) >= runaway {
		h.mu.Unlock()
		return temporal.NewNonRetryableApplicationError("posts run away", "Runaway", nil)
	}
	h.posts = append(h.posts, postCall{PostPartnerReturnInput: in, Now: now, EventsWritten: len(h.events)})
	attempt, answer := len(h.posts), h.postReturn
	h.mu.Unlock()
	if answer == nil {
		return nil
	}
	return answer(attempt, in)
}

// at runs fn d after the case started, on the workflow clock.
func (h *caseHarness) at(d time.Duration, fn func()) { h.env.RegisterDelayedCallback(fn, d) }

// send sends an update now and returns what becomes of it.
func (h *caseHarness) send(name string, args ...any) *sentUpdate {
	s := &sentUpdate{}
	h.sendInto(s, name, args...)
	return s
}

func (h *caseHarness) sendInto(s *sentUpdate, name string, args ...any) {
	h.env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept: func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			s.Accepted = true
		},
		OnReject: func(err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			s.Rejected, s.Err = true, err
		},
		OnComplete: func(v any, err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			s.Completed, s.Err, s.EventsWritten = true, err, len(h.events)
			s.Result = v
			if st, ok := v.(CaseState); ok {
				s.State = st
			}
		},
	}, args...)
}

// sendAt sends an update d after the case started.
func (h *caseHarness) sendAt(d time.Duration, name string, args ...any) *sentUpdate {
	s := &sentUpdate{}
	h.at(d, func() { h.sendInto(s, name, args...) })
	return s
}

// run executes the case to completion and returns its final state.
func (h *caseHarness) run() CaseState {
	h.t.Helper()
	for kind, d := range h.slowEvents {
		h.env.OnActivity(activities.A.ApplyCaseEvent, mock.Anything, mock.MatchedBy(func(in activities.CaseEventInput) bool {
			return in.Event.Kind == kind
		})).After(d).Return(h.applyCaseEvent)
	}
	h.env.OnActivity(activities.A.ApplyCaseEvent, mock.Anything, mock.Anything).Return(h.applyCaseEvent)
	h.env.OnActivity(activities.A.RecordClearance, mock.Anything, mock.Anything).After(h.slowClearance).Return(h.recordClearance)
	h.env.OnActivity(activities.A.NotifyStaff, mock.Anything, mock.Anything).Return(h.notifyStaff)
	h.env.OnActivity(activities.A.RecordPartnerReturn, mock.Anything, mock.Anything).Return(h.recordPartnerReturn)
	h.env.OnActivity(activities.A.PostPartnerReturn, mock.Anything, mock.Anything).Return(h.postPartnerReturn)
	h.env.OnActivity(activities.A.RevokeReviewedClearance, mock.Anything, mock.Anything).Return(1, nil)
	// The granted clearance's workflow, and the messages to the subject: a test that looks at them mocks
	// them before run (the first mock that matches answers).
	h.env.OnWorkflow(ClearanceLifecycle, mock.Anything, mock.Anything).Return(ClearanceState{}, nil)
	h.env.OnActivity(activities.A.ReminderPolicy, mock.Anything).Return(testReminderPolicy, nil)
	h.env.OnActivity(activities.A.IdentityPlan, mock.Anything).Return(func(context.Context) (activities.IdentityPlan, error) {
		return h.identityPlan, nil
	})
	h.env.OnActivity(activities.A.SendMessage, mock.Anything, mock.Anything).Return(activities.SendResult{Status: "queued"}, nil)
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, SignalReviewAccess, mock.Anything).Return(nil).
		Run(func(args mock.Arguments) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.reviews = append(h.reviews, args.String(1))
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil).Run(func(args mock.Arguments) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attrs = append(h.attrs, args.Get(0).(temporal.SearchAttributes))
	})

	h.env.ExecuteWorkflow(VettingCase, h.in)
	require.True(h.t, h.env.IsWorkflowCompleted(), "the case should have closed")
	require.NoError(h.t, h.env.GetWorkflowError())
	var st CaseState
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st
}

func (h *caseHarness) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ks []string
	for _, e := range h.events {
		ks = append(ks, e.Event.Kind)
	}
	return ks
}

func (h *caseHarness) eventsOf(kind string) []activities.CaseEventInput {
	h.mu.Lock()
	defer h.mu.Unlock()
	return where(h.events, func(e activities.CaseEventInput) bool { return e.Event.Kind == kind })
}

func (h *caseHarness) noticesOf(kind domain.NotificationKind) []notifyCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return where(h.notices, func(n notifyCall) bool { return n.Kind == kind })
}

func (h *caseHarness) query() CaseState {
	h.t.Helper()
	v, err := h.env.QueryWorkflow(QueryCaseState)
	require.NoError(h.t, err)
	var st CaseState
	require.NoError(h.t, v.Get(&st))
	return st
}

// mustComplete asserts an update was accepted and completed without error.
func mustComplete(t *testing.T, s *sentUpdate, what string) {
	t.Helper()
	require.True(t, s.Accepted, "%s: not accepted (err %v)", what, s.Err)
	require.True(t, s.Completed, "%s: not completed", what)
	require.NoError(t, s.Err, what)
}

// mustReject asserts an update was refused by its validator with an application error of type errType.
func mustReject(t *testing.T, s *sentUpdate, errType, what string) {
	t.Helper()
	require.True(t, s.Rejected, "%s: should have been rejected", what)
	require.False(t, s.Completed, "%s: a rejected update must not run", what)
	assertErrType(t, s.Err, errType, what)
}

func assertErrType(t *testing.T, err error, errType, what string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "%s: want an ApplicationError, got %v", what, err)
	assert.Equal(t, errType, appErr.Type(), "%s: %v", what, err)
	var rej *Rejection
	require.True(t, errors.As(rejection(err), &rej), what)
	assert.Equal(t, errType == TypeInvalidTransition, rej.Conflict, "%s: the API answers 409 for a conflict, 400 otherwise", what)
}

func assertNear(t *testing.T, want, got time.Time, what string) {
	t.Helper()
	assert.WithinDuration(t, want, got, time.Second, what)
}

func clearedBy(actor uuid.UUID, level domain.Level, from domain.Date) RecordOutcome {
	return RecordOutcome{Actor: actor, Outcome: domain.OutcomeCleared, Level: level, ValidFrom: from, ValidTo: from.AddYears(5)}
}

func TestVettingCaseLifecycle(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner, controller := uuid.New(), uuid.New()
	validFrom := domain.DateOf(testStart.Add(2 * oneDay))

	opened := h.sendAt(0, UpdateCaseOpened)
	assign := h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: controller, OwnerID: owner})
	outcome := h.sendAt(2*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, validFrom))
	final := h.run()

	mustComplete(t, opened, "opened")
	assert.Equal(t, domain.StatusWithOfficer, opened.State.Case.Status)
	assert.True(t, opened.State.Ready)
	assert.Equal(t, 3, opened.EventsWritten, "opened answers only once the case is with the officer")
	assert.Equal(t, testStart, opened.State.Case.OpenedAt)
	assert.Equal(t, testStart.Add(25*oneDay), opened.State.Case.DueAt, "SC is due in 25 days")

	mustComplete(t, assign, "assign-owner")
	require.NotNil(t, assign.State.Case.OwnerID)
	assert.Equal(t, owner, *assign.State.Case.OwnerID)
	mustComplete(t, outcome, "record-outcome")

	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "outcome"}, h.kinds())
	for i, e := range h.events {
		assert.Equal(t, i+1, e.Event.Seq, "event %d (%s)", i, e.Event.Kind)
		assert.Equal(t, e.Event.Seq, e.Case.Version, "the read model's version follows the timeline")
		assert.Equal(t, h.in.CaseRef, e.Case.CaseRef)
	}
	assert.Equal(t, h.in.OpenedBy, h.events[0].Event.ActorID, "opened by the user who opened it")
	assert.Equal(t, domain.StatusOpened, h.events[0].Case.Status)
	assert.Equal(t, domain.StatusWithOfficer, h.events[2].Case.Status)
	assert.Equal(t, &controller, h.events[3].Event.ActorID)
	assert.Equal(t, &owner, h.events[4].Event.ActorID)

	require.Len(t, h.clearances, 1, "a cleared outcome records one clearance")
	cl := h.clearances[0]
	assert.Equal(t, h.in.PersonID, cl.PersonID)
	assert.Equal(t, domain.LevelSC, cl.Level)
	assert.Equal(t, validFrom, cl.ValidFrom)
	assert.Equal(t, validFrom.AddYears(5), cl.ValidTo)
	require.NotNil(t, cl.SourceCaseRef)
	assert.Equal(t, h.in.CaseRef, *cl.SourceCaseRef)
	assert.Equal(t, "Ministry of Defence", cl.IssuingAuthority)
	assert.False(t, cl.WithAdvisory)

	assert.Equal(t, domain.StatusCleared, final.Case.Status)
	require.NotNil(t, final.Case.Outcome)
	assert.Equal(t, domain.OutcomeCleared, *final.Case.Outcome)
	require.NotNil(t, final.Case.OutcomeLevel)
	assert.Equal(t, domain.LevelSC, *final.Case.OutcomeLevel)
	assert.Equal(t, validFrom, final.Case.ValidFrom)
	require.NotNil(t, final.Case.ClosedAt)
	assert.Equal(t, testStart.Add(2*oneDay), *final.Case.ClosedAt)
	assert.Equal(t, final, outcome.State, "record-outcome returns the state after it")
	assert.Empty(t, h.notices, "nothing was due")

	// Search attributes: the status and owner follow the case, and hold no personal data.
	require.NotEmpty(t, h.attrs)
	var statuses []string
	for _, sa := range h.attrs {
		s, _ := sa.GetKeyword(CaseStatusKey)
		statuses = append(statuses, s)
		for k, v := range sa.GetUntypedValues() {
			assert.Contains(t, []string{"CaseRef", "CaseType", "CaseStatus", "ClearanceLevel", "VettingOwner"}, k.GetName())
			assert.NotContains(t, v, h.in.PersonID.String(), "no personal data in search attributes")
		}
	}
	assert.Equal(t, []string{"opened", "with_officer", "with_officer", "cleared"}, statuses)
	last := h.attrs[len(h.attrs)-1]
	for key, want := range map[temporal.SearchAttributeKeyKeyword]string{
		CaseRefKey: h.in.CaseRef, CaseTypeKey: "new", CaseStatusKey: "cleared", ClearanceLevelKey: "SC",
		VettingOwnerKey: owner.String(),
	} {
		got, ok := last.GetKeyword(key)
		assert.True(t, ok, key.GetName())
		assert.Equal(t, want, got, key.GetName())
	}
	_, hasOwner := h.attrs[0].GetKeyword(VettingOwnerKey)
	assert.False(t, hasOwner, "no owner before one is assigned")
}

func TestVettingCaseOutcomes(t *testing.T) {
	for _, tc := range []struct {
		outcome      domain.Outcome
		assignOwner  bool
		clearance    bool
		withAdvisory bool
	}{
		{domain.OutcomeCleared, true, true, false},
		{domain.OutcomeWithAdvisory, true, true, true},
		{domain.OutcomeRefused, true, false, false},
		{domain.OutcomeWithdrawn, false, false, false}, // a withdrawal needs no owner
	} {
		t.Run(string(tc.outcome), func(t *testing.T) {
			h := newCase(t, domain.LevelCTC, defaultSLA(t, domain.LevelCTC))
			owner := uuid.New()
			actor := owner
			if tc.assignOwner {
				h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
			} else {
				actor = uuid.New()
			}
			o := RecordOutcome{Actor: actor, Outcome: tc.outcome}
			if tc.outcome.GrantsClearance() {
				o = clearedBy(actor, domain.LevelCTC, domain.NewDate(2026, time.March, 5))
				o.Outcome = tc.outcome
			}
			res := h.sendAt(3*oneDay, UpdateRecordOutcome, o)
			final := h.run()

			mustComplete(t, res, "record-outcome")
			assert.Equal(t, domain.CaseStatus(tc.outcome), final.Case.Status)
			require.NotNil(t, final.Case.Outcome)
			assert.Equal(t, tc.outcome, *final.Case.Outcome)
			if tc.clearance {
				require.Len(t, h.clearances, 1)
				assert.Equal(t, tc.withAdvisory, h.clearances[0].WithAdvisory)
				require.NotNil(t, final.Case.OutcomeLevel)
				assert.Equal(t, domain.LevelCTC, *final.Case.OutcomeLevel)
			} else {
				assert.Empty(t, h.clearances, "%s records no clearance", tc.outcome)
				assert.Nil(t, final.Case.OutcomeLevel)
			}
			last := h.attrs[len(h.attrs)-1]
			s, _ := last.GetKeyword(CaseStatusKey)
			assert.Equal(t, string(tc.outcome), s)
			if tc.clearance {
				assert.Equal(t, []string{AccessReviewWorkflowID(h.in.PersonID)}, h.reviews,
					"a new clearance has the person's access reviewed")
			} else {
				assert.Empty(t, h.reviews, "a new case refused or withdrawn changes no clearance")
			}
		})
	}
}

// A refused renewal revokes the clearance it reviewed, and the person's access follows.
func TestVettingCaseRefusedRenewalRevokesTheClearance(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.in.Type = domain.CaseRenewal
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	res := h.sendAt(2*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	var revoked []activities.RevokeReviewedInput
	h.env.OnActivity(activities.A.RevokeReviewedClearance, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RevokeReviewedInput) (int, error) {
			revoked = append(revoked, in)
			return 1, nil
		})
	final := h.run()
	mustComplete(t, res, "record-outcome")
	assert.Equal(t, domain.StatusRefused, final.Case.Status)
	require.Len(t, revoked, 1)
	assert.Equal(t, activities.RevokeReviewedInput{PersonID: h.in.PersonID, Level: domain.LevelSC, CaseRef: h.in.CaseRef}, revoked[0])
	assert.Equal(t, []string{AccessReviewWorkflowID(h.in.PersonID)}, h.reviews)
}

func TestVettingCaseValidators(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner, other := uuid.New(), uuid.New()
	from := domain.NewDate(2026, time.March, 10)

	noOwner := h.sendAt(1*time.Hour, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, from))
	nothingAwaited := h.sendAt(2*time.Hour, UpdateInformationReceived, InformationReceived{Actor: owner, Note: "payslips"})
	pastDue := h.sendAt(3*time.Hour, UpdateRequestInformation,
		RequestInformation{Actor: owner, Description: "Payslips", DueAt: testStart.Add(-time.Hour)})
	emptyNote := h.sendAt(4*time.Hour, UpdateAddNote, AddNote{Actor: owner, Text: "  "})
	h.sendAt(5*time.Hour, UpdateAssignOwner, AssignOwner{Actor: other, OwnerID: owner})
	notOwner := h.sendAt(6*time.Hour, UpdateRecordOutcome, clearedBy(other, domain.LevelSC, from))
	noDates := h.sendAt(7*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared, Level: domain.LevelSC})
	noFrom := h.sendAt(7*time.Hour+time.Minute, UpdateRecordOutcome,
		RecordOutcome{Actor: owner, Outcome: domain.OutcomeWithAdvisory, Level: domain.LevelSC, ValidTo: from.AddYears(5)})
	backwards := h.sendAt(8*time.Hour, UpdateRecordOutcome,
		RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared, Level: domain.LevelSC, ValidFrom: from, ValidTo: from.AddDays(-1)})
	noLevel := h.sendAt(9*time.Hour, UpdateRecordOutcome,
		RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared, ValidFrom: from, ValidTo: from.AddYears(5)})
	badOutcome := h.sendAt(10*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: "approved"})
	var refused, noteAfter *sentUpdate
	h.at(11*time.Hour, func() {
		refused = h.send(UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
		noteAfter = h.send(UpdateAddNote, AddNote{Actor: owner, Text: "one more thing"})
	})
	final := h.run()

	mustReject(t, noOwner, TypeInvalidTransition, "record-outcome before an owner is assigned")
	mustReject(t, nothingAwaited, TypeInvalidTransition, "information-received when none is awaited")
	mustReject(t, pastDue, TypeRejectedInput, "request-information due in the past")
	mustReject(t, emptyNote, TypeRejectedInput, "add-note without text")
	mustReject(t, notOwner, TypeInvalidTransition, "record-outcome by someone other than the owner")
	mustReject(t, noDates, TypeRejectedInput, "cleared without validFrom and validTo")
	mustReject(t, noFrom, TypeRejectedInput, "with_advisory without validFrom")
	assert.Contains(t, noFrom.Err.Error(), "required")
	mustReject(t, backwards, TypeRejectedInput, "validTo before validFrom")
	mustReject(t, noLevel, TypeRejectedInput, "cleared without a level")
	mustReject(t, badOutcome, TypeRejectedInput, "an unknown outcome")

	mustComplete(t, refused, "refused by the owner")
	// The note was sent while the outcome was being written: it is refused once the case has closed.
	require.NotNil(t, noteAfter.Err, "add-note on a closed case must be refused")
	assertErrType(t, noteAfter.Err, TypeInvalidTransition, "add-note on a closed case")

	assert.Equal(t, domain.StatusRefused, final.Case.Status)
	assert.Empty(t, h.clearances, "refused records no clearance")
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "outcome"}, h.kinds(),
		"rejected actions write nothing")
	assert.Equal(t, 5, final.Case.Version)
}

func TestVettingCaseSLAWithoutOwner(t *testing.T) {
	sla := defaultSLA(t, domain.LevelDV)
	require.Equal(t, 95*oneDay, sla.Due)
	h := newCase(t, domain.LevelDV, sla)
	controller := uuid.New()
	var atDay96 CaseState
	h.at(96*oneDay, func() { atDay96 = h.query() })
	withdraw := h.sendAt(96*oneDay+time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: controller, Outcome: domain.OutcomeWithdrawn})
	final := h.run()

	require.Len(t, h.notices, 3, "two reminders and an escalation")
	controllers := []domain.Role{domain.RoleSecurityController}
	for i, want := range []struct {
		kind domain.NotificationKind
		at   time.Duration
	}{{"sla_reminder", 88 * oneDay}, {"sla_reminder", 94 * oneDay}, {"sla_escalation", 95 * oneDay}} {
		n := h.notices[i]
		assert.Equal(t, want.kind, n.Kind, "notifyCall %d", i)
		assertNear(t, testStart.Add(want.at), n.Now, string(want.kind))
		assertNear(t, testStart.Add(want.at), n.At, string(want.kind))
		assert.Equal(t, h.in.CaseRef, n.CaseRef)
		assert.Empty(t, n.UserIDs, "no owner: nobody to name")
		assert.Equal(t, controllers, n.Roles, "%s goes to the security controllers", want.kind)
	}
	assert.NotEqual(t, h.notices[0].Key, h.notices[1].Key, "each notifyCall has its own idempotency key")

	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "sla_reminder", "sla_reminder", "escalated"},
		h.kinds()[:6])
	esc := h.eventsOf("escalated")
	require.Len(t, esc, 1)
	require.NotNil(t, esc[0].Case.EscalatedAt)
	assertNear(t, testStart.Add(95*oneDay), *esc[0].Case.EscalatedAt, "escalatedAt")
	require.NotNil(t, atDay96.Case.EscalatedAt, "the query shows the escalation")
	assert.Equal(t, 2, atDay96.RemindersSent)
	assert.Equal(t, domain.StatusWithOfficer, atDay96.Case.Status)

	// Escalated, the case can still be decided.
	mustComplete(t, withdraw, "withdrawn after escalation")
	assert.Equal(t, domain.StatusWithdrawn, final.Case.Status)
	assert.Equal(t, "outcome", h.kinds()[len(h.kinds())-1])
	assert.Len(t, h.notices, 3, "nothing more after the escalation")
}

func TestVettingCaseSLAWithOwner(t *testing.T) {
	h := newCase(t, domain.LevelDV, defaultSLA(t, domain.LevelDV))
	owner := uuid.New()
	h.sendAt(oneDay, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	decided := h.sendAt(100*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelDV, domain.DateOf(testStart.Add(100*oneDay))))
	final := h.run()

	require.Len(t, h.notices, 3)
	for _, n := range h.noticesOf("sla_reminder") {
		assert.Equal(t, []uuid.UUID{owner}, n.UserIDs, "reminders go to the owner")
		assert.Empty(t, n.Roles, "not to the controllers")
	}
	esc := h.noticesOf("sla_escalation")
	require.Len(t, esc, 1)
	assertNear(t, testStart.Add(95*oneDay), esc[0].Now, "escalation")
	assert.Equal(t, []domain.Role{domain.RoleSecurityController}, esc[0].Roles, "escalated to the security controllers")
	assert.Equal(t, []uuid.UUID{owner}, esc[0].UserIDs, "and the owner hears of it")

	mustComplete(t, decided, "cleared after escalation")
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
	require.NotNil(t, final.Case.EscalatedAt)
	require.Len(t, h.clearances, 1)
	assert.Equal(t, domain.LevelDV, h.clearances[0].Level)
}

func TestVettingCaseRemindersBeforeOpeningAreDropped(t *testing.T) {
	// Due in 5 days: a reminder 7 days (or 5 days) before would fall at or before opening.
	h := newCase(t, domain.LevelBPSS, domain.SLA{Due: 5 * oneDay, Reminders: []time.Duration{7 * oneDay, 5 * oneDay, oneDay}})
	opened := h.sendAt(0, UpdateCaseOpened)
	h.sendAt(6*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
	h.run()

	mustComplete(t, opened, "opened")
	assert.Equal(t, []time.Duration{oneDay}, opened.State.SLA.Reminders)
	require.Len(t, h.notices, 2)
	assert.Equal(t, domain.NotificationKind("sla_reminder"), h.notices[0].Kind)
	assertNear(t, testStart.Add(4*oneDay), h.notices[0].Now, "the one-oneDay reminder")
	assert.Equal(t, domain.NotificationKind("sla_escalation"), h.notices[1].Kind)
	assertNear(t, testStart.Add(5*oneDay), h.notices[1].Now, "escalation")
	assert.Len(t, h.eventsOf("sla_reminder"), 1)
}

func TestVettingCaseInformationRequest(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	var past, request *sentUpdate
	h.at(oneDay, func() {
		past = h.send(UpdateRequestInformation, RequestInformation{Actor: owner, Description: "Bank statements", DueAt: h.env.Now().Add(-time.Minute)})
		request = h.send(UpdateRequestInformation, RequestInformation{Actor: owner, Description: "Bank statements", DueAt: h.env.Now().Add(10 * oneDay)})
	})
	again := h.sendAt(2*oneDay, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "More", DueAt: testStart.Add(20 * oneDay)})
	early := h.sendAt(3*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	var overdue CaseState
	h.at(12*oneDay, func() { overdue = h.query() })
	received := h.sendAt(13*oneDay, UpdateInformationReceived, InformationReceived{Actor: owner, Note: "statements arrived"})
	refuse := h.sendAt(14*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	final := h.run()

	mustReject(t, past, TypeRejectedInput, "information due in the past")
	mustComplete(t, request, "request-information")
	assert.Equal(t, domain.StatusAwaitingInformation, request.State.Case.Status)
	require.NotNil(t, request.State.Case.InfoDueAt)
	assert.Equal(t, testStart.Add(11*oneDay), *request.State.Case.InfoDueAt)
	assert.Equal(t, "Bank statements", request.State.Case.InfoRequested)
	mustReject(t, again, TypeInvalidTransition, "a second request while one is awaited")
	mustReject(t, early, TypeInvalidTransition, "an outcome while information is awaited")

	over := h.noticesOf("information_overdue")
	require.Len(t, over, 1, "one overdue notifyCall")
	assertNear(t, testStart.Add(11*oneDay), over[0].Now, "at the deadline")
	assert.Equal(t, []uuid.UUID{owner}, over[0].UserIDs)
	assert.Len(t, h.notices, 1, "no other notifyCall")
	assert.True(t, overdue.InfoOverdueNotified)
	assert.Equal(t, domain.StatusAwaitingInformation, overdue.Case.Status, "still awaited after the deadline")

	mustComplete(t, received, "information-received")
	assert.Equal(t, domain.StatusWithOfficer, received.State.Case.Status)
	assert.Nil(t, received.State.Case.InfoDueAt)
	assert.Empty(t, received.State.Case.InfoRequested)
	mustComplete(t, refuse, "refused")
	assert.Equal(t, domain.StatusRefused, final.Case.Status)
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "information_requested",
		"information_overdue", "information_received", "outcome"}, h.kinds())
}

func TestVettingCaseStateQuery(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner := uuid.New()
	var opened, assigned, awaiting CaseState
	h.at(time.Minute, func() { opened = h.query() })
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.at(2*time.Hour, func() { assigned = h.query() })
	h.sendAt(3*time.Hour, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "Passport", DueAt: testStart.Add(5 * oneDay)})
	h.at(4*time.Hour, func() { awaiting = h.query() })
	h.sendAt(5*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeWithdrawn})
	final := h.run()

	assert.True(t, opened.Ready)
	assert.Equal(t, domain.StatusWithOfficer, opened.Case.Status)
	assert.Equal(t, h.in.CaseRef, opened.Case.CaseRef)
	assert.Equal(t, h.in.PersonID, opened.Case.PersonID)
	assert.Nil(t, opened.Case.OwnerID)
	assert.Equal(t, 3, opened.Case.Version)

	require.NotNil(t, assigned.Case.OwnerID)
	assert.Equal(t, owner, *assigned.Case.OwnerID)
	assert.Equal(t, 4, assigned.Case.Version)

	assert.Equal(t, domain.StatusAwaitingInformation, awaiting.Case.Status)
	assert.Equal(t, "Passport", awaiting.Case.InfoRequested)

	assert.Equal(t, final, h.query(), "a closed case answers with its final state")
	assert.Equal(t, domain.StatusWithdrawn, final.Case.Status)
}

func TestVettingCaseAssignOwnerIsIdempotent(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner, next := uuid.New(), uuid.New()
	first := h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	repeat := h.sendAt(2*time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	reassign := h.sendAt(3*time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: next})
	h.sendAt(4*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: next, Outcome: domain.OutcomeRefused})
	h.run()

	mustComplete(t, first, "assign")
	mustComplete(t, repeat, "assign again")
	assert.Equal(t, first.State, repeat.State, "a repeated assignment changes nothing")
	mustComplete(t, reassign, "reassign")
	assigned := h.eventsOf("owner_assigned")
	require.Len(t, assigned, 2, "one event per change of owner")
	assert.Equal(t, owner.String(), assigned[0].Event.Detail["ownerId"])
	assert.Equal(t, next.String(), assigned[1].Event.Detail["ownerId"])
	var owners []string
	for _, sa := range h.attrs {
		if o, ok := sa.GetKeyword(VettingOwnerKey); ok {
			owners = append(owners, o)
		}
	}
	assert.Equal(t, []string{owner.String(), next.String(), next.String()}, owners)
}

// An officer's action that is still being written when a timer falls due must not leave the timer acting
// on the state it found before: information received just before its deadline is not overdue.
func TestVettingCaseInformationReceivedAsDeadlinePasses(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.slowEvents["information_received"] = time.Hour
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(oneDay, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "P60", DueAt: testStart.Add(11 * oneDay)})
	received := h.sendAt(11*oneDay-30*time.Minute, UpdateInformationReceived, InformationReceived{Actor: owner})
	h.sendAt(12*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	final := h.run()

	mustComplete(t, received, "information-received")
	assert.Empty(t, h.noticesOf("information_overdue"), "the information arrived before its deadline")
	assert.Empty(t, h.eventsOf("information_overdue"))
	assert.Equal(t, domain.StatusRefused, final.Case.Status)
}

// The database, which the API and the console read, shows an event as soon as it is written, before the
// workflow hears back: an officer who acts on what they see then is not refused. Information received is
// still being written when the next request for information comes.
func TestVettingCaseActionOnStateBeingWritten(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.slowEvents["information_received"] = time.Hour
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(oneDay, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "P60", DueAt: testStart.Add(11 * oneDay)})
	received := h.sendAt(2*oneDay, UpdateInformationReceived, InformationReceived{Actor: owner})
	again := h.sendAt(2*oneDay+30*time.Minute, UpdateRequestInformation,
		RequestInformation{Actor: owner, Description: "P45", DueAt: testStart.Add(12 * oneDay)})
	h.sendAt(3*oneDay, UpdateInformationReceived, InformationReceived{Actor: owner})
	h.sendAt(4*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	final := h.run()

	mustComplete(t, received, "information-received")
	mustComplete(t, again, "request-information while the information received is being written")
	assert.Equal(t, domain.StatusAwaitingInformation, again.State.Case.Status)
	assert.Len(t, h.eventsOf("information_requested"), 2)
	assert.Equal(t, domain.StatusRefused, final.Case.Status)
}

// An outcome still being written when the SLA falls due closes the case: a closed case is not escalated.
func TestVettingCaseOutcomeRecordedAsSLAExpires(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.slowClearance = time.Hour
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	decided := h.sendAt(25*oneDay-30*time.Minute, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart.Add(25*oneDay))))
	final := h.run()

	mustComplete(t, decided, "record-outcome")
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
	assert.Len(t, h.noticesOf("sla_reminder"), 2)
	assert.Empty(t, h.noticesOf("sla_escalation"), "a case decided before its due time is not escalated")
	assert.Nil(t, final.Case.EscalatedAt)
	kinds := h.kinds()
	assert.Equal(t, "outcome", kinds[len(kinds)-1], "nothing is written after the outcome")
}

// A case continued as new carries its state over: it does not open again, its timeline numbering goes
// on, its sent reminders are not sent again, and it can be decided.
func TestVettingCaseResumesAfterContinueAsNew(t *testing.T) {
	sla := defaultSLA(t, domain.LevelDV)
	h := newCase(t, domain.LevelDV, sla)
	owner := uuid.New()
	opened := testStart.Add(-90 * oneDay)
	h.in.Resume = &CaseState{Ready: true, RemindersSent: 1, SLA: sla, Case: domain.Case{
		CaseRef: h.in.CaseRef, PersonID: h.in.PersonID, Type: h.in.Type, RequestedLevel: h.in.Level,
		Status: domain.StatusWithOfficer, OwnerID: &owner, IssuingAuthority: h.in.IssuingAuthority,
		OpenedAt: opened, DueAt: opened.Add(sla.Due), Version: 7, UpdatedAt: opened,
	}}
	decided := h.sendAt(6*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelDV, domain.DateOf(testStart)))
	st := h.run()
	mustComplete(t, decided, "outcome after resume")
	assert.Equal(t, []string{"sla_reminder", "escalated", "outcome"}, h.kinds(), "only what happens after the resume")
	assert.Equal(t, 8, h.events[0].Event.Seq, "timeline numbering continues")
	assert.Len(t, h.noticesOf("sla_reminder"), 1, "the reminder sent before the resume is not sent again")
	assertNear(t, opened.Add(sla.Due-oneDay), h.noticesOf("sla_reminder")[0].Now, "the 1-day reminder")
	assert.Equal(t, domain.StatusCleared, st.Case.Status)
}

// Moments that passed while the case could not act (a worker down for days, a resume) are acted on at
// once, each once, in order.
func TestVettingCaseCatchesUpOnPastMoments(t *testing.T) {
	sla := defaultSLA(t, domain.LevelSC) // 25 days, reminders 7d and 1d before
	h := newCase(t, domain.LevelSC, sla)
	opened := testStart.Add(-30 * oneDay)
	h.in.Resume = &CaseState{Ready: true, SLA: sla, Case: domain.Case{
		CaseRef: h.in.CaseRef, PersonID: h.in.PersonID, Type: h.in.Type, RequestedLevel: h.in.Level,
		Status: domain.StatusWithOfficer, IssuingAuthority: h.in.IssuingAuthority,
		OpenedAt: opened, DueAt: opened.Add(sla.Due), Version: 3, UpdatedAt: opened,
	}}
	withdrawn := h.sendAt(oneDay, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
	h.run()
	mustComplete(t, withdrawn, "withdraw")
	assert.Equal(t, []string{"sla_reminder", "sla_reminder", "escalated", "outcome"}, h.kinds())
	for _, n := range append(h.noticesOf("sla_reminder"), h.noticesOf("sla_escalation")...) {
		assertNear(t, testStart, n.Now, string(n.Kind)+" sent at once on resume")
	}
}

// testReminderPolicy is the reminder policy the schema starts with.
var testReminderPolicy = domain.ReminderPolicy{NudgeDays: []int{180, 90, 30, 7}, RenewalLeadDays: 150, InfoReminderDays: []int{3, 1}}

// subjectOutbox records the messages a case sends its subject, with the workflow clock; err, when set,
// answers every one.
type subjectOutbox struct {
	mu   sync.Mutex
	sent []messageCall
	err  error
}

// captureMessages answers the case's SendMessage calls (before run's default does).
func (h *caseHarness) captureMessages(err error) *subjectOutbox {
	o := &subjectOutbox{err: err}
	h.env.OnActivity(activities.A.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if len(o.sent) >= runaway {
				return activities.SendResult{}, temporal.NewNonRetryableApplicationError("runaway", "Runaway", nil)
			}
			o.sent = append(o.sent, messageCall{SendInput: in, Now: h.env.Now().UTC()})
			if o.err != nil {
				return activities.SendResult{}, o.err
			}
			return activities.SendResult{ID: in.Key, Channel: "sms", Status: "queued"}, nil
		})
	return o
}

func (o *subjectOutbox) keys() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ks []string
	for _, m := range o.sent {
		ks = append(ks, m.Key)
	}
	return ks
}

// Information requested from the subject: they are told what and by when at once, and reminded 3 days and
// 1 day before it is due while it is awaited; the owner still hears it is overdue.
func TestVettingCaseSubjectToldAndRemindedOfInformation(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	out := h.captureMessages(nil)
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	due := testStart.Add(11 * oneDay)
	request := h.sendAt(oneDay, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "Bank statements", DueAt: due})
	var awaiting CaseState
	h.at(2*oneDay, func() { awaiting = h.query() })
	received := h.sendAt(12*oneDay, UpdateInformationReceived, InformationReceived{Actor: owner})
	h.sendAt(14*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	h.run()

	mustComplete(t, request, "request-information")
	mustComplete(t, received, "information-received")
	version := h.eventsOf("information_requested")[0].Event.Seq
	ref := h.in.CaseRef
	require.Equal(t, []string{
		fmt.Sprintf("%s/%d/information", ref, version),
		fmt.Sprintf("%s/%d/reminder/3", ref, version),
		fmt.Sprintf("%s/%d/reminder/1", ref, version),
	}, out.keys())
	for i, want := range []struct {
		template string
		at       time.Time
	}{{"information_requested", testStart.Add(oneDay)}, {"information_reminder", due.Add(-3 * oneDay)},
		{"information_reminder", due.Add(-oneDay)}} {
		m := out.sent[i]
		assert.Equal(t, want.template, m.Template, "message %d", i)
		assert.Equal(t, want.at, m.Now, "message %d", i)
		require.NotNil(t, m.PersonID)
		assert.Equal(t, h.in.PersonID, *m.PersonID, "to the subject")
		assert.Empty(t, m.Channel, "on their preferred channel")
		assert.Equal(t, ref, m.CaseRef)
		assert.Equal(t, map[string]string{"Description": "Bank statements", "DueAt": "2026-03-13"}, m.Vars)
	}
	assert.Equal(t, version, awaiting.InfoRequestVersion)
	assert.Equal(t, []SubjectReminder{{Days: 3, At: due.Add(-3 * oneDay)}, {Days: 1, At: due.Add(-oneDay)}},
		awaiting.InfoReminders, "the reminders are in the state, so they survive a continue-as-new")
	over := h.noticesOf("information_overdue")
	require.Len(t, over, 1, "the owner still hears it is overdue")
	assertNear(t, due, over[0].Now, "at the deadline")
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "information_requested",
		"information_overdue", "information_received", "outcome"}, h.kinds(), "messages write nothing on the timeline")
}

// Information that arrives is not asked for again: no reminder after it; a new request has its own
// messages; a case closed while information is awaited reminds nobody.
func TestVettingCaseNoReminderAfterInformationReceived(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	out := h.captureMessages(nil)
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(oneDay, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "P60", DueAt: testStart.Add(11 * oneDay)})
	h.sendAt(9*oneDay, UpdateInformationReceived, InformationReceived{Actor: owner})
	again := h.sendAt(9*oneDay+time.Hour, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "P45",
		DueAt: testStart.Add(20 * oneDay)})
	var afterReceipt CaseState
	h.at(9*oneDay+time.Minute, func() { afterReceipt = h.query() })
	h.sendAt(18*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeWithdrawn})
	final := h.run()

	mustComplete(t, again, "a second request")
	requests := h.eventsOf("information_requested")
	require.Len(t, requests, 2)
	first, second := requests[0].Event.Seq, requests[1].Event.Seq
	ref := h.in.CaseRef
	assert.Equal(t, []string{
		fmt.Sprintf("%s/%d/information", ref, first),
		fmt.Sprintf("%s/%d/reminder/3", ref, first), // day 8; the information came on day 9
		fmt.Sprintf("%s/%d/information", ref, second),
		fmt.Sprintf("%s/%d/reminder/3", ref, second), // day 17; withdrawn on day 18
	}, out.keys())
	assert.Equal(t, "P45", out.sent[3].Vars["Description"])
	assert.Empty(t, afterReceipt.InfoReminders, "received: no reminder pending")
	assert.Empty(t, final.InfoReminders, "closed: no reminder pending")
	assert.Empty(t, h.noticesOf("information_overdue"))
}

// Messages to the subject that cannot be sent do not hold up or fail the case.
func TestVettingCaseFailingSubjectMessages(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	out := h.captureMessages(temporal.NewNonRetryableApplicationError("template information_requested on sms: not found",
		activities.TypeInvalidInput, nil))
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	request := h.sendAt(oneDay, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "Passport", DueAt: testStart.Add(5 * oneDay)})
	received := h.sendAt(5*oneDay, UpdateInformationReceived, InformationReceived{Actor: owner})
	decided := h.sendAt(6*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	final := h.run()

	mustComplete(t, request, "request-information")
	mustComplete(t, received, "information-received")
	mustComplete(t, decided, "record-outcome")
	assert.Len(t, out.sent, 3, "the request and two reminders, each tried once")
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
}

// A case that grants a clearance starts the clearance's workflow, with the case's SLA and issuing
// authority for its renewal case, and leaves it running.
func TestVettingCaseStartsTheClearanceWorkflow(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	var mu sync.Mutex
	var followed []caseStart
	var inputs []ClearanceInput
	h.env.OnWorkflow(ClearanceLifecycle, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in ClearanceInput) (ClearanceState, error) {
			mu.Lock()
			defer mu.Unlock()
			followed = append(followed, caseStart{WorkflowID: workflow.GetInfo(ctx).WorkflowExecution.ID, Now: workflow.Now(ctx).UTC()})
			inputs = append(inputs, in)
			return ClearanceState{}, nil
		})
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart)))
	h.run()

	outcome := h.eventsOf("outcome")
	require.Len(t, outcome, 1)
	id, err := uuid.Parse(outcome[0].Event.Detail["clearanceId"].(string))
	require.NoError(t, err)
	require.Len(t, followed, 1, "one clearance workflow")
	assert.Equal(t, ClearanceWorkflowID(id), followed[0].WorkflowID)
	assert.Equal(t, testStart.Add(2*oneDay), followed[0].Now)
	assert.Equal(t, ClearanceInput{ClearanceID: id, SLA: h.in.SLA, IssuingAuthority: "Ministry of Defence",
		Validity: domain.DefaultValidityPolicy()}, inputs[0], "the renewal case it opens keeps the case's decision bounds")
}

// A refused case grants no clearance and starts no clearance workflow.
func TestVettingCaseRefusedStartsNoClearanceWorkflow(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	started := false
	h.env.OnWorkflow(ClearanceLifecycle, mock.Anything, mock.Anything).Return(
		func(workflow.Context, ClearanceInput) (ClearanceState, error) {
			started = true
			return ClearanceState{}, nil
		})
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	h.run()
	assert.False(t, started)
}

// The case's validators check the decision bounds themselves (whatever route an update comes by): a level
// above the case's, a validity longer than the level's (the policy the case was started with, or the
// default), a validFrom over a year from the workflow's today. Nothing is written for a refused outcome.
func TestVettingCaseDecisionBounds(t *testing.T) {
	policy, err := domain.ParseValidityPolicy("SC=2y")
	require.NoError(t, err)
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.in.Validity = policy
	owner := uuid.New()
	today := domain.DateOf(testStart)
	cleared := func(level domain.Level, from, to domain.Date) RecordOutcome {
		return RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared, Level: level, ValidFrom: from, ValidTo: to}
	}
	h.sendAt(1*time.Hour, UpdateAssignOwner, AssignOwner{Actor: owner, OwnerID: owner})
	higher := h.sendAt(2*time.Hour, UpdateRecordOutcome, cleared(domain.LevelEDV, today, today.AddYears(1)))
	tooLong := h.sendAt(3*time.Hour, UpdateRecordOutcome, cleared(domain.LevelSC, today, today.AddYears(3)))
	longPast := h.sendAt(4*time.Hour, UpdateRecordOutcome, cleared(domain.LevelSC, today.AddYears(-2), today))
	farAhead := h.sendAt(5*time.Hour, UpdateRecordOutcome, cleared(domain.LevelSC, today.AddYears(2), today.AddYears(3)))
	outside := h.sendAt(6*time.Hour, UpdateRecordOutcome, cleared(domain.LevelSC, domain.NewDate(1900, 1, 1), domain.NewDate(9999, 12, 31)))
	lower := h.sendAt(7*time.Hour, UpdateRecordOutcome, cleared(domain.LevelCTC, today, today.AddYears(2)))
	h.run()

	for name, u := range map[string]*sentUpdate{"level above the case's": higher, "longer than SC=2y": tooLong,
		"validFrom two years ago": longPast, "validFrom two years ahead": farAhead, "1900 to 9999": outside} {
		mustReject(t, u, TypeRejectedInput, name)
	}
	assert.Contains(t, higher.Err.Error(), "level:")
	assert.Contains(t, tooLong.Err.Error(), "validTo:")
	assert.Contains(t, longPast.Err.Error(), "validFrom:")
	mustComplete(t, lower, "a lower level within bounds")
	require.Len(t, h.clearances, 1)
	assert.Equal(t, domain.LevelCTC, h.clearances[0].Level)
}

// A case started without a policy (by an API before the bounds, or by another workflow) gets the default
// one: DV for at most 7 years.
func TestVettingCaseDefaultDecisionBounds(t *testing.T) {
	h := newCase(t, domain.LevelDV, defaultSLA(t, domain.LevelDV))
	owner := uuid.New()
	today := domain.DateOf(testStart)
	h.sendAt(1*time.Hour, UpdateAssignOwner, AssignOwner{Actor: owner, OwnerID: owner})
	tooLong := h.sendAt(2*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared,
		Level: domain.LevelDV, ValidFrom: today, ValidTo: today.AddYears(7).AddDays(1)})
	ok := h.sendAt(3*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared,
		Level: domain.LevelDV, ValidFrom: today, ValidTo: today.AddYears(7)})
	h.run()
	mustReject(t, tooLong, TypeRejectedInput, "DV for 7 years and a day")
	mustComplete(t, ok, "DV for 7 years")
}

// A note is bounded in characters, as the API's request boundary counts it: 4,000 characters of accented
// text (8,000 bytes) are a note; one more is not.
func TestVettingCaseNoteLengthInCharacters(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner := uuid.New()
	h.sendAt(oneDay, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	longest := h.sendAt(2*oneDay, UpdateAddNote, AddNote{Actor: owner, Text: strings.Repeat("é", domain.MaxFree)})
	longer := h.sendAt(2*oneDay+time.Minute, UpdateAddNote, AddNote{Actor: owner, Text: strings.Repeat("é", domain.MaxFree+1)})
	h.sendAt(3*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart.Add(3*oneDay))))
	h.run()
	mustComplete(t, longest, "a note of 4,000 characters")
	mustReject(t, longer, TypeRejectedInput, "a note of 4,001 characters")
}
