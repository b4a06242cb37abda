package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// LiveDossier is the person's dossier at provider that has not been deleted; ErrNotFound when none.
func (s *Store) LiveDossier(ctx context.Context, personID uuid.UUID, provider string) (string, error) {
	var id string
	err := s.pool.QueryRow(ctx, `SELECT dossier_id FROM identity_dossiers
		WHERE person_id = $1 AND provider = $2 AND deleted_at IS NULL`, personID, provider).Scan(&id)
	return id, classify(err)
}

// AddDossier records a dossier just created for the person. When another was recorded first (two checks
// raced), that one is returned and kept is false: the caller deletes its own at the provider.
func (s *Store) AddDossier(ctx context.Context, personID uuid.UUID, provider, dossierID string) (string, bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO identity_dossiers (dossier_id, provider, person_id) VALUES ($1, $2, $3)
		ON CONFLICT DO NOTHING`, dossierID, provider, personID)
	if err != nil {
		return "", false, classify(err)
	}
	if tag.RowsAffected() == 1 {
		return dossierID, true, nil
	}
	live, err := s.LiveDossier(ctx, personID, provider)
	return live, live == dossierID, err
}

// ForgetDossier marks a dossier the provider no longer holds as deleted.
func (s *Store) ForgetDossier(ctx context.Context, dossierID string) error {
	_, err := s.pool.Exec(ctx, `UPDATE identity_dossiers SET deleted_at = now() WHERE dossier_id = $1 AND deleted_at IS NULL`,
		dossierID)
	return classify(err)
}

// DossierInUse reports whether a dossier holds an attempt other than the one named that has not finished
// (the person has another case whose check runs).
func (s *Store) DossierInUse(ctx context.Context, dossierID, caseRef string, attempt int) (bool, error) {
	var used bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity_checks WHERE dossier_id = $1
		AND finished_at IS NULL AND NOT (case_ref = $2 AND attempt = $3))`, dossierID, caseRef, attempt).Scan(&used)
	return used, classify(err)
}

// IdentityAttempt is what starting (or switching the mode of) an attempt records.
type IdentityAttempt struct {
	CaseRef    string
	Attempt    int
	Provider   string
	Mode       string
	DossierID  string
	ProcessID  string
	CaptureURL string
	// SecretHash is the SHA-256 of the Authorization header the provider's callbacks carry.
	SecretHash []byte
}

