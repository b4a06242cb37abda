package store

import (
	"context"
	"encoding/json"
	"errors"
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

// ---- levels and policy

const levelCols = `id, name, acs_location_id, required_level, present, refreshed_at`

// RefreshLevels mirrors the ACS's levels: new ones are added without a policy, renamed ones renamed, and
// those gone are marked absent, their open grants blocked. It returns the ids of levels newly gone that had
// open grants.
func (s *Store) RefreshLevels(ctx context.Context, levels []access.Level) ([]string, error) {
	var gone []string
	ids := make([]string, len(levels))
	for i, l := range levels {
		ids[i] = l.ID
	}
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		for _, l := range levels {
			if _, err := tx.Exec(ctx, `INSERT INTO access_levels (id, name, acs_location_id) VALUES ($1, $2, $3)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, acs_location_id = excluded.acs_location_id,
				present = true, refreshed_at = now()`, l.ID, l.Name, l.LocationID); err != nil {
				return err
			}
		}
		rows, _ := tx.Query(ctx, `UPDATE access_levels SET present = false, refreshed_at = now()
			WHERE present AND NOT (id = ANY($1)) RETURNING id`, ids)
		removed, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, id := range removed {
			tag, err := tx.Exec(ctx, `UPDATE access_grants SET status = 'blocked', end_reason = 'the level was deleted in the access control system',
				updated_at = now() WHERE level_id = $1 AND status IN ('scheduled', 'active')`, id)
			if err != nil {
				return err
			}
			if tag.RowsAffected() > 0 {
				gone = append(gone, id)
				if err := writeAudit(ctx, tx, AuditEntry{Action: "access.level.deleted", EntityType: "access_level",
					EntityID: id, Detail: map[string]any{"grantsBlocked": tag.RowsAffected()}}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return gone, err
}

// AccessLevels lists the mirrored levels.
func (s *Store) AccessLevels(ctx context.Context) ([]domain.AccessLevel, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+levelCols+` FROM access_levels ORDER BY name, id`)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.AccessLevel])
}

// AccessLevel is one level.
func (s *Store) AccessLevel(ctx context.Context, id string) (domain.AccessLevel, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+levelCols+` FROM access_levels WHERE id = $1`, id)
	l, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessLevel])
	return l, classify(err)
}

// SetLevelPolicy sets the clearance a level demands (nil: the level cannot be granted).
func (s *Store) SetLevelPolicy(ctx context.Context, actor Actor, id string, required *domain.Level) (domain.AccessLevel, error) {
	var l domain.AccessLevel
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "access.level.policy", EntityType: "access_level", EntityID: id,
		Detail: map[string]any{"requiredLevel": required}}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE access_levels SET required_level = $2 WHERE id = $1 RETURNING `+levelCols, id, required)
		var err error
		l, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessLevel])
		return err
	})
	return l, err
}

// ---- mappings and profile rules

// CompanyMapping files a supplier's people (SupplierID nil: our own staff) under an ACS company.
type CompanyMapping struct {
	SupplierID   *uuid.UUID `json:"supplierId"`
	ACSCompanyID string     `json:"acsCompanyId"`
}

// LocationMapping files a site's people under an ACS location.
type LocationMapping struct {
	LocationID    uuid.UUID `json:"locationId"`
	ACSLocationID string    `json:"acsLocationId"`
}

// Mappings is the whole of the company and location mapping.
type Mappings struct {
	Companies []CompanyMapping  `json:"companies"`
	Locations []LocationMapping `json:"locations"`
}

// AccessMappings reads the mappings.
func (s *Store) AccessMappings(ctx context.Context) (Mappings, error) {
	rows, _ := s.pool.Query(ctx, `SELECT supplier_id, acs_company_id FROM access_company_map ORDER BY supplier_id NULLS FIRST`)
	companies, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CompanyMapping])
	if err != nil {
		return Mappings{}, err
	}
	rows, _ = s.pool.Query(ctx, `SELECT location_id, acs_location_id FROM access_location_map ORDER BY location_id`)
	locations, err := pgx.CollectRows(rows, pgx.RowToStructByPos[LocationMapping])
	return Mappings{Companies: companies, Locations: locations}, err
}

// SetAccessMappings replaces the mappings.
func (s *Store) SetAccessMappings(ctx context.Context, actor Actor, m Mappings) error {
	return s.tx(ctx, &AuditEntry{Actor: actor, Action: "access.mappings.set", EntityType: "organisation", EntityID: "1",
		Detail: map[string]any{"companies": len(m.Companies), "locations": len(m.Locations)}}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM access_company_map; DELETE FROM access_location_map`); err != nil {
			return err
		}
		for _, c := range m.Companies {
			if _, err := tx.Exec(ctx, `INSERT INTO access_company_map (supplier_id, acs_company_id) VALUES ($1, $2)`,
				c.SupplierID, c.ACSCompanyID); err != nil {
				return err
			}
		}
		for _, l := range m.Locations {
			if _, err := tx.Exec(ctx, `INSERT INTO access_location_map (location_id, acs_location_id) VALUES ($1, $2)`,
				l.LocationID, l.ACSLocationID); err != nil {
				return err
			}
		}
		return nil
	})
}

