package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// vettingCase is one case's workflow state and handlers.
type vettingCase struct {
	CaseState
	in VettingCaseInput
	// lock serialises officer actions and timers, so each sees the state the last one left.
	lock workflow.Mutex
	// wake is set when an action changes what the main loop waits for.
	wake bool
	// root is the workflow's context. Messages to the subject about the information awaited are sent in
	// subjectCtx (made from root), which is cancelled when the information arrives or the case closes;
	// sending counts those in flight.
	root          workflow.Context
	subjectCtx    workflow.Context
	subjectCancel workflow.CancelFunc
	sending       int
	// recording is the case as the event being written will leave it, while it is written.
	recording *domain.Case
	// local says the case's database activities run as local activities (cases started since "local-db"),
	// and actionsQueued that an officer action's run through the task queue all the same ("local-db" 2).
	local, actionsQueued bool
}

// VettingCase runs one vetting case: opened, identity-checked, with the vetting officer until an outcome
// is recorded. Officers act through updates; SLA reminders and escalation run on timers.
func VettingCase(ctx workflow.Context, in VettingCaseInput) (CaseState, error) {
	w := &vettingCase{in: in}
	if err := w.setup(ctx); err != nil {
		return CaseState{}, err
	}
	return w.run(ctx)
}

func (w *vettingCase) setup(ctx workflow.Context) error {
	in := w.in
	if !domain.IsCaseRef(in.CaseRef) || in.PersonID == uuid.Nil || !in.Type.Valid() || !in.Level.Valid() ||
		in.SLA.Due <= 0 {
		return reject("body", "invalid case input")
	}
	if in.Resume != nil {
		w.CaseState = *in.Resume
		w.in.Resume = nil
	} else {
		now := workflow.Now(ctx).UTC()
		w.SLA = domain.SLA{Due: in.SLA.Due}
		for _, r := range in.SLA.Reminders {
			if r > 0 && r < in.SLA.Due { // a reminder before the case was opened is no reminder
				w.SLA.Reminders = append(w.SLA.Reminders, r)
			}
		}
		slices.SortFunc(w.SLA.Reminders, func(a, b time.Duration) int { return cmp.Compare(b, a) }) // earliest first
		w.Case = domain.Case{CaseRef: in.CaseRef, PersonID: in.PersonID, Type: in.Type, RequestedLevel: in.Level,
			Status: domain.StatusOpened, IssuingAuthority: in.IssuingAuthority, OpenedBy: in.OpenedBy,
			OpenedAt: now, DueAt: now.Add(in.SLA.Due), ForSiteID: in.ForSiteID}
		if in.ForSiteID != nil {
			ref := in.ForCaseRef
			w.Case.ForCaseRef = &ref
		}
	}
	// The decision bounds: a case started before them replays with the checks it had.
	if w.in.Validity == nil && workflow.GetVersion(ctx, "decision-bounds", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		w.in.Validity = domain.DefaultValidityPolicy()
	}
	// The case's database writes run in its workflow task (1), but for an officer action's (2): a case
	// started before either replays as it ran.
	localDB := workflow.GetVersion(ctx, "local-db", workflow.DefaultVersion, 2)
	w.local = localDB != workflow.DefaultVersion
	w.actionsQueued = localDB >= 2
	w.lock = workflow.NewMutex(ctx)
	w.root = ctx
	if err := workflow.SetQueryHandler(ctx, QueryCaseState, func() (CaseState, error) { return w.CaseState, nil }); err != nil {
		return err
	}
	return w.registerUpdates(ctx)
}

