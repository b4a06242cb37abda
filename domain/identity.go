package domain

import (
	"slices"
	"strings"
	"time"
)

// IdentityStatus is where one attempt of a case's identity check stands: the provider's process status,
// or expired when the subject did not complete it in time.
type IdentityStatus string

const (
	IdentityPending      IdentityStatus = "pending"
	IdentityProcessing   IdentityStatus = "processing"
	IdentityAccepted     IdentityStatus = "accepted"
	IdentityRejected     IdentityStatus = "rejected"
	IdentityInconclusive IdentityStatus = "inconclusive"
	IdentityFailed       IdentityStatus = "failed"
	IdentityCanceled     IdentityStatus = "canceled"
	IdentityExpired      IdentityStatus = "expired"
)

// Final reports whether the attempt has ended.
func (s IdentityStatus) Final() bool {
	return s != IdentityPending && s != IdentityProcessing
}

// Identity check modes: the subject captures their document through a link, or a case worker uploads
// images of it (a staff-attended check).
const (
	IdentityModeCapture  = "capture"
	IdentityModeAttended = "attended"
)

// Mismatches between the identity read from a document and the person record.
const (
	MismatchName            = "name"
	MismatchDateOfBirth     = "dateOfBirth"
	MismatchDocumentExpired = "documentExpired"
)

// IdentityResult is the identity a verification read from the document, normalised.
type IdentityResult struct {
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName"`
	DateOfBirth    *Date  `json:"dateOfBirth"`
	DocumentType   string `json:"documentType"`
	DocumentExpiry *Date  `json:"documentExpiry"`
	IssuingCountry string `json:"issuingCountry"` // ISO 3166 alpha-3
	Nationality    string `json:"nationality"`
}

// IdentityCheck is one attempt of a case's identity check, as the system of record holds it.
type IdentityCheck struct {
	CaseRef    string          `json:"caseRef"`
	Attempt    int             `json:"attempt"`
	Provider   string          `json:"provider"`
	Mode       string          `json:"mode"`
	DossierID  string          `json:"-"`
	ProcessID  string          `json:"processId"`
	CaptureURL string          `json:"captureUrl"`
	Status     IdentityStatus  `json:"status"`
	StartedAt  time.Time       `json:"startedAt"`
	UpdatedAt  time.Time       `json:"updatedAt"`
	FinishedAt *time.Time      `json:"finishedAt"`
	Result     *IdentityResult `json:"result"`
	FailReason string          `json:"failReason"`
	Mismatches []string        `json:"mismatches"`
	// EvidenceSHA256 is the digest of the provider's result archive (accepted checks), kept as evidence
	// after the provider's copy is deleted.
	EvidenceSHA256   string     `json:"evidenceSha256"`
	EvidenceBytes    *int64     `json:"evidenceBytes"`
	ProcessDeletedAt *time.Time `json:"processDeletedAt"`
	DossierDeletedAt *time.Time `json:"dossierDeletedAt"`
}

// CompareIdentity lists how the identity read from a document differs from the person record, on the
// day today: the names (folded; the document's first names must include the person's first given name), the
// date of birth, and a document that has expired.
func CompareIdentity(p Person, r IdentityResult, today Date) []string {
	var m []string
	given := strings.Fields(FoldName(p.FirstName))
	if FoldName(r.LastName) != FoldName(p.LastName) || len(given) == 0 ||
		!slices.Contains(strings.Fields(FoldName(r.FirstName)), given[0]) {
		m = append(m, MismatchName)
	}
	if r.DateOfBirth == nil || *r.DateOfBirth != p.DateOfBirth {
		m = append(m, MismatchDateOfBirth)
	}
	if r.DocumentExpiry != nil && r.DocumentExpiry.Before(today) {
		m = append(m, MismatchDocumentExpired)
	}
	return m
}
