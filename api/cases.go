package api

import (
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/swaggest/jsonschema-go"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// CaseView is a case with its timeline, the names of the people and partner it names, and the
// validity a clearance recorded on it today may have at each level it may be granted at.
type CaseView struct {
	domain.Case
	// PersonName is the subject's name.
	PersonName string `json:"personName" description:"the subject's name"`
	// OwnerName and OpenedByName are the staff users' names (empty when none).
	OwnerName    string `json:"ownerName,omitempty" description:"the vetting owner's name"`
	OpenedByName string `json:"openedByName,omitempty" description:"the name of the staff user who opened the case"`
	// DelegatedSiteName and ForSiteName name the partner sites of delegatedSiteId and forSiteId.
	DelegatedSiteName string `json:"delegatedSiteName,omitempty" description:"the partner site delegatedSiteId names"`
	ForSiteName       string `json:"forSiteName,omitempty" description:"the partner site forSiteId names"`
	// Validity is, for the requested level and each level below it, the longest a clearance recorded today
	// may be valid for (CLEARANCE_MAX_VALIDITY): the requested level first.
	Validity []LevelValidity `json:"validity" description:"the longest validity of a clearance recorded today, at the requested level (first) and each level below it"`
	Timeline []TimelineEvent `json:"timeline"`
}

// LevelValidity is the policy for one clearance level, applied to a clearance starting today.
type LevelValidity struct {
	Level domain.Level `json:"level"`
	// MaxValidity is the longest the level's clearance may be valid for, in words ("10 years").
	MaxValidity string `json:"maxValidity" description:"the level's longest validity in words (CLEARANCE_MAX_VALIDITY)"`
	// Period is MaxValidity in years, months and days, to add to another start date.
	Period domain.Period `json:"period"`
	// ValidFrom is today; ValidTo is the latest expiry a clearance starting today may have.
	ValidFrom domain.Date `json:"validFrom"`
	ValidTo   domain.Date `json:"validTo"`
}

// levelValidity is the policy for the requested level and the levels below it, the requested first.
func levelValidity(p domain.ValidityPolicy, requested domain.Level, from domain.Date) []LevelValidity {
	out := []LevelValidity{}
	for i := domain.LevelRank(requested); i >= 0; i-- {
		l := domain.Levels[i]
		out = append(out, LevelValidity{Level: l, MaxValidity: p.Max(l).String(), Period: p.Max(l), ValidFrom: from, ValidTo: p.Max(l).After(from)})
	}
	return out
}

// TimelineEvent is one entry on a case's timeline as the API shows it. It is not domain.CaseEvent, which
// is a payload in the case workflow's history and names its case: here the case is the one shown.
type TimelineEvent struct {
	Seq     int        `json:"seq"`
	At      time.Time  `json:"at"`
	Kind    string     `json:"kind"`
	ActorID *uuid.UUID `json:"actorId"`
	// ActorName is the acting staff user's name.
	ActorName string         `json:"actorName,omitempty"`
	Summary   string         `json:"summary"`
	Detail    map[string]any `json:"detail,omitempty"`
}

// timeline is a case's events as the API shows them; never nil.
func timeline(events []domain.CaseEvent) []TimelineEvent {
	out := make([]TimelineEvent, 0, len(events))
	for _, e := range events {
		out = append(out, TimelineEvent{Seq: e.Seq, At: e.At, Kind: e.Kind, ActorID: e.ActorID, ActorName: e.ActorName,
			Summary: e.Summary, Detail: e.Detail})
	}
	return out
}

// CaseSummary is a case in a list, with the names of its subject and owner and since when it has stood
// in its status.
type CaseSummary struct {
	domain.Case
	PersonName     string `json:"personName" description:"the subject's name"`
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	// OwnerName is the owning vetting officer's name; "" while the case has no owner.
	OwnerName string `json:"ownerName"`
	// StatusSince is when the case entered its current status (for a waiting case: since when it waits).
	StatusSince time.Time `json:"statusSince"`
}

// CaseCounts is how many cases within the caller's reach each work queue and each status holds.
type CaseCounts struct {
	Queues   map[store.CaseQueue]int   `json:"queues"`
	Statuses map[domain.CaseStatus]int `json:"statuses"`
}

// idempotent documents the Idempotency-Key header: requests repeated with the same key (by the same
// user) are carried out once and answered alike.
type idempotent struct {
	IdempotencyKey string `json:"-" header:"Idempotency-Key" maxLength:"200"`
}

func (idempotent) takesIdempotencyKey() {}

// OpenCaseInput opens a vetting case for a person.
type OpenCaseInput struct {
	idempotent
	PersonID         *string          `json:"personId" required:"true" format:"uuid"`
	Type             *domain.CaseType `json:"type" required:"true"`
	Level            *domain.Level    `json:"level" required:"true"`
	IssuingAuthority *string          `json:"issuingAuthority,omitempty" description:"defaults to the organisation's issuing authority"`
	// A check run for a partner: its outcome is posted back to that partner's /return.
	ForSiteID  *string `json:"forSiteId,omitempty" format:"uuid" description:"the partner site this check runs for"`
	ForCaseRef *string `json:"forCaseRef,omitempty" description:"the partner's case reference (v_...), with forSiteId"`
}

type caseRefPath struct {
	CaseRef caseRefParam `path:"caseRef"`
}

// caseRefParam is a case reference in a path: documented with domain.CaseRefPattern, the shape
// domain.IsCaseRef accepts.
type caseRefParam string

func (caseRefParam) PrepareJSONSchema(s *jsonschema.Schema) error {
	s.WithPattern(domain.CaseRefPattern)
	return nil
}

type caseListQuery struct {
	Status     string          `query:"status" description:"comma-separated statuses"`
	OwnerID    string          `query:"ownerId" format:"uuid"`
	PersonID   string          `query:"personId" format:"uuid"`
	SupplierID string          `query:"supplierId" format:"uuid" description:"the cases of the supplier's persons"`
	Level      domain.Level    `query:"level"`
	Type       domain.CaseType `query:"type"`
	DueBefore  string          `query:"dueBefore" format:"date"`
	Open       bool            `query:"open" description:"with no open, status or queue, closed cases are left out"`
	Queue      store.CaseQueue `query:"queue" description:"a work queue: mine (open cases the caller owns), unassigned, overdue, due_soon (within 7 days), waiting_on_subject (identity check or information requested), open, closed"`
	Q          string          `query:"q" maxLength:"200" description:"part of the person's name, their employee number or the case reference"`
	Sort       string          `query:"sort" enum:"due,-due,opened,-opened,updated,-updated,person,-person" default:"due" description:"the order; a leading - reverses it"`
	pageQuery
}

// Officer actions' request bodies.
type (
	AssignOwnerInput struct {
		caseRefPath
		idempotent
		OwnerID *string `json:"ownerId" required:"true" format:"uuid" description:"a vetting officer"`
	}
	RequestInformationInput struct {
		caseRefPath
		idempotent
		Description *string `json:"description" required:"true" text:"free"`
		DueDate     *string `json:"dueDate" required:"true" format:"date" description:"the information is overdue after this day (UTC)"`
	}
	InformationReceivedInput struct {
		caseRefPath
		idempotent
		Note *string `json:"note,omitempty" text:"free"`
	}
	AddNoteInput struct {
		caseRefPath
		idempotent
		Text *string `json:"text" required:"true" text:"free"`
	}
	RecordOutcomeInput struct {
		caseRefPath
		idempotent
		Outcome   *domain.Outcome `json:"outcome" required:"true"`
		Level     *domain.Level   `json:"level,omitempty" description:"required for cleared and with_advisory"`
		ValidFrom *string         `json:"validFrom,omitempty" format:"date" description:"required for cleared and with_advisory"`
		ValidTo   *string         `json:"validTo,omitempty" format:"date" description:"required for cleared and with_advisory; after validFrom"`
	}
)

var (
	caseOpeners  = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleSecurityController}
	caseWorkers  = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer}
	caseAssigner = []domain.Role{domain.RoleVettingOfficer, domain.RoleSecurityController}
	caseDecider  = []domain.Role{domain.RoleVettingOfficer}
)

