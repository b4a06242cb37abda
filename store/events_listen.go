package store

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/events"
)

// eventsChannel is the channel a transaction that appended events notifies as it commits, with the types
// it appended (schema/020_events_notify.sql).
const eventsChannel = "signetassure_events"

// ErrListening: another process listens for committed events already.
var ErrListening = errors.New("another process listens for committed events")

// ListenForEvents sends on committed the types of the events each transaction appends as it commits,
// until ctx ends (nil) or the connection is lost. One process of a database listens at a time: it holds
// a session lock on a connection of its own, which a lost process's connection gives up; the others get
// ErrListening and may try again later. A send waits while committed is full.
func (s *Store) ListenForEvents(ctx context.Context, committed chan<- []events.Type) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var held bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtext('signetassure.events-listener'))`).Scan(&held); err != nil {
		return err
	}
	if !held {
		return ErrListening
	}
	if _, err := conn.Exec(ctx, `LISTEN `+eventsChannel); err != nil {
		return err
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if ctx.Err() != nil {
			return nil
		} else if err != nil {
			return err
		}
		var types []events.Type
		for t := range strings.SplitSeq(n.Payload, ",") {
			types = append(types, events.Type(t))
		}
		select {
		case committed <- types:
		case <-ctx.Done():
			return nil
		}
	}
}
