package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
)

// PersonsByNameAndBirth finds the persons whose folded first and last name and date of birth match.
func (s *Store) PersonsByNameAndBirth(ctx context.Context, first, last string, dob domain.Date) ([]domain.Person, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+personCols+` FROM persons WHERE search_name = $1 AND date_of_birth = $2
		ORDER BY created_at, id`, domain.FoldName(first, last), dob)
	return pgx.CollectRows(rows, scanPerson)
}

// DisclosureBatch is what one partner lookup disclosed, written with the call's audit entry.
type DisclosureBatch struct {
	Disclosures []domain.Disclosure
	Audit       AuditEntry
}

// RecordDisclosures writes disclosures and their audit entry in one transaction: if either cannot be
// written, neither is, and the caller must not disclose.
func (s *Store) RecordDisclosures(ctx context.Context, b DisclosureBatch) error {
	for i := range b.Disclosures {
		if b.Disclosures[i].ID == uuid.Nil {
			b.Disclosures[i].ID = uuid.New()
		}
		b.Audit.Events = append(b.Audit.Events, events.DisclosureDraft(b.Disclosures[i]))
	}
	return s.batchTx(ctx, &b.Audit, func(batch *pgx.Batch) {
		for _, d := range b.Disclosures {
			batch.Queue(`INSERT INTO disclosures (id, person_id, source, site_id, key_id, recipient, reason,
				disclosed, recorded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				d.ID, d.PersonID, d.Source, d.SiteID, d.KeyID, d.Recipient, d.Reason, orEmpty(d.Disclosed), d.RecordedBy)
		}
	})
}

// Audit writes one audit entry on its own (an external call that changed nothing).
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return s.batchTx(ctx, &e, func(*pgx.Batch) {})
}

// PersonDisclosures lists what was disclosed about a person, partner lookups and manual ones together,
// newest first.
func (s *Store) PersonDisclosures(ctx context.Context, personID uuid.UUID) ([]domain.Disclosure, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, person_id, source, site_id, key_id, recipient, reason, disclosed,
		recorded_by, at FROM disclosures WHERE person_id = $1 ORDER BY at DESC, id`, personID)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.Disclosure])
}

// PartnerReturn is the answer stored for an outcome a partner posted back, with the request it answered
// (null for a return stored before requests were kept).
func (s *Store) PartnerReturn(ctx context.Context, siteID uuid.UUID, partnerCaseID string) (answer, request json.RawMessage, err error) {
	err = s.pool.QueryRow(ctx, `SELECT answer, request FROM partner_returns WHERE site_id = $1 AND partner_case_id = $2`,
		siteID, partnerCaseID).Scan(&answer, &request)
	return answer, request, classify(err)
}

// ClaimPartnerReturn claims a partner's partnerCaseId for a return about to be carried out on caseRef,
// unless it is claimed already, and answers the row as it then stands: the request it was claimed for
// and, once that return was carried out, its answer (nil until then). Of two returns sent at once under
// one partnerCaseId, one claims it.
func (s *Store) ClaimPartnerReturn(ctx context.Context, siteID uuid.UUID, partnerCaseID, caseRef string,
	request any) (answer, claimed json.RawMessage, err error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO partner_returns (site_id, partner_case_id, case_ref, request)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, siteID, partnerCaseID, caseRef, request); err != nil {
		return nil, nil, classify(err)
	}
	return s.PartnerReturn(ctx, siteID, partnerCaseID)
}

// ReleasePartnerReturn gives up a claim whose return was refused, so the partner may send another under
// the same partnerCaseId; an answered return stays.
func (s *Store) ReleasePartnerReturn(ctx context.Context, siteID uuid.UUID, partnerCaseID string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM partner_returns WHERE site_id = $1 AND partner_case_id = $2 AND answer IS NULL`,
		siteID, partnerCaseID)
	return classify(err)
}

// RecordPartnerReturn stores the answer to a partner's return, and the request it answered, with the
// call's audit entry, in one transaction: it fills in the claim on the same case, or records the return
// where none was claimed; a repeat keeps the first answer.
func (s *Store) RecordPartnerReturn(ctx context.Context, siteID uuid.UUID, partnerCaseID, caseRef string,
	request, answer any, audit AuditEntry) error {
	return s.tx(ctx, &audit, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO partner_returns AS r (site_id, partner_case_id, case_ref, request, answer)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (site_id, partner_case_id) DO UPDATE SET answer = EXCLUDED.answer
			WHERE r.answer IS NULL AND r.case_ref = EXCLUDED.case_ref`, siteID, partnerCaseID, caseRef, request, answer)
		return err
	})
}

