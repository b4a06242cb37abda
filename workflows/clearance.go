package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// clearanceLifecycle is one clearance's workflow state.
type clearanceLifecycle struct {
	ClearanceState
	in ClearanceInput
	// renewed is set by the renewal signal; wake when a policy change moves the timers.
	renewed bool
	wake    bool
	// cancelStep cancels the step running (a nudge, the renewal case), when the renewal signal comes.
	cancelStep workflow.CancelFunc
	renewedCh  workflow.ReceiveChannel
	policyCh   workflow.ReceiveChannel
	// local says the clearance's database activities run as local activities (since "clearance-local-db").
	local bool
}

// ClearanceLifecycle follows one clearance from the moment it is in force to its end: it nudges the holder
// (and tells the vetting owner) at each of the reminder policy's offsets before its last valid day, opens
// its renewal case at the policy's lead time, and at its lapse marks it expired and has the holder's access
// reviewed. It ends at once when a renewal supersedes the clearance, and whenever it finds the clearance
// superseded, revoked or expired. Offsets whose moment passed before the clearance came into force (or
// before the workflow started) are skipped, except the latest of them, sent at once. A renewal case whose
// moment passed is opened at once.
func ClearanceLifecycle(ctx workflow.Context, in ClearanceInput) (ClearanceState, error) {
	w := &clearanceLifecycle{in: in}
	if err := w.setup(ctx); err != nil {
		return w.ClearanceState, err
	}
	err := w.run(ctx)
	return w.ClearanceState, err
}

func (w *clearanceLifecycle) setup(ctx workflow.Context) error {
	if w.in.ClearanceID == uuid.Nil || w.in.SLA.Due <= 0 {
		return reject("body", "invalid clearance input")
	}
	if w.in.Resume != nil {
		w.ClearanceState = *w.in.Resume
		w.in.Resume = nil
	} else {
		w.ClearanceID = w.in.ClearanceID
	}
	// The clearance's database reads and writes run in its workflow task: a clearance followed before
	// replays with activities.
	w.local = workflow.GetVersion(ctx, "clearance-local-db", workflow.DefaultVersion, 1) != workflow.DefaultVersion
	if err := workflow.SetQueryHandler(ctx, QueryClearanceState, func() (ClearanceState, error) {
		return w.ClearanceState, nil
	}); err != nil {
		return err
	}
	w.renewedCh = workflow.GetSignalChannel(ctx, SignalClearanceRenewed)
	w.policyCh = workflow.GetSignalChannel(ctx, SignalReminderPolicy)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(w.renewedCh, func(c workflow.ReceiveChannel, _ bool) {
				c.Receive(ctx, nil)
				w.onRenewed()
			})
			sel.AddReceive(w.policyCh, func(c workflow.ReceiveChannel, _ bool) {
				var p domain.ReminderPolicy
				c.Receive(ctx, &p)
				w.applyPolicy(p, workflow.Now(ctx))
			})
			sel.Select(ctx)
		}
	})
	return nil
}

func (w *clearanceLifecycle) onRenewed() {
	w.renewed = true
	if w.cancelStep != nil {
		w.cancelStep()
	}
}

func (w *clearanceLifecycle) run(ctx workflow.Context) error {
	if !w.Loaded {
		if err := w.step(ctx, w.start); err != nil {
			if !failedForGood(ctx, err) {
				return err
			}
			w.stepFailed(ctx, "the clearance could not be read", err)
			w.end(ctx, ClearanceEndFailed)
			return nil
		}
	}
	for w.Ended == "" {
		if w.renewed {
			w.end(ctx, ClearanceEndRenewed)
			break
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return w.continueAsNew(ctx)
		}
		now := workflow.Now(ctx)
		at, fire := w.nextTimer(now)
		w.wake = false
		if wait := at.Sub(now); wait > 0 {
			// A policy change re-computes the timers; the renewal signal ends the workflow.
			woken, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return w.wake || w.renewed })
			if err != nil {
				return err
			}
			if woken {
				continue
			}
		}
		if err := w.step(ctx, fire); err != nil {
			if !failedForGood(ctx, err) {
				return err
			}
			w.skipFailed(ctx, at, err)
		}
	}
	return nil
}

