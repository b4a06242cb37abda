package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/messaging"
)

// ---- templates ----

const templateCols = `name, channel, version, subject, body, html, content_sid, content_variables, created_by, created_at`

func scanTemplate(r pgx.CollectableRow) (domain.Template, error) {
	var t domain.Template
	err := r.Scan(&t.Name, &t.Channel, &t.Version, &t.Subject, &t.Body, &t.HTML, &t.ContentSID, &t.ContentVariables, &t.CreatedBy, &t.CreatedAt)
	return t, err
}

// Templates lists the latest version of every template on every channel.
func (s *Store) Templates(ctx context.Context) ([]domain.Template, error) {
	rows, _ := s.pool.Query(ctx, `SELECT DISTINCT ON (name, channel) `+templateCols+` FROM message_templates
		ORDER BY name, channel, version DESC`)
	return pgx.CollectRows(rows, scanTemplate)
}

// LatestTemplate is the latest version of a template on a channel.
func (s *Store) LatestTemplate(ctx context.Context, name string, ch domain.Channel) (domain.Template, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+templateCols+` FROM message_templates WHERE name = $1 AND channel = $2
		ORDER BY version DESC LIMIT 1`, name, ch)
	t, err := pgx.CollectExactlyOneRow(rows, scanTemplate)
	return t, classify(err)
}

// AddTemplateVersion stores t as the next version of its template on its channel.
func (s *Store) AddTemplateVersion(ctx context.Context, actor Actor, t domain.Template) (domain.Template, error) {
	var out domain.Template
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "template.version", EntityType: "template",
		EntityID: t.Name + "/" + string(t.Channel)}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('template/' || $1 || '/' || $2))`,
			t.Name, t.Channel); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `INSERT INTO message_templates (name, channel, version, subject, body, html,
			content_sid, content_variables, created_by) SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4, $5, $6,
			$8, $7 FROM message_templates WHERE name = $1 AND channel = $2 RETURNING `+templateCols,
			t.Name, t.Channel, t.Subject, t.Body, t.HTML, t.ContentSID, (*uuid.UUID)(actor), nonNilStrings(t.ContentVariables))
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanTemplate)
		return err
	})
	return out, err
}

// ---- the outbox ----

const messageCols = `id, channel, template, template_version, person_id, staff_user_id, recipient, subject, body,
	html, content_sid, content_variables, price_status, price_note, status, status_at, status_reason, provider, provider_id, error_code, price::text, price_unit, segments,
	handover_started_at, case_ref, clearance_id, broadcast_id, created_at, updated_at`

func scanMessage(r pgx.CollectableRow) (domain.Message, error) {
	var m domain.Message
	err := r.Scan(&m.ID, &m.Channel, &m.Template, &m.TemplateVersion, &m.PersonID, &m.StaffUserID, &m.Recipient,
		&m.Subject, &m.Body, &m.HTML, &m.ContentSID, &m.ContentVariables, &m.PriceStatus, &m.PriceNote, &m.Status, &m.StatusAt, &m.StatusReason, &m.Provider, &m.ProviderID, &m.ErrorCode,
		&m.Price, &m.PriceUnit, &m.Segments, &m.HandoverStartedAt, &m.CaseRef, &m.ClearanceID, &m.BroadcastID,
		&m.CreatedAt, &m.UpdatedAt)
	if m.Provider != "twilio" {
		m.PriceStatus = "" // only Twilio states a cost
	}
	return m, err
}

// CreateMessage records a message in the outbox, pending or suppressed, unless one with its id exists:
// then it returns that one and created is false. A broadcast's message is linked to its recipient.
func (s *Store) CreateMessage(ctx context.Context, m domain.Message) (stored domain.Message, created bool, err error) {
	err = s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO messages (id, channel, template, template_version, person_id,
			staff_user_id, recipient, subject, body, status, status_at, status_reason, case_ref, clearance_id,
			broadcast_id, created_at, updated_at, html, content_sid, content_variables)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $11, $11, $16, $17, $18)
			ON CONFLICT (id) DO NOTHING RETURNING `+messageCols,
			m.ID, m.Channel, m.Template, m.TemplateVersion, m.PersonID, m.StaffUserID, m.Recipient, m.Subject,
			m.Body, m.Status, m.StatusAt, m.StatusReason, m.CaseRef, m.ClearanceID, m.BroadcastID, m.HTML, m.ContentSID,
			m.ContentVariables)
		var err error
		stored, err = pgx.CollectExactlyOneRow(rows, scanMessage)
		if errors.Is(err, pgx.ErrNoRows) {
			rows, _ := tx.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1`, m.ID)
			stored, err = pgx.CollectExactlyOneRow(rows, scanMessage)
			return err
		}
		if err != nil {
			return err
		}
		created = true
		if err := insertMessageEvent(ctx, tx, m.ID, "created", m.Status, "", nil, m.StatusReason, m.StatusAt); err != nil {
			return err
		}
		if m.BroadcastID != nil && m.PersonID != nil {
			_, err = tx.Exec(ctx, `UPDATE broadcast_recipients SET message_id = $3 WHERE broadcast_id = $1
				AND person_id = $2`, *m.BroadcastID, *m.PersonID, m.ID)
		}
		return err
	})
	return stored, created, err
}

func insertMessageEvent(ctx context.Context, tx pgx.Tx, id, eventID string, st domain.MessageStatus, raw string,
	code *int, reason string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO message_events (message_id, event_id, status, raw, error_code, reason, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, id, eventID, st, raw, code, reason, at)
	return err
}

// Message is one message with its status history, oldest first.
func (s *Store) Message(ctx context.Context, id string) (domain.Message, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1`, id)
	m, err := pgx.CollectExactlyOneRow(rows, scanMessage)
	if err != nil {
		return m, classify(err)
	}
	rows, _ = s.pool.Query(ctx, `SELECT event_id, status, raw, error_code, reason, at, received_at
		FROM message_events WHERE message_id = $1 ORDER BY received_at, at, event_id`, id)
	m.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.MessageEvent, error) {
		var e domain.MessageEvent
		err := r.Scan(&e.EventID, &e.Status, &e.Raw, &e.ErrorCode, &e.Reason, &e.At, &e.ReceivedAt)
		return e, err
	})
	return m, err
}

