package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

const clearanceCols = `id, person_id, level, valid_from, valid_to, status, source_case_ref, issuing_authority,
	with_advisory, superseded_by, created_at, updated_at`

func scanClearance(r pgx.CollectableRow) (domain.Clearance, error) {
	var c domain.Clearance
	err := r.Scan(&c.ID, &c.PersonID, &c.Level, &c.ValidFrom, &c.ValidTo, &c.Status, &c.SourceCaseRef,
		&c.IssuingAuthority, &c.WithAdvisory, &c.SupersededBy, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

// clearanceNamespace makes a clearance's id from the case that granted it, so recording it twice is the same write.
var clearanceNamespace = uuid.MustParse("3d7c0a53-3c52-4d0e-9a55-6b7e58a2f1c1")

// ClearanceIDForCase is the id the clearance granted by caseRef has.
func ClearanceIDForCase(caseRef string) uuid.UUID {
	return uuid.NewSHA1(clearanceNamespace, []byte(caseRef))
}

// RecordClearance puts the clearance granted by a case on the person's record, superseding the person's
// current clearance of that level. It is idempotent on the source case: a repeat returns the stored
// clearance and changes nothing.
func (s *Store) RecordClearance(ctx context.Context, actor Actor, c domain.Clearance) (domain.Clearance, error) {
	if c.SourceCaseRef != nil {
		c.ID = ClearanceIDForCase(*c.SourceCaseRef)
	} else {
		c.ID = uuid.New()
	}
	var stored domain.Clearance
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// Lock the person so two decisions at one level cannot both become current, and before looking for
		// the stored clearance, so a repeat running at the same time waits and then finds it.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM persons WHERE id = $1 FOR UPDATE`, c.PersonID); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+clearanceCols+` FROM clearances WHERE id = $1`, c.ID)
		existing, err := pgx.CollectExactlyOneRow(rows, scanClearance)
		if err == nil {
			stored = existing
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE clearances SET status = 'superseded', superseded_by = $3, updated_at = now()
			WHERE person_id = $1 AND level = $2 AND status = 'active'`, c.PersonID, c.Level, c.ID)
		if err != nil {
			return err
		}
		rows, _ = tx.Query(ctx, `INSERT INTO clearances (id, person_id, level, valid_from, valid_to, status,
			source_case_ref, issuing_authority, with_advisory) VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $8)
			RETURNING `+clearanceCols, c.ID, c.PersonID, c.Level, c.ValidFrom, c.ValidTo, c.SourceCaseRef,
			c.IssuingAuthority, c.WithAdvisory)
		if stored, err = pgx.CollectExactlyOneRow(rows, scanClearance); err != nil {
			return err
		}
		return writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "clearance.record", EntityType: "person",
			EntityID: c.PersonID.String(), Detail: map[string]any{"clearanceId": c.ID, "level": c.Level,
				"sourceCaseRef": c.SourceCaseRef, "superseded": tag.RowsAffected()}})
	})
	return stored, classify(err)
}

// PersonClearances is a person's clearance history, newest first.
func (s *Store) PersonClearances(ctx context.Context, personID uuid.UUID) ([]domain.Clearance, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+clearanceCols+` FROM clearances WHERE person_id = $1
		ORDER BY created_at DESC, id`, personID)
	return pgx.CollectRows(rows, scanClearance)
}

// ClearanceFilter narrows the clearance register.
type ClearanceFilter struct {
	Level          domain.Level
	Statuses       []domain.ClearanceStatus
	ExpiringBefore *domain.Date
	// SupplierID keeps the clearances of the supplier's persons.
	SupplierID *uuid.UUID
	Reach      *Reach
	Page
}

// ClearanceRegister lists clearances soonest expiring first, with the total that match.
func (s *Store) ClearanceRegister(ctx context.Context, f ClearanceFilter) ([]domain.Clearance, int, error) {
	var w filter
	f.Reach.limit(&w, "person_id")
	if f.Level != "" {
		w.add("level = %s", f.Level)
	}
	if len(f.Statuses) > 0 {
		w.add("status = ANY (%s)", f.Statuses)
	}
	if f.ExpiringBefore != nil {
		w.add("valid_to < %s", *f.ExpiringBefore)
	}
	if f.SupplierID != nil {
		w.add("person_id IN (SELECT id FROM persons WHERE supplier_id = %s)", *f.SupplierID)
	}
	return page(ctx, s, "clearances", clearanceCols, &w, "valid_to, id", f.Page, scanClearance)
}

// ---- clearances the access side listens to

// ClearanceExpiring records that an active clearance entered a renewal reminder window, days (the policy's
// offset) before its expiry, daysLeft from today: an audit entry whose lifecycle event is
// clearance.expiring. A repeat for the same offset, or a clearance no longer active, records nothing.
func (s *Store) ClearanceExpiring(ctx context.Context, id uuid.UUID, days, daysLeft int) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		var person uuid.UUID
		var level string
		var validTo domain.Date
		err := tx.QueryRow(ctx, `SELECT person_id, level, valid_to FROM clearances WHERE id = $1 AND status = 'active'`,
			id).Scan(&person, &level, &validTo)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		} else if err != nil {
			return err
		}
		return writeAudit(ctx, tx, AuditEntry{Action: "clearance.expiring", EntityType: "person", EntityID: person.String(),
			DedupKey: fmt.Sprintf("clearance/%s/expiring/%d", id, days),
			Detail:   map[string]any{"clearanceId": id, "level": level, "validTo": validTo, "daysLeft": daysLeft}})
	})
}

// ExpireClearances marks active clearances whose last valid day is before today expired, and returns the
// persons affected.
func (s *Store) ExpireClearances(ctx context.Context, today domain.Date) ([]uuid.UUID, error) {
	var persons []uuid.UUID
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE clearances SET status = 'expired', updated_at = now()
			WHERE status = 'active' AND valid_to < $1 RETURNING id, person_id, level`, today)
		type expired struct {
			id, person uuid.UUID
			level      string
		}
		var id, person uuid.UUID
		var level string
		var all []expired
		// Read them all first: the connection runs no other statement while rows are open.
		if _, err := pgx.ForEachRow(rows, []any{&id, &person, &level}, func() error {
			all = append(all, expired{id, person, level})
			return nil
		}); err != nil {
			return err
		}
		for _, x := range all {
			persons = append(persons, x.person)
			if err := writeAudit(ctx, tx, AuditEntry{Action: "clearance.expire", EntityType: "person",
				EntityID: x.person.String(), Detail: map[string]any{"clearanceId": x.id, "level": x.level}}); err != nil {
				return err
			}
		}
		return nil
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
