package activities

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// AccessSettings configure how SignetAssure drives the access control system.
type AccessSettings struct {
	// Connector is the ACS; nil when none is configured (grants are still tracked, nothing is pushed).
	Connector  access.Connector
	Inactivity store.Inactivity
	// Concurrency bounds how many batches of persons a sync reconciles at once (a quarter of it, at least
	// two, each batch of up to syncBatch persons).
	Concurrency int
}

// Application error types of the access activities.
const (
	TypeAccessRefused = "AccessRefused" // the ACS refused for a reason retrying cannot fix (permissions, data)
	TypeNotEligible   = "NotEligible"   // the person does not hold the clearance the level demands
)

// PersonSync says what reconciling one person did.
type PersonSync struct {
	Ops      map[access.OpKind]int `json:",omitempty"`
	Findings int                   `json:",omitempty"`
	UserID   string                `json:",omitempty"`
}

// ReconcilePerson converges one person's record in the ACS to what SignetAssure approves now.
func (a *Activities) ReconcilePerson(ctx context.Context, personID uuid.UUID) (PersonSync, error) {
	if a.Access.Connector == nil {
		return PersonSync{}, nil
	}
	res, errs := a.reconcile(ctx, []uuid.UUID{personID}, nil, "")
	return res[0], accessError(errs[0])
}

// reconcile re-plans persons under their locks, with the approved state and the ACS's records read
// afresh, so a write is never based on a stale snapshot, and two writers never both create a record.
// unkeyed are records without our key that may be the persons' (from a full listing; nil otherwise). It
// says what it did for each person, or why it failed; one person's failure leaves the others alone.
//
// The persons are taken together: one round trip to the database locks them all and reads their approved
// state, one journals the operations about to be attempted and one transaction records what was done
// and the links. A person's records are read and written on the ACS one person at a time, the persons at
// once (the connector bounds the requests in flight).
func (a *Activities) reconcile(ctx context.Context, ids []uuid.UUID, unkeyed []access.User, syncID string) ([]PersonSync, []error) {
	res, errs := make([]PersonSync, len(ids)), make([]error, len(ids))
	// failAll gives err to every person not failed yet (or only those for which only holds).
	failAll := func(err error, only func(i int) bool) ([]PersonSync, []error) {
		for i := range errs {
			if errs[i] == nil && (only == nil || only(i)) {
				errs[i] = err
			}
		}
		return res, errs
	}
	release, ds, err := a.Store.LockForReplan(ctx, ids, time.Now(), a.Access.Inactivity)
	if err != nil {
		return failAll(err, nil)
	}
	defer release()
	desired := make(map[uuid.UUID]access.Desired, len(ds))
	for _, d := range ds {
		desired[d.PersonID] = d
	}
	acs := a.Access.Connector
	scope := activityScope(ctx)
	type planned struct {
		d        access.Desired
		found    []access.User
		ops      []access.Op
		findings []access.Finding
	}
	plans := make([]planned, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		d, ok := desired[id]
		if !ok {
			errs[i] = temporal.NewNonRetryableApplicationError("unknown person", TypeInvalidInput, store.ErrNotFound)
			continue
		}
		wg.Go(func() {
			found, err := acs.FindUsers(ctx, d.User.ExternalID)
			if err != nil {
				errs[i] = err
				return
			}
			ops, findings := access.Plan(d, found, unkeyed)
			for j := range ops {
				ops[j] = ops[j].Scoped(scope)
			}
			plans[i] = planned{d: d, found: found, ops: ops, findings: scoped(findings, scope)}
		})
	}
	wg.Wait()

	// What was found is recorded, and the first operation of each person journalled, before any is tried.
	var findings []access.Finding
	var first []access.Op
	for i, p := range plans {
		if errs[i] == nil {
			findings = append(findings, p.findings...)
			res[i].Findings = len(p.findings)
			if len(p.ops) > 0 {
				first = append(first, p.ops[0])
			}
		}
	}
	if err := a.recordFindings(ctx, findings); err != nil {
		return failAll(err, nil)
	}
	if err := a.Store.JournalPending(ctx, first, syncID); err != nil {
		return failAll(err, nil)
	}

	var mu sync.Mutex
	var done []store.DoneOp
	var links []store.Link
	for i, p := range plans {
		if errs[i] != nil {
			continue
		}
		wg.Go(func() {
			d := p.d
			userID, state := d.LinkedUserID, ""
			if g := access.Governed(p.found, d.LinkedUserID); g != nil {
				userID = g.ID
			}
			for j, op := range p.ops {
				id, err := a.apply(ctx, op, syncID, j > 0)
				if access.KindOf(err) == access.KindWrongRecord {
					err = errors.Join(err, a.wrongRecord(ctx, op, err))
				}
				if err != nil {
					errs[i] = err
					return
				}
				mu.Lock()
				done = append(done, store.DoneOp{Op: op, UserID: id})
				mu.Unlock()
				if res[i].Ops == nil {
					res[i].Ops = map[access.OpKind]int{}
				}
				res[i].Ops[op.Kind]++
				userID = id
				if op.Kind == access.OpDelete {
					userID, state = "", "removed"
				}
			}
			if len(p.ops) == 0 && (userID == d.LinkedUserID || userID == "") {
				return // nothing changed, and the link is known
			}
			res[i].UserID = userID
			pushed, link := d.User.Access, &userID
			switch {
			case state == "removed":
				pushed, link = access.Access{}, nil
			case d.User.Active:
				state = "active"
			default:
				state = "disabled"
			}
			mu.Lock()
			links = append(links, store.Link{PersonID: d.PersonID, UserID: link, State: state, Pushed: pushed})
			mu.Unlock()
		})
	}
	wg.Wait()
	// The operations done and the links, in one transaction: should it fail, the persons whose records were
	// written are failed too, and the next attempt finds what was written by their key.
	if err := a.Store.SaveSynced(ctx, acs.System(), syncID, done, links); err != nil {
		return failAll(err, func(i int) bool { return len(plans[i].ops) > 0 || res[i].UserID != "" })
	}
	return res, errs
}

