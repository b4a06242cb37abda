package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/swaggest/jsonschema-go"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// PersonInput creates a person (firstName, lastName and dateOfBirth required) or changes one (only the
// fields present change). supplierId or locationId "" clears it.
type PersonInput struct {
	FirstName      *string `json:"firstName,omitempty" maxLength:"100"`
	MiddleNames    *string `json:"middleNames,omitempty" maxLength:"200"`
	LastName       *string `json:"lastName,omitempty" maxLength:"100"`
	DateOfBirth    *string `json:"dateOfBirth,omitempty" format:"date"`
	Email          *string `json:"email,omitempty" format:"email"`
	Mobile         *string `json:"mobile,omitempty" description:"UK mobile; stored in E.164"`
	EmployeeNumber *string `json:"employeeNumber,omitempty" maxLength:"50"`
	SupplierID     *string `json:"supplierId,omitempty" format:"uuid"`
	LocationID     *string `json:"locationId,omitempty" format:"uuid"`
	LineManager    *string `json:"lineManager,omitempty" description:"sensitive" maxLength:"200"`
	Address        *string `json:"address,omitempty" description:"sensitive" maxLength:"500" text:"free"`
	NINumber       *string `json:"niNumber,omitempty" description:"sensitive: National Insurance number"`
	Active         *bool   `json:"active,omitempty"`
	// PreferredChannel is how the person is told of renewals and requests (default email).
	PreferredChannel *domain.Channel `json:"preferredChannel,omitempty"`
}

// apply checks the input and applies it to p, returning the names of the fields it sets.
func (in PersonInput) apply(p *domain.Person, creating bool) ([]string, error) {
	e := &personEdit{}
	in.applyName(e, p, creating)
	in.applyContact(e, p)
	in.applyEmployment(e, p)
	in.applySensitive(e, p)
	if in.Active != nil {
		p.Active = *in.Active
		e.set("active")
	} else if creating {
		p.Active = true
	}
	return e.changed, e.errs.err()
}

// personEdit collects what an edit of a person sets and what is wrong with it.
type personEdit struct {
	errs    fields
	changed []string
}

func (e *personEdit) set(name string) { e.changed = append(e.changed, name) }

// parsed sets *dst from v through parse: "" clears it, and a value parse refuses is the field's error.
func (e *personEdit) parsed(name string, v *string, dst *string, parse func(string) (string, error), wrong string) {
	if v == nil {
		return
	}
	if *v == "" {
		*dst = ""
	} else if ok, err := parse(*v); err != nil {
		e.errs.add(name, "%s", wrong)
	} else {
		*dst = ok
	}
	e.set(name)
}

// applyName sets the names and the date of birth; creating, the first and last names and the date of
// birth are required.
func (in PersonInput) applyName(e *personEdit, p *domain.Person, creating bool) {
	// The request boundary has cleaned and bounded each string (see the fields' maxLength tags).
	text := func(name string, v *string, dst *string, required bool) {
		if v == nil {
			if required {
				e.errs.add(name, "is required")
			}
			return
		}
		if required && *v == "" {
			e.errs.add(name, "must not be empty")
			return
		}
		*dst = *v
		e.set(name)
	}
	text("firstName", in.FirstName, &p.FirstName, creating || in.FirstName != nil)
	text("middleNames", in.MiddleNames, &p.MiddleNames, false)
	text("lastName", in.LastName, &p.LastName, creating || in.LastName != nil)
	if in.DateOfBirth == nil && creating {
		e.errs.add("dateOfBirth", "is required")
	} else if in.DateOfBirth != nil {
		dob := fieldDate(&e.errs, "dateOfBirth", in.DateOfBirth)
		switch {
		case dob.IsZero():
		case dob.After(today()):
			e.errs.add("dateOfBirth", "must not be in the future")
		default:
			p.DateOfBirth = dob
			e.set("dateOfBirth")
		}
	}
}

// applyContact sets how the person is reached.
func (in PersonInput) applyContact(e *personEdit, p *domain.Person) {
	e.parsed("email", in.Email, &p.Email, domain.ParseEmail, "is not an e-mail address")
	e.parsed("mobile", in.Mobile, &p.Mobile, domain.ParseUKMobile, "must be a valid UK mobile number")
	if in.PreferredChannel != nil {
		if ch := domain.Channel(*in.PreferredChannel); ch.Valid() {
			p.PreferredChannel = ch
			e.set("preferredChannel")
		} else {
			e.errs.add("preferredChannel", "must be one of %s", domain.OneOf(domain.Channels))
		}
	}
}

