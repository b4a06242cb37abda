package activities

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/webhooks"
)

// WebhookSettings are what webhook deliveries need.
type WebhookSettings struct {
	// Keyring opens the subscriptions' sealed secrets (the partner credentials' keyring).
	Keyring *partners.Keyring
	// AllowLoopback lets deliveries go to loopback addresses (loopback development, as for partners).
	AllowLoopback bool
	// Timeout bounds one delivery (default webhooks.DefaultTimeout).
	Timeout time.Duration
}

func (a *Activities) deliverer() webhooks.Deliverer {
	return webhooks.Deliverer{Store: a.Store, Keyring: a.Webhooks.Keyring, AllowLoopback: a.Webhooks.AllowLoopback,
		Timeout: a.Webhooks.Timeout}
}

// The statuses NextWebhookEvents reports: a subscription's own, or WebhookDeleted when it is no longer there.
const (
	WebhookActive   = store.WebhookActive
	WebhookPaused   = store.WebhookPaused
	WebhookDisabled = store.WebhookDisabled
	WebhookDeleted  = "deleted"
)

// WebhookBatchInput asks for the next events of a subscription.
type WebhookBatchInput struct {
	SubscriptionID uuid.UUID
	Limit          int
}

// WebhookEvent is an event to deliver, by opaque ids only (the delivery reads the event itself).
type WebhookEvent struct {
	Position int64
	EventID  uuid.UUID
	Type     events.Type
}

// WebhookBatch is what a subscription has to deliver next.
type WebhookBatch struct {
	// Status is the subscription's (store.WebhookActive...), or WebhookDeleted.
	Status string
	// Cursor is the subscription's cursor; Events the events after it its filter takes (in order), Last the
	// last event read (Cursor when none): the cursor once they are delivered.
	Cursor int64
	Events []WebhookEvent
	Last   int64
	// Replays is how many times the cursor was moved back: a delivery moves it only in the same replay.
	Replays int
}

// NextWebhookEvents reads the events after a subscription's cursor that its type filter takes.
func (a *Activities) NextWebhookEvents(ctx context.Context, in WebhookBatchInput) (WebhookBatch, error) {
	sub, err := a.Store.Webhook(ctx, in.SubscriptionID)
	if errors.Is(err, store.ErrNotFound) {
		return WebhookBatch{Status: WebhookDeleted}, nil
	} else if err != nil {
		return WebhookBatch{}, err
	}
	b := WebhookBatch{Status: sub.Status, Cursor: sub.Cursor, Last: sub.Cursor, Events: []WebhookEvent{}, Replays: sub.Replays}
	if sub.Status != store.WebhookActive {
		return b, nil
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 100
	}
	recs, err := a.Store.EventsAfter(ctx, sub.Cursor, limit)
	if errors.Is(err, store.ErrNotFound) {
		// The cursor names no event (the outbox never loses one; a cursor set by hand): start over.
		return b, temporal.NewNonRetryableApplicationError("the subscription's cursor names no event", TypeInvalidInput, err)
	} else if err != nil {
		return b, err
	}
	for _, r := range recs {
		if len(sub.EventTypes) == 0 || slices.Contains(sub.EventTypes, r.Type) {
			b.Events = append(b.Events, WebhookEvent{Position: r.ID, EventID: r.EventID, Type: r.Type})
		}
		b.Last = r.ID
	}
	return b, nil
}

// WebhookDelivery is one attempt at delivering an event, the subscription's cursor being Cursor after
// Replays replays.
type WebhookDelivery struct {
	SubscriptionID uuid.UUID
	Position       int64
	Cursor         int64
	Replays        int
}

// Outcomes of a delivery attempt.
const (
	WebhookDelivered = "delivered" // 2xx: the cursor moved past the event
	WebhookFailed    = "failed"    // to be tried again
	WebhookGone      = "gone"      // 410 Gone: the subscriber wants no more
	WebhookStopped   = "stopped"   // not sent: the subscription is paused, disabled, deleted or was replayed
)

// WebhookAttemptResult is how an attempt went.
type WebhookAttemptResult struct {
	Outcome    string
	Attempt    int
	Status     int
	RetryAfter time.Duration
}

