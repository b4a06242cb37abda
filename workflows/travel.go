package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// travelTrip is one trip's workflow state.
type travelTrip struct {
	TripState
	in TravelInput
	// mu lets one step at a time write the trip: an action and a timer's step never interleave.
	mu workflow.Mutex
	// wake is set by every action, so the timers are computed again.
	wake bool
}

// TravelTrip follows one reported foreign trip: it asks the traveller for the briefing and the security
// controllers for the approval the travel policy requires (under the policy version the trip was
// assessed with), reminds them at the policy's days before departure, escalates to the security
// controllers and the clearance's owner when departure nears without them, records the departure and the
// return, asks for the debrief after return, reports it overdue, and opens an aftercare case for a
// debrief reporting an approach or an incident. A trip longer than the policy allows is reported to the
// clearance's owner. Actions (briefing acknowledged, decision, change, cancel, debrief) are updates,
// each recorded with its audit entry before it answers. A trip of a person without a clearance requires
// nothing: it is recorded, departs, returns and closes.
func TravelTrip(ctx workflow.Context, in TravelInput) (TripState, error) {
	w := &travelTrip{in: in, mu: workflow.NewMutex(ctx)}
	if in.TripID == uuid.Nil {
		return w.TripState, reject("body", "invalid trip input")
	}
	if err := w.setup(ctx); err != nil {
		return w.TripState, err
	}
	err := w.run(ctx)
	if err == nil {
		err = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	return w.TripState, err
}

func (w *travelTrip) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryTripState, func() (TripState, error) { return w.TripState, nil }); err != nil {
		return err
	}
	handlers := []struct {
		name     string
		step     domain.TripStep
		validate func(TripAction) error
	}{
		{UpdateTripBriefed, domain.TripStepBriefed, w.validateBriefed},
		{UpdateTripDecide, domain.TripStepDecided, w.validateDecision},
		{UpdateTripCancel, domain.TripStepCancelled, w.validateCancel},
		{UpdateTripChange, domain.TripStepChanged, w.validateChange},
		{UpdateTripDebrief, domain.TripStepDebriefed, w.validateDebrief},
	}
	for _, h := range handlers {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, h.name, func(ctx workflow.Context, a TripAction) (TripState, error) {
			return w.act(ctx, h.step, a)
		}, workflow.UpdateHandlerOptions{Validator: func(a TripAction) error {
			if !w.Loaded {
				return invalidTransition("the trip is not loaded yet; try again")
			}
			return h.validate(a)
		}}); err != nil {
			return err
		}
	}
	return nil
}

func (w *travelTrip) beforeDeparture() error {
	if !w.Trip.Status.BeforeDeparture() {
		return invalidTransition("the trip is %s", w.Trip.Status)
	}
	return nil
}

func (w *travelTrip) validateBriefed(TripAction) error {
	if err := w.beforeDeparture(); err != nil {
		return err
	}
	if briefing, _ := w.Trip.Outstanding(); !briefing {
		return invalidTransition("the trip needs no briefing, or it was acknowledged already")
	}
	return nil
}

func (w *travelTrip) validateDecision(a TripAction) error {
	if err := w.beforeDeparture(); err != nil {
		return err
	}
	switch {
	case !a.Decision.Valid():
		return reject("decision", "must be one of %s", domain.OneOf(domain.TripDecisions))
	case a.Decision == domain.TripApproved && !w.Trip.Requires.Approval:
		return invalidTransition("the trip needs no approval")
	case a.Decision == domain.TripApproved && w.Trip.Decision != nil:
		return invalidTransition("the trip was %s already", *w.Trip.Decision)
	case a.Decision == domain.TripRefusedDecision && strings.TrimSpace(a.Reason) == "":
		return reject("reason", "say why the trip is refused")
	case tooLong(a.Reason):
		return reject("reason", "at most %d characters", domain.MaxFree)
	}
	return nil
}

func (w *travelTrip) validateCancel(a TripAction) error {
	if err := w.beforeDeparture(); err != nil {
		return err
	}
	if tooLong(a.Reason) {
		return reject("reason", "at most %d characters", domain.MaxFree)
	}
	return nil
}

