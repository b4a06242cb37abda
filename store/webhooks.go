package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/events"
)

// Webhook subscriptions (schema/019_webhooks.sql): administrators' changes are audited; the delivery
// state (cursor, failing_since) and the delivery log are the delivery workflow's, not audited.

// Webhook statuses.
const (
	WebhookActive   = "active"
	WebhookPaused   = "paused"
	WebhookDisabled = "disabled"
)

// Webhook formats: what a subscription is sent.
const (
	// WebhookCloudEvents: the CloudEvents envelope as the body (the default).
	WebhookCloudEvents = "cloudevents"
	// WebhookSplunkHEC: the envelope as the event of a Splunk HTTP Event Collector JSON event, with the
	// subscription's HEC token.
	WebhookSplunkHEC = "splunk-hec"
)

// WebhookFormats are the formats, the default first.
var WebhookFormats = []string{WebhookCloudEvents, WebhookSplunkHEC}

// WebhookSubscription is a subscription as administrators see it: never its secrets.
type WebhookSubscription struct {
	ID           uuid.UUID     `json:"id" format:"uuid"`
	URL          string        `json:"url"`
	Description  string        `json:"description"`
	EventTypes   []events.Type `json:"eventTypes" description:"the catalogue types delivered; empty: every type"`
	IncludeNames bool          `json:"includeNames" description:"add the display names events concern (data.names)"`
	Status       string        `json:"status" enum:"active,paused,disabled"`
	Format       string        `json:"format" enum:"cloudevents,splunk-hec" description:"cloudevents: the CloudEvents envelope as the body; splunk-hec: the envelope as the event of a Splunk HTTP Event Collector JSON event"`
	// SplunkTokenVersion counts the HEC tokens a splunk-hec subscription has had; the token is never shown.
	SplunkTokenVersion int `json:"splunkTokenVersion,omitempty" description:"splunk-hec: how many HEC tokens the subscription has had (1 before any replacement)"`
	// DisabledReason says why delivery stopped (410 Gone, failing too long).
	DisabledReason *string `json:"disabledReason,omitempty"`
	SecretVersion  int     `json:"secretVersion" description:"how many secrets the subscription has had (1 before any rotation)"`
	// PreviousSecretExpiresAt: until then the secret before the last rotation signs too.
	PreviousSecretExpiresAt *time.Time `json:"previousSecretExpiresAt,omitempty"`
	Cursor                  int64      `json:"cursor" description:"the position of the last event delivered (or passed over by the type filter)"`
	Replays                 int        `json:"replays" description:"how many times the cursor was moved back"`
	FailingSince            *time.Time `json:"failingSince,omitempty"`
	CreatedBy               *uuid.UUID `json:"createdBy,omitempty" format:"uuid"`
	CreatedAt               time.Time  `json:"createdAt"`
	UpdatedAt               time.Time  `json:"updatedAt"`
}

// WebhookSecrets are a subscription's sealed secrets: the current one and, until it expires, the one
// before the last rotation.
type WebhookSecrets struct {
	Version         int
	KeyID           string
	Sealed          []byte
	PreviousKeyID   *string
	PreviousSealed  []byte
	PreviousExpires *time.Time
	// The sealed Splunk HEC token of a splunk-hec subscription (SplunkTokenVersion 0: none).
	SplunkTokenVersion int
	SplunkTokenKeyID   *string
	SplunkTokenSealed  []byte
}

// WebhookAttempt is one row of the delivery log.
type WebhookAttempt struct {
	ID             int64     `json:"id"`
	SubscriptionID uuid.UUID `json:"subscriptionId" format:"uuid"`
	EventID        uuid.UUID `json:"eventId" format:"uuid" description:"the CloudEvents id, sent as webhook-id"`
	Position       *int64    `json:"position,omitempty" description:"the event's outbox position (none for a ping)"`
	EventType      string    `json:"eventType" description:"the event's type, or ping"`
	Attempt        int       `json:"attempt"`
	At             time.Time `json:"at"`
	StatusCode     *int      `json:"statusCode,omitempty" description:"the HTTP status answered; none when no answer came"`
	LatencyMS      int       `json:"latencyMs"`
	Excerpt        *string   `json:"responseExcerpt,omitempty" description:"the answer's first 1 KB"`
	Error          *string   `json:"error,omitempty" description:"why no answer came, or why the answer does not count as delivered (splunk-hec: HEC's code and text)"`
}

// WebhookSeal seals a subscription's secret given its id and the secret's version.
type WebhookSeal func(id uuid.UUID, version int) (keyID string, sealed []byte, err error)