// StartIdentityAttempt records an attempt as started, or its new mode and process when a case worker
// turns it into a staff-attended check. A finished attempt is left as it is.
func (s *Store) StartIdentityAttempt(ctx context.Context, actor Actor, a IdentityAttempt) error {
	audit := &AuditEntry{Actor: actor, Action: "identity.check.started", EntityType: "vetting_case", EntityID: a.CaseRef,
		Detail:   map[string]any{"attempt": a.Attempt, "mode": a.Mode, "provider": a.Provider},
		DedupKey: "identity/" + a.CaseRef + "/" + strconv.Itoa(a.Attempt) + "/" + a.Mode + "/" + a.ProcessID}
	return s.tx(ctx, audit, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO identity_checks (case_ref, attempt, provider, mode, dossier_id, process_id,
				capture_url, callback_secret_hash, status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending')
			ON CONFLICT (case_ref, attempt) DO UPDATE SET mode = excluded.mode, dossier_id = excluded.dossier_id,
				process_id = excluded.process_id, capture_url = excluded.capture_url,
				callback_secret_hash = excluded.callback_secret_hash, status = 'pending', updated_at = now()
			WHERE identity_checks.finished_at IS NULL`,
			a.CaseRef, a.Attempt, a.Provider, a.Mode, a.DossierID, a.ProcessID, a.CaptureURL, a.SecretHash)
		return err
	})
}

// SetIdentityProgress records the process an attempt runs (learnt from a callback or the dossier) and its
// status while it has not finished.
func (s *Store) SetIdentityProgress(ctx context.Context, caseRef string, attempt int, processID string,
	status domain.IdentityStatus) error {
	_, err := s.pool.Exec(ctx, `UPDATE identity_checks SET process_id = $3, status = $4, updated_at = now()
		WHERE case_ref = $1 AND attempt = $2 AND finished_at IS NULL AND (process_id <> $3 OR status <> $4)`,
		caseRef, attempt, processID, status)
	return classify(err)
}

// IdentityFinish is an attempt's final status and what was read.
type IdentityFinish struct {
	Status     domain.IdentityStatus
	Result     *domain.IdentityResult
	FailReason string
	Mismatches []string
}

// FinishIdentityCheck records an attempt's outcome once; a repeat changes nothing and returns the stored
// attempt.
func (s *Store) FinishIdentityCheck(ctx context.Context, caseRef string, attempt int, f IdentityFinish) (domain.IdentityCheck, error) {
	r := f.Result
	if r == nil {
		r = &domain.IdentityResult{}
	}
	mismatches := f.Mismatches
	if mismatches == nil {
		mismatches = []string{}
	}
	audit := &AuditEntry{Action: "identity.check." + string(f.Status), EntityType: "vetting_case", EntityID: caseRef,
		Detail:   map[string]any{"attempt": attempt, "mismatches": mismatches},
		DedupKey: "identity/" + caseRef + "/" + strconv.Itoa(attempt) + "/finished"}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE identity_checks SET status = $3, finished_at = now(), updated_at = now(),
				first_name = $4, last_name = $5, date_of_birth = $6, document_type = $7, document_expiry = $8,
				issuing_country = $9, nationality = $10, fail_reason = $11, mismatches = $12
			WHERE case_ref = $1 AND attempt = $2 AND finished_at IS NULL`,
			caseRef, attempt, f.Status, r.FirstName, r.LastName, r.DateOfBirth, r.DocumentType, r.DocumentExpiry,
			r.IssuingCountry, r.Nationality, f.FailReason, mismatches)
		if err == nil && tag.RowsAffected() == 0 {
			return errAlreadyFinished
		}
		return err
	})
	if err != nil && !errors.Is(err, errAlreadyFinished) {
		return domain.IdentityCheck{}, err
	}
	return s.IdentityCheck(ctx, caseRef, attempt)
}

var errAlreadyFinished = errors.New("identity check already finished")

// IdentityEvidence is an accepted check's result archive as kept: sealed (AES-256-GCM, nonce first)
// under the app key KeyID, bound to its case and attempt (IdentityEvidenceAAD), with the SHA-256 and size
// of the archive itself.
type IdentityEvidence struct {
	CaseRef  string
	Attempt  int
	KeyID    string
	Sealed   []byte
	SHA256   string
	Bytes    int64
	StoredAt time.Time
}

// IdentityEvidenceAAD is the associated data an attempt's evidence is sealed with: sealed evidence
// copied to another attempt's row does not open.
func IdentityEvidenceAAD(caseRef string, attempt int) []byte {
	return []byte("signetassure/identity_evidence/v1\x00" + caseRef + "\x00" + strconv.Itoa(attempt))
}