// skipFailed passes over what was due at a moment whose step failed for good (its data refused, the
// clearance gone), so the workflow goes on to its next moment: the nudges due then are skipped, the
// renewal case is not opened again, and a lapse that could not be recorded ends the workflow (the access
// sync lapses the clearance). The owner or the security controllers are told.
func (w *clearanceLifecycle) skipFailed(ctx workflow.Context, at time.Time, err error) {
	what := "a renewal reminder"
	for _, d := range w.Policy.NudgeDays {
		if !w.nudgeDone(d) && w.nudgeAt(d).Equal(at) {
			w.NudgesSkipped = append(w.NudgesSkipped, d)
		}
	}
	if w.RenewalCaseRef == "" && w.Policy.RenewalLeadDays > 0 && w.renewalAt().Equal(at) {
		w.RenewalFailed, what = true, "the renewal case"
	}
	if !at.Before(w.lapseAt()) {
		what = "the lapse"
		w.end(ctx, ClearanceEndFailed)
	}
	w.stepFailed(ctx, what+" could not be completed", err)
}

// stepFailed tells the owner or the security controllers that a step failed for good, and why (never
// the data refused).
func (w *clearanceLifecycle) stepFailed(ctx workflow.Context, what string, err error) {
	w.notify(ctx, fmt.Sprintf("clearance/%s/failed/%d", w.ClearanceID, workflow.Now(ctx).Unix()), domain.NotifyClearanceStepFailed,
		w.SourceCaseRef, fmt.Sprintf("%s clearance %s: %s: %s", w.Level, w.ClearanceID, what, safeReason(err)))
}

// step runs one step in a context the renewal signal cancels: once the clearance is renewed, nothing more
// is sent.
func (w *clearanceLifecycle) step(ctx workflow.Context, fn func(workflow.Context) error) error {
	stepCtx, cancel := workflow.WithCancel(ctx)
	w.cancelStep = cancel
	err := fn(stepCtx)
	w.cancelStep = nil
	cancel()
	if w.renewed && w.Ended == "" {
		w.end(ctx, ClearanceEndRenewed)
		return nil
	}
	return err
}

func (w *clearanceLifecycle) continueAsNew(ctx workflow.Context) error {
	// Signals not yet taken from their channels would be lost: take them now.
	if w.renewedCh.ReceiveAsync(nil) {
		w.end(ctx, ClearanceEndRenewed)
		return nil
	}
	var p domain.ReminderPolicy
	for w.policyCh.ReceiveAsync(&p) {
		w.applyPolicy(p, workflow.Now(ctx))
	}
	next := w.in
	state := w.ClearanceState
	next.Resume = &state
	return workflow.NewContinueAsNewError(ctx, ClearanceLifecycle, next)
}

// start reads the clearance, tells the clearances it superseded to end, and ends at once when the
// clearance is not in force.
func (w *clearanceLifecycle) start(ctx workflow.Context) error {
	info, err := w.load(ctx)
	if err != nil {
		return err
	}
	w.Loaded = true
	w.PersonID, w.Level = info.Clearance.PersonID, info.Clearance.Level
	w.ValidFrom, w.ValidTo = info.Clearance.ValidFrom, info.Clearance.ValidTo
	if w.in.IssuingAuthority == "" { // the renewal case is issued in the clearance's own authority's name
		w.in.IssuingAuthority = info.Clearance.IssuingAuthority
	}
	if info.Clearance.SourceCaseRef != nil {
		w.SourceCaseRef = *info.Clearance.SourceCaseRef
	}
	if !w.PredecessorsTold {
		w.tellPredecessors(ctx)
	}
	if !inForce(w.Status) {
		w.end(ctx, string(w.Status))
	}
	return nil
}

