package domain

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// TripStatus is where a reported foreign trip stands.
type TripStatus string

const (
	// TripPending: before departure, with a briefing or an approval the policy asks for still outstanding.
	TripPending TripStatus = "pending"
	// TripReady: before departure, nothing outstanding (or nothing asked for).
	TripReady TripStatus = "ready"
	// TripAway: departed, not yet back.
	TripAway TripStatus = "away"
	// TripDebriefDue: back, the debrief the policy asks for not yet given.
	TripDebriefDue TripStatus = "debrief_due"
	// The final statuses: closed (back, debriefed or no debrief asked), refused by a security controller,
	// cancelled.
	TripClosed    TripStatus = "closed"
	TripRefused   TripStatus = "refused"
	TripCancelled TripStatus = "cancelled"
)

var TripStatuses = []TripStatus{TripPending, TripReady, TripAway, TripDebriefDue, TripClosed, TripRefused, TripCancelled}

func (s TripStatus) Valid() bool { return slices.Contains(TripStatuses, s) }

// Final reports whether the trip accepts no further action.
func (s TripStatus) Final() bool { return s == TripClosed || s == TripRefused || s == TripCancelled }

// BeforeDeparture reports whether the trip may still be acknowledged, decided or changed.
func (s TripStatus) BeforeDeparture() bool { return s == TripPending || s == TripReady }

// TripCompanions says whether the traveller goes alone.
type TripCompanions string

const (
	TravellingAlone      TripCompanions = "alone"
	TravellingWithOthers TripCompanions = "with_others"
)

var TripCompanionValues = []TripCompanions{TravellingAlone, TravellingWithOthers}

func (c TripCompanions) Valid() bool { return slices.Contains(TripCompanionValues, c) }

// TripDecision is a security controller's decision on a trip that needs approval.
type TripDecision string

const (
	TripApproved        TripDecision = "approved"
	TripRefusedDecision TripDecision = "refused"
)

var TripDecisions = []TripDecision{TripApproved, TripRefusedDecision}

func (d TripDecision) Valid() bool { return slices.Contains(TripDecisions, d) }

// MaxTripDays bounds any trip's length and MaxTripLead how far ahead one is reported: beyond them a
// date is taken for a typing error.
const (
	MaxTripDays = 366
	MaxTripLead = 2 * 366
)

// TripRequirements is what the travel policy asks of a trip.
type TripRequirements struct {
	Briefing bool `json:"briefing"`
	Approval bool `json:"approval"`
	// DebriefDays is how many days after return the debrief is due; 0: no debrief.
	DebriefDays int `json:"debriefDays"`
}

// Trip is one reported foreign trip of a person.
type Trip struct {
	ID         uuid.UUID      `json:"id"`
	PersonID   uuid.UUID      `json:"personId"`
	Countries  []string       `json:"countries"`
	DepartsOn  Date           `json:"departsOn"`
	ReturnsOn  Date           `json:"returnsOn"`
	Purpose    string         `json:"purpose"`
	Companions TripCompanions `json:"companions"`
	Devices    []string       `json:"devices"`
	Status     TripStatus     `json:"status"`
	// PolicyVersion is the travel policy the trip was assessed under (at report, or at its last change);
	// Level and ClearanceID the person's highest clearance in force then (none: no policy applies, and
	// nothing is required).
	PolicyVersion int        `json:"policyVersion"`
	Level         *Level     `json:"level"`
	ClearanceID   *uuid.UUID `json:"clearanceId"`
	// ConcernCountries are the destinations on the policy's list of countries of concern.
	ConcernCountries []string         `json:"concernCountries"`
	Requires         TripRequirements `json:"requires"`
	// TooLong: longer than the policy allows; the clearance's owner was told.
	TooLong          bool          `json:"tooLong"`
	BriefedAt        *time.Time    `json:"briefedAt"`
	Decision         *TripDecision `json:"decision"`
	DecidedBy        *uuid.UUID    `json:"decidedBy"`
	DecidedAt        *time.Time    `json:"decidedAt"`
	DecisionReason   string        `json:"decisionReason"`
	Debrief          *TripDebrief  `json:"debrief"`
	DebriefedAt      *time.Time    `json:"debriefedAt"`
	AftercareCaseRef *string       `json:"aftercareCaseRef"`
	CancelReason     string        `json:"cancelReason"`
	ReportedBy       *uuid.UUID    `json:"reportedBy"`
	CreatedAt        time.Time     `json:"createdAt"`
	UpdatedAt        time.Time     `json:"updatedAt"`
}

