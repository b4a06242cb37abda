package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// Operations is what the operators' business gauges show (package metrics reads it at each scrape):
// counts by closed vocabularies only, never who or which.
type Operations struct {
	// CasesOpen counts the cases without an outcome by status.
	CasesOpen map[domain.CaseStatus]int64
	// CasesOverdue counts the open cases past their due time.
	CasesOverdue int64
	// ClearancesExpiring counts the active clearances whose validity ends within each of ExpiryWindows
	// days (from today, inclusive).
	ClearancesExpiring map[int]int64
	// LastAccessSync is when the last completed access sync finished (nil: none has).
	LastAccessSync *time.Time
	// AccessFindingsOpen counts the access findings nobody has resolved.
	AccessFindingsOpen int64
	// WebhookBacklog counts the lifecycle events that active webhook subscriptions have still to be sent
	// (those after each one's cursor, of the types it takes), summed over subscriptions. Every committed
	// event counts, also one delivery may not read yet because an older transaction is still open
	// somewhere on the database server (the outbox's settled rule): it is waiting all the same.
	WebhookBacklog int64
	// MessagesFailed counts by channel the messages that failed or were undelivered in the last
	// MessagesFailedWindow.
	MessagesFailed map[domain.Channel]int64
}

// ExpiryWindows are the clearance expiry horizons the gauges report, in days.
var ExpiryWindows = []int{30, 90}

// MessagesFailedWindow is how far back failed messages are counted.
const MessagesFailedWindow = 24 * time.Hour

// OperationsAt reads the operators' gauges as of now, in three aggregate queries (bounded by the caller's
// context: package metrics gives a scrape 5 s).
func (s *Store) OperationsAt(ctx context.Context, now time.Time) (Operations, error) {
	o := Operations{CasesOpen: map[domain.CaseStatus]int64{}, ClearancesExpiring: map[int]int64{},
		MessagesFailed: map[domain.Channel]int64{}}
	today := now.Format(time.DateOnly)
	var expiring30, expiring90 int64
	err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM vetting_cases WHERE closed_at IS NULL AND due_at < $1),
		(SELECT count(*) FROM clearances WHERE status = 'active' AND valid_to >= $2::date AND valid_to <= $2::date + $3::int),
		(SELECT count(*) FROM clearances WHERE status = 'active' AND valid_to >= $2::date AND valid_to <= $2::date + $4::int),
		(SELECT max(finished_at) FROM access_syncs WHERE status = 'completed'),
		(SELECT count(*) FROM access_findings WHERE resolved_at IS NULL),
		(SELECT count(*) FROM webhook_subscriptions s JOIN events e
			ON (s.cursor = 0 OR (e.tx, e.id) > (SELECT tx, id FROM events WHERE id = s.cursor))
			AND (cardinality(s.event_types) = 0 OR e.type = ANY (s.event_types))
			WHERE s.status = 'active')`,
		now, today, ExpiryWindows[0], ExpiryWindows[1]).Scan(&o.CasesOverdue, &expiring30, &expiring90,
		&o.LastAccessSync, &o.AccessFindingsOpen, &o.WebhookBacklog)
	if err != nil {
		return o, err
	}
	o.ClearancesExpiring[ExpiryWindows[0]], o.ClearancesExpiring[ExpiryWindows[1]] = expiring30, expiring90
	rows, _ := s.pool.Query(ctx, `SELECT status, count(*) FROM vetting_cases WHERE closed_at IS NULL GROUP BY status`)
	if err := collectCounts(rows, o.CasesOpen); err != nil {
		return o, err
	}
	rows, _ = s.pool.Query(ctx, `SELECT channel, count(*) FROM messages
		WHERE status IN ('failed', 'undelivered') AND status_at > $1 GROUP BY channel`, now.Add(-MessagesFailedWindow))
	return o, collectCounts(rows, o.MessagesFailed)
}

// collectCounts reads (key, count) rows into into.
func collectCounts[K ~string](rows pgx.Rows, into map[K]int64) error {
	var k K
	var n int64
	_, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error {
		into[k] = n
		return nil
	})
	return err
}
