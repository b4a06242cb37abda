package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

var (
	// travelStaff report and follow trips; the security controllers decide them and set the policy.
	travelStaff    = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleSecurityController}
	travelDeciders = []domain.Role{domain.RoleSecurityController}
	travelAdmins   = []domain.Role{domain.RoleSecurityController, domain.RoleAdmin}
)

// travelRoutes are foreign travel's routes: the travel policy, and the trips cleared people report.
func (s *Server) travelRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/travel/policy", summary: "The travel policy in force: countries of concern and what trips require",
			roles: allStaff, resp: new(domain.TravelPolicy), handle: s.getTravelPolicy},
		{method: http.MethodPut, path: "/api/v1/travel/policy", summary: "Replace the travel policy (a new version; trips keep the version they were assessed under)",
			roles: travelAdmins, req: new(TravelPolicyInput), resp: new(domain.TravelPolicy), handle: s.setTravelPolicy},
		{method: http.MethodPost, path: "/api/v1/travel/trips", summary: "Report a foreign trip for a person",
			roles: travelStaff, req: new(ReportTripInput), resp: new(TripView), status: http.StatusCreated, handle: s.reportTrip},
		{method: http.MethodGet, path: "/api/v1/travel/trips", summary: "List reported trips",
			roles: travelStaff, req: new(TripListQuery), resp: new(List[TripSummary]), handle: s.listTrips},
		{method: http.MethodGet, path: "/api/v1/travel/trips/:id", summary: "A trip, with its timeline",
			roles: travelStaff, req: new(tripPath), resp: new(TripView), handle: s.getTrip},
		{method: http.MethodPost, path: "/api/v1/travel/trips/:id/briefing", summary: "Record that the traveller acknowledged the pre-travel briefing",
			roles: travelStaff, req: new(tripPath), resp: new(TripView), handle: s.tripBriefed},
		{method: http.MethodPost, path: "/api/v1/travel/trips/:id/decision", summary: "Approve or refuse a trip",
			roles: travelDeciders, req: new(TripDecisionInput), resp: new(TripView), handle: s.decideTrip},
		{method: http.MethodPost, path: "/api/v1/travel/trips/:id/change", summary: "Change a trip's destinations, dates or details before departure; it is assessed again",
			roles: travelStaff, req: new(ChangeTripInput), resp: new(TripView), handle: s.changeTrip},
		{method: http.MethodPost, path: "/api/v1/travel/trips/:id/cancel", summary: "Cancel a trip before departure",
			roles: travelStaff, req: new(CancelTripInput), resp: new(TripView), handle: s.cancelTrip},
		{method: http.MethodPost, path: "/api/v1/travel/trips/:id/debrief", summary: "Record the traveller's debrief after return; an approach or incident opens an aftercare case",
			roles: travelStaff, req: new(DebriefInput), resp: new(TripView), handle: s.debriefTrip},
	}
}

type tripPath struct {
	ID string `path:"id" format:"uuid"`
}

// TripDetails are what a traveller reports of a trip.
type TripDetails struct {
	Countries  []string `json:"countries" required:"true" minItems:"1" maxItems:"30" maxLength:"2" description:"destinations, ISO 3166-1 alpha-2 codes (GB, FR, ...)"`
	DepartsOn  *string  `json:"departsOn" required:"true" format:"date"`
	ReturnsOn  *string  `json:"returnsOn" required:"true" format:"date" description:"the last day away: on or after departsOn"`
	Purpose    *string  `json:"purpose" required:"true" text:"free"`
	Companions *string  `json:"companions" required:"true" enum:"alone,with_others" description:"travelling alone or with others"`
	Devices    []string `json:"devices,omitempty" maxItems:"20" maxLength:"100" description:"devices taken (laptop, phone...)"`
}

// ReportTripInput reports a trip for a person. A person without a clearance may report one: no policy
// applies to them, so the trip requires nothing (level null) and simply runs to its return.
type ReportTripInput struct {
	idempotent
	PersonID *string `json:"personId" required:"true" format:"uuid"`
	TripDetails
}

// ChangeTripInput is a trip's new details, in full.
type ChangeTripInput struct {
	tripPath
	TripDetails
}

// TripDecisionInput approves or refuses a trip; a refusal says why.
type TripDecisionInput struct {
	tripPath
	Decision *domain.TripDecision `json:"decision" required:"true"`
	Reason   *string              `json:"reason,omitempty" text:"free" description:"required for a refusal"`
}

