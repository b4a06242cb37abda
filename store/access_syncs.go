package store

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
)

// The journal of operations on the access control system, syncs and their progress, and findings.

// JournalOp records an operation's state; the same operation id is one row however often it is attempted.
func (s *Store) JournalOp(ctx context.Context, op access.Op, syncID string, status, errText string) error {
	sql, args := journalOps([]access.Op{op}, syncID, status, errText)
	_, err := s.pool.Exec(ctx, sql, args...)
	return err
}

// JournalPending journals operations as pending (about to be attempted), in one statement.
func (s *Store) JournalPending(ctx context.Context, ops []access.Op, syncID string) error {
	if len(ops) == 0 {
		return nil
	}
	sql, args := journalOps(ops, syncID, "pending", "")
	_, err := s.pool.Exec(ctx, sql, args...)
	return err
}

// journalOps is the statement that records operations' state, all of them in one.
func journalOps(ops []access.Op, syncID string, status, errText string) (string, []any) {
	errText = domain.SanitizeText(errText, domain.TextFree, 0) // the ACS's answer may be quoted in it
	var sync *string
	if syncID != "" {
		sync = &syncID
	}
	attempt := 0
	if status == "pending" {
		attempt = 1
	}
	ids, kinds, users, details := make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops)), make([]string, len(ops))
	persons := make([]uuid.UUID, len(ops))
	for i, op := range ops {
		detail, _ := json.Marshal(map[string]any{"desired": op.Desired.Access, "active": op.Desired.Active})
		ids[i], kinds[i], persons[i], users[i], details[i] = op.ID, string(op.Kind), op.PersonID, op.UserID, string(detail)
	}
	return `INSERT INTO access_operations (id, kind, person_id, acs_user_id, sync_id, status, attempts, error, detail)
		SELECT o.id, o.kind, o.person_id, o.acs_user_id, $6::text, $7::text, $8::integer, $9::text, o.detail::jsonb
		FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[]) AS o(id, kind, person_id, acs_user_id, detail)
		ON CONFLICT (id) DO UPDATE SET status = excluded.status, attempts = access_operations.attempts + excluded.attempts,
		error = excluded.error, acs_user_id = coalesce(nullif(excluded.acs_user_id, ''), access_operations.acs_user_id),
		updated_at = now()`,
		[]any{ids, kinds, persons, users, details, sync, status, attempt, errText}
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

// accessOpAudit is the audit entry of an applied operation, once per operation.
func accessOpAudit(system string, op access.Op, userID string) *AuditEntry {
	return &AuditEntry{Action: "access." + string(op.Kind), EntityType: "person", EntityID: op.PersonID.String(),
		Detail: map[string]any{"system": system, "acsUserId": userID, "operationId": op.ID, "active": op.Desired.Active,
			"levels": len(op.Desired.Levels), "profiles": len(op.Desired.Profiles)},
		DedupKey: "access-op/" + op.ID}
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