// wrongRecord reports that the record an operation was planned on carries another key now (the ACS was
// restored or renumbered): nothing was written. The person's link to that id is dropped, so the record is
// looked up by the person's key again, and the id is never trusted for them.
func (a *Activities) wrongRecord(ctx context.Context, op access.Op, err error) error {
	var e *access.Error
	errors.As(err, &e)
	detail := map[string]any{"operation": string(op.Kind)}
	if _, ours := access.PersonOf(e.Found); ours || e.Found == "" {
		detail["recordKey"] = e.Found // another person's opaque key, or none; a foreign key could be personal
	} else {
		detail["recordKey"] = "another system's key"
	}
	f := access.Finding{Kind: access.FindingWrongRecord, PersonID: op.PersonID, UserID: op.UserID, Detail: detail,
		Action: "nothing written; the person's record is looked up again by their key"}
	f.ID = "f_wrong_record_" + op.ID
	return errors.Join(a.recordFindings(ctx, []access.Finding{f}), a.Store.DropLink(ctx, op.PersonID, op.UserID))
}

// activityScope names the activity carrying out a reconciliation: the same across its retries, new for
// every other run.
func activityScope(ctx context.Context) string {
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.RunID + "/" + info.ActivityID
}

func scoped(fs []access.Finding, scope string) []access.Finding {
	out := make([]access.Finding, len(fs))
	for i, f := range fs {
		out[i] = f.Scoped(scope)
	}
	return out
}

