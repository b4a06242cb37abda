package workflows

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// WebhookWorkflowID is the id of the delivery workflow of a webhook subscription (opaque).
func WebhookWorkflowID(id uuid.UUID) string { return "webhook/" + id.String() }

// SignalWebhookWake tells a subscription's delivery workflow that the subscription changed (paused,
// resumed, replayed, deleted): it reads it again at once. It takes no argument.
const SignalWebhookWake = "webhook-wake"

// WebhookPolicy is how a subscription's events are delivered; zero fields take the defaults
// (DefaultWebhookPolicy).
type WebhookPolicy struct {
	// PollEvery is how often the outbox is read for new events when none is waiting.
	PollEvery time.Duration
	// FirstRetry is the wait after the first failed attempt; each further failure doubles it, up to
	// MaxRetry, with Jitter (a fraction: 0.2 is ±20%) added. A Retry-After longer than the wait is waited.
	FirstRetry time.Duration
	MaxRetry   time.Duration
	Jitter     float64 // 0: the default; below 1
	// GiveUpAfter is how long a subscription may fail before it is disabled and administrators told.
	GiveUpAfter time.Duration
	// AttemptTimeout bounds one attempt's activity (a worker lost mid-delivery is noticed after it): longer
	// than the delivery's own timeout.
	AttemptTimeout time.Duration
}

// DefaultWebhookPolicy: poll every 5 s; retry after 10 s, 20 s, 40 s... up to an hour, ±20%; give up after
// 3 days of failure.
var DefaultWebhookPolicy = WebhookPolicy{PollEvery: 5 * time.Second, FirstRetry: 10 * time.Second,
	MaxRetry: time.Hour, Jitter: 0.2, GiveUpAfter: 72 * time.Hour, AttemptTimeout: time.Minute}

// WithDefaults fills p's zero fields from DefaultWebhookPolicy.
func (p WebhookPolicy) WithDefaults() WebhookPolicy {
	d := DefaultWebhookPolicy
	if p.PollEvery <= 0 {
		p.PollEvery = d.PollEvery
	}
	if p.FirstRetry <= 0 {
		p.FirstRetry = d.FirstRetry
	}
	if p.MaxRetry <= 0 {
		p.MaxRetry = d.MaxRetry
	}
	if p.Jitter <= 0 || p.Jitter >= 1 {
		p.Jitter = d.Jitter
	}
	if p.GiveUpAfter <= 0 {
		p.GiveUpAfter = d.GiveUpAfter
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = d.AttemptTimeout
	}
	return p
}

// WebhookBackoff is the wait after the failures-th failed attempt in a row (1, 2, ...): FirstRetry doubled
// each time up to MaxRetry, then spread by the jitter, r being uniform in [0, 1).
func WebhookBackoff(p WebhookPolicy, failures int, r float64) time.Duration {
	d := p.FirstRetry
	for i := 1; i < failures && d < p.MaxRetry; i++ {
		d *= 2
	}
	d = min(d, p.MaxRetry)
	return time.Duration(float64(d) * (1 - p.Jitter + 2*p.Jitter*r))
}

// WebhookState is what a delivery workflow carries across Continue-As-New: the failing spell it is in.
type WebhookState struct {
	// Failures is how many attempts in a row failed; FailingSince when the first of them did.
	Failures     int
	FailingSince *time.Time
}

// WebhookInput starts a subscription's delivery workflow.
type WebhookInput struct {
	SubscriptionID uuid.UUID
	Policy         WebhookPolicy
	State          WebhookState
}

// WakeWebhook wakes a subscription's delivery workflow, starting it if it does not run (a new or resumed
// subscription, or one whose workflow ended).
func WakeWebhook(ctx context.Context, c client.Client, taskQueue string, id uuid.UUID, p WebhookPolicy) error {
	_, err := c.SignalWithStartWorkflow(ctx, WebhookWorkflowID(id), SignalWebhookWake, nil,
		client.StartWorkflowOptions{TaskQueue: taskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
		Webhook, WebhookInput{SubscriptionID: id, Policy: p})
	return err
}

// NudgeWebhook wakes a subscription's delivery workflow if it runs (a paused, replayed or deleted
// subscription); one that does not run is left so.
func NudgeWebhook(ctx context.Context, c client.Client, id uuid.UUID) error {
	err := c.SignalWorkflow(ctx, WebhookWorkflowID(id), "", SignalWebhookWake, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	return err
}
