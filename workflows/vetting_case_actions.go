package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// registerUpdates installs the officer actions (asAction). Each validator refuses what the case's state
// does not allow (the API answers 409) or what is malformed (400); each handler checks again under the
// case's lock, since another action may have run between validation and handling.
func (w *vettingCase) registerUpdates(ctx workflow.Context) error {
	type action struct {
		name    string
		handler any
		check   any
	}
	for _, a := range []action{
		{UpdateCaseOpened, w.opened, func() error { return nil }},
		{UpdateAssignOwner, asAction(w.assignOwner), validator(w, w.checkAssignOwner)},
		{UpdateRequestInformation, asAction(w.requestInformation), validator(w, func(r RequestInformation) error { return w.checkRequestInformation(ctx, r) })},
		{UpdateInformationReceived, asAction(w.informationReceived), validator(w, w.checkInformationReceived)},
		{UpdateAddNote, asAction(w.addNote), validator(w, w.checkAddNote)},
		{UpdateRecordOutcome, asAction(w.recordOutcome), validator(w, func(o RecordOutcome) error { return w.checkRecordOutcome(ctx, o) })},
		{UpdateDelegate, asAction(w.delegate), validator(w, func(d DelegateCase) error { return w.checkDelegate(ctx, d) })},
		{UpdatePartnerReturn, asAction(w.partnerReturn), validator(w, func(r PartnerReturn) error { return w.checkPartnerReturn(ctx, r) })},
		{UpdateRetryIdentityCheck, asAction(w.retryIdentityCheck), validator(w, w.checkRetryIdentityCheck)},
	} {
		if err := workflow.SetUpdateHandlerWithOptions(ctx, a.name, a.handler,
			workflow.UpdateHandlerOptions{Validator: a.check}); err != nil {
			return err
		}
	}
	return nil
}

// opened answers once the case has reached its first wait.
func (w *vettingCase) opened(ctx workflow.Context) (CaseState, error) {
	err := workflow.Await(ctx, func() bool { return w.Ready })
	return w.CaseState, err
}

func (w *vettingCase) checkOpen() error {
	if w.Case.Status.Closed() {
		return invalidTransition("case %s is closed (%s)", w.Case.CaseRef, w.Case.Status)
	}
	return nil
}

func (w *vettingCase) checkAssignOwner(a AssignOwner) error {
	return w.checkOpen()
}

func (w *vettingCase) assignOwner(ctx workflow.Context, a AssignOwner) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkAssignOwner(a) }, func() error {
		if sameID(w.Case.OwnerID, &a.OwnerID) {
			return nil // already theirs: a repeated request changes nothing
		}
		owner := a.OwnerID
		return w.record(ctx, "owner_assigned", &a.Actor, "Vetting owner assigned",
			map[string]any{"ownerId": owner.String()}, func(c *domain.Case) { c.OwnerID = &owner })
	})
}

func (w *vettingCase) checkRequestInformation(ctx workflow.Context, r RequestInformation) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if w.Case.Status != domain.StatusWithOfficer {
		return invalidTransition("information can be requested only while the case is with the officer (it is %s)", w.Case.Status)
	}
	if strings.TrimSpace(r.Description) == "" || tooLong(r.Description) {
		return reject("description", "must be 1 to %d characters", domain.MaxFree)
	}
	if !r.DueAt.After(workflow.Now(ctx)) {
		return reject("dueAt", "must be in the future")
	}
	return nil
}

func (w *vettingCase) requestInformation(ctx workflow.Context, r RequestInformation) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkRequestInformation(ctx, r) }, func() error {
		due := r.DueAt.UTC()
		w.InfoOverdueNotified = false
		if err := w.record(ctx, "information_requested", &r.Actor,
			"Information requested from the subject, due "+due.Format(time.DateOnly),
			map[string]any{"description": r.Description, "dueAt": due}, func(c *domain.Case) {
				c.Status = domain.StatusAwaitingInformation
				c.InfoRequested = r.Description
				c.InfoDueAt = &due
			}); err != nil {
			return err
		}
		if workflow.GetVersion(ctx, "subject-reminders", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			w.informSubject(ctx, r.Description, due)
		}
		return nil
	})
}

func (w *vettingCase) checkInformationReceived(r InformationReceived) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if w.Case.Status != domain.StatusAwaitingInformation {
		return invalidTransition("no information is awaited on this case (it is %s)", w.Case.Status)
	}
	if tooLong(r.Note) {
		return reject("note", "at most %d characters", domain.MaxFree)
	}
	return nil
}

func (w *vettingCase) informationReceived(ctx workflow.Context, r InformationReceived) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkInformationReceived(r) }, func() error {
		err := w.record(ctx, "information_received", &r.Actor, "Requested information received",
			map[string]any{"note": r.Note}, func(c *domain.Case) {
				c.Status = domain.StatusWithOfficer
				c.InfoRequested = ""
				c.InfoDueAt = nil
			})
		if err == nil {
			w.stopSubjectMessages()
		}
		return err
	})
}

