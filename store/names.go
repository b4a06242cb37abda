package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// PersonNames are the names ("first last") of the persons of ids within r, by id: a list shows a person
// outside a scoped case worker's reach without a name.
func (s *Store) PersonNames(ctx context.Context, r *Reach, ids []uuid.UUID) (map[uuid.UUID]string, error) {
	names := map[uuid.UUID]string{}
	if len(ids) == 0 {
		return names, nil
	}
	var w filter
	w.add("id = ANY (%s)", ids)
	r.limit(&w, "")
	rows, _ := s.pool.Query(ctx, `SELECT id, first_name || ' ' || last_name FROM persons WHERE `+w.where(), w.args...)
	var id uuid.UUID
	var name string
	_, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil })
	return names, err
}
