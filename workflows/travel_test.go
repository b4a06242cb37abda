package workflows

import (
	"context"
	"errors"
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

// travelHarness runs one trip's workflow with its activities faked: the trip in the database (each step
// applied to it as the store does, once per key), its policy version, and every message, notification
// and aftercare case with the workflow clock.
type travelHarness struct {
	t   *testing.T
	env *testsuite.TestWorkflowEnvironment
	in  TravelInput

	mu       sync.Mutex
	trip     domain.Trip
	policy   domain.TravelPolicy
	owner    *uuid.UUID
	openCase string
	keys     map[string]bool

	steps    []stepCall
	messages []messageCall
	notices  []notifyCall
	cases    []caseStart
}

type stepCall struct {
	domain.TripStepInput
	Now time.Time
}

var testTravelPolicy = domain.TravelPolicy{Version: 3, MaxTripDays: 90, ReminderDays: []int{14, 3}, EscalationDays: 7}

// newTrip is a trip reported at testStart, departing in departIn days for days days, by a person cleared
// at level (nil: no clearance) with the requirements given.
func newTrip(t *testing.T, departIn, days int, level *domain.Level, req domain.TripRequirements) *travelHarness {
	t.Helper()
	env := newTestEnv()
	id := uuid.New()
	departs := domain.DateOf(testStart).AddDays(departIn)
	trip := domain.Trip{ID: id, PersonID: uuid.New(), Countries: []string{"CN"}, DepartsOn: departs,
		ReturnsOn: departs.AddDays(days - 1), Purpose: "conference", Companions: domain.TravellingAlone,
		Devices: []string{"laptop"}, PolicyVersion: testTravelPolicy.Version, Level: level, Requires: req}
	if level != nil {
		cl := uuid.New()
		trip.ClearanceID = &cl
	}
	trip.TooLong = level != nil && trip.Days() > testTravelPolicy.MaxTripDays
	trip.Status = trip.PreDepartureStatus()
	owner := uuid.New()
	return &travelHarness{t: t, env: env, trip: trip, policy: testTravelPolicy, owner: &owner, keys: map[string]bool{},
		in: TravelInput{TripID: id, AftercareSLA: map[domain.Level]domain.SLA{domain.LevelSC: testSLA}}}
}

var levelSC = func() *domain.Level { l := domain.LevelSC; return &l }()

var fullRequirements = domain.TripRequirements{Briefing: true, Approval: true, DebriefDays: 14}

// departure is the start of the trip's departure day; back the start of the day after its return.
func (h *travelHarness) departure() time.Time { return h.trip.DepartsOn.Time() }
func (h *travelHarness) back() time.Time      { return h.trip.ReturnsOn.AddDays(1).Time() }

// act sends an update at the workflow clock's t.
func (h *travelHarness) act(at time.Time, update string, a TripAction) *sentUpdate {
	s := &sentUpdate{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(update, "", &testsuite.TestUpdateCallback{
			OnAccept: func() { s.Accepted = true },
			OnReject: func(err error) { s.Rejected, s.Err = true, err },
			OnComplete: func(res any, err error) {
				s.Completed, s.Err = true, err
				if st, ok := res.(TripState); ok {
					s.Result = st
				}
			},
		}, a)
	}, at.Sub(testStart))
	return s
}

