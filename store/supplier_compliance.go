package store

import (
	"context"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// CompliancePerson is one of a supplier's active people as its compliance view shows them.
type CompliancePerson struct {
	PersonID       uuid.UUID             `json:"personId"`
	Name           string                `json:"name"`
	EmployeeNumber string                `json:"employeeNumber"`
	State          domain.ClearanceState `json:"state"`
	Level          *domain.Level         `json:"level" description:"the clearance in force that lasts longest, or else the last one held; null: none"`
	ValidTo        domain.Date           `json:"validTo" description:"that clearance's last day"`
	OpenCaseRef    *string               `json:"openCaseRef" description:"the oldest open vetting case"`
}

// SupplierPeople are the supplier's active persons within reach, by last name, each with their clearance
// state on day today (domain.StateOf).
func (s *Store) SupplierPeople(ctx context.Context, supplierID uuid.UUID, reach *Reach, today domain.Date) ([]CompliancePerson, error) {
	var w filter
	w.add("p.supplier_id = %s", supplierID)
	w.add("p.active")
	reach.limit(&w, "")
	day := "$" + strconv.Itoa(len(w.args)+1)
	rows, _ := s.pool.Query(ctx, `SELECT p.id, p.first_name || ' ' || p.last_name, coalesce(p.employee_number, ''),
			f.level, f.valid_to, h.level, h.valid_to, o.case_ref
		FROM persons p
		LEFT JOIN LATERAL (SELECT level, valid_to FROM clearances c WHERE c.person_id = p.id AND c.status = 'active'
			AND c.valid_to >= `+day+` ORDER BY c.valid_to DESC LIMIT 1) f ON true
		LEFT JOIN LATERAL (SELECT level, valid_to FROM clearances c WHERE c.person_id = p.id
			ORDER BY c.valid_to DESC, c.created_at DESC LIMIT 1) h ON true
		LEFT JOIN LATERAL (SELECT case_ref FROM vetting_cases v WHERE v.person_id = p.id AND v.closed_at IS NULL
			ORDER BY v.opened_at LIMIT 1) o ON true
		WHERE `+w.where()+` ORDER BY lower(p.last_name), lower(p.first_name), p.id`, append(w.args, today)...)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CompliancePerson, error) {
		var cp CompliancePerson
		var inForce, held *domain.Level
		var inForceTo, heldTo domain.Date
		err := r.Scan(&cp.PersonID, &cp.Name, &cp.EmployeeNumber, &inForce, &inForceTo, &held, &heldTo, &cp.OpenCaseRef)
		cp.Level, cp.ValidTo = inForce, inForceTo
		if inForce == nil {
			cp.Level, cp.ValidTo = held, heldTo
		}
		cp.State = domain.StateOf(today, inForceTo, held != nil, cp.OpenCaseRef != nil)
		return cp, err
	})
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

// SetSiteSupplier links a partner site to the supplier it is (nil: to none). An archived supplier is
// refused, naming supplierId.
func (s *Store) SetSiteSupplier(ctx context.Context, actor Actor, siteID uuid.UUID, supplierID *uuid.UUID) (domain.PartnerSite, error) {
	audit := &AuditEntry{Actor: actor, Action: "partner.supplier", EntityType: "partner_site", EntityID: siteID.String(),
		Detail: map[string]any{"supplierId": supplierID}}
	var site domain.PartnerSite
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if err := supplierInUse(ctx, tx, supplierID, "supplierId"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `UPDATE partner_sites SET supplier_id = $2, updated_at = now() WHERE id = $1
			RETURNING `+siteCols, siteID, supplierID)
		var err error
		site, err = pgx.CollectExactlyOneRow(rows, scanSite)
		return err
	})
	return site, err
}
