// Package store is SignetAssure's PostgreSQL system of record: every query the application runs, written
// with pgx, in one place. Each state change is written in one transaction with its audit entry.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/events"
)

// Store is the database.
type Store struct {
	pool *pgxpool.Pool
	// locks holds the connections that hold advisory locks, apart from pool, so work done under a lock
	// never waits for a connection a lock holds.
	locks *pgxpool.Pool
	// RateClock, when set, is the clock rate limits count calls by (Take); unset, they count by the
	// database's clock, which every API process shares. Tests set it to count calls at fixed moments.
	RateClock func() time.Time
}

// Open connects a pool to databaseURL.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	lockCfg := cfg.Copy()
	lockCfg.MaxConns = 64
	locks, err := pgxpool.NewWithConfig(ctx, lockCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	return &Store{pool: pool, locks: locks}, nil
}

func (s *Store) Close()                         { s.pool.Close(); s.locks.Close() }
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// ErrNotFound: no row has that id.
var ErrNotFound = errors.New("not found")

// ConstraintError is a write the database refused because of a constraint: a duplicate (Unique) or a
// reference to a row that does not exist.
type ConstraintError struct {
	Constraint string
	Unique     bool
}

func (e *ConstraintError) Error() string {
	if e.Unique {
		return "duplicate: " + e.Constraint
	}
	return "unknown reference: " + e.Constraint
}

// classify turns the database's constraint violations into ConstraintError.
func classify(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return &ConstraintError{Constraint: pgErr.ConstraintName, Unique: true}
		case "23503":
			return &ConstraintError{Constraint: pgErr.ConstraintName}
		}
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// Actor is who makes a change: a staff user, or the system (nil).
type Actor *uuid.UUID

// AuditEntry is one line of the append-only audit log. Detail names what changed, never personal values.
type AuditEntry struct {
	Actor      Actor
	Action     string
	EntityType string
	EntityID   string
	Detail     map[string]any
	// DedupKey makes the entry idempotent for writers that may run twice (workflow activities).
	DedupKey string
	// Events are lifecycle events of the change beyond those its action gives (events.FromAudit). All
	// are written with the entry, in its statement, and skipped with it when its dedup key is logged.
	Events []events.Draft
}

// tx runs fn in a transaction and writes the audit entry in the same transaction.
func (s *Store) tx(ctx context.Context, audit *AuditEntry, fn func(pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if audit == nil {
			return nil
		}
		return writeAudit(ctx, tx, *audit)
	}))
}

// batchTx runs, in one transaction sent as one batch (one round trip), the statements queue adds and then
// the audit entry (when not nil). For transactions that need no answer before they commit; should a
// statement fail, the rest are not run and nothing is committed.
func (s *Store) batchTx(ctx context.Context, audit *AuditEntry, queue func(*pgx.Batch)) error {
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	queue(b)
	if audit != nil {
		sql, args, err := auditInsert(*audit)
		if err != nil {
			return err
		}
		b.Queue(sql, args...)
	}
	b.Queue(`COMMIT`)
	return classify(s.pool.SendBatch(ctx, b).Close())
}

func writeAudit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	sql, args, err := auditInsert(e)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sql, args...)
	return err
}

// auditInsert is the statement that writes an audit entry (skipped when its dedup key is logged) and the
// lifecycle events of its change: the transactional outbox. The events are appended only for the audit
// row the statement inserted, so an entry skipped as a repeat writes no event, and they commit or roll
// back with the entry and the change.
func auditInsert(e AuditEntry) (string, []any, error) {
	detail, err := json.Marshal(orEmpty(e.Detail))
	if err != nil {
		return "", nil, err
	}
	var dedup *string
	if e.DedupKey != "" {
		dedup = &e.DedupKey
	}
	args := []any{(*uuid.UUID)(e.Actor), e.Action, e.EntityType, e.EntityID, detail, dedup}
	insert := `INSERT INTO audit_log (actor_id, action, entity_type, entity_id, detail, dedup_key)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedup_key) DO NOTHING`
	drafts := append(events.FromAudit(events.Audit{Action: e.Action, EntityType: e.EntityType,
		EntityID: e.EntityID, Detail: e.Detail}), e.Events...)
	if len(drafts) == 0 {
		return insert, args, nil
	}
	list, err := json.Marshal(drafts)
	if err != nil {
		return "", nil, err
	}
	return `WITH a AS (` + insert + ` RETURNING id, at) ` + appendEvents("a.id", "a.at", "a, ", 7),
		append(args, list), nil
}

