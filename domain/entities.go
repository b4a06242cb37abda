package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Organisation is this deployment's own settings: who we are, and in whose name clearances are issued.
type Organisation struct {
	Name             string `json:"name"`
	IssuingAuthority string `json:"issuingAuthority"`
	TimeZone         string `json:"timeZone"`
	// ScopeCaseWorkers limits case workers (who hold no other role) to the persons of the sites and
	// suppliers their user names, and the cases and clearances of those persons.
	ScopeCaseWorkers bool      `json:"scopeCaseWorkers"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// Location is a site.
type Location struct {
	ID        uuid.UUID `json:"id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	TimeZone  string    `json:"timeZone"`
	Address   string    `json:"address"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Person is a subject of vetting. LineManager, Address and NINumber are Sensitive: they never leave
// this organisation, and code must Reveal them on purpose.
type Person struct {
	ID             uuid.UUID  `json:"id"`
	FirstName      string     `json:"firstName"`
	MiddleNames    string     `json:"middleNames"`
	LastName       string     `json:"lastName"`
	DateOfBirth    Date       `json:"dateOfBirth"`
	Email          string     `json:"email"`
	Mobile         string     `json:"mobile"`
	EmployeeNumber *string    `json:"employeeNumber"`
	SupplierID     *uuid.UUID `json:"supplierId"`
	LocationID     *uuid.UUID `json:"locationId"`
	LineManager    Sensitive  `json:"-"`
	Address        Sensitive  `json:"-"`
	NINumber       Sensitive  `json:"-"`
	Active         bool       `json:"active"`
	// PreferredChannel is how the person prefers to be told (renewal nudges, requests for information).
	PreferredChannel Channel   `json:"preferredChannel"`
	CreatedAt        time.Time `json:"createdAt"`
	UpdatedAt        time.Time `json:"updatedAt"`
}

// StaffUser is someone who works in SignetAssure.
type StaffUser struct {
	ID          uuid.UUID `json:"id"`
	DisplayName string    `json:"displayName"`
	Email       string    `json:"email"`
	Roles       []Role    `json:"roles"`
	Active      bool      `json:"active"`
	// Directory is where they sign in: local (API tokens an administrator issues), or a directory whose
	// groups set their roles at every sign-in.
	Directory Directory `json:"directory"`
	// LastSignInAt is their last console sign-in, if any.
	LastSignInAt *time.Time `json:"lastSignInAt"`
	// LocationIDs and SupplierIDs are the sites and suppliers whose persons they see, when the
	// organisation scopes case workers.
	LocationIDs []uuid.UUID `json:"locationIds"`
	SupplierIDs []uuid.UUID `json:"supplierIds"`
}

// APIToken is a staff API token as its holder and administrators see it: never its secret, which is shown
// once when it is issued (Secret, then only).
type APIToken struct {
	ID         uuid.UUID  `json:"id"`
	UserID     uuid.UUID  `json:"userId"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" description:"the secret's first characters, to tell tokens apart; empty for tokens issued before they were kept"`
	Status     string     `json:"status" enum:"active,expired,revoked"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	// Scopes are what the token may do, within its holder's roles; null for a token issued before
	// scopes, which may do all the roles allow.
	Scopes []StaffScope `json:"scopes"`
	// Secret is the token itself, in the answer that issues it and nowhere else.
	Secret string `json:"token,omitempty"`
}

// StaffSession is one console sign-in of a staff user, as they and administrators see it (never its
// secret, which only the browser's cookie holds).
type StaffSession struct {
	ID         uuid.UUID  `json:"id"`
	Method     string     `json:"method" enum:"entra,ldap,token" description:"how the user signed in"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastSeenAt time.Time  `json:"lastSeenAt"`
	ExpiresAt  time.Time  `json:"expiresAt" description:"the absolute limit; the idle limit also ends it"`
	EndedAt    *time.Time `json:"endedAt"`
	EndReason  string     `json:"endReason,omitempty"`
	// Current marks the session the request was made in.
	Current bool `json:"current"`
}

// Has reports whether the user holds any of roles.
func (u StaffUser) Has(roles ...Role) bool {
	for _, have := range u.Roles {
		for _, want := range roles {
			if have == want {
				return true
			}
		}
	}
	return false
}

// Case is the read model of one vetting case, written only by its workflow.
type Case struct {
	CaseRef          string     `json:"caseRef"`
	PersonID         uuid.UUID  `json:"personId"`
	Type             CaseType   `json:"type"`
	RequestedLevel   Level      `json:"requestedLevel"`
	Status           CaseStatus `json:"status"`
	OwnerID          *uuid.UUID `json:"ownerId"`
	IssuingAuthority string     `json:"issuingAuthority"`
	OpenedBy         *uuid.UUID `json:"openedBy"`
	OpenedAt         time.Time  `json:"openedAt"`
	DueAt            time.Time  `json:"dueAt"`
	InfoRequested    string     `json:"infoRequested,omitempty"`
	InfoDueAt        *time.Time `json:"infoDueAt"`
	EscalatedAt      *time.Time `json:"escalatedAt"`
	Outcome          *Outcome   `json:"outcome"`
	OutcomeLevel     *Level     `json:"outcomeLevel"`
	ValidFrom        Date       `json:"validFrom"`
	ValidTo          Date       `json:"validTo"`
	ClosedAt         *time.Time `json:"closedAt"`
	// DelegatedSiteID is the partner site running this check for us, until it posts the outcome back.
	DelegatedSiteID *uuid.UUID `json:"delegatedSiteId"`
	DelegationDueAt *time.Time `json:"delegationDueAt"`
	// ForSiteID and ForCaseRef name the partner (and its case) this check runs for; its outcome is
	// posted back to them.
	ForSiteID  *uuid.UUID `json:"forSiteId"`
	ForCaseRef *string    `json:"forCaseRef"`
	Version    int        `json:"version"`
	UpdatedAt  time.Time  `json:"updatedAt"`
}