// applyEmployment sets the employee number, the supplier and the location; "" clears each.
func (in PersonInput) applyEmployment(e *personEdit, p *domain.Person) {
	if in.EmployeeNumber != nil {
		p.EmployeeNumber = nil
		if s := *in.EmployeeNumber; s != "" {
			p.EmployeeNumber = &s
		}
		e.set("employeeNumber")
	}
	if in.SupplierID != nil {
		p.SupplierID = fieldID(&e.errs, "supplierId", in.SupplierID)
		e.set("supplierId")
	}
	if in.LocationID != nil {
		p.LocationID = fieldID(&e.errs, "locationId", in.LocationID)
		e.set("locationId")
	}
}

// applySensitive sets the fields only some roles see.
func (in PersonInput) applySensitive(e *personEdit, p *domain.Person) {
	sensitive := func(name string, v *string, dst *domain.Sensitive) {
		if v != nil {
			*dst = domain.NewSensitive(*v)
			e.set(name)
		}
	}
	sensitive("lineManager", in.LineManager, &p.LineManager)
	sensitive("address", in.Address, &p.Address)
	if in.NINumber != nil {
		// An edit with errors is not applied, so a refused number needs no guard here.
		var ni string
		e.parsed("niNumber", in.NINumber, &ni, domain.ParseNINumber, "is not a valid National Insurance number")
		p.NINumber = domain.NewSensitive(ni)
	}
}

// PersonView is a person as the API shows them. The sensitive fields appear only in the answer to a
// reveal (GET /persons/{id}?reveal=sensitive), which only their readers may ask for, and each reveal is
// in the audit log.
type PersonView struct {
	domain.Person
	LineManager *string `json:"lineManager,omitempty"`
	Address     *string `json:"address,omitempty"`
	NINumber    *string `json:"niNumber,omitempty"`
}

// sensitiveReaders need a person's sensitive fields for their work (vetting them), and may reveal them;
// nobody else sees them, in any answer.
var sensitiveReaders = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer}

// sensitiveFields are the names of the fields a reveal shows, as the audit entry names them.
var sensitiveFields = []string{"lineManager", "address", "niNumber"}

// revealed is p with its sensitive fields shown.
func revealed(p domain.Person) PersonView {
	reveal := func(s domain.Sensitive) *string { r := s.Reveal(); return &r }
	return PersonView{Person: p, LineManager: reveal(p.LineManager), Address: reveal(p.Address), NINumber: reveal(p.NINumber)}
}

type personReadQuery struct {
	personPath
	Reveal string `query:"reveal" enum:"sensitive" description:"sensitive: include the address, NI number and line manager (case workers and vetting officers; audited)"`
}

var personWriters = []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleAdmin}

type personPath struct {
	ID string `path:"id" format:"uuid"`
}

type personPatch struct {
	personPath
	PersonInput
}

type personListQuery struct {
	Q          string `query:"q" description:"matches names (any case or accents), e-mail or employee number"`
	SupplierID string `query:"supplierId" format:"uuid"`
	OwnStaff   bool   `query:"ownStaff" description:"true: our own staff (of no supplier); false: the suppliers' people"`
	LocationID string `query:"locationId" format:"uuid"`
	Active     bool   `query:"active"`
	pageQuery
}

// newPersonInput is PersonInput as creating a person takes it, for the OpenAPI document: the names and
// the date of birth required (a change takes any of its fields).
type newPersonInput struct{ PersonInput }

func (newPersonInput) PrepareJSONSchema(s *jsonschema.Schema) error {
	s.Required = append(s.Required, "firstName", "lastName", "dateOfBirth")
	return nil
}