// StartHandover notes that a hand-over to the provider begins, unless one was begun before and never
// settled, and returns when the first unsettled one began: a later attempt looks for the message at the
// provider from then on before sending again.
func (s *Store) StartHandover(ctx context.Context, id string, at time.Time) (first time.Time, earlier bool, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE messages m SET handover_started_at = coalesce(m.handover_started_at, $2)
		FROM messages old WHERE m.id = $1 AND old.id = m.id RETURNING m.handover_started_at,
		old.handover_started_at IS NOT NULL`, id, at).Scan(&first, &earlier)
	return first, earlier, classify(err)
}

// HandoverNotApplied notes that a hand-over certainly did not reach the provider.
func (s *Store) HandoverNotApplied(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `UPDATE messages SET handover_started_at = NULL WHERE id = $1 AND status = 'pending'`, id)
	return err
}

// MessageAccepted records the provider's acceptance of a message.
func (s *Store) MessageAccepted(ctx context.Context, id, provider string, r messaging.Receipt, at time.Time) (domain.Message, error) {
	r.ProviderID, r.PriceUnit, r.Error = providerLine(r.ProviderID), providerLine(r.PriceUnit), providerLine(r.Error)
	var out domain.Message
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		st := r.Status
		if st.Rank() < domain.MessageQueued.Rank() {
			st = domain.MessageQueued
		}
		rows, _ := tx.Query(ctx, `UPDATE messages SET provider = $2, provider_id = $3,
			status = CASE WHEN status = 'pending' THEN $4 ELSE status END,
			status_at = CASE WHEN status = 'pending' THEN $5 ELSE status_at END,
			price = coalesce(nullif($6, '')::numeric, price), price_unit = coalesce(nullif($7, ''), price_unit),
			segments = coalesce(nullif($8, 0), segments), handover_started_at = NULL, updated_at = $5
			WHERE id = $1 RETURNING `+messageCols, id, provider, r.ProviderID, st, at, r.Price, r.PriceUnit, r.Segments)
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, scanMessage); err != nil {
			return err
		}
		return insertMessageEvent(ctx, tx, id, "accepted", st, string(r.Status), nil, "", at)
	})
	return out, err
}

// MessageNotSent closes a pending message that will not be handed over: failed (the provider refused it)
// or suppressed (the recipient opted out), with the reason and the provider's code.
func (s *Store) MessageNotSent(ctx context.Context, id string, st domain.MessageStatus, code int, reason string, at time.Time) (domain.Message, error) {
	reason = providerLine(reason)
	var out domain.Message
	var codeArg *int
	if code != 0 {
		codeArg = &code
	}
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE messages SET status = $2, status_at = $3, status_reason = $4,
			error_code = $5, handover_started_at = NULL, updated_at = $3 WHERE id = $1 AND status = 'pending'
			RETURNING `+messageCols, id, st, at, reason, codeArg)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanMessage)
		if errors.Is(err, pgx.ErrNoRows) {
			rows, _ := tx.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1`, id)
			out, err = pgx.CollectExactlyOneRow(rows, scanMessage)
			return err
		}
		if err != nil {
			return err
		}
		if st == domain.MessageFailed {
			if err := writeEvents(ctx, tx, events.MessageFailedDraft(out)); err != nil {
				return err
			}
		}
		return insertMessageEvent(ctx, tx, id, "not_sent", st, "", codeArg, reason, at)
	})
	return out, err
}

// ApplyMessageEvent applies a provider's receipt to the message it concerns, found by our id when the
// provider carried it back or else by the provider's id. A repeated event changes nothing; an event
// ranking below the message's status (arriving out of order) is kept in the history only. An opt-out
// event also opts the recipient out of the channel. ErrNotFound: no such message.
func (s *Store) ApplyMessageEvent(ctx context.Context, provider string, ev messaging.Event) (domain.Message, bool, error) {
	for _, f := range []*string{&ev.MessageID, &ev.ProviderID, &ev.EventID, &ev.Raw, &ev.Reason, &ev.Recipient} {
		*f = providerLine(*f)
	}
	var out domain.Message
	applied := false
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+messageCols+` FROM messages
			WHERE ($1 <> '' AND id = $1) OR ($1 = '' AND provider = $2 AND provider_id = $3) FOR UPDATE`,
			ev.MessageID, provider, ev.ProviderID)
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, scanMessage); err != nil {
			return err
		}
		var code *int
		if ev.ErrorCode != 0 {
			code = &ev.ErrorCode
		}
		at := ev.At
		if at.IsZero() {
			at = time.Now()
		}
		tag, err := tx.Exec(ctx, `INSERT INTO message_events (message_id, event_id, status, raw, error_code, reason, at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`, out.ID, ev.EventID, ev.Status, ev.Raw, code, ev.Reason, at)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		applied = true
		// A receipt for a message whose acceptance we never recorded (the worker died in between) links it.
		if out.ProviderID == nil && ev.ProviderID != "" {
			out.Provider, out.ProviderID = provider, &ev.ProviderID
		}
		before := out.Status
		if ev.Status != "" && ev.Status.Rank() > out.Status.Rank() && out.Status != domain.MessageSuppressed {
			out.Status, out.StatusAt, out.StatusReason = ev.Status, at, ev.Reason
			if code != nil {
				out.ErrorCode = code
			}
			out.HandoverStartedAt = nil
		}
		rows, _ = tx.Query(ctx, `UPDATE messages SET provider = $2, provider_id = $3, status = $4, status_at = $5,
			status_reason = $6, error_code = $7, handover_started_at = $8, updated_at = now() WHERE id = $1
			RETURNING `+messageCols, out.ID, out.Provider, out.ProviderID, out.Status, out.StatusAt, out.StatusReason,
			out.ErrorCode, out.HandoverStartedAt)
		if out, err = pgx.CollectExactlyOneRow(rows, scanMessage); err != nil {
			return err
		}
		if out.Status != before && (out.Status == domain.MessageFailed || out.Status == domain.MessageUndelivered) {
			if err := writeEvents(ctx, tx, events.MessageFailedDraft(out)); err != nil {
				return err
			}
		}
		if ev.OptOut {
			return setConsent(ctx, tx, nil, domain.Consent{Channel: out.Channel, Address: out.Recipient,
				Status: domain.ConsentOptedOut, Method: "provider_" + ev.Raw, PersonID: out.PersonID, At: at})
		}
		return nil
	})
	return out, applied, classify(err)
}

// MessageFilter narrows the outbox.
type MessageFilter struct {
	PersonID    *uuid.UUID
	Channel     domain.Channel
	Status      domain.MessageStatus
	Template    string
	CaseRef     string
	ClearanceID *uuid.UUID
	BroadcastID *uuid.UUID
	From, To    *time.Time
	Page
}

// Messages lists the outbox, newest first, with the total that match.
func (s *Store) Messages(ctx context.Context, f MessageFilter) ([]domain.Message, int, error) {
	var w filter
	if f.PersonID != nil {
		w.add("person_id = %s", *f.PersonID)
	}
	if f.Channel != "" {
		w.add("channel = %s", f.Channel)
	}
	if f.Status != "" {
		w.add("status = %s", f.Status)
	}
	if f.Template != "" {
		w.add("template = %s", f.Template)
	}
	if f.CaseRef != "" {
		w.add("case_ref = %s", f.CaseRef)
	}
	if f.ClearanceID != nil {
		w.add("clearance_id = %s", *f.ClearanceID)
	}
	if f.BroadcastID != nil {
		w.add("broadcast_id = %s", *f.BroadcastID)
	}
	if f.From != nil {
		w.add("created_at >= %s", *f.From)
	}
	if f.To != nil {
		w.add("created_at < %s", *f.To)
	}
	return page(ctx, s, "messages", messageCols, &w, "created_at DESC, id", f.Page, scanMessage)
}

// UnpricedMessages lists Twilio messages past sending whose cost is still to be read: those never
// looked at first, then the ones looked at longest ago, so a message the provider will not price never
// holds up the others.
func (s *Store) UnpricedMessages(ctx context.Context, limit int) ([]domain.Message, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE price_status = 'pending'
		AND price IS NULL AND provider = 'twilio' AND status IN ('sent', 'delivered', 'read', 'undelivered', 'failed')
		AND provider_id IS NOT NULL ORDER BY price_checked_at NULLS FIRST, status_at LIMIT $1`, limit)
	return pgx.CollectRows(rows, scanMessage)
}