const ruleCols = `id, clearance_level, own_staff, supplier_id, location_id, acs_profile_id, created_at`

// ProfileRules lists the profile rules.
func (s *Store) ProfileRules(ctx context.Context) ([]domain.ProfileRule, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+ruleCols+` FROM access_profile_rules ORDER BY created_at, id`)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.ProfileRule])
}

// CreateProfileRule adds a rule.
func (s *Store) CreateProfileRule(ctx context.Context, actor Actor, r domain.ProfileRule) (domain.ProfileRule, error) {
	r.ID = uuid.New()
	var out domain.ProfileRule
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "access.profile_rule.create", EntityType: "access_profile_rule",
		EntityID: r.ID.String(), Detail: map[string]any{"acsProfileId": r.ACSProfileID}}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO access_profile_rules (id, clearance_level, own_staff, supplier_id, location_id,
			acs_profile_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+ruleCols,
			r.ID, r.ClearanceLevel, r.OwnStaff, r.SupplierID, r.LocationID, r.ACSProfileID)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.ProfileRule])
		return err
	})
	return out, err
}

// DeleteProfileRule removes a rule.
func (s *Store) DeleteProfileRule(ctx context.Context, actor Actor, id uuid.UUID) error {
	return s.tx(ctx, &AuditEntry{Actor: actor, Action: "access.profile_rule.delete", EntityType: "access_profile_rule",
		EntityID: id.String()}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM access_profile_rules WHERE id = $1`, id)
		if err == nil && tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return err
	})
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
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	rows, _ := tx.Query(ctx, `SELECT `+ruleCols+` FROM access_profile_rules`)
	rules, err := pgx.CollectRows(rows, pgx.RowToStructByPos[domain.ProfileRule])
	if err != nil {
		return nil, err
	}
	rows, _ = tx.Query(ctx, `SELECT supplier_id, acs_company_id FROM access_company_map`)
	companyMap, err := pgx.CollectRows(rows, pgx.RowToStructByPos[CompanyMapping])
	if err != nil {
		return nil, err
	}
	companies := map[uuid.UUID]string{}
	var ownCompany string
	for _, m := range companyMap {
		if m.SupplierID == nil {
			ownCompany = m.ACSCompanyID
		} else {
			companies[*m.SupplierID] = m.ACSCompanyID
		}
	}
	rows, _ = tx.Query(ctx, `SELECT location_id, acs_location_id FROM access_location_map`)
	locationMap, err := pgx.CollectRows(rows, pgx.RowToStructByPos[LocationMapping])
	if err != nil {
		return nil, err
	}
	locations := map[uuid.UUID]string{}
	for _, m := range locationMap {
		locations[m.LocationID] = m.ACSLocationID
	}

	scope := `SELECT p.id FROM persons p WHERE EXISTS (SELECT 1 FROM access_links l WHERE l.person_id = p.id)
		OR EXISTS (SELECT 1 FROM access_grants g WHERE g.person_id = p.id AND g.status IN ('scheduled', 'active') AND g.ends_at > $1)
		OR ($2 AND EXISTS (SELECT 1 FROM clearances c WHERE c.person_id = p.id AND c.status = 'active'))`
	args := []any{now, len(rules) > 0}
	if ids != nil {
		scope, args = `SELECT unnest($1::uuid[]) AS id`, []any{ids}
	}
	type row struct {
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
	rows, _ = tx.Query(ctx, `WITH scope AS (`+scope+`)
		SELECT p.id, p.first_name, p.last_name, p.email, coalesce(p.employee_number, ''), p.supplier_id, p.location_id,
			p.active, l.acs_user_id, l.person_id IS NOT NULL, coalesce(l.pushed, '{}'), l.created_at, l.last_event_at,
			(SELECT max(g.created_at) FROM access_grants g WHERE g.person_id = p.id)
		FROM persons p JOIN scope ON scope.id = p.id LEFT JOIN access_links l ON l.person_id = p.id
		ORDER BY p.id`, args...)
	persons, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return nil, err
	}
	inScope := make([]uuid.UUID, len(persons))
	for i, p := range persons {
		inScope[i] = p.ID
	}

	today := now.UTC().Format(time.DateOnly)
	held := map[uuid.UUID][]domain.Level{}
	rows, _ = tx.Query(ctx, `SELECT person_id, level FROM clearances WHERE status = 'active' AND person_id = ANY($1)
		AND valid_from <= $2::date AND valid_to >= $2::date`, inScope, today)
	var pid uuid.UUID
	var lvl domain.Level
	if _, err := pgx.ForEachRow(rows, []any{&pid, &lvl}, func() error {
		held[pid] = append(held[pid], lvl)
		return nil
	}); err != nil {
		return nil, err
	}
	holds := func(p uuid.UUID, min domain.Level) bool {
		for _, l := range held[p] {
			if l.AtLeast(min) {
				return true
			}
		}
		return false
	}

	levels := map[uuid.UUID][]access.Assignment{}
	rows, _ = tx.Query(ctx, `SELECT g.person_id, g.level_id, g.starts_at, g.ends_at, lv.required_level
		FROM access_grants g JOIN access_levels lv ON lv.id = g.level_id
		WHERE g.person_id = ANY($1) AND g.status IN ('scheduled', 'active') AND lv.present
		AND g.starts_at <= $2 AND g.ends_at > $2`, inScope, now)
	var a access.Assignment
	var required *domain.Level
	if _, err := pgx.ForEachRow(rows, []any{&pid, &a.LevelID, &a.From, &a.To, &required}, func() error {
		if required != nil && holds(pid, *required) {
			levels[pid] = append(levels[pid], a)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	out := make([]access.Desired, 0, len(persons))
	for _, p := range persons {
		d := access.Desired{PersonID: p.ID, Present: true}
		if p.LinkUser != nil {
			d.LinkedUserID = *p.LinkUser
		}
		_ = json.Unmarshal(p.Pushed, &d.Pushed)
		var profiles []string
		for _, r := range rules {
			if ruleMatches(r, p.SupplierID, p.LocationID, holds, p.ID) {
				profiles = append(profiles, r.ACSProfileID)
			}
		}
		approved := p.Active && (len(levels[p.ID]) > 0 || len(profiles) > 0)
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
			FirstName: p.First, LastName: p.Last, Email: p.Email, Active: approved, CompanyID: ownCompany}
		if p.SupplierID != nil {
			d.User.CompanyID = companies[*p.SupplierID]
		}
		if p.LocationID != nil {
			d.User.LocationID = locations[*p.LocationID]
		}
		if approved {
			d.User.Access = access.Access{Levels: levels[p.ID], Profiles: profiles}
		}
		d.User.Access = access.Normalise(d.User.Access)
		out = append(out, d)
	}
	return out, tx.Commit(ctx)
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
	return classify(s.tx(ctx, nil, func(tx pgx.Tx) error {
		// The record was found by the person's key: another person still linked to its id (an ACS restored
		// or renumbered) loses that link, and finds their own record by their key.
		if _, err := tx.Exec(ctx, `UPDATE access_links SET acs_user_id = NULL, updated_at = now()
			WHERE acs_user_id = $2 AND person_id <> $1`, personID, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO access_links (person_id, acs_user_id, state, pushed, synced_at)
			VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (person_id) DO UPDATE SET acs_user_id = excluded.acs_user_id, state = excluded.state,
			pushed = excluded.pushed, synced_at = now(), updated_at = now()`, personID, userID, state, b)
		return err
	}))
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

