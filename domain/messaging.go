package domain

import (
	"time"

	"github.com/google/uuid"
)

// Template is one version of a named message template on one channel.
type Template struct {
	Name       string  `json:"name"`
	Channel    Channel `json:"channel"`
	Version    int     `json:"version"`
	Subject    string  `json:"subject,omitempty"`
	Body       string  `json:"body"`
	HTML       string  `json:"html,omitempty"`
	ContentSID string  `json:"contentSid,omitempty"`
	// ContentVariables name, in order, the variables that fill the Content template's numbered
	// placeholders: the first fills {{1}}, the second {{2}}, and so on.
	ContentVariables []string   `json:"contentVariables,omitempty"`
	CreatedBy        *uuid.UUID `json:"createdBy"`
	CreatedAt        time.Time  `json:"createdAt"`
}

// Message is one message in the outbox: what was sent to whom, why, where it is and what it cost.
type Message struct {
	ID              string     `json:"id"`
	Channel         Channel    `json:"channel"`
	Template        string     `json:"template"`
	TemplateVersion int        `json:"templateVersion"`
	PersonID        *uuid.UUID `json:"personId"`
	StaffUserID     *uuid.UUID `json:"staffUserId"`
	Recipient       string     `json:"recipient"`
	Subject         string     `json:"subject,omitempty"`
	Body            string     `json:"body"`
	// HTML is an e-mail's HTML part; ContentSID and ContentVariables (keyed "1", "2", ...) the WhatsApp
	// Content template handed to Twilio instead of the body.
	HTML             string            `json:"html,omitempty"`
	ContentSID       string            `json:"contentSid,omitempty"`
	ContentVariables map[string]string `json:"contentVariables,omitempty"`
	Status           MessageStatus     `json:"status"`
	StatusAt         time.Time         `json:"statusAt"`
	StatusReason     string            `json:"statusReason,omitempty"`
	Provider         string            `json:"provider,omitempty"`
	ProviderID       *string           `json:"providerId"`
	ErrorCode        *int              `json:"errorCode"`
	Price            *string           `json:"price"`
	PriceUnit        *string           `json:"priceUnit"`
	Segments         *int              `json:"segments"`
	// PriceStatus is pending until the provider states the cost (priced), or unpriceable when it would
	// not after several tries (PriceNote says why); empty for a provider that states no cost.
	PriceStatus string `json:"priceStatus,omitempty"`
	PriceNote   string `json:"priceNote,omitempty"`
	// HandoverStartedAt is set while a hand-over may have reached the provider unacknowledged.
	HandoverStartedAt *time.Time     `json:"-"`
	CaseRef           *string        `json:"caseRef"`
	ClearanceID       *uuid.UUID     `json:"clearanceId"`
	BroadcastID       *uuid.UUID     `json:"broadcastId"`
	CreatedAt         time.Time      `json:"createdAt"`
	UpdatedAt         time.Time      `json:"updatedAt"`
	Events            []MessageEvent `json:"events,omitempty"`
}

// MessageEvent is one entry of a message's status history.
type MessageEvent struct {
	EventID    string        `json:"eventId"`
	Status     MessageStatus `json:"status,omitempty"`
	Raw        string        `json:"raw,omitempty"`
	ErrorCode  *int          `json:"errorCode"`
	Reason     string        `json:"reason,omitempty"`
	At         time.Time     `json:"at"`
	ReceivedAt time.Time     `json:"receivedAt"`
}

// InboundMessage is a message a person sent us, and what we made of it.
type InboundMessage struct {
	ID          uuid.UUID  `json:"id"`
	ProviderID  string     `json:"providerId"`
	Channel     Channel    `json:"channel"`
	Sender      string     `json:"sender"`
	Receiver    string     `json:"receiver"`
	Body        string     `json:"body"`
	PersonID    *uuid.UUID `json:"personId"`
	Keyword     string     `json:"keyword,omitempty"`
	BroadcastID *uuid.UUID `json:"broadcastId"`
	ReceivedAt  time.Time  `json:"receivedAt"`
}

