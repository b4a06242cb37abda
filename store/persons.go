package store

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
)

const personCols = `id, first_name, middle_names, last_name, date_of_birth, email, mobile, employee_number,
	supplier_id, location_id, line_manager, address, ni_number, active, preferred_channel, created_at, updated_at`

func scanPerson(r pgx.CollectableRow) (domain.Person, error) {
	var p domain.Person
	err := r.Scan(&p.ID, &p.FirstName, &p.MiddleNames, &p.LastName, &p.DateOfBirth, &p.Email, &p.Mobile,
		&p.EmployeeNumber, &p.SupplierID, &p.LocationID, &p.LineManager, &p.Address, &p.NINumber, &p.Active,
		&p.PreferredChannel, &p.CreatedAt, &p.UpdatedAt)
	return p, err
}

// CreatePerson stores a new person and gives them an id.
func (s *Store) CreatePerson(ctx context.Context, actor Actor, p domain.Person) (domain.Person, error) {
	p.ID = uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "person.create", EntityType: "person", EntityID: p.ID.String()}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if err := supplierInUse(ctx, tx, p.SupplierID, "supplierId"); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `INSERT INTO persons (id, first_name, middle_names, last_name, search_name,
			date_of_birth, email, mobile, employee_number, supplier_id, location_id, line_manager, address,
			ni_number, active, preferred_channel) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
			$14, $15, $16) RETURNING `+personCols,
			p.ID, p.FirstName, p.MiddleNames, p.LastName, domain.FoldName(p.FirstName, p.LastName), p.DateOfBirth,
			p.Email, p.Mobile, p.EmployeeNumber, p.SupplierID, p.LocationID, p.LineManager, p.Address, p.NINumber,
			p.Active, p.PreferredChannel.OrDefault())
		var err error
		p, err = pgx.CollectExactlyOneRow(rows, scanPerson)
		return err
	})
	return p, err
}

func (s *Store) Person(ctx context.Context, id uuid.UUID) (domain.Person, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+personCols+` FROM persons WHERE id = $1`, id)
	p, err := pgx.CollectExactlyOneRow(rows, scanPerson)
	return p, classify(err)
}

// UpdatePerson loads the person, lets change alter them, and writes them back in one transaction.
// changed names the fields altered, for the audit log (names only, never values).
func (s *Store) UpdatePerson(ctx context.Context, actor Actor, id uuid.UUID, changed []string,
	change func(*domain.Person)) (domain.Person, error) {
	var p domain.Person
	audit := &AuditEntry{Actor: actor, Action: "person.update", EntityType: "person", EntityID: id.String(),
		Detail: map[string]any{"fields": changed}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `SELECT `+personCols+` FROM persons WHERE id = $1 FOR UPDATE`, id)
		var err error
		if p, err = pgx.CollectExactlyOneRow(rows, scanPerson); err != nil {
			return err
		}
		wasActive, wasSupplier := p.Active, p.SupplierID
		change(&p)
		// A person stays with an archived supplier, but none joins one.
		if p.SupplierID != nil && (wasSupplier == nil || *wasSupplier != *p.SupplierID) {
			if err := supplierInUse(ctx, tx, p.SupplierID, "supplierId"); err != nil {
				return err
			}
		}
		if wasActive && !p.Active {
			audit.Events = []events.Draft{events.PersonDeactivatedDraft(p.ID)}
		}
		rows, _ = tx.Query(ctx, `UPDATE persons SET first_name = $2, middle_names = $3, last_name = $4,
			search_name = $5, date_of_birth = $6, email = $7, mobile = $8, employee_number = $9, supplier_id = $10,
			location_id = $11, line_manager = $12, address = $13, ni_number = $14, active = $15,
			preferred_channel = $16, updated_at = now() WHERE id = $1 RETURNING `+personCols,
			p.ID, p.FirstName, p.MiddleNames, p.LastName, domain.FoldName(p.FirstName, p.LastName), p.DateOfBirth,
			p.Email, p.Mobile, p.EmployeeNumber, p.SupplierID, p.LocationID, p.LineManager, p.Address, p.NINumber,
			p.Active, p.PreferredChannel.OrDefault())
		p, err = pgx.CollectExactlyOneRow(rows, scanPerson)
		return err
	})
	return p, err
}

// PersonFilter narrows a person list. Query matches names (folded), e-mail or employee number.
type PersonFilter struct {
	Query      string
	SupplierID *uuid.UUID
	// OwnStaff true keeps our own staff (of no supplier), false the suppliers' people.
	OwnStaff   *bool
	LocationID *uuid.UUID
	Active     *bool
	Reach      *Reach
	Page
}

// Persons lists persons by last name, with the total that match.
func (s *Store) Persons(ctx context.Context, f PersonFilter) ([]domain.Person, int, error) {
	var w filter
	if q := strings.TrimSpace(f.Query); q != "" {
		raw := "%" + likeEscape(strings.ToLower(q)) + "%"
		w.add("(search_name LIKE %s OR lower(email) LIKE %s OR lower(employee_number) LIKE %s)",
			"%"+likeEscape(domain.FoldName(q))+"%", raw, raw)
	}
	if f.SupplierID != nil {
		w.add("supplier_id = %s", *f.SupplierID)
	}
	if f.OwnStaff != nil {
		w.add("(supplier_id IS NULL) = %s", *f.OwnStaff)
	}
	if f.LocationID != nil {
		w.add("location_id = %s", *f.LocationID)
	}
	if f.Active != nil {
		w.add("active = %s", *f.Active)
	}
	f.Reach.limit(&w, "")
	return page(ctx, s, "persons", personCols, &w, "lower(last_name), lower(first_name), id", f.Page, scanPerson)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// PersonsByID returns the persons with the given ids (in no particular order); unknown ids are skipped.
func (s *Store) PersonsByID(ctx context.Context, ids []uuid.UUID) ([]domain.Person, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+personCols+` FROM persons WHERE id = ANY ($1)`, ids)
	return pgx.CollectRows(rows, scanPerson)
}