// ---- grants

const grantCols = `id, person_id, level_id, starts_at, ends_at, time_zone, status, reason, end_reason, requested_by,
	created_at, updated_at`

// ErrNotEligible: the person does not hold the clearance the level demands, or the level has no policy.
var ErrNotEligible = errors.New("not eligible")

// Eligibility says whether the person may hold the level at now, and until when the clearance it rests on
// is valid (the last valid day's end, UTC).
type Eligibility struct {
	Eligible   bool      `json:"eligible"`
	Reason     string    `json:"reason,omitempty"`
	ValidUntil time.Time `json:"validUntil"`
}

// GrantEligibility checks a person against a level's policy at now.
func (s *Store) GrantEligibility(ctx context.Context, personID uuid.UUID, levelID string, now time.Time) (Eligibility, error) {
	l, err := s.AccessLevel(ctx, levelID)
	if err != nil {
		return Eligibility{}, err
	}
	switch {
	case !l.Present:
		return Eligibility{Reason: "the level is gone from the access control system"}, nil
	case l.RequiredLevel == nil:
		return Eligibility{Reason: "the level has no clearance policy yet"}, nil
	}
	var validTo *time.Time
	var active bool
	err = s.pool.QueryRow(ctx, `SELECT p.active, (SELECT max(c.valid_to)::timestamptz FROM clearances c WHERE c.person_id = p.id
		AND c.status = 'active' AND c.valid_from <= $3::date AND c.valid_to >= $3::date
		AND array_position($4::text[], c.level) >= array_position($4::text[], $2))
		FROM persons p WHERE p.id = $1`, personID, *l.RequiredLevel, now.UTC().Format(time.DateOnly),
		levelNames()).Scan(&active, &validTo)
	switch {
	case err != nil:
		return Eligibility{}, classify(err)
	case !active:
		return Eligibility{Reason: "the person is inactive"}, nil
	case validTo == nil:
		return Eligibility{Reason: "the person holds no valid " + string(*l.RequiredLevel) + " clearance or above"}, nil
	}
	return Eligibility{Eligible: true, ValidUntil: validTo.UTC().AddDate(0, 0, 1)}, nil
}

