package store

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
)

// SiteAuditLog is a partner site's audit log as we know it: its origin, the note verifier key its
// checkpoints are signed with, and whether we witness it (schema/016_partner_witness.sql).
type SiteAuditLog struct {
	Origin      string
	VerifierKey string
	Witness     bool
}

// SetSiteAuditLog sets a partner site's audit log, audited (partner.audit_log.set, with the origin, the
// key and the flag: all public).
func (s *Store) SetSiteAuditLog(ctx context.Context, actor Actor, id uuid.UUID, l SiteAuditLog) (domain.PartnerSite, error) {
	var site domain.PartnerSite
	audit := &AuditEntry{Actor: actor, Action: "partner.audit_log.set", EntityType: "partner_site", EntityID: id.String(),
		Detail: map[string]any{"origin": l.Origin, "verifierKey": l.VerifierKey, "witness": l.Witness}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, `UPDATE partner_sites SET audit_origin = $2, audit_verifier_key = $3, audit_witness = $4,
			updated_at = now() WHERE id = $1 AND status = 'active' RETURNING `+siteCols, id, l.Origin, l.VerifierKey, l.Witness)
		var err error
		site, err = pgx.CollectExactlyOneRow(rows, scanSite)
		if errors.Is(err, pgx.ErrNoRows) {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT true FROM partner_sites WHERE id = $1`, id).Scan(&exists); err != nil {
				return err
			}
			return ErrSiteRevoked
		}
		return err
	})
	return site, err
}

// SetSiteAuditCheck records the result of the last witnessing of a site's audit log (empty when it went well).
func (s *Store) SetSiteAuditCheck(ctx context.Context, id uuid.UUID, problem string) error {
	_, err := s.pool.Exec(ctx, `UPDATE partner_sites SET audit_checked_at = now(), audit_problem = $2 WHERE id = $1`, id, problem)
	return err
}

// WitnessedSites are the active partner sites whose audit logs we witness.
func (s *Store) WitnessedSites(ctx context.Context) ([]domain.PartnerSite, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+siteCols+` FROM partner_sites WHERE status = 'active' AND audit_witness
		ORDER BY created_at, id`)
	return pgx.CollectRows(rows, scanSite)
}

// PartnerCheckpoint is a checkpoint of a partner's audit log we witnessed (FetchedAt unset on one not yet
// stored): what /api/external/audit/witnessed answers.
type PartnerCheckpoint = partners.WitnessedCheckpoint

// NewestPartnerCheckpoint is the newest checkpoint we hold of a site's audit log of origin (ErrNotFound:
// none).
func (s *Store) NewestPartnerCheckpoint(ctx context.Context, siteID uuid.UUID, origin string) (PartnerCheckpoint, error) {
	return newestPartnerCheckpoint(ctx, s.pool, siteID, origin)
}

func newestPartnerCheckpoint(ctx context.Context, db audit.Reader, siteID uuid.UUID, origin string) (PartnerCheckpoint, error) {
	c := PartnerCheckpoint{Origin: origin}
	var size int64
	err := db.QueryRow(ctx, `SELECT size, root, note, fetched_at FROM partner_audit_checkpoints WHERE site_id = $1 AND origin = $2
		ORDER BY size DESC LIMIT 1`, siteID, origin).Scan(&size, &c.Root, &c.Note, &c.FetchedAt)
	c.Size = uint64(size)
	return c, classify(err)
}

// PartnerCheckpoints lists the checkpoints we witnessed of a site's audit log (of any origin), newest
// first, and how many there are.
func (s *Store) PartnerCheckpoints(ctx context.Context, siteID uuid.UUID, p Page) ([]PartnerCheckpoint, int, error) {
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM partner_audit_checkpoints WHERE site_id = $1`, siteID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, _ := s.pool.Query(ctx, `SELECT origin, size, root, note, fetched_at FROM partner_audit_checkpoints WHERE site_id = $1
		ORDER BY fetched_at DESC, size DESC LIMIT $2 OFFSET $3`, siteID, p.Limit, p.Offset)
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PartnerCheckpoint, error) {
		var c PartnerCheckpoint
		var size int64
		err := r.Scan(&c.Origin, &size, &c.Root, &c.Note, &c.FetchedAt)
		c.Size = uint64(size)
		return c, err
	})
	return cps, total, err
}

// ErrWitnessMoved: another witnessing stored a newer checkpoint of the site's log since this one read
// the newest; this one stores nothing (the next run checks against the new one).
var ErrWitnessMoved = errors.New("another witnessing moved the partner's newest checkpoint")

// StorePartnerCheckpoint stores a checkpoint of a site's audit log, checked to extend held (nil: we held
// none). It stores nothing, with ErrWitnessMoved, when the newest we hold is no longer held; storing one
// held already is no change (a retry).
func (s *Store) StorePartnerCheckpoint(ctx context.Context, siteID uuid.UUID, held *PartnerCheckpoint, c PartnerCheckpoint) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM partner_sites WHERE id = $1 FOR UPDATE`, siteID); err != nil {
			return err
		}
		newest, err := newestPartnerCheckpoint(ctx, tx, siteID, c.Origin)
		switch {
		case errors.Is(err, ErrNotFound):
			if held != nil {
				return ErrWitnessMoved
			}
		case err != nil:
			return err
		case newest.Size == c.Size && string(newest.Root) == string(c.Root):
			return nil // a retry
		case held == nil || newest.Size != held.Size:
			return ErrWitnessMoved
		}
		_, err = tx.Exec(ctx, `INSERT INTO partner_audit_checkpoints (site_id, origin, size, root, note) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT DO NOTHING`, siteID, c.Origin, int64(c.Size), c.Root, c.Note)
		return err
	})
}

// RecordPartnerAuditProblem writes the audit entry of a partner checkpoint we refused (once per its
// DedupKey) and the site's witnessing problem, in one transaction.
func (s *Store) RecordPartnerAuditProblem(ctx context.Context, siteID uuid.UUID, problem string, e AuditEntry) error {
	return s.tx(ctx, &e, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE partner_sites SET audit_checked_at = now(), audit_problem = $2 WHERE id = $1`, siteID, problem)
		return err
	})
}

// EntryConcernsSite reports whether audit entry id concerns partner site siteID, so that the site may
// have the proof of its inclusion (its leaf data is the entry, whole). Narrowly: an entry whose entity
// is the site, written by the system (no staff actor, so no staff user's id), that records
//   - a call the site made to our external endpoints (external.*) with a key we issued it; except a
//     lookup that found persons, whose entry names our persons' ids, which a lookup never discloses;
//   - a call we made to the site's endpoints (outbound.*);
//   - a checkpoint of the site's own audit log we refused (partner.audit_fork, _rollback, _invalid).
//
// Staff's administration of the site (keys, credentials, revocation) and everything else is not its
// business.
func (s *Store) EntryConcernsSite(ctx context.Context, id int64, siteID uuid.UUID) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM audit_log WHERE id = $1 AND entity_type = 'partner_site'
		AND entity_id = $2 AND actor_id IS NULL AND (
			(action LIKE 'external.%' AND NOT (action = 'external.lookup' AND coalesce(detail->>'subject', '') <> ''))
			OR action LIKE 'outbound.%'
			OR action IN ('partner.audit_fork', 'partner.audit_rollback', 'partner.audit_invalid')))`,
		id, siteID.String()).Scan(&ok)
	return ok, err
}