func (w *vettingCase) run(ctx workflow.Context) (CaseState, error) {
	if !w.Ready {
		if err := w.locked(ctx, func() error { return w.open(ctx) }); err != nil {
			return w.CaseState, err
		}
		if w.DuplicateOf != "" {
			return w.endDuplicate(ctx)
		}
	}
	for !w.Case.Status.Closed() {
		// Messages to the subject still being tried, and a running identity check, finish first: they are
		// not carried over.
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() && w.sending == 0 && !w.IdentityRunning {
			return w.continueAsNew(ctx)
		}
		w.wake = false
		woken := func() bool { return w.wake || w.Case.Status.Closed() }
		at, due := w.nextTimer()
		if due == nil {
			if err := workflow.Await(ctx, woken); err != nil {
				return w.CaseState, err
			}
			continue
		}
		// A moment already past (the worker was down when it came) is acted on at once.
		var err error
		wasWoken := false
		if wait := at.Sub(workflow.Now(ctx)); wait > 0 {
			if wasWoken, err = workflow.AwaitWithTimeout(ctx, wait, woken); err != nil {
				return w.CaseState, err
			}
		}
		if !wasWoken {
			// A moment whose event the database refused is on the timeline as a failure: the case goes on.
			if err := w.locked(ctx, func() error { return w.fireDue(ctx) }); err != nil && !failedForGood(ctx, err) {
				return w.CaseState, err
			}
		}
	}
	w.stopSubjectMessages()
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.CaseState, err
	}
	// The state is read after the return is posted: Go leaves the order of w.CaseState and the call unspecified.
	err := w.returnToPartner(ctx)
	return w.CaseState, err
}

// fireDue runs what is due now, holding the case's lock. An officer's action may have held the lock when
// the timer fired and changed the case (closed it, received the information awaited): what was due then
// is looked up again, so a timer never acts on a case as it was before that action.
func (w *vettingCase) fireDue(ctx workflow.Context) error {
	if w.Case.Status.Closed() {
		return nil
	}
	at, fire := w.nextTimer()
	if fire == nil || at.After(workflow.Now(ctx)) {
		return nil
	}
	return fire(ctx)
}

func (w *vettingCase) continueAsNew(ctx workflow.Context) (CaseState, error) {
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return w.CaseState, err
	}
	next := w.in
	state := w.CaseState
	next.Resume = &state
	return w.CaseState, workflow.NewContinueAsNewError(ctx, VettingCase, next)
}

// alreadyOpen is the reference of the case an ApplyCaseEvent error says the person has open already, or "".
func alreadyOpen(err error) string {
	var appErr *temporal.ApplicationError
	var ref string
	if errors.As(err, &appErr) && appErr.Type() == activities.TypeCaseAlreadyOpen && appErr.Details(&ref) == nil {
		return ref
	}
	return ""
}

// endDuplicate ends a case that was never opened because the person has the same case open already
// (DuplicateOf): it wrote nothing, sent nothing, and its search attributes say so.
func (w *vettingCase) endDuplicate(ctx workflow.Context) (CaseState, error) {
	workflow.GetLogger(ctx).Info("case: not opened, the same case is open", "caseRef", w.Case.CaseRef, "openCase", w.DuplicateOf)
	if err := workflow.UpsertTypedSearchAttributes(ctx, CaseStatusKey.ValueSet(DuplicateCaseStatus)); err != nil {
		return w.CaseState, err
	}
	err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	return w.CaseState, err
}

// open records the case as opened, runs the identity check and hands the case to the vetting officer.
func (w *vettingCase) open(ctx workflow.Context) error {
	if w.Case.Version == 0 {
		if err := w.record(ctx, "opened", w.in.OpenedBy, fmt.Sprintf("%s case opened at level %s, due %s",
			w.Case.Type, w.Case.RequestedLevel, w.Case.DueAt.Format(time.DateOnly)), nil, nil); err != nil {
			if other := alreadyOpen(err); other != "" &&
				workflow.GetVersion(ctx, "one-open-case", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
				// Another request opened the same case first: this one ends having done nothing, and
				// answers with the case that was opened.
				w.DuplicateOf, w.Ready = other, true
				return nil
			}
			return err
		}
	}
	if err := w.identityCheck(ctx); err != nil {
		return err
	}
	if w.IdentityRunning {
		w.Ready = true // the case waits for the identity check, then goes to the officer
		return nil
	}
	err := w.record(ctx, "with_officer", nil, "Case is with the vetting officer", nil, func(c *domain.Case) {
		c.Status = domain.StatusWithOfficer
	})
	w.Ready = err == nil
	return err
}

