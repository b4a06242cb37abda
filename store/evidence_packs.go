package store

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Evidence pack statuses.
const (
	PackQueued   = "queued"
	PackBuilding = "building"
	PackReady    = "ready"
	PackFailed   = "failed"
)

// PackSubject is what an evidence pack is of: a case (ID its reference), a person or a supplier (ID
// their id), or every record and audit entry of a time range [From, To).
type PackSubject struct {
	Kind string     `json:"kind" enum:"case,person,supplier,range"`
	ID   string     `json:"id,omitempty"`
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

// EvidencePack is an evidence pack's row: what was asked for, by whom, how far its build got, and the
// stored file.
type EvidencePack struct {
	ID            uuid.UUID   `json:"id"`
	Subject       PackSubject `json:"subject"`
	RequestedBy   uuid.UUID   `json:"requestedBy"`
	RequesterRole string      `json:"requesterRole"`
	Status        string      `json:"status" enum:"queued,building,ready,failed"`
	// Records and Entries written so far; Total is the audit entries to write (0 until counted).
	Records int   `json:"records"`
	Entries int64 `json:"entries"`
	Total   int64 `json:"total"`
	// Percent is how far the build is, by audit entries written (100 when ready).
	Percent int `json:"percent"`
	// TreeSize is the signed checkpoint's size every proof is against; Unsequenced the relevant entries
	// not yet in it, left for a later pack.
	TreeSize    *int64     `json:"treeSize,omitempty"`
	Unsequenced int64      `json:"unsequenced"`
	Size        *int64     `json:"size,omitempty"`
	SHA256      string     `json:"sha256,omitempty" description:"hex SHA-256 of the stored (encrypted) file"`
	Error       string     `json:"error,omitempty"`
	LinkSeconds int64      `json:"linkLifetimeSeconds"`
	SingleUse   bool       `json:"singleUse"`
	UsedAt      *time.Time `json:"usedAt,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	StartedAt   *time.Time `json:"startedAt,omitempty"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	// SHA256Bytes is the stored file's digest (for checking it before a download).
	SHA256Bytes []byte `json:"-"`
}

const packColumns = `id, subject_kind, subject_id, range_from, range_to, requested_by, requester_role, status, records,
	entries, total, tree_size, unsequenced, size, sha256, coalesce(error, ''), extract(epoch from link_lifetime)::bigint,
	single_use, used_at, created_at, started_at, finished_at`

func scanPack(r pgx.CollectableRow) (EvidencePack, error) {
	var p EvidencePack
	var sid *string
	err := r.Scan(&p.ID, &p.Subject.Kind, &sid, &p.Subject.From, &p.Subject.To, &p.RequestedBy, &p.RequesterRole,
		&p.Status, &p.Records, &p.Entries, &p.Total, &p.TreeSize, &p.Unsequenced, &p.Size, &p.SHA256Bytes, &p.Error,
		&p.LinkSeconds, &p.SingleUse, &p.UsedAt, &p.CreatedAt, &p.StartedAt, &p.FinishedAt)
	if sid != nil {
		p.Subject.ID = *sid
	}
	if p.SHA256Bytes != nil {
		p.SHA256 = hex.EncodeToString(p.SHA256Bytes)
	}
	switch {
	case p.Status == PackReady:
		p.Percent = 100
	case p.Total > 0:
		p.Percent = int(min(99, p.Entries*100/p.Total))
	}
	return p, err
}

// CreateEvidencePack writes a queued pack's row and its audit entry (evidence.requested), unless a row of
// its id is there (a repeated request): created says which.
func (s *Store) CreateEvidencePack(ctx context.Context, p EvidencePack) (created bool, err error) {
	var sid *string
	if p.Subject.Kind != "range" {
		sid = &p.Subject.ID
	}
	err = s.tx(ctx, nil, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO evidence_packs (id, subject_kind, subject_id, range_from, range_to,
			requested_by, requester_role, link_lifetime, single_use)
			VALUES ($1, $2, $3, $4, $5, $6, $7, make_interval(secs => $8), $9) ON CONFLICT (id) DO NOTHING`,
			p.ID, p.Subject.Kind, sid, p.Subject.From, p.Subject.To, p.RequestedBy, p.RequesterRole, float64(p.LinkSeconds),
			p.SingleUse)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		created = true
		detail := map[string]any{"subjectKind": p.Subject.Kind, "role": p.RequesterRole, "singleUse": p.SingleUse}
		if sid != nil {
			detail["subjectId"] = *sid
		} else {
			detail["from"], detail["to"] = p.Subject.From, p.Subject.To
		}
		return writeAudit(ctx, tx, AuditEntry{Actor: &p.RequestedBy, Action: "evidence.requested", EntityType: "evidence_pack",
			EntityID: p.ID.String(), Detail: detail})
	})
	return created, err
}

// EvidencePack reads a pack's row.
func (s *Store) EvidencePack(ctx context.Context, id uuid.UUID) (EvidencePack, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+packColumns+` FROM evidence_packs WHERE id = $1`, id)
	p, err := pgx.CollectExactlyOneRow(rows, scanPack)
	return p, classify(err)
}

// EvidencePacks lists packs, newest first, with the total.
func (s *Store) EvidencePacks(ctx context.Context, pg Page) ([]EvidencePack, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM evidence_packs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+packColumns+` FROM evidence_packs ORDER BY created_at DESC, id LIMIT $1 OFFSET $2`,
		pg.Limit, pg.Offset)
	ps, err := pgx.CollectRows(rows, scanPack)
	return ps, total, err
}

// EvidencePackBuilding marks a pack's build (re)started: its progress starts again from nothing.
func (s *Store) EvidencePackBuilding(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE evidence_packs SET status = 'building', records = 0, entries = 0, total = 0,
		started_at = coalesce(started_at, now()) WHERE id = $1 AND status IN ('queued', 'building')`, id)
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("evidence pack %s: %w (or no longer building)", id, ErrNotFound)
	}
	return err
}

