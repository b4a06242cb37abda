package domain

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// AtLeast reports whether a clearance at l satisfies a policy demanding min.
func (l Level) AtLeast(min Level) bool {
	i, j := slices.Index(Levels, l), slices.Index(Levels, min)
	return i >= 0 && j >= 0 && i >= j
}

// GrantStatus is where an access grant stands. Scheduled and active grants are open.
type GrantStatus string

const (
	GrantScheduled GrantStatus = "scheduled" // waits for its start
	GrantActive    GrantStatus = "active"    // the level is on the person's record in the ACS
	GrantEnded     GrantStatus = "ended"     // its end date passed
	GrantRevoked   GrantStatus = "revoked"   // revoked by staff, or the clearance it rests on lapsed
	GrantBlocked   GrantStatus = "blocked"   // its level is gone from the ACS
)

// GrantStatuses lists every GrantStatus.
var GrantStatuses = []GrantStatus{GrantScheduled, GrantActive, GrantEnded, GrantRevoked, GrantBlocked}

func (s GrantStatus) Valid() bool { return slices.Contains(GrantStatuses, s) }

func (s GrantStatus) Open() bool { return s == GrantScheduled || s == GrantActive }

// NewGrantID makes an opaque grant id: "g_" and 26 random base-32 characters.
func NewGrantID() string { return "g_" + strings.ToLower(randText()) }

// IsGrantID reports whether s has the shape of a grant id.
func IsGrantID(s string) bool { return hasRefShape(s, "g_") }

// AccessLevel is an ACS access level with the clearance SignetAssure's policy demands for it.
type AccessLevel struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	ACSLocationID string    `json:"acsLocationId"`
	RequiredLevel *Level    `json:"requiredLevel" description:"the clearance a person must hold; null: not grantable yet"`
	Present       bool      `json:"present" description:"false once the level is gone from the ACS"`
	RefreshedAt   time.Time `json:"refreshedAt"`
}

// AccessGrant is a time-bounded access level for a person. StartsAt and EndsAt are UTC instants; TimeZone
// is the site's zone they were given in.
type AccessGrant struct {
	ID          string      `json:"id"`
	PersonID    uuid.UUID   `json:"personId"`
	LevelID     string      `json:"levelId"`
	StartsAt    time.Time   `json:"startsAt"`
	EndsAt      time.Time   `json:"endsAt"`
	TimeZone    string      `json:"timeZone"`
	Status      GrantStatus `json:"status"`
	Reason      string      `json:"reason"`
	EndReason   string      `json:"endReason"`
	RequestedBy *uuid.UUID  `json:"requestedBy"`
	CreatedAt   time.Time   `json:"createdAt"`
	UpdatedAt   time.Time   `json:"updatedAt"`
}

// ProfileRule assigns an ACS access profile to everyone who matches all its set conditions.
type ProfileRule struct {
	ID             uuid.UUID  `json:"id"`
	ClearanceLevel *Level     `json:"clearanceLevel" description:"holds an active clearance at this level or above"`
	OwnStaff       bool       `json:"ownStaff" description:"employed by this organisation"`
	SupplierID     *uuid.UUID `json:"supplierId"`
	LocationID     *uuid.UUID `json:"locationId"`
	ACSProfileID   string     `json:"acsProfileId"`
	CreatedAt      time.Time  `json:"createdAt"`
}

// AccessLink is a person's record in the ACS, with the dates inactivity will disable and remove it.
type AccessLink struct {
	PersonID    uuid.UUID  `json:"personId"`
	ACSUserID   *string    `json:"acsUserId"`
	State       string     `json:"state" enum:"active,disabled,removed"`
	LastEventAt *time.Time `json:"lastEventAt"`
	SyncedAt    *time.Time `json:"syncedAt"`
	DisableAt   *time.Time `json:"disableAt" description:"when inactivity disables the record, unless the person badges in"`
	RemoveAt    *time.Time `json:"removeAt" description:"when inactivity removes the record"`
	CreatedAt   time.Time  `json:"createdAt"`
}

// AccessEvent is one event of the ACS's feed.
type AccessEvent struct {
	Seq       int64      `json:"seq"`
	ID        string     `json:"id"`
	At        time.Time  `json:"at"`
	ACSUserID *string    `json:"acsUserId"`
	PersonID  *uuid.UUID `json:"personId"`
	Type      string     `json:"type"`
	Door      string     `json:"door"`
}

// AccessFinding is something a sync found that a person should look at.
type AccessFinding struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	PersonID   *uuid.UUID     `json:"personId"`
	ACSUserID  string         `json:"acsUserId"`
	Detail     map[string]any `json:"detail"`
	Action     string         `json:"action"`
	FoundAt    time.Time      `json:"foundAt"`
	ResolvedAt *time.Time     `json:"resolvedAt"`
	ResolvedBy *uuid.UUID     `json:"resolvedBy"`
}

// AccessSync is one run of the reconciliation, with its progress.
type AccessSync struct {
	ID         string         `json:"id"`
	Trigger    string         `json:"trigger"`
	Status     string         `json:"status" enum:"running,completed,completed_with_errors,failed"` // completed_with_errors: some persons were not reconciled (result.failed names them)
	Total      int            `json:"total"`
	Done       int            `json:"done"`
	Errors     int            `json:"errors"`
	Result     map[string]any `json:"result"`
	StartedAt  time.Time      `json:"startedAt"`
	FinishedAt *time.Time     `json:"finishedAt"`
}

// AccessOperation is one journalled change to the ACS.
type AccessOperation struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	PersonID  *uuid.UUID `json:"personId"`
	ACSUserID string     `json:"acsUserId"`
	SyncID    *string    `json:"syncId"`
	Status    string     `json:"status" enum:"pending,done,failed"`
	Attempts  int        `json:"attempts"`
	Error     string     `json:"error"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
}