// identityCheck verifies the subject's identity with the configured provider, in a child workflow the
// case waits for (identity_check) before it goes to the officer. With no provider configured, the vetting
// officer verifies documents in person, and the timeline says so.
func (w *vettingCase) identityCheck(ctx workflow.Context) error {
	if workflow.GetVersion(ctx, "identity-check", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		if err := w.readIdentityPlan(ctx); err != nil {
			return err
		}
		if w.IdentityPlan.Provider != "" {
			return w.startIdentityCheck(ctx, nil)
		}
	}
	return w.record(ctx, "identity_check", nil,
		"No identity provider configured: the vetting officer verifies identity documents in person",
		map[string]any{"provider": "none", "result": "not_performed"}, nil)
}

func (w *vettingCase) readIdentityPlan(ctx workflow.Context) error {
	return w.db(ctx, activities.A.IdentityPlan).Get(ctx, &w.IdentityPlan)
}

// startIdentityCheck starts the next attempt of the identity check (identity-check/<caseRef>). When it
// ends, its outcome goes on the timeline and the case to the officer. The check is cancelled (and cleans
// up at the provider) if the case closes first.
func (w *vettingCase) startIdentityCheck(ctx workflow.Context, actor *uuid.UUID) error {
	attempt := w.IdentityAttempt + 1
	summary := "Identity check started: the subject is sent a link to verify their identity document"
	if attempt > 1 {
		summary = fmt.Sprintf("Identity check attempt %d started: the subject is sent a new link", attempt)
	}
	if err := w.record(ctx, "identity_check", actor, summary, map[string]any{"provider": w.IdentityPlan.Provider,
		"attempt": attempt}, func(c *domain.Case) { c.Status = domain.StatusIdentityCheck }); err != nil {
		return err
	}
	w.IdentityAttempt, w.IdentityRunning = attempt, true
	child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(w.root, workflow.ChildWorkflowOptions{
		WorkflowID:            IdentityCheckWorkflowID(w.Case.CaseRef),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
	}), IdentityCheck, IdentityCheckInput{CaseRef: w.Case.CaseRef, PersonID: w.Case.PersonID, Attempt: attempt,
		Plan: w.IdentityPlan})
	workflow.Go(w.root, func(ctx workflow.Context) {
		var out activities.IdentityOutcome
		err := child.Get(ctx, &out)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			out = identityFailed(attempt, err)
		}
		if err := w.locked(ctx, func() error { return w.identityDone(ctx, out) }); err != nil {
			workflow.GetLogger(ctx).Error("case: identity check outcome not recorded", "caseRef", w.Case.CaseRef, "error", err)
		}
		w.wake = true
	})
	return nil
}

// identityDone puts an identity check's outcome on the timeline and the case with the officer. A
// mismatch with the person record, or a check that did not accept the identity, is flagged to the owner
// (or the security controllers).
func (w *vettingCase) identityDone(ctx workflow.Context, out activities.IdentityOutcome) error {
	w.IdentityRunning = false
	w.Identity = &out
	if w.Case.Status.Closed() {
		return nil
	}
	summary := identitySummary(out)
	detail := map[string]any{"attempt": out.Attempt, "status": out.Status, "mode": out.Mode,
		"mismatches": out.Mismatches, "providerDataDeleted": out.ProviderDataDeleted}
	// Copied into a map: the order the keys come in does not matter.
	//workflowcheck:ignore
	for k, v := range map[string]string{"documentType": out.DocumentType, "documentExpiry": out.DocumentExpiry,
		"issuingCountry": out.IssuingCountry, "evidenceSha256": out.EvidenceSHA256, "failReason": out.FailReason} {
		if v != "" {
			detail[k] = v
		}
	}
	if err := w.record(ctx, "identity_result", nil, summary, detail, func(c *domain.Case) {
		c.Status = domain.StatusWithOfficer
	}); err != nil {
		if !failedForGood(ctx, err) {
			return err
		}
		// The result's details were refused: the outcome alone goes on the timeline, and the case to the
		// officer, who can repeat the check.
		summary = "Identity check " + string(out.Status) + " (its details could not be recorded)"
		if err := w.record(ctx, "identity_result", nil, summary, map[string]any{"attempt": out.Attempt,
			"status": out.Status, "mode": out.Mode}, func(c *domain.Case) { c.Status = domain.StatusWithOfficer }); err != nil {
			w.Ready = true
			return err
		}
	}
	if !w.Ready {
		w.Ready = true
	}
	if out.Status == domain.IdentityAccepted && len(out.Mismatches) == 0 {
		return nil
	}
	to, roles := w.ownerOrControllers()
	return w.notify(ctx, domain.NotifyIdentityResult, "Case "+w.Case.CaseRef+": "+summary, to, roles)
}

