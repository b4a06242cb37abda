package workflows

import (
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// accessGrant is one grant's workflow state.
type accessGrant struct {
	GrantState
	// refused is why the grant could not be recorded; the "requested" update answers with it.
	refused error
	// revoke is set by the revoke update; recheck by a clearance change.
	revoke  *RevokeGrant
	recheck bool
	// revokeFailures counts revokes the database refused for good, the last one's error in revokeErr: the
	// revoke is refused to its caller and the grant goes on.
	revokeFailures int
	revokeErr      error
}

// AccessGrant runs one access grant: it records the grant, waits for its start, puts the level on the
// person's record in the ACS, waits for its end, a revoke, or the clearance it rests on lapsing, takes
// the level off, and records every step. The ACS is reconciled for the person rather than written
// directly, so the grant and the background sync converge on one truth: the sync would also remove a level
// whose end passed while this workflow could not run.
func AccessGrant(ctx workflow.Context, in AccessGrantInput) (GrantState, error) {
	w := &accessGrant{GrantState: GrantState{Grant: in.Grant}}
	if !domain.IsGrantID(in.Grant.ID) || !in.Grant.EndsAt.After(in.Grant.StartsAt) {
		return w.GrantState, reject("body", "invalid grant input")
	}
	if err := w.setup(ctx); err != nil {
		return w.GrantState, err
	}
	err := w.run(ctx)
	if err == nil {
		err = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	return w.GrantState, err
}

func (w *accessGrant) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryGrantState, func() (GrantState, error) { return w.GrantState, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandler(ctx, UpdateGrantRequested, func(ctx workflow.Context) (GrantState, error) {
		err := workflow.Await(ctx, func() bool { return w.Recorded || w.refused != nil })
		if err == nil {
			err = w.refused
		}
		return w.GrantState, err
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateRevokeGrant, func(ctx workflow.Context, r RevokeGrant) (GrantState, error) {
		if w.revoke == nil {
			w.revoke = &r
		}
		failures := w.revokeFailures
		err := workflow.Await(ctx, func() bool { return !w.Grant.Status.Open() || w.revokeFailures > failures })
		if err == nil && w.Grant.Status.Open() {
			err = w.revokeErr
		}
		return w.GrantState, err
	}, workflow.UpdateHandlerOptions{Validator: func(r RevokeGrant) error {
		switch {
		case strings.TrimSpace(r.Reason) == "":
			return reject("reason", "say why the grant is revoked")
		case tooLong(r.Reason):
			return reject("reason", "at most %d characters", domain.MaxFree)
		case !w.Grant.Status.Open():
			return invalidTransition("the grant is %s already", w.Grant.Status)
		}
		return nil
	}}); err != nil {
		return err
	}
	signals := workflow.GetSignalChannel(ctx, SignalClearanceChanged)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for signals.Receive(ctx, nil) {
			w.recheck = true
		}
	})
	return nil
}

func (w *accessGrant) run(ctx workflow.Context) error {
	db := workflow.WithActivityOptions(ctx, dbActivity)
	if err := workflow.ExecuteActivity(db, activities.A.RecordGrant, w.Grant).Get(ctx, &w.Grant); err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && (appErr.Type() == activities.TypeNotEligible || appErr.Type() == activities.TypeInvalidInput) {
			w.refused = temporal.NewNonRetryableApplicationError(appErr.Message(), TypeGrantRefused, nil)
			return nil
		}
		if failedForGood(ctx, err) { // the database refused the grant's data: refused as unprocessable
			w.refused = temporal.NewNonRetryableApplicationError(safeReason(err), activities.TypeDataRejected, nil)
			return nil
		}
		return err
	}
	w.Recorded = true

	// Scheduled: wait for the start, re-checking the clearance whenever it changes.
	for w.Grant.Status == domain.GrantScheduled {
		if ended, err := w.waitUntil(ctx, w.Grant.StartsAt); err != nil || ended {
			return err
		}
		if !workflow.Now(ctx).Before(w.Grant.StartsAt) {
			if err := w.setStatus(ctx, domain.GrantActive, "", nil); err != nil {
				return err
			}
		}
	}
	// Active: wait for the end, or for the clearance's last valid moment, when it is checked again (a
	// renewal moves it on).
	for w.Grant.Status == domain.GrantActive {
		until := w.Grant.EndsAt
		if !w.ClearanceUntil.IsZero() && w.ClearanceUntil.Before(until) {
			until = w.ClearanceUntil
		}
		if ended, err := w.waitUntil(ctx, until); err != nil || ended {
			return err
		}
		if !workflow.Now(ctx).Before(w.Grant.EndsAt) {
			return w.setStatus(ctx, domain.GrantEnded, "its end date passed", nil)
		}
	}
	return nil
}

// waitUntil waits for t, a revoke, or a clearance change, and handles the last two: ended is true once
// the grant is final. Each wake re-checks the person against the level's policy.
func (w *accessGrant) waitUntil(ctx workflow.Context, t time.Time) (ended bool, err error) {
	if err := w.check(ctx); err != nil || !w.Grant.Status.Open() {
		return true, err
	}
	woken := func() bool { return w.revoke != nil || w.recheck }
	if wait := t.Sub(workflow.Now(ctx)); wait > 0 {
		if _, err := workflow.AwaitWithTimeout(ctx, wait, woken); err != nil {
			return false, err
		}
	}
	if r := w.revoke; r != nil {
		actor := r.Actor
		err := w.setStatus(ctx, domain.GrantRevoked, r.Reason, &actor)
		if err != nil && failedForGood(ctx, err) {
			// The revoke could not be recorded: its caller is told, and the grant goes on as it was.
			w.revoke, w.revokeErr = nil, temporal.NewNonRetryableApplicationError(safeReason(err), activities.TypeDataRejected, nil)
			w.revokeFailures++
			return false, nil
		}
		return true, err
	}
	if w.recheck {
		w.recheck = false
		err := w.check(ctx)
		return !w.Grant.Status.Open(), err
	}
	return false, nil
}

// check re-reads the person's clearance: a grant whose clearance lapsed, was suspended or revoked is
// revoked.
func (w *accessGrant) check(ctx workflow.Context) error {
	var el activities.GrantCheck
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.CheckGrant,
		w.Grant.ID).Get(ctx, &el); err != nil {
		return err
	}
	if !el.Eligible {
		return w.setStatus(ctx, domain.GrantRevoked, el.Reason, nil)
	}
	w.ClearanceUntil = el.ValidUntil
	return nil
}

// setStatus records the grant's new status, then reconciles the person's record in the ACS. A grant the
// database holds as final already (revoked meanwhile) stays final.
func (w *accessGrant) setStatus(ctx workflow.Context, status domain.GrantStatus, reason string, actor *uuid.UUID) error {
	in := activities.GrantStatusInput{GrantID: w.Grant.ID, Status: status, Reason: reason, Actor: actor}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.SetGrantStatus,
		in).Get(ctx, &w.Grant); err != nil {
		return err
	}
	if err := workflow.UpsertTypedSearchAttributes(ctx, GrantStatusKey.ValueSet(string(w.Grant.Status))); err != nil {
		return err
	}
	var res activities.PersonSync
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, grantActivity), activities.A.ReconcilePerson,
		w.Grant.PersonID).Get(ctx, &res); err != nil {
		// The grant's state is recorded; the background sync converges the ACS to it.
		workflow.GetLogger(ctx).Warn("grant: the ACS was not reconciled; the sync will", "grant", w.Grant.ID, "error", err)
	}
	return nil
}
