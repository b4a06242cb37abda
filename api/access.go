package api

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-contrib/sse"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

var (
	accessAdmins   = []domain.Role{domain.RoleSecurityController, domain.RoleAdmin}
	grantRequester = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleSecurityController}
)

// LevelPolicyInput sets the clearance a level demands; null makes the level ungrantable.
type LevelPolicyInput struct {
	ID            string        `path:"id"`
	RequiredLevel *domain.Level `json:"requiredLevel" required:"true" nullable:"true"`
}

// ProfileRuleInput adds a profile rule; every condition given must hold.
type ProfileRuleInput struct {
	ClearanceLevel *domain.Level `json:"clearanceLevel,omitempty"`
	OwnStaff       *bool         `json:"ownStaff,omitempty"`
	SupplierID     *string       `json:"supplierId,omitempty" format:"uuid"`
	LocationID     *string       `json:"locationId,omitempty" format:"uuid"`
	ACSProfileID   *string       `json:"acsProfileId" required:"true" maxLength:"100" description:"a profile of the access control system's catalogue"`
}

// GrantInput requests an access level for a person. Dates are RFC 3339 with an offset, a local date-time
// ("2026-12-01T08:00") or a date ("2026-12-01": from the start of that day; as endsAt, to its end), read in
// timeZone, which defaults to the person's site's zone.
type GrantInput struct {
	ID       string  `path:"id" format:"uuid"`
	LevelID  *string `json:"levelId" required:"true"`
	StartsAt *string `json:"startsAt" required:"true"`
	EndsAt   *string `json:"endsAt" required:"true"`
	TimeZone *string `json:"timeZone,omitempty" description:"IANA zone, e.g. Europe/London"`
	Reason   *string `json:"reason,omitempty" text:"free"`
}

// RevokeGrantInput ends a grant now.
type RevokeGrantInput struct {
	ID     string  `path:"id"`
	Reason *string `json:"reason" required:"true" text:"free"`
}

// ClearanceStatusInput suspends, revokes or reinstates a clearance.
type ClearanceStatusInput struct {
	ID     string  `path:"id" format:"uuid"`
	Status *string `json:"status" required:"true" enum:"suspended,revoked,active"`
	Reason *string `json:"reason" required:"true" text:"free"`
}

// ResolveFindingInput closes a finding; for a duplicate, keepUserId names the record to govern.
type ResolveFindingInput struct {
	ID         string  `path:"id"`
	KeepUserID *string `json:"keepUserId,omitempty"`
	Note       *string `json:"note,omitempty" text:"free"`
}

// MappingsInput replaces the mappings of suppliers (or own staff: no supplierId) to the access control
// system's companies, and of sites to its locations.
type MappingsInput struct {
	Companies []struct {
		SupplierID   *string `json:"supplierId" format:"uuid" description:"absent or null: own staff"`
		ACSCompanyID string  `json:"acsCompanyId" maxLength:"100"`
	} `json:"companies"`
	Locations []struct {
		LocationID    *string `json:"locationId" format:"uuid"`
		ACSLocationID string  `json:"acsLocationId" maxLength:"100"`
	} `json:"locations"`
}

// PersonAccess is a person's access: their record in the ACS with the dates inactivity will disable and
// remove it, their grants, what syncs found, and the changes made.
type PersonAccess struct {
	Link       *domain.AccessLink       `json:"link"`
	Grants     []domain.AccessGrant     `json:"grants"`
	Findings   []domain.AccessFinding   `json:"findings"`
	Operations []domain.AccessOperation `json:"operations"`
}

// SyncStarted answers a sync requested on demand.
type SyncStarted struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// refPath names a record by an id of the access control system or an opaque reference.
type refPath struct {
	ID string `path:"id"`
}

type grantListQuery struct {
	PersonID   string `query:"personId" format:"uuid"`
	SupplierID string `query:"supplierId" format:"uuid" description:"the grants of the supplier's persons"`
	Status     string `query:"status" description:"comma-separated statuses (scheduled,active: access held)"`
	pageQuery
}

