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