func (w *travelTrip) validateChange(a TripAction) error {
	if err := w.beforeDeparture(); err != nil {
		return err
	}
	c := a.Change
	switch {
	case c == nil:
		return reject("body", "the change is missing")
	case len(c.Countries) == 0 || slices.ContainsFunc(c.Countries, func(s string) bool { return !domain.IsCountry(s) }):
		return reject("countries", "must be ISO 3166-1 alpha-2 codes")
	case c.DepartsOn.IsZero() || c.ReturnsOn.Before(c.DepartsOn):
		return reject("returnsOn", "must be on or after departsOn")
	case !c.Companions.Valid():
		return reject("companions", "must be one of %s", domain.OneOf(domain.TripCompanionValues))
	}
	return nil
}

func (w *travelTrip) validateDebrief(a TripAction) error {
	switch {
	case w.Trip.Status != domain.TripDebriefDue:
		return invalidTransition("the trip is %s: a debrief is taken once it is due, after return", w.Trip.Status)
	case a.Debrief == nil:
		return reject("body", "the debrief is missing")
	case tooLong(a.Debrief.Details):
		return reject("details", "at most %d characters", domain.MaxFree)
	}
	return nil
}

// act records an action, then wakes the main loop to follow it.
func (w *travelTrip) act(ctx workflow.Context, step domain.TripStep, a TripAction) (TripState, error) {
	in := domain.TripStepInput{TripID: w.Trip.ID, Step: step, Actor: a.Actor, Decision: a.Decision, Reason: a.Reason,
		Change: a.Change, Debrief: a.Debrief}
	// The key is the update's own id: a repeat of the update is recorded once.
	in.Key = fmt.Sprintf("travel/%s/%s/%s", w.Trip.ID, step, workflow.GetCurrentUpdateInfo(ctx).ID)
	if err := w.record(ctx, in); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.TypeTripWrongState {
			return w.TripState, invalidTransition("the trip is %s", w.Trip.Status)
		}
		if failedForGood(ctx, err) {
			return w.TripState, temporal.NewNonRetryableApplicationError(safeReason(err), activities.TypeDataRejected, nil)
		}
		return w.TripState, err
	}
	if step == domain.TripStepChanged {
		w.Revision++
		w.Asked, w.Reminded, w.Escalated, w.TooLongTold = false, nil, false, false
	}
	w.wake = true
	return w.TripState, nil
}

// record writes a step of the trip, one at a time, and takes the trip as it is after it.
func (w *travelTrip) record(ctx workflow.Context, in domain.TripStepInput) error {
	if err := w.mu.Lock(ctx); err != nil {
		return err
	}
	defer w.mu.Unlock()
	var t domain.Trip
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.RecordTripStep,
		in).Get(ctx, &t); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.TypeTripWrongState {
			_ = w.load(ctx) // the trip moved on meanwhile (cancelled, say): follow it
		}
		return err
	}
	w.Trip = t
	return workflow.UpsertTypedSearchAttributes(ctx, TripStatusKey.ValueSet(string(t.Status)))
}

func (w *travelTrip) load(ctx workflow.Context) error {
	var info activities.TripInfo
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.LoadTrip,
		w.in.TripID).Get(ctx, &info); err != nil {
		return err
	}
	w.Trip, w.Policy, w.OwnerID, w.IssuingAuthority = info.Trip, info.Policy, info.OwnerID, info.IssuingAuthority
	return nil
}

func (w *travelTrip) run(ctx workflow.Context) error {
	if err := w.load(ctx); err != nil {
		return err
	}
	w.Loaded = true
	if err := workflow.UpsertTypedSearchAttributes(ctx, TripStatusKey.ValueSet(string(w.Trip.Status))); err != nil {
		return err
	}
	for !w.Trip.Status.Final() {
		w.wake = false
		if w.Trip.Status.BeforeDeparture() {
			w.assessed(ctx)
		}
		if w.Trip.Status == domain.TripDebriefDue && w.DebriefOverdue {
			// Overdue, and reported: only the debrief (or nothing) moves the trip on.
			if err := workflow.Await(ctx, func() bool { return w.wake }); err != nil {
				return err
			}
			continue
		}
		now := workflow.Now(ctx)
		at, fire := w.next()
		if wait := at.Sub(now); wait > 0 {
			woken, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return w.wake })
			if err != nil {
				return err
			}
			if woken {
				continue
			}
		}
		if err := fire(ctx); err != nil {
			if !failedForGood(ctx, err) && !isWrongState(err) {
				return err
			}
			workflow.GetLogger(ctx).Warn("travel: a step could not be recorded", "trip", w.Trip.ID, "error", safeReason(err))
		}
	}
	if w.Trip.Status == domain.TripClosed {
		if err := w.aftercare(ctx); err != nil && !failedForGood(ctx, err) {
			return err
		}
	}
	return nil
}