type eventsQuery struct {
	ID    string `path:"id" format:"uuid"`
	After int64  `query:"after" description:"events after this seq"`
}

func (s *Server) accessRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/access/levels", summary: "Access levels of the access control system, with the clearance each demands",
			roles: allStaff, resp: new([]domain.AccessLevel), handle: s.listLevels},
		{method: http.MethodPut, path: "/api/v1/access/levels/:id/policy", summary: "Set the clearance a level demands",
			roles: accessAdmins, req: new(LevelPolicyInput), resp: new(domain.AccessLevel), handle: s.setLevelPolicy},
		{method: http.MethodGet, path: "/api/v1/access/catalogue", summary: "The access control system's companies, locations, levels and profiles, read live",
			roles: accessAdmins, resp: new(access.Catalogue), handle: s.catalogue},
		{method: http.MethodGet, path: "/api/v1/access/mappings", summary: "Company and location mapping to the access control system",
			roles: allStaff, resp: new(store.Mappings), handle: s.getMappings},
		{method: http.MethodPut, path: "/api/v1/access/mappings", summary: "Replace the company and location mapping",
			roles: accessAdmins, req: new(MappingsInput), resp: new(store.Mappings), handle: s.setMappings},
		{method: http.MethodGet, path: "/api/v1/access/profile-rules", summary: "Rules assigning access profiles on sync",
			roles: allStaff, resp: new([]domain.ProfileRule), handle: s.listProfileRules},
		{method: http.MethodPost, path: "/api/v1/access/profile-rules", summary: "Add a profile rule",
			roles: accessAdmins, req: new(ProfileRuleInput), resp: new(domain.ProfileRule), status: http.StatusCreated, handle: s.createProfileRule},
		{method: http.MethodDelete, path: "/api/v1/access/profile-rules/:id", summary: "Remove a profile rule",
			roles: accessAdmins, req: new(idPath), resp: new(struct{}), status: http.StatusNoContent, handle: s.deleteProfileRule},
		{method: http.MethodPost, path: "/api/v1/persons/:id/access/grants", summary: "Request an access level for a person, from a start to an end",
			roles: grantRequester, req: new(GrantInput), resp: new(domain.AccessGrant), status: http.StatusCreated,
			alt: map[int]any{http.StatusAccepted: new(Pending)}, handle: s.requestGrant},
		{method: http.MethodGet, path: "/api/v1/persons/:id/access", summary: "A person's access: record, inactivity dates, grants, findings, changes",
			roles: allStaff, req: new(personPath), resp: new(PersonAccess), handle: s.personAccess},
		{method: http.MethodGet, path: "/api/v1/persons/:id/access/events", summary: "A person's access events, oldest first",
			roles: allStaff, req: new(eventsQuery), resp: new([]domain.AccessEvent), handle: s.personEvents},
		{method: http.MethodGet, path: "/api/v1/persons/:id/access/events/stream", summary: "A person's access events as they arrive (Server-Sent Events), after the recent ones",
			roles: allStaff, req: new(eventsQuery), resp: new(domain.AccessEvent), handle: s.streamEvents},
		{method: http.MethodGet, path: "/api/v1/access/grants", summary: "Access grants, newest start first, with the site each level opens",
			roles: allStaff, req: new(grantListQuery), resp: new(List[store.GrantRow]), handle: s.listGrants},
		{method: http.MethodGet, path: "/api/v1/access/grants/:id", summary: "Get a grant",
			roles: allStaff, req: new(refPath), resp: new(domain.AccessGrant), handle: s.getGrant},
		{method: http.MethodPost, path: "/api/v1/access/grants/:id/revoke", summary: "Revoke a grant now",
			roles: grantRequester, req: new(RevokeGrantInput), resp: new(domain.AccessGrant), handle: s.revokeGrant},
		{method: http.MethodPost, path: "/api/v1/clearances/:id/status", summary: "Suspend, revoke or reinstate a clearance; access follows",
			roles: []domain.Role{domain.RoleVettingOfficer, domain.RoleSecurityController}, req: new(ClearanceStatusInput),
			resp: new(domain.Clearance), handle: s.setClearanceStatus},
		{method: http.MethodPost, path: "/api/v1/access/syncs", summary: "Sync the access control system now",
			roles: accessAdmins, resp: new(SyncStarted), status: http.StatusAccepted, handle: s.startSync},
		{method: http.MethodGet, path: "/api/v1/access/syncs", summary: "Syncs, newest first", roles: allStaff,
			req: new(pageQuery), resp: new(List[AccessSyncSummary]), handle: s.listSyncs},
		{method: http.MethodGet, path: "/api/v1/access/syncs/:id", summary: "A sync's progress (done / total, errors) and result",
			roles: allStaff, req: new(refPath), resp: new(AccessSyncSummary), handle: s.getSync},
		{method: http.MethodGet, path: "/api/v1/access/findings", summary: "Unresolved findings: unapproved access removed, duplicates, possible matches",
			roles: allStaff, req: new(pageQuery), resp: new(List[AccessFindingSummary]), handle: s.listFindings},
		{method: http.MethodPost, path: "/api/v1/access/findings/:id/resolve", summary: "Resolve a finding",
			roles: accessAdmins, req: new(ResolveFindingInput), resp: new(domain.AccessFinding), handle: s.resolveFinding},
		{method: http.MethodGet, path: "/api/v1/access/operations", summary: "Journal of changes to the access control system; ?failed=true for failures",
			roles: accessAdmins, req: new(pageQuery), resp: new(List[AccessOperationSummary]), handle: s.listOperations},
		{method: http.MethodPost, path: "/api/v1/access/operations/:id/replay", summary: "Replay an operation: reconcile its person again now",
			roles: accessAdmins, req: new(refPath), resp: new(domain.AccessOperation), status: http.StatusAccepted, handle: s.replayOperation},
		{method: http.MethodPost, path: "/api/v1/access/webhook", summary: "Events pushed by the access control system (signature checked)",
			public: true, resp: new(struct{}), status: http.StatusNoContent, handle: s.accessWebhook},
	}
}

