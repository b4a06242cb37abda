// Package config reads SignetAssure's configuration from the environment. Every variable is listed in
// README.md; nothing else configures the api and worker processes.
package config

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/restacs"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/tracing"
	"github.com/signetassure/signetassure/worker"
)

// Config is the whole configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL system of record.
	DatabaseURL string
	// HTTPAddr is where the API listens.
	HTTPAddr string
	// HealthAddr is where the worker answers /healthz and /readyz; empty, it serves no HTTP.
	HealthAddr string
	// MetricsAddr is where the process serves its Prometheus metrics at /metrics ("": nowhere).
	MetricsAddr string
	// PprofAddr is where the process serves Go's profiles at /debug/pprof/ ("": nowhere); the API then
	// labels each request's CPU samples with its route template.
	PprofAddr string
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
	// PartnerAllowLoopback lets partner sites run on this machine over http (loopback development;
	// PARTNER_ALLOW_LOOPBACK, which `signetassure dev` sets). Private and link-local addresses stay refused.
	PartnerAllowLoopback bool
	// ClearanceValidity is the longest each level's clearance may be valid for (CLEARANCE_MAX_VALIDITY).
	ClearanceValidity domain.ValidityPolicy
	// PartnerHealthEvery is how often partner sites are probed with /whoami.
	PartnerHealthEvery time.Duration
	// TokenMaxValidity is how far ahead a staff API token may expire.
	TokenMaxValidity time.Duration
	// Audit signs, witnesses and verifies the audit log's checkpoints.
	Audit Audit
	// ACS is the access control system and how SignetAssure drives it.
	ACS ACS
	// Messaging is the message providers and broadcasts.
	Messaging Messaging
	// Identity is identity verification (Signicat Assure).
	Identity Identity
	// Staff is how staff sign in: sessions, rate limits, directories.
	Staff Staff
	// Evidence keeps evidence packs, encrypted, and signs their download links (EVIDENCE_*); nil: off.
	Evidence *evidence.Vault
	// Webhooks is how lifecycle events are delivered to webhook subscriptions (WEBHOOK_*).
	Webhooks api.WebhookSettings
	// Worker bounds the worker's sticky cache and concurrency (WORKER_STICKY_CACHE,
	// WORKER_MAX_WORKFLOW_TASKS, WORKER_MAX_ACTIVITIES, WORKER_POLLERS).
	Worker worker.Tuning
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
	if dir := env(EnvSecretsDir, ""); dir != "" {
		if err := loadSecretsDir(dir); err != nil {
			return Config{}, err
		}
	}
	c := Config{
		DatabaseURL: env("DATABASE_URL", DefaultDatabaseURL),
		HTTPAddr:    env("HTTP_ADDR", DefaultHTTPAddr),
		HealthAddr:  env("HEALTH_ADDR", ""),
		MetricsAddr: env("METRICS_ADDR", ""),
		PprofAddr:   env("PPROF_ADDR", ""),
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
	if c.PartnerAllowLoopback, err = strconv.ParseBool(env("PARTNER_ALLOW_LOOPBACK", "false")); err != nil {
		return c, fmt.Errorf("PARTNER_ALLOW_LOOPBACK: want true or false")
	}
	if c.ClearanceValidity, err = domain.ParseValidityPolicy(env("CLEARANCE_MAX_VALIDITY", "")); err != nil {
		return c, fmt.Errorf("CLEARANCE_MAX_VALIDITY: %w", err)
	}
	if c.TokenMaxValidity, err = domain.ParseDays(env("TOKEN_MAX_VALIDITY", "90d")); err != nil {
		return c, fmt.Errorf("TOKEN_MAX_VALIDITY: %w", err)
	}
	if c.PartnerHealthEvery, err = domain.ParseDays(env("PARTNER_HEALTH_INTERVAL", "15m")); err != nil {
		return c, fmt.Errorf("PARTNER_HEALTH_INTERVAL: %w", err)
	}
	if c.Audit, err = LoadAudit(os.Getenv); err != nil {
		return c, err
	}
	if c.ACS, err = loadACS(); err != nil {
		return c, err
	}
	if c.Messaging, err = loadMessaging(c.HTTPAddr); err != nil {
		return c, err
	}
	if c.Identity, err = loadIdentity(); err != nil {
		return c, err
	}
	if c.Staff, err = loadStaff(c.Messaging.PublicURL); err != nil {
		return c, err
	}
	if c.Evidence, err = LoadEvidencePacks(os.Getenv); err != nil {
		return c, err
	}
	if c.Webhooks, err = LoadWebhooks(os.Getenv); err != nil {
		return c, err
	}
	if c.Worker, err = LoadWorkerTuning(os.Getenv); err != nil {
		return c, err
	}
	if c.Audit.Origin == "" {
		u, err := url.Parse(c.Messaging.PublicURL)
		if err != nil || u.Host == "" {
			return c, fmt.Errorf("PUBLIC_URL: not an absolute URL")
		}
		c.Audit.Origin = u.Host + "/audit"
	}
	if strings.ContainsAny(c.Audit.Origin, "\n\r") {
		return c, fmt.Errorf("AUDIT_LOG_ORIGIN: one line")
	}
	return c, nil
}