// identitySummary says an identity check's outcome in a line, naming each mismatch.
func identitySummary(out activities.IdentityOutcome) string {
	s := "Identity check " + string(out.Status)
	if out.Status == domain.IdentityExpired {
		s = "Identity check expired: the subject did not complete it in time"
	}
	if out.FailReason != "" && out.Status != domain.IdentityAccepted {
		s += " (" + out.FailReason + ")"
	}
	names := map[string]string{domain.MismatchName: "name", domain.MismatchDateOfBirth: "date of birth",
		domain.MismatchDocumentExpired: "document expired"}
	var flags []string
	for _, m := range out.Mismatches {
		flags = append(flags, names[m])
	}
	if len(flags) > 0 {
		s += "; differs from the person record: " + strings.Join(flags, ", ")
	}
	return s
}

// nextTimer returns the next SLA or deadline moment and what to do then; nil when nothing is pending.
func (w *vettingCase) nextTimer() (time.Time, func(workflow.Context) error) {
	var at time.Time
	var fire func(workflow.Context) error
	consider := func(t time.Time, f func(workflow.Context) error) {
		if fire == nil || t.Before(at) {
			at, fire = t, f
		}
	}
	if w.RemindersSent < len(w.SLA.Reminders) {
		consider(w.Case.DueAt.Add(-w.SLA.Reminders[w.RemindersSent]), w.remindOwner)
	}
	if w.Case.EscalatedAt == nil {
		consider(w.Case.DueAt, w.escalate)
	}
	if w.Case.Status == domain.StatusAwaitingInformation && w.Case.InfoDueAt != nil && !w.InfoOverdueNotified {
		consider(*w.Case.InfoDueAt, w.informationOverdue)
	}
	if w.Case.Status == domain.StatusAwaitingInformation && w.Case.InfoDueAt != nil && len(w.InfoReminders) > 0 {
		consider(w.InfoReminders[0].At, w.remindSubject)
	}
	if w.Case.Status == domain.StatusWithPartner && w.Case.DelegationDueAt != nil {
		due := *w.Case.DelegationDueAt
		if w.DelegationRemindersSent < len(w.SLA.Reminders) {
			consider(due.Add(-w.SLA.Reminders[w.DelegationRemindersSent]), w.remindDelegation)
		}
		if !w.DelegationOverdueNotified {
			consider(due, w.delegationOverdue)
		}
	}
	return at, fire
}

func (w *vettingCase) remindOwner(ctx workflow.Context) error {
	before := w.SLA.Reminders[w.RemindersSent]
	w.RemindersSent++
	msg := fmt.Sprintf("Case %s is due %s (in %s)", w.Case.CaseRef, w.Case.DueAt.Format(time.DateOnly), domain.DurationText(before))
	to, roles := w.ownerOrControllers()
	if err := w.record(ctx, "sla_reminder", nil, msg, map[string]any{"dueIn": before.String()}, nil); err != nil {
		return err
	}
	return w.notify(ctx, domain.NotifySLAReminder, msg, to, roles)
}