// DeliverWebhook makes one attempt at delivering an event to an active subscription whose cursor is still
// in.Cursor, logs it and, on a 2xx answer, moves the cursor to the event. A subscription no longer active,
// or whose cursor moved (a replay), is not sent to (WebhookStopped).
func (a *Activities) DeliverWebhook(ctx context.Context, in WebhookDelivery) (WebhookAttemptResult, error) {
	sub, err := a.Store.Webhook(ctx, in.SubscriptionID)
	if errors.Is(err, store.ErrNotFound) {
		return WebhookAttemptResult{Outcome: WebhookStopped}, nil
	} else if err != nil {
		return WebhookAttemptResult{}, err
	}
	if sub.Status != store.WebhookActive || sub.Cursor != in.Cursor || sub.Replays != in.Replays {
		return WebhookAttemptResult{Outcome: WebhookStopped}, nil
	}
	att, res, err := a.deliverer().Deliver(ctx, sub, in.Position, uuid.Nil)
	if errors.Is(err, webhooks.ErrEventNotFound) {
		return WebhookAttemptResult{}, temporal.NewNonRetryableApplicationError(err.Error(), TypeInvalidInput, err)
	} else if err != nil {
		return WebhookAttemptResult{}, err
	}
	out := WebhookAttemptResult{Outcome: WebhookFailed, Attempt: att.Attempt, Status: res.Status, RetryAfter: res.RetryAfter}
	switch {
	case res.OK():
		moved, err := a.Store.AdvanceWebhook(ctx, in.SubscriptionID, in.Replays, in.Cursor, in.Position)
		if err != nil {
			return out, err
		}
		out.Outcome = WebhookDelivered
		if !moved {
			out.Outcome = WebhookStopped
		}
	case res.Status == http.StatusGone:
		out.Outcome = WebhookGone
	}
	return out, nil
}

// WebhookDeliveries are the next events to deliver to a subscription, at Positions in order, the cursor
// being Cursor after Replays replays.
type WebhookDeliveries struct {
	SubscriptionID uuid.UUID
	Positions      []int64
	Cursor         int64
	Replays        int
}

// WebhookDeliveriesResult is how far a run of deliveries got: the first Delivered events were delivered
// (the cursor is at the last of them); Last is how the attempt at the next one went, with an Outcome "" when
// none was made (every event delivered, or the activity's time ran out).
type WebhookDeliveriesResult struct {
	Delivered int
	Last      WebhookAttemptResult
}

// DeliverWebhooks delivers events in order, one attempt each as DeliverWebhook makes it, until one is not
// delivered or the activity's time is too short for another delivery: one activity for the run of events a
// healthy subscriber takes at once. An error after some were delivered is the next one's failed attempt.
func (a *Activities) DeliverWebhooks(ctx context.Context, in WebhookDeliveries) (WebhookDeliveriesResult, error) {
	var out WebhookDeliveriesResult
	timeout := a.deliverer().Timeout
	if timeout <= 0 {
		timeout = webhooks.DefaultTimeout
	}
	deadline, bounded := ctx.Deadline()
	cursor := in.Cursor
	for _, pos := range in.Positions {
		if out.Delivered > 0 && bounded && time.Until(deadline) < 2*timeout {
			break
		}
		r, err := a.DeliverWebhook(ctx, WebhookDelivery{SubscriptionID: in.SubscriptionID, Position: pos, Cursor: cursor,
			Replays: in.Replays})
		if err != nil && out.Delivered == 0 {
			return out, err
		} else if err != nil {
			out.Last = WebhookAttemptResult{Outcome: WebhookFailed}
			break
		}
		if r.Outcome != WebhookDelivered {
			out.Last = r
			break
		}
		out.Delivered, cursor = out.Delivered+1, pos
	}
	return out, nil
}

// WebhookAdvance moves a subscription's cursor over events its filter passed by.
type WebhookAdvance struct {
	SubscriptionID uuid.UUID
	From, To       int64
	Replays        int
}

// AdvanceWebhook moves the cursor from From to To; false when it is no longer From after Replays replays
// (a replay moved it).
func (a *Activities) AdvanceWebhook(ctx context.Context, in WebhookAdvance) (bool, error) {
	return a.Store.AdvanceWebhook(ctx, in.SubscriptionID, in.Replays, in.From, in.To)
}

// WebhookDisable stops a subscription's delivery, and why.
type WebhookDisable struct {
	SubscriptionID uuid.UUID
	Reason         string
}

// DisableWebhook disables a subscription (a repeat changes nothing more; one deleted is left deleted).
func (a *Activities) DisableWebhook(ctx context.Context, in WebhookDisable) error {
	_, err := a.Store.DisableWebhook(ctx, in.SubscriptionID, in.Reason)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrWrongState) {
		return nil // deleted, or disabled already
	}
	return err
}