// Audit configures the audit log's checkpoints: the keys that sign and verify them, their cadence, and
// the witness they are also written to outside the database.
type Audit struct {
	// Keys sign and verify checkpoints (AUDIT_SIGNING_KEY, AUDIT_SIGNING_KEY_ID, AUDIT_VERIFY_KEYS).
	Keys audit.Keys
	// CheckpointEvery is how often the worker writes the newest checkpoints to the witness
	// (AUDIT_CHECKPOINT_INTERVAL); Grace is how much longer, beyond it, an entry may wait to be covered
	// before `audit verify` reports a cadence gap (AUDIT_CHECKPOINT_GRACE).
	CheckpointEvery, Grace time.Duration
	// WitnessFile is the append-only file every signed checkpoint is also written to (AUDIT_WITNESS_FILE);
	// empty: none.
	WitnessFile string
	// SequenceEvery is how often the worker integrates new entries into the audit log's Merkle tree and
	// signs its checkpoint (AUDIT_SEQUENCE_INTERVAL).
	SequenceEvery time.Duration
	// Origin names the audit log in its tree checkpoints (AUDIT_LOG_ORIGIN; default PUBLIC_URL's host
	// and /audit).
	Origin string
	// Syslog sends every checkpoint to a SIEM's syslog receiver, RFC 5424 over TLS (AUDIT_SYSLOG_ADDR,
	// AUDIT_SYSLOG_CA, AUDIT_SYSLOG_CERT, AUDIT_SYSLOG_KEY, AUDIT_SYSLOG_STATE); nil: none.
	Syslog *audit.SyslogSink
	// Splunk sends every checkpoint to a Splunk HTTP Event Collector (AUDIT_SPLUNK_HEC_URL,
	// AUDIT_SPLUNK_HEC_TOKEN, AUDIT_SPLUNK_HEC_STATE); nil: none.
	Splunk *audit.SplunkHECSink
}