// apply carries out one operation, journalled pending before (unless the caller has: journalled) and
// failed after a failure, and returns the ACS record's id. The caller journals it done.
func (a *Activities) apply(ctx context.Context, op access.Op, syncID string, journal bool) (string, error) {
	if journal {
		if err := a.Store.JournalOp(ctx, op, syncID, "pending", ""); err != nil {
			return "", err
		}
	}
	acs := a.Access.Connector
	id := op.UserID
	var err error
	switch op.Kind {
	case access.OpCreate:
		var u access.User
		if u, err = acs.CreateUser(ctx, op.Desired); err == nil {
			id = u.ID
		} else if access.KindOf(err) == access.KindConflict {
			// Created meanwhile (a POST that timed out after the ACS saved it): the next attempt finds it.
			err = &access.Error{Kind: access.KindTransient, Op: "create user", Detail: "the record exists already; re-planning"}
		}
	case access.OpUpdate:
		err = acs.UpdateUser(ctx, op.Current, op.Desired)
	case access.OpSetAccess:
		err = acs.SetAccess(ctx, op.Current, op.Desired.Access)
	case access.OpDelete:
		err = acs.DeleteUser(ctx, op.Current)
	}
	if err != nil {
		if jErr := a.Store.JournalOp(ctx, op, syncID, "failed", err.Error()); jErr != nil {
			return "", errors.Join(err, jErr)
		}
		return "", err
	}
	return id, nil
}

// recordFindings stores findings and tells the security controllers of the new ones.
func (a *Activities) recordFindings(ctx context.Context, fs []access.Finding) error {
	if len(fs) == 0 {
		return nil
	}
	added, err := a.Store.RecordFindings(ctx, fs)
	if err != nil {
		return err
	}
	for _, f := range added {
		if _, err := a.NotifyStaff(ctx, NotifyInput{Key: "access-finding/" + f.ID, Kind: domain.AccessFindingNotification(string(f.Kind)),
			Message: findingMessage(f), At: time.Now(), Roles: []domain.Role{domain.RoleSecurityController}}); err != nil {
			return err
		}
	}
	return nil
}

func findingMessage(f access.Finding) string {
	switch f.Kind {
	case access.FindingUnapprovedLevel, access.FindingUnapprovedProfile:
		return "Access nobody approved was found on a person's badge record and removed."
	case access.FindingValidityChanged:
		return "A level's dates were changed by hand in the access control system; the approved dates were restored."
	case access.FindingDuplicate:
		return "A person has two records in the access control system. Choose the one to keep."
	case access.FindingPossibleMatch:
		return "A badge record without a SignetAssure key has the name of a person given access. Check it is not the same person."
	case access.FindingLevelDeleted:
		return "An access level with open grants was deleted in the access control system; its grants are blocked."
	case access.FindingWrongRecord:
		return "A badge record SignetAssure was about to change now belongs to someone else (the access control system was restored or renumbered). Nothing was written; the person's own record is looked up again."
	}
	return "Access control needs a look."
}

// accessError makes an ACS refusal that retrying cannot fix non-retryable, so it shows as a configuration
// problem in the Temporal UI instead of retrying forever.
func accessError(err error) error {
	var e *access.Error
	if errors.As(err, &e) && !e.Retryable() {
		return temporal.NewNonRetryableApplicationError(e.Error(), TypeAccessRefused, err)
	}
	return err
}

// SyncInput names a sync.
type SyncInput struct {
	SyncID  string
	Trigger string
}

// SyncResult is what a sync did.
type SyncResult struct {
	Persons  int                   `json:"persons"`  // in scope
	Changed  int                   `json:"changed"`  // with something to change
	Done     int                   `json:"done"`     // reconciled
	Errors   int                   `json:"errors"`   // still failing after every pass
	Ops      map[access.OpKind]int `json:"ops"`      // changes made, by kind
	Findings int                   `json:"findings"` // findings raised
	Passes   int                   `json:"passes"`
	Skipped  string                `json:"skipped,omitempty"`
	// Failed names the persons not reconciled (at most maxReportedFailures), each with the kind of its last
	// error: the access control system's message is in the person's journal, never here.
	Failed []PersonFailure `json:"failed,omitempty"`
}

// PersonFailure is one person a sync could not reconcile.
type PersonFailure struct {
	PersonID uuid.UUID `json:"personId"`
	// Kind is the access.ErrorKind of the last error ("validation", "forbidden", "wrong_record", ...), or
	// "error" for a failure of SignetAssure's own.
	Kind string `json:"kind"`
}

// Sync statuses: a sync in which any person failed is completed_with_errors, never plain completed.
const (
	SyncCompleted           = "completed"
	SyncCompletedWithErrors = "completed_with_errors"
	SyncFailed              = "failed"
)

// maxReportedFailures bounds the persons a sync's result names.
const maxReportedFailures = 200