func levelNames() []string {
	out := make([]string, len(domain.Levels))
	for i, l := range domain.Levels {
		out[i] = string(l)
	}
	return out
}

// CreateGrant records a requested grant, scheduled; it is idempotent on the grant's id. A person not
// eligible at the grant's start is ErrNotEligible, and nothing is written.
func (s *Store) CreateGrant(ctx context.Context, g domain.AccessGrant) (domain.AccessGrant, error) {
	var out domain.AccessGrant
	err := s.tx(ctx, &AuditEntry{Actor: g.RequestedBy, Action: "access.grant.request", EntityType: "person",
		EntityID: g.PersonID.String(), Detail: map[string]any{"grantId": g.ID, "levelId": g.LevelID,
			"startsAt": g.StartsAt, "endsAt": g.EndsAt}, DedupKey: "grant-request/" + g.ID}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO access_grants (id, person_id, level_id, starts_at, ends_at, time_zone, status,
			reason, requested_by) VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8)
			ON CONFLICT (id) DO UPDATE SET id = excluded.id RETURNING `+grantCols,
			g.ID, g.PersonID, g.LevelID, g.StartsAt, g.EndsAt, g.TimeZone, g.Reason, g.RequestedBy)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessGrant])
		return err
	})
	return out, err
}

// Grant is one grant.
func (s *Store) Grant(ctx context.Context, id string) (domain.AccessGrant, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+grantCols+` FROM access_grants WHERE id = $1`, id)
	g, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessGrant])
	return g, classify(err)
}

// PersonGrants lists a person's grants, newest start first.
func (s *Store) PersonGrants(ctx context.Context, personID uuid.UUID) ([]domain.AccessGrant, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+grantCols+` FROM access_grants WHERE person_id = $1 ORDER BY starts_at DESC, id`, personID)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.AccessGrant])
}

// OpenGrantIDs lists the ids of a person's scheduled and active grants.
func (s *Store) OpenGrantIDs(ctx context.Context, personID uuid.UUID) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM access_grants WHERE person_id = $1 AND status IN ('scheduled', 'active') ORDER BY id`, personID)
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetGrantStatus moves a grant on. A grant already final stays as it is (a repeat, or a race with a
// revoke), and the stored grant is returned.
func (s *Store) SetGrantStatus(ctx context.Context, actor Actor, id string, status domain.GrantStatus, reason string) (domain.AccessGrant, error) {
	var out domain.AccessGrant
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE access_grants SET status = $2, end_reason = CASE WHEN $2 = 'active' THEN end_reason ELSE $3 END,
			updated_at = now() WHERE id = $1 AND status IN ('scheduled', 'active') AND status <> $2 RETURNING `+grantCols, id, status, reason)
		g, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessGrant])
		if errors.Is(err, pgx.ErrNoRows) {
			rows, _ = tx.Query(ctx, `SELECT `+grantCols+` FROM access_grants WHERE id = $1`, id)
			out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessGrant])
			return err
		}
		if err != nil {
			return err
		}
		out = g
		return writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "access.grant." + string(status), EntityType: "person",
			EntityID: g.PersonID.String(), Detail: map[string]any{"grantId": id, "levelId": g.LevelID, "reason": reason}})
	})
	return out, err
}

// ---- events

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

// ---- journal, syncs and findings

// JournalOp records an operation's state; the same operation id is one row however often it is attempted.
func (s *Store) JournalOp(ctx context.Context, op access.Op, syncID string, status, errText string) error {
	errText = domain.SanitizeText(errText, domain.TextFree, 0) // the ACS's answer may be quoted in it
	detail, _ := json.Marshal(map[string]any{"desired": op.Desired.Access, "active": op.Desired.Active})
	var sync *string
	if syncID != "" {
		sync = &syncID
	}
	attempt := 0
	if status == "pending" {
		attempt = 1
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO access_operations (id, kind, person_id, acs_user_id, sync_id, status, attempts, error, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = access_operations.attempts + $7,
		error = excluded.error, acs_user_id = coalesce(nullif(excluded.acs_user_id, ''), access_operations.acs_user_id),
		updated_at = now()`,
		op.ID, op.Kind, op.PersonID, op.UserID, sync, status, attempt, errText, detail)
	return err
}

