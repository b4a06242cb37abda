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
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

func TestWebhookBackoffSchedule(t *testing.T) {
	p := WebhookPolicy{FirstRetry: 10 * time.Second, MaxRetry: time.Hour, Jitter: 0.2}
	var mid []time.Duration
	for n := 1; n <= 11; n++ {
		mid = append(mid, WebhookBackoff(p, n, 0.5))
	}
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 640 * time.Second, 1280 * time.Second, 2560 * time.Second, time.Hour, time.Hour}, mid)
	assert.Equal(t, 8*time.Second, WebhookBackoff(p, 1, 0))
	assert.InDelta(t, float64(12*time.Second), float64(WebhookBackoff(p, 1, 0.999999)), float64(time.Millisecond))
	assert.Equal(t, 48*time.Minute, WebhookBackoff(p, 40, 0), "the cap, less the jitter")
	d := DefaultWebhookPolicy
	assert.Equal(t, d, WebhookPolicy{}.WithDefaults())
	assert.Equal(t, 72*time.Hour, d.GiveUpAfter)
}

// webhookHarness runs a delivery workflow with its activities faked: one event to deliver, the outcomes
// of its attempts scripted, the workflow clock of each attempt kept.
type webhookHarness struct {
	t        *testing.T
	env      *testsuite.TestWorkflowEnvironment
	sub      uuid.UUID
	mu       sync.Mutex
	script   []activities.WebhookAttemptResult // an Outcome "" is an activity that failed (a lost worker)
	attempts []time.Time
	fetches  int
	disabled []string
	disabAt  time.Time
	notices  []activities.NotifyInput
}

func newWebhookHarness(t *testing.T, script ...activities.WebhookAttemptResult) *webhookHarness {
	var suite testsuite.WorkflowTestSuite
	h := &webhookHarness{t: t, env: suite.NewTestWorkflowEnvironment(), sub: uuid.New(), script: script}
	env := h.env
	env.OnActivity(activities.A.NextWebhookEvents, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WebhookBatchInput) (activities.WebhookBatch, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.fetches++
			if h.fetches > 1 || len(h.disabled) > 0 {
				return activities.WebhookBatch{Status: activities.WebhookDeleted}, nil
			}
			return activities.WebhookBatch{Status: activities.WebhookActive, Cursor: 7,
				Events: []activities.WebhookEvent{{Position: 9, EventID: uuid.New(), Type: "person.created"}}, Last: 11, Replays: 2}, nil
		})
	env.OnActivity(activities.A.DeliverWebhooks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WebhookDeliveries) (activities.WebhookDeliveriesResult, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			require.Equal(t, activities.WebhookDeliveries{SubscriptionID: h.sub, Positions: []int64{9}, Cursor: 7, Replays: 2}, in)
			h.attempts = append(h.attempts, env.Now())
			require.Less(t, len(h.attempts), 1000, "runaway")
			r := activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Status: 500}
			if len(h.script) > 0 {
				r, h.script = h.script[0], h.script[1:]
			}
			switch r.Outcome {
			case "":
				return activities.WebhookDeliveriesResult{}, errors.New("worker lost")
			case activities.WebhookDelivered:
				return activities.WebhookDeliveriesResult{Delivered: 1}, nil
			}
			return activities.WebhookDeliveriesResult{Last: r}, nil
		})
	env.OnActivity(activities.A.AdvanceWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WebhookAdvance) (bool, error) {
			assert.Equal(t, activities.WebhookAdvance{SubscriptionID: h.sub, From: 9, To: 11, Replays: 2}, in)
			return true, nil
		})
	env.OnActivity(activities.A.DisableWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WebhookDisable) error {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.disabled = append(h.disabled, in.Reason)
			h.disabAt = env.Now()
			return nil
		})
	env.OnActivity(activities.A.NotifyStaff, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.NotifyInput) (int, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.notices = append(h.notices, in)
			return 1, nil
		})
	return h
}