// Outstanding reports whether a briefing or an approval the trip needs is still missing.
func (t Trip) Outstanding() (briefing, approval bool) {
	return t.Requires.Briefing && t.BriefedAt == nil,
		t.Requires.Approval && (t.Decision == nil || *t.Decision != TripApproved)
}

// PreDepartureStatus is pending while a briefing or approval is outstanding, else ready.
func (t Trip) PreDepartureStatus() TripStatus {
	if b, a := t.Outstanding(); b || a {
		return TripPending
	}
	return TripReady
}

// Days is the trip's length in days, departure and return days both counted.
func (t Trip) Days() int {
	return int(t.ReturnsOn.Time().Sub(t.DepartsOn.Time())/(24*time.Hour)) + 1
}

// TripDebrief is what the traveller reports after return.
type TripDebrief struct {
	OfficialContact bool   `json:"officialContact"`
	Approach        bool   `json:"approach"`
	Incident        bool   `json:"incident"`
	DeviceLost      bool   `json:"deviceLost"`
	Details         string `json:"details"`
}

// NeedsAftercare: an approach or an incident opens an aftercare case.
func (d TripDebrief) NeedsAftercare() bool { return d.Approach || d.Incident }

// CountryOfConcern is a listed country, with where the listing comes from and its date.
type CountryOfConcern struct {
	Code     string `json:"code"`
	Source   string `json:"source"`
	ListedOn Date   `json:"listedOn"`
}

// TravelRule is what trips of a person cleared at Level require, to a country of concern (Concern) or
// not. A combination without a rule requires nothing.
type TravelRule struct {
	Level   Level `json:"level"`
	Concern bool  `json:"concern"`
	TripRequirements
}

