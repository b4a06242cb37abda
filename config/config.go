// Package config reads SignetAssure's configuration from the environment. Every variable is listed in
// README.md; nothing else configures the api and worker processes.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
)

// Config is the whole configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL system of record.
	DatabaseURL string
	// HTTPAddr is where the API listens.
	HTTPAddr string
	// TaskQueue is the Temporal task queue of SignetAssure's workflows and activities.
	TaskQueue string
	// SLA gives each vetting case its due time and reminders.
	SLA domain.SLATable
	// LogLevel is debug, info, warn or error.
	LogLevel slog.Level
	// Keyring seals the bearer secrets partners issue us (PARTNER_CREDENTIAL_KEYS, PARTNER_CREDENTIAL_KEY_ID).
	Keyring *partners.Keyring
	// TrustedProxies are load balancers whose X-Forwarded-For names the caller (CIDRs or addresses).
	TrustedProxies []string
	// PartnerHealthEvery is how often partner sites are probed with /whoami.
	PartnerHealthEvery time.Duration
	// AuditKeys sign and verify the audit log's checkpoints (AUDIT_SIGNING_KEY, AUDIT_SIGNING_KEY_ID,
	// AUDIT_VERIFY_KEYS); AuditCheckpointEvery is how often the worker signs one.
	AuditKeys            audit.Keys
	AuditCheckpointEvery time.Duration
	// Temporal's own connection settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
	// TEMPORAL_TLS_*) are read by temporalx.Dial through Temporal's envconfig.
}

// Default values.
const (
	DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/signetassure?sslmode=disable"
	DefaultHTTPAddr    = ":8080"
	DefaultTaskQueue   = "signetassure"
)

// Load reads the environment.
func Load() (Config, error) {
	c := Config{
		DatabaseURL: env("DATABASE_URL", DefaultDatabaseURL),
		HTTPAddr:    env("HTTP_ADDR", DefaultHTTPAddr),
		TaskQueue:   env("TEMPORAL_TASK_QUEUE", DefaultTaskQueue),
	}
	var err error
	if c.SLA, err = domain.ParseSLATable(env("CASE_SLA", domain.DefaultSLA), env("CASE_SLA_REMINDERS", domain.DefaultSLAReminders)); err != nil {
		return c, fmt.Errorf("CASE_SLA / CASE_SLA_REMINDERS: %w", err)
	}
	if err := c.LogLevel.UnmarshalText([]byte(env("LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("LOG_LEVEL: %w", err)
	}
	if c.Keyring, err = partners.ParseKeyring(env(partners.EnvCredentialKeys, ""), env(partners.EnvCredentialKeyID, "")); err != nil {
		return c, err
	}
	for _, p := range strings.Split(env("TRUSTED_PROXIES", ""), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	if c.PartnerHealthEvery, err = domain.ParseDays(env("PARTNER_HEALTH_INTERVAL", "15m")); err != nil {
		return c, fmt.Errorf("PARTNER_HEALTH_INTERVAL: %w", err)
	}
	if c.AuditKeys, err = audit.LoadKeys(); err != nil {
		return c, err
	}
	if c.AuditCheckpointEvery, err = domain.ParseDays(env("AUDIT_CHECKPOINT_INTERVAL", "5m")); err != nil {
		return c, fmt.Errorf("AUDIT_CHECKPOINT_INTERVAL: %w", err)
	}
	return c, nil
}

func env(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Logger is the process's structured JSON logger. Log lines carry ids and counts, never personal data.
func (c Config) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: c.LogLevel}))
}