func (w *vettingCase) escalate(ctx workflow.Context) error {
	now := workflow.Now(ctx).UTC()
	msg := fmt.Sprintf("Case %s passed its SLA (due %s): escalated to the security controller",
		w.Case.CaseRef, w.Case.DueAt.Format(time.DateOnly))
	if err := w.record(ctx, "escalated", nil, msg, nil, func(c *domain.Case) { c.EscalatedAt = &now }); err != nil {
		if failedForGood(ctx, err) {
			w.Case.EscalatedAt = &now // escalated once: its failure went to the controllers
		}
		return err
	}
	owner, _ := w.ownerOrControllers()
	return w.notify(ctx, domain.NotifySLAEscalation, msg, owner, []domain.Role{domain.RoleSecurityController})
}

func (w *vettingCase) informationOverdue(ctx workflow.Context) error {
	w.InfoOverdueNotified = true
	msg := fmt.Sprintf("Information requested on case %s was due %s and has not been received",
		w.Case.CaseRef, w.Case.InfoDueAt.Format(time.DateOnly))
	if err := w.record(ctx, "information_overdue", nil, msg, nil, nil); err != nil {
		return err
	}
	to, roles := w.ownerOrControllers()
	return w.notify(ctx, domain.NotifyInformationOverdue, msg, to, roles)
}

// policyActivity reads the reminder policy when information is requested: a few quick attempts, then the
// request goes on without reminders (the subject is still told of the request, and the owner of its
// deadline).
var policyActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 30 * time.Second,
	RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumAttempts: 3,
		NonRetryableErrorTypes: activities.PermanentErrors},
}

// informSubject tells the subject what information is requested of them and by when, and sets the
// reminders the reminder policy asks for before that date, those still ahead. Called once the request is
// on the timeline: the request's version keys its messages.
func (w *vettingCase) informSubject(ctx workflow.Context, description string, due time.Time) {
	var policy domain.ReminderPolicy
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, policyActivity), activities.A.ReminderPolicy).
		Get(ctx, &policy); err != nil {
		workflow.GetLogger(ctx).Warn("case: reminder policy not read; no reminders of the information requested",
			"caseRef", w.Case.CaseRef, "error", err)
	}
	now := workflow.Now(ctx)
	w.InfoRequestVersion = w.Case.Version
	w.InfoReminders = nil
	for _, d := range policy.InfoReminderDays {
		at := due.Add(-time.Duration(d) * 24 * time.Hour)
		if d > 0 && at.After(now) && !slices.ContainsFunc(w.InfoReminders, func(r SubjectReminder) bool { return r.Days == d }) {
			w.InfoReminders = append(w.InfoReminders, SubjectReminder{Days: d, At: at})
		}
	}
	slices.SortFunc(w.InfoReminders, func(a, b SubjectReminder) int { return a.At.Compare(b.At) })
	w.sendToSubject(fmt.Sprintf("%s/%d/information", w.Case.CaseRef, w.Case.Version), "information_requested",
		map[string]string{"Description": description, "DueAt": due.Format(time.DateOnly)})
}

// remindSubject reminds the subject of the information awaited. When the case could not act for a while
// and a later reminder is due as well, that one alone is sent.
func (w *vettingCase) remindSubject(ctx workflow.Context) error {
	r := w.InfoReminders[0]
	w.InfoReminders = w.InfoReminders[1:]
	if len(w.InfoReminders) > 0 && !w.InfoReminders[0].At.After(workflow.Now(ctx)) {
		return nil
	}
	w.sendToSubject(fmt.Sprintf("%s/%d/reminder/%d", w.Case.CaseRef, w.InfoRequestVersion, r.Days), "information_reminder",
		map[string]string{"Description": w.Case.InfoRequested, "DueAt": w.Case.InfoDueAt.UTC().Format(time.DateOnly)})
	return nil
}