// CloseInterrupted marks a person's operations still pending as interrupted: called under the person's
// lock, before re-planning, they are left from a worker that died mid-change, and the new plan decides
// what is still needed.
func (s *Store) CloseInterrupted(ctx context.Context, personID uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `UPDATE access_operations SET status = 'failed', updated_at = now(),
		error = 'interrupted before its answer was recorded; the person was planned again'
		WHERE person_id = $1 AND status = 'pending'`, personID)
	return err
}

// AccessOperations lists the journal, newest first: a person's (personID non-nil), or the failed ones.
func (s *Store) AccessOperations(ctx context.Context, personID *uuid.UUID, failedOnly bool, p Page) ([]domain.AccessOperation, int, error) {
	var f filter
	if personID != nil {
		f.add("person_id = %s", *personID)
	}
	if failedOnly {
		f.add("status = %s", "failed")
	}
	return page(ctx, s, "access_operations", `id, kind, person_id, acs_user_id, sync_id, status, attempts, error, created_at, updated_at`,
		&f, "updated_at DESC, id", p, pgx.RowToStructByPos[domain.AccessOperation])
}

// AccessOperation is one journalled operation.
func (s *Store) AccessOperation(ctx context.Context, id string) (domain.AccessOperation, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, kind, person_id, acs_user_id, sync_id, status, attempts, error, created_at, updated_at
		FROM access_operations WHERE id = $1`, id)
	o, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessOperation])
	return o, classify(err)
}

// AuditAccessOp writes the audit entry of an applied operation, once per operation.
func (s *Store) AuditAccessOp(ctx context.Context, system string, op access.Op, userID string) error {
	return s.tx(ctx, &AuditEntry{Action: "access." + string(op.Kind), EntityType: "person", EntityID: op.PersonID.String(),
		Detail: map[string]any{"system": system, "acsUserId": userID, "operationId": op.ID, "active": op.Desired.Active,
			"levels": len(op.Desired.Levels), "profiles": len(op.Desired.Profiles)},
		DedupKey: "access-op/" + op.ID}, func(pgx.Tx) error { return nil })
}

const syncCols = `id, trigger, status, total, done, errors, result, started_at, finished_at`

// StartSync records a sync as running; starting one that exists (a retried activity) keeps it.
func (s *Store) StartSync(ctx context.Context, id, trigger string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO access_syncs (id, trigger, status) VALUES ($1, $2, 'running')
		ON CONFLICT (id) DO UPDATE SET status = 'running', finished_at = NULL`, id, trigger)
	return err
}