// run runs the workflow until it ends, or until limit of workflow time when it waits on.
func (h *travelHarness) run(limit time.Duration) TripState {
	h.t.Helper()
	env := h.env
	env.OnActivity(activities.A.LoadTrip, mock.Anything, mock.Anything).Return(
		func(_ context.Context, id uuid.UUID) (activities.TripInfo, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			require.Equal(h.t, h.trip.ID, id)
			return activities.TripInfo{Trip: h.trip, Policy: h.policy, OwnerID: h.owner, IssuingAuthority: "Ministry of Defence"}, nil
		})
	env.OnActivity(activities.A.RecordTripStep, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in domain.TripStepInput) (domain.Trip, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.steps) >= runaway {
				return domain.Trip{}, temporal.NewNonRetryableApplicationError("runaway", "Runaway", nil)
			}
			if h.keys[in.Key] {
				return h.trip, nil
			}
			if err := h.trip.Apply(in, env.Now().UTC()); err != nil {
				return h.trip, temporal.NewNonRetryableApplicationError(err.Error(), activities.TypeTripWrongState, err)
			}
			h.keys[in.Key] = true
			h.steps = append(h.steps, stepCall{TripStepInput: in, Now: env.Now().UTC()})
			return h.trip, nil
		})
	env.OnActivity(activities.A.SendMessage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SendInput) (activities.SendResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.messages = append(h.messages, messageCall{SendInput: in, Now: env.Now().UTC()})
			return activities.SendResult{ID: in.Key, Channel: "sms", Status: "queued"}, nil
		})
	recordNotices(env, &h.mu, &h.notices)
	env.OnActivity(activities.A.OpenCaseRef, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.OpenCaseInput) (string, error) {
			assert.Equal(h.t, activities.OpenCaseInput{PersonID: h.trip.PersonID, Type: domain.CaseAftercare,
				Level: *h.trip.Level}, in)
			return h.openCase, nil
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
	if limit > 0 {
		env.SetWorkflowRunTimeout(limit)
	}
	env.ExecuteWorkflow(TravelTrip, h.in)
	require.True(h.t, env.IsWorkflowCompleted())
	var st TripState
	if limit > 0 {
		var timeout *temporal.TimeoutError
		require.True(h.t, errors.As(env.GetWorkflowError(), &timeout), "the workflow should still wait: %v", env.GetWorkflowError())
		return st
	}
	require.NoError(h.t, env.GetWorkflowError())
	require.NoError(h.t, env.GetWorkflowResult(&st))
	return st
}

func (h *travelHarness) noticesOf(kind domain.NotificationKind) []notifyCall {
	return where(h.notices, func(n notifyCall) bool { return n.Kind == kind })
}

func (h *travelHarness) messagesOf(template string) []messageCall {
	return where(h.messages, func(m messageCall) bool { return m.Template == template })
}

func (h *travelHarness) stepsTaken() []domain.TripStep {
	var out []domain.TripStep
	for _, s := range h.steps {
		out = append(out, s.Step)
	}
	return out
}

func times[T interface{ when() time.Time }](calls []T) []time.Time {
	var out []time.Time
	for _, c := range calls {
		out = append(out, c.when())
	}
	return out
}

func (n notifyCall) when() time.Time  { return n.Now }
func (m messageCall) when() time.Time { return m.Now }