// sendToSubject messages the case's subject on their preferred channel without holding up the case: the
// message is tried for a day on its own, and one that ultimately fails is logged. Its key makes it one
// message however often it is tried.
func (w *vettingCase) sendToSubject(key, template string, vars map[string]string) {
	if w.subjectCtx == nil {
		w.subjectCtx, w.subjectCancel = workflow.WithCancel(w.root)
	}
	person := w.Case.PersonID
	in := activities.SendInput{Key: key, PersonID: &person, Template: template, Vars: vars, CaseRef: w.Case.CaseRef}
	w.sending++
	workflow.Go(w.subjectCtx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		_, err := sendMessage(ctx, in)
		if err != nil && ctx.Err() == nil {
			workflow.GetLogger(ctx).Warn("case: message to the subject not sent", "caseRef", in.CaseRef, "key", key,
				"error", err)
		}
	})
}

// stopSubjectMessages drops the reminders of the information awaited and stops the messages about it still
// being tried: the information arrived, or the case closed.
func (w *vettingCase) stopSubjectMessages() {
	w.InfoReminders = nil
	if w.subjectCancel != nil {
		w.subjectCancel()
		w.subjectCtx, w.subjectCancel = nil, nil
	}
}

// ownerOrControllers names who hears about a case: its owner, or the security controllers while it has none.
func (w *vettingCase) ownerOrControllers() ([]uuid.UUID, []domain.Role) {
	if w.Case.OwnerID != nil {
		return []uuid.UUID{*w.Case.OwnerID}, nil
	}
	return nil, []domain.Role{domain.RoleSecurityController}
}

func (w *vettingCase) notify(ctx workflow.Context, kind domain.NotificationKind, msg string, to []uuid.UUID, roles []domain.Role) error {
	return w.notifyKey(ctx, fmt.Sprintf("%s/%d", w.Case.CaseRef, w.Case.Version), kind, msg, to, roles)
}

// notifyKey notifies staff once per key.
func (w *vettingCase) notifyKey(ctx workflow.Context, key string, kind domain.NotificationKind, msg string, to []uuid.UUID, roles []domain.Role) error {
	return w.db(ctx, activities.A.NotifyStaff, activities.NotifyInput{
		Key: key, Kind: kind, CaseRef: w.Case.CaseRef,
		Message: msg, At: workflow.Now(ctx).UTC(), UserIDs: to, Roles: roles,
	}).Get(ctx, nil)
}

// record applies change to the case, adds a timeline event and writes both to the read model; the
// search attributes follow the status, level and owner.
func (w *vettingCase) record(ctx workflow.Context, kind string, actor *uuid.UUID, summary string,
	detail map[string]any, change func(*domain.Case)) error {
	next := w.Case
	if change != nil {
		change(&next)
	}
	if actor != nil && *actor == uuid.Nil {
		actor = nil // an outside party (a partner), not a staff user
	}
	now := workflow.Now(ctx).UTC()
	next.Version++
	next.UpdatedAt = now
	ev := domain.CaseEvent{CaseRef: next.CaseRef, Seq: next.Version, At: now, Kind: kind, ActorID: actor,
		Summary: summary, Detail: detail}
	w.recording = &next
	err := w.db(ctx, activities.A.ApplyCaseEvent, activities.CaseEventInput{Case: next, Event: ev}).Get(ctx, nil)
	w.recording = nil
	if err != nil {
		if kind != kindRecordingFailed && failedForGood(ctx, err) {
			w.recordingFailed(ctx, kind, err)
		}
		return err
	}
	prev := w.Case
	w.Case = next
	if prev.Status != next.Status || !sameID(prev.OwnerID, next.OwnerID) || (prev.Version == 0 && !w.startedIndexed(ctx)) {
		level := next.RequestedLevel
		if next.OutcomeLevel != nil {
			level = *next.OutcomeLevel
		}
		return workflow.UpsertTypedSearchAttributes(ctx, caseSearchAttributeUpdates(next.CaseRef, next.Type,
			next.Status, level, next.OwnerID)...)
	}
	return nil
}

// startedIndexed reports whether the case was started with the search attributes its first event would
// set (every start does), so that event need not set them again. Cases started before "local-db" did.
func (w *vettingCase) startedIndexed(ctx workflow.Context) bool {
	ref, ok := workflow.GetTypedSearchAttributes(ctx).GetKeyword(CaseRefKey)
	return w.local && ok && ref == w.Case.CaseRef
}

