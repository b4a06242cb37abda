package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

const oneYear = 365 * oneDay

// grantHarness runs one grant with its activities faked: the clearance it rests on is valid until
// clearanceUntil (which a test may move, as a renewal would), and every status change and reconciliation
// is recorded with the workflow clock.
type grantHarness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	grant domain.AccessGrant

	mu             sync.Mutex
	clearanceUntil time.Time
	suspended      bool
	statuses       []statusCall
	reconciles     []time.Time
}

type statusCall struct {
	activities.GrantStatusInput
	At time.Time
}

func newGrant(t *testing.T, startIn, length, clearanceFor time.Duration) *grantHarness {
	t.Helper()
	env := newTestEnv()
	start := testStart.Add(startIn)
	return &grantHarness{t: t, env: env, clearanceUntil: testStart.Add(clearanceFor), grant: domain.AccessGrant{
		ID: domain.NewGrantID(), PersonID: uuid.New(), LevelID: "5", StartsAt: start, EndsAt: start.Add(length),
		TimeZone: "Europe/London", Status: domain.GrantScheduled}}
}

func (h *grantHarness) run(recordErr error) (GrantState, *sentUpdate) {
	h.t.Helper()
	h.env.OnActivity(activities.A.RecordGrant, mock.Anything, mock.Anything).Return(
		func(_ context.Context, g domain.AccessGrant) (domain.AccessGrant, error) { return g, recordErr })
	h.env.OnActivity(activities.A.CheckGrant, mock.Anything, mock.Anything).Return(
		func(context.Context, string) (activities.GrantCheck, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			now := h.env.Now()
			switch {
			case h.suspended:
				return activities.GrantCheck{Reason: "the person holds no valid SC clearance or above"}, nil
			case !now.Before(h.clearanceUntil):
				return activities.GrantCheck{Reason: "the person holds no valid SC clearance or above"}, nil
			}
			return activities.GrantCheck{Eligible: true, ValidUntil: h.clearanceUntil}, nil
		})
	h.env.OnActivity(activities.A.SetGrantStatus, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.GrantStatusInput) (domain.AccessGrant, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if len(h.statuses) >= runaway {
				return domain.AccessGrant{}, temporal.NewNonRetryableApplicationError("runaway", "Runaway", nil)
			}
			h.statuses = append(h.statuses, statusCall{GrantStatusInput: in, At: h.env.Now().UTC()})
			g := h.grant
			g.Status = in.Status
			g.EndReason = in.Reason
			h.grant = g
			return g, nil
		})
	h.env.OnActivity(activities.A.ReconcilePerson, mock.Anything, mock.Anything).Return(
		func(context.Context, uuid.UUID) (activities.PersonSync, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.reconciles = append(h.reconciles, h.env.Now().UTC())
			return activities.PersonSync{}, nil
		})
	h.env.OnUpsertTypedSearchAttributes(mock.Anything).Return(nil)
	requested := &sentUpdate{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateGrantRequested, "", &testsuite.TestUpdateCallback{
			OnAccept: func() { requested.Accepted = true },
			OnReject: func(err error) { requested.Rejected, requested.Err = true, err },
			OnComplete: func(v any, err error) {
				requested.Completed, requested.Err = true, err
				if st, ok := v.(GrantState); ok {
					requested.State.Case.CaseRef = st.Grant.ID // only to show it answered with the grant
				}
			},
		})
	}, 0)
	h.env.ExecuteWorkflow(AccessGrant, AccessGrantInput{Grant: h.grant})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
	var st GrantState
	require.NoError(h.t, h.env.GetWorkflowResult(&st))
	return st, requested
}

func (h *grantHarness) revokeAt(d time.Duration, r RevokeGrant) *sentUpdate {
	s := &sentUpdate{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(UpdateRevokeGrant, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() { s.Accepted = true },
			OnReject:   func(err error) { s.Rejected, s.Err = true, err },
			OnComplete: func(_ any, err error) { s.Completed, s.Err = true, err },
		}, r)
	}, d)
	return s
}

func (h *grantHarness) statusesSeen() []domain.GrantStatus {
	var out []domain.GrantStatus
	for _, s := range h.statuses {
		out = append(out, s.Status)
	}
	return out
}