// CancelTripInput cancels a trip.
type CancelTripInput struct {
	tripPath
	Reason *string `json:"reason,omitempty" text:"free"`
}

// DebriefAnswers are the debrief's questions.
type DebriefAnswers struct {
	OfficialContact *bool   `json:"officialContact" required:"true" description:"contact with foreign officials beyond the routine"`
	Approach        *bool   `json:"approach" required:"true" description:"approached for information or in a way that caused concern"`
	Incident        *bool   `json:"incident" required:"true" description:"a security incident (detained, searched, belongings tampered with)"`
	DeviceLost      *bool   `json:"deviceLost" required:"true" description:"a device lost, taken or out of sight"`
	Details         *string `json:"details,omitempty" text:"free"`
}

// debrief reads the answers: each question must be answered.
func (in DebriefAnswers) debrief(errs *fields) domain.TripDebrief {
	var d domain.TripDebrief
	for _, b := range []struct {
		name string
		v    *bool
		dst  *bool
	}{{"officialContact", in.OfficialContact, &d.OfficialContact}, {"approach", in.Approach, &d.Approach},
		{"incident", in.Incident, &d.Incident}, {"deviceLost", in.DeviceLost, &d.DeviceLost}} {
		if b.v == nil {
			errs.add(b.name, "is required: answer yes or no")
		} else {
			*b.dst = *b.v
		}
	}
	d.Details = optionalText(in.Details)
	return d
}

// DebriefInput is the traveller's debrief, recorded by staff: each question answered.
type DebriefInput struct {
	tripPath
	DebriefAnswers
}

// TripListQuery filters the list of trips.
type TripListQuery struct {
	PersonID string `query:"personId" format:"uuid"`
	Status   string `query:"status" description:"comma-separated statuses"`
	pageQuery
}

// TravelPolicyInput is a new travel policy, in full.
type TravelPolicyInput struct {
	CountriesOfConcern []CountryOfConcernInput `json:"countriesOfConcern" required:"true" maxItems:"249"`
	Rules              []TravelRuleInput       `json:"rules" required:"true" maxItems:"12"`
	MaxTripDays        *int                    `json:"maxTripDays" required:"true" minimum:"1" maximum:"366"`
	ReminderDays       []int                   `json:"reminderDays" required:"true" maxItems:"10" description:"days before departure a missing briefing or approval is reminded (1..365, distinct)"`
	EscalationDays     *int                    `json:"escalationDays" required:"true" minimum:"0" maximum:"365" description:"days before departure a missing briefing or approval is escalated; 0: never"`
}

// CountryOfConcernInput is a listed country with the source of its listing and the listing's date.
type CountryOfConcernInput struct {
	Code     *string `json:"code" required:"true" maxLength:"2"`
	Source   *string `json:"source" required:"true"`
	ListedOn *string `json:"listedOn" required:"true" format:"date"`
}

// TravelRuleInput says what trips of people cleared at a level require, to a country of concern or not.
type TravelRuleInput struct {
	Level       *domain.Level `json:"level" required:"true"`
	Concern     *bool         `json:"concern" required:"true"`
	Briefing    *bool         `json:"briefing" required:"true"`
	Approval    *bool         `json:"approval" required:"true"`
	DebriefDays *int          `json:"debriefDays" required:"true" minimum:"0" maximum:"90" description:"days after return the debrief is due; 0: none"`
}

// TripSummary is a trip in a list, with the traveller's name.
type TripSummary struct {
	domain.Trip
	PersonName string `json:"personName"`
}

// TripView is a trip with the traveller's name and its timeline (its audit trail: every step, by whom).
type TripView struct {
	domain.Trip
	PersonName string `json:"personName"`
	// PolicyApplies is false for a person without a clearance: nothing is required of their trip.
	PolicyApplies bool                `json:"policyApplies"`
	Timeline      []store.AuditRecord `json:"timeline"`
}

func (s *Server) getTravelPolicy(c *gin.Context) error {
	p, err := s.Store.TravelPolicy(c, 0)
	return respond(c, p, err)
}

