package activities

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/time/rate"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/store"
)

// MessagingSettings are the message providers, by channel.
type MessagingSettings struct {
	Channels map[domain.Channel]Provider
}

// Provider is a message provider and the name messages record it under (twilio, sendgrid).
type Provider struct {
	Name string
	messaging.Provider
}

// TypeMessagingRefused is the application error type of a provider refusing our credentials or account:
// no retry helps until someone fixes the configuration.
const TypeMessagingRefused = "MessagingRefused"

// SendInput is one message to send: a template on a channel to a person, or to an address fixed before
// (a broadcast's recipient). Key is the message id the workflow fixed: sending it again never sends twice.
type SendInput struct {
	Key      string
	PersonID *uuid.UUID
	// StaffUserID is the staff user who asked for the message, if one did.
	StaffUserID *uuid.UUID
	// Channel "" is the person's preferred channel, or else one they can be reached on.
	Channel domain.Channel
	// To is the address to use instead of the person's (a broadcast fixes its recipients' numbers).
	To       string
	Template string
	Vars     map[string]string
	// What caused it.
	CaseRef     string
	ClearanceID *uuid.UUID
	BroadcastID *uuid.UUID
	// TripLink asks for a traveller's link, made when the message is first composed (never in the
	// workflow's history): the template's Link.
	TripLink *TripLinkRequest `json:",omitempty"`
}

// SendResult is where a message ended up.
type SendResult struct {
	ID      string
	Channel domain.Channel
	Status  domain.MessageStatus
	Reason  string
}

// SendMessage records a message from a template and hands it to its provider, once: a message already
// handed over is not sent again, and one whose hand-over may have reached the provider unacknowledged is
// looked for there first. A message to a recipient who opted out (or, on WhatsApp, never opted in) is
// recorded as suppressed and not attempted.
func (a *Activities) SendMessage(ctx context.Context, in SendInput) (SendResult, error) {
	m, err := a.message(ctx, in, nil)
	if err != nil {
		return SendResult{}, err
	}
	m, err = a.deliver(ctx, m)
	return SendResult{ID: m.ID, Channel: m.Channel, Status: m.Status, Reason: m.StatusReason}, err
}

// message is the message recorded under the input's key, or, the first time, the message composed and
// recorded from it.
func (a *Activities) message(ctx context.Context, in SendInput, cache templateCache) (domain.Message, error) {
	m, err := a.Store.Message(ctx, in.Key)
	if errors.Is(err, store.ErrNotFound) {
		return a.composeMessage(ctx, in, cache)
	}
	return m, err
}

// templateCache keeps the templates one activity uses.
type templateCache map[string]domain.Template

// composeMessage renders the message and records it, pending or suppressed.
func (a *Activities) composeMessage(ctx context.Context, in SendInput, cache templateCache) (domain.Message, error) {
	vars := map[string]string{}
	var person *domain.Person
	if in.PersonID != nil && in.To == "" {
		p, err := a.Store.Person(ctx, *in.PersonID)
		if err != nil {
			return domain.Message{}, nonRetryable(err)
		}
		person = &p
		vars["FirstName"], vars["LastName"] = p.FirstName, p.LastName
	}
	for k, v := range in.Vars {
		vars[k] = v
	}
	if in.TripLink != nil {
		link, err := a.tripLink(ctx, *in.TripLink)
		if err != nil {
			return domain.Message{}, err
		}
		vars["Link"] = link
	}
	ch, to, reason, err := a.route(ctx, in, person)
	if err != nil {
		return domain.Message{}, err
	}
	key := in.Template + "/" + string(ch)
	t, ok := cache[key]
	if !ok {
		if t, err = a.Store.LatestTemplate(ctx, in.Template, ch); err != nil {
			return domain.Message{}, nonRetryable(fmt.Errorf("template %s on %s: %w", in.Template, ch, err))
		}
		if cache != nil {
			cache[key] = t
		}
	}
	r, err := messaging.Render(t.Subject, t.Body, t.HTML, vars)
	if err != nil {
		return domain.Message{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("template %s v%d: %v", t.Name, t.Version, err), TypeInvalidInput, err)
	}
	now := time.Now().UTC()
	m := domain.Message{ID: in.Key, Channel: ch, Template: t.Name, TemplateVersion: t.Version, PersonID: in.PersonID,
		StaffUserID: in.StaffUserID,
		Recipient:   to, Subject: r.Subject, Body: r.Body, Status: domain.MessagePending, StatusAt: now,
		ClearanceID: in.ClearanceID, BroadcastID: in.BroadcastID}
	// What goes to the provider besides the body: the e-mail's HTML part, or the approved WhatsApp
	// template with its variables (WhatsApp takes no free-form text outside the 24-hour session).
	if ch == domain.ChannelEmail {
		m.HTML = r.HTML
	}
	if ch == domain.ChannelWhatsApp && t.ContentSID != "" {
		m.ContentSID = t.ContentSID
		if m.ContentVariables, err = messaging.ContentVariables(t.ContentVariables, vars); err != nil {
			return domain.Message{}, temporal.NewNonRetryableApplicationError(
				fmt.Sprintf("template %s v%d: %v", t.Name, t.Version, err), TypeInvalidInput, err)
		}
	}
	if in.CaseRef != "" {
		m.CaseRef = &in.CaseRef
	}
	if reason != "" {
		m.Status, m.StatusReason = domain.MessageSuppressed, reason
	}
	stored, _, err := a.Store.CreateMessage(ctx, m)
	return stored, nonRetryable(err)
}