// tellPredecessors ends the workflows of the clearances this one superseded (a renewal). One that ended
// already, or never ran, is passed over; a predecessor not told finds itself superseded at its next step.
func (w *clearanceLifecycle) tellPredecessors(ctx workflow.Context) {
	var ids []uuid.UUID
	if err := runDB(ctx, w.local, activities.A.SupersededClearances,
		w.ClearanceID).Get(ctx, &ids); err != nil {
		if w.renewed {
			return
		}
		workflow.GetLogger(ctx).Warn("clearance: superseded clearances not read", "clearance", w.ClearanceID, "error", err)
	}
	for _, id := range ids {
		_ = workflow.SignalExternalWorkflow(ctx, ClearanceWorkflowID(id), "", SignalClearanceRenewed, nil).Get(ctx, nil)
	}
	w.PredecessorsTold = true
}

// load reads the clearance, its owner and the reminder policy; a policy newer than the one in force (a
// change whose signal this workflow missed) applies from now.
func (w *clearanceLifecycle) load(ctx workflow.Context) (activities.ClearanceInfo, error) {
	var info activities.ClearanceInfo
	if err := runDB(ctx, w.local, activities.A.LoadClearance,
		w.ClearanceID).Get(ctx, &info); err != nil {
		return info, err
	}
	w.Status = info.Clearance.Status
	w.OwnerID = info.OwnerID
	if !w.Loaded || info.Policy.UpdatedAt.After(w.Policy.UpdatedAt) {
		w.applyPolicy(info.Policy, workflow.Now(ctx))
	}
	return info, nil
}

// reload reads the clearance again before acting on it, and ends the workflow when it is no longer in
// force. It reports whether the workflow goes on.
func (w *clearanceLifecycle) reload(ctx workflow.Context) (bool, error) {
	if _, err := w.load(ctx); err != nil {
		return false, err
	}
	if !inForce(w.Status) {
		w.end(ctx, string(w.Status))
	}
	return w.Ended == "" && !w.renewed, nil
}

// inForce: active, or suspended (a suspension may be lifted; the clearance's nudges are skipped meanwhile).
func inForce(s domain.ClearanceStatus) bool {
	return s == domain.ClearanceActive || s == domain.ClearanceSuspended
}

// applyPolicy puts a reminder policy in force. Offsets done stay done; offsets it adds whose moment is
// past are skipped; a renewal lead time moved past now opens the renewal case at once (nextTimer).
func (w *clearanceLifecycle) applyPolicy(p domain.ReminderPolicy, now time.Time) {
	old := w.Policy.NudgeDays
	var days []int
	for _, d := range p.NudgeDays {
		if d > 0 && !slices.Contains(days, d) {
			days = append(days, d)
		}
	}
	slices.SortFunc(days, func(a, b int) int { return cmp.Compare(b, a) }) // earliest moment first
	p.NudgeDays = days
	w.Policy = p
	if w.Begun {
		for _, d := range days {
			if !slices.Contains(old, d) && !w.nudgeDone(d) && w.nudgeAt(d).Before(now) {
				w.NudgesSkipped = append(w.NudgesSkipped, d)
			}
		}
	}
	w.wake = true
}

// The moments of a clearance's life, all at the start of a day, UTC. validTo is its last valid day: it
// lapses at the start of the next (as the access grants that rest on it take it).
func (w *clearanceLifecycle) validFromAt() time.Time { return w.ValidFrom.Time().UTC() }
func (w *clearanceLifecycle) lapseAt() time.Time     { return w.ValidTo.AddDays(1).Time().UTC() }
func (w *clearanceLifecycle) nudgeAt(days int) time.Time {
	return w.ValidTo.AddDays(-days).Time().UTC()
}
func (w *clearanceLifecycle) renewalAt() time.Time {
	return w.ValidTo.AddDays(-w.Policy.RenewalLeadDays).Time().UTC()
}

func (w *clearanceLifecycle) nudgeDone(days int) bool {
	return slices.Contains(w.NudgesSent, days) || slices.Contains(w.NudgesSkipped, days)
}

