package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/devcert"
)

func TestLoadDefaults(t *testing.T) {
	for _, v := range []string{"DATABASE_URL", "HTTP_ADDR", "METRICS_ADDR", "TEMPORAL_TASK_QUEUE", "CASE_SLA", "CASE_SLA_REMINDERS", "LOG_LEVEL"} {
		t.Setenv(v, "")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.HTTPAddr != ":8080" || c.TaskQueue != "signetassure" || c.LogLevel != slog.LevelInfo || c.MetricsAddr != "" {
		t.Fatalf("defaults: %+v", c)
	}
	if sla := c.SLA.For(domain.CaseNew, domain.LevelDV); sla.Due != 95*24*time.Hour || len(sla.Reminders) != 2 {
		t.Fatalf("DV SLA = %+v", sla)
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	t.Setenv("CASE_SLA", "BPSS=5d,CTC=20d,SC=20d,eSC=20d,DV=90d,eDV=90d,renewal:SC=15d")
	t.Setenv("CASE_SLA_REMINDERS", "3d")
	t.Setenv("LOG_LEVEL", "debug")
	t.Setenv("HTTP_ADDR", "127.0.0.1:9090")
	t.Setenv("METRICS_ADDR", "127.0.0.1:9091")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SLA.For(domain.CaseRenewal, domain.LevelSC); got.Due != 15*24*time.Hour || len(got.Reminders) != 1 {
		t.Fatalf("renewal SC SLA = %+v", got)
	}
	if c.LogLevel != slog.LevelDebug || c.HTTPAddr != "127.0.0.1:9090" || c.MetricsAddr != "127.0.0.1:9091" {
		t.Fatalf("config = %+v", c)
	}
}

func TestLoadRefusesBadValues(t *testing.T) {
	for name, env := range map[string][2]string{
		"SLA missing a level": {"CASE_SLA", "SC=25d"},
		"SLA with bad days":   {"CASE_SLA", "BPSS=x,CTC=25d,SC=25d,eSC=25d,DV=95d,eDV=95d"},
		"reminder not a days": {"CASE_SLA_REMINDERS", "soon"},
		"unknown log level":   {"LOG_LEVEL", "chatty"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(env[0], env[1])
			if _, err := Load(); err == nil {
				t.Fatalf("%s=%s accepted", env[0], env[1])
			}
		})
	}
}

func TestLoadAudit(t *testing.T) {
	get := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	a, err := LoadAudit(get(nil))
	if err != nil || a.CheckpointEvery != 5*time.Minute || a.Grace != time.Hour || a.Cadence() != 65*time.Minute ||
		a.WitnessFile != "" || a.Sinks() != nil || a.Keys.Signing != nil {
		t.Fatalf("defaults: %+v, %v", a, err)
	}
	a, err = LoadAudit(get(map[string]string{"AUDIT_CHECKPOINT_INTERVAL": "10m", "AUDIT_CHECKPOINT_GRACE": "2h",
		"AUDIT_WITNESS_FILE": " /var/lib/sa/witness.jsonl "}))
	if err != nil || a.Cadence() != 130*time.Minute || len(a.Sinks()) != 1 || a.Sinks()[0] != audit.Sink(audit.FileSink{Path: "/var/lib/sa/witness.jsonl"}) {
		t.Fatalf("set: %+v, %v", a, err)
	}
	for name, v := range map[string]string{"AUDIT_CHECKPOINT_GRACE": "soon", "AUDIT_CHECKPOINT_INTERVAL": "-5m"} {
		if _, err := LoadAudit(get(map[string]string{name: v})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, v, err)
		}
	}
}

func TestClearanceValidityAndLoopbackSettings(t *testing.T) {
	t.Setenv("CLEARANCE_MAX_VALIDITY", "")
	t.Setenv("PARTNER_ALLOW_LOOPBACK", "")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.ClearanceValidity.Max(domain.LevelSC) != (domain.Period{Years: 10}) || c.PartnerAllowLoopback {
		t.Fatalf("defaults: %v %v", c.ClearanceValidity, c.PartnerAllowLoopback)
	}
	t.Setenv("CLEARANCE_MAX_VALIDITY", "SC=5y")
	t.Setenv("PARTNER_ALLOW_LOOPBACK", "true")
	if c, err = Load(); err != nil || c.ClearanceValidity.Max(domain.LevelSC) != (domain.Period{Years: 5}) ||
		c.ClearanceValidity.Max(domain.LevelDV) != (domain.Period{Years: 7}) || !c.PartnerAllowLoopback {
		t.Fatalf("from the environment: %v %v %v", c.ClearanceValidity, c.PartnerAllowLoopback, err)
	}
	t.Setenv("CLEARANCE_MAX_VALIDITY", "SC=forever")
	if _, err := Load(); err == nil {
		t.Fatal("CLEARANCE_MAX_VALIDITY=SC=forever accepted")
	}
}