func (s *Server) setTravelPolicy(c *gin.Context) error {
	var in TravelPolicyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var p domain.TravelPolicy
	if in.CountriesOfConcern == nil {
		errs.add("countriesOfConcern", "is required (an empty list for none)")
	}
	seen := map[string]bool{}
	for i, cc := range in.CountriesOfConcern {
		at := fmt.Sprintf("countriesOfConcern[%d]", i)
		code := countryCode(&errs, at+".code", cc.Code)
		if seen[code] && code != "" {
			errs.add(at+".code", "repeats %s", code)
		}
		seen[code] = true
		source := requiredText(&errs, at+".source", cc.Source)
		listed := fieldDate(&errs, at+".listedOn", cc.ListedOn)
		if cc.ListedOn == nil {
			errs.add(at+".listedOn", "is required")
		} else if listed.After(today()) {
			errs.add(at+".listedOn", "must not be in the future")
		}
		p.CountriesOfConcern = append(p.CountriesOfConcern, domain.CountryOfConcern{Code: code, Source: source, ListedOn: listed})
	}
	if in.Rules == nil {
		errs.add("rules", "is required (an empty list: nothing is ever required)")
	}
	type combo struct {
		l domain.Level
		c bool
	}
	combos := map[combo]bool{}
	for i, r := range in.Rules {
		at := fmt.Sprintf("rules[%d]", i)
		level := enumField(&errs, at+".level", r.Level, domain.Level.Valid, domain.Levels)
		var rule domain.TravelRule
		rule.Level = level
		for _, b := range []struct {
			name string
			v    *bool
			dst  *bool
		}{{"concern", r.Concern, &rule.Concern}, {"briefing", r.Briefing, &rule.Briefing}, {"approval", r.Approval, &rule.Approval}} {
			if b.v == nil {
				errs.add(at+"."+b.name, "is required")
			} else {
				*b.dst = *b.v
			}
		}
		if r.DebriefDays == nil {
			errs.add(at+".debriefDays", "is required")
		} else if rule.DebriefDays = *r.DebriefDays; rule.DebriefDays < 0 || rule.DebriefDays > 90 {
			errs.add(at+".debriefDays", "must be from 0 to 90")
		}
		if k := (combo{level, rule.Concern}); combos[k] {
			errs.add(at, "repeats the rule for %s with concern %t", level, rule.Concern)
		} else {
			combos[k] = true
		}
		p.Rules = append(p.Rules, rule)
	}
	if in.MaxTripDays == nil {
		errs.add("maxTripDays", "is required")
	} else if p.MaxTripDays = *in.MaxTripDays; p.MaxTripDays < 1 || p.MaxTripDays > domain.MaxTripDays {
		errs.add("maxTripDays", "must be from 1 to %d", domain.MaxTripDays)
	}
	if in.ReminderDays == nil {
		errs.add("reminderDays", "is required (an empty list for none)")
	} else {
		p.ReminderDays = dayList(&errs, "reminderDays", in.ReminderDays, 0, 10, 1, 365)
	}
	if in.EscalationDays == nil {
		errs.add("escalationDays", "is required")
	} else if p.EscalationDays = *in.EscalationDays; p.EscalationDays < 0 || p.EscalationDays > 365 {
		errs.add("escalationDays", "must be from 0 to 365")
	}
	if err := errs.err(); err != nil {
		return err
	}
	if p.CountriesOfConcern == nil {
		p.CountriesOfConcern = []domain.CountryOfConcern{}
	}
	if p.Rules == nil {
		p.Rules = []domain.TravelRule{}
	}
	out, err := s.Store.SetTravelPolicy(c, actor(c), p)
	return respond(c, out, err)
}

// countryCode reads an ISO 3166-1 alpha-2 code (upper case, or lower case as typed).
func countryCode(errs *fields, name string, v *string) string {
	if v == nil || *v == "" {
		errs.add(name, "is required")
		return ""
	}
	code := strings.ToUpper(*v)
	if !domain.IsCountry(code) {
		errs.add(name, "%q is not an ISO 3166-1 alpha-2 country code", *v)
	}
	return code
}