func (s *Server) listLevels(c *gin.Context) error {
	ls, err := s.Store.AccessLevels(c)
	return respond(c, nonNil(ls), err)
}

func (s *Server) setLevelPolicy(c *gin.Context) error {
	var in LevelPolicyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var required *domain.Level
	if in.RequiredLevel != nil {
		var errs fields
		l := enumField(&errs, "requiredLevel", in.RequiredLevel, domain.Level.Valid, domain.Levels)
		if err := errs.err(); err != nil {
			return err
		}
		required = &l
	}
	l, err := s.Store.SetLevelPolicy(c, actor(c), c.Param("id"), required)
	if err != nil {
		return notFoundAs(err, "access level")
	}
	c.JSON(http.StatusOK, l)
	return nil
}

func (s *Server) catalogue(c *gin.Context) error {
	cat, err := s.acsCatalogue(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, cat)
	return nil
}

// acsCatalogue reads the access control system's catalogue live, which ids given to the API are checked
// against: a rule or a mapping naming an id the system does not hold would be accepted and then make
// every sync fail for everyone it covers.
func (s *Server) acsCatalogue(c *gin.Context) (access.Catalogue, error) {
	if s.ACS == nil {
		return access.Catalogue{}, conflict("no access control system is configured")
	}
	cat, err := s.ACS.Catalogue(c)
	if err != nil {
		return cat, acsUnavailable(err)
	}
	return cat, nil
}

// inCatalogue checks that an id given for an ACS reference (cleaned, bounded and required before) is one
// of known: the catalogue's ids of that kind.
func inCatalogue(errs *fields, name, id string, known []string, kind string) {
	if !slices.Contains(known, id) {
		errs.add(name, "is not a %s in the access control system's catalogue", kind)
	}
}

func refIDs(rs []access.Ref) []string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids
}

// acsUnavailable answers for an access control system that failed.
func acsUnavailable(err error) error {
	p := problem(http.StatusBadGateway, "access-control-unavailable", "the access control system did not answer as expected")
	if k := access.KindOf(err); k != "" {
		p.Detail += " (" + string(k) + ")"
	}
	return p
}