// A trip booked 60 days ahead to a country of concern, the briefing and approval never given: the
// traveller is asked at once and reminded 14 and 3 days before, the security controllers asked at once,
// reminded then too, and (with the clearance's owner) escalated 7 days before and told of a departure
// without them; after return the debrief is asked for, reported overdue 14 days later, and when it comes
// reporting an approach, an aftercare case opens at the traveller's level.
func TestTravelTripBookedSixtyDaysAheadRemindsEscalatesAndChasesTheDebrief(t *testing.T) {
	h := newTrip(t, 60, 10, levelSC, fullRequirements)
	debriefAt := h.back().Add(20 * oneDay)
	early := h.act(h.back().Add(-oneDay), UpdateTripDebrief, TripAction{Debrief: &domain.TripDebrief{Approach: true}})
	debrief := h.act(debriefAt, UpdateTripDebrief, TripAction{Debrief: &domain.TripDebrief{Approach: true, Details: "a stranger asked about work"}})
	st := h.run(0)

	dep := h.departure()
	assert.Equal(t, []time.Time{testStart}, times(h.messagesOf("travel_briefing")))
	assert.Equal(t, &activities.TripLinkRequest{TripID: h.trip.ID, Purpose: domain.TripLinkBriefing, Expires: dep},
		h.messagesOf("travel_briefing")[0].TripLink, "the briefing request carries the traveller's link, valid until departure")
	assert.Nil(t, h.messagesOf("travel_reminder")[0].TripLink)
	assert.Equal(t, []time.Time{dep.Add(-14 * oneDay), dep.Add(-3 * oneDay)}, times(h.messagesOf("travel_reminder")))
	assert.Equal(t, "the briefing and the approval", h.messagesOf("travel_reminder")[0].Vars["Needed"])
	assert.Equal(t, []time.Time{testStart, dep.Add(-14 * oneDay), dep.Add(-3 * oneDay)}, times(h.noticesOf(domain.NotifyTravelApproval)))
	escalations := h.noticesOf(domain.NotifyTravelEscalated)
	require.Equal(t, []time.Time{dep.Add(-7 * oneDay), dep}, times(escalations))
	assert.Equal(t, []uuid.UUID{*h.owner}, escalations[0].UserIDs)
	assert.Equal(t, []domain.Role{domain.RoleSecurityController}, escalations[0].Roles)
	assert.Contains(t, escalations[1].Message, "departed on "+h.trip.DepartsOn.String()+" without the briefing and the approval")
	assert.NotContains(t, escalations[0].Message, "CN", "notifications never name the destinations")

	assert.True(t, early.Rejected, "no debrief is taken before return")
	assert.Equal(t, []time.Time{h.back()}, times(h.messagesOf("travel_debrief")))
	assert.Equal(t, h.back().Add(13*oneDay).Format("2006-01-02"), h.messagesOf("travel_debrief")[0].Vars["DueOn"])
	assert.Equal(t, &activities.TripLinkRequest{TripID: h.trip.ID, Purpose: domain.TripLinkDebrief, Expires: h.back().Add(44 * oneDay)},
		h.messagesOf("travel_debrief")[0].TripLink, "the debrief request carries a link, valid 30 days past the due day")
	assert.Equal(t, []time.Time{h.back().Add(14 * oneDay)}, times(h.noticesOf(domain.NotifyTravelDebriefOverdue)))

	require.True(t, debrief.Completed)
	require.NoError(t, debrief.Err)
	assert.Equal(t, []domain.TripStep{domain.TripStepDeparted, domain.TripStepReturned, domain.TripStepDebriefed,
		domain.TripStepAftercare}, h.stepsTaken())
	require.Len(t, h.cases, 1)
	ref := TravelAftercareCaseRef(h.trip.ID)
	assert.Equal(t, VettingCaseWorkflowID(ref), h.cases[0].WorkflowID)
	assert.Equal(t, domain.CaseAftercare, h.cases[0].Type)
	assert.Equal(t, domain.LevelSC, h.cases[0].Level)
	assert.Equal(t, testSLA, h.cases[0].SLA)
	assert.Equal(t, debriefAt, h.cases[0].Now)
	assert.Equal(t, domain.TripClosed, st.Trip.Status)
	require.NotNil(t, st.Trip.AftercareCaseRef)
	assert.Equal(t, ref, *st.Trip.AftercareCaseRef)
	assert.Len(t, h.noticesOf(domain.NotifyTravelAftercare), 1)
}

