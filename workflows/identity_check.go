package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// identityActivity calls the identity provider: a refusal (4xx) is not retried; an outage is retried for
// up to a day, and then the check ends failed and goes to the officer.
var identityActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
		MaximumInterval:        10 * time.Minute,
		NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeIdentityRejected})},
}

// identityPollActivity reads the provider's process: a few quick tries, since the next poll comes anyway.
var identityPollActivity = workflow.ActivityOptions{
	StartToCloseTimeout: time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
		NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeIdentityRejected})},
}

// attendedActivity hands a case worker's images over while they wait for the answer: a short budget.
var attendedActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: 2 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2,
		NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeIdentityRejected})},
}

// identityCheck is one attempt's workflow state.
type identityCheck struct {
	IdentityCheckState
	in   IdentityCheckInput
	lock workflow.Mutex
	// hint is set by a callback: the process changed, read it now.
	hint bool
	// pollEvery is the wait before the next read of the provider; it doubles up to the plan's PollMax and
	// starts again when the status moves.
	pollEvery time.Duration
	nextPoll  time.Time
	root      workflow.Context
	sending   int
}

// IdentityCheck verifies the identity of a case's subject with Signicat Assure: it starts a capture flow
// in the person's dossier, sends them the link (and reminders before the deadline), and waits for the
// result. Callbacks are hints: the process is always read from the provider, and read on a backing-off
// timer when no callback comes. A case worker may instead upload the document's images (a staff-attended
// check). The result is recorded and compared with the person record; an accepted check's result archive
// is kept as a digest and the provider's copy deleted.
func IdentityCheck(ctx workflow.Context, in IdentityCheckInput) (activities.IdentityOutcome, error) {
	w := &identityCheck{in: in}
	if err := w.setup(ctx); err != nil {
		return activities.IdentityOutcome{}, err
	}
	out, err := w.run(ctx)
	if err != nil && ctx.Err() != nil && w.Status != "" && !w.Status.Final() {
		w.cancelled(ctx)
	}
	return out, err
}

func (w *identityCheck) setup(ctx workflow.Context) error {
	in := w.in
	if !domain.IsCaseRef(in.CaseRef) || in.Attempt < 1 || in.Plan.Provider == "" || in.Plan.LinkValidity <= 0 ||
		in.Plan.PollFirst <= 0 {
		return reject("body", "invalid identity check input")
	}
	if in.Resume != nil {
		w.IdentityCheckState = *in.Resume
		w.in.Resume = nil
	}
	// Reminders longest before the deadline first: the order they fall in.
	w.in.Plan.Reminders = slices.Clone(in.Plan.Reminders)
	slices.SortFunc(w.in.Plan.Reminders, func(a, b time.Duration) int { return int(b - a) })
	w.pollEvery = in.Plan.PollFirst
	w.lock = workflow.NewMutex(ctx)
	w.root = ctx
	if err := workflow.SetQueryHandler(ctx, QueryIdentityCheck, func() (IdentityCheckState, error) {
		return w.IdentityCheckState, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateAttendedImages, w.attended,
		workflow.UpdateHandlerOptions{Validator: w.checkAttended}); err != nil {
		return err
	}
	callbacks := workflow.GetSignalChannel(ctx, SignalIdentityCallback)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var cb IdentityCallback
			if !callbacks.Receive(ctx, &cb) {
				return
			}
			w.Callbacks++
			w.hint = true
		}
	})
	return nil
}

func (w *identityCheck) run(ctx workflow.Context) (activities.IdentityOutcome, error) {
	if w.Status == "" {
		if err := w.locked(ctx, func() error { return w.start(ctx) }); err != nil {
			return activities.IdentityOutcome{}, err
		}
	}
	w.nextPoll = workflow.Now(ctx).Add(w.pollEvery)
	for !w.Status.Final() {
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && w.sending == 0 {
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return activities.IdentityOutcome{}, err
			}
			next, state := w.in, w.IdentityCheckState
			next.Resume = &state
			return activities.IdentityOutcome{}, workflow.NewContinueAsNewError(ctx, IdentityCheck, next)
		}
		at, fire := w.next()
		woken := false
		if wait := at.Sub(workflow.Now(ctx)); wait > 0 {
			var err error
			if woken, err = workflow.AwaitWithTimeout(ctx, wait, func() bool { return w.hint }); err != nil {
				return activities.IdentityOutcome{}, err
			}
		}
		if woken {
			w.hint = false
			w.pollEvery = w.in.Plan.PollFirst
			fire = w.poll
		}
		if err := w.locked(ctx, func() error { return fire(ctx) }); err != nil {
			return activities.IdentityOutcome{}, err
		}
	}
	return w.finish(ctx)
}

