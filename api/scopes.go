package api

import (
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi3"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// scopeRules is the one table of which staff route needs which token scope: the first rule whose path
// is the route's path or a parent of it decides, by whether the route reads (GET) or writes. A rule
// with no scopes lets any credential through (its roles still apply).
var scopeRules = []struct {
	path        string
	read, write domain.StaffScope
}{
	// a user's own tokens and sessions: any credential, but a token issues only within its own scopes
	{"/api/v1/me/tokens", "", ""},
	{"/api/v1/me/sessions", "", ""},
	{"/api/v1/session", "", ""},
	// one's own notifications: reading them, and marking them read, is reading
	{"/api/v1/me/notifications", domain.ScopeCasesRead, domain.ScopeCasesRead},
	{"/api/v1/me", domain.ScopeCasesRead, domain.ScopeCasesWrite},
	{"/api/v1/persons/:id/access", domain.ScopeAccessRead, domain.ScopeAccessWrite},
	{"/api/v1/persons/:id/consents", domain.ScopeMessagingRead, domain.ScopeMessagingSend},
	{"/api/v1/access", domain.ScopeAccessRead, domain.ScopeAccessWrite},
	{"/api/v1/audit", domain.ScopeAuditRead, domain.ScopeAuditRead},
	// evidence packs are read out of the records and the audit log: asking for one reads
	{"/api/v1/evidence", domain.ScopeAuditRead, domain.ScopeAuditRead},
	// the lifecycle events outbox: read only, by administrators replaying what a subscriber missed
	{"/api/v1/events", domain.ScopeEventsRead, domain.ScopeEventsRead},
	// webhook subscriptions: reading them shows where events go, so it is administration too
	{"/api/v1/webhooks", domain.ScopeWebhooksAdmin, domain.ScopeWebhooksAdmin},
	{"/api/v1/broadcasts", domain.ScopeMessagingRead, domain.ScopeMessagingSend},
	{"/api/v1/groups", domain.ScopeMessagingRead, domain.ScopeMessagingSend},
	{"/api/v1/message-templates", domain.ScopeMessagingRead, domain.ScopeMessagingSend},
	{"/api/v1/messages", domain.ScopeMessagingRead, domain.ScopeMessagingSend},
	{"/api/v1/reminder-policy", domain.ScopeMessagingRead, domain.ScopeMessagingSend},
	{"/api/v1/partners", domain.ScopePartnersAdmin, domain.ScopePartnersAdmin},
	{"/api/v1/users/:id/tokens", domain.ScopeUsersAdmin, domain.ScopeUsersAdmin},
	{"/api/v1/users/:id/sessions", domain.ScopeUsersAdmin, domain.ScopeUsersAdmin},
	// who works here is read in casework (to assign a case); changing them is administration
	{"/api/v1/users", domain.ScopeCasesRead, domain.ScopeUsersAdmin},
	{"/api/v1/organisation", domain.ScopeCasesRead, domain.ScopeOrganisationAdmin},
	{"/api/v1/locations", domain.ScopeCasesRead, domain.ScopeOrganisationAdmin},
	{"/api/v1/suppliers", domain.ScopeCasesRead, domain.ScopeOrganisationAdmin},
	// persons, cases, clearances, disclosures, identity checks, the inbox
	{"/api/v1", domain.ScopeCasesRead, domain.ScopeCasesWrite},
}

// routeScope is the scope a staff route (method and Gin path) needs.
func routeScope(method, path string) (domain.StaffScope, bool) {
	for _, r := range scopeRules {
		if path == r.path || strings.HasPrefix(path, r.path+"/") {
			if writes(method) {
				return r.write, true
			}
			return r.read, true
		}
	}
	return "", false
}

// addScopeExtension marks a route's scope in the OpenAPI document as x-required-scope (HTTP bearer
// security names no scopes of its own).
func addScopeExtension(oc openapi.OperationContext, scope domain.StaffScope) error {
	o3, ok := oc.(openapi3.OperationExposer)
	if !ok {
		return fmt.Errorf("the OpenAPI operation does not take extensions")
	}
	o3.Operation().WithMapOfAnythingItem("x-required-scope", string(scope))
	return nil
}

// reachRules say which routes name a person, case, clearance or supplier in their path: a scoped case
// worker gets 404 for one outside their sites and suppliers, as for one that does not exist.
var reachRules = []struct {
	path  string
	param string
	what  store.Reachable
}{
	{"/api/v1/persons/:id", "id", store.ReachPerson},
	{"/api/v1/cases/:caseRef", "caseRef", store.ReachCase},
	{"/api/v1/clearances/:id", "id", store.ReachClearance},
	{"/api/v1/suppliers/:id", "id", store.ReachSupplier},
	{"/api/v1/travel/trips/:id", "id", store.ReachTrip},
}

// withinReach, for a route whose path names a person, case or clearance, refuses one outside the
// caller's reach (nil for other routes).
func (s *Server) withinReach(path string) gin.HandlerFunc {
	for _, r := range reachRules {
		if path == r.path || strings.HasPrefix(path, r.path+"/") {
			return func(c *gin.Context) {
				within, err := s.Store.Within(c, credential(c).Reach, r.what, c.Param(r.param))
				if err == nil && !within {
					err = notFound(string(r.what))
				}
				if err != nil {
					s.writeError(c, err)
					c.Abort()
					return
				}
				c.Next()
			}
		}
	}
	return nil
}