// SetMessagePrice records a message's cost.
func (s *Store) SetMessagePrice(ctx context.Context, id, price, unit string) error {
	_, err := s.pool.Exec(ctx, `UPDATE messages SET price = $2::numeric, price_unit = $3, price_status = 'priced',
		price_note = '', price_checked_at = now(), updated_at = now() WHERE id = $1`, id, price, unit)
	return classify(err)
}

// MessageNotPriced notes that the provider stated no cost for a message this time, and why. After
// giveUpAfter such tries, or at once when final (the provider will never price it), the message is
// marked unpriceable and no longer asked about. It reports whether it was.
func (s *Store) MessageNotPriced(ctx context.Context, id, note string, giveUpAfter int, final bool) (bool, error) {
	var unpriceable bool
	err := s.pool.QueryRow(ctx, `UPDATE messages SET price_attempts = price_attempts + 1, price_checked_at = now(),
		price_note = $2, price_status = CASE WHEN $4 OR price_attempts + 1 >= $3 THEN 'unpriceable' ELSE price_status END
		WHERE id = $1 AND price_status = 'pending' RETURNING price_status = 'unpriceable'`,
		id, note, giveUpAfter, final).Scan(&unpriceable)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return unpriceable, classify(err)
}

// ---- consent ----

const consentCols = `channel, address, status, method, evidence, person_id, recorded_by, at`