// SyncProgress is a running sync's heartbeat, visible in the Temporal UI.
type SyncProgress struct{ Total, Done, Errors int }

// syncBatch is how many persons a sync reconciles together (see reconcile): the database is spoken to a
// few times per batch, not per person.
const syncBatch = 32

// syncBatches is how many batches a sync reconciles at once: enough that while some wait for the database
// the others keep the ACS's requests in flight (concurrency of them), few enough that persons are not held
// locked in large numbers.
func syncBatches(concurrency int) int { return max(2, concurrency/4) }

// maxSyncPasses bounds how often a sync goes back over the persons that failed.
const maxSyncPasses = 4

// SyncAccess reconciles the whole ACS: it refreshes the level catalogue, lists every record once, finds the
// persons whose record differs from what SignetAssure approves, and reconciles each of them (re-planned under
// the person's lock), several at once. One person's failure never stops the others: persons that failed
// for a reason that may pass are taken again in further passes, those the ACS refused outright are not,
// and a sync that leaves anyone failed ends completed_with_errors, naming them. A re-sync with nothing
// changed makes no writes. If the worker dies, the retried activity starts over: what was done is found
// done.
func (a *Activities) SyncAccess(ctx context.Context, in SyncInput) (SyncResult, error) {
	res := SyncResult{Ops: map[access.OpKind]int{}}
	if a.Access.Connector == nil {
		res.Skipped = "no access control system is configured"
		return res, nil
	}
	if err := a.Store.StartSync(ctx, in.SyncID, in.Trigger); err != nil {
		return res, err
	}
	work, unkeyed, err := a.syncPlan(ctx, &res)
	if err != nil {
		return res, a.failSync(ctx, in.SyncID, res, err)
	}
	res.Changed = len(work)

	var mu sync.Mutex
	var done, failed int
	lastKind := map[uuid.UUID]string{}
	var refused []uuid.UUID // refused outright: not taken again
	stop := a.reportProgress(ctx, in.SyncID, func() SyncProgress {
		mu.Lock()
		defer mu.Unlock()
		return SyncProgress{Total: res.Changed, Done: done, Errors: failed}
	})
	defer stop()
	for len(work) > 0 && res.Passes < maxSyncPasses {
		res.Passes++
		var retry []uuid.UUID
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(syncBatches(a.Access.Concurrency))
		for batch := range slices.Chunk(work, syncBatch) {
			g.Go(func() error {
				rs, errs := a.reconcile(gctx, batch, unkeyed, in.SyncID)
				mu.Lock()
				defer mu.Unlock()
				for i, id := range batch {
					r, err := rs[i], errs[i]
					switch {
					case err == nil:
						done++
						res.Findings += r.Findings
						for k, n := range r.Ops {
							res.Ops[k] += n
						}
					case gctx.Err() != nil:
						return gctx.Err()
					default:
						activity.GetLogger(ctx).Warn("access sync: person not reconciled", "person", id, "error", err)
						lastKind[id] = cmp.Or(string(access.KindOf(err)), "error")
						if e := (*access.Error)(nil); errors.As(err, &e) && !e.Retryable() {
							refused = append(refused, id)
						} else {
							retry = append(retry, id)
						}
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return res, err // cancelled, or the worker is shutting down: the retry starts over
		}
		work = retry
	}
	work = append(refused, work...)
	slices.SortFunc(work, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	res.Done, res.Errors = done, len(work)
	for _, id := range work[:min(len(work), maxReportedFailures)] {
		res.Failed = append(res.Failed, PersonFailure{PersonID: id, Kind: lastKind[id]})
	}
	mu.Lock()
	failed = len(work)
	mu.Unlock()
	if err := a.Store.SyncProgress(ctx, in.SyncID, res.Changed, done, failed); err != nil {
		return res, err
	}
	status := SyncCompleted
	if res.Errors > 0 {
		status = SyncCompletedWithErrors
	}
	return res, a.Store.FinishSync(ctx, in.SyncID, status, res)
}

// syncPlan reads the catalogue, every record and the approved state once, and returns the persons with
// something to change and the records without our key.
func (a *Activities) syncPlan(ctx context.Context, res *SyncResult) ([]uuid.UUID, []access.User, error) {
	acs := a.Access.Connector
	cat, err := acs.Catalogue(ctx)
	if err != nil {
		return nil, nil, err
	}
	gone, err := a.Store.RefreshLevels(ctx, cat.Levels)
	if err != nil {
		return nil, nil, err
	}
	var findings []access.Finding
	for _, id := range gone {
		findings = append(findings, access.Finding{ID: "f_level_deleted_" + id, Kind: access.FindingLevelDeleted,
			UserID: id, Action: "grants blocked", Detail: map[string]any{"levelId": id}})
	}
	users, err := acs.Users(ctx)
	if err != nil {
		return nil, nil, err
	}
	byKey := map[string][]access.User{}
	var unkeyed []access.User
	for _, u := range users {
		if _, ok := access.PersonOf(u.ExternalID); ok {
			byKey[u.ExternalID] = append(byKey[u.ExternalID], u)
		} else {
			unkeyed = append(unkeyed, u)
		}
	}
	now := time.Now()
	desired, err := a.Store.DesiredAccess(ctx, now, nil, a.Access.Inactivity)
	if err != nil {
		return nil, nil, err
	}
	// Records carrying the key of a person out of scope (no link: a restored database, say) are theirs too.
	known := map[string]bool{}
	for _, d := range desired {
		known[d.User.ExternalID] = true
	}
	var strays []uuid.UUID
	for key := range byKey {
		if id, _ := access.PersonOf(key); !known[key] {
			strays = append(strays, id)
		}
	}
	if len(strays) > 0 {
		more, err := a.Store.DesiredAccess(ctx, now, strays, a.Access.Inactivity)
		if err != nil {
			return nil, nil, err
		}
		desired = append(desired, more...)
	}
	res.Persons = len(desired)
	var work []uuid.UUID
	for _, d := range desired {
		found := byKey[d.User.ExternalID]
		ops, fs := access.Plan(d, found, unkeyed)
		findings = append(findings, fs...)
		// A record that needs no change but is not the one linked (written by a worker that died before it
		// saved the link) is taken too: reconciling saves the link.
		if g := access.Governed(found, d.LinkedUserID); len(ops) > 0 || (g != nil && g.ID != d.LinkedUserID) {
			work = append(work, d.PersonID)
		}
	}
	if err := a.recordFindings(ctx, scoped(findings, activityScope(ctx))); err != nil {
		return nil, nil, err
	}
	res.Findings += len(findings)
	return work, unkeyed, nil
}

func (a *Activities) failSync(ctx context.Context, id string, res SyncResult, err error) error {
	err = accessError(err)
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		res.Skipped = err.Error()
		if fErr := a.Store.FinishSync(ctx, id, SyncFailed, res); fErr != nil {
			return errors.Join(err, fErr)
		}
	}
	return err
}

// reportProgress heartbeats a sync's progress and writes it to the sync's row every few seconds, until
// the returned stop is called.
func (a *Activities) reportProgress(ctx context.Context, syncID string, progress func() SyncProgress) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			p := progress()
			activity.RecordHeartbeat(ctx, p)
			_ = a.Store.SyncProgress(ctx, syncID, p.Total, p.Done, p.Errors)
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// eventOverlap is how far before the newest event held the feed is read again, so a late event is not
// missed; events already held are skipped by id.
const eventOverlap = 10 * time.Minute

// PollAccessEvents reads the ACS's event feed from a little before the newest event held, and stores the
// events not seen before. It returns how many were new.
func (a *Activities) PollAccessEvents(ctx context.Context) (int, error) {
	if a.Access.Connector == nil {
		return 0, nil
	}
	latest, err := a.Store.LatestAccessEvent(ctx)
	if err != nil {
		return 0, err
	}
	since := latest.Add(-eventOverlap)
	if latest.IsZero() {
		since = time.Now().Add(-24 * time.Hour)
	}
	const batch = 1000
	added := 0
	for {
		events, err := a.Access.Connector.Events(ctx, since, batch)
		if err != nil {
			return added, accessError(err)
		}
		stored, err := a.Store.AddAccessEvents(ctx, events)
		if err != nil {
			return added, err
		}
		added += len(stored)
		if len(events) < batch || !events[len(events)-1].At.After(since) {
			return added, nil
		}
		since = events[len(events)-1].At
	}
}

// FollowInput says how often to read the event feed, and for how long before handing over to a fresh run.
type FollowInput struct {
	Every time.Duration
	For   time.Duration
}

// FollowAccessEvents reads the event feed every in.Every for in.For, heartbeating, so events reach a
// person's live log within seconds. A failed read is retried at the next tick.
func (a *Activities) FollowAccessEvents(ctx context.Context, in FollowInput) (int, error) {
	deadline := time.Now().Add(in.For)
	total := 0
	for time.Now().Before(deadline) {
		n, err := a.PollAccessEvents(ctx)
		total += n
		if err != nil {
			activity.GetLogger(ctx).Warn("access events: read failed", "error", err)
		}
		activity.RecordHeartbeat(ctx, total)
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(in.Every):
		}
	}
	return total, nil
}

// ExpireClearances marks clearances past their last valid day expired and returns the persons affected.
func (a *Activities) ExpireClearances(ctx context.Context) ([]uuid.UUID, error) {
	return a.Store.ExpireClearances(ctx, domain.DateOf(time.Now().UTC()))
}

// OpenGrants lists a person's scheduled and active grants.
func (a *Activities) OpenGrants(ctx context.Context, personID uuid.UUID) ([]string, error) {
	return a.Store.OpenGrantIDs(ctx, personID)
}

// RecordGrant stores a requested grant, after checking the person may hold the level at its start.
func (a *Activities) RecordGrant(ctx context.Context, g domain.AccessGrant) (domain.AccessGrant, error) {
	if stored, err := a.Store.Grant(ctx, g.ID); err == nil {
		return stored, nil // a retry
	}
	at := time.Now()
	if g.StartsAt.After(at) {
		at = g.StartsAt
	}
	el, err := a.Store.GrantEligibility(ctx, g.PersonID, g.LevelID, at)
	if err != nil {
		return g, nonRetryable(err)
	}
	if !el.Eligible {
		return g, temporal.NewNonRetryableApplicationError(el.Reason, TypeNotEligible, nil)
	}
	stored, err := a.Store.CreateGrant(ctx, g)
	return stored, nonRetryable(err)
}

// GrantCheck is whether a grant may run on, and until when its clearance lasts (the last valid day's end,
// UTC). It is the activities' own type, in the workflow's history: the store's Eligibility is converted
// to it.
type GrantCheck struct {
	Eligible   bool      `json:"eligible"`
	Reason     string    `json:"reason,omitempty"`
	ValidUntil time.Time `json:"validUntil"`
}

// CheckGrant re-checks a grant's person against its level's policy now.
func (a *Activities) CheckGrant(ctx context.Context, grantID string) (GrantCheck, error) {
	g, err := a.Store.Grant(ctx, grantID)
	if err != nil {
		return GrantCheck{}, nonRetryable(err)
	}
	el, err := a.Store.GrantEligibility(ctx, g.PersonID, g.LevelID, time.Now())
	return GrantCheck{Eligible: el.Eligible, Reason: el.Reason, ValidUntil: el.ValidUntil}, nonRetryable(err)
}

// GrantStatusInput moves a grant on.
type GrantStatusInput struct {
	GrantID string
	Status  domain.GrantStatus
	Reason  string
	Actor   *uuid.UUID
}

// SetGrantStatus records a grant's new status; a grant already ended keeps its end.
func (a *Activities) SetGrantStatus(ctx context.Context, in GrantStatusInput) (domain.AccessGrant, error) {
	g, err := a.Store.SetGrantStatus(ctx, in.Actor, in.GrantID, in.Status, in.Reason)
	return g, nonRetryable(err)
}

// String describes a sync result for logs.
func (r SyncResult) String() string {
	return fmt.Sprintf("persons=%d changed=%d done=%d errors=%d ops=%v findings=%d passes=%d",
		r.Persons, r.Changed, r.Done, r.Errors, r.Ops, r.Findings, r.Passes)
}