// appendEvents is the SELECT that appends the events of the JSON list of events.Draft in parameter
// param, each with the person's display name apart from its data, in the list's order.
func appendEvents(auditID, at, from string, param int) string {
	return `SELECT events_append(` + auditID + `, ` + at + `, d.v->>'type', (d.v->>'version')::integer,
			d.v->>'subject', d.v->'data',
			(SELECT jsonb_build_object('personName', p.first_name || ' ' || p.last_name) FROM persons p
				WHERE p.id = (d.v->>'person')::uuid))
		FROM ` + from + `jsonb_array_elements($` + strconv.Itoa(param) + `::jsonb) WITH ORDINALITY AS d(v, n) ORDER BY d.n`
}

// writeEvents writes the events of a change that has no audit entry (a message's or a broadcast's
// status) in its transaction. The caller writes them only when its change was made, never for a repeat.
func writeEvents(ctx context.Context, tx pgx.Tx, drafts ...events.Draft) error {
	if len(drafts) == 0 {
		return nil
	}
	list, err := json.Marshal(drafts)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, appendEvents("NULL", "clock_timestamp()", "", 1), list)
	return err
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// AuditRecord is a stored audit entry.
type AuditRecord struct {
	ID         int64          `json:"id"`
	At         string         `json:"at"`
	ActorID    *uuid.UUID     `json:"actorId"`
	Action     string         `json:"action"`
	EntityType string         `json:"entityType"`
	EntityID   string         `json:"entityId"`
	Detail     map[string]any `json:"detail"`
}

// AuditTrail lists the audit entries about one entity, oldest first.
func (s *Store) AuditTrail(ctx context.Context, entityType, entityID string) ([]AuditRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
		actor_id, action, entity_type, entity_id, detail FROM audit_log
		WHERE entity_type = $1 AND entity_id = $2 ORDER BY id`, entityType, entityID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditRecord, error) {
		var a AuditRecord
		err := r.Scan(&a.ID, &a.At, &a.ActorID, &a.Action, &a.EntityType, &a.EntityID, &a.Detail)
		return a, err
	})
}

// Page is a window on a list.
type Page struct{ Limit, Offset int }

// filter builds a WHERE clause of conditions joined by AND, with numbered arguments.
type filter struct {
	conds []string
	args  []any
}

// add adds a condition; each %s in cond takes one of vals as an argument.
func (f *filter) add(cond string, vals ...any) {
	refs := make([]any, len(vals))
	for i, v := range vals {
		f.args = append(f.args, v)
		refs[i] = "$" + strconv.Itoa(len(f.args))
	}
	f.conds = append(f.conds, fmt.Sprintf(cond, refs...))
}

func (f *filter) where() string {
	if len(f.conds) == 0 {
		return "true"
	}
	return strings.Join(f.conds, " AND ")
}

// page lists one page of the rows of table that match f, in order, with the total that match.
func page[T any](ctx context.Context, s *Store, table, cols string, f *filter, order string, p Page,
	scan pgx.RowToFunc[T]) ([]T, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM `+table+` WHERE `+f.where(), f.args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	args := append(f.args, p.Limit, p.Offset)
	n := len(f.args)
	rows, _ := s.pool.Query(ctx, `SELECT `+cols+` FROM `+table+` WHERE `+f.where()+` ORDER BY `+order+
		` LIMIT $`+strconv.Itoa(n+1)+` OFFSET $`+strconv.Itoa(n+2), args...)
	items, err := pgx.CollectRows(rows, scan)
	return items, total, err
}

// AuditCheckpoint writes to sinks the checkpoints they lack, the audit tree's newest included, signing
// the hash chain's last head first if no checkpoint covers it (audit.Checkpoint).
func (s *Store) AuditCheckpoint(ctx context.Context, keys audit.Keys, sinks ...audit.Sink) (audit.CheckpointResult, error) {
	return audit.Checkpoint(ctx, s.pool, keys, sinks...)
}

// VerifyAudit verifies the whole audit log in one snapshot (audit.VerifyWith).
func (s *Store) VerifyAudit(ctx context.Context, opts audit.VerifyOptions) (audit.Report, error) {
	return audit.VerifyWith(ctx, s.pool, opts)
}

// SequenceAudit integrates every audit entry not yet in the audit log's Merkle tree, in batches, and
// signs a checkpoint of the tree (see audit.Sequence); it returns the last batch's result.
func (s *Store) SequenceAudit(ctx context.Context, keys audit.Keys, origin string) (audit.SequenceResult, error) {
	const batch = 2000
	for {
		res, err := audit.Sequence(ctx, s.pool, keys, origin, batch)
		if err != nil || res.Busy || res.Added < batch {
			return res, err
		}
	}
}

// AuditTree reads the audit log's Merkle tree, for proofs.
func (s *Store) AuditTree() audit.Reader { return s.pool }
