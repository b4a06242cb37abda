package config

import (
	"fmt"
	"time"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/webhooks"
	"github.com/signetassure/signetassure/workflows"
)

// LoadWebhooks reads how lifecycle events are delivered to webhook subscriptions: WEBHOOK_POLL_INTERVAL,
// WEBHOOK_TIMEOUT, WEBHOOK_RETRY_FIRST, WEBHOOK_RETRY_MAX, WEBHOOK_GIVE_UP_AFTER and
// WEBHOOK_SECRET_OVERLAP (durations: 5s, 1h, 3d). Secrets are sealed with the partner credentials' keyring
// (PARTNER_CREDENTIAL_KEYS); receivers' URLs keep to the rules of partner base URLs (PARTNER_ALLOW_LOOPBACK).
func LoadWebhooks(get func(string) string) (api.WebhookSettings, error) {
	s := api.WebhookSettings{Policy: workflows.DefaultWebhookPolicy, SecretOverlap: api.DefaultSecretOverlap,
		Timeout: webhooks.DefaultTimeout}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{
		{"WEBHOOK_POLL_INTERVAL", &s.Policy.PollEvery},
		{"WEBHOOK_TIMEOUT", &s.Timeout},
		{"WEBHOOK_RETRY_FIRST", &s.Policy.FirstRetry},
		{"WEBHOOK_RETRY_MAX", &s.Policy.MaxRetry},
		{"WEBHOOK_GIVE_UP_AFTER", &s.Policy.GiveUpAfter},
		{"WEBHOOK_SECRET_OVERLAP", &s.SecretOverlap},
	} {
		if raw := get(v.name); raw != "" {
			n, err := domain.ParseDays(raw)
			if err != nil {
				return s, fmt.Errorf("%s: %w", v.name, err)
			}
			*v.dst = n
		}
	}
	// An attempt's activity outlasts the request it makes.
	s.Policy.AttemptTimeout = max(s.Policy.AttemptTimeout, s.Timeout+30*time.Second)
	return s, nil
}
