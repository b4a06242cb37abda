package domain

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Supplier is a company in the supply chain: a prime (no parent) or a sub-supplier one tier below its
// parent. An archived supplier is kept for what refers to it (its persons, the audit log) and offered for
// nothing new.
type Supplier struct {
	ID               uuid.UUID          `json:"id"`
	Name             string             `json:"name"`
	Tier             int                `json:"tier"`
	ParentID         *uuid.UUID         `json:"parentId" description:"the supplier above it in the chain; null for a prime"`
	CompanyNumber    string             `json:"companyNumber"`
	ContactEmail     string             `json:"contactEmail"`
	SponsorReference string             `json:"sponsorReference"`
	SiteIDs          []uuid.UUID        `json:"siteIds" description:"the sites its people work at"`
	Contacts         []SupplierContact  `json:"contacts"`
	Contracts        []SupplierContract `json:"contracts"`
	ArchivedAt       *time.Time         `json:"archivedAt" description:"null while in use"`
	CreatedAt        time.Time          `json:"createdAt"`
	UpdatedAt        time.Time          `json:"updatedAt"`
}

// SupplierContact is someone to speak to at a supplier.
type SupplierContact struct {
	Name  string `json:"name"`
	Role  string `json:"role"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// SupplierContract is a contract with a supplier, by its reference, and the clearance it requires of the
// supplier's people at each site.
type SupplierContract struct {
	Reference string         `json:"reference"`
	Title     string         `json:"title"`
	StartsOn  Date           `json:"startsOn"`
	EndsOn    Date           `json:"endsOn"`
	Sites     []ContractSite `json:"sites"`
}

// ContractSite is the clearance a contract requires at one site.
type ContractSite struct {
	LocationID    uuid.UUID `json:"locationId"`
	RequiredLevel Level     `json:"requiredLevel"`
}

// ClearanceState is where a person stands, for a supplier's compliance view: the one vocabulary of it.
type ClearanceState string

const (
	StateCleared    ClearanceState = "cleared"     // holds a clearance in force beyond ExpiringWithin
	StateExpiring   ClearanceState = "expiring"    // holds one in force that ends within ExpiringWithin
	StateInProgress ClearanceState = "in_progress" // none in force, and a vetting case open
	StateLapsed     ClearanceState = "lapsed"      // none in force, no case open, and held one before
	StateUncleared  ClearanceState = "uncleared"   // never held one, and no case open
)

// ClearanceStates lists every ClearanceState.
var ClearanceStates = []ClearanceState{StateCleared, StateExpiring, StateInProgress, StateLapsed, StateUncleared}

func (s ClearanceState) Valid() bool { return slices.Contains(ClearanceStates, s) }

// ExpiringWithin is how close to its last day a clearance in force counts as expiring, in days.
const ExpiringWithin = 90

// StateOf is a person's clearance state on day today: inForce is the last day of the clearance in force
// that lasts longest (zero: none is), heldBefore whether they ever held one, caseOpen whether a vetting
// case of theirs is open.
func StateOf(today, inForce Date, heldBefore, caseOpen bool) ClearanceState {
	switch {
	case !inForce.IsZero() && !inForce.Before(today.AddDays(ExpiringWithin)):
		return StateCleared
	case !inForce.IsZero() && !inForce.Before(today):
		return StateExpiring
	case caseOpen:
		return StateInProgress
	case heldBefore:
		return StateLapsed
	}
	return StateUncleared
}