// Briefed and approved in time: no reminder, no escalation; a debrief with nothing to report closes the
// trip without an aftercare case.
func TestTravelTripBriefedAndApprovedIsNeitherRemindedNorEscalated(t *testing.T) {
	h := newTrip(t, 60, 10, levelSC, fullRequirements)
	controller := uuid.New()
	briefed := h.act(testStart.Add(oneDay), UpdateTripBriefed, TripAction{})
	approved := h.act(testStart.Add(2*oneDay), UpdateTripDecide, TripAction{Actor: &controller, Decision: domain.TripApproved})
	again := h.act(testStart.Add(3*oneDay), UpdateTripDecide, TripAction{Actor: &controller, Decision: domain.TripApproved})
	h.act(h.back().Add(2*oneDay), UpdateTripDebrief, TripAction{Debrief: &domain.TripDebrief{OfficialContact: true}})
	st := h.run(0)

	require.True(t, briefed.Completed)
	require.NoError(t, briefed.Err)
	assert.Equal(t, domain.TripPending, briefed.Result.(TripState).Trip.Status, "the approval is still outstanding")
	require.True(t, approved.Completed)
	assert.Equal(t, domain.TripReady, approved.Result.(TripState).Trip.Status)
	assert.True(t, again.Rejected, "a trip is approved once")
	assert.Empty(t, h.messagesOf("travel_reminder"))
	assert.Empty(t, h.noticesOf(domain.NotifyTravelEscalated))
	assert.Len(t, h.noticesOf(domain.NotifyTravelApproval), 1, "asked once, never reminded")
	assert.Empty(t, h.noticesOf(domain.NotifyTravelDebriefOverdue))
	assert.Empty(t, h.cases)
	assert.Equal(t, domain.TripClosed, st.Trip.Status)
	assert.Nil(t, st.Trip.AftercareCaseRef)
	assert.Equal(t, controller, *st.Trip.DecidedBy)
}

// A refusal needs a reason; refused, the trip ends and nothing more is sent.
func TestTravelTripRefusedEnds(t *testing.T) {
	h := newTrip(t, 60, 10, levelSC, fullRequirements)
	controller := uuid.New()
	noReason := h.act(testStart.Add(oneDay), UpdateTripDecide, TripAction{Actor: &controller, Decision: domain.TripRefusedDecision, Reason: " "})
	refused := h.act(testStart.Add(2*oneDay), UpdateTripDecide, TripAction{Actor: &controller, Decision: domain.TripRefusedDecision, Reason: "not now"})
	st := h.run(0)

	require.True(t, noReason.Rejected)
	var rej *Rejection
	require.ErrorAs(t, rejection(noReason.Err), &rej)
	assert.Equal(t, "reason", rej.Fields[0].Field)
	require.True(t, refused.Completed)
	assert.Equal(t, domain.TripRefused, st.Trip.Status)
	assert.Equal(t, "not now", st.Trip.DecisionReason)
	assert.Empty(t, h.messagesOf("travel_reminder"))
	assert.Empty(t, h.noticesOf(domain.NotifyTravelEscalated))
	assert.Equal(t, []domain.TripStep{domain.TripStepDecided}, h.stepsTaken())
}

// Cancelled before departure, the trip ends at once; its timers never fire.
func TestTravelTripCancelledEnds(t *testing.T) {
	h := newTrip(t, 60, 10, levelSC, fullRequirements)
	h.act(testStart.Add(10*oneDay), UpdateTripCancel, TripAction{Reason: "project moved"})
	st := h.run(0)
	assert.Equal(t, domain.TripCancelled, st.Trip.Status)
	assert.Equal(t, []domain.TripStep{domain.TripStepCancelled}, h.stepsTaken())
	assert.Empty(t, h.messagesOf("travel_reminder"))
	assert.Equal(t, testStart.Add(10*oneDay), h.env.Now().UTC())
}

