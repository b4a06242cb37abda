package workflows

import (
	"fmt"
	"math/rand/v2"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// webhookRounds is how many reads of the outbox one run makes before it continues as new.
const webhookRounds = 200

// Webhook delivers a subscription's events (issue 16), one at a time in the outbox's order, at least once:
// it reads the events after the subscription's cursor, tries each until the subscriber answers 2xx (the
// activity then moves the cursor past it), waiting between attempts on a timer (exponential backoff with
// jitter, or the Retry-After asked for, if longer), so every attempt is in the history and the delivery
// log. A 410 Gone, or failing for GiveUpAfter, disables the subscription and tells the administrators. It
// waits for new events on a poll timer, and wakes at once on SignalWebhookWake; it ends when the
// subscription is disabled or deleted, and continues as new every webhookRounds reads.
func Webhook(ctx workflow.Context, in WebhookInput) error {
	p := in.Policy.WithDefaults()
	actx := workflow.WithActivityOptions(ctx, dbActivity)
	// One attempt is one request: never retried by Temporal, so each shows in the log and the backoff.
	dctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: p.AttemptTimeout,
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1}})
	wake := workflow.GetSignalChannel(ctx, SignalWebhookWake)
	drain := func() {
		for wake.ReceiveAsync(nil) {
		}
	}
	// wait waits d (d <= 0: until woken) or until woken, and reports whether it was woken.
	wait := func(d time.Duration) bool {
		woken := false
		sel := workflow.NewSelector(ctx)
		tctx, cancel := workflow.WithCancel(ctx)
		defer cancel()
		if d > 0 {
			sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {})
		}
		sel.AddReceive(wake, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); woken = true })
		sel.Select(ctx)
		drain()
		return woken
	}
	st := in.State
	stop := func(reason string) error {
		if err := workflow.ExecuteActivity(actx, activities.A.DisableWebhook,
			activities.WebhookDisable{SubscriptionID: in.SubscriptionID, Reason: reason}).Get(ctx, nil); err != nil {
			return err
		}
		now := workflow.Now(ctx)
		return workflow.ExecuteActivity(actx, activities.A.NotifyStaff, activities.NotifyInput{
			Key: fmt.Sprintf("webhook/%s/disabled/%d", in.SubscriptionID, now.Unix()), Kind: domain.NotifyWebhookDisabled,
			Message: fmt.Sprintf("Webhook subscription %s was disabled: %s.", in.SubscriptionID, reason), At: now,
			Roles: []domain.Role{domain.RoleAdmin}}).Get(ctx, nil)
	}
	for round := 0; ; round++ {
		if round >= webhookRounds || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain()
			return workflow.NewContinueAsNewError(ctx, Webhook, WebhookInput{SubscriptionID: in.SubscriptionID,
				Policy: in.Policy, State: st})
		}
		var b activities.WebhookBatch
		if err := workflow.ExecuteActivity(actx, activities.A.NextWebhookEvents,
			activities.WebhookBatchInput{SubscriptionID: in.SubscriptionID}).Get(ctx, &b); err != nil {
			return err
		}
		switch b.Status {
		case activities.WebhookDeleted, activities.WebhookDisabled:
			return nil
		case activities.WebhookPaused:
			st = WebhookState{}
			wait(0)
			continue
		}
		if len(b.Events) == 0 && b.Last == b.Cursor {
			wait(p.PollEvery)
			continue
		}
		cur, stale := b.Cursor, false
		// retry takes an attempt that did not deliver: the workflow ends (end) on 410 Gone or once failing
		// for GiveUpAfter, the subscription disabled; otherwise the backoff is waited, and stale tells that
		// the subscription changed (the attempt was stopped, or a wake came meanwhile) and is to be read again.
		retry := func(r activities.WebhookAttemptResult) (end, stale bool, err error) {
			switch r.Outcome {
			case activities.WebhookStopped:
				return false, true, nil
			case activities.WebhookGone:
				return true, false, stop("the receiver answered 410 Gone")
			}
			now := workflow.Now(ctx)
			if st.FailingSince == nil {
				st.FailingSince = &now
			}
			st.Failures++
			left := st.FailingSince.Add(p.GiveUpAfter).Sub(now)
			if left <= 0 {
				return true, false, stop(fmt.Sprintf("deliveries failed for %s", p.GiveUpAfter))
			}
			var jitter float64
			if err := workflow.SideEffect(ctx, func(workflow.Context) any { return rand.Float64() }).Get(&jitter); err != nil {
				return true, false, err
			}
			delay := max(WebhookBackoff(p, st.Failures, jitter), r.RetryAfter)
			return false, wait(min(delay, left)), nil
		}
		if workflow.GetVersion(ctx, "webhook-runs", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			// One activity per attempt, as the workflow began.
			for _, ev := range b.Events {
				for !stale {
					var r activities.WebhookAttemptResult
					err := workflow.ExecuteActivity(dctx, activities.A.DeliverWebhook, activities.WebhookDelivery{
						SubscriptionID: in.SubscriptionID, Position: ev.Position, Cursor: cur, Replays: b.Replays}).Get(ctx, &r)
					if err != nil {
						// The attempt's worker was lost, or the log could not be written: another attempt.
						r = activities.WebhookAttemptResult{Outcome: activities.WebhookFailed}
					}
					if r.Outcome == activities.WebhookDelivered {
						st, cur = WebhookState{}, ev.Position
						break
					}
					end, again, err := retry(r)
					if end {
						return err
					}
					stale = again
				}
				if stale {
					break
				}
			}
		} else {
			// One activity delivers the events in order until one is not delivered: that one is retried.
			positions := make([]int64, len(b.Events))
			for i, ev := range b.Events {
				positions[i] = ev.Position
			}
			for i := 0; i < len(positions) && !stale; {
				var r activities.WebhookDeliveriesResult
				err := workflow.ExecuteActivity(dctx, activities.A.DeliverWebhooks, activities.WebhookDeliveries{
					SubscriptionID: in.SubscriptionID, Positions: positions[i:], Cursor: cur, Replays: b.Replays}).Get(ctx, &r)
				if err != nil {
					r = activities.WebhookDeliveriesResult{Last: activities.WebhookAttemptResult{Outcome: activities.WebhookFailed}}
				}
				n := min(r.Delivered, len(positions)-i)
				if n > 0 {
					i += n
					st, cur = WebhookState{}, positions[i-1]
				}
				if r.Last.Outcome == "" && n > 0 {
					continue
				} else if r.Last.Outcome == "" {
					r.Last.Outcome = activities.WebhookFailed // nothing delivered and no attempt: never loop on it
				}
				end, again, err := retry(r.Last)
				if end {
					return err
				}
				stale = again
			}
		}
		if !stale && b.Last != cur {
			// Past the events the filter passed over after the last one delivered.
			if err := workflow.ExecuteActivity(actx, activities.A.AdvanceWebhook, activities.WebhookAdvance{
				SubscriptionID: in.SubscriptionID, From: cur, To: b.Last, Replays: b.Replays}).Get(ctx, nil); err != nil {
				return err
			}
		}
	}
}