// nextTimer returns the next moment and what to do then: the clearance coming into force, a nudge, the
// renewal case, or its lapse, which comes before anything else once passed.
func (w *clearanceLifecycle) nextTimer(now time.Time) (time.Time, func(workflow.Context) error) {
	if !w.Begun {
		return w.validFromAt(), w.begin
	}
	at, fire := w.lapseAt(), w.lapse
	if !now.Before(at) {
		return at, fire
	}
	consider := func(t time.Time, f func(workflow.Context) error) {
		if t.Before(at) {
			at, fire = t, f
		}
	}
	for _, d := range w.Policy.NudgeDays {
		if !w.nudgeDone(d) {
			consider(w.nudgeAt(d), func(ctx workflow.Context) error { return w.nudge(ctx, d) })
		}
	}
	if w.RenewalCaseRef == "" && !w.RenewalFailed && w.Policy.RenewalLeadDays > 0 {
		consider(w.renewalAt(), w.openRenewal)
	}
	return at, fire
}

// begin starts the clock when the clearance comes into force. Of the nudges whose moment is past, the
// latest is sent at once (a clearance recorded with 20 days left is one nudge now, then the 7-day one);
// the earlier ones are skipped.
func (w *clearanceLifecycle) begin(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	catchUp := 0
	for _, d := range w.Policy.NudgeDays { // earliest moment first: the last past one is the latest
		if !w.nudgeDone(d) && w.nudgeAt(d).Before(now) {
			if catchUp != 0 {
				w.NudgesSkipped = append(w.NudgesSkipped, catchUp)
			}
			catchUp = d
		}
	}
	w.Begun = true
	return nil
}

// nudge reminds the holder that the clearance expires in days, and tells the vetting owner. A nudge whose
// message ultimately fails is logged and counted done: the workflow goes on.
func (w *clearanceLifecycle) nudge(ctx workflow.Context, days int) error {
	now := workflow.Now(ctx)
	for _, later := range w.Policy.NudgeDays {
		if later < days && !w.nudgeDone(later) && !w.nudgeAt(later).After(now) {
			// The workflow could not run for a while and a later nudge is due as well: that one alone is sent.
			w.NudgesSkipped = append(w.NudgesSkipped, days)
			return nil
		}
	}
	if goOn, err := w.reload(ctx); err != nil || !goOn {
		return err
	}
	if !slices.Contains(w.Policy.NudgeDays, days) || w.nudgeDone(days) {
		return nil // a newer policy read meanwhile dropped it
	}
	if w.Status == domain.ClearanceSuspended {
		w.NudgesSkipped = append(w.NudgesSkipped, days)
		return nil
	}
	key := fmt.Sprintf("clearance/%s/nudge/%d", w.ClearanceID, days)
	person, id := w.PersonID, w.ClearanceID
	daysLeft := int(w.ValidTo.Time().Sub(domain.DateOf(now.UTC()).Time()) / (24 * time.Hour))
	if workflow.GetVersion(ctx, "expiring-event", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		// The clearance.expiring lifecycle event, whether or not the holder can be reached.
		if err := runDB(ctx, w.local, activities.A.RecordClearanceExpiring,
			activities.ClearanceExpiringInput{ClearanceID: id, Days: days, DaysLeft: daysLeft}).Get(ctx, nil); err != nil {
			if w.renewed {
				return nil
			}
			workflow.GetLogger(ctx).Warn("clearance: expiring not recorded", "clearance", w.ClearanceID, "days", days, "error", err)
		}
	}
	res, err := sendMessage(ctx, activities.SendInput{Key: key, PersonID: &person, Template: "renewal_nudge", ClearanceID: &id,
		Vars: map[string]string{"Level": string(w.Level), "ValidTo": w.ValidTo.String(), "DaysLeft": strconv.Itoa(daysLeft)}})
	if w.renewed {
		return nil
	}
	w.NudgesSent = append(w.NudgesSent, days)
	told := "the holder was sent a renewal reminder"
	switch {
	case err != nil:
		workflow.GetLogger(ctx).Warn("clearance: renewal nudge not sent", "clearance", w.ClearanceID, "days", days, "error", err)
		told = "the renewal reminder to the holder could not be sent"
	case res.Status == domain.MessageSuppressed || res.Status == domain.MessageFailed:
		told = fmt.Sprintf("the renewal reminder to the holder was not sent (%s: %s)", res.Status, res.Reason)
	}
	w.notify(ctx, key, domain.NotifyRenewalNudge, w.SourceCaseRef, fmt.Sprintf("%s clearance %s expires on %s (in %d days): %s",
		w.Level, w.ClearanceID, w.ValidTo, daysLeft, told))
	return nil
}