// A change moves the departure: the briefing already acknowledged is void and asked again, and the
// reminders follow the new date.
func TestTravelTripChangedIsAskedAgainOnItsNewDates(t *testing.T) {
	h := newTrip(t, 60, 10, levelSC, domain.TripRequirements{Briefing: true})
	h.act(testStart.Add(oneDay), UpdateTripBriefed, TripAction{})
	newDeparts := h.trip.DepartsOn.AddDays(30)
	bad := h.act(testStart.Add(2*oneDay), UpdateTripChange, TripAction{Change: &domain.TripChange{Countries: []string{"XX"},
		DepartsOn: newDeparts, ReturnsOn: newDeparts.AddDays(5), Companions: domain.TravellingAlone}})
	changed := h.act(testStart.Add(2*oneDay), UpdateTripChange, TripAction{Change: &domain.TripChange{Countries: []string{"CN", "HK"},
		DepartsOn: newDeparts, ReturnsOn: newDeparts.AddDays(5), Companions: domain.TravellingWithOthers}})
	h.act(newDeparts.Time().Add(-20*oneDay), UpdateTripCancel, TripAction{})
	h.run(0)

	require.True(t, bad.Rejected)
	var rej *Rejection
	require.ErrorAs(t, rejection(bad.Err), &rej)
	assert.Equal(t, "countries", rej.Fields[0].Field)
	require.True(t, changed.Completed)
	require.NoError(t, changed.Err)
	assert.Equal(t, domain.TripPending, changed.Result.(TripState).Trip.Status, "the briefing is asked again")
	briefings := h.messagesOf("travel_briefing")
	require.Len(t, briefings, 2)
	assert.NotEqual(t, briefings[0].Key, briefings[1].Key, "the second ask is a message of its own")
	assert.Equal(t, testStart.Add(2*oneDay), briefings[1].Now)
	// The old trip's 14-day reminder (day 46) did not fire; the new one's (day 76) would after the cancel.
	assert.Empty(t, h.messagesOf("travel_reminder"))
}

// A person without a clearance: no policy applies and nothing is required; the trip departs, returns and
// closes, and nobody is asked anything.
func TestTravelTripWithoutClearanceRequiresNothing(t *testing.T) {
	h := newTrip(t, 60, 200, nil, domain.TripRequirements{})
	st := h.run(0)
	assert.Equal(t, domain.TripClosed, st.Trip.Status)
	assert.Equal(t, []domain.TripStep{domain.TripStepDeparted, domain.TripStepReturned}, h.stepsTaken())
	assert.Empty(t, h.messages)
	assert.Empty(t, h.notices, "not even a trip longer than the policy allows: it has no clearance to flag")
	assert.Equal(t, h.back(), h.env.Now().UTC())
}

// A trip longer than the policy allows flags the clearance's owner once, at report.
func TestTravelTripTooLongFlagsTheOwner(t *testing.T) {
	h := newTrip(t, 30, 120, levelSC, domain.TripRequirements{})
	h.run(0)
	flags := h.noticesOf(domain.NotifyTravelTooLong)
	require.Len(t, flags, 1)
	assert.Equal(t, testStart, flags[0].Now)
	assert.Equal(t, []uuid.UUID{*h.owner}, flags[0].UserIDs)
	assert.Contains(t, flags[0].Message, "lasts 120 days; the travel policy allows 90")
}

// A debrief never given: reported overdue once, and the workflow goes on waiting for it.
func TestTravelTripDebriefOverdueWaits(t *testing.T) {
	h := newTrip(t, 5, 3, levelSC, domain.TripRequirements{DebriefDays: 7})
	h.run(h.back().Add(60 * oneDay).Sub(testStart))
	assert.Equal(t, []time.Time{h.back().Add(7 * oneDay)}, times(h.noticesOf(domain.NotifyTravelDebriefOverdue)))
	assert.Equal(t, []domain.TripStep{domain.TripStepDeparted, domain.TripStepReturned}, h.stepsTaken())
}

// A trip reported after its departure: nothing is asked or escalated before it (too late), the departure
// is recorded at once and reported with what it lacked.
func TestTravelTripReportedAfterDepartureIsReportedNotAsked(t *testing.T) {
	h := newTrip(t, -3, 10, levelSC, fullRequirements)
	h.run(h.back().Add(-oneDay).Sub(testStart))
	assert.Empty(t, h.messagesOf("travel_briefing"))
	assert.Empty(t, h.noticesOf(domain.NotifyTravelApproval))
	escalations := h.noticesOf(domain.NotifyTravelEscalated)
	require.Len(t, escalations, 1)
	assert.Equal(t, testStart, escalations[0].Now)
	assert.Contains(t, escalations[0].Message, "without the briefing and the approval")
	assert.Equal(t, []domain.TripStep{domain.TripStepDeparted}, h.stepsTaken())
}