// The SIEM sinks: configured from their variables, after the witness file; a bad or missing value is an
// error naming its variable, and never holding the Splunk token.
func TestLoadAuditSIEMSinks(t *testing.T) {
	dir := t.TempDir()
	b, err := devcert.New("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	files, err := b.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "CF179AE4-3C99-45F5-A7CC-3284AA91CF67"
	full := map[string]string{
		"AUDIT_WITNESS_FILE": filepath.Join(dir, "witness.jsonl"),
		"AUDIT_SYSLOG_ADDR":  "siem.example:6514", "AUDIT_SYSLOG_CA": files.CA, "AUDIT_SYSLOG_CERT": files.Cert,
		"AUDIT_SYSLOG_KEY": files.Key, "AUDIT_SYSLOG_STATE": filepath.Join(dir, "syslog.state"),
		"AUDIT_SPLUNK_HEC_URL": "https://splunk.example:8088", "AUDIT_SPLUNK_HEC_TOKEN": token,
		"AUDIT_SPLUNK_HEC_STATE": filepath.Join(dir, "splunk.state"),
	}
	with := func(changes map[string]string) func(string) string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return func(k string) string { return m[k] }
	}
	a, err := LoadAudit(with(nil))
	if err != nil {
		t.Fatal(err)
	}
	sinks := a.Sinks()
	if len(sinks) != 3 || sinks[1] != audit.Sink(a.Syslog) || sinks[2] != audit.Sink(a.Splunk) ||
		a.Syslog.String() != "syslog siem.example:6514" || a.Splunk.String() != "Splunk HEC https://splunk.example:8088/services/collector/event" {
		t.Fatalf("sinks: %v", sinks)
	}
	if a, err := LoadAudit(with(map[string]string{"AUDIT_SYSLOG_CA": "", "AUDIT_SYSLOG_CERT": "", "AUDIT_SYSLOG_KEY": ""})); err != nil || a.Syslog == nil {
		t.Fatalf("syslog with the system's roots and no client certificate: %v", err)
	}
	for name, c := range map[string]struct {
		change map[string]string
		names  string
	}{
		"syslog address without port":  {map[string]string{"AUDIT_SYSLOG_ADDR": "siem.example"}, "AUDIT_SYSLOG_ADDR"},
		"syslog without state":         {map[string]string{"AUDIT_SYSLOG_STATE": ""}, "AUDIT_SYSLOG_STATE"},
		"syslog CA missing":            {map[string]string{"AUDIT_SYSLOG_CA": filepath.Join(dir, "nope.pem")}, "AUDIT_SYSLOG_CA"},
		"syslog CA not PEM":            {map[string]string{"AUDIT_SYSLOG_CA": notPEM}, "AUDIT_SYSLOG_CA"},
		"syslog CA a key":              {map[string]string{"AUDIT_SYSLOG_CA": files.Key}, "AUDIT_SYSLOG_CA"},
		"client cert without key":      {map[string]string{"AUDIT_SYSLOG_KEY": ""}, "AUDIT_SYSLOG_KEY"},
		"client key without cert":      {map[string]string{"AUDIT_SYSLOG_CERT": ""}, "AUDIT_SYSLOG_CERT"},
		"client key not the cert's":    {map[string]string{"AUDIT_SYSLOG_KEY": files.CA}, "AUDIT_SYSLOG_KEY"},
		"syslog settings without addr": {map[string]string{"AUDIT_SYSLOG_ADDR": ""}, "AUDIT_SYSLOG_"},
		"splunk over http":             {map[string]string{"AUDIT_SPLUNK_HEC_URL": "http://splunk.example:8088"}, "AUDIT_SPLUNK_HEC_URL"},
		"splunk URL not absolute":      {map[string]string{"AUDIT_SPLUNK_HEC_URL": "splunk.example"}, "AUDIT_SPLUNK_HEC_URL"},
		"splunk without token":         {map[string]string{"AUDIT_SPLUNK_HEC_TOKEN": ""}, "AUDIT_SPLUNK_HEC_TOKEN"},
		"splunk token with spaces":     {map[string]string{"AUDIT_SPLUNK_HEC_TOKEN": "two " + token}, "AUDIT_SPLUNK_HEC_TOKEN"},
		"splunk without state":         {map[string]string{"AUDIT_SPLUNK_HEC_STATE": ""}, "AUDIT_SPLUNK_HEC_STATE"},
		"splunk token without URL":     {map[string]string{"AUDIT_SPLUNK_HEC_URL": ""}, "AUDIT_SPLUNK_HEC_TOKEN"},
		"one state for two sinks":      {map[string]string{"AUDIT_SPLUNK_HEC_STATE": full["AUDIT_SYSLOG_STATE"]}, "AUDIT_SPLUNK_HEC_STATE"},
		"state is the witness file":    {map[string]string{"AUDIT_SYSLOG_STATE": full["AUDIT_WITNESS_FILE"]}, "AUDIT_SYSLOG_STATE"},
	} {
		_, err := LoadAudit(with(c.change))
		if err == nil || !strings.Contains(err.Error(), c.names) || strings.Contains(err.Error(), token) {
			t.Errorf("%s: %v, want an error naming %s", name, err, c.names)
		}
	}
}