// WebhookSecretAAD is the associated data a subscription's secret of a version is sealed with: a sealed
// secret copied to another subscription, or to another version, does not open.
func WebhookSecretAAD(id uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "webhook-secret/%s/%d", id, version)
}

// WebhookSplunkTokenAAD is the associated data a subscription's Splunk HEC token of a version is sealed
// with (as WebhookSecretAAD, and never opening as a signing secret).
func WebhookSplunkTokenAAD(id uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "webhook-splunk-token/%s/%d", id, version)
}

const webhookCols = `id, url, description, event_types, include_names, status, format, splunk_token_version, disabled_reason,
	secret_version, previous_expires_at, cursor, replays, failing_since, created_by, created_at, updated_at`

func scanWebhook(r pgx.CollectableRow) (WebhookSubscription, error) {
	var w WebhookSubscription
	var types []string
	err := r.Scan(&w.ID, &w.URL, &w.Description, &types, &w.IncludeNames, &w.Status, &w.Format, &w.SplunkTokenVersion, &w.DisabledReason,
		&w.SecretVersion, &w.PreviousSecretExpiresAt, &w.Cursor, &w.Replays, &w.FailingSince, &w.CreatedBy, &w.CreatedAt, &w.UpdatedAt)
	w.EventTypes = make([]events.Type, 0, len(types))
	for _, t := range types {
		w.EventTypes = append(w.EventTypes, events.Type(t))
	}
	return w, err
}

func webhookAudit(actor Actor, action string, id uuid.UUID, detail map[string]any) *AuditEntry {
	return &AuditEntry{Actor: actor, Action: action, EntityType: "webhook_subscription", EntityID: id.String(), Detail: detail}
}

// CreateWebhook makes a subscription of w.Format (empty: cloudevents), its secret sealed by seal and, for
// splunk-hec, its HEC token by token; it starts after the newest settled event.
func (s *Store) CreateWebhook(ctx context.Context, actor Actor, w WebhookSubscription, seal, token WebhookSeal) (WebhookSubscription, error) {
	w.ID = uuid.New()
	if w.Format == "" {
		w.Format = WebhookCloudEvents
	}
	keyID, sealed, err := seal(w.ID, 1)
	if err != nil {
		return w, err
	}
	var tokenVersion int
	var tokenKeyID *string
	var tokenSealed []byte
	if token != nil {
		k, t, err := token(w.ID, 1)
		if err != nil {
			return w, err
		}
		tokenVersion, tokenKeyID, tokenSealed = 1, &k, t
	}
	types := make([]string, 0, len(w.EventTypes))
	for _, t := range w.EventTypes {
		types = append(types, string(t))
	}
	audit := webhookAudit(actor, "webhook.create", w.ID, map[string]any{"eventTypes": types, "includeNames": w.IncludeNames,
		"format": w.Format})
	err = s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO webhook_subscriptions (id, url, description, event_types, include_names,
				secret_key_id, secret_sealed, cursor, created_by, format, splunk_token_version, splunk_token_key_id, splunk_token_sealed)
			VALUES ($1, $2, $3, $4, $5, $6, $7, coalesce((SELECT id FROM events WHERE `+settled+`
				ORDER BY tx DESC, id DESC LIMIT 1), 0), $8, $9, $10, $11, $12)
			RETURNING `+webhookCols, w.ID, w.URL, w.Description, types, w.IncludeNames, keyID, sealed, (*uuid.UUID)(actor),
			w.Format, tokenVersion, tokenKeyID, tokenSealed)
		var err error
		w, err = pgx.CollectExactlyOneRow(rows, scanWebhook)
		return err
	})
	return w, err
}

// Webhooks lists the subscriptions, oldest first.
func (s *Store) Webhooks(ctx context.Context) ([]WebhookSubscription, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhook_subscriptions ORDER BY created_at, id`)
	return pgx.CollectRows(rows, scanWebhook)
}

// Webhook reads one subscription (ErrNotFound).
func (s *Store) Webhook(ctx context.Context, id uuid.UUID) (WebhookSubscription, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+webhookCols+` FROM webhook_subscriptions WHERE id = $1`, id)
	w, err := pgx.CollectExactlyOneRow(rows, scanWebhook)
	return w, classify(err)
}

// WebhookSecrets reads a subscription's sealed secrets (ErrNotFound).
func (s *Store) WebhookSecrets(ctx context.Context, id uuid.UUID) (WebhookSecrets, error) {
	var k WebhookSecrets
	err := s.pool.QueryRow(ctx, `SELECT secret_version, secret_key_id, secret_sealed, previous_key_id, previous_sealed,
		previous_expires_at, splunk_token_version, splunk_token_key_id, splunk_token_sealed FROM webhook_subscriptions WHERE id = $1`, id).
		Scan(&k.Version, &k.KeyID, &k.Sealed, &k.PreviousKeyID, &k.PreviousSealed, &k.PreviousExpires,
			&k.SplunkTokenVersion, &k.SplunkTokenKeyID, &k.SplunkTokenSealed)
	return k, classify(err)
}