// SyncProgress records how far a running sync is.
func (s *Store) SyncProgress(ctx context.Context, id string, total, done, errs int) error {
	_, err := s.pool.Exec(ctx, `UPDATE access_syncs SET total = $2, done = $3, errors = $4 WHERE id = $1`, id, total, done, errs)
	return err
}

// FinishSync records a sync's result.
func (s *Store) FinishSync(ctx context.Context, id, status string, result any) error {
	b, err := json.Marshal(result)
	if err != nil {
		return err
	}
	return s.tx(ctx, &AuditEntry{Action: "access.sync." + status, EntityType: "access_sync", EntityID: id,
		Detail: map[string]any{"result": json.RawMessage(b)}, DedupKey: "access-sync/" + id}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE access_syncs SET status = $2, result = $3, finished_at = now() WHERE id = $1`, id, status, b)
		return err
	})
}

// AccessSync is one sync.
func (s *Store) AccessSync(ctx context.Context, id string) (domain.AccessSync, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+syncCols+` FROM access_syncs WHERE id = $1`, id)
	sy, err := pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessSync])
	return sy, classify(err)
}

// AccessSyncs lists syncs, newest first.
func (s *Store) AccessSyncs(ctx context.Context, p Page) ([]domain.AccessSync, int, error) {
	return page(ctx, s, "access_syncs", syncCols, &filter{}, "started_at DESC, id", p, pgx.RowToStructByPos[domain.AccessSync])
}

// RecordFindings stores findings not recorded before, each with its audit entry, and returns the new ones.
func (s *Store) RecordFindings(ctx context.Context, fs []access.Finding) ([]access.Finding, error) {
	var added []access.Finding
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		for _, f := range fs {
			f.UserID = providerLine(f.UserID)
			if f.Detail != nil {
				f.Detail = providerJSON(f.Detail).(map[string]any)
			}
			detail, err := json.Marshal(orEmpty(f.Detail))
			if err != nil {
				return err
			}
			var person *uuid.UUID
			if f.PersonID != uuid.Nil {
				person = &f.PersonID
			}
			tag, err := tx.Exec(ctx, `INSERT INTO access_findings (id, kind, person_id, acs_user_id, detail, action)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`, f.ID, f.Kind, person, f.UserID, detail, f.Action)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			added = append(added, f)
			entity, id := "access_level", f.UserID
			if person != nil {
				entity, id = "person", person.String()
			}
			if err := writeAudit(ctx, tx, AuditEntry{Action: "access.finding." + string(f.Kind), EntityType: entity,
				EntityID: id, Detail: map[string]any{"findingId": f.ID, "acsUserId": f.UserID, "action": f.Action,
					"detail": f.Detail}}); err != nil {
				return err
			}
		}
		return nil
	})
	return added, err
}

const findingCols = `id, kind, person_id, acs_user_id, detail, action, found_at, resolved_at, resolved_by`

// AccessFindings lists findings, newest first: a person's, or the unresolved ones of everybody.
func (s *Store) AccessFindings(ctx context.Context, personID *uuid.UUID, p Page) ([]domain.AccessFinding, int, error) {
	var f filter
	if personID != nil {
		f.add("person_id = %s", *personID)
	} else {
		f.add("resolved_at IS NULL")
	}
	return page(ctx, s, "access_findings", findingCols, &f, "found_at DESC, id", p, pgx.RowToStructByPos[domain.AccessFinding])
}

// ResolveFinding marks a finding resolved; resolving a duplicate names the record SignetAssure governs
// from now on (keepUserID).
func (s *Store) ResolveFinding(ctx context.Context, actor Actor, id, keepUserID, note string) (domain.AccessFinding, error) {
	var out domain.AccessFinding
	err := s.tx(ctx, &AuditEntry{Actor: actor, Action: "access.finding.resolve", EntityType: "access_finding", EntityID: id,
		Detail: map[string]any{"keepUserId": keepUserID, "note": len(note) > 0}}, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE access_findings SET resolved_at = coalesce(resolved_at, now()), resolved_by = coalesce(resolved_by, $2)
			WHERE id = $1 RETURNING `+findingCols, id, (*uuid.UUID)(actor))
		var err error
		if out, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[domain.AccessFinding]); err != nil {
			return err
		}
		if keepUserID != "" && out.PersonID != nil {
			_, err = tx.Exec(ctx, `INSERT INTO access_links (person_id, acs_user_id, state) VALUES ($1, $2, 'active')
				ON CONFLICT (person_id) DO UPDATE SET acs_user_id = excluded.acs_user_id, updated_at = now()`, *out.PersonID, keepUserID)
		}
		return err
	})
	return out, err
}