func isWrongState(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == activities.TypeTripWrongState
}

// The trip's moments, at the start of a day, UTC: departure on its first day, return the day after its
// last, the debrief due DebriefDays after return.
func (w *travelTrip) departAt() time.Time { return w.Trip.DepartsOn.Time().UTC() }
func (w *travelTrip) returnAt() time.Time { return w.Trip.ReturnsOn.AddDays(1).Time().UTC() }
func (w *travelTrip) debriefDueAt() time.Time {
	return w.Trip.ReturnsOn.AddDays(1 + w.Trip.Requires.DebriefDays).Time().UTC()
}
func (w *travelTrip) beforeDepartureAt(days int) time.Time {
	return w.Trip.DepartsOn.AddDays(-days).Time().UTC()
}

// next is the trip's next moment and what to do then, before departure, away or with its debrief due.
func (w *travelTrip) next() (time.Time, func(workflow.Context) error) {
	switch w.Trip.Status {
	case domain.TripPending:
		at, fire := w.departAt(), w.depart
		for _, d := range w.Policy.ReminderDays {
			if t := w.beforeDepartureAt(d); !slices.Contains(w.Reminded, d) && t.Before(at) {
				at, fire = t, func(ctx workflow.Context) error { return w.remind(ctx, d) }
			}
		}
		if t := w.beforeDepartureAt(w.Policy.EscalationDays); !w.Escalated && w.Policy.EscalationDays > 0 && t.Before(at) {
			at, fire = t, w.escalate
		}
		return at, fire
	case domain.TripAway:
		return w.returnAt(), w.back
	case domain.TripDebriefDue:
		return w.debriefDueAt(), w.debriefOverdue
	}
	return w.departAt(), w.depart // ready
}

// assessed, once per revision of the trip: tells the owner of a trip longer than the policy allows,
// asks for the briefing and the approval, and passes over the reminders whose day is past already.
func (w *travelTrip) assessed(ctx workflow.Context) {
	now := workflow.Now(ctx)
	rev := strconv.Itoa(w.Revision)
	if w.Trip.TooLong && !w.TooLongTold {
		w.TooLongTold = true
		w.notify(ctx, "too-long/"+rev, domain.NotifyTravelTooLong, true, fmt.Sprintf(
			"Trip %s (%s clearance) lasts %d days; the travel policy allows %d", w.Trip.ID, w.level(),
			w.Trip.Days(), w.Policy.MaxTripDays))
	}
	if w.Asked {
		return
	}
	w.Asked = true
	for _, d := range w.Policy.ReminderDays {
		if !w.beforeDepartureAt(d).After(now) && !slices.Contains(w.Reminded, d) {
			w.Reminded = append(w.Reminded, d)
		}
	}
	// Reported once gone: nothing can be asked before departure any more; the departure is reported with
	// what it lacked. (Trips reported late before this asked, and escalated, first.)
	if !w.departAt().After(now) && workflow.GetVersion(ctx, "travel-late-report", workflow.DefaultVersion, 1) == 1 {
		w.Escalated = true
		return
	}
	briefing, approval := w.Trip.Outstanding()
	if briefing {
		w.message(ctx, "briefing/"+rev, "travel_briefing", w.messageVars(), w.link(domain.TripLinkBriefing, w.departAt()))
	}
	if approval {
		w.notify(ctx, "approval/"+rev, domain.NotifyTravelApproval, false, fmt.Sprintf(
			"Trip %s (%s clearance) departing %s needs a security controller's approval", w.Trip.ID, w.level(),
			w.Trip.DepartsOn))
	}
}