func (h *webhookHarness) run(p WebhookPolicy) {
	h.t.Helper()
	h.env.ExecuteWorkflow(Webhook, WebhookInput{SubscriptionID: h.sub, Policy: p})
	require.True(h.t, h.env.IsWorkflowCompleted())
	require.NoError(h.t, h.env.GetWorkflowError())
}

func (h *webhookHarness) gaps() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(h.attempts); i++ {
		out = append(out, h.attempts[i].Sub(h.attempts[i-1]))
	}
	return out
}

// Every attempt is its own activity, the waits between them workflow timers: exponential backoff with
// jitter, a Retry-After longer than the backoff waited instead, a lost attempt retried like a failed one.
func TestWebhookRetriesOnTimers(t *testing.T) {
	h := newWebhookHarness(t,
		activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Status: 500},
		activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Status: 429, RetryAfter: 5 * time.Minute},
		activities.WebhookAttemptResult{}, // the worker was lost mid-delivery
		activities.WebhookAttemptResult{Outcome: activities.WebhookDelivered, Status: 200})
	h.run(WebhookPolicy{FirstRetry: 10 * time.Second, MaxRetry: time.Hour, Jitter: 0.2, GiveUpAfter: 72 * time.Hour})
	require.Len(t, h.attempts, 4)
	g := h.gaps()
	assert.InDelta(t, float64(10*time.Second), float64(g[0]), float64(2*time.Second)+1)
	assert.Equal(t, 5*time.Minute, g[1], "Retry-After is longer than the backoff: it is waited")
	assert.InDelta(t, float64(40*time.Second), float64(g[2]), float64(8*time.Second)+1)
	assert.Empty(t, h.disabled)
}

// Failing for GiveUpAfter disables the subscription, the last attempt made at the limit, and the
// administrators are told.
func TestWebhookGivesUpAfterFailingTooLong(t *testing.T) {
	h := newWebhookHarness(t)
	h.run(WebhookPolicy{FirstRetry: time.Minute, MaxRetry: 20 * time.Minute, Jitter: 0.2, GiveUpAfter: 3 * time.Hour})
	require.Len(t, h.disabled, 1)
	assert.Contains(t, h.disabled[0], "failed for 3h0m0s")
	assert.Equal(t, 3*time.Hour, h.attempts[len(h.attempts)-1].Sub(h.attempts[0]))
	assert.Equal(t, h.attempts[len(h.attempts)-1], h.disabAt)
	for _, g := range h.gaps() {
		assert.LessOrEqual(t, g, 24*time.Minute)
	}
	require.Len(t, h.notices, 1)
	assert.Equal(t, domain.NotifyWebhookDisabled, h.notices[0].Kind)
	assert.Equal(t, []domain.Role{domain.RoleAdmin}, h.notices[0].Roles)
	assert.Contains(t, h.notices[0].Message, h.sub.String())
}

// 410 Gone stops at once: disabled, administrators told, no further attempt.
func TestWebhookGoneStops(t *testing.T) {
	h := newWebhookHarness(t, activities.WebhookAttemptResult{Outcome: activities.WebhookGone, Status: 410})
	h.run(WebhookPolicy{})
	assert.Len(t, h.attempts, 1)
	require.Len(t, h.disabled, 1)
	assert.Contains(t, h.disabled[0], "410")
	assert.Len(t, h.notices, 1)
}

