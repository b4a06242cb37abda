// Package partners is SignetAssure's side of cross-organisation vetting sharing: the types of the public
// contract (/api/external/vetting/lookup, /return and /whoami) shared by our server and our client, a Client
// that calls one partner's endpoints, and the Keyring that seals the bearer secrets partners issued to us.
package partners

import (
	"encoding/json"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
)

// Paths of the external endpoints, relative to a partner's base URL.
const (
	PathLookup = "/api/external/vetting/lookup"
	PathReturn = "/api/external/vetting/return"
	PathWhoAmI = "/api/external/vetting/whoami"

	// The audit log's tree, for partners that witness it (scope audit:witness).
	PathAuditCheckpoint = "/api/external/audit/checkpoint"
	PathAuditInclusion  = "/api/external/audit/entries/:id/inclusion"
	PathAuditWitnessed  = "/api/external/audit/witnessed"
)

// Scopes a partner key may hold (domain.Scopes).
const (
	ScopeRead   = string(domain.ScopeVettingRead)
	ScopeReturn = string(domain.ScopeVettingReturn)
)

// LookupRequest resolves a name and date of birth to clearance state (POST /lookup).
type LookupRequest struct {
	FirstName string      `json:"firstName"`
	LastName  string      `json:"lastName"`
	DOB       domain.Date `json:"dob"`
	Reason    string      `json:"reason"`
}

// LookupAnswer is the minimum sufficient data for an access decision: whether the person is known and
// the clearances they hold. Never an address, NI number, line manager or contact details; never a
// refusal, a case or the level a case was opened at.
type LookupAnswer struct {
	Found bool `json:"found"`
	// Subject is null when nothing was found.
	Subject *LookupSubject `json:"subject"`
	// Matches are the clearances the subject holds or held (superseded ones left out), [] (not null)
	// when there are none.
	Matches    []LookupMatch `json:"matches"`
	QueriedAt  time.Time     `json:"queriedAt"`
	PartnerOrg string        `json:"partnerOrg"`

	// Raw is the answer exactly as the partner sent it (set by Client.Lookup; never marshalled).
	Raw json.RawMessage `json:"-"`
}

// LookupSubject is the person the lookup resolved to.
type LookupSubject struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Active    bool   `json:"active"`
}

// LookupMatch is one clearance of the subject: its level, validity and issuing authority, whether it no
// longer holds (expired, or ended early: revoked or suspended, without saying which) and whether its
// renewal is due.
type LookupMatch struct {
	ClearanceLevel   domain.Level `json:"clearanceLevel"`
	ValidFrom        domain.Date  `json:"validFrom"`
	ValidTo          domain.Date  `json:"validTo"`
	IssuingAuthority string       `json:"issuingAuthority"`
	Expired          bool         `json:"expired"`
	RenewalDue       bool         `json:"renewalDue"`
}

// ReturnRequest posts the outcome of a vetting check run on a partner's behalf back against the originating
// case (POST /return). It is idempotent on (calling site, PartnerCaseID).
type ReturnRequest struct {
	CaseRef string         `json:"caseRef"`
	Outcome domain.Outcome `json:"outcome"`
	// ClearanceLevel, ValidFrom and ValidTo are left out when the outcome gives no clearance (refused,
	// withdrawn).
	ClearanceLevel domain.Level `json:"clearanceLevel,omitempty"`
	ValidFrom      domain.Date  `json:"validFrom,omitzero"`
	ValidTo        domain.Date  `json:"validTo,omitzero"`
	PartnerCaseID  string       `json:"partnerCaseId"`
}

// ReturnAnswer acknowledges a return. A client must take it as an opaque JSON object echoing at least
// caseRef and outcome; the other fields are what SignetAssure answers.
type ReturnAnswer struct {
	CaseRef string         `json:"caseRef"`
	Outcome domain.Outcome `json:"outcome"`
	// Status is the answering side's word on what it did (SignetAssure: the case's status after the return).
	Status        string    `json:"status,omitempty"`
	PartnerCaseID string    `json:"partnerCaseId,omitempty"`
	ReceivedAt    time.Time `json:"receivedAt,omitzero"`

	// Raw is the answer exactly as the partner sent it (set by Client.Return; never marshalled).
	Raw json.RawMessage `json:"-"`
}

// WhoAmI describes the key a call was made with (GET /whoami).
type WhoAmI struct {
	PartnerOrg string   `json:"partnerOrg"`
	KeyName    string   `json:"keyName"`
	Scopes     []string `json:"scopes"`
}

// AuditCheckpoint is a site's newest signed audit tree checkpoint (GET /api/external/audit/checkpoint):
// the C2SP tlog-checkpoint note, its size and root, and, when asked for with from=N, the proof that it
// extends the tree of size N.
type AuditCheckpoint struct {
	audit.TreeCheckpoint
	Consistency *audit.Consistency `json:"consistency,omitempty"`
}

// WitnessedCheckpoint is the newest checkpoint of the caller's audit log the answering site witnessed
// (GET /api/external/audit/witnessed): the note as the caller signed it, and when it was fetched.
type WitnessedCheckpoint struct {
	audit.TreeCheckpoint
	Origin    string    `json:"origin"`
	FetchedAt time.Time `json:"fetchedAt"`
}

// Problem is an RFC 9457 problem detail (application/problem+json): what a partner answers, and what our
// own API answers. Errors names each offending field.
type Problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Instance string       `json:"instance,omitempty"`
	Errors   []FieldError `json:"errors,omitempty"`
}

// Error makes a Problem an error, so a handler can return one. Its detail may repeat what was sent: do
// not log it.
func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// FieldError says what is wrong with one field of a request (a body field, a query parameter or header,
// or "body" for the request as a whole).
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}
