package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// SupersededBy returns the ids of the clearances the clearance id superseded when it was recorded
// (RecordClearance marks them superseded_by it), in id order; none for a first clearance.
func (s *Store) SupersededBy(ctx context.Context, id uuid.UUID) ([]uuid.UUID, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM clearances WHERE superseded_by = $1 ORDER BY id`, id)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return ids, classify(err)
}
