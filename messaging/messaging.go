// Package messaging is SignetAssure's side of its message providers: Twilio for SMS and WhatsApp,
// SendGrid for e-mail. It hands messages over with the providers' own SDKs, reads their answers and
// receipts into one status model, and verifies their signed webhooks. What is sent, to whom, and whether
// it may be sent at all is decided by the activities; the record is kept by the store.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signetassure/signetassure/domain"
)

// Channel and Status are the domain's (domain.Channel, domain.MessageStatus): the vocabulary is the
// domain's, and the providers' code here names it as it always did.
type (
	Channel = domain.Channel
	Status  = domain.MessageStatus
)

// Channels.
const (
	SMS      = domain.ChannelSMS
	WhatsApp = domain.ChannelWhatsApp
	Email    = domain.ChannelEmail
)

// Channels lists every channel.
var Channels = domain.Channels

// Statuses (domain.MessageStatus).
const (
	StatusPending     = domain.MessagePending
	StatusSuppressed  = domain.MessageSuppressed
	StatusQueued      = domain.MessageQueued
	StatusSent        = domain.MessageSent
	StatusDelivered   = domain.MessageDelivered
	StatusRead        = domain.MessageRead
	StatusUndelivered = domain.MessageUndelivered
	StatusFailed      = domain.MessageFailed
)

// Statuses lists every status.
var Statuses = domain.MessageStatuses

// Outgoing is one message to hand to a provider.
type Outgoing struct {
	// ID is our message id: the idempotency key. Providers carry it back (in the status callback URL,
	// or as a SendGrid custom argument) so receipts find the message.
	ID      string
	Channel Channel
	// To is an E.164 number (sms, whatsapp, without the whatsapp: prefix) or an e-mail address.
	To string
	// Subject and HTML are for e-mail; Body is the text of every channel.
	Subject string
	Body    string
	HTML    string
	// ContentSID and ContentVariables send an approved WhatsApp template (Twilio Content API) instead
	// of a free-form body, as WhatsApp requires outside the 24-hour session.
	ContentSID       string
	ContentVariables map[string]string
	// FirstAttempt is when the first attempt to hand this message over began. Find looks from here.
	FirstAttempt time.Time
}

// Receipt is a provider's answer about one message.
type Receipt struct {
	// ProviderID is the Twilio message SID or the SendGrid X-Message-Id.
	ProviderID string
	Status     Status
	// Price and PriceUnit are the cost as the provider states it (Twilio: a negative decimal string,
	// such as "-0.04000", and "GBP"); empty until known. SendGrid states none.
	Price     string
	PriceUnit string
	Segments  int
	ErrorCode int
	Error     string
}

// Provider hands messages over on the channels it serves.
type Provider interface {
	// Send hands m over once. An error of kind Transient or RateLimited may or may not have been applied
	// only where the Error says Ambiguous; the caller then uses Find before sending again.
	Send(ctx context.Context, m Outgoing) (Receipt, error)
	// Find looks for m handed over by an earlier attempt (from m.FirstAttempt on). ok is false when
	// the provider holds no such message.
	Find(ctx context.Context, m Outgoing) (r Receipt, ok bool, err error)
	// Fetch reads a message's current state and cost by its provider id.
	Fetch(ctx context.Context, providerID string) (Receipt, error)
}

// Kind classifies a provider's refusal.
type Kind string

// Kinds of provider errors. Only Transient and RateLimited are worth retrying.
const (
	OptedOut    Kind = "opted_out"    // the recipient said STOP (Twilio 21610) or unsubscribed
	Invalid     Kind = "invalid"      // the address or the message itself cannot be sent (a landline, 21211)
	Refused     Kind = "refused"      // our credentials or account were refused (401, 403)
	RateLimited Kind = "rate_limited" // too many requests (429, Twilio 20429)
	Transient   Kind = "transient"    // the provider failed or did not answer (5xx, timeouts)
)

// Error is a provider's refusal or failure.
type Error struct {
	Kind Kind
	// Code is the provider's error code (Twilio's, such as 21610) or the HTTP status.
	Code    int
	Message string
	// Ambiguous is true when the request may have been applied (it timed out after being sent).
	Ambiguous bool
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Kind, e.Code, e.Message) }

// Retryable reports whether trying again may succeed.
func (e *Error) Retryable() bool { return e.Kind == Transient || e.Kind == RateLimited }

// KindOf returns the kind of err, or Transient for errors that are not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Transient
}

// Event is a delivery receipt or engagement event from a provider's webhook.
type Event struct {
	// MessageID is our message id, when the provider carried it back (Twilio: the m query parameter of
	// the status callback URL; SendGrid: the custom argument).
	MessageID  string
	ProviderID string
	// EventID deduplicates: a repeat of one event has the same id.
	EventID string
	// Status is the event mapped onto our statuses; empty for events that are no status (a click).
	Status Status
	// Raw is the provider's own word for it (MessageStatus, or SendGrid's event).
	Raw       string
	ErrorCode int
	Reason    string
	At        time.Time
	// Recipient is the address the event concerns; OptOut is true when it says the recipient no longer
	// wants messages on this channel (an unsubscribe or spam report).
	Recipient string
	OptOut    bool
}

// Inbound is a message a person sent us.
type Inbound struct {
	ProviderID string
	Channel    Channel
	// From and To are E.164 numbers, without the whatsapp: prefix.
	From, To    string
	Body        string
	ProfileName string
	At          time.Time
}
