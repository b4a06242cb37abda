package config

import (
	"testing"
	"time"

	"github.com/signetassure/signetassure/workflows"
)

func TestLoadWebhooks(t *testing.T) {
	s, err := LoadWebhooks(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if s.Policy != workflows.DefaultWebhookPolicy || s.SecretOverlap != 24*time.Hour || s.Timeout != 10*time.Second {
		t.Fatalf("defaults: %+v", s)
	}
	env := map[string]string{"WEBHOOK_POLL_INTERVAL": "2s", "WEBHOOK_TIMEOUT": "45s", "WEBHOOK_RETRY_FIRST": "30s",
		"WEBHOOK_RETRY_MAX": "2h", "WEBHOOK_GIVE_UP_AFTER": "5d", "WEBHOOK_SECRET_OVERLAP": "48h"}
	s, err = LoadWebhooks(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := workflows.WebhookPolicy{PollEvery: 2 * time.Second, FirstRetry: 30 * time.Second, MaxRetry: 2 * time.Hour,
		Jitter: 0.2, GiveUpAfter: 5 * 24 * time.Hour, AttemptTimeout: 75 * time.Second}
	if s.Policy != want || s.Timeout != 45*time.Second || s.SecretOverlap != 48*time.Hour {
		t.Fatalf("from the environment: %+v", s)
	}
	if _, err := LoadWebhooks(func(k string) string { return map[string]string{"WEBHOOK_TIMEOUT": "soon"}[k] }); err == nil {
		t.Fatal("a bad WEBHOOK_TIMEOUT is accepted")
	}
}