// Consent states.
const (
	ConsentOptedIn  = "opted_in"
	ConsentOptedOut = "opted_out"
)

// Consent is whether an address may be messaged on a channel, and when and how that was said.
type Consent struct {
	Channel    Channel    `json:"channel"`
	Address    string     `json:"address"`
	Status     string     `json:"status"`
	Method     string     `json:"method"`
	Evidence   string     `json:"evidence,omitempty"`
	PersonID   *uuid.UUID `json:"personId"`
	RecordedBy *uuid.UUID `json:"recordedBy"`
	At         time.Time  `json:"at"`
}

// Contact group kinds.
const (
	GroupSite     = "site"
	GroupSupplier = "supplier"
	GroupLevel    = "level"
	GroupManual   = "manual"
)

// ContactGroup is a set of people to message together: everyone at a site, of a supplier, holding a
// clearance level, or picked by hand.
type ContactGroup struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Kind       string     `json:"kind"`
	LocationID *uuid.UUID `json:"locationId"`
	SupplierID *uuid.UUID `json:"supplierId"`
	Level      *Level     `json:"level"`
	Members    int        `json:"members"`
	CreatedBy  *uuid.UUID `json:"createdBy"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// Broadcast statuses.
const (
	BroadcastPreparing  = "preparing"
	BroadcastSending    = "sending"
	BroadcastCollecting = "collecting"
	BroadcastClosed     = "closed"
)

// Broadcast is an emergency SMS to a group, with the keywords its replies are tallied by.
type Broadcast struct {
	ID         uuid.UUID          `json:"id"`
	GroupID    uuid.UUID          `json:"groupId"`
	Body       string             `json:"body"`
	Keywords   []string           `json:"keywords"`
	Rate       float64            `json:"rate"`
	Status     string             `json:"status"`
	ReplyUntil time.Time          `json:"replyUntil"`
	CreatedBy  *uuid.UUID         `json:"createdBy"`
	CreatedAt  time.Time          `json:"createdAt"`
	SentAt     *time.Time         `json:"sentAt"`
	ClosedAt   *time.Time         `json:"closedAt"`
	Progress   *BroadcastProgress `json:"progress,omitempty"`
}

// BroadcastProgress counts a broadcast's recipients by where their message is, its replies by keyword,
// and its cost (per price unit).
type BroadcastProgress struct {
	Recipients int               `json:"recipients"`
	Skipped    int               `json:"skipped"`
	Pending    int               `json:"pending"`
	Sent       int               `json:"sent"`
	Delivered  int               `json:"delivered"`
	Failed     int               `json:"failed"`
	Suppressed int               `json:"suppressed"`
	Replied    int               `json:"replied"`
	Replies    map[string]int    `json:"replies"`
	Cost       map[string]string `json:"cost"`
}

// BroadcastRecipient is one person a broadcast was for, and their answer.
type BroadcastRecipient struct {
	PersonID     uuid.UUID      `json:"personId"`
	Name         string         `json:"name"`
	Recipient    string         `json:"recipient"`
	Skipped      string         `json:"skipped,omitempty"`
	MessageID    *string        `json:"messageId"`
	Status       *MessageStatus `json:"status"`
	ReplyKeyword *string        `json:"replyKeyword"`
	ReplyBody    *string        `json:"replyBody"`
	RepliedAt    *time.Time     `json:"repliedAt"`
}

// ReminderPolicy says when people are nudged before a clearance expires, when its renewal case opens,
// and when a subject is reminded of information requested from them.
type ReminderPolicy struct {
	NudgeDays        []int      `json:"nudgeDays"`
	RenewalLeadDays  int        `json:"renewalLeadDays"`
	InfoReminderDays []int      `json:"infoReminderDays"`
	UpdatedBy        *uuid.UUID `json:"updatedBy"`
	UpdatedAt        time.Time  `json:"updatedAt"`
}