// With nothing to deliver it reads the outbox every PollEvery, and continues as new after webhookRounds
// reads, its failing spell carried over.
func TestWebhookPollsThenContinuesAsNew(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	sub := uuid.New()
	var reads []time.Time
	env.OnActivity(activities.A.NextWebhookEvents, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.WebhookBatchInput) (activities.WebhookBatch, error) {
			reads = append(reads, env.Now())
			return activities.WebhookBatch{Status: activities.WebhookActive, Cursor: 5, Last: 5, Events: []activities.WebhookEvent{}}, nil
		})
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	env.ExecuteWorkflow(Webhook, WebhookInput{SubscriptionID: sub, Policy: WebhookPolicy{PollEvery: 7 * time.Second},
		State: WebhookState{Failures: 2, FailingSince: &since}})
	require.True(t, env.IsWorkflowCompleted())
	var can *workflow.ContinueAsNewError
	require.ErrorAs(t, env.GetWorkflowError(), &can)
	assert.Len(t, reads, webhookRounds)
	assert.Equal(t, 7*time.Second, reads[1].Sub(reads[0]))
	var next WebhookInput
	require.NoError(t, converter.GetDefaultDataConverter().FromPayloads(can.Input, &next))
	assert.Equal(t, sub, next.SubscriptionID)
	assert.Equal(t, 2, next.State.Failures)
}

// Woken while it waits to try again (a pause), it reads the subscription at once and, paused, sends
// nothing until woken again.
func TestWebhookWokenDuringBackoff(t *testing.T) {
	h := newWebhookHarness(t, activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Status: 500})
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalWebhookWake, nil) }, 2*time.Second)
	h.run(WebhookPolicy{FirstRetry: time.Hour, MaxRetry: time.Hour})
	assert.Len(t, h.attempts, 1, "no attempt after the wake: the subscription was read again (deleted)")
	assert.Equal(t, 2, h.fetches)
	assert.Empty(t, h.disabled)
}

// A run of events goes out in one activity; it stops at the first event not delivered, and after the
// backoff the next activity starts at that event, the cursor at the last one delivered; the events the
// filter passed over after it are skipped last.
func TestWebhookRunStopsAtTheFirstFailure(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	sub := uuid.New()
	fetches := 0
	env.OnActivity(activities.A.NextWebhookEvents, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.WebhookBatchInput) (activities.WebhookBatch, error) {
			if fetches++; fetches > 1 {
				return activities.WebhookBatch{Status: activities.WebhookDeleted}, nil
			}
			return activities.WebhookBatch{Status: activities.WebhookActive, Cursor: 7, Last: 13, Events: []activities.WebhookEvent{
				{Position: 9, EventID: uuid.New()}, {Position: 10, EventID: uuid.New()}, {Position: 12, EventID: uuid.New()}}}, nil
		})
	type call struct {
		in activities.WebhookDeliveries
		at time.Time
	}
	var calls []call
	env.OnActivity(activities.A.DeliverWebhooks, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WebhookDeliveries) (activities.WebhookDeliveriesResult, error) {
			calls = append(calls, call{in, env.Now()})
			if len(calls) == 1 {
				return activities.WebhookDeliveriesResult{Delivered: 2,
					Last: activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Status: 503}}, nil
			}
			return activities.WebhookDeliveriesResult{Delivered: len(in.Positions)}, nil
		})
	var advanced []activities.WebhookAdvance
	env.OnActivity(activities.A.AdvanceWebhook, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WebhookAdvance) (bool, error) {
			advanced = append(advanced, in)
			return true, nil
		})
	env.ExecuteWorkflow(Webhook, WebhookInput{SubscriptionID: sub, Policy: WebhookPolicy{FirstRetry: 10 * time.Second}})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, calls, 2)
	assert.Equal(t, activities.WebhookDeliveries{SubscriptionID: sub, Positions: []int64{9, 10, 12}, Cursor: 7}, calls[0].in)
	assert.Equal(t, activities.WebhookDeliveries{SubscriptionID: sub, Positions: []int64{12}, Cursor: 10}, calls[1].in,
		"the failed event again, after the two delivered")
	assert.InDelta(t, float64(10*time.Second), float64(calls[1].at.Sub(calls[0].at)), float64(2*time.Second)+1, "the backoff")
	assert.Equal(t, []activities.WebhookAdvance{{SubscriptionID: sub, From: 12, To: 13}}, advanced)
}
