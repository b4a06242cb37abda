package store

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// Access-level grants: time-bounded, each checked against the clearance its level demands.

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

// GrantRow is an access grant with its person's name, its level's name and the site the level opens
// (none when the level's access control location is mapped to no site).
type GrantRow struct {
	domain.AccessGrant
	PersonName   string     `json:"personName"`
	LevelName    string     `json:"levelName"`
	LocationID   *uuid.UUID `json:"locationId" description:"the site the level opens"`
	LocationName string     `json:"locationName"`
}

// GrantFilter narrows the grant list: every field set must match.
type GrantFilter struct {
	PersonID   *uuid.UUID
	SupplierID *uuid.UUID
	Statuses   []domain.GrantStatus
	Reach      *Reach
	Page
}

// Grants lists access grants, newest start first, with the total that match.
func (s *Store) Grants(ctx context.Context, f GrantFilter) ([]GrantRow, int, error) {
	var w filter
	f.Reach.limit(&w, "g.person_id")
	if f.PersonID != nil {
		w.add("g.person_id = %s", *f.PersonID)
	}
	if f.SupplierID != nil {
		w.add("p.supplier_id = %s", *f.SupplierID)
	}
	if len(f.Statuses) > 0 {
		w.add("g.status = ANY (%s)", f.Statuses)
	}
	from := `access_grants g JOIN persons p ON p.id = g.person_id JOIN access_levels l ON l.id = g.level_id
		LEFT JOIN LATERAL (SELECT loc.id, loc.name FROM access_location_map m JOIN locations loc ON loc.id = m.location_id
			WHERE l.acs_location_id <> '' AND m.acs_location_id = l.acs_location_id ORDER BY loc.name LIMIT 1) site ON true`
	cols := `g.id, g.person_id, g.level_id, g.starts_at, g.ends_at, g.time_zone, g.status, g.reason, g.end_reason,
		g.requested_by, g.created_at, g.updated_at, p.first_name || ' ' || p.last_name, l.name, site.id, coalesce(site.name, '')`
	return page(ctx, s, from, cols, &w, "g.starts_at DESC, g.id", f.Page, func(r pgx.CollectableRow) (GrantRow, error) {
		var g GrantRow
		a := &g.AccessGrant
		err := r.Scan(&a.ID, &a.PersonID, &a.LevelID, &a.StartsAt, &a.EndsAt, &a.TimeZone, &a.Status, &a.Reason,
			&a.EndReason, &a.RequestedBy, &a.CreatedAt, &a.UpdatedAt, &g.PersonName, &g.LevelName, &g.LocationID,
			&g.LocationName)
		return g, err
	})
}
