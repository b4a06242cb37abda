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
