package worker

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/store"
)

// WakerSettings are how WakeWebhooks paces itself.
type WakerSettings struct {
	// Gap is the least time between two rounds of waking: events committed within it are gathered into
	// the next round (the first event after a quiet spell wakes at once).
	Gap time.Duration
	// Retry is how long a worker that does not listen (another does, or the connection was lost) waits
	// before it tries again.
	Retry time.Duration
}

// DefaultWaker: rounds at least 100 ms apart; try to listen again every 10 s.
var DefaultWaker = WakerSettings{Gap: 100 * time.Millisecond, Retry: 10 * time.Second}

// WakeWebhooks wakes the delivery workflow of each active subscription whose type filter takes an event
// as soon as the event's transaction commits (store.ListenForEvents), until ctx ends, so delivery does not
// wait for the workflows' poll. Every worker runs it; one at a time listens. wake wakes one subscription's
// workflow (starting it if it does not run: workflows.WakeWebhook).
func WakeWebhooks(ctx context.Context, st *store.Store, wake func(context.Context, uuid.UUID) error, s WakerSettings, log *slog.Logger) {
	committed := make(chan []events.Type, 256)
	go func() {
		for ctx.Err() == nil {
			err := st.ListenForEvents(ctx, committed)
			if err != nil && !errors.Is(err, store.ErrListening) && ctx.Err() == nil {
				log.Warn("webhook waker: listening for events failed; the delivery workflows poll meanwhile", "error", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(s.Retry):
			}
		}
	}()
	var last time.Time
	for {
		var types []events.Type
		select {
		case <-ctx.Done():
			return
		case types = <-committed:
		}
		if wait := time.Until(last.Add(s.Gap)); wait > 0 {
			gather := time.NewTimer(wait)
		gathering:
			for {
				select {
				case <-ctx.Done():
					gather.Stop()
					return
				case more := <-committed:
					types = append(types, more...)
				case <-gather.C:
					break gathering
				}
			}
		}
		last = time.Now()
		subs, err := st.Webhooks(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("webhook waker: subscriptions not read", "error", err)
			}
			continue
		}
		for _, sub := range subs {
			if sub.Status != store.WebhookActive || !takesAny(sub.EventTypes, types) {
				continue
			}
			if err := wake(ctx, sub.ID); err != nil && ctx.Err() == nil {
				log.Warn("webhook waker: workflow not woken", "subscription", sub.ID, "error", err)
			}
		}
	}
}

// takesAny: a filter (empty: every type) takes one of types.
func takesAny(filter, types []events.Type) bool {
	return len(filter) == 0 || slices.ContainsFunc(types, func(t events.Type) bool { return slices.Contains(filter, t) })
}
