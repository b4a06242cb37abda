package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
)

// The access control system's catalogue as SignetAssure keeps it: its levels with the clearance each
// demands, the mappings of suppliers and sites to its companies and locations, and the profile rules.

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