// start begins the attempt with a capture flow and sends the subject its link.
func (w *identityCheck) start(ctx workflow.Context) error {
	var started activities.IdentityStarted
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, identityActivity), activities.A.StartIdentityCapture,
		w.ref()).Get(ctx, &started); err != nil {
		return err
	}
	w.Mode, w.Status = domain.IdentityModeCapture, domain.IdentityPending
	w.DossierID, w.ProcessID, w.CaptureURL = started.DossierID, started.ProcessID, started.CaptureURL
	w.StartedAt = workflow.Now(ctx).UTC()
	w.Deadline = w.StartedAt.Add(w.in.Plan.LinkValidity)
	// Reminders that would fall before the link was sent are none.
	for w.RemindersSent < len(w.in.Plan.Reminders) && w.reminderAt(w.RemindersSent).Before(w.StartedAt) {
		w.RemindersSent++
	}
	w.message(fmt.Sprintf("%s/identity/%d/link", w.in.CaseRef, w.in.Attempt), "identity_check_link")
	return nil
}

// reminderAt is when the plan's i-th reminder falls: its offset before the deadline, earliest first.
func (w *identityCheck) reminderAt(i int) time.Time {
	return w.Deadline.Add(-w.in.Plan.Reminders[i])
}

// next is the next moment the check acts on its own, and what it does then: read the provider, remind
// the subject, or expire the attempt the subject did not complete.
func (w *identityCheck) next() (time.Time, func(workflow.Context) error) {
	at, fire := w.nextPoll, w.poll
	if w.Status == domain.IdentityPending && w.Mode == domain.IdentityModeCapture {
		if w.RemindersSent < len(w.in.Plan.Reminders) {
			if r := w.reminderAt(w.RemindersSent); r.Before(at) {
				at, fire = r, w.remind
			}
		}
		if w.Deadline.Before(at) {
			at, fire = w.Deadline, w.expire
		}
	}
	return at, fire
}

// poll reads the process from the provider. A read that fails waits for the next one.
func (w *identityCheck) poll(ctx workflow.Context) error {
	var p activities.IdentityPoll
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, identityPollActivity), activities.A.IdentityProgress,
		w.ref()).Get(ctx, &p)
	w.Polls++
	now := workflow.Now(ctx)
	w.nextPoll = now.Add(w.pollEvery)
	w.pollEvery = min(2*w.pollEvery, max(w.in.Plan.PollMax, w.in.Plan.PollFirst))
	if err != nil {
		workflow.GetLogger(ctx).Warn("identity check: provider not read", "caseRef", w.in.CaseRef, "error", err)
		return nil
	}
	if w.ProcessID == "" {
		w.ProcessID = p.ProcessID
	}
	if p.ProcessID != w.ProcessID || p.Status == w.Status {
		return nil // a read of a process this attempt left behind, or nothing new
	}
	w.Status = p.Status
	w.pollEvery = w.in.Plan.PollFirst
	w.nextPoll = now.Add(w.pollEvery)
	return nil
}

func (w *identityCheck) remind(ctx workflow.Context) error {
	w.RemindersSent++
	if w.RemindersSent < len(w.in.Plan.Reminders) && !w.reminderAt(w.RemindersSent).After(workflow.Now(ctx)) {
		return nil // a later reminder is due too: that one alone is sent
	}
	w.message(fmt.Sprintf("%s/identity/%d/reminder/%d", w.in.CaseRef, w.in.Attempt, w.RemindersSent), "identity_check_reminder")
	return nil
}

func (w *identityCheck) expire(ctx workflow.Context) error {
	w.Status = domain.IdentityExpired
	return nil
}

// message sends the subject the capture link without holding up the check; its key makes it one message
// however often it is tried.
func (w *identityCheck) message(key, template string) {
	person := w.in.PersonID
	in := activities.SendInput{Key: key, PersonID: &person, Template: template, CaseRef: w.in.CaseRef,
		Vars: map[string]string{"Link": w.CaptureURL, "DueAt": w.Deadline.Format(time.DateOnly)}}
	w.sending++
	workflow.Go(w.root, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		if _, err := sendMessage(ctx, in); err != nil && ctx.Err() == nil {
			workflow.GetLogger(ctx).Warn("identity check: message to the subject not sent", "caseRef", in.CaseRef,
				"key", key, "error", err)
		}
	})
}