// Reasons a message is suppressed.
const (
	ReasonOptedOut       = "opted_out"
	ReasonNoConsent      = "no_whatsapp_consent"
	ReasonNoAddress      = "no_address"
	ReasonNoProvider     = "no_provider"
	ReasonProviderOptOut = "provider_opted_out"
)

// route picks the channel and address, and says why the message may not be sent ("" when it may).
// Asked for no channel, it takes the person's preferred one, or else the first of e-mail and SMS they
// can be reached and may be messaged on.
func (a *Activities) route(ctx context.Context, in SendInput, p *domain.Person) (domain.Channel, string, string, error) {
	address := func(ch domain.Channel) string {
		switch {
		case in.To != "":
			return in.To
		case p == nil:
			return ""
		case ch == domain.ChannelEmail:
			return p.Email
		default:
			return p.Mobile
		}
	}
	candidates := []domain.Channel{in.Channel}
	if in.Channel == "" {
		preferred := domain.ChannelEmail
		if p != nil {
			preferred = p.PreferredChannel.OrDefault()
		}
		candidates = []domain.Channel{preferred, domain.ChannelEmail, domain.ChannelSMS}
	}
	var firstReason string
	for _, ch := range candidates {
		to := address(ch)
		reason, err := a.mayMessage(ctx, ch, to)
		if err != nil {
			return "", "", "", err
		}
		if reason == "" {
			return ch, to, "", nil
		}
		if firstReason == "" {
			firstReason = reason
		}
	}
	return candidates[0], address(candidates[0]), firstReason, nil
}

// mayMessage says why an address may not be messaged on a channel, or "" when it may.
func (a *Activities) mayMessage(ctx context.Context, ch domain.Channel, to string) (string, error) {
	if to == "" {
		return ReasonNoAddress, nil
	}
	if _, ok := a.Messaging.Channels[ch]; !ok {
		return ReasonNoProvider, nil
	}
	c, found, err := a.Store.Consent(ctx, ch, to)
	switch {
	case err != nil:
		return "", err
	case found && c.Status == domain.ConsentOptedOut:
		return ReasonOptedOut, nil
	case ch == domain.ChannelWhatsApp && !found:
		return ReasonNoConsent, nil
	}
	return "", nil
}

