package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// AuditFilter picks audit entries to browse: every field set must match.
type AuditFilter struct {
	ActionPrefix string     // the action starts with this ("person." or "person.create")
	EntityType   string     // exactly
	EntityID     string     // exactly
	ActorID      *uuid.UUID // the staff user who acted
	From, To     *domain.Date
	Page         Page
}

// AuditListItem is an audit entry as the audit log screen lists it: who acted by name, and its leaf in
// the audit log's Merkle tree once the sequencer has reached it.
type AuditListItem struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    *uuid.UUID     `json:"actorId"`
	ActorName  string         `json:"actorName" description:"the staff user's display name; empty for the system"`
	Action     string         `json:"action"`
	EntityType string         `json:"entityType"`
	EntityID   string         `json:"entityId"`
	Detail     map[string]any `json:"detail"`
	LeafIndex  *int64         `json:"leafIndex" description:"its leaf in the audit tree; null while it waits for the sequencer"`
}

// AuditEntries lists the audit entries that match f, newest first, with the total that match.
func (s *Store) AuditEntries(ctx context.Context, f AuditFilter) ([]AuditListItem, int, error) {
	var w filter
	if f.ActionPrefix != "" {
		w.add("starts_with(a.action, %s)", f.ActionPrefix)
	}
	if f.EntityType != "" {
		w.add("a.entity_type = %s", f.EntityType)
	}
	if f.EntityID != "" {
		w.add("a.entity_id = %s", f.EntityID)
	}
	if f.ActorID != nil {
		w.add("a.actor_id = %s", *f.ActorID)
	}
	if f.From != nil {
		w.add("a.at >= %s", f.From.Time())
	}
	if f.To != nil {
		w.add("a.at < %s", f.To.AddDays(1).Time()) // the day named is included
	}
	return page(ctx, s, `audit_log a LEFT JOIN staff_users u ON u.id = a.actor_id LEFT JOIN audit_leaves l ON l.entry_id = a.id`,
		`a.id, a.at, a.actor_id, coalesce(u.display_name, ''), a.action, a.entity_type, a.entity_id, a.detail, l.leaf_index`,
		&w, "a.id DESC", f.Page, func(r pgx.CollectableRow) (AuditListItem, error) {
			var a AuditListItem
			err := r.Scan(&a.ID, &a.At, &a.ActorID, &a.ActorName, &a.Action, &a.EntityType, &a.EntityID, &a.Detail, &a.LeafIndex)
			a.At = a.At.UTC()
			if a.Detail == nil {
				a.Detail = map[string]any{}
			}
			return a, err
		})
}

// AuditStatus is the audit log's state at a glance, read without verifying it.
type AuditStatus struct {
	TreeSize         int64              `json:"treeSize" description:"entries that are leaves of the audit tree"`
	CheckpointSize   *int64             `json:"checkpointSize" description:"the tree size of the newest signed checkpoint; null when none is signed"`
	CheckpointSigned *time.Time         `json:"checkpointSignedAt" description:"when the newest checkpoint was signed"`
	Pending          int64              `json:"pending" description:"entries waiting for the sequencer to make them leaves"`
	LastVerification *AuditVerification `json:"lastVerification" description:"the newest verification of the whole log; null when none was asked for"`
}

// The audit entry a verification of the audit log leaves: its action, and the entity type and id it is of.
const (
	ActionAuditVerified = "audit.verified"
	AuditLogEntity      = "audit_log"
)

// AuditVerification is the outcome of one verification of the whole audit log, as its audit entry keeps it.
type AuditVerification struct {
	At              time.Time  `json:"at"`
	By              *uuid.UUID `json:"by" description:"who asked for it"`
	ByName          string     `json:"byName"`
	Intact          bool       `json:"intact"`
	TreeSize        int64      `json:"treeSize" description:"leaves verified"`
	TreeCheckpoints int64      `json:"treeCheckpoints" description:"signed checkpoints of the tree verified"`
	Problem         *struct {
		Kind    string `json:"kind"`
		AuditID int64  `json:"auditId,omitempty"`
		Message string `json:"message"`
	} `json:"problem,omitempty" description:"the first thing wrong, when not intact"`
}

// AuditLogStatus reads the tree's size, its newest signed checkpoint and how many entries wait for the
// sequencer, and the outcome of the newest verification: small reads, no verification (AuditVerification does that).
func (s *Store) AuditLogStatus(ctx context.Context) (AuditStatus, error) {
	var st AuditStatus
	err := s.pool.QueryRow(ctx, `SELECT (SELECT size FROM audit_tree WHERE id = 1), (SELECT count(*) FROM audit_pending)`).
		Scan(&st.TreeSize, &st.Pending)
	if err != nil {
		return st, err
	}
	var v AuditVerification
	var detail []byte
	err = s.pool.QueryRow(ctx, `SELECT a.at, a.actor_id, coalesce(u.display_name, ''), a.detail FROM audit_log a
		LEFT JOIN staff_users u ON u.id = a.actor_id WHERE a.entity_type = $1 AND a.entity_id = $1 AND a.action = $2
		ORDER BY a.at DESC, a.id DESC LIMIT 1`, AuditLogEntity, ActionAuditVerified).Scan(&v.At, &v.By, &v.ByName, &detail)
	if err == nil {
		if err = json.Unmarshal(detail, &v); err != nil {
			return st, err
		}
		v.At = v.At.UTC()
		st.LastVerification = &v
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return st, err
	}
	var size int64
	var at time.Time
	err = s.pool.QueryRow(ctx, `SELECT size, signed_at FROM audit_tree_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	at = at.UTC()
	st.CheckpointSize, st.CheckpointSigned = &size, &at
	return st, err
}