// CaseEvent is one entry on a case's timeline: who did what, when. Seq numbers a case's events from 1.
// It rides in the case workflow's history (activities.CaseEventInput), so every field is marshalled: the
// API shows a timeline through its own type (api.TimelineEvent), which leaves out the case reference.
type CaseEvent struct {
	CaseRef string     `json:"caseRef"`
	Seq     int        `json:"seq"`
	At      time.Time  `json:"at"`
	Kind    string     `json:"kind"`
	ActorID *uuid.UUID `json:"actorId"`
	// ActorName is the acting staff user's name, filled in when the timeline is read.
	ActorName string         `json:"actorName,omitempty"`
	Summary   string         `json:"summary"`
	Detail    map[string]any `json:"detail,omitempty"`
}

// Clearance is one clearance on a person's record.
type Clearance struct {
	ID               uuid.UUID       `json:"id"`
	PersonID         uuid.UUID       `json:"personId"`
	Level            Level           `json:"level"`
	ValidFrom        Date            `json:"validFrom"`
	ValidTo          Date            `json:"validTo"`
	Status           ClearanceStatus `json:"status"`
	SourceCaseRef    *string         `json:"sourceCaseRef"`
	IssuingAuthority string          `json:"issuingAuthority"`
	WithAdvisory     bool            `json:"withAdvisory"`
	SupersededBy     *uuid.UUID      `json:"supersededBy"`
	CreatedAt        time.Time       `json:"createdAt"`
	UpdatedAt        time.Time       `json:"updatedAt"`
}

// Notification is a message to a staff user (an SLA reminder, an escalation).
type Notification struct {
	ID        string           `json:"id"`
	UserID    uuid.UUID        `json:"userId"`
	Kind      NotificationKind `json:"kind"`
	CaseRef   *string          `json:"caseRef"`
	Message   string           `json:"message"`
	CreatedAt time.Time        `json:"createdAt"`
	ReadAt    *time.Time       `json:"readAt"`
}

// PartnerSite is another organisation's SignetAssure we share vetting with.
type PartnerSite struct {
	ID              uuid.UUID  `json:"id"`
	OrgName         string     `json:"orgName"`
	BaseURL         string     `json:"baseUrl"`
	Status          string     `json:"status"`
	ContactName     string     `json:"contactName"`
	ContactEmail    string     `json:"contactEmail"`
	RevokedAt       *time.Time `json:"revokedAt"`
	HealthCheckedAt *time.Time `json:"healthCheckedAt"`
	HealthOK        *bool      `json:"healthOk"`
	HealthError     string     `json:"healthError,omitempty"`
	// AuditOrigin and AuditVerifierKey name the partner's audit log (its checkpoints' origin line) and the
	// note verifier key its checkpoints are signed with; AuditWitness: we fetch and keep its checkpoints,
	// holding it to its history (partner_audit_checkpoints).
	AuditOrigin      string `json:"auditOrigin"`
	AuditVerifierKey string `json:"auditVerifierKey"`
	AuditWitness     bool   `json:"auditWitness"`
	// AuditCheckedAt and AuditProblem are the last witnessing's time and problem (empty when none).
	AuditCheckedAt *time.Time `json:"auditCheckedAt"`
	AuditProblem   string     `json:"auditProblem,omitempty"`
	// SupplierID is the supplier the partner is, when it is one of ours.
	SupplierID *uuid.UUID `json:"supplierId"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// Scope is what a partner key may do: the one list of partner scopes (the partner contract's
// partners.ScopeRead and ScopeReturn are these).
type Scope string

// Partner scopes.
const (
	ScopeVettingRead   Scope = "vetting:read"
	ScopeVettingReturn Scope = "vetting:return"
	// ScopeAuditWitness reads our audit log's tree checkpoints and the proofs that concern the partner
	// (/api/external/audit/...).
	ScopeAuditWitness Scope = "audit:witness"
)

// Scopes lists every partner scope.
var Scopes = []Scope{ScopeVettingRead, ScopeVettingReturn, ScopeAuditWitness}

// Valid reports whether s is a partner scope.
func (s Scope) Valid() bool { return slices.Contains(Scopes, s) }

// PartnerKey is a key we issued to a partner site. Its secret is never stored or shown again.
type PartnerKey struct {
	ID         uuid.UUID  `json:"id"`
	SiteID     uuid.UUID  `json:"siteId"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	IPAllow    []string   `json:"ipAllow"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	CreatedAt  time.Time  `json:"createdAt"`
}

// PartnerCredential is a bearer secret a partner issued to us, kept sealed; the API never shows it.
type PartnerCredential struct {
	ID        uuid.UUID  `json:"id"`
	SiteID    uuid.UUID  `json:"siteId"`
	Name      string     `json:"name"`
	KeyID     string     `json:"-"`
	Sealed    []byte     `json:"-"`
	Active    bool       `json:"active"`
	RevokedAt *time.Time `json:"revokedAt"`
	CreatedAt time.Time  `json:"createdAt"`
}

// Disclosure records that someone outside was told something about a person.
type Disclosure struct {
	ID         uuid.UUID      `json:"id"`
	PersonID   uuid.UUID      `json:"personId"`
	Source     string         `json:"source"`
	SiteID     *uuid.UUID     `json:"siteId"`
	KeyID      *uuid.UUID     `json:"keyId"`
	Recipient  string         `json:"recipient"`
	Reason     string         `json:"reason"`
	Disclosed  map[string]any `json:"disclosed"`
	RecordedBy *uuid.UUID     `json:"recordedBy"`
	At         time.Time      `json:"at"`
}