func (s *Server) caseRoutes() []op {
	return []op{
		{method: http.MethodPost, path: "/api/v1/cases", summary: "Open a vetting case", roles: caseOpeners,
			req: new(OpenCaseInput), resp: new(CaseView), status: http.StatusCreated, handle: s.openCase,
			alt: map[int]any{http.StatusAccepted: new(Pending)}},
		{method: http.MethodGet, path: "/api/v1/cases", summary: "List cases by work queue, search, filters and order (soonest due first)", roles: allStaff,
			req: new(caseListQuery), resp: new(List[CaseSummary]), handle: s.listCases},
		{method: http.MethodGet, path: "/api/v1/cases/counts", summary: "Count the caller's cases in each work queue and status",
			roles: allStaff, resp: new(CaseCounts), handle: s.caseCounts},
		{method: http.MethodGet, path: "/api/v1/cases/:caseRef", summary: "Get a case with its timeline", roles: allStaff,
			req: new(caseRefPath), resp: new(CaseView), handle: s.getCase},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/owner", summary: "Assign the vetting owner",
			roles: caseAssigner, req: new(AssignOwnerInput), resp: new(CaseView), handle: s.assignOwner},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/information-requests",
			summary: "Request information from the subject, with a deadline", roles: caseWorkers,
			req: new(RequestInformationInput), resp: new(CaseView), handle: s.requestInformation},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/information-received",
			summary: "Record that the requested information arrived", roles: caseWorkers,
			req: new(InformationReceivedInput), resp: new(CaseView), handle: s.informationReceived},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/notes", summary: "Add a note to the timeline",
			roles: append(caseWorkers, domain.RoleSecurityController), req: new(AddNoteInput), resp: new(CaseView),
			handle: s.addNote},
		{method: http.MethodPost, path: "/api/v1/cases/:caseRef/outcome", summary: "Record the outcome (the case's owner)",
			roles: caseDecider, req: new(RecordOutcomeInput), resp: new(CaseView), handle: s.recordOutcome},
	}
}

