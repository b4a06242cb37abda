package api

import (
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// routes registers every route; each one is in the OpenAPI document.
func (s *Server) routes() error {
	var ops []op
	for _, group := range [][]op{s.systemRoutes(), s.uiRoutes(), s.referenceRoutes(), s.supplierRoutes(), s.personRoutes(), s.caseRoutes(),
		s.partnerRoutes(), s.externalRoutes(), s.externalAuditRoutes(), s.accessRoutes(), s.messagingRoutes(), s.templateRoutes(), s.consentRoutes(),
		s.reminderPolicyRoutes(), s.clearanceRenewalRoutes(), s.messagingWebhookRoutes(), s.broadcastRoutes(),
		s.identityRoutes(), s.userRoutes(), s.tokenRoutes(), s.signInRoutes(), s.auditTreeRoutes(), s.auditVerificationRoutes(), s.evidencePackRoutes(), s.eventRoutes(), s.webhookRoutes(), s.travelRoutes(), s.travelLinkRoutes()} {
		ops = append(ops, group...)
	}
	for _, o := range ops {
		if err := s.add(o); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) systemRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/healthz", summary: "The process is up", public: true, resp: new(health),
			handle: func(c *gin.Context) error { c.JSON(http.StatusOK, health{Status: "ok"}); return nil }},
		{method: http.MethodGet, path: "/readyz", summary: "The database and Temporal are reachable", public: true,
			resp: new(health), handle: s.ready},
		{method: http.MethodGet, path: "/api/openapi.json", summary: "This document", public: true,
			resp: new(map[string]any), handle: func(c *gin.Context) error { c.Data(http.StatusOK, "application/json", s.specDoc); return nil }},
	}
}

func (s *Server) ready(c *gin.Context) error {
	status, h := readiness(c.Request.Context(), s.Store, s.Temporal)
	c.JSON(status, h)
	return nil
}

// OrganisationInput sets this deployment's organisation settings.
type OrganisationInput struct {
	Name             *string `json:"name" required:"true" maxLength:"200"`
	IssuingAuthority *string `json:"issuingAuthority" required:"true" maxLength:"200"`
	TimeZone         *string `json:"timeZone,omitempty" description:"IANA zone, e.g. Europe/London"`
	ScopeCaseWorkers *bool   `json:"scopeCaseWorkers,omitempty" description:"limit case workers to the persons of their sites and suppliers; absent: unchanged"`
}

// LocationInput adds a site.
type LocationInput struct {
	Code     *string `json:"code" required:"true" maxLength:"200"`
	Name     *string `json:"name" required:"true" maxLength:"200"`
	TimeZone *string `json:"timeZone,omitempty"`
	Address  *string `json:"address,omitempty" text:"free"`
}

type idPath struct {
	ID string `path:"id" format:"uuid"`
}

type clearanceQuery struct {
	Level          domain.Level `query:"level"`
	Status         string       `query:"status" description:"comma-separated statuses"`
	ExpiringBefore string       `query:"expiringBefore" format:"date"`
	SupplierID     string       `query:"supplierId" format:"uuid" description:"the clearances of the supplier's persons"`
	pageQuery
}

type auditQuery struct {
	EntityType string `query:"entityType" required:"true"`
	EntityID   string `query:"entityId" required:"true"`
}

var (
	adminOnly     = []domain.Role{domain.RoleAdmin}
	auditReaders  = []domain.Role{domain.RoleAuditor, domain.RoleAdmin, domain.RoleSecurityController}
	defaultTZName = "Europe/London"
)

func (s *Server) referenceRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/organisation", summary: "This organisation's settings", roles: allStaff,
			resp: new(domain.Organisation), handle: s.getOrganisation},
		{method: http.MethodPut, path: "/api/v1/organisation", summary: "Change this organisation's settings", roles: adminOnly,
			req: new(OrganisationInput), resp: new(domain.Organisation), handle: s.putOrganisation},
		{method: http.MethodGet, path: "/api/v1/locations", summary: "List sites", roles: allStaff,
			resp: new([]domain.Location), handle: s.listLocations},
		{method: http.MethodPost, path: "/api/v1/locations", summary: "Add a site", roles: adminOnly,
			req: new(LocationInput), resp: new(domain.Location), status: http.StatusCreated, handle: s.createLocation},
		{method: http.MethodGet, path: "/api/v1/locations/:id", summary: "Get a site", roles: allStaff,
			req: new(idPath), resp: new(domain.Location), handle: s.getLocation},
		{method: http.MethodGet, path: "/api/v1/clearances", summary: "The clearance register, soonest expiring first",
			roles: allStaff, req: new(clearanceQuery), resp: new(List[ClearanceSummary]), handle: s.clearanceRegister},
		{method: http.MethodGet, path: "/api/v1/me", summary: "The calling user", roles: allStaff,
			resp: new(domain.StaffUser), handle: func(c *gin.Context) error { u, _ := principal(c); return respond(c, u, nil) }},
		{method: http.MethodGet, path: "/api/v1/me/notifications", summary: "The calling user's notifications",
			roles: allStaff, req: new(pageQuery), resp: new([]NotificationView), handle: s.myNotifications},
		{method: http.MethodPost, path: "/api/v1/me/notifications/read", summary: "Mark the calling user's notifications read: those named, or all",
			roles: allStaff, req: new(MarkReadInput), resp: new(MarkedRead), handle: s.markNotificationsRead},
		{method: http.MethodGet, path: "/api/v1/audit", summary: "The audit trail of one entity", roles: auditReaders,
			req: new(auditQuery), resp: new([]store.AuditRecord), handle: s.auditTrail},
	}
}

