package domain

// Channel is how a message travels.
type Channel string

// Channels.
const (
	ChannelSMS      Channel = "sms"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelEmail    Channel = "email"
)

// Channels lists every channel.
var Channels = []Channel{ChannelSMS, ChannelWhatsApp, ChannelEmail}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == ChannelSMS || c == ChannelWhatsApp || c == ChannelEmail }

// OrDefault is c, or e-mail when c is unset.
func (c Channel) OrDefault() Channel {
	if c == "" {
		return ChannelEmail
	}
	return c
}

// MessageStatus is where a message is. Providers' own words are mapped onto these.
type MessageStatus string

// Message statuses, in the order a message moves through them. Suppressed messages were never handed
// over (the recipient opted out or gave no consent).
const (
	MessagePending     MessageStatus = "pending" // recorded, not yet accepted by the provider
	MessageSuppressed  MessageStatus = "suppressed"
	MessageQueued      MessageStatus = "queued" // accepted by the provider
	MessageSent        MessageStatus = "sent"
	MessageDelivered   MessageStatus = "delivered"
	MessageRead        MessageStatus = "read"
	MessageUndelivered MessageStatus = "undelivered"
	MessageFailed      MessageStatus = "failed"
)

// MessageStatuses lists every message status.
var MessageStatuses = []MessageStatus{MessagePending, MessageSuppressed, MessageQueued, MessageSent, MessageDelivered,
	MessageRead, MessageUndelivered, MessageFailed}

// Rank orders statuses so receipts arriving out of order never move a message backwards: a message takes
// a receipt's status only when it ranks higher than the one it has.
func (s MessageStatus) Rank() int {
	switch s {
	case MessagePending:
		return 0
	case MessageQueued:
		return 1
	case MessageSent:
		return 2
	case MessageUndelivered, MessageFailed, MessageDelivered:
		return 3
	case MessageRead:
		return 4
	case MessageSuppressed:
		return 5
	}
	return -1
}

// Final reports whether no further status is expected (read may still follow delivered on WhatsApp, but
// cost and delivery are known).
func (s MessageStatus) Final() bool { return s.Rank() >= 3 }