// asRecorded shows validators the case as the event being written will leave it, until the returned
// function puts the case back. The database, which the API and the console read, has the event as soon as
// it is written, before the workflow hears back: an officer acting on what they see then is not refused.
// The handler checks again under the lock, once the write has ended.
func (w *vettingCase) asRecorded() (restore func()) {
	if w.recording == nil {
		return func() {}
	}
	current := w.Case
	w.Case = *w.recording
	return func() { w.Case = current }
}

// validator is check run against the case as it is being recorded (asRecorded).
func validator[T any](w *vettingCase, check func(T) error) func(T) error {
	return func(v T) error {
		defer w.asRecorded()()
		return check(v)
	}
}

// kindRecordingFailed is the timeline event of an event the database refused.
const kindRecordingFailed = "recording_failed"

// failedForGood reports whether err is an activity's permanent failure (the database refused the data, or
// input no retry can fix), which the workflow records and goes on from rather than failing or retrying.
// Histories from before it did are replayed as they ran.
func failedForGood(ctx workflow.Context, err error) bool {
	// A local activity's error is its application error itself, not wrapped in an ActivityError.
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !slices.Contains(activities.PermanentErrors, appErr.Type()) {
		return false
	}
	return workflow.GetVersion(ctx, "permanent-failure", workflow.DefaultVersion, 1) != workflow.DefaultVersion
}

// safeReason is what a permanent failure says on the timeline and to staff: the application error's own
// message, which names error codes and schema objects, never the data refused.
func safeReason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	return "unknown error"
}

// recordingFailed puts on the timeline that an event of kind could not be recorded, and why (never the
// event's data), and tells the owner or the security controllers. The event's change was not applied;
// the case goes on as it was.
func (w *vettingCase) recordingFailed(ctx workflow.Context, kind string, err error) {
	reason := safeReason(err)
	msg := fmt.Sprintf("A %s event could not be recorded and was not applied: %s", kind, reason)
	if rerr := w.record(ctx, kindRecordingFailed, nil, msg, map[string]any{"kind": kind, "reason": reason}, nil); rerr != nil {
		workflow.GetLogger(ctx).Error("case: recording failure not recorded", "caseRef", w.Case.CaseRef, "kind", kind,
			"error", rerr)
	}
	to, roles := w.ownerOrControllers()
	if nerr := w.notifyKey(ctx, fmt.Sprintf("%s/%d/%s", w.Case.CaseRef, w.Case.Version, kindRecordingFailed),
		domain.NotifyRecordingFailed, "Case "+w.Case.CaseRef+": "+msg, to, roles); nerr != nil {
		workflow.GetLogger(ctx).Error("case: recording failure not notified", "caseRef", w.Case.CaseRef, "kind", kind,
			"error", nerr)
	}
}

// db runs one of the case's short database activities (runDB): in the workflow task for the case's own
// course (its opening, its timers, what its activities and children answer), through the task queue for an
// officer action (an update). A local activity writes before its workflow task completes, and Temporal
// drops, rather than retries, an update first delivered in a task it refuses (one closing the case as an
// unseen event arrives, say): the write would stay on the timeline with no workflow behind it, and the
// case's next event would be written over it. An activity runs only once the task scheduling it, with the
// update's acceptance, is recorded. The case's own course is safe either way: a refused task is run again
// from the same history, and writes the same events.
func (w *vettingCase) db(ctx workflow.Context, activity any, args ...any) workflow.Future {
	inAction := w.actionsQueued && ctx.Value(actionKey{}) != nil
	return runDB(ctx, w.local && !inAction, activity, args...)
}

// locked runs fn holding the case's lock.
func (w *vettingCase) locked(ctx workflow.Context, fn func() error) error {
	if err := w.lock.Lock(ctx); err != nil {
		return err
	}
	defer w.lock.Unlock()
	return fn()
}

func sameID(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
