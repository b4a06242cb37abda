package store

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"slices"
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
	// One repeatable-read transaction sent as one batch (two of every person's, since which persons are
	// in scope depends on the catalogue): one round trip, however many persons.
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release() // a connection left in the transaction (a failed batch) is closed, not reused
	var snap accessSnapshot
	b := &pgx.Batch{}
	snap.begin(b)
	if ids == nil {
		if err := conn.SendBatch(ctx, b).Close(); err != nil {
			return nil, err
		}
		b = &pgx.Batch{}
	}
	snap.queuePersons(b, now, ids)
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	return snap.desiredAll(now, in), nil
}

// begin queues the snapshot's transaction and the catalogue's queries.
func (a *accessSnapshot) begin(b *pgx.Batch) {
	b.Queue(`BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY`)
	// The scope query over every person costs enough for PostgreSQL to compile it (JIT), which took longer
	// (0.1 to 1.7 s, as the statistics fell) than running it.
	b.Queue(`SET LOCAL jit = off`)
	a.queueCatalogue(b)
}

func (a *accessSnapshot) desiredAll(now time.Time, in Inactivity) []access.Desired {
	out := make([]access.Desired, 0, len(a.persons))
	for _, p := range a.persons {
		out = append(out, a.desired(p, now, in))
	}
	return out
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

// queuePersons adds to b the queries of the persons named, or when ids is nil of every person in scope
// (after the catalogue is read): with a record in the ACS, an open grant, or (when profile rules exist) an
// active clearance; with their links, the clearances they hold today and their running grants.
func (a *accessSnapshot) queuePersons(b *pgx.Batch, now time.Time, ids []uuid.UUID) {
	scope := `SELECT p.id FROM persons p WHERE EXISTS (SELECT 1 FROM access_links l WHERE l.person_id = p.id)
		OR EXISTS (SELECT 1 FROM access_grants g WHERE g.person_id = p.id AND g.status IN ('scheduled', 'active') AND g.ends_at > $1)
		OR ($2 AND EXISTS (SELECT 1 FROM clearances c WHERE c.person_id = p.id AND c.status = 'active'))`
	args := []any{now, len(a.rules) > 0}
	// Of every person (ids nil), the clearances and grants are read whole: a person with a running grant is
	// in scope, and the clearances of those who are not go unused.
	named := `$1::uuid[] IS NULL`
	if ids != nil {
		scope, args, named = `SELECT unnest($1::uuid[]) AS id`, []any{ids}, `person_id = ANY($1)`
	}
	b.Queue(`WITH scope AS (`+scope+`)
		SELECT p.id, p.first_name, p.last_name, p.email, coalesce(p.employee_number, ''), p.supplier_id, p.location_id,
			p.active, l.acs_user_id, l.person_id IS NOT NULL, coalesce(l.pushed, '{}'), l.created_at, l.last_event_at,
			(SELECT max(g.created_at) FROM access_grants g WHERE g.person_id = p.id)
		FROM persons p JOIN scope ON scope.id = p.id LEFT JOIN access_links l ON l.person_id = p.id
		ORDER BY p.id`, args...).Query(func(rows pgx.Rows) error {
		persons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[personInScope])
		a.persons = persons
		return err
	})
	a.queueHeld(b, named, ids, now)
	a.queueLevels(b, named, ids, now)
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

// queueHeld reads the clearance levels held today by the persons named (where named, a condition on
// person_id, holds of ids).
func (a *accessSnapshot) queueHeld(b *pgx.Batch, named string, ids []uuid.UUID, now time.Time) {
	a.held = map[uuid.UUID][]domain.Level{}
	b.Queue(`SELECT person_id, level FROM clearances WHERE status = 'active' AND `+named+`
		AND valid_from <= $2::date AND valid_to >= $2::date`, ids, now.UTC().Format(time.DateOnly)).Query(func(rows pgx.Rows) error {
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

// queueLevels reads the access levels the running grants of the persons named give, where the level is
// present and the person holds the clearance it requires (read by queueHeld, queued before it).
func (a *accessSnapshot) queueLevels(b *pgx.Batch, named string, ids []uuid.UUID, now time.Time) {
	a.levels = map[uuid.UUID][]access.Assignment{}
	b.Queue(`SELECT g.person_id, g.level_id, g.starts_at, g.ends_at, lv.required_level
		FROM access_grants g JOIN access_levels lv ON lv.id = g.level_id
		WHERE `+named+` AND g.status IN ('scheduled', 'active') AND lv.present
		AND g.starts_at <= $2 AND g.ends_at > $2`, ids, now).Query(func(rows pgx.Rows) error {
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

// LockForReplan holds a lock on each person's ACS record across processes until release is called, so
// two writers never both decide to create a person's record, and under the locks, in two round trips,
// marks the persons' operations still pending as interrupted (left from a worker that died mid-change: the
// new plan decides what is still needed), each with an audit entry, and reads what they are approved at now (as DesiredAccess). The
// locks are taken in a fixed order: every holder of several takes them in the same order, so two never
// wait for each other.
func (s *Store) LockForReplan(ctx context.Context, personIDs []uuid.UUID, now time.Time, in Inactivity) (release func(), ds []access.Desired, err error) {
	conn, err := s.locks.Acquire(ctx)
	if err != nil {
		return nil, nil, err
	}
	keys := make([]int64, 0, len(personIDs))
	for _, id := range personIDs {
		h := fnv.New64a()
		h.Write([]byte("access-person/" + id.String()))
		keys = append(keys, int64(h.Sum64()))
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	b := &pgx.Batch{}
	for _, k := range keys {
		b.Queue(`SELECT pg_advisory_lock($1)`, k)
	}
	// An operation closed as interrupted may have reached the ACS without its audit entry (written with
	// its batch's results): the audit log says so, once per operation, in the same statement.
	b.Queue(`WITH closed AS (UPDATE access_operations SET status = 'failed', updated_at = now(),
		error = 'interrupted before its answer was recorded; the person was planned again'
		WHERE person_id = ANY($1) AND status = 'pending' RETURNING id, kind, person_id, sync_id)
		INSERT INTO audit_log (action, entity_type, entity_id, detail, dedup_key)
		SELECT 'access.interrupted', 'person', person_id::text,
			jsonb_build_object('operationId', id, 'kind', kind, 'syncId', sync_id), 'access-op-interrupted/' || id
		FROM closed ON CONFLICT (dedup_key) DO NOTHING`, personIDs)
	// The approved state is read in a second batch: a batch runs as one implicit transaction, whose
	// snapshot would be taken before the locks are granted.
	var snap accessSnapshot
	read := &pgx.Batch{}
	snap.begin(read)
	snap.queuePersons(read, now, personIDs)
	read.Queue(`COMMIT`)
	err = conn.SendBatch(ctx, b).Close()
	if err == nil {
		err = conn.SendBatch(ctx, read).Close()
	}
	if err != nil {
		_ = conn.Conn().Close(context.Background()) // it may hold some of the locks
		conn.Release()
		return nil, nil, err
	}
	return func() {
		b := &pgx.Batch{}
		for _, k := range keys {
			b.Queue(`SELECT pg_advisory_unlock($1)`, k)
		}
		if err := conn.SendBatch(context.Background(), b).Close(); err != nil {
			_ = conn.Conn().Close(context.Background()) // a connection that may still hold a lock is not reused
		}
		conn.Release()
	}, snap.desiredAll(now, in), nil
}

// Link is what SaveSynced records of a person's ACS record after a change: its id (nil once removed), its
// state and the access written.
type Link struct {
	PersonID uuid.UUID
	UserID   *string
	State    string
	Pushed   access.Access
}

// DoneOp is an operation carried out on the ACS record UserID, for SaveSynced.
type DoneOp struct {
	Op     access.Op
	UserID string
}

// SaveSynced records, in one transaction sent as one batch, what reconciling persons did: each operation
// done (in the sync syncID, "" for none), with its audit entry (once per operation; system names the
// ACS), and each person's link.
func (s *Store) SaveSynced(ctx context.Context, system, syncID string, done []DoneOp, links []Link) error {
	if len(done) == 0 && len(links) == 0 {
		return nil
	}
	type statement struct {
		sql  string
		args []any
	}
	var queue []statement
	if len(done) > 0 {
		ops := make([]access.Op, len(done))
		for i, d := range done {
			ops[i] = d.Op
			ops[i].UserID = d.UserID
		}
		sql, args := journalOps(ops, syncID, "done", "")
		queue = append(queue, statement{sql, args})
		for _, op := range ops {
			sql, args, err := auditInsert(*accessOpAudit(system, op, op.UserID))
			if err != nil {
				return err
			}
			queue = append(queue, statement{sql, args})
		}
	}
	if len(links) > 0 {
		persons, users, states, pushed := make([]uuid.UUID, len(links)), make([]*string, len(links)), make([]string, len(links)), make([]string, len(links))
		for i, l := range links {
			p, err := json.Marshal(l.Pushed)
			if err != nil {
				return err
			}
			persons[i], users[i], states[i], pushed[i] = l.PersonID, l.UserID, l.State, string(p)
		}
		// The records were found by the persons' keys: another person still linked to one's id (an ACS
		// restored or renumbered) loses that link, and finds their own record by their key.
		queue = append(queue, statement{`UPDATE access_links l SET acs_user_id = NULL, updated_at = now()
			FROM unnest($1::uuid[], $2::text[]) AS n(person_id, acs_user_id)
			WHERE l.acs_user_id = n.acs_user_id AND l.person_id <> n.person_id`, []any{persons, users}},
			statement{`INSERT INTO access_links (person_id, acs_user_id, state, pushed, synced_at)
			SELECT n.person_id, n.acs_user_id, n.state, n.pushed::jsonb, now()
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS n(person_id, acs_user_id, state, pushed)
			ON CONFLICT (person_id) DO UPDATE SET acs_user_id = excluded.acs_user_id, state = excluded.state,
			pushed = excluded.pushed, synced_at = now(), updated_at = now()`, []any{persons, users, states, pushed}})
	}
	return s.batchTx(ctx, nil, func(b *pgx.Batch) {
		for _, st := range queue {
			b.Queue(st.sql, st.args...)
		}
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
