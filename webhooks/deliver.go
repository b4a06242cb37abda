package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// PingType is the type of the test event a subscriber is sent on request (not a catalogue type).
const PingType = "webhook.ping"

// Deliverer sends one event (or a ping) to one subscription and logs the attempt: what the delivery
// workflow's activity and the API's ping and redeliver share.
type Deliverer struct {
	Store *store.Store
	// Keyring opens the subscriptions' sealed secrets.
	Keyring *partners.Keyring
	// AllowLoopback lets deliveries go to loopback addresses (loopback development).
	AllowLoopback bool
	// Timeout bounds one delivery (default DefaultTimeout).
	Timeout time.Duration
	// Host is the host of Splunk HEC events (default: os.Hostname()).
	Host string
}

// keys are what a delivery is sent with: the secrets it is signed with and, for splunk-hec, the token.
type keys struct {
	secrets     []string
	splunkToken string
}

// open opens the keys a subscription is sent with now: its current secret and, during the overlap after a
// rotation, the previous one; its Splunk HEC token, if it has one.
func (d Deliverer) open(ctx context.Context, id uuid.UUID, now time.Time) (keys, error) {
	k, err := d.Store.WebhookSecrets(ctx, id)
	if err != nil {
		return keys{}, err
	}
	cur, err := d.Keyring.Open(k.KeyID, k.Sealed, store.WebhookSecretAAD(id, k.Version))
	if err != nil {
		return keys{}, err
	}
	out := keys{secrets: []string{string(cur)}}
	if k.PreviousKeyID != nil && k.PreviousExpires != nil && now.Before(*k.PreviousExpires) {
		prev, err := d.Keyring.Open(*k.PreviousKeyID, k.PreviousSealed, store.WebhookSecretAAD(id, k.Version-1))
		if err != nil {
			return keys{}, err
		}
		out.secrets = append(out.secrets, string(prev))
	}
	if k.SplunkTokenKeyID != nil {
		token, err := d.Keyring.Open(*k.SplunkTokenKeyID, k.SplunkTokenSealed, store.WebhookSplunkTokenAAD(id, k.SplunkTokenVersion))
		if err != nil {
			return keys{}, err
		}
		out.splunkToken = string(token)
	}
	return out, nil
}

// PingBody is the body of a ping: a CloudEvents envelope of type webhook.ping.
func PingBody(sub uuid.UUID, id uuid.UUID, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"specversion": events.SpecVersion, "id": id.String(), "source": events.Source,
		"type": PingType, "subject": "webhook/" + sub.String(), "time": at.UTC(), "datacontenttype": "application/json",
		"data": map[string]any{"subscriptionId": sub.String()}})
	return b
}

// ErrEventNotFound: the event to deliver is not in the outbox.
var ErrEventNotFound = errors.New("webhooks: no such event")

// Deliver sends the event at position (0: a ping of id pingID) to the subscription once, signed with its
// live secrets, and logs the attempt, numbered after the event's earlier attempts. It returns the logged
// attempt and how the call went; an error only when nothing could be sent or logged.
func (d Deliverer) Deliver(ctx context.Context, sub store.WebhookSubscription, position int64, pingID uuid.UUID) (store.WebhookAttempt, Result, error) {
	now := time.Now()
	a := store.WebhookAttempt{SubscriptionID: sub.ID, EventID: pingID, EventType: PingType}
	var body []byte
	occurred := now
	if position == 0 {
		body = PingBody(sub.ID, pingID, now)
	} else {
		rec, err := d.Store.EventAt(ctx, position)
		if errors.Is(err, store.ErrNotFound) {
			return a, Result{}, ErrEventNotFound
		} else if err != nil {
			return a, Result{}, err
		}
		env, err := rec.Envelope(sub.IncludeNames)
		if err != nil {
			return a, Result{}, err
		}
		if body, err = json.Marshal(env); err != nil {
			return a, Result{}, err
		}
		a.EventID, a.EventType, a.Position, occurred = rec.EventID, string(rec.Type), &rec.ID, rec.OccurredAt
	}
	k, err := d.open(ctx, sub.ID, now)
	if err != nil {
		return a, Result{}, err
	}
	m := Message{URL: sub.URL, ID: a.EventID.String(), Body: body, Secrets: k.secrets, At: now}
	if sub.Format == store.WebhookSplunkHEC {
		if m, err = d.splunkHEC(m, k.splunkToken, occurred); err != nil {
			return a, Result{}, err
		}
	}
	if a.Attempt, err = d.Store.NextWebhookAttempt(ctx, sub.ID, a.EventID); err != nil {
		return a, Result{}, err
	}
	a.At = now
	res := Send(ctx, Client(d.AllowLoopback, d.Timeout), m)
	a.LatencyMS = int(res.Latency / time.Millisecond)
	if res.Status != 0 {
		a.StatusCode = &res.Status
		a.Excerpt = &res.Excerpt
	}
	if res.Err != "" {
		a.Error = &res.Err
	} else if res.Refused != "" {
		a.Error = &res.Refused
	}
	// Logged even when the activity's context has ended (the attempt was made).
	logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return a, res, d.Store.RecordWebhookAttempt(logCtx, a, !res.OK())
}