func (w *vettingCase) checkAddNote(n AddNote) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if strings.TrimSpace(n.Text) == "" || tooLong(n.Text) {
		return reject("text", "must be 1 to %d characters", domain.MaxFree)
	}
	return nil
}

func (w *vettingCase) addNote(ctx workflow.Context, n AddNote) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkAddNote(n) }, func() error {
		return w.record(ctx, "note", &n.Actor, "Note added", map[string]any{"text": n.Text}, nil)
	})
}

func (w *vettingCase) checkRecordOutcome(ctx workflow.Context, o RecordOutcome) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if !o.Outcome.Valid() {
		return reject("outcome", "must be one of %s", domain.OneOf(domain.Outcomes))
	}
	if o.Outcome == domain.OutcomeWithdrawn {
		return nil
	}
	if w.Case.Status == domain.StatusIdentityCheck {
		return invalidTransition("the identity check is still running")
	}
	if w.Case.OwnerID == nil {
		return invalidTransition("case %s has no vetting owner: assign one before recording an outcome", w.Case.CaseRef)
	}
	if *w.Case.OwnerID != o.Actor {
		return invalidTransition("only the case's vetting owner can record its outcome")
	}
	if w.Case.Status == domain.StatusAwaitingInformation {
		return invalidTransition("information requested from the subject is still awaited")
	}
	return w.checkDecision(ctx, o.Outcome, o.Level, o.ValidFrom, o.ValidTo)
}

// checkDecision checks an outcome against the decision bounds (domain.ValidityPolicy.CheckDecision) the
// case was started with. A case started before the bounds keeps the checks it had, so its history
// replays.
func (w *vettingCase) checkDecision(ctx workflow.Context, outcome domain.Outcome, level domain.Level, from, to domain.Date) error {
	if w.in.Validity != nil {
		err := w.in.Validity.CheckDecision(w.Case.RequestedLevel, domain.Decision{Outcome: outcome, Level: level,
			ValidFrom: from, ValidTo: to}, domain.DateOf(workflow.Now(ctx).UTC()))
		if err != nil {
			var r *domain.Rejection
			if errors.As(err, &r) {
				return rejectAll(*r)
			}
			return reject("body", "%s", err.Error())
		}
		return nil
	}
	return checkDecisionUnbounded(outcome, level, from, to)
}

// checkDecisionUnbounded is the check of cases started before the decision bounds.
func checkDecisionUnbounded(outcome domain.Outcome, level domain.Level, from, to domain.Date) error {
	if !outcome.Valid() {
		return reject("outcome", "must be one of %s", domain.OneOf(domain.Outcomes))
	}
	if !outcome.GrantsClearance() {
		return nil
	}
	if !level.Valid() {
		return reject("level", "must be one of %s", domain.OneOf(domain.Levels))
	}
	if from.IsZero() || to.IsZero() {
		return rejectAll(domain.Rejection{Field: "validFrom", Detail: fmt.Sprintf("required for a %s outcome", outcome)},
			domain.Rejection{Field: "validTo", Detail: fmt.Sprintf("required for a %s outcome", outcome)})
	}
	if !to.After(from) {
		return reject("validTo", "must be after validFrom")
	}
	return nil
}

func (w *vettingCase) recordOutcome(ctx workflow.Context, o RecordOutcome) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkRecordOutcome(ctx, o) }, func() error {
		return w.decide(ctx, &o.Actor, o.Outcome, o.Level, o.ValidFrom, o.ValidTo, nil)
	})
}