// tripDetails checks what a traveller reports: known countries, each once; dates in order, the return
// no earlier than yesterday (a trip reported late is still reported), the departure at most
// domain.MaxTripLead days ahead, the trip at most domain.MaxTripDays long.
func tripDetails(errs *fields, in TripDetails) domain.TripChange {
	var t domain.TripChange
	if len(in.Countries) == 0 {
		errs.add("countries", "is required: at least one destination")
	}
	for i, c := range in.Countries {
		code := countryCode(errs, fmt.Sprintf("countries[%d]", i), &c)
		if slices.Contains(t.Countries, code) {
			errs.add(fmt.Sprintf("countries[%d]", i), "repeats %s", code)
		}
		t.Countries = append(t.Countries, code)
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"departsOn", in.DepartsOn}, {"returnsOn", in.ReturnsOn}} {
		if f.v == nil {
			errs.add(f.name, "is required")
		}
	}
	t.DepartsOn, t.ReturnsOn = fieldDate(errs, "departsOn", in.DepartsOn), fieldDate(errs, "returnsOn", in.ReturnsOn)
	switch {
	case t.DepartsOn.IsZero() || t.ReturnsOn.IsZero():
	case t.ReturnsOn.Before(t.DepartsOn):
		errs.add("returnsOn", "must be on or after departsOn")
	case t.ReturnsOn.Before(today().AddDays(-1)):
		errs.add("returnsOn", "is in the past: report a trip before it ends")
	case t.DepartsOn.After(today().AddDays(domain.MaxTripLead)):
		errs.add("departsOn", "is more than %d days ahead", domain.MaxTripLead)
	case (domain.Trip{DepartsOn: t.DepartsOn, ReturnsOn: t.ReturnsOn}).Days() > domain.MaxTripDays:
		errs.add("returnsOn", "makes the trip longer than %d days", domain.MaxTripDays)
	}
	t.Purpose = requiredText(errs, "purpose", in.Purpose)
	t.Companions = enumField(errs, "companions", (*domain.TripCompanions)(in.Companions), domain.TripCompanions.Valid,
		domain.TripCompanionValues)
	t.Devices = []string{}
	for _, d := range in.Devices {
		if d = strings.TrimSpace(d); d != "" {
			t.Devices = append(t.Devices, d)
		}
	}
	return t
}

func (s *Server) reportTrip(c *gin.Context) error {
	var in ReportTripInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	key := idempotencyKey(c, &errs)
	personID := requiredID(&errs, "personId", in.PersonID)
	d := tripDetails(&errs, in.TripDetails)
	if err := errs.err(); err != nil {
		return err
	}
	if _, err := s.Store.Person(c, *personID); errors.Is(err, store.ErrNotFound) {
		return invalid(FieldError{Field: "personId", Message: "no person has this id"})
	} else if err != nil {
		return err
	}
	if within, err := s.Store.Within(c, credential(c).Reach, store.ReachPerson, personID.String()); err != nil {
		return err
	} else if !within {
		return invalid(FieldError{Field: "personId", Message: "no person has this id"})
	}
	id := uuid.New()
	if key != "" {
		id = uuid.NewSHA1(uuid.NameSpaceOID, []byte(keyedID(actorID(c), "report-trip", key)))
	}
	t := domain.Trip{ID: id, PersonID: *personID, Countries: d.Countries, DepartsOn: d.DepartsOn, ReturnsOn: d.ReturnsOn,
		Purpose: d.Purpose, Companions: d.Companions, Devices: d.Devices}
	stored, err := s.Store.ReportTrip(c, actor(c), t)
	var ce *store.ConstraintError
	if errors.As(err, &ce) && ce.Constraint == "travel_trips_duplicate_key" {
		msg := "the person has reported a trip to these destinations on these dates already"
		p := conflict(msg)
		p.Errors = []FieldError{{Field: "departsOn", Message: msg}}
		return p
	}
	if err != nil {
		return err
	}
	if stored.PersonID != t.PersonID || stored.DepartsOn.String() != t.DepartsOn.String() || !slices.Equal(stored.Countries, t.Countries) {
		return conflict("this Idempotency-Key was used for another request")
	}
	if err := s.startTrip(c, stored); err != nil {
		return err
	}
	c.Header("Location", "/api/v1/travel/trips/"+id.String())
	return s.respondTrip(c, stored.ID, http.StatusCreated)
}

