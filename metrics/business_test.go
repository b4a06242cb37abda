package metrics_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/metrics"
)

// seedOperations writes, as of now, what the business gauges count: two open cases with the officer
// (one overdue), one awaiting information, one closed and overdue (not counted); clearances expiring in
// 10 and 60 days and one in 200 (not counted), one expired; a sync completed an hour ago; two findings,
// one resolved; a webhook subscription two events behind; failed messages by email (2) and sms (1, plus
// one failed two days ago, not counted). It returns the ids it made up, which no label may show.
func seedOperations(t *testing.T, url string, now time.Time) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	person := uuid.NewString()
	refs := []string{"v_metricsaaaaaaaaaaaaaaaaaa1", "v_metricsaaaaaaaaaaaaaaaaaa2", "v_metricsaaaaaaaaaaaaaaaaaa3",
		"v_metricsaaaaaaaaaaaaaaaaaa4"}
	day := 24 * time.Hour
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	others := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()} // one open case per person
	for _, p := range append([]string{person}, others...) {
		exec(`INSERT INTO persons (id, first_name, last_name, search_name, date_of_birth) VALUES ($1, 'Gauge', 'Person', 'gauge person', '1980-01-01')`, p)
	}
	for i, c := range []struct {
		status string
		due    time.Time
		closed bool
	}{{"with_officer", now.Add(-day), false}, {"with_officer", now.Add(day), false},
		{"awaiting_information", now.Add(2 * day), false}, {"cleared", now.Add(-day), true}} {
		var closed *time.Time
		if c.closed {
			closed = &now
		}
		exec(`INSERT INTO vetting_cases (case_ref, person_id, type, requested_level, status, issuing_authority, opened_at,
			due_at, closed_at, version, updated_at) VALUES ($1, $2, 'new', 'SC', $3, 'Test', $4, $5, $6, 1, $4)`,
			refs[i], append([]string{person}, others...)[i], c.status, now.Add(-10*day), c.due, closed)
	}
	clearances := []string{}
	for _, c := range []struct {
		level, status string
		ends          time.Duration
	}{{"SC", "active", 10 * day}, {"CTC", "active", 60 * day}, {"BPSS", "active", 200 * day}, {"eSC", "expired", -day}} {
		id := uuid.NewString()
		clearances = append(clearances, id)
		exec(`INSERT INTO clearances (id, person_id, level, valid_from, valid_to, status, issuing_authority)
			VALUES ($1, $2, $3, $4::date, $5::date, $6, 'Test')`, id, person, c.level,
			now.Add(-400*day).Format(time.DateOnly), now.Add(c.ends).Format(time.DateOnly), c.status)
	}
	exec(`INSERT INTO access_syncs (id, trigger, status, started_at, finished_at) VALUES
		('sync-old', 'schedule', 'completed', $1, $2), ('sync-new', 'schedule', 'completed', $3, $4),
		('sync-running', 'schedule', 'running', $5, NULL), ('sync-failed', 'schedule', 'failed', $5, $5)`,
		now.Add(-3*time.Hour), now.Add(-3*time.Hour), now.Add(-61*time.Minute), now.Add(-time.Hour), now.Add(-time.Minute))
	exec(`INSERT INTO access_findings (id, kind, person_id, resolved_at) VALUES ('finding-open', 'duplicate', $1, NULL),
		('finding-done', 'duplicate', $1, $2)`, person, now)
	var first int64
	if err := conn.QueryRow(ctx, `SELECT events_append(NULL, NULL, 'case.opened', 1, 'case/'||$1, '{}', NULL)`, refs[0]).Scan(&first); err != nil {
		t.Fatal(err)
	}
	sub := uuid.NewString()
	exec(`INSERT INTO webhook_subscriptions (id, url, secret_key_id, secret_sealed, cursor) VALUES ($1, 'https://hooks.example/x', 'k', '\x00', $2),
		($3, 'https://hooks.example/y', 'k', '\x00', 0)`, sub, first, uuid.NewString())
	exec(`UPDATE webhook_subscriptions SET status = 'paused' WHERE id <> $1`, sub) // a paused one's backlog is not counted
	for range 2 {
		exec(`SELECT events_append(NULL, NULL, 'case.opened', 1, 'case/'||$1, '{}', NULL)`, refs[1])
	}
	for i, m := range []struct {
		channel, status string
		at              time.Time
	}{{"email", "failed", now.Add(-time.Hour)}, {"email", "undelivered", now.Add(-2 * time.Hour)}, {"sms", "failed", now.Add(-time.Hour)},
		{"sms", "failed", now.Add(-2 * day)}, {"sms", "delivered", now.Add(-time.Hour)}} {
		exec(`INSERT INTO messages (id, channel, template, template_version, person_id, recipient, body, status, status_at,
			created_at, updated_at) VALUES ($1, $2, 'test', 1, $3, '+447400123456', 'b', $4, $5, $5, $5)`,
			"msg-metrics-"+string(rune('a'+i)), m.channel, person, m.status, m.at)
	}
	return append(append(append(append(refs, others...), person, sub, "+447400123456"), clearances...), "msg-metrics-a", "sync-new", "finding-open")
}