// A five-year grant, in milliseconds: active at its start, ended at its end, the ACS reconciled each time.
func TestAccessGrantRunsFromStartToEnd(t *testing.T) {
	h := newGrant(t, 10*oneDay, 5*oneYear, 10*oneYear)
	final, requested := h.run(nil)

	assert.True(t, requested.Completed)
	assert.NoError(t, requested.Err)
	assert.Equal(t, []domain.GrantStatus{domain.GrantActive, domain.GrantEnded}, h.statusesSeen())
	assert.Equal(t, h.grant.StartsAt, h.statuses[0].At, "activated at its start")
	assert.Equal(t, h.grant.EndsAt, h.statuses[1].At, "ended at its end, not later")
	assert.Equal(t, []time.Time{h.grant.StartsAt, h.grant.EndsAt}, h.reconciles)
	assert.Equal(t, domain.GrantEnded, final.Grant.Status)
}

// A clearance that lapses before the grant's end takes the grant with it, at the moment it lapses.
func TestAccessGrantEndsWhenTheClearanceLapses(t *testing.T) {
	h := newGrant(t, 0, 5*oneYear, 2*oneYear)
	final, _ := h.run(nil)
	assert.Equal(t, []domain.GrantStatus{domain.GrantActive, domain.GrantRevoked}, h.statusesSeen())
	assert.Equal(t, testStart.Add(2*oneYear), h.statuses[1].At)
	assert.Contains(t, h.statuses[1].Reason, "no valid SC clearance")
	assert.Equal(t, domain.GrantRevoked, final.Grant.Status)
}

// A clearance renewed before it lapses lets the grant run to its own end.
func TestAccessGrantRunsOnAfterARenewal(t *testing.T) {
	h := newGrant(t, 0, 5*oneYear, 2*oneYear)
	h.env.RegisterDelayedCallback(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.clearanceUntil = testStart.Add(7 * oneYear)
	}, oneYear)
	h.run(nil)
	assert.Equal(t, []domain.GrantStatus{domain.GrantActive, domain.GrantEnded}, h.statusesSeen())
	assert.Equal(t, h.grant.EndsAt, h.statuses[1].At)
}

// A case worker revokes a running grant: it ends at once, naming who and why; a second revoke, or one
// without a reason, is refused.
func TestAccessGrantRevoked(t *testing.T) {
	h := newGrant(t, oneDay, oneYear, 5*oneYear)
	actor := uuid.New()
	noReason := h.revokeAt(10*oneDay, RevokeGrant{Actor: actor, Reason: "  "})
	revoke := h.revokeAt(20*oneDay, RevokeGrant{Actor: actor, Reason: "left the project"})
	h.run(nil)

	assert.True(t, noReason.Rejected, "a revoke without a reason is refused")
	assertErrType(t, noReason.Err, TypeRejectedInput, "revoke without reason")
	assert.True(t, revoke.Completed)
	require.Equal(t, []domain.GrantStatus{domain.GrantActive, domain.GrantRevoked}, h.statusesSeen())
	assert.Equal(t, testStart.Add(20*oneDay), h.statuses[1].At)
	assert.Equal(t, &actor, h.statuses[1].Actor)
	assert.Equal(t, "left the project", h.statuses[1].Reason)
}

// A clearance suspended mid-grant: the review's signal has the grant re-check at once and end.
func TestAccessGrantFollowsAClearanceChange(t *testing.T) {
	h := newGrant(t, 0, oneYear, 5*oneYear)
	h.env.RegisterDelayedCallback(func() {
		h.mu.Lock()
		h.suspended = true
		h.mu.Unlock()
		h.env.SignalWorkflow(SignalClearanceChanged, nil)
	}, 30*oneDay)
	h.run(nil)
	require.Equal(t, []domain.GrantStatus{domain.GrantActive, domain.GrantRevoked}, h.statusesSeen())
	assert.Equal(t, testStart.Add(30*oneDay), h.statuses[1].At, "revoked when the clearance changed, not at the grant's end")
}

// A grant the person may not hold is refused when requested, and nothing runs.
func TestAccessGrantRefusedWhenNotEligible(t *testing.T) {
	h := newGrant(t, oneDay, oneYear, 5*oneYear)
	_, requested := h.run(temporal.NewNonRetryableApplicationError("the person holds no valid SC clearance or above",
		activities.TypeNotEligible, nil))
	require.True(t, requested.Completed)
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, requested.Err, &appErr)
	assert.Equal(t, TypeGrantRefused, appErr.Type())
	var rej *Rejection
	require.ErrorAs(t, rejection(requested.Err), &rej)
	assert.True(t, rej.Conflict, "the API answers 409: the person's clearance does not allow it")
	assert.Empty(t, h.statuses)
	assert.Empty(t, h.reconciles)
}