func (s *Server) openCase(c *gin.Context) error {
	var in OpenCaseInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	key := idempotencyKey(c, &errs)
	personID := requiredID(&errs, "personId", in.PersonID)
	typ := enumField(&errs, "type", in.Type, domain.CaseType.Valid, domain.CaseTypes)
	level := enumField(&errs, "level", in.Level, domain.Level.Valid, domain.Levels)
	forSite := fieldID(&errs, "forSiteId", in.ForSiteID)
	forCase := optionalText(in.ForCaseRef)
	if (forSite == nil) != (forCase == "") {
		errs.add("forCaseRef", "forSiteId and forCaseRef go together")
	} else if forCase != "" && !domain.IsCaseRef(forCase) {
		errs.add("forCaseRef", "must be the partner's case reference (v_...)")
	}
	if forSite != nil {
		if site, err := s.Store.Site(c, *forSite); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		} else if err != nil || site.Status != "active" {
			errs.add("forSiteId", "must be an active partner site")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	if _, err := s.Store.Person(c, *personID); err != nil {
		if err == store.ErrNotFound {
			return invalid(FieldError{Field: "personId", Message: "no person has this id"})
		}
		return err
	}
	if within, err := s.Store.Within(c, credential(c).Reach, store.ReachPerson, personID.String()); err != nil {
		return err
	} else if !within {
		return invalid(FieldError{Field: "personId", Message: "no person has this id"})
	}
	open := true
	existing, _, err := s.Store.Cases(c, store.CaseFilter{PersonID: personID, Type: typ, Level: level, Open: &open,
		Page: store.Page{Limit: 1}})
	if err != nil {
		return err
	}
	ref := domain.NewCaseRef()
	if key != "" {
		ref = keyedCaseRef(actorID(c), key)
	}
	if len(existing) > 0 && existing[0].CaseRef != ref {
		return caseAlreadyOpen(typ, level, existing[0].CaseRef)
	}
	authority := optionalText(in.IssuingAuthority)
	if authority == "" {
		org, err := s.Store.Organisation(c)
		if err != nil {
			return err
		}
		authority = org.IssuingAuthority
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	opener := actorID(c)
	st, err := workflows.OpenCase(ctx, s.Temporal, s.TaskQueue, workflows.VettingCaseInput{
		CaseRef: ref, PersonID: *personID, Type: typ, Level: level, IssuingAuthority: authority,
		OpenedBy: &opener, SLA: s.SLA.For(typ, level), ForSiteID: forSite, ForCaseRef: forCase, Validity: s.Validity,
	})
	var pending *workflows.Pending
	if errors.As(err, &pending) {
		return accepted(c, "/api/v1/cases/", Pending{ID: ref, CaseRef: ref,
			Detail: "the case is opened but no worker has taken it up yet; it goes on when a worker runs"})
	}
	if err != nil {
		return err
	}
	if st.Case.PersonID != *personID || st.Case.Type != typ || st.Case.RequestedLevel != level {
		return conflict("this Idempotency-Key was used for another request")
	}
	if st.DuplicateOf != "" {
		// Another request opened the same case first (the database lets one of them in).
		return caseAlreadyOpen(typ, level, st.DuplicateOf)
	}
	c.Header("Location", "/api/v1/cases/"+st.Case.CaseRef)
	return s.respondCase(c, st.Case.CaseRef, http.StatusCreated)
}

// caseAlreadyOpen is the 409 answering a request to open a case the person has open already: it names
// that case in its detail and under personId.
func caseAlreadyOpen(typ domain.CaseType, level domain.Level, ref string) *Problem {
	msg := "already has an open " + string(typ) + " case at " + string(level) + ": " + ref
	p := conflict("the person " + msg)
	p.Errors = []FieldError{{Field: "personId", Message: msg}}
	return p
}

func enumField[T ~string](errs *fields, name string, v *T, valid func(T) bool, allowed []T) T {
	if v == nil {
		errs.add(name, "is required")
		return ""
	}
	if !valid(*v) {
		errs.add(name, "must be one of %s", domain.OneOf(allowed))
	}
	return *v
}

func (s *Server) respondCase(c *gin.Context, ref string, status int) error {
	cs, err := s.Store.Case(c, ref)
	if err != nil {
		return notFoundAs(err, "case")
	}
	events, err := s.Store.CaseEvents(c, ref)
	if err != nil {
		return err
	}
	view := CaseView{Case: cs, Timeline: timeline(events), Validity: levelValidity(s.Validity, cs.RequestedLevel, today())}
	if p, err := s.Store.Person(c, cs.PersonID); err == nil {
		view.PersonName = p.FirstName + " " + p.LastName
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	userName := func(id *uuid.UUID) (string, error) {
		if id == nil {
			return "", nil
		}
		u, err := s.Store.User(c, *id)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return u.DisplayName, err
	}
	siteName := func(id *uuid.UUID) (string, error) {
		if id == nil {
			return "", nil
		}
		site, err := s.Store.Site(c, *id)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil
		}
		return site.OrgName, err
	}
	if view.OwnerName, err = userName(cs.OwnerID); err != nil {
		return err
	}
	if view.OpenedByName, err = userName(cs.OpenedBy); err != nil {
		return err
	}
	if view.DelegatedSiteName, err = siteName(cs.DelegatedSiteID); err != nil {
		return err
	}
	if view.ForSiteName, err = siteName(cs.ForSiteID); err != nil {
		return err
	}
	// An owner assignment names the new owner as well as their id.
	for i, ev := range view.Timeline {
		if ev.Kind != "owner_assigned" || ev.Detail == nil {
			continue
		}
		if raw, ok := ev.Detail["ownerId"].(string); ok {
			if id, perr := uuid.Parse(raw); perr == nil {
				name, err := userName(&id)
				if err != nil {
					return err
				}
				if name != "" {
					d := maps.Clone(ev.Detail)
					d["ownerName"] = name
					view.Timeline[i].Detail = d
				}
			}
		}
	}
	c.JSON(status, view)
	return nil
}

func (s *Server) getCase(c *gin.Context) error {
	return s.respondCase(c, c.Param("caseRef"), http.StatusOK)
}

func (s *Server) listCases(c *gin.Context) error {
	q := query{c: c}
	f := store.CaseFilter{Reach: credential(c).Reach, Me: actorID(c),
		Statuses: enum(&q, "status", domain.CaseStatus.Valid, domain.CaseStatuses),
		OwnerID:  q.uuid("ownerId"), PersonID: q.uuid("personId"), SupplierID: q.uuid("supplierId"), Open: q.bool("open"), Page: q.page(),
		Level: single(&q, "level", domain.Level.Valid, domain.Levels),
		Type:  single(&q, "type", domain.CaseType.Valid, domain.CaseTypes),
		Queue: single(&q, "queue", store.CaseQueue.Valid, store.CaseQueues),
		Query: q.text("q"),
	}
	if len(f.Query) > 200 {
		q.errs.add("q", "must be at most 200 characters")
	}
	if v, ok := c.GetQuery("sort"); ok {
		f.Desc = strings.HasPrefix(v, "-")
		f.Sort = store.CaseSort(strings.TrimPrefix(v, "-"))
		if !f.Sort.Valid() {
			q.errs.add("sort", "must be one of %s, each with a leading - to reverse it", domain.OneOf(store.CaseSorts))
		}
	}
	if d := q.date("dueBefore"); d != nil {
		t := d.Time()
		f.DueBefore = &t
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	if _, asked := c.GetQuery("status"); !asked && f.Open == nil && f.Queue == "" {
		open := true // closed cases are apart: asked for by queue=closed, open=false or their status
		f.Open = &open
	}
	items, total, err := s.Store.CaseList(c, f)
	if err != nil {
		return err
	}
	summaries := make([]CaseSummary, len(items))
	for i, r := range items {
		summaries[i] = CaseSummary{Case: r.Case, PersonName: r.PersonName, EmployeeNumber: r.EmployeeNumber,
			OwnerName: r.OwnerName, StatusSince: r.StatusSince}
	}
	return respond(c, list(summaries, total, f.Page), nil)
}

func (s *Server) caseCounts(c *gin.Context) error {
	queues, statuses, err := s.Store.CaseCounts(c, credential(c).Reach, actorID(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, CaseCounts{Queues: queues, Statuses: statuses})
	return nil
}

// caseAction sends an officer action to a case's workflow and answers with the case after it. An action
// repeated with the same Idempotency-Key is applied once.
func (s *Server) caseAction(c *gin.Context, update string, action any) error {
	var errs fields
	key := idempotencyKey(c, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	updateID := ""
	if key != "" {
		updateID = keyedID(actorID(c), update, key)
	}
	ref := c.Param("caseRef")
	cs, err := s.Store.Case(c, ref)
	if err != nil {
		return notFoundAs(err, "case")
	}
	closed := conflict("case " + ref + " is closed (" + string(cs.Status) + ")")
	if cs.Status.Closed() && updateID == "" {
		return closed
	}
	// A keyed action on a closed case goes to the workflow all the same: it may be the retry of the action
	// that closed it (answered 503 when the workflow engine was slow), which the workflow answers alike.
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if _, err := workflows.UpdateCase(ctx, s.Temporal, ref, update, updateID, action); err != nil {
		if ctx.Err() != nil {
			return problem(http.StatusServiceUnavailable, "unavailable", "the workflow engine did not answer in time: "+
				"the action may still be applied, so look at the case before repeating it, or repeat it with the same Idempotency-Key")
		}
		var rej *workflows.Rejection
		if cs.Status.Closed() && errors.As(err, &rej) && rej.Conflict {
			return closed
		}
		return err
	}
	return s.respondCase(c, ref, http.StatusOK)
}

func actorID(c *gin.Context) uuid.UUID {
	u, _ := principal(c)
	return u.ID
}

func (s *Server) assignOwner(c *gin.Context) error {
	var in AssignOwnerInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	owner := requiredID(&errs, "ownerId", in.OwnerID)
	if owner != nil {
		u, err := s.Store.User(c, *owner)
		if err != nil && err != store.ErrNotFound {
			return err
		}
		if err != nil || !u.Active || !u.Has(domain.RoleVettingOfficer) {
			errs.add("ownerId", "must be an active vetting officer")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	return s.caseAction(c, workflows.UpdateAssignOwner, workflows.AssignOwner{Actor: actorID(c), OwnerID: *owner})
}

func (s *Server) requestInformation(c *gin.Context) error {
	var in RequestInformationInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	desc := requiredText(&errs, "description", in.Description)
	due := fieldDate(&errs, "dueDate", in.DueDate)
	if in.DueDate == nil {
		errs.add("dueDate", "is required")
	} else if !due.IsZero() && due.Before(today()) {
		errs.add("dueDate", "must be today or later")
	}
	if err := errs.err(); err != nil {
		return err
	}
	return s.caseAction(c, workflows.UpdateRequestInformation, workflows.RequestInformation{
		Actor: actorID(c), Description: desc, DueAt: due.AddDays(1).Time().Add(-time.Second),
	})
}

func (s *Server) informationReceived(c *gin.Context) error {
	var in InformationReceivedInput
	if err := decode(c, &in); err != nil {
		return err
	}
	return s.caseAction(c, workflows.UpdateInformationReceived, workflows.InformationReceived{Actor: actorID(c),
		Note: optionalText(in.Note)})
}

func (s *Server) addNote(c *gin.Context) error {
	var in AddNoteInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	text := requiredText(&errs, "text", in.Text)
	if err := errs.err(); err != nil {
		return err
	}
	return s.caseAction(c, workflows.UpdateAddNote, workflows.AddNote{Actor: actorID(c), Text: text})
}

func (s *Server) recordOutcome(c *gin.Context) error {
	var in RecordOutcomeInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	o := workflows.RecordOutcome{Actor: actorID(c)}
	o.Outcome = enumField(&errs, "outcome", in.Outcome, domain.Outcome.Valid, domain.Outcomes)
	if o.Outcome.GrantsClearance() {
		if in.Level == nil {
			errs.add("level", "is required for a %s outcome", o.Outcome)
		} else {
			o.Level = enumField(&errs, "level", in.Level, domain.Level.Valid, domain.Levels)
		}
		o.ValidFrom = fieldDate(&errs, "validFrom", in.ValidFrom)
		o.ValidTo = fieldDate(&errs, "validTo", in.ValidTo)
		if in.ValidFrom == nil {
			errs.add("validFrom", "is required for a %s outcome", o.Outcome)
		}
		if in.ValidTo == nil {
			errs.add("validTo", "is required for a %s outcome", o.Outcome)
		}
	} else if in.Level != nil || in.ValidFrom != nil || in.ValidTo != nil {
		errs.add("outcome", "a %s outcome takes no level, validFrom or validTo", o.Outcome)
	}
	if err := errs.err(); err != nil {
		return err
	}
	if o.Outcome.GrantsClearance() {
		cs, err := s.Store.Case(c, c.Param("caseRef"))
		if err != nil {
			return notFoundAs(err, "case")
		}
		if err := s.Validity.CheckDecision(cs.RequestedLevel, domain.Decision{Outcome: o.Outcome, Level: o.Level,
			ValidFrom: o.ValidFrom, ValidTo: o.ValidTo}, today()); err != nil {
			return outOfBounds(err, nil)
		}
	}
	return s.caseAction(c, workflows.UpdateRecordOutcome, o)
}

// requiredText reads a text field that must not be empty; the request boundary has cleaned it and
// checked its length (decode).
func requiredText(errs *fields, name string, v *string) string {
	if v == nil || *v == "" {
		errs.add(name, "is required")
		return ""
	}
	return *v
}
