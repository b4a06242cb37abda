package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Reach is what a scoped case worker sees: the persons at their sites or of their suppliers, and those
// persons' cases and clearances. A nil *Reach sees everything.
type Reach struct{ LocationIDs, SupplierIDs []uuid.UUID }

// personsWithin is the condition, on a persons row, of being within reach.
const personsWithin = "(location_id = ANY (%s) OR supplier_id = ANY (%s))"

// limit adds to w the condition that the row's person (the row itself when personCol is "") is within
// r; nothing for a nil r.
func (r *Reach) limit(w *filter, personCol string) {
	if r == nil {
		return
	}
	if personCol == "" {
		w.add(personsWithin, nonNil(r.LocationIDs), nonNil(r.SupplierIDs))
		return
	}
	w.add(personCol+" IN (SELECT id FROM persons WHERE "+personsWithin+")", nonNil(r.LocationIDs), nonNil(r.SupplierIDs))
}

// Reachable is what a route's path names, for Within: a person, a case, a clearance or a supplier.
type Reachable string

const (
	ReachPerson    Reachable = "person"
	ReachCase      Reachable = "case"
	ReachClearance Reachable = "clearance"
	// ReachSupplier: a scoped case worker reaches the suppliers their user names.
	ReachSupplier Reachable = "supplier"
	ReachTrip     Reachable = "trip"
)

// Within reports whether the person, case, clearance or supplier of that id is within r (true for a nil r, and
// for an id that names nothing: the route answers 404 for that itself).
func (s *Store) Within(ctx context.Context, r *Reach, what Reachable, id string) (bool, error) {
	if r == nil {
		return true, nil
	}
	if what == ReachSupplier {
		var within bool
		err := s.pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM suppliers WHERE id::text = $1)
			OR EXISTS (SELECT 1 FROM unnest($2::uuid[]) AS x (id) WHERE x.id::text = $1)`,
			id, nonNil(r.SupplierIDs)).Scan(&within)
		return within, err
	}
	person := map[Reachable]string{
		ReachPerson:    `SELECT id FROM persons WHERE id::text = $1`,
		ReachCase:      `SELECT person_id FROM vetting_cases WHERE case_ref = $1`,
		ReachClearance: `SELECT person_id FROM clearances WHERE id::text = $1`,
		ReachTrip:      `SELECT person_id FROM travel_trips WHERE id::text = $1`,
	}[what]
	var within bool
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT coalesce(`+fmt.Sprintf(personsWithin, "$2", "$3")+`, false)
		FROM persons WHERE id = (`+person+`)), true)`, id, nonNil(r.LocationIDs), nonNil(r.SupplierIDs)).Scan(&within)
	return within, err
}

// Unknown is the index of the first of ids that names no row of table (locations or suppliers), or -1.
func (s *Store) Unknown(ctx context.Context, table string, ids []uuid.UUID) (int, error) {
	return unknownIn(ctx, s.pool, table, ids)
}

// rowQuerier is a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// unknownIn is Unknown through q (a transaction sees its own writes).
func unknownIn(ctx context.Context, q rowQuerier, table string, ids []uuid.UUID) (int, error) {
	if table != "locations" && table != "suppliers" {
		return 0, fmt.Errorf("Unknown: table %q", table)
	}
	var first *int
	err := q.QueryRow(ctx, `SELECT min(i) - 1 FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, i)
		WHERE NOT EXISTS (SELECT 1 FROM `+table+` t WHERE t.id = x.id)`, nonNil(ids)).Scan(&first)
	if err != nil || first == nil {
		return -1, err
	}
	return *first, nil
}
