// Package domain holds SignetAssure's vocabulary: vetting levels, case types and statuses, outcomes,
// clearance statuses and staff roles, with the rules that say which values are valid.
package domain

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Level is a UK personnel-security vetting level.
type Level string

const (
	LevelBPSS Level = "BPSS"
	LevelCTC  Level = "CTC"
	LevelSC   Level = "SC"
	LevelESC  Level = "eSC"
	LevelDV   Level = "DV"
	LevelEDV  Level = "eDV"
)

// Levels lists every level, lowest first.
var Levels = []Level{LevelBPSS, LevelCTC, LevelSC, LevelESC, LevelDV, LevelEDV}

func (l Level) Valid() bool { return slices.Contains(Levels, l) }

// CaseType says why a vetting case was opened.
type CaseType string

const (
	CaseNew       CaseType = "new"
	CaseRenewal   CaseType = "renewal"
	CaseUpgrade   CaseType = "upgrade"
	CaseTransfer  CaseType = "transfer"
	CaseAftercare CaseType = "aftercare"
)

var CaseTypes = []CaseType{CaseNew, CaseRenewal, CaseUpgrade, CaseTransfer, CaseAftercare}

func (t CaseType) Valid() bool { return slices.Contains(CaseTypes, t) }

// CaseStatus is where a vetting case stands. The last four are final and equal the outcome recorded.
type CaseStatus string

const (
	StatusOpened              CaseStatus = "opened"
	StatusIdentityCheck       CaseStatus = "identity_check"
	StatusWithOfficer         CaseStatus = "with_officer"
	StatusAwaitingInformation CaseStatus = "awaiting_information"
	StatusWithPartner         CaseStatus = "with_partner"
	StatusCleared             CaseStatus = "cleared"
	StatusRefused             CaseStatus = "refused"
	StatusWithAdvisory        CaseStatus = "with_advisory"
	StatusWithdrawn           CaseStatus = "withdrawn"
)

var CaseStatuses = []CaseStatus{StatusOpened, StatusIdentityCheck, StatusWithOfficer, StatusAwaitingInformation,
	StatusWithPartner, StatusCleared, StatusRefused, StatusWithAdvisory, StatusWithdrawn}

func (s CaseStatus) Valid() bool { return slices.Contains(CaseStatuses, s) }

// Closed reports whether the case has an outcome and accepts no further action.
func (s CaseStatus) Closed() bool {
	return s == StatusCleared || s == StatusRefused || s == StatusWithAdvisory || s == StatusWithdrawn
}

// Outcome is a vetting officer's (or a partner's) decision on a case.
type Outcome string

const (
	OutcomeCleared      Outcome = "cleared"
	OutcomeRefused      Outcome = "refused"
	OutcomeWithAdvisory Outcome = "with_advisory"
	OutcomeWithdrawn    Outcome = "withdrawn"
)

var Outcomes = []Outcome{OutcomeCleared, OutcomeRefused, OutcomeWithAdvisory, OutcomeWithdrawn}

func (o Outcome) Valid() bool { return slices.Contains(Outcomes, o) }

// GrantsClearance reports whether the outcome puts a clearance on the person's record.
func (o Outcome) GrantsClearance() bool { return o == OutcomeCleared || o == OutcomeWithAdvisory }

// ClearanceStatus is the state of one clearance on a person's record.
type ClearanceStatus string

const (
	ClearanceActive     ClearanceStatus = "active"
	ClearanceExpired    ClearanceStatus = "expired"
	ClearanceSuspended  ClearanceStatus = "suspended"
	ClearanceRevoked    ClearanceStatus = "revoked"
	ClearanceSuperseded ClearanceStatus = "superseded"
)

var ClearanceStatuses = []ClearanceStatus{ClearanceActive, ClearanceExpired, ClearanceSuspended, ClearanceRevoked, ClearanceSuperseded}

func (s ClearanceStatus) Valid() bool { return slices.Contains(ClearanceStatuses, s) }

// Role is a staff user's role; a user may hold several.
type Role string

const (
	RoleCaseWorker         Role = "case_worker"
	RoleVettingOfficer     Role = "vetting_officer"
	RoleSecurityController Role = "security_controller"
	RoleAdmin              Role = "admin"
	RoleAuditor            Role = "auditor"
)

var Roles = []Role{RoleCaseWorker, RoleVettingOfficer, RoleSecurityController, RoleAdmin, RoleAuditor}

func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// CaseRefPrefix begins every case reference.
const CaseRefPrefix = "v_"

// An opaque reference is its prefix and refMin to refMax lower-case letters and digits.
const (
	refMin = 20
	refMax = 62
)

// NewCaseRef makes an opaque case reference: "v_" and 26 random base-32 characters (128 bits). It is never
// derived from personal data, so it may appear in workflow ids, logs and partner answers.
func NewCaseRef() string { return CaseRefOf(randBytes()) }

// CaseRefOf is the case reference made of a digest (or random bytes): "v_" and the first 26 lower-case
// base-32 characters of its encoding. The same digest always makes the same reference, which is how a
// reference is kept for a repeated request or a replayed workflow. Every case reference is minted here.
func CaseRefOf(digest []byte) string {
	enc := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(digest))
	return CaseRefPrefix + enc[:min(len(enc), 26)]
}

// IsCaseRef reports whether s has the shape of a case reference (CaseRefPattern).
func IsCaseRef(s string) bool { return hasRefShape(s, CaseRefPrefix) }

// CaseRefPattern is the regular expression of the shape IsCaseRef accepts, as the API documents it.
var CaseRefPattern = refPattern(CaseRefPrefix)

var randBytes = func() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b
}

func randText() string { return rand.Text() }

// refPattern is the regular expression of an opaque reference with prefix.
func refPattern(prefix string) string {
	return fmt.Sprintf("^%s[0-9a-z]{%d,%d}$", regexp.QuoteMeta(prefix), refMin, refMax)
}

// hasRefShape reports whether s is prefix and refMin to refMax lower-case letters and digits: an opaque
// reference.
func hasRefShape(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) < len(prefix)+refMin || len(s) > len(prefix)+refMax {
		return false
	}
	for _, c := range s[len(prefix):] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}
