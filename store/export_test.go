package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// For the outbox tests: an audit entry written by the transaction path, by the batch path, and by a
// transaction that goes on with then.
func (s *Store) AuditByTx(ctx context.Context, e AuditEntry) error {
	return s.tx(ctx, &e, func(pgx.Tx) error { return nil })
}

func (s *Store) AuditByBatch(ctx context.Context, e AuditEntry) error {
	return s.batchTx(ctx, &e, func(*pgx.Batch) {})
}

func (s *Store) AuditThen(ctx context.Context, e AuditEntry, then func(pgx.Tx) error) error {
	return classify(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := writeAudit(ctx, tx, e); err != nil {
			return err
		}
		return then(tx)
	}))
}