// checkAttended validates a case worker's images. A check still starting its capture flow (no status
// yet) accepts them: the handler waits for the start under the lock and checks again.
func (w *identityCheck) checkAttended(a AttendedImages) error {
	if w.Status != "" && w.Status.Final() {
		return invalidTransition("the identity check has ended")
	}
	if w.Status == domain.IdentityProcessing {
		return invalidTransition("the provider is verifying the identity already")
	}
	if a.UploadID == [16]byte{} {
		return reject("uploadId", "required")
	}
	return nil
}

// attended hands a case worker's uploaded images to the provider in place of the subject's capture: the
// check then waits for the provider's verification.
func (w *identityCheck) attended(ctx workflow.Context, a AttendedImages) (IdentityCheckState, error) {
	err := w.locked(ctx, func() error {
		if w.Status == "" {
			return invalidTransition("the identity check has ended")
		}
		if err := w.checkAttended(a); err != nil {
			return err
		}
		var started activities.IdentityStarted
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, attendedActivity), activities.A.StartAttendedCheck,
			activities.AttendedInput{IdentityRef: w.ref(), UploadID: a.UploadID, Actor: a.Actor}).Get(ctx, &started); err != nil {
			return err
		}
		w.Mode, w.Status = domain.IdentityModeAttended, domain.IdentityProcessing
		w.DossierID, w.ProcessID, w.CaptureURL = started.DossierID, started.ProcessID, ""
		w.pollEvery = w.in.Plan.PollFirst
		w.nextPoll = workflow.Now(ctx).Add(w.pollEvery)
		return nil
	})
	return w.IdentityCheckState, err
}

// finish records the outcome and deletes what the provider holds of the attempt: the process always, and
// the person's dossier too once their identity is accepted (its evidence kept as a digest).
func (w *identityCheck) finish(ctx workflow.Context) (activities.IdentityOutcome, error) {
	in := activities.FinishInput{IdentityRef: w.ref()}
	if w.Status == domain.IdentityExpired {
		in.Status = domain.IdentityExpired
	}
	var out activities.IdentityOutcome
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, identityActivity), activities.A.FinishIdentity,
		in).Get(ctx, &out); err != nil {
		return out, err
	}
	del := activities.DeleteInput{IdentityRef: w.ref(), Dossier: out.Status == domain.IdentityAccepted}
	if del.ProcessID == "" && !del.Dossier {
		return out, nil
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, identityActivity), activities.A.DeleteIdentityData,
		del).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("identity check: the provider's copy was not deleted", "caseRef", w.in.CaseRef,
			"error", err)
		return out, nil
	}
	out.ProviderDataDeleted = true
	return out, nil
}

// cancelled records an attempt its case no longer needs (the case closed) and deletes its process.
func (w *identityCheck) cancelled(ctx workflow.Context) {
	ctx, _ = workflow.NewDisconnectedContext(ctx)
	ctx = workflow.WithActivityOptions(ctx, identityActivity)
	in := activities.FinishInput{IdentityRef: w.ref(), Status: domain.IdentityCanceled}
	err := workflow.ExecuteActivity(ctx, activities.A.FinishIdentity, in).Get(ctx, nil)
	if err == nil && w.ProcessID != "" {
		err = workflow.ExecuteActivity(ctx, activities.A.DeleteIdentityData, activities.DeleteInput{IdentityRef: w.ref()}).Get(ctx, nil)
	}
	if err != nil {
		workflow.GetLogger(ctx).Error("identity check: cancelled attempt not cleaned up", "caseRef", w.in.CaseRef, "error", err)
	}
}

func (w *identityCheck) ref() activities.IdentityRef {
	return activities.IdentityRef{CaseRef: w.in.CaseRef, PersonID: w.in.PersonID, Attempt: w.in.Attempt,
		DossierID: w.DossierID, ProcessID: w.ProcessID, StartedAt: w.StartedAt}
}

func (w *identityCheck) locked(ctx workflow.Context, fn func() error) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	return fn()
}

// identityFailed is the outcome of an attempt whose workflow ended in error (the provider refused or was
// out for a day).
func identityFailed(attempt int, err error) activities.IdentityOutcome {
	reason := err.Error()
	var app *temporal.ApplicationError
	if errors.As(err, &app) {
		reason = app.Message()
	}
	return activities.IdentityOutcome{Attempt: attempt, Status: domain.IdentityFailed, FailReason: reason}
}
