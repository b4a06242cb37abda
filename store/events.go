package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/events"
)

// eventCols are an events row as events.Record reads it.
const eventCols = `id, event_id, type, type_version, subject, seq, occurred_at, data, names`

// settled keeps to events of transactions older than every one still running: in (tx, id) order, no
// event can be committed later before one that is read now (schema/018_events.sql).
const settled = `tx < pg_snapshot_xmin(pg_current_snapshot())`

func scanEvent(r pgx.CollectableRow) (events.Record, error) {
	var e events.Record
	err := r.Scan(&e.ID, &e.EventID, &e.Type, &e.Version, &e.Subject, &e.Seq, &e.OccurredAt, &e.Data, &e.Names)
	e.OccurredAt = e.OccurredAt.UTC()
	return e, err
}

// EventsAfter reads up to limit lifecycle events that follow the event whose id is after (0: from the
// first), in the outbox's order: a reader that passes the id of the last event it read misses none and
// reads none twice. ErrNotFound: no event has the id after.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]events.Record, error) {
	if after > 0 {
		var found bool
		if err := s.pool.QueryRow(ctx, `SELECT true FROM events WHERE id = $1`, after).Scan(&found); err != nil {
			return nil, classify(err)
		}
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events
		WHERE `+settled+` AND ($1 = 0 OR (tx, id) > (SELECT tx, id FROM events WHERE id = $1))
		ORDER BY tx, id LIMIT $2`, after, limit)
	return pgx.CollectRows(rows, scanEvent)
}

// EventsSince reads up to limit lifecycle events that occurred at or after since, oldest first: where a
// reader that has no cursor starts replaying from; it goes on with EventsAfter from the last one read.
func (s *Store) EventsSince(ctx context.Context, since time.Time, limit int) ([]events.Record, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+eventCols+` FROM events
		WHERE `+settled+` AND occurred_at >= $1 ORDER BY occurred_at, id LIMIT $2`, since, limit)
	return pgx.CollectRows(rows, scanEvent)
}