// EvidencePackProgress records how far a build got.
func (s *Store) EvidencePackProgress(ctx context.Context, id uuid.UUID, records int, entries, total int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE evidence_packs SET records = $2, entries = $3, total = $4
		WHERE id = $1 AND status = 'building'`, id, records, entries, total)
	return err
}

// PackBuilt is a finished build: what it holds and the stored file.
type PackBuilt struct {
	Records           int
	Entries, TreeSize int64
	Unsequenced       int64
	Size              int64
	SHA256            []byte
}

// EvidencePackReady marks a pack built, with its audit entry (evidence.built); a repeat changes nothing.
func (s *Store) EvidencePackReady(ctx context.Context, id uuid.UUID, b PackBuilt) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE evidence_packs SET status = 'ready', records = $2, entries = $3, total = $3,
			tree_size = $4, unsequenced = $5, size = $6, sha256 = $7, finished_at = now()
			WHERE id = $1 AND status = 'building'`, id, b.Records, b.Entries, b.TreeSize, b.Unsequenced, b.Size, b.SHA256)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return writeAudit(ctx, tx, AuditEntry{Action: "evidence.built", EntityType: "evidence_pack", EntityID: id.String(),
			Detail: map[string]any{"records": b.Records, "entries": b.Entries, "treeSize": b.TreeSize,
				"unsequenced": b.Unsequenced, "size": b.Size, "sha256": hex.EncodeToString(b.SHA256)},
			DedupKey: "evidence.built/" + id.String()})
	})
}