// updateWebhook changes one subscription with set (SQL assignments; $1 is the id) when where holds
// (ErrNotFound: no such subscription; ErrWrongState: where does not hold), audited.
func (s *Store) updateWebhook(ctx context.Context, audit *AuditEntry, id uuid.UUID, set, where string, args ...any) (WebhookSubscription, error) {
	var w WebhookSubscription
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT true FROM webhook_subscriptions WHERE id = $1 FOR UPDATE`, id).Scan(&exists); err != nil {
			return err
		}
		if where == "" {
			where = "true"
		}
		rows, _ := tx.Query(ctx, `UPDATE webhook_subscriptions SET `+set+`, updated_at = now() WHERE id = $1 AND (`+where+`)
			RETURNING `+webhookCols, append([]any{id}, args...)...)
		var err error
		w, err = pgx.CollectExactlyOneRow(rows, scanWebhook)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrWrongState
		}
		return err
	})
	return w, err
}

// PauseWebhook pauses an active subscription (ErrWrongState when it is not active).
func (s *Store) PauseWebhook(ctx context.Context, actor Actor, id uuid.UUID) (WebhookSubscription, error) {
	return s.updateWebhook(ctx, webhookAudit(actor, "webhook.pause", id, nil), id, `status = 'paused'`, `status = 'active'`)
}

// ResumeWebhook makes a paused or disabled subscription active again; delivery goes on from its cursor.
func (s *Store) ResumeWebhook(ctx context.Context, actor Actor, id uuid.UUID) (WebhookSubscription, error) {
	return s.updateWebhook(ctx, webhookAudit(actor, "webhook.resume", id, nil), id,
		`status = 'active', disabled_reason = NULL, failing_since = NULL`, `status <> 'active'`)
}

// DisableWebhook stops a subscription's delivery (the system's, after 410 Gone or failing too long).
func (s *Store) DisableWebhook(ctx context.Context, id uuid.UUID, reason string) (WebhookSubscription, error) {
	return s.updateWebhook(ctx, webhookAudit(nil, "webhook.disable", id, map[string]any{"reason": reason}), id,
		`status = 'disabled', disabled_reason = $2`, `status <> 'disabled'`, reason)
}

// RotateWebhookSecret gives a subscription a new secret (sealed by seal); the current one keeps signing
// until overlap from now. With token, a splunk-hec subscription's HEC token is replaced too (sealed by
// token; ErrWrongState for another format): the old token is not kept, Splunk having no overlap to offer.
func (s *Store) RotateWebhookSecret(ctx context.Context, actor Actor, id uuid.UUID, overlap time.Duration, seal, token WebhookSeal) (WebhookSubscription, error) {
	cur, err := s.WebhookSecrets(ctx, id)
	if err != nil {
		return WebhookSubscription{}, err
	}
	keyID, sealed, err := seal(id, cur.Version+1)
	if err != nil {
		return WebhookSubscription{}, err
	}
	until := time.Now().Add(overlap)
	detail := map[string]any{"version": cur.Version + 1, "previousExpiresAt": until}
	set := `previous_key_id = secret_key_id, previous_sealed = secret_sealed, previous_expires_at = $3,
		secret_key_id = $4, secret_sealed = $5, secret_version = secret_version + 1`
	where := `secret_version = $2`
	args := []any{cur.Version, until, keyID, sealed}
	if token != nil {
		tokenKeyID, tokenSealed, err := token(id, cur.SplunkTokenVersion+1)
		if err != nil {
			return WebhookSubscription{}, err
		}
		detail["splunkTokenVersion"] = cur.SplunkTokenVersion + 1
		set += `, splunk_token_key_id = $7, splunk_token_sealed = $8, splunk_token_version = splunk_token_version + 1`
		where += ` AND format = '` + WebhookSplunkHEC + `' AND splunk_token_version = $6`
		args = append(args, cur.SplunkTokenVersion, tokenKeyID, tokenSealed)
	}
	return s.updateWebhook(ctx, webhookAudit(actor, "webhook.rotate_secret", id, detail), id, set, where, args...)
}

// DeleteWebhook deletes a subscription and its delivery log.
func (s *Store) DeleteWebhook(ctx context.Context, actor Actor, id uuid.UUID) error {
	return s.tx(ctx, webhookAudit(actor, "webhook.delete", id, nil), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return err
	})
}

// ReplayWebhook moves a subscription's cursor back to the event after (a position; 0: the very first), so
// delivery sends again every event after it.
func (s *Store) ReplayWebhook(ctx context.Context, actor Actor, id uuid.UUID, after int64, detail map[string]any) (WebhookSubscription, error) {
	detail["cursor"] = after
	return s.updateWebhook(ctx, webhookAudit(actor, "webhook.replay", id, detail), id,
		`cursor = $2, replays = replays + 1, failing_since = NULL`, ``, after)
}

// EventPositionBefore is the position to replay after so that every event that occurred at or after since
// is sent again: the event before the first such one in the outbox's order (0: from the first).
func (s *Store) EventPositionBefore(ctx context.Context, since time.Time) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, `WITH first AS (SELECT tx, id FROM events WHERE occurred_at >= $1 ORDER BY tx, id LIMIT 1)
		SELECT coalesce((SELECT e.id FROM events e, first f WHERE (e.tx, e.id) < (f.tx, f.id) ORDER BY e.tx DESC, e.id DESC LIMIT 1),
			CASE WHEN EXISTS (SELECT 1 FROM first) THEN 0
			ELSE coalesce((SELECT id FROM events WHERE `+settled+` ORDER BY tx DESC, id DESC LIMIT 1), 0) END)`,
		since).Scan(&pos)
	return pos, classify(err)
}

// EventByID reads one event by its CloudEvents id (ErrNotFound).
func (s *Store) EventByID(ctx context.Context, id uuid.UUID) (events.Record, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events WHERE event_id = $1`, id)
	r, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	return r, classify(err)
}

