package domain

import "slices"

// StaffScope is what a staff API token (or a session made from one) may do, on top of what its holder's
// roles allow: a token holds the scopes it was issued with, and a request needs both a role and the
// route's scope. Each route of the API names one scope (the OpenAPI document shows which).
type StaffScope string

const (
	ScopeCasesRead         StaffScope = "cases:read"         // persons, cases, clearances, disclosures, reference data
	ScopeCasesWrite        StaffScope = "cases:write"        // open and work cases, add and edit persons
	ScopeAccessRead        StaffScope = "access:read"        // access levels, grants, syncs, findings, door events
	ScopeAccessWrite       StaffScope = "access:write"       // grant and revoke access, level policies, syncs
	ScopeMessagingRead     StaffScope = "messaging:read"     // messages, broadcasts, groups, templates
	ScopeMessagingSend     StaffScope = "messaging:send"     // send messages and broadcasts, consents, reminder policy
	ScopePartnersAdmin     StaffScope = "partners:admin"     // partner sites and their keys
	ScopeAuditRead         StaffScope = "audit:read"         // the audit log
	ScopeUsersAdmin        StaffScope = "users:admin"        // staff users, their tokens and sessions
	ScopeOrganisationAdmin StaffScope = "organisation:admin" // organisation settings, sites, suppliers
	ScopeEventsRead        StaffScope = "events:read"        // the lifecycle events outbox
	ScopeWebhooksAdmin     StaffScope = "webhooks:admin"     // webhook subscriptions, their secrets and delivery log
)

// StaffScopes lists every StaffScope.
var StaffScopes = []StaffScope{ScopeCasesRead, ScopeCasesWrite, ScopeAccessRead, ScopeAccessWrite, ScopeMessagingRead,
	ScopeMessagingSend, ScopePartnersAdmin, ScopeAuditRead, ScopeUsersAdmin, ScopeOrganisationAdmin, ScopeEventsRead,
	ScopeWebhooksAdmin}

func (s StaffScope) Valid() bool { return slices.Contains(StaffScopes, s) }