// EvidencePackFailed marks a pack failed, with why (words with no personal data).
func (s *Store) EvidencePackFailed(ctx context.Context, id uuid.UUID, why string) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE evidence_packs SET status = 'failed', error = $2, finished_at = now()
			WHERE id = $1 AND status IN ('queued', 'building')`, id, why)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		return writeAudit(ctx, tx, AuditEntry{Action: "evidence.failed", EntityType: "evidence_pack", EntityID: id.String(),
			Detail: map[string]any{"error": why}, DedupKey: "evidence.failed/" + id.String()})
	})
}

// ErrPackUsed: a single-use pack was downloaded already.
var ErrPackUsed = errors.New("the pack's single-use link was used already")

// EvidencePackDownloaded records a download through a link and its audit entry (evidence.downloaded); a
// single-use pack is spent by it, and one spent already is ErrPackUsed.
func (s *Store) EvidencePackDownloaded(ctx context.Context, id uuid.UUID, nonce string, expires time.Time) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		var single bool
		var used *time.Time
		if err := tx.QueryRow(ctx, `SELECT single_use, used_at FROM evidence_packs WHERE id = $1 FOR UPDATE`, id).
			Scan(&single, &used); err != nil {
			return err
		}
		if single && used != nil {
			return ErrPackUsed
		}
		if single {
			if _, err := tx.Exec(ctx, `UPDATE evidence_packs SET used_at = now() WHERE id = $1`, id); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, AuditEntry{Action: "evidence.downloaded", EntityType: "evidence_pack", EntityID: id.String(),
			Detail: map[string]any{"linkNonce": nonce, "linkExpires": expires.UTC()}})
	})
}

// PackSubjectExists reports whether a pack's subject is there: the case, person or supplier (a range
// always is).
func (s *Store) PackSubjectExists(ctx context.Context, sub PackSubject) (bool, error) {
	var q string
	switch sub.Kind {
	case "case":
		q = `SELECT EXISTS (SELECT 1 FROM vetting_cases WHERE case_ref = $1)`
	case "person":
		q = `SELECT EXISTS (SELECT 1 FROM persons WHERE id::text = $1)`
	case "supplier":
		q = `SELECT EXISTS (SELECT 1 FROM suppliers WHERE id::text = $1)`
	default:
		return true, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, q, sub.ID).Scan(&ok)
	return ok, err
}

// PackPersons are the persons a pack's records are of, in id order, a batch at a time after after: the
// person; the case's person; the supplier's persons; for a range, every person whose record, or one of
// whose cases, changed in it.
func (s *Store) PackPersons(ctx context.Context, sub PackSubject, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var rows pgx.Rows
	var err error
	switch sub.Kind {
	case "case":
		rows, err = s.pool.Query(ctx, `SELECT person_id FROM vetting_cases WHERE case_ref = $1 AND person_id > $2`, sub.ID, after)
	case "person":
		rows, err = s.pool.Query(ctx, `SELECT id FROM persons WHERE id::text = $1 AND id > $2`, sub.ID, after)
	case "supplier":
		rows, err = s.pool.Query(ctx, `SELECT id FROM persons WHERE supplier_id::text = $1 AND id > $2 ORDER BY id LIMIT $3`,
			sub.ID, after, limit)
	case "range":
		rows, err = s.pool.Query(ctx, `SELECT id FROM persons p WHERE id > $3 AND (updated_at >= $1 AND updated_at < $2
			OR EXISTS (SELECT 1 FROM vetting_cases c WHERE c.person_id = p.id AND c.updated_at >= $1 AND c.updated_at < $2))
			ORDER BY id LIMIT $4`, sub.From, sub.To, after, limit)
	default:
		return nil, fmt.Errorf("evidence pack subject %q: %w", sub.Kind, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// PackEntities are the audit log's (entity type, entity id) pairs of a person's records: the person,
// their cases, clearances, access grants and messages.
func (s *Store) PackEntities(ctx context.Context, personID uuid.UUID) (types, ids []string, err error) {
	rows, err := s.pool.Query(ctx, `
		SELECT 'person', $1::uuid::text
		UNION ALL SELECT t, case_ref FROM vetting_cases, unnest(ARRAY['vetting_case', 'case']) t WHERE person_id = $1::uuid
		UNION ALL SELECT 'clearance', id::text FROM clearances WHERE person_id = $1::uuid
		UNION ALL SELECT t, id::text FROM access_grants, unnest(ARRAY['access_grant', 'grant']) t WHERE person_id = $1::uuid
		UNION ALL SELECT 'message', id::text FROM messages WHERE person_id = $1::uuid`, personID)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var t, id string
		if err := rows.Scan(&t, &id); err != nil {
			return nil, nil, err
		}
		types, ids = append(types, t), append(ids, id)
	}
	return types, ids, rows.Err()
}

// PackAuditScope says which audit entries a pack holds: those of the entities named (types[i], ids[i]),
// or, for a range, every entry whose time is in [From, To).
type PackAuditScope struct {
	Types, IDs []string
	From, To   *time.Time
}

func (sc PackAuditScope) where() (string, []any) {
	if sc.From != nil {
		return `l.at >= $1 AND l.at < $2`, []any{sc.From, sc.To}
	}
	return `(l.entity_type, l.entity_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, []any{sc.Types, sc.IDs}
}

// PackAuditCounts counts a pack's audit entries: those that are leaves of the tree of size (proved in
// the pack) and those that are not yet (left for a later pack).
func (s *Store) PackAuditCounts(ctx context.Context, sc PackAuditScope, size uint64) (in, later int64, err error) {
	where, args := sc.where()
	err = s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE v.leaf_index < $3), count(*) FILTER (WHERE v.leaf_index IS NULL
		OR v.leaf_index >= $3) FROM audit_log l LEFT JOIN audit_leaves v ON v.entry_id = l.id WHERE `+where,
		append(args, int64(size))...).Scan(&in, &later)
	return in, later, err
}

// PackAuditEntries are the ids of a pack's audit entries that are leaves of the tree of size, in leaf
// order, a batch of at most limit after leaf index afterLeaf (-1 to start).
func (s *Store) PackAuditEntries(ctx context.Context, sc PackAuditScope, size uint64, afterLeaf int64, limit int) (ids, leaves []int64, err error) {
	where, args := sc.where()
	rows, err := s.pool.Query(ctx, `SELECT l.id, v.leaf_index FROM audit_log l JOIN audit_leaves v ON v.entry_id = l.id
		WHERE v.leaf_index < $3 AND v.leaf_index > $4 AND `+where+` ORDER BY v.leaf_index LIMIT $5`,
		append(args, int64(size), afterLeaf, limit)...)
	if err != nil {
		return nil, nil, err
	}
	for rows.Next() {
		var id, leaf int64
		if err := rows.Scan(&id, &leaf); err != nil {
			return nil, nil, err
		}
		ids, leaves = append(ids, id), append(leaves, leaf)
	}
	return ids, leaves, rows.Err()
}

// PackIdentityEvidence lists the identity checks of a case whose evidence is kept (their attempts).
func (s *Store) PackIdentityEvidence(ctx context.Context, caseRef string) ([]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT attempt FROM identity_evidence WHERE case_ref = $1 ORDER BY attempt`, caseRef)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int])
}
