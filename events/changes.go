package events

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// Draft is an event to be written with the audit entry of its change. Data holds ids and states only;
// the display name of the person PersonID names is written apart from it (the outbox's names column).
type Draft struct {
	Type     Type           `json:"type"`
	Version  int            `json:"version"`
	Subject  string         `json:"subject"`
	Data     map[string]any `json:"data"`
	PersonID *uuid.UUID     `json:"person,omitempty"`
}

// Subjects: opaque ids only.
func PersonSubject(id uuid.UUID) string    { return "person/" + id.String() }
func CaseSubject(caseRef string) string    { return "case/" + caseRef }
func ClearanceSubject(id uuid.UUID) string { return "clearance/" + id.String() }
func PartnerSubject(siteID string) string  { return "partner/" + siteID }
func SupplierSubject(id string) string     { return "supplier/" + id }
func GrantSubject(grantID string) string   { return "access-grant/" + grantID }
func TripSubject(tripID string) string     { return "travel/" + tripID }
func FindingSubject(findingID string) string {
	return "access-finding/" + findingID
}

func draft(t Type, subject string, person *uuid.UUID, data map[string]any) Draft {
	if _, ok := byType[t]; !ok {
		panic(fmt.Sprintf("events: %s is not in the catalogue", t))
	}
	return Draft{Type: t, Version: t.Version(), Subject: subject, Data: data, PersonID: person}
}

// Audit is what FromAudit reads of an audit entry.
type Audit struct {
	Action     string
	EntityType string
	EntityID   string
	Detail     map[string]any
}

// FromAudit gives the events an audit entry's change writes, from its action: the one mapping of audited
// changes to events (cases, whose events need the case, are CaseChange's). Only ids and states are copied
// from the detail, never free text (reasons, notes) or personal values.
func FromAudit(a Audit) []Draft {
	person := func() *uuid.UUID {
		if a.EntityType != "person" {
			return nil
		}
		id, err := uuid.Parse(a.EntityID)
		if err != nil {
			return nil
		}
		return &id
	}
	pick := func(data map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			if v, ok := a.Detail[k]; ok && v != nil {
				data[k] = v
			}
		}
		return data
	}
	clearance := func(t Type, status string) []Draft {
		p := person()
		if p == nil {
			return nil
		}
		id := fmt.Sprint(a.Detail["clearanceId"])
		data := pick(map[string]any{"clearanceId": id, "personId": p.String(), "status": status},
			"level", "sourceCaseRef", "refusedCaseRef", "validTo", "daysLeft")
		return []Draft{draft(t, "clearance/"+id, p, data)}
	}
	switch action := a.Action; {
	case action == "person.create":
		if p := person(); p != nil {
			return []Draft{draft(PersonCreated, PersonSubject(*p), p, map[string]any{"personId": p.String()})}
		}
	case action == "person.update":
		if p := person(); p != nil {
			return []Draft{draft(PersonUpdated, PersonSubject(*p), p,
				pick(map[string]any{"personId": p.String()}, "fields"))}
		}
	case action == "clearance.record":
		return clearance(ClearanceGranted, "active")
	case action == "clearance.expiring":
		return clearance(ClearanceExpiring, "active")
	case action == "clearance.expire":
		return clearance(ClearanceExpired, "expired")
	case action == "clearance.suspended":
		return clearance(ClearanceSuspended, "suspended")
	case action == "clearance.active":
		return clearance(ClearanceReinstated, "active")
	case action == "clearance.revoked":
		return clearance(ClearanceRevoked, "revoked")
	case action == "access.grant.active" || action == "access.grant.ended":
		p := person()
		if p == nil {
			return nil
		}
		t, status := AccessGrantActivated, "active"
		if action == "access.grant.ended" {
			t, status = AccessGrantEnded, "ended"
		}
		id := fmt.Sprint(a.Detail["grantId"])
		return []Draft{draft(t, GrantSubject(id), p,
			pick(map[string]any{"grantId": id, "personId": p.String(), "status": status}, "levelId"))}
	case strings.HasPrefix(action, "access.finding.") && action != "access.finding.resolve":
		id := fmt.Sprint(a.Detail["findingId"])
		data := pick(map[string]any{"findingId": id, "kind": strings.TrimPrefix(action, "access.finding.")},
			"acsUserId", "action")
		p := person()
		if p != nil {
			data["personId"] = p.String()
		}
		return []Draft{draft(AccessFinding, FindingSubject(id), p, data)}
	case a.EntityType == "supplier" && supplierActions[action] != "":
		return []Draft{draft(supplierActions[action], SupplierSubject(a.EntityID), nil,
			pick(map[string]any{"supplierId": a.EntityID}, "fields"))}
	case action == "external.lookup":
		return []Draft{draft(PartnerLookup, PartnerSubject(a.EntityID), nil,
			pick(map[string]any{"siteId": a.EntityID}, "status", "outcome", "keyId"))}
	case a.EntityType == "travel_trip" && travelSteps[action] != "":
		p, err := uuid.Parse(fmt.Sprint(a.Detail["personId"]))
		if err != nil {
			return nil
		}
		return []Draft{draft(travelSteps[action], TripSubject(a.EntityID), &p,
			pick(map[string]any{"tripId": a.EntityID, "personId": p.String()}, "status", "policyVersion",
				"decision", "aftercareCaseRef"))}
	case strings.HasPrefix(action, "identity.check.") && a.EntityType == "vetting_case":
		status := domain.IdentityStatus(strings.TrimPrefix(action, "identity.check."))
		if !status.Final() {
			return nil
		}
		return []Draft{draft(IdentityCheckCompleted, CaseSubject(a.EntityID), nil,
			pick(map[string]any{"caseRef": a.EntityID, "status": string(status)}, "attempt"))}
	}
	return nil
}

