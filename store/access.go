package store

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
)

// Inactivity says when a person with no access event is disabled and then removed from the ACS.
type Inactivity struct {
	DisableAfter time.Duration
	RemoveAfter  time.Duration
}

// dates are the disable and removal moments of a linked person whose inactivity clock started at baseline.
func (in Inactivity) dates(baseline time.Time) (disableAt, removeAt time.Time) {
	return baseline.Add(in.DisableAfter), baseline.Add(in.RemoveAfter)
}

// ---- the approved state

// DesiredAccess computes what SignetAssure approves at now for the persons named (all persons in scope
// when ids is nil): every person with a record in the ACS, an open grant, or, when profile rules exist, an
// active clearance.
//
// A level is approved while an open grant for it runs (start <= now < end), its level is present, and the
// person is active and holds a valid clearance at the level's required level or above. Profiles come from
// the rules. A linked person with no access event, grant or creation for Inactivity.DisableAfter is
// disabled, and after RemoveAfter removed.
func (s *Store) DesiredAccess(ctx context.Context, now time.Time, ids []uuid.UUID, in Inactivity) ([]access.Desired, error) {
	// One repeatable-read transaction sent as one batch: one round trip, however many persons.
	var snap accessSnapshot
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY`)
	snap.queue(b, now, ids)
	b.Queue(`COMMIT`)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	out := make([]access.Desired, 0, len(snap.persons))
	for _, p := range snap.persons {
		out = append(out, snap.desired(p, now, in))
	}
	return out, nil
}

// accessSnapshot is what DesiredAccess reads, in one repeatable-read transaction: the catalogue's rules
// and mappings, the persons in scope, the clearances they hold today and their open grants.
type accessSnapshot struct {
	rules      []domain.ProfileRule
	ownCompany string
	companies  map[uuid.UUID]string // supplier → ACS company
	locations  map[uuid.UUID]string // location → ACS location
	persons    []personInScope
	held       map[uuid.UUID][]domain.Level
	levels     map[uuid.UUID][]access.Assignment
}

// personInScope is a person with their ACS link and the moments their inactivity clock counts from.
type personInScope struct {
	ID                    uuid.UUID
	First, Last, Email    string
	EmployeeNumber        string
	SupplierID            *uuid.UUID
	LocationID            *uuid.UUID
	Active                bool
	LinkUser              *string
	Linked                bool
	Pushed                []byte
	LinkCreated, LastSeen *time.Time
	LastGrant             *time.Time
}

// queue adds the snapshot's queries to b; they fill it in, in order, as the batch's results are read.
func (a *accessSnapshot) queue(b *pgx.Batch, now time.Time, ids []uuid.UUID) {
	a.queueCatalogue(b)
	scope, arg := personScope(now, ids)
	a.queuePersons(b, scope, arg)
	a.queueHeld(b, scope, arg, now)
	a.queueLevels(b, scope, arg, now)
}

// personScope is a query of the ids of the persons named, or when ids is nil of every person in scope:
// with a record in the ACS, an open grant, or (when profile rules exist) an active clearance. Its one
// parameter, $1, is arg.
func personScope(now time.Time, ids []uuid.UUID) (string, any) {
	if ids != nil {
		return `SELECT unnest($1::uuid[]) AS id`, ids
	}
	return `SELECT p.id FROM persons p WHERE EXISTS (SELECT 1 FROM access_links l WHERE l.person_id = p.id)
		OR EXISTS (SELECT 1 FROM access_grants g WHERE g.person_id = p.id AND g.status IN ('scheduled', 'active') AND g.ends_at > $1)
		OR (EXISTS (SELECT 1 FROM access_profile_rules)
			AND EXISTS (SELECT 1 FROM clearances c WHERE c.person_id = p.id AND c.status = 'active'))`, now
}

func (a *accessSnapshot) queueCatalogue(b *pgx.Batch) {
	b.Queue(`SELECT ` + ruleCols + ` FROM access_profile_rules`).Query(func(rows pgx.Rows) error {
		rules, err := pgx.CollectRows(rows, pgx.RowToStructByPos[domain.ProfileRule])
		a.rules = rules
		return err
	})
	b.Queue(`SELECT supplier_id, acs_company_id FROM access_company_map`).Query(func(rows pgx.Rows) error {
		companyMap, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CompanyMapping])
		a.companies = map[uuid.UUID]string{}
		for _, m := range companyMap {
			if m.SupplierID == nil {
				a.ownCompany = m.ACSCompanyID
			} else {
				a.companies[*m.SupplierID] = m.ACSCompanyID
			}
		}
		return err
	})
	b.Queue(`SELECT location_id, acs_location_id FROM access_location_map`).Query(func(rows pgx.Rows) error {
		locationMap, err := pgx.CollectRows(rows, pgx.RowToStructByPos[LocationMapping])
		a.locations = map[uuid.UUID]string{}
		for _, m := range locationMap {
			a.locations[m.LocationID] = m.ACSLocationID
		}
		return err
	})
}

// queuePersons reads the persons in scope with their links.
func (a *accessSnapshot) queuePersons(b *pgx.Batch, scope string, arg any) {
	b.Queue(`WITH scope AS (`+scope+`)
		SELECT p.id, p.first_name, p.last_name, p.email, coalesce(p.employee_number, ''), p.supplier_id, p.location_id,
			p.active, l.acs_user_id, l.person_id IS NOT NULL, coalesce(l.pushed, '{}'), l.created_at, l.last_event_at,
			(SELECT max(g.created_at) FROM access_grants g WHERE g.person_id = p.id)
		FROM persons p JOIN scope ON scope.id = p.id LEFT JOIN access_links l ON l.person_id = p.id
		ORDER BY p.id`, arg).Query(func(rows pgx.Rows) error {
		persons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[personInScope])
		a.persons = persons
		return err
	})
}

// queueHeld reads the clearance levels each person in scope holds today.
func (a *accessSnapshot) queueHeld(b *pgx.Batch, scope string, arg any, now time.Time) {
	a.held = map[uuid.UUID][]domain.Level{}
	b.Queue(`WITH scope AS (`+scope+`)
		SELECT person_id, level FROM clearances WHERE status = 'active' AND person_id IN (SELECT id FROM scope)
		AND valid_from <= $2::date AND valid_to >= $2::date`, arg, now.UTC().Format(time.DateOnly)).Query(func(rows pgx.Rows) error {
		var pid uuid.UUID
		var lvl domain.Level
		_, err := pgx.ForEachRow(rows, []any{&pid, &lvl}, func() error {
			a.held[pid] = append(a.held[pid], lvl)
			return nil
		})
		return err
	})
}

func (a *accessSnapshot) holds(p uuid.UUID, min domain.Level) bool {
	for _, l := range a.held[p] {
		if l.AtLeast(min) {
			return true
		}
	}
	return false
}

// queueLevels reads the access levels the running grants of each person in scope give, where the level
// is present and the person holds the clearance it requires (read by queueHeld, queued before it).
func (a *accessSnapshot) queueLevels(b *pgx.Batch, scope string, arg any, now time.Time) {
	a.levels = map[uuid.UUID][]access.Assignment{}
	b.Queue(`WITH scope AS (`+scope+`)
		SELECT g.person_id, g.level_id, g.starts_at, g.ends_at, lv.required_level
		FROM access_grants g JOIN access_levels lv ON lv.id = g.level_id
		WHERE g.person_id IN (SELECT id FROM scope) AND g.status IN ('scheduled', 'active') AND lv.present
		AND g.starts_at <= $2 AND g.ends_at > $2`, arg, now).Query(func(rows pgx.Rows) error {
		var pid uuid.UUID
		var as access.Assignment
		var required *domain.Level
		_, err := pgx.ForEachRow(rows, []any{&pid, &as.LevelID, &as.From, &as.To, &required}, func() error {
			if required != nil && a.holds(pid, *required) {
				a.levels[pid] = append(a.levels[pid], as)
			}
			return nil
		})
		return err
	})
}

// desired is the ACS record SignetAssure approves for p at now.
func (a *accessSnapshot) desired(p personInScope, now time.Time, in Inactivity) access.Desired {
	d := access.Desired{PersonID: p.ID, Present: true}
	if p.LinkUser != nil {
		d.LinkedUserID = *p.LinkUser
	}
	_ = json.Unmarshal(p.Pushed, &d.Pushed)
	var profiles []string
	for _, r := range a.rules {
		if ruleMatches(r, p.SupplierID, p.LocationID, a.holds, p.ID) {
			profiles = append(profiles, r.ACSProfileID)
		}
	}
	approved := p.Active && (len(a.levels[p.ID]) > 0 || len(profiles) > 0)
	if p.Linked {
		disableAt, removeAt := in.dates(latestOf(*p.LinkCreated, p.LastSeen, p.LastGrant))
		if !now.Before(removeAt) {
			d.Present = false
		}
		if !now.Before(disableAt) {
			approved = false
		}
	}
	d.User = access.User{ExternalID: access.ExternalID(p.ID), EmployeeNumber: p.EmployeeNumber,
		FirstName: p.First, LastName: p.Last, Email: p.Email, Active: approved, CompanyID: a.ownCompany}
	if p.SupplierID != nil {
		d.User.CompanyID = a.companies[*p.SupplierID]
	}
	if p.LocationID != nil {
		d.User.LocationID = a.locations[*p.LocationID]
	}
	if approved {
		d.User.Access = access.Access{Levels: a.levels[p.ID], Profiles: profiles}
	}
	d.User.Access = access.Normalise(d.User.Access)
	return d
}

func ruleMatches(r domain.ProfileRule, supplier, location *uuid.UUID, holds func(uuid.UUID, domain.Level) bool, person uuid.UUID) bool {
	switch {
	case r.ClearanceLevel != nil && !holds(person, *r.ClearanceLevel):
		return false
	case r.OwnStaff && supplier != nil:
		return false
	case r.SupplierID != nil && (supplier == nil || *supplier != *r.SupplierID):
		return false
	case r.LocationID != nil && (location == nil || *location != *r.LocationID):
		return false
	}
	return true
}

func latestOf(t time.Time, more ...*time.Time) time.Time {
	for _, m := range more {
		if m != nil && m.After(t) {
			t = *m
		}
	}
	return t
}

// ---- links

// LockPerson holds a lock on the person's ACS record across processes until release is called, so two
// writers never both decide to create the person's record.
func (s *Store) LockPerson(ctx context.Context, personID uuid.UUID) (release func(), err error) {
	conn, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	h := fnv.New64a()
	h.Write([]byte("access-person/" + personID.String()))
	key := int64(h.Sum64())
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		conn.Release()
		return nil, err
	}
	return func() {
		if _, err := conn.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, key); err != nil {
			_ = conn.Conn().Close(context.Background()) // a connection that may still hold the lock is not reused
		}
		conn.Release()
	}, nil
}

// SaveLink records the person's ACS record after a change: its id (nil once removed), its state and the
// access written.
func (s *Store) SaveLink(ctx context.Context, personID uuid.UUID, userID *string, state string, pushed access.Access) error {
	b, err := json.Marshal(pushed)
	if err != nil {
		return err
	}
	return s.batchTx(ctx, nil, func(batch *pgx.Batch) {
		// The record was found by the person's key: another person still linked to its id (an ACS restored
		// or renumbered) loses that link, and finds their own record by their key.
		batch.Queue(`UPDATE access_links SET acs_user_id = NULL, updated_at = now()
			WHERE acs_user_id = $2 AND person_id <> $1`, personID, userID)
		batch.Queue(`INSERT INTO access_links (person_id, acs_user_id, state, pushed, synced_at)
			VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (person_id) DO UPDATE SET acs_user_id = excluded.acs_user_id, state = excluded.state,
			pushed = excluded.pushed, synced_at = now(), updated_at = now()`, personID, userID, state, b)
	})
}

// DropLink forgets that the person's record is userID (it turned out to carry another key); the link's
// state and inactivity clock stay.
func (s *Store) DropLink(ctx context.Context, personID uuid.UUID, userID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE access_links SET acs_user_id = NULL, updated_at = now()
		WHERE person_id = $1 AND acs_user_id = $2`, personID, userID)
	return err
}

// AccessLink is the person's ACS record with its inactivity dates; ErrNotFound when the person has none.
func (s *Store) AccessLink(ctx context.Context, personID uuid.UUID, in Inactivity) (domain.AccessLink, error) {
	var l domain.AccessLink
	var lastGrant *time.Time
	err := s.pool.QueryRow(ctx, `SELECT l.person_id, l.acs_user_id, l.state, l.last_event_at, l.synced_at, l.created_at,
		(SELECT max(g.created_at) FROM access_grants g WHERE g.person_id = l.person_id)
		FROM access_links l WHERE l.person_id = $1`, personID).
		Scan(&l.PersonID, &l.ACSUserID, &l.State, &l.LastEventAt, &l.SyncedAt, &l.CreatedAt, &lastGrant)
	if err != nil {
		return l, classify(err)
	}
	if l.State != "removed" {
		d, r := in.dates(latestOf(l.CreatedAt, l.LastEventAt, lastGrant))
		l.DisableAt, l.RemoveAt = &d, &r
	}
	return l, nil
}