// TravelPolicy is the organisation's travel policy, one version of it. A trip records the version it was
// assessed under, so a later version does not rewrite its history.
type TravelPolicy struct {
	Version            int                `json:"version"`
	CountriesOfConcern []CountryOfConcern `json:"countriesOfConcern"`
	Rules              []TravelRule       `json:"rules"`
	// MaxTripDays: a longer trip flags the clearance's owner.
	MaxTripDays int `json:"maxTripDays"`
	// ReminderDays are the days before departure that a missing briefing or approval is reminded (the
	// person, the security controllers); EscalationDays the day before departure it is escalated.
	ReminderDays   []int      `json:"reminderDays"`
	EscalationDays int        `json:"escalationDays"`
	UpdatedBy      *uuid.UUID `json:"updatedBy"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// Assess is what the policy asks of a trip to countries by a person cleared at level (nil: no clearance,
// and nothing is asked): the destinations of concern, and the requirements of their rule.
func (p TravelPolicy) Assess(level *Level, countries []string) ([]string, TripRequirements) {
	concern := []string{}
	for _, c := range countries {
		if slices.ContainsFunc(p.CountriesOfConcern, func(cc CountryOfConcern) bool { return cc.Code == c }) {
			concern = append(concern, c)
		}
	}
	if level == nil {
		return concern, TripRequirements{}
	}
	for _, r := range p.Rules {
		if r.Level == *level && r.Concern == (len(concern) > 0) {
			return concern, r.TripRequirements
		}
	}
	return concern, TripRequirements{}
}

// TripStep is one recorded step of a trip: its audit action is "travel." and the step.
type TripStep string

const (
	TripStepReported  TripStep = "reported"
	TripStepChanged   TripStep = "changed"
	TripStepBriefed   TripStep = "briefed"
	TripStepDecided   TripStep = "decided"
	TripStepCancelled TripStep = "cancelled"
	TripStepDeparted  TripStep = "departed"
	TripStepReturned  TripStep = "returned"
	TripStepDebriefed TripStep = "debriefed"
	TripStepAftercare TripStep = "aftercare"
)

// TripChange is a trip's new destinations, dates and details, reported before departure.
type TripChange struct {
	Countries  []string       `json:"countries"`
	DepartsOn  Date           `json:"departsOn"`
	ReturnsOn  Date           `json:"returnsOn"`
	Purpose    string         `json:"purpose"`
	Companions TripCompanions `json:"companions"`
	Devices    []string       `json:"devices"`
}

// TripStepInput is one step of a trip to record. Key makes it idempotent: a step whose key is recorded
// already changes nothing.
type TripStepInput struct {
	TripID uuid.UUID
	Step   TripStep
	Key    string
	Actor  *uuid.UUID `json:",omitempty"`
	// Decision and Reason of a decision; Reason of a cancellation.
	Decision TripDecision `json:",omitempty"`
	Reason   string       `json:",omitempty"`
	Change   *TripChange  `json:",omitempty"`
	Debrief  *TripDebrief `json:",omitempty"`
	// CaseRef is the aftercare case a debrief opened.
	CaseRef string `json:",omitempty"`
}

// ErrTripStep: the trip's status does not allow the step.
var ErrTripStep = errors.New("the trip's status does not allow this step")

// Apply changes t as the step says at now, or refuses a step its status does not allow. A change sets
// the new destinations and dates and voids the briefing and decision given for the trip as it was; its
// assessment under the policy is the caller's.
func (t *Trip) Apply(in TripStepInput, now time.Time) error {
	allowed := map[TripStep]bool{
		TripStepBriefed: t.Status.BeforeDeparture(), TripStepDecided: t.Status.BeforeDeparture(),
		TripStepChanged: t.Status.BeforeDeparture() && in.Change != nil, TripStepCancelled: t.Status.BeforeDeparture(),
		TripStepDeparted: t.Status.BeforeDeparture(), TripStepReturned: t.Status == TripAway,
		TripStepDebriefed: t.Status == TripDebriefDue && in.Debrief != nil, TripStepAftercare: t.Status == TripClosed,
	}
	if !allowed[in.Step] {
		return fmt.Errorf("%w: %s while %s", ErrTripStep, in.Step, t.Status)
	}
	switch in.Step {
	case TripStepBriefed:
		t.BriefedAt = &now
		t.Status = t.PreDepartureStatus()
	case TripStepDecided:
		d := in.Decision
		t.Decision, t.DecidedBy, t.DecidedAt, t.DecisionReason = &d, in.Actor, &now, in.Reason
		t.Status = t.PreDepartureStatus()
		if d == TripRefusedDecision {
			t.Status = TripRefused
		}
	case TripStepCancelled:
		t.Status, t.CancelReason = TripCancelled, in.Reason
	case TripStepChanged:
		c := in.Change
		t.Countries, t.DepartsOn, t.ReturnsOn, t.Purpose, t.Companions, t.Devices =
			c.Countries, c.DepartsOn, c.ReturnsOn, c.Purpose, c.Companions, c.Devices
		t.BriefedAt, t.Decision, t.DecidedBy, t.DecidedAt, t.DecisionReason = nil, nil, nil, nil, ""
		t.Status = t.PreDepartureStatus()
	case TripStepDeparted:
		t.Status = TripAway
	case TripStepReturned:
		t.Status = TripClosed
		if t.Requires.DebriefDays > 0 {
			t.Status = TripDebriefDue
		}
	case TripStepDebriefed:
		t.Debrief, t.DebriefedAt, t.Status = in.Debrief, &now, TripClosed
	case TripStepAftercare:
		ref := in.CaseRef
		t.AftercareCaseRef = &ref
	}
	return nil
}

// The purposes of a traveller's link.
const (
	TripLinkBriefing = "briefing"
	TripLinkDebrief  = "debrief"
)