// startTrip starts the trip's workflow; a trip recorded whose workflow could not be started is answered
// 503, and the same request again (the same Idempotency-Key) starts it.
func (s *Server) startTrip(c *gin.Context, t domain.Trip) error {
	in := workflows.TravelInput{TripID: t.ID, AftercareSLA: map[domain.Level]domain.SLA{}, Validity: s.Validity}
	for _, l := range domain.Levels {
		in.AftercareSLA[l] = s.SLA.For(domain.CaseAftercare, l)
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if err := workflows.StartTrip(ctx, s.Temporal, s.TaskQueue, in, t.Status); err != nil {
		s.Log.Warn("travel: trip recorded, its workflow not started", "trip", t.ID, "error", err)
		return problem(http.StatusServiceUnavailable, "unavailable", "the trip is recorded ("+t.ID.String()+
			") but its workflow could not be started: repeat the request with the same Idempotency-Key")
	}
	return nil
}

func (s *Server) respondTrip(c *gin.Context, id uuid.UUID, status int) error {
	t, err := s.Store.Trip(c, id)
	if err != nil {
		return notFoundAs(err, "trip")
	}
	trail, err := s.Store.AuditTrail(c, "travel_trip", id.String())
	if err != nil {
		return err
	}
	view := TripView{Trip: t, PolicyApplies: t.Level != nil, Timeline: nonNil(trail)}
	if p, err := s.Store.Person(c, t.PersonID); err == nil {
		view.PersonName = p.FirstName + " " + p.LastName
	}
	c.JSON(status, view)
	return nil
}

func (s *Server) getTrip(c *gin.Context) error {
	id, err := pathID(c, "trip")
	if err != nil {
		return err
	}
	return s.respondTrip(c, id, http.StatusOK)
}

func (s *Server) listTrips(c *gin.Context) error {
	q := query{c: c}
	f := store.TripFilter{PersonID: q.uuid("personId"), Reach: credential(c).Reach, Page: q.page(),
		Status: enum(&q, "status", domain.TripStatus.Valid, domain.TripStatuses)}
	if err := q.errs.err(); err != nil {
		return err
	}
	trips, total, err := s.Store.Trips(c, f)
	if err != nil {
		return err
	}
	out, err := namedBy(s, c, trips, func(t domain.Trip) *uuid.UUID { return &t.PersonID },
		func(t domain.Trip, name string) TripSummary { return TripSummary{Trip: t, PersonName: name} })
	return respond(c, list(out, total, f.Page), err)
}

// tripAction sends an action to a trip's workflow, applied once per Idempotency-Key, and answers with the
// trip after it.
func (s *Server) tripAction(c *gin.Context, update string, a workflows.TripAction) error {
	var errs fields
	key := idempotencyKey(c, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	id, err := pathID(c, "trip")
	if err != nil {
		return err
	}
	t, err := s.Store.Trip(c, id)
	if err != nil {
		return notFoundAs(err, "trip")
	}
	if t.Status.Final() && key == "" {
		return conflict("trip " + id.String() + " is " + string(t.Status))
	}
	updateID := ""
	if key != "" {
		updateID = keyedID(actorID(c), "trip-"+update, id.String(), key)
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if _, err := workflows.UpdateTrip(ctx, s.Temporal, id, update, updateID, a); err != nil {
		if ctx.Err() != nil {
			return problem(http.StatusServiceUnavailable, "unavailable", "the workflow engine did not answer in time: "+
				"the action may still be applied, so look at the trip before repeating it, or repeat it with the same Idempotency-Key")
		}
		return err
	}
	return s.respondTrip(c, id, http.StatusOK)
}

func (s *Server) tripBriefed(c *gin.Context) error {
	me := actorID(c)
	return s.tripAction(c, workflows.UpdateTripBriefed, workflows.TripAction{Actor: &me})
}

func (s *Server) decideTrip(c *gin.Context) error {
	var in TripDecisionInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	d := enumField(&errs, "decision", in.Decision, domain.TripDecision.Valid, domain.TripDecisions)
	reason := optionalText(in.Reason)
	if d == domain.TripRefusedDecision && reason == "" {
		errs.add("reason", "is required to refuse a trip")
	}
	if err := errs.err(); err != nil {
		return err
	}
	me := actorID(c)
	return s.tripAction(c, workflows.UpdateTripDecide, workflows.TripAction{Actor: &me, Decision: d, Reason: reason})
}

func (s *Server) changeTrip(c *gin.Context) error {
	var in ChangeTripInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	change := tripDetails(&errs, in.TripDetails)
	if err := errs.err(); err != nil {
		return err
	}
	me := actorID(c)
	return s.tripAction(c, workflows.UpdateTripChange, workflows.TripAction{Actor: &me, Change: &change})
}

func (s *Server) cancelTrip(c *gin.Context) error {
	var in CancelTripInput
	if err := decode(c, &in); err != nil {
		return err
	}
	me := actorID(c)
	return s.tripAction(c, workflows.UpdateTripCancel, workflows.TripAction{Actor: &me, Reason: optionalText(in.Reason)})
}

func (s *Server) debriefTrip(c *gin.Context) error {
	var in DebriefInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	d := in.debrief(&errs)
	if err := errs.err(); err != nil {
		return err
	}
	me := actorID(c)
	return s.tripAction(c, workflows.UpdateTripDebrief, workflows.TripAction{Actor: &me, Debrief: &d})
}