// supplierActions are the audited supplier changes that are events.
var supplierActions = map[string]Type{
	"supplier.create":  SupplierCreated,
	"supplier.update":  SupplierUpdated,
	"supplier.archive": SupplierArchived,
	"supplier.restore": SupplierRestored,
}

// caseKinds are the case timeline kinds (domain.CaseEvent.Kind) that are events of their own.
var caseKinds = map[string]Type{
	"opened":              CaseOpened,
	"outcome":             CaseOutcomeRecorded,
	"delegated":           CaseDelegated,
	"returned_to_partner": CaseReturned,
}

// CaseChange gives the events of a case timeline event: its own (opened, outcome, delegated, returned) and
// case.status_changed when the status moved from prev (empty for a new case).
func CaseChange(c domain.Case, kind string, prev domain.CaseStatus) []Draft {
	person := c.PersonID
	base := func() map[string]any {
		return map[string]any{"caseRef": c.CaseRef, "personId": person.String(), "status": c.Status,
			"version": c.Version}
	}
	var out []Draft
	if t, ok := caseKinds[kind]; ok {
		data := base()
		switch t {
		case CaseOpened:
			data["caseType"], data["requestedLevel"], data["dueAt"] = c.Type, c.RequestedLevel, c.DueAt
			if c.ForSiteID != nil {
				data["forSiteId"] = c.ForSiteID.String()
			}
		case CaseOutcomeRecorded:
			data["outcome"], data["outcomeLevel"], data["validFrom"], data["validTo"] =
				c.Outcome, c.OutcomeLevel, c.ValidFrom, c.ValidTo
		case CaseDelegated:
			if c.DelegatedSiteID != nil {
				data["siteId"] = c.DelegatedSiteID.String()
			}
			data["delegationDueAt"] = c.DelegationDueAt
		case CaseReturned:
			if c.ForSiteID != nil {
				data["siteId"] = c.ForSiteID.String()
			}
		}
		out = append(out, draft(t, CaseSubject(c.CaseRef), &person, data))
	}
	if prev != "" && prev != c.Status {
		data := base()
		data["from"] = prev
		out = append(out, draft(CaseStatusChanged, CaseSubject(c.CaseRef), &person, data))
	}
	return out
}

// PersonDeactivatedDraft is person.deactivated of the person id.
func PersonDeactivatedDraft(id uuid.UUID) Draft {
	return draft(PersonDeactivated, PersonSubject(id), &id, map[string]any{"personId": id.String(), "active": false})
}

// DisclosureDraft is disclosure.recorded of d: which person, to which site, from which source, and the
// names of the fields disclosed (never their values, the recipient or the reason).
func DisclosureDraft(d domain.Disclosure) Draft {
	fields := make([]string, 0, len(d.Disclosed))
	for k := range d.Disclosed {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	data := map[string]any{"disclosureId": d.ID.String(), "personId": d.PersonID.String(), "source": d.Source,
		"fields": fields}
	if d.SiteID != nil {
		data["siteId"] = d.SiteID.String()
	}
	person := d.PersonID
	return draft(DisclosureRecorded, PersonSubject(person), &person, data)
}

// MessageSubject and BroadcastSubject: opaque ids.
func MessageSubject(id string) string      { return "message/" + id }
func BroadcastSubject(id uuid.UUID) string { return "broadcast/" + id.String() }

// MessageFailedDraft is message.failed of m, failed or undelivered: its ids, channel, status and the
// provider's error code, never the recipient, body or reason.
func MessageFailedDraft(m domain.Message) Draft {
	data := map[string]any{"messageId": m.ID, "channel": m.Channel, "template": m.Template, "status": m.Status}
	if m.ErrorCode != nil {
		data["errorCode"] = *m.ErrorCode
	}
	if m.CaseRef != nil {
		data["caseRef"] = *m.CaseRef
	}
	if m.BroadcastID != nil {
		data["broadcastId"] = m.BroadcastID.String()
	}
	if m.PersonID != nil {
		data["personId"] = m.PersonID.String()
	}
	return draft(MessageFailed, MessageSubject(m.ID), m.PersonID, data)
}

// BroadcastCompletedDraft is broadcast.completed of the broadcast id.
func BroadcastCompletedDraft(id uuid.UUID) Draft {
	return draft(BroadcastCompleted, BroadcastSubject(id), nil, map[string]any{"broadcastId": id.String(), "status": "closed"})
}

// AuditSubject is the subject of the audit log's checkpoints (one log per SignetAssure).
const AuditSubject = "audit/tree"

// CheckpointDraft is audit.checkpoint of the audit tree signed at size with root: the signed note itself
// (C2SP tlog-checkpoint, key keyID), so a subscriber that keeps it holds a witness of the log outside
// SignetAssure's database. It names no entry and no person.
func CheckpointDraft(origin string, size uint64, root []byte, keyID, note string) Draft {
	return draft(AuditCheckpoint, AuditSubject, nil, map[string]any{"origin": origin, "size": size,
		"rootHash": root, "keyId": keyID, "checkpoint": note})
}