func scanConsent(r pgx.CollectableRow) (domain.Consent, error) {
	var c domain.Consent
	err := r.Scan(&c.Channel, &c.Address, &c.Status, &c.Method, &c.Evidence, &c.PersonID, &c.RecordedBy, &c.At)
	return c, err
}

// Consent is what was last said about messaging an address on a channel; ok is false when nothing was.
func (s *Store) Consent(ctx context.Context, ch domain.Channel, address string) (domain.Consent, bool, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+consentCols+` FROM messaging_consent WHERE channel = $1 AND address = $2`,
		ch, address)
	c, err := pgx.CollectExactlyOneRow(rows, scanConsent)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	return c, err == nil, err
}

// SetConsent records consent given or withdrawn for an address on a channel.
func (s *Store) SetConsent(ctx context.Context, actor Actor, c domain.Consent) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error { return setConsent(ctx, tx, actor, c) })
}

func setConsent(ctx context.Context, tx pgx.Tx, actor Actor, c domain.Consent) error {
	if c.At.IsZero() {
		c.At = time.Now()
	}
	tag, err := tx.Exec(ctx, `INSERT INTO messaging_consent (`+consentCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (channel, address) DO UPDATE SET status = excluded.status, method = excluded.method,
		evidence = excluded.evidence, person_id = coalesce(excluded.person_id, messaging_consent.person_id),
		recorded_by = excluded.recorded_by, at = excluded.at
		WHERE messaging_consent.status <> excluded.status OR messaging_consent.method <> excluded.method
		   OR messaging_consent.evidence <> excluded.evidence`,
		c.Channel, c.Address, c.Status, c.Method, c.Evidence, c.PersonID, (*uuid.UUID)(actor), c.At)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	// The audit log names the person, or a digest of the address: never the address itself.
	entityType, entityID := "person", ""
	if c.PersonID != nil {
		entityID = c.PersonID.String()
	} else {
		sum := sha256.Sum256([]byte(c.Address))
		entityType, entityID = "address", hex.EncodeToString(sum[:8])
	}
	return writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "consent." + c.Status, EntityType: entityType,
		EntityID: entityID, Detail: map[string]any{"channel": c.Channel, "method": c.Method}})
}

// PersonConsents lists what was said about messaging a person: on their current number and address, or
// recorded against them.
func (s *Store) PersonConsents(ctx context.Context, personID uuid.UUID) ([]domain.Consent, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+consentCols+` FROM messaging_consent c WHERE person_id = $1
		OR EXISTS (SELECT 1 FROM persons p WHERE p.id = $1 AND ((c.channel IN ('sms', 'whatsapp') AND
		c.address = p.mobile AND p.mobile <> '') OR (c.channel = 'email' AND lower(c.address) = lower(p.email)
		AND p.email <> ''))) ORDER BY channel, address`, personID)
	return pgx.CollectRows(rows, scanConsent)
}

// ---- the inbox ----

const inboundCols = `id, provider_id, channel, sender, receiver, body, person_id, keyword, broadcast_id, received_at`

func scanInbound(r pgx.CollectableRow) (domain.InboundMessage, error) {
	var m domain.InboundMessage
	err := r.Scan(&m.ID, &m.ProviderID, &m.Channel, &m.Sender, &m.Receiver, &m.Body, &m.PersonID, &m.Keyword,
		&m.BroadcastID, &m.ReceivedAt)
	return m, err
}

// Inbound keywords that are no broadcast reply.
const (
	KeywordOptOut = "opt_out"
	KeywordOptIn  = "opt_in"
	KeywordHelp   = "help"
)

// ReceiveInbound records a message a person sent us, once (a repeated webhook changes nothing), and acts
// on it in the same transaction: an opt-out or opt-in keyword changes consent; otherwise an SMS from a
// number a broadcast still collecting replies was sent to is that broadcast's reply, tallied by its first
// word when that is one of the broadcast's keywords (the latest reply counts).
func (s *Store) ReceiveInbound(ctx context.Context, in messaging.Inbound) (domain.InboundMessage, bool, error) {
	in.ProviderID, in.From, in.To = providerLine(in.ProviderID), providerLine(in.From), providerLine(in.To)
	in.Body, in.ProfileName = domain.SanitizeText(in.Body, domain.TextFree, 0), providerLine(in.ProfileName)
	var out domain.InboundMessage
	created := false
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		var person *uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT id FROM persons WHERE mobile = $1 ORDER BY active DESC, updated_at DESC
			LIMIT 1`, in.From).Scan(&person); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		at := in.At
		if at.IsZero() {
			at = time.Now()
		}
		keyword := ""
		var broadcast *uuid.UUID
		opt := messaging.OptKeyword(in.Body)
		switch opt {
		case messaging.OptOut:
			keyword = KeywordOptOut
		case messaging.OptIn:
			keyword = KeywordOptIn
		default:
			// A reply to a broadcast collecting replies is its reply, HELP included (a person in trouble
			// answering an emergency broadcast must be counted); otherwise HELP is a request for help.
			var keywords []string
			var id uuid.UUID
			err := tx.QueryRow(ctx, `SELECT b.id, b.keywords FROM broadcast_recipients r
				JOIN broadcasts b ON b.id = r.broadcast_id WHERE r.recipient = $1 AND r.message_id IS NOT NULL
				AND b.status IN ('sending', 'collecting') AND b.reply_until > $2 ORDER BY b.created_at DESC LIMIT 1`,
				in.From, at).Scan(&id, &keywords)
			switch {
			case err == nil && in.Channel == domain.ChannelSMS:
				broadcast = &id
				keyword = messaging.MatchKeyword(in.Body, keywords)
			case err != nil && !errors.Is(err, pgx.ErrNoRows):
				return err
			case opt == messaging.Help:
				keyword = KeywordHelp
			}
		}
		rows, _ := tx.Query(ctx, `INSERT INTO inbound_messages (`+inboundCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7,
			$8, $9, $10) ON CONFLICT (provider_id) DO NOTHING RETURNING `+inboundCols, uuid.New(), in.ProviderID,
			in.Channel, in.From, in.To, in.Body, person, keyword, broadcast, at)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanInbound)
		if errors.Is(err, pgx.ErrNoRows) {
			rows, _ := tx.Query(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE provider_id = $1`, in.ProviderID)
			out, err = pgx.CollectExactlyOneRow(rows, scanInbound)
			return err
		}
		if err != nil {
			return err
		}
		created = true
		switch keyword {
		case KeywordOptOut, KeywordOptIn:
			st := domain.ConsentOptedOut
			if keyword == KeywordOptIn {
				st = domain.ConsentOptedIn
			}
			// On WhatsApp, START is consent the person gave themselves: recorded with the message as evidence.
			return setConsent(ctx, tx, nil, domain.Consent{Channel: in.Channel, Address: in.From, Status: st,
				Method: "keyword", Evidence: "inbound " + in.ProviderID, PersonID: person, At: at})
		}
		if broadcast != nil {
			_, err = tx.Exec(ctx, `UPDATE broadcast_recipients SET reply_keyword = $3, reply_body = $4, replied_at = $5
				WHERE broadcast_id = $1 AND recipient = $2 AND (replied_at IS NULL OR replied_at <= $5)`,
				*broadcast, in.From, keyword, in.Body, at)
		}
		return err
	})
	return out, created, err
}

