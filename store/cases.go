package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
)

const caseCols = `case_ref, person_id, type, requested_level, status, owner_id, issuing_authority, opened_by,
	opened_at, due_at, info_requested, info_due_at, escalated_at, outcome, outcome_level, valid_from, valid_to,
	closed_at, version, updated_at, delegated_site_id, delegation_due_at, for_site_id, for_case_ref`

// qualifiedCaseCols are caseCols of vetting_cases c.
var qualifiedCaseCols = "c." + strings.Join(strings.Fields(strings.ReplaceAll(caseCols, ",", " ")), ", c.")

func scanCase(r pgx.CollectableRow) (domain.Case, error) {
	var c domain.Case
	err := r.Scan(&c.CaseRef, &c.PersonID, &c.Type, &c.RequestedLevel, &c.Status, &c.OwnerID, &c.IssuingAuthority,
		&c.OpenedBy, &c.OpenedAt, &c.DueAt, &c.InfoRequested, &c.InfoDueAt, &c.EscalatedAt, &c.Outcome,
		&c.OutcomeLevel, &c.ValidFrom, &c.ValidTo, &c.ClosedAt, &c.Version, &c.UpdatedAt, &c.DelegatedSiteID,
		&c.DelegationDueAt, &c.ForSiteID, &c.ForCaseRef)
	return c, err
}

// openCaseKey is the unique index that allows one open case per person, case type and requested level.
const openCaseKey = "vetting_cases_one_open_key"

// CaseOpenError says a case could not be written because the person has another open case of its type at
// its level: CaseRef.
type CaseOpenError struct{ CaseRef string }

func (e *CaseOpenError) Error() string {
	return "the person already has an open case of this type and level: " + e.CaseRef
}

// ApplyCaseEvent writes one timeline event and the case snapshot after it, with its audit entry, in one
// transaction. It is idempotent: a repeat of the same event changes nothing, and a snapshot older than the
// stored one never overwrites it. Only the case workflow calls it. A new case whose person has another
// open case of its type at its level is not written: the error is a *CaseOpenError naming that case.
func (s *Store) ApplyCaseEvent(ctx context.Context, c domain.Case, e domain.CaseEvent) error {
	err := s.applyCaseEvent(ctx, c, e)
	var ce *ConstraintError
	if !errors.As(err, &ce) || ce.Constraint != openCaseKey {
		return err
	}
	ref, found, lookErr := s.OpenCase(ctx, c.PersonID, c.Type, c.RequestedLevel)
	switch {
	case lookErr != nil:
		return lookErr
	case !found || ref == c.CaseRef:
		// The other case closed meanwhile: writing again may succeed.
		return fmt.Errorf("case %s: another open case closed while it was written; try again", c.CaseRef)
	}
	return &CaseOpenError{CaseRef: ref}
}

func (s *Store) applyCaseEvent(ctx context.Context, c domain.Case, e domain.CaseEvent) error {
	audit := &AuditEntry{Actor: e.ActorID, Action: "case." + e.Kind, EntityType: "vetting_case", EntityID: c.CaseRef,
		Detail: map[string]any{"seq": e.Seq, "status": c.Status}, DedupKey: "case/" + c.CaseRef + "/" + strconv.Itoa(e.Seq)}
	return s.tx(ctx, audit, func(tx pgx.Tx) error {
		// The status before, for case.status_changed (none for a new case); the lock keeps it so until the
		// write commits.
		var prev domain.CaseStatus
		err := tx.QueryRow(ctx, `SELECT status FROM vetting_cases WHERE case_ref = $1 AND version < $2 FOR UPDATE`,
			c.CaseRef, c.Version).Scan(&prev)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		audit.Events = events.CaseChange(c, e.Kind, prev)
		_, err = tx.Exec(ctx, `INSERT INTO vetting_cases (`+caseCols+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
				$22, $23, $24)
			ON CONFLICT (case_ref) DO UPDATE SET status = EXCLUDED.status, owner_id = EXCLUDED.owner_id,
				due_at = EXCLUDED.due_at, info_requested = EXCLUDED.info_requested, info_due_at = EXCLUDED.info_due_at,
				escalated_at = EXCLUDED.escalated_at, outcome = EXCLUDED.outcome, outcome_level = EXCLUDED.outcome_level,
				valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, closed_at = EXCLUDED.closed_at,
				version = EXCLUDED.version, updated_at = EXCLUDED.updated_at,
				delegated_site_id = EXCLUDED.delegated_site_id, delegation_due_at = EXCLUDED.delegation_due_at
			WHERE vetting_cases.version < EXCLUDED.version`,
			c.CaseRef, c.PersonID, c.Type, c.RequestedLevel, c.Status, c.OwnerID, c.IssuingAuthority, c.OpenedBy,
			c.OpenedAt, c.DueAt, c.InfoRequested, c.InfoDueAt, c.EscalatedAt, c.Outcome, c.OutcomeLevel, c.ValidFrom,
			c.ValidTo, c.ClosedAt, c.Version, c.UpdatedAt, c.DelegatedSiteID, c.DelegationDueAt, c.ForSiteID, c.ForCaseRef)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO case_events (case_ref, seq, at, kind, actor_id, summary, detail)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_ref, seq) DO NOTHING`,
			c.CaseRef, e.Seq, e.At, e.Kind, e.ActorID, e.Summary, orEmpty(e.Detail))
		return err
	})
}

func (s *Store) Case(ctx context.Context, caseRef string) (domain.Case, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+caseCols+` FROM vetting_cases WHERE case_ref = $1`, caseRef)
	c, err := pgx.CollectExactlyOneRow(rows, scanCase)
	return c, classify(err)
}

// CaseEvents is a case's timeline, oldest first.
func (s *Store) CaseEvents(ctx context.Context, caseRef string) ([]domain.CaseEvent, error) {
	rows, _ := s.pool.Query(ctx, `SELECT e.case_ref, e.seq, e.at, e.kind, e.actor_id, coalesce(u.display_name, ''),
		e.summary, e.detail FROM case_events e LEFT JOIN staff_users u ON u.id = e.actor_id
		WHERE e.case_ref = $1 ORDER BY e.seq`, caseRef)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.CaseEvent, error) {
		var e domain.CaseEvent
		err := r.Scan(&e.CaseRef, &e.Seq, &e.At, &e.Kind, &e.ActorID, &e.ActorName, &e.Summary, &e.Detail)
		return e, err
	})
}

// CaseFilter narrows a case list.
type CaseFilter struct {
	Statuses []domain.CaseStatus
	OwnerID  *uuid.UUID
	PersonID *uuid.UUID
	// SupplierID keeps the cases of the supplier's persons.
	SupplierID *uuid.UUID
	Level      domain.Level
	Type       domain.CaseType
	DueBefore  *time.Time
	Open       *bool
	Reach      *Reach
	// Queue narrows to one work queue (CaseList), Me being the caller; Query matches a person's name, an
	// employee number or a case reference; Sort and Desc order the list.
	Queue CaseQueue
	Me    uuid.UUID
	Query string
	Sort  CaseSort
	Desc  bool
	Page
}

// Cases lists cases as f narrows them, soonest due first, with the total that match (CaseList adds the
// names and other orders).
func (s *Store) Cases(ctx context.Context, f CaseFilter) ([]domain.Case, int, error) {
	return page(ctx, s, queueFrom, qualifiedCaseCols, f.where(time.Now()), "c.due_at, c.case_ref", f.Page, scanCase)
}