// decide closes the case with an outcome: a clearance first when the outcome grants one, then the
// outcome on the timeline. extra adds to the timeline entry's detail (who decided, from outside).
func (w *vettingCase) decide(ctx workflow.Context, actor *uuid.UUID, outcome domain.Outcome, level domain.Level,
	from, to domain.Date, extra map[string]any) error {
	detail := map[string]any{"outcome": outcome}
	// Copied into a map: the order the keys come in does not matter.
	//workflowcheck:ignore
	for k, v := range extra {
		detail[k] = v
	}
	if outcome.GrantsClearance() {
		ref := w.Case.CaseRef
		var cl domain.Clearance
		if err := w.db(ctx, activities.A.RecordClearance, domain.Clearance{
			PersonID: w.Case.PersonID, Level: level, ValidFrom: from, ValidTo: to,
			SourceCaseRef: &ref, IssuingAuthority: w.Case.IssuingAuthority,
			WithAdvisory: outcome == domain.OutcomeWithAdvisory,
		}).Get(ctx, &cl); err != nil {
			return err
		}
		if workflow.GetVersion(ctx, "clearance-lifecycle", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
			w.followClearanceLifecycle(ctx, cl.ID)
		}
		detail["clearanceId"] = cl.ID.String()
		detail["level"] = level
		detail["validFrom"] = from.String()
		detail["validTo"] = to.String()
	}
	now := workflow.Now(ctx).UTC()
	summary := fmt.Sprintf("Outcome recorded: %s", outcome)
	if outcome.GrantsClearance() {
		summary += fmt.Sprintf(" at %s, valid %s to %s", level, from, to)
	}
	if by, ok := extra["partnerOrg"].(string); ok {
		summary += " (returned by " + by + ")"
	}
	if err := w.record(ctx, "outcome", actor, summary, detail, func(c *domain.Case) {
		c.Status = domain.CaseStatus(outcome)
		c.Outcome = &outcome
		c.ClosedAt = &now
		c.InfoDueAt = nil
		c.DelegationDueAt = nil
		if outcome.GrantsClearance() {
			c.OutcomeLevel = &level
			c.ValidFrom, c.ValidTo = from, to
		}
	}); err != nil {
		return err
	}
	w.stopSubjectMessages()
	return w.followClearance(ctx, outcome)
}

// followClearanceLifecycle starts the workflow of the clearance the case granted: its renewal nudges, its
// renewal case (with this case's SLA and issuing authority) and its lapse. That workflow tells the one of
// the clearance it superseded to end. Its start is not the case's outcome: a start that fails is logged,
// and the clearance still lapses with the access sync.
func (w *vettingCase) followClearanceLifecycle(ctx workflow.Context, clearanceID uuid.UUID) {
	if err := FollowClearance(ctx, clearanceID, ClearanceInput{SLA: w.in.SLA, IssuingAuthority: w.Case.IssuingAuthority,
		Validity: w.in.Validity}); err != nil {
		workflow.GetLogger(ctx).Error("case: the clearance's workflow did not start", "caseRef", w.Case.CaseRef,
			"clearance", clearanceID, "error", err)
	}
}

// followClearance makes access follow the outcome: a refused renewal or aftercare check revokes the
// clearance it reviewed, and any change to the person's clearances has their access reviewed.
func (w *vettingCase) followClearance(ctx workflow.Context, outcome domain.Outcome) error {
	if workflow.GetVersion(ctx, "access-follows-clearance", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil // a case decided before access control followed clearance
	}
	reviews := outcome.GrantsClearance()
	if outcome == domain.OutcomeRefused && (w.Case.Type == domain.CaseRenewal || w.Case.Type == domain.CaseAftercare) {
		var revoked int
		if err := w.db(ctx, activities.A.RevokeReviewedClearance,
			activities.RevokeReviewedInput{PersonID: w.Case.PersonID, Level: w.Case.RequestedLevel, CaseRef: w.Case.CaseRef}).
			Get(ctx, &revoked); err != nil {
			return err
		}
		reviews = revoked > 0
	}
	if !reviews {
		return nil
	}
	return requestReview(ctx, w.Case.PersonID)
}

// act runs an officer action under the case's lock: it checks the action again against the state it
// finds, applies it, wakes the main loop and returns the state after it.
func (w *vettingCase) act(ctx workflow.Context, check func() error, apply func() error) (CaseState, error) {
	err := w.locked(ctx, func() error {
		if err := check(); err != nil {
			return err
		}
		return apply()
	})
	w.wake = true
	return w.CaseState, err
}

// actionKey marks the context of an officer action's handler (asAction).
type actionKey struct{}

// asAction is an officer action's update handler h, run in a context marked as an action's (db).
func asAction[T, R any](h func(workflow.Context, T) (R, error)) func(workflow.Context, T) (R, error) {
	return func(ctx workflow.Context, v T) (R, error) { return h(workflow.WithValue(ctx, actionKey{}, true), v) }
}

func (w *vettingCase) checkRetryIdentityCheck(r RetryIdentityCheck) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if w.IdentityRunning {
		return invalidTransition("an identity check is running")
	}
	if w.Case.Status != domain.StatusWithOfficer {
		return invalidTransition("the identity check can be repeated only while the case is with the officer (it is %s)",
			w.Case.Status)
	}
	return nil
}

// retryIdentityCheck starts a new attempt of the identity check (a new process at the provider), with the
// identity plan as it is configured now.
func (w *vettingCase) retryIdentityCheck(ctx workflow.Context, r RetryIdentityCheck) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkRetryIdentityCheck(r) }, func() error {
		if err := w.readIdentityPlan(ctx); err != nil {
			return err
		}
		if w.IdentityPlan.Provider == "" {
			return invalidTransition("no identity provider is configured")
		}
		return w.startIdentityCheck(ctx, &r.Actor)
	})
}