func (s *Server) getMappings(c *gin.Context) error {
	m, err := s.Store.AccessMappings(c)
	m.Companies, m.Locations = nonNil(m.Companies), nonNil(m.Locations)
	return respond(c, m, err)
}

func (s *Server) setMappings(c *gin.Context) error {
	var in MappingsInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var m store.Mappings
	seen := map[string]bool{}
	for i, cm := range in.Companies {
		at := "companies[" + strconv.Itoa(i) + "]"
		supplier := fieldID(&errs, at+".supplierId", cm.SupplierID)
		key := "own"
		if supplier != nil {
			key = supplier.String()
		}
		if seen[key] {
			errs.add(at+".supplierId", "is mapped twice")
		}
		seen[key] = true
		m.Companies = append(m.Companies, store.CompanyMapping{SupplierID: supplier,
			ACSCompanyID: requiredText(&errs, at+".acsCompanyId", &cm.ACSCompanyID)})
	}
	for i, lm := range in.Locations {
		at := "locations[" + strconv.Itoa(i) + "]"
		acsLocation := requiredText(&errs, at+".acsLocationId", &lm.ACSLocationID)
		location := requiredID(&errs, at+".locationId", lm.LocationID)
		if location == nil {
			continue
		}
		if seen[location.String()] {
			errs.add(at+".locationId", "is mapped twice")
			continue
		}
		seen[location.String()] = true
		m.Locations = append(m.Locations, store.LocationMapping{LocationID: *location, ACSLocationID: acsLocation})
	}
	if err := errs.err(); err != nil {
		return err // refused before the access control system is asked
	}
	cat, err := s.acsCatalogue(c)
	if err != nil {
		return err
	}
	companies, locations := refIDs(cat.Companies), refIDs(cat.Locations)
	for i, cm := range m.Companies {
		inCatalogue(&errs, "companies["+strconv.Itoa(i)+"].acsCompanyId", cm.ACSCompanyID, companies, "company")
	}
	for i, lm := range in.Locations {
		inCatalogue(&errs, "locations["+strconv.Itoa(i)+"].acsLocationId", lm.ACSLocationID, locations, "location")
	}
	if err := errs.err(); err != nil {
		return err
	}
	if err := s.Store.SetAccessMappings(c, actor(c), m); err != nil {
		return err
	}
	return s.getMappings(c)
}

func (s *Server) listProfileRules(c *gin.Context) error {
	rs, err := s.Store.ProfileRules(c)
	return respond(c, nonNil(rs), err)
}

func (s *Server) createProfileRule(c *gin.Context) error {
	var in ProfileRuleInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	r := domain.ProfileRule{SupplierID: fieldID(&errs, "supplierId", in.SupplierID),
		LocationID: fieldID(&errs, "locationId", in.LocationID)}
	if in.ClearanceLevel != nil {
		l := enumField(&errs, "clearanceLevel", in.ClearanceLevel, domain.Level.Valid, domain.Levels)
		r.ClearanceLevel = &l
	}
	if in.OwnStaff != nil {
		r.OwnStaff = *in.OwnStaff
		if r.OwnStaff && r.SupplierID != nil {
			errs.add("ownStaff", "cannot be set with supplierId")
		}
	}
	r.ACSProfileID = requiredText(&errs, "acsProfileId", in.ACSProfileID)
	if err := errs.err(); err != nil {
		return err // refused before the access control system is asked
	}
	cat, err := s.acsCatalogue(c)
	if err != nil {
		return err
	}
	profiles := make([]string, len(cat.Profiles))
	for i, p := range cat.Profiles {
		profiles[i] = p.ID
	}
	inCatalogue(&errs, "acsProfileId", r.ACSProfileID, profiles, "profile")
	if err := errs.err(); err != nil {
		return err
	}
	out, err := s.Store.CreateProfileRule(c, actor(c), r)
	if err != nil {
		return err
	}
	s.reviewEveryone(c)
	c.JSON(http.StatusCreated, out)
	return nil
}