// LoadAudit reads the audit settings from the variables getenv gives.
func LoadAudit(getenv func(string) string) (Audit, error) {
	a := Audit{WitnessFile: strings.TrimSpace(getenv("AUDIT_WITNESS_FILE")), Origin: strings.TrimSpace(getenv("AUDIT_LOG_ORIGIN"))}
	var err error
	if a.Keys, err = audit.ParseKeys(getenv); err != nil {
		return a, err
	}
	for _, d := range []struct {
		name, def string
		dst       *time.Duration
	}{
		{"AUDIT_CHECKPOINT_INTERVAL", "5m", &a.CheckpointEvery},
		{"AUDIT_CHECKPOINT_GRACE", "1h", &a.Grace},
		{"AUDIT_SEQUENCE_INTERVAL", "2s", &a.SequenceEvery},
	} {
		v := strings.TrimSpace(getenv(d.name))
		if v == "" {
			v = d.def
		}
		if *d.dst, err = domain.ParseDays(v); err != nil {
			return a, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	if a.Syslog, err = loadSyslog(getenv); err != nil {
		return a, err
	}
	if a.Splunk, err = loadSplunk(getenv); err != nil {
		return a, err
	}
	files := map[string]string{}
	for _, f := range []string{"AUDIT_WITNESS_FILE", "AUDIT_SYSLOG_STATE", "AUDIT_SPLUNK_HEC_STATE"} {
		path := strings.TrimSpace(getenv(f))
		if path == "" {
			continue
		}
		if other, ok := files[filepath.Clean(path)]; ok {
			return a, fmt.Errorf("%s: the same file as %s; each witness keeps its own", f, other)
		}
		files[filepath.Clean(path)] = f
	}
	return a, nil
}

// loadSyslog reads the syslog sink's settings; nil without AUDIT_SYSLOG_ADDR.
func loadSyslog(getenv func(string) string) (*audit.SyslogSink, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	addr := get("AUDIT_SYSLOG_ADDR")
	if addr == "" {
		for _, k := range []string{"AUDIT_SYSLOG_CA", "AUDIT_SYSLOG_CERT", "AUDIT_SYSLOG_KEY", "AUDIT_SYSLOG_STATE"} {
			if get(k) != "" {
				return nil, fmt.Errorf("%s: set only with AUDIT_SYSLOG_ADDR", k)
			}
		}
		return nil, nil
	}
	state := get("AUDIT_SYSLOG_STATE")
	if state == "" {
		return nil, fmt.Errorf("AUDIT_SYSLOG_STATE: required with AUDIT_SYSLOG_ADDR (the file that keeps the newest checkpoint sent)")
	}
	cfg := &tls.Config{}
	if path := get("AUDIT_SYSLOG_CA"); path != "" {
		pem, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("AUDIT_SYSLOG_CA: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("AUDIT_SYSLOG_CA: %s holds no PEM certificate", path)
		}
	}
	switch cert, key := get("AUDIT_SYSLOG_CERT"), get("AUDIT_SYSLOG_KEY"); {
	case cert != "" && key != "":
		pair, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("AUDIT_SYSLOG_CERT / AUDIT_SYSLOG_KEY: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	case cert != "":
		return nil, fmt.Errorf("AUDIT_SYSLOG_KEY: required with AUDIT_SYSLOG_CERT")
	case key != "":
		return nil, fmt.Errorf("AUDIT_SYSLOG_CERT: required with AUDIT_SYSLOG_KEY")
	}
	s, err := audit.NewSyslogSink(addr, cfg, state)
	if err != nil {
		return nil, fmt.Errorf("AUDIT_SYSLOG_ADDR: %w", err)
	}
	return s, nil
}

// loadSplunk reads the Splunk HEC sink's settings; nil without AUDIT_SPLUNK_HEC_URL. The token is in no
// error.
func loadSplunk(getenv func(string) string) (*audit.SplunkHECSink, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	u, token, state := get("AUDIT_SPLUNK_HEC_URL"), get("AUDIT_SPLUNK_HEC_TOKEN"), get("AUDIT_SPLUNK_HEC_STATE")
	switch {
	case u == "" && token != "":
		return nil, fmt.Errorf("AUDIT_SPLUNK_HEC_TOKEN: set only with AUDIT_SPLUNK_HEC_URL")
	case u == "" && state != "":
		return nil, fmt.Errorf("AUDIT_SPLUNK_HEC_STATE: set only with AUDIT_SPLUNK_HEC_URL")
	case u == "":
		return nil, nil
	case token == "":
		return nil, fmt.Errorf("AUDIT_SPLUNK_HEC_TOKEN: required with AUDIT_SPLUNK_HEC_URL")
	case state == "":
		return nil, fmt.Errorf("AUDIT_SPLUNK_HEC_STATE: required with AUDIT_SPLUNK_HEC_URL (the file that keeps the newest checkpoint sent)")
	case strings.ContainsAny(token, " \t\r\n"):
		return nil, fmt.Errorf("AUDIT_SPLUNK_HEC_TOKEN: one word, no spaces")
	}
	s, err := audit.NewSplunkHECSink(u, token, state)
	if err != nil {
		return nil, fmt.Errorf("AUDIT_SPLUNK_HEC_URL: %w", err)
	}
	return s, nil
}

// Cadence is how long an entry may go without a checkpoint covering it: the interval and its grace.
func (a Audit) Cadence() time.Duration { return a.CheckpointEvery + a.Grace }

// VerifyOptions verify the audit log against these keys and cadence, and the witness file named (the
// configured one, or another): checkpoints are expected only when a key verifies them.
func (a Audit) VerifyOptions(witnessFile string) audit.VerifyOptions {
	opts := audit.VerifyOptions{Keys: a.Keys.Verify, WitnessFile: witnessFile}
	if len(a.Keys.Verify) > 0 {
		opts.Cadence = a.Cadence()
	}
	return opts
}

// Sinks are the witnesses every signed checkpoint is written to: the witness file, then the SIEMs.
func (a Audit) Sinks() []audit.Sink {
	var sinks []audit.Sink
	if a.WitnessFile != "" {
		sinks = append(sinks, audit.FileSink{Path: a.WitnessFile})
	}
	if a.Syslog != nil {
		sinks = append(sinks, a.Syslog)
	}
	if a.Splunk != nil {
		sinks = append(sinks, a.Splunk)
	}
	return sinks
}

// ACS configures the access control system. CREDOID_URL selects CredoID; ACS_REST_CONFIG (a YAML or JSON
// file) selects the configuration-driven connector for any REST access control system; neither leaves
// access control off (grants are still tracked).
type ACS struct {
	CredoID    *credoid.Config
	RESTConfig *restacs.Config
	// SyncEvery is the background sync's interval; EventPollEvery how often the event feed is read.
	SyncEvery, EventPollEvery time.Duration
	Inactivity                store.Inactivity
	// Concurrency bounds the requests in flight to the ACS, and so the batches of persons a sync reconciles
	// at once (a quarter of it, at least two).
	Concurrency int
}

func loadACS() (ACS, error) {
	a := ACS{}
	var err error
	for _, d := range []struct {
		name, def string
		dst       *time.Duration
	}{
		{"ACS_SYNC_INTERVAL", "15m", &a.SyncEvery},
		{"ACS_EVENT_POLL_INTERVAL", "5s", &a.EventPollEvery},
		{"ACS_INACTIVE_DISABLE_AFTER", "90d", &a.Inactivity.DisableAfter},
		{"ACS_INACTIVE_REMOVE_AFTER", "180d", &a.Inactivity.RemoveAfter},
	} {
		if *d.dst, err = domain.ParseDays(env(d.name, d.def)); err != nil {
			return a, fmt.Errorf("%s: %w", d.name, err)
		}
	}
	if a.Inactivity.RemoveAfter <= a.Inactivity.DisableAfter {
		return a, fmt.Errorf("ACS_INACTIVE_REMOVE_AFTER must be longer than ACS_INACTIVE_DISABLE_AFTER")
	}
	if a.Concurrency, err = strconv.Atoi(env("ACS_CONCURRENCY", "8")); err != nil || a.Concurrency < 1 || a.Concurrency > 64 {
		return a, fmt.Errorf("ACS_CONCURRENCY: want a whole number from 1 to 64")
	}
	if u := env("CREDOID_URL", ""); u != "" {
		zone, err := time.LoadLocation(env("CREDOID_TIME_ZONE", "Europe/London"))
		if err != nil {
			return a, fmt.Errorf("CREDOID_TIME_ZONE: %w", err)
		}
		a.CredoID = &credoid.Config{BaseURL: u, Username: env("CREDOID_USERNAME", ""), Password: os.Getenv("CREDOID_PASSWORD"),
			TimeZone: zone}
		if a.CredoID.Username == "" {
			return a, fmt.Errorf("CREDOID_USERNAME: required with CREDOID_URL")
		}
	}
	if path := env("ACS_REST_CONFIG", ""); path != "" {
		if a.CredoID != nil {
			return a, fmt.Errorf("CREDOID_URL and ACS_REST_CONFIG: configure one access control system")
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return a, fmt.Errorf("ACS_REST_CONFIG: %w", err)
		}
		rc, err := restacs.Load(data)
		if err != nil {
			return a, fmt.Errorf("ACS_REST_CONFIG: %w", err)
		}
		a.RESTConfig = &rc
	}
	return a, nil
}

// Connector builds the configured ACS connector; nil when none is configured. Secrets the REST
// configuration names are read from the environment.
func (a ACS) Connector() (access.Connector, error) {
	o := access.HTTPOptions{MaxConcurrent: a.Concurrency}
	switch {
	case a.CredoID != nil:
		cfg := *a.CredoID
		cfg.HTTP = o
		return credoid.New(cfg), nil
	case a.RESTConfig != nil:
		c, err := restacs.New(*a.RESTConfig, os.Getenv, o)
		if err != nil {
			return nil, fmt.Errorf("ACS_REST_CONFIG: %w", err)
		}
		return c, nil
	}
	return nil, nil
}

func env(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// Logger is the process's structured JSON logger. Log lines carry ids and counts, never personal data.
func (c Config) Logger() *slog.Logger { return c.LoggerTo(os.Stderr) }

// LoggerTo is Logger writing to w.
func (c Config) LoggerTo(w io.Writer) *slog.Logger {
	return slog.New(tracing.LogHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: c.LogLevel})))
}