// openRenewal opens the renewal case, unless the person has one open at this level already. The case's
// reference is made from the clearance's id, so a retry finds the case it started.
func (w *clearanceLifecycle) openRenewal(ctx workflow.Context) error {
	if goOn, err := w.reload(ctx); err != nil || !goOn {
		return err
	}
	var open string
	if err := runDB(ctx, w.local, activities.A.OpenCaseRef,
		activities.OpenCaseInput{PersonID: w.PersonID, Type: domain.CaseRenewal, Level: w.Level}).Get(ctx, &open); err != nil {
		return err
	}
	if open != "" {
		w.RenewalCaseRef = open
		return nil
	}
	ref := RenewalCaseRef(w.ClearanceID)
	// The case is started on a context the renewal signal does not cancel: cancelling a child's start
	// would cancel the case.
	startCtx, _ := workflow.NewDisconnectedContext(ctx)
	child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(startCtx, workflow.ChildWorkflowOptions{
		WorkflowID:            VettingCaseWorkflowID(ref),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: caseSearchAttributes(ref, domain.CaseRenewal, domain.StatusOpened, w.Level, nil),
	}), VettingCase, VettingCaseInput{CaseRef: ref, PersonID: w.PersonID, Type: domain.CaseRenewal, Level: w.Level,
		IssuingAuthority: w.in.IssuingAuthority, SLA: w.in.SLA, Validity: w.in.Validity})
	if err := child.GetChildWorkflowExecution().Get(startCtx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return err
	}
	w.RenewalCaseRef, w.RenewalOpened = ref, true
	// The notification names the case in its text, not as its case: the case may not be in the read model
	// yet (it writes itself there once it runs), and a notification must reference a case that is.
	w.notify(ctx, fmt.Sprintf("clearance/%s/renewal", w.ClearanceID), domain.NotifyRenewalOpened, "",
		fmt.Sprintf("Renewal case %s opened for %s clearance %s, which expires on %s", ref, w.Level, w.ClearanceID, w.ValidTo))
	return nil
}

// lapse marks the clearance expired once its last day has passed and has the holder's access reviewed, so
// the grants resting on it end.
func (w *clearanceLifecycle) lapse(ctx workflow.Context) error {
	var expired bool
	if err := runDB(ctx, w.local, activities.A.ExpireClearance,
		activities.ExpireClearanceInput{ClearanceID: w.ClearanceID, Today: domain.DateOf(workflow.Now(ctx).UTC())}).
		Get(ctx, &expired); err != nil {
		return err
	}
	if err := requestReview(ctx, w.PersonID); err != nil {
		return err
	}
	if expired {
		w.Status = domain.ClearanceExpired
	}
	w.end(ctx, ClearanceEndLapsed)
	return nil
}

// notify tells the clearance's vetting owner, or the security controllers when it has none. It names the
// level, the clearance and dates, never the holder. A notification that cannot be written is logged: the
// workflow goes on.
func (w *clearanceLifecycle) notify(ctx workflow.Context, key string, kind domain.NotificationKind, caseRef, msg string) {
	in := activities.NotifyInput{Key: key, Kind: kind, CaseRef: caseRef, Message: msg, At: workflow.Now(ctx).UTC()}
	if w.OwnerID != nil {
		in.UserIDs = []uuid.UUID{*w.OwnerID}
	} else {
		in.Roles = []domain.Role{domain.RoleSecurityController}
	}
	err := runDB(ctx, w.local, activities.A.NotifyStaff, in).Get(ctx, nil)
	var canceled *temporal.CanceledError
	if err != nil && !errors.As(err, &canceled) {
		workflow.GetLogger(ctx).Warn("clearance: owner not notified", "clearance", w.ClearanceID, "kind", kind, "error", err)
	}
}

func (w *clearanceLifecycle) end(ctx workflow.Context, reason string) {
	now := workflow.Now(ctx).UTC()
	w.Ended, w.EndedAt = reason, &now
}