// deliver hands a pending message to its provider. It returns an error only when trying again later
// may succeed (or when our credentials were refused); a message the provider refuses is recorded failed.
func (a *Activities) deliver(ctx context.Context, m domain.Message) (domain.Message, error) {
	if m.Status != domain.MessagePending {
		return m, nil
	}
	p, ok := a.Messaging.Channels[m.Channel]
	if !ok {
		return a.Store.MessageNotSent(ctx, m.ID, domain.MessageSuppressed, 0, ReasonNoProvider, time.Now().UTC())
	}
	// A consent withdrawn since the message was recorded still stops it.
	if reason, err := a.mayMessage(ctx, m.Channel, m.Recipient); err != nil || reason != "" {
		if err != nil {
			return m, err
		}
		return a.Store.MessageNotSent(ctx, m.ID, domain.MessageSuppressed, 0, reason, time.Now().UTC())
	}
	first, earlier, err := a.Store.StartHandover(ctx, m.ID, time.Now().UTC())
	if err != nil {
		return m, err
	}
	out := messaging.Outgoing{ID: m.ID, Channel: m.Channel, To: m.Recipient, Subject: m.Subject, Body: m.Body,
		HTML: m.HTML, ContentSID: m.ContentSID, ContentVariables: m.ContentVariables, FirstAttempt: first}
	if earlier {
		r, found, err := p.Find(ctx, out)
		if err != nil {
			return m, err
		}
		if found {
			return a.Store.MessageAccepted(ctx, m.ID, p.Name, r, time.Now().UTC())
		}
	}
	r, err := p.Send(ctx, out)
	if err == nil {
		return a.Store.MessageAccepted(ctx, m.ID, p.Name, r, time.Now().UTC())
	}
	var pe *messaging.Error
	if !errors.As(err, &pe) {
		pe = &messaging.Error{Kind: messaging.Transient, Message: err.Error(), Ambiguous: true}
	}
	now := time.Now().UTC()
	switch pe.Kind {
	case messaging.OptedOut:
		// The provider knows the recipient said STOP: so do we, from now on.
		if err := a.Store.SetConsent(ctx, nil, domain.Consent{Channel: m.Channel, Address: m.Recipient,
			Status: domain.ConsentOptedOut, Method: fmt.Sprintf("provider_%d", pe.Code), PersonID: m.PersonID, At: now}); err != nil {
			return m, err
		}
		return a.Store.MessageNotSent(ctx, m.ID, domain.MessageSuppressed, pe.Code, ReasonProviderOptOut, now)
	case messaging.Invalid:
		return a.Store.MessageNotSent(ctx, m.ID, domain.MessageFailed, pe.Code, pe.Message, now)
	}
	if !pe.Ambiguous {
		if err := a.Store.HandoverNotApplied(ctx, m.ID); err != nil {
			return m, err
		}
	}
	if pe.Kind == messaging.Refused {
		return m, temporal.NewNonRetryableApplicationError(pe.Error(), TypeMessagingRefused, err)
	}
	return m, err
}

// Cost fetching gives up on a message after maxPriceTries reads without a price (an hour of the
// default five-minute schedule), and ends a run after maxPriceOutages provider failures in a row (the
// provider is down: the next run carries on).
const (
	maxPriceTries   = 12
	maxPriceOutages = 3
)

// FetchMessageCosts reads the cost of messages past sending whose cost the provider had not stated yet.
// A message it cannot price (no price stated, or the provider no longer knows it) is noted and skipped,
// and after maxPriceTries, or at once when the provider refuses to know it, marked unpriceable: it never
// holds up the messages after it. It returns how many it priced.
func (a *Activities) FetchMessageCosts(ctx context.Context) (int, error) {
	p, ok := a.Messaging.Channels[domain.ChannelSMS]
	if !ok || p.Name != "twilio" {
		return 0, nil
	}
	ms, err := a.Store.UnpricedMessages(ctx, 500)
	if err != nil {
		return 0, err
	}
	log := activity.GetLogger(ctx)
	priced, outages := 0, 0
	for i, m := range ms {
		r, err := p.Fetch(ctx, *m.ProviderID)
		if err != nil {
			kind := messaging.KindOf(err)
			if kind == messaging.Refused {
				return priced, temporal.NewNonRetryableApplicationError(err.Error(), TypeMessagingRefused, err)
			}
			// The provider's word that it cannot give this message (404, 4xx) is final; its outages are
			// retried by later runs, message by message, up to maxPriceTries.
			final := kind == messaging.Invalid || kind == messaging.OptedOut
			gaveUp, nerr := a.Store.MessageNotPriced(ctx, m.ID, "fetch: "+err.Error(), maxPriceTries, final)
			if nerr != nil {
				return priced, nerr
			}
			if gaveUp {
				log.Warn("message cost: the provider cannot price the message; marked unpriceable", "message", m.ID,
					"kind", kind)
			}
			if !final {
				if outages++; outages >= maxPriceOutages {
					return priced, fmt.Errorf("message cost: the provider failed %d times in a row: %w", outages, err)
				}
			}
			activity.RecordHeartbeat(ctx, i)
			continue
		}
		outages = 0
		// numeric(12, 5): a price outside it (or no number at all) could never be stored.
		v, perr := strconv.ParseFloat(r.Price, 64)
		if perr == nil && !(math.Abs(v) < 1e7) {
			perr = fmt.Errorf("price out of range")
		}
		switch {
		case r.Price == "":
			if _, err := a.Store.MessageNotPriced(ctx, m.ID, "no price stated", maxPriceTries, false); err != nil {
				return priced, err
			}
		case perr != nil:
			if _, err := a.Store.MessageNotPriced(ctx, m.ID, "unreadable price", maxPriceTries, true); err != nil {
				return priced, err
			}
		default:
			if err := a.Store.SetMessagePrice(ctx, m.ID, r.Price, r.PriceUnit); err != nil {
				if _, ok := refused(err); !ok {
					return priced, err
				}
				// A price the database cannot take stays unknown; the others are read on.
				if _, err := a.Store.MessageNotPriced(ctx, m.ID, "price refused: "+Permanent(err).Error(), maxPriceTries, true); err != nil {
					return priced, err
				}
			} else {
				priced++
			}
		}
		activity.RecordHeartbeat(ctx, i)
	}
	return priced, nil
}

