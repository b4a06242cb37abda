// Package events is SignetAssure's one catalogue of lifecycle events (issue 16): the event types with
// their version and what each says, the CloudEvents 1.0 envelope they travel in, and which audited
// changes write which events (FromAudit). The store writes an event in the same statement as the audit
// entry of the change it describes (a transactional outbox, schema/018_events.sql).
package events

import "sort"

// Type is an event type's name, e.g. case.opened. Its version is in the catalogue; the envelope's type
// attribute carries both (case.opened.v1).
type Type string

// The catalogue's types.
const (
	CaseOpened             Type = "case.opened"
	CaseStatusChanged      Type = "case.status_changed"
	CaseOutcomeRecorded    Type = "case.outcome_recorded"
	CaseDelegated          Type = "case.delegated"
	CaseReturned           Type = "case.returned"
	ClearanceGranted       Type = "clearance.granted"
	ClearanceExpiring      Type = "clearance.expiring"
	ClearanceExpired       Type = "clearance.expired"
	ClearanceSuspended     Type = "clearance.suspended"
	ClearanceReinstated    Type = "clearance.reinstated"
	ClearanceRevoked       Type = "clearance.revoked"
	AccessGrantActivated   Type = "access.grant.activated"
	AccessGrantEnded       Type = "access.grant.ended"
	AccessFinding          Type = "access.finding"
	PersonCreated          Type = "person.created"
	PersonUpdated          Type = "person.updated"
	PersonDeactivated      Type = "person.deactivated"
	DisclosureRecorded     Type = "disclosure.recorded"
	PartnerLookup          Type = "partner.lookup"
	IdentityCheckCompleted Type = "identity.check.completed"
	MessageFailed          Type = "message.failed"
	BroadcastCompleted     Type = "broadcast.completed"
	AuditCheckpoint        Type = "audit.checkpoint"
	SupplierCreated        Type = "supplier.created"
	SupplierUpdated        Type = "supplier.updated"
	SupplierArchived       Type = "supplier.archived"
	SupplierRestored       Type = "supplier.restored"
	TravelReported         Type = "travel.reported"
	TravelChanged          Type = "travel.changed"
	TravelBriefed          Type = "travel.briefed"
	TravelDecided          Type = "travel.decided"
	TravelCancelled        Type = "travel.cancelled"
	TravelDeparted         Type = "travel.departed"
	TravelReturned         Type = "travel.returned"
	TravelDebriefed        Type = "travel.debriefed"
	TravelAftercare        Type = "travel.aftercare_opened"
)

// Spec is one entry of the catalogue.
type Spec struct {
	Type        Type   `json:"type"`
	Version     int    `json:"version"`
	Description string `json:"description"`
}

// catalogue is the one list of event types: the docs, the store and (later) subscription filters read it.
var catalogue = []Spec{
	{CaseOpened, 1, "a vetting case was opened for a person"},
	{CaseStatusChanged, 1, "a case's status changed (data.from, data.status)"},
	{CaseOutcomeRecorded, 1, "the officer recorded a case's outcome and the level granted"},
	{CaseDelegated, 1, "a case was delegated to a partner site"},
	{CaseReturned, 1, "the outcome of a case done for a partner site was returned to that site"},
	{ClearanceGranted, 1, "a clearance was recorded for a person"},
	{ClearanceExpiring, 1, "a clearance will expire soon"},
	{ClearanceExpired, 1, "a clearance passed its expiry date"},
	{ClearanceSuspended, 1, "a clearance was suspended"},
	{ClearanceReinstated, 1, "a suspended clearance was reinstated"},
	{ClearanceRevoked, 1, "a clearance was revoked"},
	{AccessGrantActivated, 1, "an access level is on the person's record in the access control system"},
	{AccessGrantEnded, 1, "an access grant ended"},
	{AccessFinding, 1, "reconciling the access control system found a discrepancy"},
	{PersonCreated, 1, "a person was added"},
	{PersonUpdated, 1, "a person's record changed (data.fields names the fields, never their values)"},
	{PersonDeactivated, 1, "a person was made inactive"},
	{DisclosureRecorded, 1, "something about a person was disclosed to a partner"},
	{PartnerLookup, 1, "a partner site looked up a person through the external API"},
	{IdentityCheckCompleted, 1, "a case's identity check came back"},
	{MessageFailed, 1, "a message could not be sent or delivered (failed or undelivered)"},
	{BroadcastCompleted, 1, "a broadcast closed: sent, and its reply window over"},
	{AuditCheckpoint, 1, "the audit log's tree was signed at a new size"},
	{SupplierCreated, 1, "a supplier was added"},
	{SupplierUpdated, 1, "a supplier's record changed (data.fields names the fields, never their values)"},
	{SupplierArchived, 1, "a supplier was archived: kept for what refers to it, offered for nothing new"},
	{SupplierRestored, 1, "an archived supplier was restored to use"},
	{TravelReported, 1, "a foreign trip was reported for a person, and assessed under the travel policy (data.policyVersion)"},
	{TravelChanged, 1, "a trip's destinations or dates changed before departure; it was assessed again"},
	{TravelBriefed, 1, "the traveller acknowledged the pre-travel briefing"},
	{TravelDecided, 1, "a security controller approved or refused a trip (data.decision)"},
	{TravelCancelled, 1, "a trip was cancelled"},
	{TravelDeparted, 1, "a trip's departure day came"},
	{TravelReturned, 1, "a trip's return day passed (data.status debrief_due or closed)"},
	{TravelDebriefed, 1, "the traveller gave the post-travel debrief"},
	{TravelAftercare, 1, "a debrief reporting an approach or incident opened an aftercare case (data.aftercareCaseRef)"},
}

var byType = func() map[Type]Spec {
	m := make(map[Type]Spec, len(catalogue))
	for _, s := range catalogue {
		m[s.Type] = s
	}
	return m
}()

// Catalogue is every event type, in name order.
func Catalogue() []Spec {
	out := append([]Spec(nil), catalogue...)
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out
}

// Lookup gives a type's entry; ok is false for a type not in the catalogue.
func Lookup(t Type) (Spec, bool) {
	s, ok := byType[t]
	return s, ok
}

// travelSteps are the trip steps (domain.TripStep, audit action "travel." and the step) and their events.
var travelSteps = map[string]Type{
	"travel.reported": TravelReported, "travel.changed": TravelChanged, "travel.briefed": TravelBriefed,
	"travel.decided": TravelDecided, "travel.cancelled": TravelCancelled, "travel.departed": TravelDeparted,
	"travel.returned": TravelReturned, "travel.debriefed": TravelDebriefed, "travel.aftercare": TravelAftercare,
}

// Version is t's version (0 for a type not in the catalogue).
func (t Type) Version() int { return byType[t].Version }