func (s *Server) deleteProfileRule(c *gin.Context) error {
	id, err := pathID(c, "profile rule")
	if err != nil {
		return err
	}
	if err := s.Store.DeleteProfileRule(c, actor(c), id); err != nil {
		return notFoundAs(err, "profile rule")
	}
	s.reviewEveryone(c)
	c.Status(http.StatusNoContent)
	return nil
}

// reviewEveryone starts a sync after a rule changed, so profiles follow without waiting for the schedule.
// The rule is saved either way; the scheduled sync applies it if this start fails.
func (s *Server) reviewEveryone(c *gin.Context) {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if _, err := workflows.StartAccessSync(ctx, s.Temporal, s.TaskQueue, "rules"); err != nil {
		s.Log.Warn("access: sync after a rule change not started; the schedule will apply it", "error", err)
	}
}

// grantTime reads a grant date: RFC 3339 with an offset, a local date-time, or a date (its start, or for
// an end its end), in zone.
func grantTime(errs *fields, name string, v *string, zone *time.Location, end bool) time.Time {
	s := requiredText(errs, name, v)
	if s == "" {
		return time.Time{}
	}
	t, ok := parseGrantTime(s, zone, end)
	if !ok {
		errs.add(name, "must be a date (2026-12-01), a local date-time (2026-12-01T08:00) or RFC 3339 with an offset")
	} else if !timeInRange(t) {
		errs.add(name, "must be from %s to %s", domain.MinDate, domain.MaxDate)
		return time.Time{}
	}
	return t
}

func parseGrantTime(s string, zone *time.Location, end bool) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t.UTC(), true
		}
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, zone); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d.UTC(), true
	}
	return time.Time{}, false
}

