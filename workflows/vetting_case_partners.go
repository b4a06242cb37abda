package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
)

// partnerActivity posts to a partner until it acknowledges: a partner down for a day delays the
// return, never loses it. A refusal (a 4xx other than 408 and 429) is not retried.
var partnerActivity = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        10 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        time.Hour,
		NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypePartnerRefused}),
	},
}

func (w *vettingCase) checkDelegate(ctx workflow.Context, d DelegateCase) error {
	if err := w.checkOpen(); err != nil {
		return err
	}
	if w.Case.Status != domain.StatusWithOfficer {
		return invalidTransition("only a case with the officer can be delegated (it is %s)", w.Case.Status)
	}
	if d.SiteID == uuid.Nil || strings.TrimSpace(d.SiteName) == "" {
		return reject("siteId", "required")
	}
	if !d.DueAt.After(workflow.Now(ctx)) {
		return reject("dueDate", "must be in the future")
	}
	return nil
}

func (w *vettingCase) delegate(ctx workflow.Context, d DelegateCase) (CaseState, error) {
	return w.act(ctx, func() error { return w.checkDelegate(ctx, d) }, func() error {
		due := d.DueAt.UTC()
		site := d.SiteID
		// Reminders further ahead of the deadline than it is now are no reminders.
		w.DelegationRemindersSent, w.DelegationOverdueNotified = 0, false
		for w.DelegationRemindersSent < len(w.SLA.Reminders) && w.SLA.Reminders[w.DelegationRemindersSent] >= due.Sub(workflow.Now(ctx)) {
			w.DelegationRemindersSent++
		}
		return w.record(ctx, "delegated", &d.Actor,
			fmt.Sprintf("Delegated to %s, outcome due %s", d.SiteName, due.Format(time.DateOnly)),
			map[string]any{"siteId": site.String(), "partnerOrg": d.SiteName, "dueAt": due}, func(c *domain.Case) {
				c.Status = domain.StatusWithPartner
				c.DelegatedSiteID = &site
				c.DelegationDueAt = &due
			})
	})
}

func (w *vettingCase) checkPartnerReturn(ctx workflow.Context, r PartnerReturn) error {
	if w.Case.DelegatedSiteID == nil || *w.Case.DelegatedSiteID != r.SiteID {
		return temporal.NewNonRetryableApplicationError("the case was not delegated to this partner", TypeNotDelegated, nil)
	}
	if err := w.checkOpen(); err != nil {
		return err
	}
	if strings.TrimSpace(r.PartnerCaseID) == "" {
		return reject("partnerCaseId", "required")
	}
	return w.checkDecision(ctx, r.Outcome, r.Level, r.ValidFrom, r.ValidTo)
}

// partnerReturn closes a delegated case with the outcome the partner posted back, as an officer's
// decision would, and stores the answer to the partner's call (with the call's audit entry) so a repeat
// of the call gets the same answer.
func (w *vettingCase) partnerReturn(ctx workflow.Context, r PartnerReturn) (activities.ReturnAnswer, error) {
	var answer activities.ReturnAnswer
	_, err := w.act(ctx, func() error { return w.checkPartnerReturn(ctx, r) }, func() error {
		if err := w.decide(ctx, nil, r.Outcome, r.Level, r.ValidFrom, r.ValidTo, map[string]any{
			"partnerOrg": r.SiteName, "siteId": r.SiteID.String(), "partnerCaseId": r.PartnerCaseID}); err != nil {
			return err
		}
		answer = activities.ReturnAnswer{CaseRef: w.Case.CaseRef, Outcome: r.Outcome, Status: string(w.Case.Status),
			PartnerCaseID: r.PartnerCaseID, ReceivedAt: workflow.Now(ctx).UTC()}
		return w.db(ctx, activities.A.RecordPartnerReturn,
			activities.RecordPartnerReturnInput{SiteID: r.SiteID, PartnerOrg: r.SiteName, PartnerCaseID: r.PartnerCaseID,
				KeyPrefix: r.KeyPrefix, CallerIP: r.CallerIP, Answer: answer, Request: &partners.ReturnRequest{
					CaseRef: w.Case.CaseRef, Outcome: r.Outcome, ClearanceLevel: r.Level, ValidFrom: r.ValidFrom,
					ValidTo: r.ValidTo, PartnerCaseID: r.PartnerCaseID}}).Get(ctx, nil)
	})
	return answer, err
}

// remindDelegation reminds the owner (or the controllers) that a partner's outcome is due.
func (w *vettingCase) remindDelegation(ctx workflow.Context) error {
	before := w.SLA.Reminders[w.DelegationRemindersSent]
	w.DelegationRemindersSent++
	msg := fmt.Sprintf("The partner's outcome on case %s is due %s (in %s)", w.Case.CaseRef,
		w.Case.DelegationDueAt.Format(time.DateOnly), domain.DurationText(before))
	if err := w.record(ctx, "delegation_reminder", nil, msg, nil, nil); err != nil {
		return err
	}
	to, roles := w.ownerOrControllers()
	return w.notify(ctx, domain.NotifyDelegationReminder, msg, to, roles)
}

func (w *vettingCase) delegationOverdue(ctx workflow.Context) error {
	w.DelegationOverdueNotified = true
	msg := fmt.Sprintf("The partner's outcome on case %s was due %s and has not come", w.Case.CaseRef,
		w.Case.DelegationDueAt.Format(time.DateOnly))
	if err := w.record(ctx, "delegation_overdue", nil, msg, nil, nil); err != nil {
		return err
	}
	owner, _ := w.ownerOrControllers()
	return w.notify(ctx, domain.NotifyDelegationOverdue, msg, owner, []domain.Role{domain.RoleSecurityController})
}

// returnToPartner posts the outcome of a check we ran for a partner to that partner's /return, retrying
// until it acknowledges. Our case reference is the partnerCaseId, so the partner keeps one answer
// however often the post is repeated.
func (w *vettingCase) returnToPartner(ctx workflow.Context) error {
	if w.Case.ForSiteID == nil || w.Case.Outcome == nil || w.ReturnedToPartner {
		return nil
	}
	in := activities.PostPartnerReturnInput{SiteID: *w.Case.ForSiteID, CaseRef: w.Case.CaseRef,
		TheirCaseRef: *w.Case.ForCaseRef, Outcome: *w.Case.Outcome, ValidFrom: w.Case.ValidFrom, ValidTo: w.Case.ValidTo}
	if w.Case.OutcomeLevel != nil {
		in.Level = *w.Case.OutcomeLevel
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, partnerActivity), activities.A.PostPartnerReturn, in).Get(ctx, nil)
	w.ReturnedToPartner = true
	if err != nil {
		reason := err.Error()
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			reason = appErr.Message()
		}
		msg := "The partner refused the outcome posted back: " + reason
		if rerr := w.record(ctx, "return_refused", nil, msg, nil, nil); rerr != nil {
			return rerr
		}
		to, roles := w.ownerOrControllers()
		return w.notify(ctx, domain.NotifyReturnRefused, msg, to, roles)
	}
	return w.record(ctx, "returned_to_partner", nil, "Outcome posted back to the partner and acknowledged", nil, nil)
}