func (s *Server) getOrganisation(c *gin.Context) error {
	o, err := s.Store.Organisation(c)
	return respond(c, o, err)
}

func (s *Server) putOrganisation(c *gin.Context) error {
	var in OrganisationInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	o := domain.Organisation{Name: requiredName(&errs, "name", in.Name),
		IssuingAuthority: requiredName(&errs, "issuingAuthority", in.IssuingAuthority), TimeZone: timeZone(&errs, in.TimeZone)}
	if err := errs.err(); err != nil {
		return err
	}
	if in.ScopeCaseWorkers != nil {
		o.ScopeCaseWorkers = *in.ScopeCaseWorkers
	} else {
		was, err := s.Store.Organisation(c)
		if err != nil {
			return err
		}
		o.ScopeCaseWorkers = was.ScopeCaseWorkers
	}
	o, err := s.Store.UpdateOrganisation(c, actor(c), o)
	return respond(c, o, err)
}

// requiredName reads a one-line field that must not be empty (the request boundary has cleaned it and
// checked its maxLength).
func requiredName(errs *fields, name string, v *string) string { return requiredText(errs, name, v) }

// optionalText reads an optional text field, already cleaned by the request boundary.
func optionalText(v *string) string {
	if v == nil {
		return ""
	}
	return *v
}

func timeZone(errs *fields, v *string) string {
	if v == nil || *v == "" {
		return defaultTZName
	}
	if _, err := time.LoadLocation(*v); err != nil {
		errs.add("timeZone", "is not an IANA time zone")
	}
	return *v
}

func (s *Server) listLocations(c *gin.Context) error {
	items, err := s.Store.Locations(c)
	return respond(c, nonNil(items), err)
}

func (s *Server) createLocation(c *gin.Context) error {
	var in LocationInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	l := domain.Location{Code: requiredName(&errs, "code", in.Code), Name: requiredName(&errs, "name", in.Name),
		TimeZone: timeZone(&errs, in.TimeZone), Address: optionalText(in.Address)}
	if err := errs.err(); err != nil {
		return err
	}
	l, err := s.Store.CreateLocation(c, actor(c), l)
	return created(c, "/api/v1/locations/"+l.ID.String(), l, err)
}

func (s *Server) getLocation(c *gin.Context) error {
	id, err := pathID(c, "location")
	if err != nil {
		return err
	}
	l, err := s.Store.Location(c, id)
	return respond(c, l, notFoundAs(err, "location"))
}

func (s *Server) clearanceRegister(c *gin.Context) error {
	q := query{c: c}
	f := store.ClearanceFilter{Reach: credential(c).Reach,
		Statuses:       enum(&q, "status", domain.ClearanceStatus.Valid, domain.ClearanceStatuses),
		Level:          single(&q, "level", domain.Level.Valid, domain.Levels),
		ExpiringBefore: q.date("expiringBefore"), SupplierID: q.uuid("supplierId"), Page: q.page(),
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.ClearanceRegister(c, f)
	if err != nil {
		return err
	}
	out, err := namedBy(s, c, items, func(cl domain.Clearance) *uuid.UUID { return &cl.PersonID },
		func(cl domain.Clearance, name string) ClearanceSummary {
			return ClearanceSummary{Clearance: cl, PersonName: name}
		})
	if err != nil {
		return err
	}
	return respond(c, list(out, total, f.Page), nil)
}

func (s *Server) auditTrail(c *gin.Context) error {
	q := query{c: c}
	typ, id := q.text("entityType"), q.text("entityId")
	for _, f := range []struct{ name, v string }{{"entityType", typ}, {"entityId", id}} {
		if f.v == "" && !slices.ContainsFunc(q.errs, func(e FieldError) bool { return e.Field == f.name }) {
			q.errs.add(f.name, "is required")
		}
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	trail, err := s.Store.AuditTrail(c, typ, id)
	return respond(c, nonNil(trail), err)
}

// respond answers 200 with v, or the problem err stands for.
func respond[T any](c *gin.Context, v T, err error) error {
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

// created answers 201 with v and its location, or the problem err stands for.
func created[T any](c *gin.Context, location string, v T, err error) error {
	if err != nil {
		return err
	}
	c.Header("Location", location)
	c.JSON(http.StatusCreated, v)
	return nil
}