// HasIdentityEvidence reports whether an attempt's result archive is kept.
func (s *Store) HasIdentityEvidence(ctx context.Context, caseRef string, attempt int) (bool, error) {
	var kept bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM identity_evidence WHERE case_ref = $1 AND attempt = $2)`,
		caseRef, attempt).Scan(&kept)
	return kept, classify(err)
}

// KeepIdentityEvidence stores an accepted check's sealed result archive and its digest on the attempt,
// once: a repeat keeps what was stored first, whose digest it returns.
func (s *Store) KeepIdentityEvidence(ctx context.Context, ev IdentityEvidence) (string, error) {
	var kept string
	audit := &AuditEntry{Action: "identity.evidence.kept", EntityType: "vetting_case", EntityID: ev.CaseRef,
		Detail:   map[string]any{"attempt": ev.Attempt, "sha256": ev.SHA256, "bytes": ev.Bytes, "keyId": ev.KeyID},
		DedupKey: "identity/" + ev.CaseRef + "/" + strconv.Itoa(ev.Attempt) + "/evidence"}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO identity_evidence (case_ref, attempt, key_id, sealed, sha256, bytes)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
			ev.CaseRef, ev.Attempt, ev.KeyID, ev.Sealed, ev.SHA256, ev.Bytes); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT sha256 FROM identity_evidence WHERE case_ref = $1 AND attempt = $2`,
			ev.CaseRef, ev.Attempt).Scan(&kept); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE identity_checks c SET evidence_sha256 = e.sha256, evidence_bytes = e.bytes,
				updated_at = now()
			FROM identity_evidence e WHERE c.case_ref = $1 AND c.attempt = $2 AND e.case_ref = c.case_ref
				AND e.attempt = c.attempt AND c.evidence_sha256 <> e.sha256`, ev.CaseRef, ev.Attempt)
		return err
	})
	return kept, err
}

// IdentityEvidenceOf reads an attempt's kept result archive, still sealed; ErrNotFound when none is kept.
func (s *Store) IdentityEvidenceOf(ctx context.Context, caseRef string, attempt int) (IdentityEvidence, error) {
	ev := IdentityEvidence{CaseRef: caseRef, Attempt: attempt}
	err := s.pool.QueryRow(ctx, `SELECT key_id, sealed, sha256, bytes, stored_at FROM identity_evidence
		WHERE case_ref = $1 AND attempt = $2`, caseRef, attempt).Scan(&ev.KeyID, &ev.Sealed, &ev.SHA256, &ev.Bytes,
		&ev.StoredAt)
	return ev, classify(err)
}

// IdentityDataDeleted records that the provider deleted an attempt's process and, when dossier, the
// person's dossier too (the next check creates a new one).
func (s *Store) IdentityDataDeleted(ctx context.Context, caseRef string, attempt int, dossier bool) error {
	audit := &AuditEntry{Action: "identity.provider_data.deleted", EntityType: "vetting_case", EntityID: caseRef,
		Detail:   map[string]any{"attempt": attempt, "dossier": dossier},
		DedupKey: "identity/" + caseRef + "/" + strconv.Itoa(attempt) + "/deleted/" + strconv.FormatBool(dossier)}
	return s.tx(ctx, audit, func(tx pgx.Tx) error {
		var dossierID string
		if err := tx.QueryRow(ctx, `UPDATE identity_checks SET process_deleted_at = coalesce(process_deleted_at, now()),
				dossier_deleted_at = CASE WHEN $3 THEN coalesce(dossier_deleted_at, now()) END, updated_at = now()
			WHERE case_ref = $1 AND attempt = $2 RETURNING dossier_id`, caseRef, attempt, dossier).Scan(&dossierID); err != nil {
			return err
		}
		if !dossier {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE identity_dossiers SET deleted_at = now() WHERE dossier_id = $1 AND deleted_at IS NULL`,
			dossierID)
		return err
	})
}

const identityCols = `case_ref, attempt, provider, mode, dossier_id, process_id, capture_url, status, started_at, updated_at,
	finished_at, first_name, last_name, date_of_birth, document_type, document_expiry, issuing_country, nationality,
	fail_reason, mismatches, evidence_sha256, evidence_bytes, process_deleted_at, dossier_deleted_at`

func scanIdentityCheck(row pgx.CollectableRow) (domain.IdentityCheck, error) {
	var c domain.IdentityCheck
	var r domain.IdentityResult
	err := row.Scan(&c.CaseRef, &c.Attempt, &c.Provider, &c.Mode, &c.DossierID, &c.ProcessID, &c.CaptureURL, &c.Status,
		&c.StartedAt, &c.UpdatedAt, &c.FinishedAt, &r.FirstName, &r.LastName, &r.DateOfBirth, &r.DocumentType,
		&r.DocumentExpiry, &r.IssuingCountry, &r.Nationality, &c.FailReason, &c.Mismatches, &c.EvidenceSHA256,
		&c.EvidenceBytes, &c.ProcessDeletedAt, &c.DossierDeletedAt)
	if c.FinishedAt != nil && c.Status != domain.IdentityExpired && c.Status != domain.IdentityCanceled {
		c.Result = &r
	}
	return c, err
}