// ---- broadcasts ----

// PrepareBroadcastInput fixes a broadcast's recipients over shards.
type PrepareBroadcastInput struct {
	BroadcastID uuid.UUID
	Shards      int
}

// PrepareBroadcast fixes a broadcast's recipients; it returns how many will be messaged.
func (a *Activities) PrepareBroadcast(ctx context.Context, in PrepareBroadcastInput) (int, error) {
	n, err := a.Store.PrepareBroadcast(ctx, in.BroadcastID, in.Shards)
	return n, nonRetryable(err)
}

// BroadcastShardInput is one shard of a broadcast to send, at a rate (messages a second; 0: unlimited).
type BroadcastShardInput struct {
	BroadcastID uuid.UUID
	Shard       int
	Rate        float64
	Text        string
}

// BroadcastShardResult counts what a shard's messages became.
type BroadcastShardResult struct {
	Handed, Suppressed, Failed int
}

// broadcastMessageID is the id of a broadcast's message to a person: one per person, whatever happens.
func broadcastMessageID(broadcast, person uuid.UUID) string {
	return "broadcast/" + broadcast.String() + "/" + person.String()
}

// SendBroadcastShard messages a shard's recipients in person order at its rate, recording its place in
// its heartbeat: a retried attempt (after a worker died) resumes there, and the messages' idempotency
// makes whatever it goes over again a no-op.
func (a *Activities) SendBroadcastShard(ctx context.Context, in BroadcastShardInput) (BroadcastShardResult, error) {
	var res BroadcastShardResult
	var after uuid.UUID
	if activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &after, &res)
	}
	limit := rate.Inf
	if in.Rate > 0 {
		limit = rate.Limit(in.Rate)
	}
	limiter := rate.NewLimiter(limit, 1)
	cache := templateCache{}
	bid := in.BroadcastID
	for {
		targets, err := a.Store.BroadcastTargets(ctx, bid, in.Shard, after, 200)
		if err != nil || len(targets) == 0 {
			return res, err
		}
		for _, t := range targets {
			person := t.PersonID
			id := broadcastMessageID(bid, person)
			m, err := a.message(ctx, SendInput{Key: id, PersonID: &person, Channel: domain.ChannelSMS, To: t.Recipient,
				Template: "broadcast", Vars: map[string]string{"Text": in.Text}, BroadcastID: &bid}, cache)
			if err != nil {
				return res, err
			}
			if m.Status == domain.MessagePending {
				if err := limiter.Wait(ctx); err != nil {
					return res, err
				}
				if m, err = a.deliver(ctx, m); err != nil {
					return res, err
				}
				switch {
				case m.Status == domain.MessageSuppressed:
					res.Suppressed++
				case m.Status == domain.MessageFailed:
					res.Failed++
				default:
					res.Handed++
				}
			}
			after = person
			activity.RecordHeartbeat(ctx, after, res)
		}
	}
}

// SetBroadcastStatusInput moves a broadcast on.
type SetBroadcastStatusInput struct {
	BroadcastID uuid.UUID
	Status      string
	At          time.Time
}

// SetBroadcastStatus moves a broadcast on (preparing, sending, collecting, closed).
func (a *Activities) SetBroadcastStatus(ctx context.Context, in SetBroadcastStatusInput) error {
	return a.Store.SetBroadcastStatus(ctx, in.BroadcastID, in.Status, in.At)
}
