package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
)

// Door events read from the access control system.

// AddAccessEvents stores events not seen before, attributing each to the person whose record it names,
// and moves those persons' last-seen time on by the granted ones only (a refused swipe is not activity).
// It returns the events that were new.
func (s *Store) AddAccessEvents(ctx context.Context, events []access.Event) ([]domain.AccessEvent, error) {
	var added []domain.AccessEvent
	var granted []int64
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		for _, e := range events {
			for _, f := range []*string{&e.ID, &e.UserID, &e.Type, &e.Door, &e.LocationID} {
				*f = providerLine(*f)
			}
			rows, _ := tx.Query(ctx, `INSERT INTO access_events (id, at, acs_user_id, person_id, type, door, acs_location_id)
				VALUES ($1, $2, nullif($3, ''), (SELECT person_id FROM access_links WHERE acs_user_id = nullif($3, '')), $4, $5, $6)
				ON CONFLICT (id) DO NOTHING RETURNING seq, id, at, acs_user_id, person_id, type, door`,
				e.ID, e.At, e.UserID, e.Type, e.Door, e.LocationID)
			ev, err := pgx.CollectRows(rows, pgx.RowToStructByPos[domain.AccessEvent])
			if err != nil {
				return err
			}
			added = append(added, ev...)
			if e.Granted {
				granted = append(granted, seqs(ev)...)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE access_links l SET last_event_at = e.at FROM
			(SELECT person_id, max(at) AS at FROM access_events WHERE seq = ANY($1) AND person_id IS NOT NULL GROUP BY person_id) e
			WHERE l.person_id = e.person_id AND (l.last_event_at IS NULL OR l.last_event_at < e.at)`, granted)
		return err
	})
	return added, err
}

func seqs(events []domain.AccessEvent) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

// LatestAccessEvent is the time of the newest event held (zero when none).
func (s *Store) LatestAccessEvent(ctx context.Context) (time.Time, error) {
	var t *time.Time
	err := s.pool.QueryRow(ctx, `SELECT max(at) FROM access_events`).Scan(&t)
	if t == nil {
		return time.Time{}, err
	}
	return *t, err
}

// PersonAccessEvents lists a person's events after seq, oldest first, at most limit; with fromEnd, the
// newest limit events instead (still oldest first).
func (s *Store) PersonAccessEvents(ctx context.Context, personID uuid.UUID, afterSeq int64, limit int, fromEnd bool) ([]domain.AccessEvent, error) {
	q := `SELECT seq, id, at, acs_user_id, person_id, type, door FROM access_events WHERE person_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`
	if fromEnd {
		q = `SELECT * FROM (SELECT seq, id, at, acs_user_id, person_id, type, door FROM access_events
			WHERE person_id = $1 AND seq > $2 ORDER BY seq DESC LIMIT $3) e ORDER BY seq`
	}
	rows, _ := s.pool.Query(ctx, q, personID, afterSeq, limit)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.AccessEvent])
}