// EventAt reads one event by its position (ErrNotFound).
func (s *Store) EventAt(ctx context.Context, position int64) (events.Record, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events WHERE id = $1`, position)
	r, err := pgx.CollectExactlyOneRow(rows, scanEvent)
	return r, classify(err)
}

// AdvanceWebhook moves a subscription's cursor from from to to, and ends its failing spell, unless the
// cursor is no longer from, or was replayed since replays (a replay moved it): then it reports false.
func (s *Store) AdvanceWebhook(ctx context.Context, id uuid.UUID, replays int, from, to int64) (bool, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE webhook_subscriptions SET cursor = $3, failing_since = NULL
		WHERE id = $1 AND cursor = $2 AND replays = $4`, id, from, to, replays)
	return err == nil && tag.RowsAffected() == 1, classify(err)
}

// RecordWebhookAttempt adds a row to the delivery log; a failed attempt starts the subscription's failing
// spell if none is running.
func (s *Store) RecordWebhookAttempt(ctx context.Context, a WebhookAttempt, failed bool) error {
	return s.batchTx(ctx, nil, func(b *pgx.Batch) {
		b.Queue(`INSERT INTO webhook_attempts (subscription_id, event_id, position, event_type, attempt, at, status_code,
			latency_ms, response_excerpt, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.SubscriptionID, a.EventID, a.Position, a.EventType, a.Attempt, a.At, a.StatusCode, a.LatencyMS, a.Excerpt, a.Error)
		if failed && a.Position != nil {
			b.Queue(`UPDATE webhook_subscriptions SET failing_since = coalesce(failing_since, $2) WHERE id = $1`,
				a.SubscriptionID, a.At)
		}
	})
}

// WebhookAttempts is a subscription's delivery log, newest first, up to limit rows; with eventID only that
// event's.
func (s *Store) WebhookAttempts(ctx context.Context, id uuid.UUID, eventID *uuid.UUID, limit int) ([]WebhookAttempt, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, subscription_id, event_id, position, event_type, attempt, at, status_code,
		latency_ms, response_excerpt, error FROM webhook_attempts
		WHERE subscription_id = $1 AND ($2::uuid IS NULL OR event_id = $2) ORDER BY id DESC LIMIT $3`, id, eventID, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (WebhookAttempt, error) {
		var a WebhookAttempt
		err := r.Scan(&a.ID, &a.SubscriptionID, &a.EventID, &a.Position, &a.EventType, &a.Attempt, &a.At, &a.StatusCode,
			&a.LatencyMS, &a.Excerpt, &a.Error)
		return a, err
	})
}

// NextWebhookAttempt is the number of the next attempt at delivering an event to a subscription.
func (s *Store) NextWebhookAttempt(ctx context.Context, id, eventID uuid.UUID) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT coalesce(max(attempt), 0) + 1 FROM webhook_attempts
		WHERE subscription_id = $1 AND event_id = $2`, id, eventID).Scan(&n)
	return n, err
}