// CountAuthFailure counts one refused, unauthenticated call (to an external endpoint, or "staff" for the
// staff API) against its caller's address and the current minute: one row per address, endpoint, outcome
// and minute, kept outside the audit chain, so a flood of bad keys adds a bounded number of rows and
// every call is still counted.
func (s *Store) CountAuthFailure(ctx context.Context, callerIP, endpoint, outcome string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO external_auth_failures AS f (minute, caller_ip, endpoint, outcome, count)
		VALUES (date_trunc('minute', now()), $1, $2, $3, 1)
		ON CONFLICT (minute, caller_ip, endpoint, outcome) DO UPDATE SET count = f.count + 1, last_at = now()`,
		callerIP, endpoint, outcome)
	return err
}

// Verification is the answer of a partner we asked about one of our persons.
type Verification struct {
	ID          uuid.UUID       `json:"id"`
	PersonID    uuid.UUID       `json:"personId"`
	SiteID      uuid.UUID       `json:"siteId"`
	Reason      string          `json:"reason"`
	Found       bool            `json:"found"`
	Answer      json.RawMessage `json:"answer"`
	RequestedBy *uuid.UUID      `json:"requestedBy"`
	At          time.Time       `json:"at"`
}

// RecordVerification stores a partner's answer about one of our persons, with its audit entry.
func (s *Store) RecordVerification(ctx context.Context, actor Actor, v Verification) (Verification, error) {
	v.ID = uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "partner.verify", EntityType: "person", EntityID: v.PersonID.String(),
		Detail: map[string]any{"siteId": v.SiteID, "found": v.Found}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO partner_verifications (id, person_id, site_id, reason, found, answer, requested_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING at`, v.ID, v.PersonID, v.SiteID, v.Reason, v.Found, v.Answer,
			(*uuid.UUID)(actor)).Scan(&v.At)
	})
	v.RequestedBy = actor
	return v, err
}

// Verifications lists what partners told us about a person, newest first.
func (s *Store) Verifications(ctx context.Context, personID uuid.UUID) ([]Verification, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, person_id, site_id, reason, found, answer, requested_by, at
		FROM partner_verifications WHERE person_id = $1 ORDER BY at DESC, id`, personID)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Verification])
}

// Take counts one call against a rate limit of perMinute calls a minute under key, shared by every API
// process (GCRA: a full minute's calls may come at once, then one every 60/perMinute seconds). One
// atomic statement on the database's clock (or RateClock) decides, so concurrent calls are counted exactly. When the
// call is over the limit it returns false and how long until the next one is allowed.
//
// Every call under one key updates one row, so its commit does not wait for the WAL to be flushed
// (synchronous_commit off for that transaction alone): otherwise each caller would hold the row through a
// disk flush and one key's calls would run one flush at a time. A crash can forget the last moments of
// counting, which only lets a few calls more through.
func (s *Store) Take(ctx context.Context, key string, perMinute int) (bool, time.Duration, error) {
	interval := time.Minute.Microseconds() / int64(perMinute)
	window := time.Minute.Microseconds()
	var tat, now int64
	var at *time.Time
	if s.RateClock != nil {
		t := s.RateClock()
		at = &t
	}
	// One round trip: the transaction, its setting, the count and the commit, as one batch.
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL synchronous_commit = off`)
	b.Queue(`WITH clock AS (SELECT (extract(epoch FROM coalesce($4::timestamptz, clock_timestamp())) * 1000000)::bigint AS us),
		taken AS (
			INSERT INTO rate_limits AS r (key, tat, expires_at)
			SELECT $1, clock.us + $2, clock_timestamp() + interval '2 minutes' FROM clock
			ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, EXCLUDED.tat - $2) + $2, expires_at = EXCLUDED.expires_at
				WHERE greatest(r.tat, EXCLUDED.tat - $2) + $2 - (EXCLUDED.tat - $2) <= $3
			RETURNING tat)
		SELECT coalesce((SELECT tat FROM taken), -1), (SELECT us FROM clock)`, key, interval, window, at).QueryRow(func(row pgx.Row) error {
		return row.Scan(&tat, &now)
	})
	b.Queue(`COMMIT`)
	err := s.pool.SendBatch(ctx, b).Close()
	if err != nil || tat >= 0 {
		return err == nil, 0, err
	}
	err = s.pool.QueryRow(ctx, `SELECT tat FROM rate_limits WHERE key = $1`, key).Scan(&tat)
	return false, time.Duration(tat+interval-window-now) * time.Microsecond, err
}
