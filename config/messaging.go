package config

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
)

// Messaging configures the message providers and broadcasts. TWILIO_ACCOUNT_SID switches on SMS and
// WhatsApp through Twilio, SENDGRID_API_KEY e-mail through SendGrid; a channel without a provider has its
// messages recorded as suppressed (no_provider).
type Messaging struct {
	// PublicURL is where providers reach this deployment's API: callbacks are addressed to it, and their
	// signatures are checked against it.
	PublicURL string
	Twilio    *messaging.TwilioConfig
	SendGrid  *messaging.SendGridConfig
	// SendGridWebhookKey is the Event Webhook's verification key (base64), from SendGrid's settings.
	SendGridWebhookKey string
	// BroadcastRate is the provider rate broadcasts keep to, messages a second; BroadcastReplyWindow how
	// long replies are collected; CostEvery how often message costs are read from Twilio.
	BroadcastRate        float64
	BroadcastReplyWindow time.Duration
	CostEvery            time.Duration
}

// Webhook paths, under PublicURL.
const (
	TwilioStatusPath  = "/api/v1/messaging/twilio/status"
	TwilioInboundPath = "/api/v1/messaging/twilio/inbound"
	SendGridEventPath = "/api/v1/messaging/sendgrid/events"
)

func loadMessaging(httpAddr string) (Messaging, error) {
	m := Messaging{PublicURL: strings.TrimRight(env("PUBLIC_URL", defaultPublicURL(httpAddr)), "/")}
	if u, err := url.Parse(m.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return m, fmt.Errorf("PUBLIC_URL: want an http(s) URL")
	}
	var err error
	if m.BroadcastRate, err = strconv.ParseFloat(env("BROADCAST_RATE", "10"), 64); err != nil || m.BroadcastRate <= 0 {
		return m, fmt.Errorf("BROADCAST_RATE: want messages a second, more than 0")
	}
	if m.BroadcastReplyWindow, err = domain.ParseDays(env("BROADCAST_REPLY_WINDOW", "24h")); err != nil {
		return m, fmt.Errorf("BROADCAST_REPLY_WINDOW: %w", err)
	}
	if m.CostEvery, err = domain.ParseDays(env("MESSAGE_COST_INTERVAL", "5m")); err != nil {
		return m, fmt.Errorf("MESSAGE_COST_INTERVAL: %w", err)
	}
	if sid := env("TWILIO_ACCOUNT_SID", ""); sid != "" {
		m.Twilio = &messaging.TwilioConfig{AccountSID: sid, AuthToken: os.Getenv("TWILIO_AUTH_TOKEN"),
			From: env("TWILIO_FROM", ""), WhatsAppFrom: env("TWILIO_WHATSAPP_FROM", ""), BaseURL: env("TWILIO_API_URL", ""),
			StatusCallback: m.PublicURL + TwilioStatusPath}
		if m.Twilio.AuthToken == "" || m.Twilio.From == "" {
			return m, fmt.Errorf("TWILIO_AUTH_TOKEN and TWILIO_FROM: required with TWILIO_ACCOUNT_SID")
		}
	}
	if key := os.Getenv("SENDGRID_API_KEY"); key != "" {
		m.SendGrid = &messaging.SendGridConfig{APIKey: key, From: env("SENDGRID_FROM", ""),
			FromName: env("SENDGRID_FROM_NAME", "SignetAssure"), BaseURL: env("SENDGRID_API_URL", "")}
		if _, err := domain.ParseEmail(m.SendGrid.From); err != nil {
			return m, fmt.Errorf("SENDGRID_FROM: required with SENDGRID_API_KEY, an e-mail address")
		}
		m.SendGridWebhookKey = env("SENDGRID_WEBHOOK_PUBLIC_KEY", "")
	}
	return m, nil
}

// defaultPublicURL is the API's own address, for a deployment on one machine.
func defaultPublicURL(httpAddr string) string {
	if strings.HasPrefix(httpAddr, ":") {
		return "http://localhost" + httpAddr
	}
	return "http://" + httpAddr
}

// Settings builds the providers of the configured channels.
func (m Messaging) Settings() activities.MessagingSettings {
	s := activities.MessagingSettings{Channels: map[domain.Channel]activities.Provider{}}
	if m.Twilio != nil {
		t := activities.Provider{Name: "twilio", Provider: messaging.NewTwilio(*m.Twilio, nil)}
		s.Channels[domain.ChannelSMS] = t
		if m.Twilio.WhatsAppFrom != "" {
			s.Channels[domain.ChannelWhatsApp] = t
		}
	}
	if m.SendGrid != nil {
		s.Channels[domain.ChannelEmail] = activities.Provider{Name: "sendgrid", Provider: messaging.NewSendGrid(*m.SendGrid, nil)}
	}
	return s
}

// Hooks is what the API needs to verify the providers' webhooks and pace broadcasts.
func (m Messaging) Hooks() api.MessagingHooks {
	h := api.MessagingHooks{PublicURL: m.PublicURL, SendGridWebhookKey: m.SendGridWebhookKey,
		BroadcastRate: m.BroadcastRate, BroadcastReplyWindow: m.BroadcastReplyWindow}
	if m.Twilio != nil {
		h.TwilioAuthToken = m.Twilio.AuthToken
	}
	return h
}
