package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
)

func TestLoadDefaults(t *testing.T) {
	for _, v := range []string{"DATABASE_URL", "HTTP_ADDR", "TEMPORAL_TASK_QUEUE", "CASE_SLA", "CASE_SLA_REMINDERS", "LOG_LEVEL"} {
		t.Setenv(v, "")
	}
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.HTTPAddr != ":8080" || c.TaskQueue != "signetassure" || c.LogLevel != slog.LevelInfo {
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
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.SLA.For(domain.CaseRenewal, domain.LevelSC); got.Due != 15*24*time.Hour || len(got.Reminders) != 1 {
		t.Fatalf("renewal SC SLA = %+v", got)
	}
	if c.LogLevel != slog.LevelDebug || c.HTTPAddr != "127.0.0.1:9090" {
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
