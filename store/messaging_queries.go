package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// MissingPersons returns those of ids that name no person, in the order given.
func (s *Store) MissingPersons(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT id FROM unnest($1::uuid[]) WITH ORDINALITY AS given (id, n)
		WHERE NOT EXISTS (SELECT 1 FROM persons p WHERE p.id = given.id) ORDER BY n`, ids)
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}