// remind reminds the traveller of a missing briefing and the security controllers of a missing approval,
// days before departure.
func (w *travelTrip) remind(ctx workflow.Context, days int) error {
	w.Reminded = append(w.Reminded, days)
	briefing, approval := w.Trip.Outstanding()
	key := fmt.Sprintf("reminder/%d/%d", w.Revision, days)
	if briefing {
		vars := w.messageVars()
		vars["DaysLeft"] = strconv.Itoa(days)
		w.message(ctx, key, "travel_reminder", vars, nil)
	}
	if approval {
		w.notify(ctx, key, domain.NotifyTravelApproval, false, fmt.Sprintf(
			"Reminder: trip %s (%s clearance) departs in %d days, on %s, and awaits approval", w.Trip.ID, w.level(),
			days, w.Trip.DepartsOn))
	}
	return nil
}

// escalate tells the security controllers and the clearance's owner that departure is near with the
// briefing or approval still missing.
func (w *travelTrip) escalate(ctx workflow.Context) error {
	w.Escalated = true
	w.notify(ctx, fmt.Sprintf("escalated/%d", w.Revision), domain.NotifyTravelEscalated, true, fmt.Sprintf(
		"Trip %s (%s clearance) departs on %s still missing %s", w.Trip.ID, w.level(), w.Trip.DepartsOn, w.missing()))
	return nil
}

// depart records the departure; a trip leaving with its briefing or approval missing is reported.
func (w *travelTrip) depart(ctx workflow.Context) error {
	briefing, approval := w.Trip.Outstanding()
	if err := w.step(ctx, domain.TripStepDeparted); err != nil {
		return err
	}
	if briefing || approval {
		w.notify(ctx, "departed", domain.NotifyTravelEscalated, true, fmt.Sprintf(
			"Trip %s (%s clearance) departed on %s without %s", w.Trip.ID, w.level(), w.Trip.DepartsOn, w.missing()))
	}
	return nil
}

// back records the return; a debrief due is asked of the traveller.
func (w *travelTrip) back(ctx workflow.Context) error {
	if err := w.step(ctx, domain.TripStepReturned); err != nil {
		return err
	}
	if w.Trip.Status == domain.TripDebriefDue && !w.DebriefAsked {
		w.DebriefAsked = true
		vars := w.messageVars()
		vars["DueOn"] = domain.DateOf(w.debriefDueAt().AddDate(0, 0, -1)).String()
		w.message(ctx, "debrief", "travel_debrief", vars, w.link(domain.TripLinkDebrief, w.debriefDueAt().Add(debriefLinkGrace)))
	}
	return nil
}

// debriefOverdue reports a debrief not given by its due day; the workflow goes on waiting for it.
func (w *travelTrip) debriefOverdue(ctx workflow.Context) error {
	w.DebriefOverdue = true
	w.notify(ctx, "debrief-overdue", domain.NotifyTravelDebriefOverdue, true, fmt.Sprintf(
		"The debrief of trip %s (%s clearance), back on %s, is overdue", w.Trip.ID, w.level(), w.Trip.ReturnsOn))
	return nil
}

// aftercare, once the trip is closed, opens an aftercare case at the traveller's clearance level for a
// debrief that reported an approach or an incident (or links the one open already). A traveller without a
// clearance has no case to open: the security controllers are told instead.
func (w *travelTrip) aftercare(ctx workflow.Context) error {
	if w.AftercareDone || w.Trip.Debrief == nil || !w.Trip.Debrief.NeedsAftercare() {
		w.AftercareDone = true
		return nil
	}
	if w.Trip.Level == nil {
		w.AftercareDone = true
		w.notify(ctx, "aftercare", domain.NotifyTravelAftercare, false, fmt.Sprintf(
			"The debrief of trip %s reported an approach or incident; the traveller holds no clearance, so no aftercare case was opened",
			w.Trip.ID))
		return nil
	}
	level := *w.Trip.Level
	var ref string
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.OpenCaseRef,
		activities.OpenCaseInput{PersonID: w.Trip.PersonID, Type: domain.CaseAftercare, Level: level}).Get(ctx, &ref); err != nil {
		return err
	}
	if ref == "" {
		ref = TravelAftercareCaseRef(w.Trip.ID)
		sla := w.in.AftercareSLA[level]
		if sla.Due <= 0 {
			sla = domain.SLA{Due: 25 * 24 * time.Hour}
		}
		child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            VettingCaseWorkflowID(ref),
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
			TypedSearchAttributes: caseSearchAttributes(ref, domain.CaseAftercare, domain.StatusOpened, level, nil),
		}), VettingCase, VettingCaseInput{CaseRef: ref, PersonID: w.Trip.PersonID, Type: domain.CaseAftercare,
			Level: level, IssuingAuthority: w.IssuingAuthority, SLA: sla, Validity: w.in.Validity})
		if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return err
		}
	}
	if err := w.record(ctx, domain.TripStepInput{TripID: w.Trip.ID, Step: domain.TripStepAftercare, CaseRef: ref,
		Key: fmt.Sprintf("travel/%s/aftercare", w.Trip.ID)}); err != nil {
		return err
	}
	w.AftercareDone = true
	w.notify(ctx, "aftercare", domain.NotifyTravelAftercare, true, fmt.Sprintf(
		"The debrief of trip %s reported an approach or incident: aftercare case %s", w.Trip.ID, ref))
	return nil
}