// ---- clearances the access side listens to

// ExpireClearances marks active clearances whose last valid day is before today expired, and returns the
// persons affected.
func (s *Store) ExpireClearances(ctx context.Context, today domain.Date) ([]uuid.UUID, error) {
	var persons []uuid.UUID
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE clearances SET status = 'expired', updated_at = now()
			WHERE status = 'active' AND valid_to < $1 RETURNING id, person_id, level`, today)
		var id, person uuid.UUID
		var level string
		_, err := pgx.ForEachRow(rows, []any{&id, &person, &level}, func() error {
			persons = append(persons, person)
			return writeAudit(ctx, tx, AuditEntry{Action: "clearance.expire", EntityType: "person", EntityID: person.String(),
				Detail: map[string]any{"clearanceId": id, "level": level}})
		})
		return err
	})
	return persons, err
}

// SetClearanceStatus suspends, revokes or reinstates (active) a clearance. Only an active clearance can be
// suspended or revoked, and only a suspended one reinstated.
func (s *Store) SetClearanceStatus(ctx context.Context, actor Actor, id uuid.UUID, status, reason string) (domain.Clearance, error) {
	from := "active"
	if status == "active" {
		from = "suspended"
	}
	var out domain.Clearance
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE clearances SET status = $2, updated_at = now() WHERE id = $1 AND status = $3
			RETURNING `+clearanceCols, id, status, from)
		var err error
		out, err = pgx.CollectExactlyOneRow(rows, scanClearance)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT true FROM clearances WHERE id = $1`, id).Scan(&exists); err != nil {
				return err
			}
			return ErrWrongState
		}
		if err != nil {
			return err
		}
		return writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "clearance." + status, EntityType: "person",
			EntityID: out.PersonID.String(), Detail: map[string]any{"clearanceId": id, "level": out.Level, "reason": reason}})
	})
	return out, err
}

// RevokeClearancesAt revokes a person's active or suspended clearance at level, because the check of
// caseRef was refused. It returns how many were revoked.
func (s *Store) RevokeClearancesAt(ctx context.Context, personID uuid.UUID, level domain.Level, caseRef string) (int, error) {
	var n int
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE clearances SET status = 'revoked', updated_at = now()
			WHERE person_id = $1 AND level = $2 AND status IN ('active', 'suspended') RETURNING id`, personID, level)
		ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		if err != nil {
			return err
		}
		n = len(ids)
		for _, id := range ids {
			if err := writeAudit(ctx, tx, AuditEntry{Action: "clearance.revoked", EntityType: "person", EntityID: personID.String(),
				Detail: map[string]any{"clearanceId": id, "level": level, "refusedCaseRef": caseRef}}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// ErrWrongState: the record is not in a state that allows the change.
var ErrWrongState = errors.New("not in a state that allows this change")

// Clearance is one clearance.
func (s *Store) Clearance(ctx context.Context, id uuid.UUID) (domain.Clearance, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+clearanceCols+` FROM clearances WHERE id = $1`, id)
	c, err := pgx.CollectExactlyOneRow(rows, scanClearance)
	return c, classify(err)
}