// InboxFilter narrows the inbox.
type InboxFilter struct {
	PersonID    *uuid.UUID
	Channel     domain.Channel
	BroadcastID *uuid.UUID
	Keyword     string
	From, To    *time.Time
	Page
}

// Inbox lists messages people sent us, newest first, with the total that match.
func (s *Store) Inbox(ctx context.Context, f InboxFilter) ([]domain.InboundMessage, int, error) {
	var w filter
	if f.PersonID != nil {
		w.add("person_id = %s", *f.PersonID)
	}
	if f.Channel != "" {
		w.add("channel = %s", f.Channel)
	}
	if f.BroadcastID != nil {
		w.add("broadcast_id = %s", *f.BroadcastID)
	}
	if f.Keyword != "" {
		w.add("keyword = %s", f.Keyword)
	}
	if f.From != nil {
		w.add("received_at >= %s", *f.From)
	}
	if f.To != nil {
		w.add("received_at < %s", *f.To)
	}
	return page(ctx, s, "inbound_messages", inboundCols, &w, "received_at DESC, id", f.Page, scanInbound)
}

// ---- reminder policy ----

// ReminderPolicy is when people are nudged and reminded.
func (s *Store) ReminderPolicy(ctx context.Context) (domain.ReminderPolicy, error) {
	var p domain.ReminderPolicy
	err := s.pool.QueryRow(ctx, `SELECT nudge_days, renewal_lead_days, info_reminder_days, updated_by, updated_at
		FROM reminder_policy`).Scan(&p.NudgeDays, &p.RenewalLeadDays, &p.InfoReminderDays, &p.UpdatedBy, &p.UpdatedAt)
	return p, err
}

// SetReminderPolicy changes when people are nudged and reminded.
func (s *Store) SetReminderPolicy(ctx context.Context, actor Actor, p domain.ReminderPolicy) (domain.ReminderPolicy, error) {
	var out domain.ReminderPolicy
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "reminder_policy.update", EntityType: "reminder_policy",
		EntityID: "1", Detail: map[string]any{"nudgeDays": p.NudgeDays, "renewalLeadDays": p.RenewalLeadDays,
			"infoReminderDays": p.InfoReminderDays}}, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE reminder_policy SET nudge_days = $1, renewal_lead_days = $2,
			info_reminder_days = $3, updated_by = $4, updated_at = now()
			RETURNING nudge_days, renewal_lead_days, info_reminder_days, updated_by, updated_at`,
			p.NudgeDays, p.RenewalLeadDays, p.InfoReminderDays, (*uuid.UUID)(actor)).
			Scan(&out.NudgeDays, &out.RenewalLeadDays, &out.InfoReminderDays, &out.UpdatedBy, &out.UpdatedAt)
	})
	return out, err
}

// nonNilStrings is s, or an empty list for a text[] column that takes no NULL.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