// The business gauges read the seeded database: open cases by status, overdue, expiring clearances,
// the sync lag from the last completed sync, open findings, the webhook backlog of active subscriptions
// and the failed messages of the last 24 hours; none of the ids involved is in the exposition.
func TestBusinessGaugesReflectTheDatabase(t *testing.T) {
	url := testenv.DatabaseURL(t)
	st := testenv.StoreAt(t, url)
	now := time.Now()
	// A writing transaction left open elsewhere on the server, older than the events seeded: delivery may
	// not read them yet (the outbox's settled rule), but they are waiting all the same. The backlog once
	// left them out, and read 0 whenever another test on the server had a transaction open.
	other, err := pgx.Connect(context.Background(), testenv.EmptyDatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	tx, err := other.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(context.Background(), `SELECT pg_current_xact_id()`); err != nil {
		t.Fatal(err)
	}
	ids := seedOperations(t, url, now)
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewBusiness(st, slog.New(slog.NewTextHandler(io.Discard, nil))))
	want := `
# HELP signetassure_access_findings_open Access findings nobody has resolved.
# TYPE signetassure_access_findings_open gauge
signetassure_access_findings_open 1
# HELP signetassure_business_scrape_success 1 if the business gauges were read from the database at this scrape, 0 if not.
# TYPE signetassure_business_scrape_success gauge
signetassure_business_scrape_success 1
# HELP signetassure_cases_open Vetting cases without an outcome, by status.
# TYPE signetassure_cases_open gauge
signetassure_cases_open{status="awaiting_information"} 1
signetassure_cases_open{status="identity_check"} 0
signetassure_cases_open{status="opened"} 0
signetassure_cases_open{status="with_officer"} 2
signetassure_cases_open{status="with_partner"} 0
# HELP signetassure_cases_overdue Open vetting cases past their due time.
# TYPE signetassure_cases_overdue gauge
signetassure_cases_overdue 1
# HELP signetassure_clearances_expiring Active clearances whose validity ends within the days given.
# TYPE signetassure_clearances_expiring gauge
signetassure_clearances_expiring{within_days="30"} 1
signetassure_clearances_expiring{within_days="90"} 2
# HELP signetassure_messages_failed_24h Messages that failed or were undelivered in the last 24 hours, by channel.
# TYPE signetassure_messages_failed_24h gauge
signetassure_messages_failed_24h{channel="email"} 2
signetassure_messages_failed_24h{channel="sms"} 1
signetassure_messages_failed_24h{channel="whatsapp"} 0
# HELP signetassure_webhook_backlog_events Lifecycle events active webhook subscriptions have still to be sent, summed over subscriptions.
# TYPE signetassure_webhook_backlog_events gauge
signetassure_webhook_backlog_events 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "signetassure_access_findings_open",
		"signetassure_business_scrape_success", "signetassure_cases_open", "signetassure_cases_overdue",
		"signetassure_clearances_expiring", "signetassure_messages_failed_24h", "signetassure_webhook_backlog_events"); err != nil {
		t.Error(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var lag float64 = -1
	for _, f := range families {
		if f.GetName() == "signetassure_access_sync_lag_seconds" {
			lag = f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	// From the newest completed sync (an hour ago), not the failed or running one; the scrape came after now.
	if lag < 3600 || lag > 3600+60 {
		t.Errorf("access sync lag %v s, want an hour", lag)
	}
	out := scrape(t, reg)
	for _, id := range ids {
		if strings.Contains(out, id) {
			t.Errorf("exposition names %q", id)
		}
	}
}

// A database that cannot answer gives a scrape that says so, not stale or zero gauges.
func TestBusinessGaugesDatabaseDown(t *testing.T) {
	st := testenv.Store(t)
	st.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewBusiness(st, slog.New(slog.NewTextHandler(io.Discard, nil))))
	want := `
# HELP signetassure_business_scrape_success 1 if the business gauges were read from the database at this scrape, 0 if not.
# TYPE signetassure_business_scrape_success gauge
signetassure_business_scrape_success 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