// IdentityCheck is one attempt of a case's identity check.
func (s *Store) IdentityCheck(ctx context.Context, caseRef string, attempt int) (domain.IdentityCheck, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+identityCols+` FROM identity_checks WHERE case_ref = $1 AND attempt = $2`,
		caseRef, attempt)
	c, err := pgx.CollectExactlyOneRow(rows, scanIdentityCheck)
	return c, classify(err)
}

// IdentityChecks lists a case's identity check attempts, the latest first.
func (s *Store) IdentityChecks(ctx context.Context, caseRef string) ([]domain.IdentityCheck, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+identityCols+` FROM identity_checks WHERE case_ref = $1 ORDER BY attempt DESC`,
		caseRef)
	c, err := pgx.CollectRows(rows, scanIdentityCheck)
	return c, classify(err)
}

// IdentityCallbackSecret is the digest of the secret the latest attempt's callbacks carry; ErrNotFound
// when the case has no attempt.
func (s *Store) IdentityCallbackSecret(ctx context.Context, caseRef string) ([]byte, error) {
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT callback_secret_hash FROM identity_checks WHERE case_ref = $1
		ORDER BY attempt DESC LIMIT 1`, caseRef).Scan(&hash)
	return hash, classify(err)
}

// RecordIdentityCallback notes a callback; pending is true unless the same process and status was
// received and passed on to the identity check before (a repeat). A callback received but not passed on
// stays pending, so the provider's retry passes it on.
func (s *Store) RecordIdentityCallback(ctx context.Context, caseRef, processID, status string) (pending bool, err error) {
	err = s.pool.QueryRow(ctx, `INSERT INTO identity_callbacks (case_ref, process_id, status) VALUES ($1, $2, $3)
		ON CONFLICT (case_ref, process_id, status) DO UPDATE SET received_at = identity_callbacks.received_at
		RETURNING passed_at IS NULL`, caseRef, processID, status).Scan(&pending)
	return pending, classify(err)
}

// IdentityCallbackPassed notes that a callback was passed on to the identity check.
func (s *Store) IdentityCallbackPassed(ctx context.Context, caseRef, processID, status string) error {
	_, err := s.pool.Exec(ctx, `UPDATE identity_callbacks SET passed_at = now() WHERE case_ref = $1 AND process_id = $2
		AND status = $3 AND passed_at IS NULL`, caseRef, processID, status)
	return classify(err)
}

// IdentityUpload is a staff-attended check's images (data URLs) awaiting hand-over to the provider.
type IdentityUpload struct {
	ID           uuid.UUID
	CaseRef      string
	DocumentType string
	Front, Back  string
	Selfie       string
	UploadedBy   *uuid.UUID
	UploadedAt   time.Time
}

// AddIdentityUpload keeps uploaded images until the identity check hands them over.
func (s *Store) AddIdentityUpload(ctx context.Context, u IdentityUpload) error {
	audit := &AuditEntry{Actor: u.UploadedBy, Action: "identity.images.uploaded", EntityType: "vetting_case",
		EntityID: u.CaseRef, Detail: map[string]any{"upload": u.ID.String(), "documentType": u.DocumentType,
			"back": u.Back != ""}}
	return s.tx(ctx, audit, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO identity_uploads (id, case_ref, document_type, front, back, selfie, uploaded_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.ID, u.CaseRef, u.DocumentType, u.Front, u.Back, u.Selfie, u.UploadedBy)
		return err
	})
}

// IdentityUploadByID reads uploaded images; ErrNotFound once handed over and dropped.
func (s *Store) IdentityUploadByID(ctx context.Context, id uuid.UUID) (IdentityUpload, error) {
	var u IdentityUpload
	err := s.pool.QueryRow(ctx, `SELECT id, case_ref, document_type, front, back, selfie, uploaded_by, uploaded_at
		FROM identity_uploads WHERE id = $1`, id).Scan(&u.ID, &u.CaseRef, &u.DocumentType, &u.Front, &u.Back,
		&u.Selfie, &u.UploadedBy, &u.UploadedAt)
	return u, classify(err)
}

// DropIdentityUpload deletes images once the provider has them.
func (s *Store) DropIdentityUpload(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM identity_uploads WHERE id = $1`, id)
	return classify(err)
}