func (s *Server) personRoutes() []op {
	return []op{
		{method: http.MethodPost, path: "/api/v1/persons", summary: "Create a person", roles: personWriters,
			req: new(newPersonInput), resp: new(PersonView), status: http.StatusCreated, handle: s.createPerson},
		{method: http.MethodGet, path: "/api/v1/persons", summary: "List and search persons", roles: allStaff,
			req: new(personListQuery), resp: new(List[PersonView]), handle: s.listPersons},
		{method: http.MethodGet, path: "/api/v1/persons/:id", summary: "Get a person; ?reveal=sensitive adds the sensitive fields (audited)",
			roles: allStaff, req: new(personReadQuery), resp: new(PersonView), handle: s.getPerson},
		{method: http.MethodPatch, path: "/api/v1/persons/:id", summary: "Change a person", roles: personWriters,
			req: new(personPatch), resp: new(PersonView), handle: s.updatePerson},
		{method: http.MethodGet, path: "/api/v1/persons/:id/clearances", summary: "A person's clearances, newest first",
			roles: allStaff, req: new(personPath), resp: new([]domain.Clearance), handle: s.personClearances},
	}
}

func (s *Server) createPerson(c *gin.Context) error {
	var in PersonInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var p domain.Person
	if _, err := in.apply(&p, true); err != nil {
		return err
	}
	p, err := s.Store.CreatePerson(c, actor(c), p)
	if err != nil {
		return err
	}
	c.Header("Location", "/api/v1/persons/"+p.ID.String())
	c.JSON(http.StatusCreated, PersonView{Person: p})
	return nil
}

// person is the person the path names.
func (s *Server) person(c *gin.Context) (domain.Person, error) {
	id, err := pathID(c, "person")
	if err != nil {
		return domain.Person{}, err
	}
	p, err := s.Store.Person(c, id)
	return p, notFoundAs(err, "person")
}

func (s *Server) getPerson(c *gin.Context) error {
	q := query{c: c}
	reveal := single(&q, "reveal", func(v string) bool { return v == "sensitive" }, []string{"sensitive"}) != ""
	if err := q.errs.err(); err != nil {
		return err
	}
	if u, _ := principal(c); reveal && !u.Has(sensitiveReaders...) {
		return problem(http.StatusForbidden, "forbidden", "only case workers and vetting officers may reveal a person's sensitive fields")
	}
	p, err := s.person(c)
	if err != nil || !reveal {
		return respond(c, PersonView{Person: p}, err)
	}
	// Who read whose sensitive fields, and when, before they are shown.
	if err := s.Store.Audit(c, store.AuditEntry{Actor: actor(c), Action: "person.sensitive_read", EntityType: "person",
		EntityID: p.ID.String(), Detail: map[string]any{"fields": sensitiveFields}}); err != nil {
		return err
	}
	c.JSON(http.StatusOK, revealed(p))
	return nil
}

func (s *Server) updatePerson(c *gin.Context) error {
	id, err := pathID(c, "person")
	if err != nil {
		return err
	}
	var in PersonInput
	if err := decode(c, &in); err != nil {
		return err
	}
	// Check the input before touching the database: bad input changes nothing.
	var probe domain.Person
	changed, err := in.apply(&probe, false)
	if err != nil {
		return err
	}
	p, err := s.Store.UpdatePerson(c, actor(c), id, changed, func(p *domain.Person) { in.apply(p, false) })
	if err != nil {
		return notFoundAs(err, "person")
	}
	// The badge follows at once: the person's name, number, company, site or deactivation reaches the
	// access control system through their access review, not at the next sync.
	s.review(c, p.ID)
	c.JSON(http.StatusOK, PersonView{Person: p})
	return nil
}

func (s *Server) listPersons(c *gin.Context) error {
	q := query{c: c}
	f := store.PersonFilter{Query: q.text("q"), SupplierID: q.uuid("supplierId"), OwnStaff: q.bool("ownStaff"), LocationID: q.uuid("locationId"),
		Active: q.bool("active"), Page: q.page(), Reach: credential(c).Reach}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.Persons(c, f)
	if err != nil {
		return err
	}
	views := make([]PersonView, len(items))
	for i, p := range items {
		views[i] = PersonView{Person: p}
	}
	c.JSON(http.StatusOK, list(views, total, f.Page))
	return nil
}

func (s *Server) personClearances(c *gin.Context) error {
	p, err := s.person(c)
	if err != nil {
		return err
	}
	cls, err := s.Store.PersonClearances(c, p.ID)
	return respond(c, nonNil(cls), err)
}

// notFoundAs names what was not found.
func notFoundAs(err error, what string) error {
	if err == store.ErrNotFound {
		return notFound(what)
	}
	return err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
