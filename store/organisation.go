package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

func (s *Store) Organisation(ctx context.Context) (domain.Organisation, error) {
	var o domain.Organisation
	err := s.pool.QueryRow(ctx, `SELECT name, issuing_authority, time_zone, scope_case_workers, updated_at FROM organisation`).
		Scan(&o.Name, &o.IssuingAuthority, &o.TimeZone, &o.ScopeCaseWorkers, &o.UpdatedAt)
	return o, classify(err)
}

func (s *Store) UpdateOrganisation(ctx context.Context, actor Actor, o domain.Organisation) (domain.Organisation, error) {
	audit := &AuditEntry{Actor: actor, Action: "organisation.update", EntityType: "organisation", EntityID: "1",
		Detail: map[string]any{"scopeCaseWorkers": o.ScopeCaseWorkers}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `UPDATE organisation SET name = $1, issuing_authority = $2, time_zone = $3,
			scope_case_workers = $4, updated_at = now() RETURNING updated_at`, o.Name, o.IssuingAuthority, o.TimeZone,
			o.ScopeCaseWorkers).Scan(&o.UpdatedAt)
	})
	return o, err
}

const locationCols = `id, code, name, time_zone, address, created_at, updated_at`

func scanLocation(r pgx.CollectableRow) (domain.Location, error) {
	var l domain.Location
	err := r.Scan(&l.ID, &l.Code, &l.Name, &l.TimeZone, &l.Address, &l.CreatedAt, &l.UpdatedAt)
	return l, err
}

func (s *Store) CreateLocation(ctx context.Context, actor Actor, l domain.Location) (domain.Location, error) {
	l.ID = uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "location.create", EntityType: "location", EntityID: l.ID.String()}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO locations (id, code, name, time_zone, address) VALUES ($1, $2, $3, $4, $5)
			RETURNING `+locationCols, l.ID, l.Code, l.Name, l.TimeZone, l.Address)
		var err error
		l, err = pgx.CollectExactlyOneRow(rows, scanLocation)
		return err
	})
	return l, err
}

func (s *Store) Location(ctx context.Context, id uuid.UUID) (domain.Location, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+locationCols+` FROM locations WHERE id = $1`, id)
	l, err := pgx.CollectExactlyOneRow(rows, scanLocation)
	return l, classify(err)
}

func (s *Store) Locations(ctx context.Context) ([]domain.Location, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+locationCols+` FROM locations ORDER BY name`)
	return pgx.CollectRows(rows, scanLocation)
}

const supplierCols = `id, name, tier, company_number, contact_email, created_at, updated_at`

func scanSupplier(r pgx.CollectableRow) (domain.Supplier, error) {
	var s domain.Supplier
	err := r.Scan(&s.ID, &s.Name, &s.Tier, &s.CompanyNumber, &s.ContactEmail, &s.CreatedAt, &s.UpdatedAt)
	return s, err
}

func (s *Store) CreateSupplier(ctx context.Context, actor Actor, sp domain.Supplier) (domain.Supplier, error) {
	sp.ID = uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "supplier.create", EntityType: "supplier", EntityID: sp.ID.String()}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `INSERT INTO suppliers (id, name, tier, company_number, contact_email)
			VALUES ($1, $2, $3, $4, $5) RETURNING `+supplierCols, sp.ID, sp.Name, sp.Tier, sp.CompanyNumber, sp.ContactEmail)
		var err error
		sp, err = pgx.CollectExactlyOneRow(rows, scanSupplier)
		return err
	})
	return sp, err
}

func (s *Store) Supplier(ctx context.Context, id uuid.UUID) (domain.Supplier, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+supplierCols+` FROM suppliers WHERE id = $1`, id)
	sp, err := pgx.CollectExactlyOneRow(rows, scanSupplier)
	return sp, classify(err)
}

func (s *Store) Suppliers(ctx context.Context) ([]domain.Supplier, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+supplierCols+` FROM suppliers ORDER BY tier, name`)
	return pgx.CollectRows(rows, scanSupplier)
}