// zoneFor is the zone a person's dates are read in: their site's, else the organisation's.
func (s *Server) zoneFor(c *gin.Context, p domain.Person) (string, error) {
	if p.LocationID != nil {
		l, err := s.Store.Location(c, *p.LocationID)
		if err == nil {
			return l.TimeZone, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
	}
	org, err := s.Store.Organisation(c)
	return org.TimeZone, err
}

func (s *Server) requestGrant(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	var in GrantInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	key := idempotencyKey(c, &errs)
	zoneName, err := s.zoneFor(c, p)
	if err != nil {
		return err
	}
	if in.TimeZone != nil {
		zoneName = *in.TimeZone
	}
	zone, zErr := time.LoadLocation(zoneName)
	if zErr != nil || zoneName == "" || zoneName == "Local" {
		errs.add("timeZone", "is not an IANA time zone")
		zone = time.UTC
	}
	g := domain.AccessGrant{PersonID: p.ID, TimeZone: zoneName,
		StartsAt: grantTime(&errs, "startsAt", in.StartsAt, zone, false),
		EndsAt:   grantTime(&errs, "endsAt", in.EndsAt, zone, true)}
	if !g.StartsAt.IsZero() && !g.EndsAt.IsZero() && !g.EndsAt.After(g.StartsAt) {
		errs.add("endsAt", "must be after startsAt")
	} else if !g.EndsAt.IsZero() && !g.EndsAt.After(time.Now()) {
		errs.add("endsAt", "must be in the future")
	}
	g.Reason = optionalText(in.Reason)
	if g.LevelID = requiredText(&errs, "levelId", in.LevelID); errs.err() == nil {
		if _, err := s.Store.AccessLevel(c, g.LevelID); errors.Is(err, store.ErrNotFound) {
			errs.add("levelId", "refers to no access level")
		} else if err != nil {
			return err
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	at := max(g.StartsAt.Unix(), time.Now().Unix())
	el, err := s.Store.GrantEligibility(c, p.ID, g.LevelID, time.Unix(at, 0))
	if err != nil {
		return err
	}
	if !el.Eligible {
		return conflict("not grantable: " + el.Reason)
	}
	requester := actorID(c)
	g.RequestedBy = &requester
	g.ID = domain.NewGrantID()
	if key != "" {
		g.ID = keyedRef("g_", requester, "grant", key)
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	st, err := workflows.OpenGrant(ctx, s.Temporal, s.TaskQueue, g)
	var pending *workflows.Pending
	if errors.As(err, &pending) {
		return accepted(c, "/api/v1/access/grants/", Pending{ID: g.ID,
			Detail: "the grant is requested but no worker has taken it up yet; it goes on when a worker runs"})
	}
	if err != nil {
		return err
	}
	if st.Grant.PersonID != g.PersonID || st.Grant.LevelID != g.LevelID {
		return conflict("this Idempotency-Key was used for another request")
	}
	c.Header("Location", "/api/v1/access/grants/"+g.ID)
	c.JSON(http.StatusCreated, st.Grant)
	return nil
}

func (s *Server) getGrant(c *gin.Context) error {
	g, err := s.Store.Grant(c, c.Param("id"))
	if err != nil {
		return notFoundAs(err, "grant")
	}
	c.JSON(http.StatusOK, g)
	return nil
}

func (s *Server) revokeGrant(c *gin.Context) error {
	id := c.Param("id")
	var in RevokeGrantInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	key := idempotencyKey(c, &errs)
	reason := requiredText(&errs, "reason", in.Reason)
	if err := errs.err(); err != nil {
		return err
	}
	if _, err := s.Store.Grant(c, id); err != nil {
		return notFoundAs(err, "grant")
	}
	updateID := ""
	if key != "" {
		updateID = keyedID(actorID(c), "revoke", id, key)
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	st, err := workflows.RevokeAccessGrant(ctx, s.Temporal, id, updateID, workflows.RevokeGrant{Actor: actorID(c),
		Reason: reason})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st.Grant)
	return nil
}

func (s *Server) setClearanceStatus(c *gin.Context) error {
	id, err := pathID(c, "clearance")
	if err != nil {
		return err
	}
	var in ClearanceStatusInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	status := enumField(&errs, "status", in.Status, func(s string) bool {
		return s == "suspended" || s == "revoked" || s == "active"
	}, []string{"suspended", "revoked", "active"})
	reason := requiredText(&errs, "reason", in.Reason)
	if err := errs.err(); err != nil {
		return err
	}
	cl, err := s.Store.SetClearanceStatus(c, actor(c), id, status, reason)
	switch {
	case errors.Is(err, store.ErrWrongState):
		return conflict("only an active clearance can be suspended or revoked, and only a suspended one reinstated")
	case err != nil:
		return notFoundAs(err, "clearance")
	}
	s.review(c, cl.PersonID)
	c.JSON(http.StatusOK, cl)
	return nil
}

// review asks for a person's access to be re-evaluated now. The change that prompted it is saved either
// way; if Temporal cannot take the request, the next sync applies it.
func (s *Server) review(c *gin.Context, personID uuid.UUID) {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if err := workflows.ReviewAccess(ctx, s.Temporal, s.TaskQueue, personID); err != nil {
		s.Log.Warn("access: review not started; the next sync applies the change", "error", err)
	}
}

func (s *Server) personAccess(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	var out PersonAccess
	link, err := s.Store.AccessLink(c, p.ID, s.Inactivity)
	switch {
	case err == nil:
		out.Link = &link
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	if out.Grants, err = s.Store.PersonGrants(c, p.ID); err != nil {
		return err
	}
	recent := store.Page{Limit: 50}
	if out.Findings, _, err = s.Store.AccessFindings(c, &p.ID, recent); err != nil {
		return err
	}
	if out.Operations, _, err = s.Store.AccessOperations(c, &p.ID, false, recent); err != nil {
		return err
	}
	out.Grants, out.Findings, out.Operations = nonNil(out.Grants), nonNil(out.Findings), nonNil(out.Operations)
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) personEvents(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	q := query{c: c}
	after := q.int64("after")
	if err := q.errs.err(); err != nil {
		return err
	}
	evs, err := s.Store.PersonAccessEvents(c, p.ID, after, 500, false)
	return respond(c, nonNil(evs), err)
}

// streamEvents sends a person's recent access events, then each new one as it is stored, as Server-Sent
// Events whose id is the event's seq: a client reconnecting with Last-Event-ID misses nothing.
func (s *Server) streamEvents(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	q := query{c: c}
	after := q.int64("after")
	if err := q.errs.err(); err != nil {
		return err
	}
	fromEnd := true
	if last := c.GetHeader("Last-Event-ID"); last != "" {
		if n, err := strconv.ParseInt(last, 10, 64); err == nil {
			after, fromEnd = n, false
		}
	}
	s.streamSSE(c, time.Second, func() ([]sse.Event, bool, error) {
		evs, err := s.Store.PersonAccessEvents(c, p.ID, after, 100, fromEnd)
		fromEnd = false
		events := make([]sse.Event, len(evs))
		for i, e := range evs {
			events[i] = sse.Event{Id: strconv.FormatInt(e.Seq, 10), Event: "access", Data: e}
			after = e.Seq
		}
		return events, len(evs) == 100, err // a full page: more are waiting, no pause
	})
	return nil
}

func (s *Server) startSync(c *gin.Context) error {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	id, err := workflows.StartAccessSync(ctx, s.Temporal, s.TaskQueue, "manual")
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/access/syncs/"+id)
	c.JSON(http.StatusAccepted, SyncStarted{ID: id, Status: "started"})
	return nil
}

func (s *Server) listSyncs(c *gin.Context) error {
	q := query{c: c}
	p := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.AccessSyncs(c, p)
	if err != nil {
		return err
	}
	out, err := s.syncSummaries(c, items)
	return respond(c, list(out, total, p), err)
}

func (s *Server) getSync(c *gin.Context) error {
	sy, err := s.Store.AccessSync(c, c.Param("id"))
	if err != nil {
		return notFoundAs(err, "sync")
	}
	out, err := s.syncSummaries(c, []domain.AccessSync{sy})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out[0])
	return nil
}

func (s *Server) listFindings(c *gin.Context) error {
	q := query{c: c}
	p := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.AccessFindings(c, nil, p)
	if err != nil {
		return err
	}
	out, err := s.findingSummaries(c, items)
	return respond(c, list(out, total, p), err)
}

func (s *Server) resolveFinding(c *gin.Context) error {
	var in ResolveFindingInput
	if err := decode(c, &in); err != nil {
		return err
	}
	f, err := s.Store.ResolveFinding(c, actor(c), c.Param("id"), optionalText(in.KeepUserID), optionalText(in.Note))
	if err != nil {
		return notFoundAs(err, "finding")
	}
	if f.PersonID != nil {
		s.review(c, *f.PersonID)
	}
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) listOperations(c *gin.Context) error {
	q := query{c: c}
	p := q.page()
	failed := q.bool("failed")
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.AccessOperations(c, nil, failed != nil && *failed, p)
	if err != nil {
		return err
	}
	out, err := s.operationSummaries(c, items)
	return respond(c, list(out, total, p), err)
}

func (s *Server) replayOperation(c *gin.Context) error {
	o, err := s.Store.AccessOperation(c, c.Param("id"))
	if err != nil {
		return notFoundAs(err, "operation")
	}
	if o.PersonID == nil {
		return conflict("the operation names no person")
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if err := workflows.ReviewAccess(ctx, s.Temporal, s.TaskQueue, *o.PersonID); err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, o)
	return nil
}

// accessWebhook takes events an ACS pushes; the connector checks the delivery's signature.
func (s *Server) accessWebhook(c *gin.Context) error {
	recv, ok := s.ACS.(access.WebhookReceiver)
	if !ok {
		return notFound("webhook")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	events, err := recv.ParseWebhook(c.Request, body)
	if err != nil {
		return problem(http.StatusUnauthorized, "bad-signature", "the delivery's signature does not verify")
	}
	if _, err := s.Store.AddAccessEvents(c, events); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listGrants(c *gin.Context) error {
	q := query{c: c}
	f := store.GrantFilter{PersonID: q.uuid("personId"), SupplierID: q.uuid("supplierId"), Reach: credential(c).Reach,
		Statuses: enum(&q, "status", domain.GrantStatus.Valid, domain.GrantStatuses), Page: q.page()}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.Grants(c, f)
	return respond(c, list(items, total, f.Page), err)
}