// step records a step the workflow's clock takes (departure, return), keyed by the trip's revision.
func (w *travelTrip) step(ctx workflow.Context, s domain.TripStep) error {
	return w.record(ctx, domain.TripStepInput{TripID: w.Trip.ID, Step: s,
		Key: fmt.Sprintf("travel/%s/%s/%d", w.Trip.ID, s, w.Revision)})
}

func (w *travelTrip) level() string {
	if w.Trip.Level == nil {
		return "no"
	}
	return string(*w.Trip.Level)
}

// missing names what the trip still lacks, in words.
func (w *travelTrip) missing() string {
	var out []string
	briefing, approval := w.Trip.Outstanding()
	if briefing {
		out = append(out, "the briefing")
	}
	if approval {
		out = append(out, "the approval")
	}
	return strings.Join(out, " and ")
}

// debriefLinkGrace is how long after its due day a debrief link still works: an overdue debrief is
// still wanted.
const debriefLinkGrace = 30 * 24 * time.Hour

// link asks for the traveller's link for purpose, valid until expires. Only messages of the trip
// before departure (briefing) or after return (debrief) carry one.
func (w *travelTrip) link(purpose string, expires time.Time) *activities.TripLinkRequest {
	return &activities.TripLinkRequest{TripID: w.Trip.ID, Purpose: purpose, Expires: expires}
}

// messageVars are what every message to the traveller says: the destinations, the departure and what is
// still needed; a message adds its own.
func (w *travelTrip) messageVars() map[string]string {
	return map[string]string{"Countries": strings.Join(w.Trip.Countries, ", "), "DepartsOn": w.Trip.DepartsOn.String(),
		"Needed": w.missing()}
}

// message sends the traveller a message on their preferred channel. One that cannot be sent is logged:
// the trip goes on (the security controllers chase it at the escalation).
// A link (briefing or debrief) lets the traveller answer without a staff account.
func (w *travelTrip) message(ctx workflow.Context, key, template string, vars map[string]string, link *activities.TripLinkRequest) {
	person := w.Trip.PersonID
	if _, err := sendMessage(ctx, activities.SendInput{Key: fmt.Sprintf("travel/%s/%s", w.Trip.ID, key),
		PersonID: &person, Template: template, Vars: vars, TripLink: link}); err != nil {
		workflow.GetLogger(ctx).Warn("travel: message not sent", "trip", w.Trip.ID, "template", template, "error", err)
	}
}

// notify tells the security controllers, and with owner the clearance's vetting owner too. It names the
// trip, the level and dates, never the traveller or the destinations. A notification that cannot be
// written is logged: the trip goes on.
func (w *travelTrip) notify(ctx workflow.Context, key string, kind domain.NotificationKind, owner bool, msg string) {
	in := activities.NotifyInput{Key: fmt.Sprintf("travel/%s/%s", w.Trip.ID, key), Kind: kind, Message: msg,
		At: workflow.Now(ctx).UTC(), Roles: []domain.Role{domain.RoleSecurityController}}
	if owner && w.OwnerID != nil {
		in.UserIDs = []uuid.UUID{*w.OwnerID}
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.NotifyStaff, in).
		Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("travel: staff not notified", "trip", w.Trip.ID, "kind", kind, "error", err)
	}
}
