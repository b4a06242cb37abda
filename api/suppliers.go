package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/swaggest/jsonschema-go"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// Suppliers (issue 17): the supply chain's records, their lifecycle (added, changed, archived, restored;
// never deleted, for the persons and audit entries that refer to them) and each one's compliance view.
// A request's shape is checked here (SupplierInput.apply); what only the database knows (the parent and
// its tier, a cycle, the sites) the store checks in the write's transaction, and both name the field.

type (
	// SupplierInput adds a supplier (name and tier required) or changes one: only the fields present
	// change, and a list present replaces the one held.
	SupplierInput struct {
		Name             *string         `json:"name,omitempty" maxLength:"200" description:"unique, in any case"`
		Tier             *int            `json:"tier,omitempty" minimum:"1" maximum:"9" description:"a sub-supplier's is its parent's tier + 1"`
		ParentID         *string         `json:"parentId,omitempty" format:"uuid" description:"the supplier above it in the chain, in use; \"\": none (a prime)"`
		CompanyNumber    *string         `json:"companyNumber,omitempty" maxLength:"50"`
		ContactEmail     *string         `json:"contactEmail,omitempty" format:"email"`
		SponsorReference *string         `json:"sponsorReference,omitempty" maxLength:"100"`
		SiteIDs          []string        `json:"siteIds,omitempty" description:"the sites its people work at (ids)"`
		Contacts         []ContactInput  `json:"contacts,omitempty"`
		Contracts        []ContractInput `json:"contracts,omitempty"`
	}
	// ContactInput is someone to speak to at the supplier.
	ContactInput struct {
		Name  *string `json:"name" required:"true" maxLength:"200"`
		Role  *string `json:"role,omitempty" maxLength:"200"`
		Email *string `json:"email,omitempty" format:"email"`
		Phone *string `json:"phone,omitempty" maxLength:"50" description:"digits, spaces and + ( ) -"`
	}
	// ContractInput is a contract with the supplier and the clearance it requires at each site.
	ContractInput struct {
		Reference *string             `json:"reference" required:"true" maxLength:"100" description:"unique among the supplier's contracts"`
		Title     *string             `json:"title,omitempty" maxLength:"200"`
		StartsOn  *string             `json:"startsOn,omitempty" format:"date"`
		EndsOn    *string             `json:"endsOn,omitempty" format:"date" description:"not before startsOn"`
		Sites     []ContractSiteInput `json:"sites,omitempty"`
	}
	// ContractSiteInput is the clearance a contract requires at one site.
	ContractSiteInput struct {
		LocationID    *string       `json:"locationId" required:"true" format:"uuid"`
		RequiredLevel *domain.Level `json:"requiredLevel" required:"true"`
	}
	supplierPatch struct {
		idPath
		SupplierInput
	}
	supplierListQuery struct {
		Status   string `query:"status" enum:"active,archived,all" default:"active" description:"in use (active), archived, or all"`
		ParentID string `query:"parentId" format:"uuid" description:"the sub-suppliers of this supplier"`
		Q        string `query:"q" description:"part of the name"`
	}
	// SiteSupplierInput links a partner site to the supplier it is.
	SiteSupplierInput struct {
		idPath
		SupplierID *string `json:"supplierId" required:"true" format:"uuid" description:"a supplier in use; \"\": none"`
	}
	// ComplianceView is where a supplier's people stand: their clearance states and the open cases.
	ComplianceView struct {
		Supplier           domain.Supplier               `json:"supplier"`
		AsOf               domain.Date                   `json:"asOf" description:"the day the states are of (UTC)"`
		ExpiringWithinDays int                           `json:"expiringWithinDays"`
		Counts             map[domain.ClearanceState]int `json:"counts" description:"people in each state"`
		People             []store.CompliancePerson      `json:"people" description:"its active people, by last name"`
		OpenCases          []CaseSummary                 `json:"openCases" description:"its people's open vetting cases, soonest due first (at most 200)"`
		OpenCasesTotal     int                           `json:"openCasesTotal"`
	}
)

// supplierStatuses are the values of the supplier list's status filter.
var supplierStatuses = []string{"active", "archived", "all"}

func (s *Server) supplierRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/suppliers", summary: "List suppliers (in use, unless asked otherwise)", roles: allStaff,
			req: new(supplierListQuery), resp: new([]domain.Supplier), handle: s.listSuppliers},
		{method: http.MethodPost, path: "/api/v1/suppliers", summary: "Add a supplier", roles: adminOnly,
			req: new(newSupplierInput), resp: new(domain.Supplier), status: http.StatusCreated, handle: s.createSupplier},
		{method: http.MethodGet, path: "/api/v1/suppliers/:id", summary: "Get a supplier", roles: allStaff,
			req: new(idPath), resp: new(domain.Supplier), handle: s.getSupplier},
		{method: http.MethodPatch, path: "/api/v1/suppliers/:id", summary: "Change a supplier: the fields present; a list present replaces the one held",
			roles: adminOnly, req: new(supplierPatch), resp: new(domain.Supplier), handle: s.updateSupplier},
		{method: http.MethodPost, path: "/api/v1/suppliers/:id/archive", summary: "Archive a supplier: kept for what refers to it, offered for nothing new",
			roles: adminOnly, req: new(idPath), resp: new(domain.Supplier), handle: s.archiveSupplier(true)},
		{method: http.MethodPost, path: "/api/v1/suppliers/:id/restore", summary: "Restore an archived supplier to use",
			roles: adminOnly, req: new(idPath), resp: new(domain.Supplier), handle: s.archiveSupplier(false)},
		{method: http.MethodGet, path: "/api/v1/suppliers/:id/compliance", summary: "A supplier's people by clearance state, and their open cases",
			roles: allStaff, req: new(idPath), resp: new(ComplianceView), handle: s.supplierCompliance},
		{method: http.MethodGet, path: "/api/v1/suppliers/:id/compliance.csv", summary: "A supplier's people by clearance state, as CSV",
			roles: allStaff, req: new(idPath), resp: new(string), contentType: "text/csv", handle: s.supplierComplianceCSV},
		{method: http.MethodPut, path: "/api/v1/partners/:id/supplier", summary: "Link a partner site to the supplier it is",
			roles: partnerAdmins, req: new(SiteSupplierInput), resp: new(domain.PartnerSite), handle: s.setSiteSupplier},
	}
}

// apply checks the input and applies it to sp, returning the names of the fields it sets.
// newSupplierInput is SupplierInput as adding a supplier takes it, for the OpenAPI document: the name
// and the tier required (a change takes any of its fields).
type newSupplierInput struct{ SupplierInput }

func (newSupplierInput) PrepareJSONSchema(s *jsonschema.Schema) error {
	s.Required = append(s.Required, "name", "tier")
	return nil
}

func (in SupplierInput) apply(sp *domain.Supplier, creating bool) ([]string, error) {
	var errs fields
	var changed []string
	set := func(name string) { changed = append(changed, name) }
	if in.Name != nil || creating {
		sp.Name = requiredName(&errs, "name", in.Name)
		set("name")
	}
	if in.Tier != nil || creating {
		if in.Tier == nil {
			errs.add("tier", "is required")
		} else if *in.Tier < 1 || *in.Tier > 9 {
			errs.add("tier", "must be a whole number from 1 to 9")
		} else {
			sp.Tier = *in.Tier
		}
		set("tier")
	}
	if in.ParentID != nil {
		sp.ParentID = fieldID(&errs, "parentId", in.ParentID)
		set("parentId")
	}
	text := func(name string, v *string, dst *string) {
		if v != nil {
			*dst = *v
			set(name)
		}
	}
	text("companyNumber", in.CompanyNumber, &sp.CompanyNumber)
	text("sponsorReference", in.SponsorReference, &sp.SponsorReference)
	if in.ContactEmail != nil {
		sp.ContactEmail = email(&errs, "contactEmail", *in.ContactEmail)
		set("contactEmail")
	}
	if in.SiteIDs != nil {
		sp.SiteIDs = idList(&errs, "siteIds", in.SiteIDs)
		set(store.SupplierSites)
	}
	if in.Contacts != nil {
		sp.Contacts = make([]domain.SupplierContact, len(in.Contacts))
		for i, c := range in.Contacts {
			at := fmt.Sprintf("contacts[%d].", i)
			sp.Contacts[i] = domain.SupplierContact{Name: requiredName(&errs, at+"name", c.Name), Role: optionalText(c.Role),
				Email: email(&errs, at+"email", optionalText(c.Email)), Phone: phone(&errs, at+"phone", optionalText(c.Phone))}
		}
		set(store.SupplierContacts)
	}
	if in.Contracts != nil {
		sp.Contracts = make([]domain.SupplierContract, len(in.Contracts))
		for i, k := range in.Contracts {
			sp.Contracts[i] = k.contract(&errs, fmt.Sprintf("contracts[%d].", i), sp.Contracts[:i])
		}
		set(store.SupplierContracts)
	}
	return changed, errs.err()
}

// contract reads one contract (its fields named from at), given those before it.
func (k ContractInput) contract(errs *fields, at string, before []domain.SupplierContract) domain.SupplierContract {
	out := domain.SupplierContract{Reference: requiredName(errs, at+"reference", k.Reference), Title: optionalText(k.Title),
		StartsOn: fieldDate(errs, at+"startsOn", k.StartsOn), EndsOn: fieldDate(errs, at+"endsOn", k.EndsOn),
		Sites: make([]domain.ContractSite, 0, len(k.Sites))}
	if out.Reference != "" && slices.ContainsFunc(before, func(b domain.SupplierContract) bool { return b.Reference == out.Reference }) {
		errs.add(at+"reference", "is given twice")
	}
	if !out.StartsOn.IsZero() && !out.EndsOn.IsZero() && out.EndsOn.Before(out.StartsOn) {
		errs.add(at+"endsOn", "must not be before startsOn")
	}
	for j, cs := range k.Sites {
		site := fmt.Sprintf("%ssites[%d].", at, j)
		id := requiredID(errs, site+"locationId", cs.LocationID)
		if id != nil && slices.ContainsFunc(out.Sites, func(o domain.ContractSite) bool { return o.LocationID == *id }) {
			errs.add(site+"locationId", "is given twice")
		}
		switch {
		case cs.RequiredLevel == nil || *cs.RequiredLevel == "":
			errs.add(site+"requiredLevel", "is required")
		case !cs.RequiredLevel.Valid():
			errs.add(site+"requiredLevel", "must be one of %s", domain.OneOf(domain.Levels))
		case id != nil:
			out.Sites = append(out.Sites, domain.ContractSite{LocationID: *id, RequiredLevel: *cs.RequiredLevel})
		}
	}
	return out
}

// email reads an optional e-mail address ("" is none).
func email(errs *fields, name, v string) string {
	if v == "" {
		return ""
	}
	addr, err := domain.ParseEmail(v)
	if err != nil {
		errs.add(name, "is not an e-mail address")
	}
	return addr
}

// phone reads an optional telephone number as written: digits, spaces and + ( ) -, at least 7 digits.
func phone(errs *fields, name, v string) string {
	digits := 0
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +()-", r):
		default:
			errs.add(name, "must be digits, spaces and + ( ) -")
			return ""
		}
	}
	if v != "" && digits < 7 {
		errs.add(name, "must have at least 7 digits")
	}
	return v
}

// idList reads a list of distinct ids, each named by its place (siteIds[2]).
func idList(errs *fields, name string, raw []string) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(raw))
	for i, v := range raw {
		at := fmt.Sprintf("%s[%d]", name, i)
		id, err := uuid.Parse(v)
		switch {
		case err != nil:
			errs.add(at, "must be an id")
		case slices.Contains(out, id):
			errs.add(at, "is given twice")
		default:
			out = append(out, id)
		}
	}
	return out
}

func (s *Server) listSuppliers(c *gin.Context) error {
	q := query{c: c}
	f := store.SupplierFilter{ParentID: q.uuid("parentId"), Query: q.text("q"), Reach: credential(c).Reach}
	switch status := single(&q, "status", func(v string) bool { return slices.Contains(supplierStatuses, v) }, supplierStatuses); status {
	case "", "active", "archived":
		archived := status == "archived"
		f.Archived = &archived
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	items, err := s.Store.Suppliers(c, f)
	return respond(c, nonNil(items), err)
}

func (s *Server) createSupplier(c *gin.Context) error {
	var in SupplierInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var sp domain.Supplier
	if _, err := in.apply(&sp, true); err != nil {
		return err
	}
	sp, err := s.Store.CreateSupplier(c, actor(c), sp)
	return created(c, "/api/v1/suppliers/"+sp.ID.String(), sp, err)
}

func (s *Server) getSupplier(c *gin.Context) error {
	sp, err := s.supplier(c)
	return respond(c, sp, err)
}

// supplier is the supplier the path names.
func (s *Server) supplier(c *gin.Context) (domain.Supplier, error) {
	id, err := pathID(c, "supplier")
	if err != nil {
		return domain.Supplier{}, err
	}
	sp, err := s.Store.Supplier(c, id)
	return sp, notFoundAs(err, "supplier")
}

func (s *Server) updateSupplier(c *gin.Context) error {
	id, err := pathID(c, "supplier")
	if err != nil {
		return err
	}
	var in SupplierInput
	if err := decode(c, &in); err != nil {
		return err
	}
	// Checked before the database is touched: bad input changes nothing.
	var probe domain.Supplier
	changed, err := in.apply(&probe, false)
	if err != nil {
		return err
	}
	if len(changed) == 0 {
		return invalid(FieldError{Field: "body", Message: "names nothing to change"})
	}
	sp, err := s.Store.UpdateSupplier(c, actor(c), id, changed, func(sp *domain.Supplier) { in.apply(sp, false) })
	return respond(c, sp, notFoundAs(err, "supplier"))
}

func (s *Server) archiveSupplier(archive bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		id, err := pathID(c, "supplier")
		if err != nil {
			return err
		}
		sp, err := s.Store.SetSupplierArchived(c, actor(c), id, archive)
		switch {
		case errors.Is(err, store.ErrWrongState) && archive:
			return conflict("the supplier is archived already")
		case errors.Is(err, store.ErrWrongState):
			return conflict("the supplier is in use, not archived")
		case errors.Is(err, store.ErrSubSuppliersInUse), errors.Is(err, store.ErrParentArchived):
			return conflict(err.Error())
		}
		return respond(c, sp, notFoundAs(err, "supplier"))
	}
}

// compliance is the compliance view of the supplier the path names, as the caller's reach sees it, today (UTC).
func (s *Server) compliance(c *gin.Context) (ComplianceView, error) {
	sp, err := s.supplier(c)
	if err != nil {
		return ComplianceView{}, err
	}
	reach, day := credential(c).Reach, today()
	people, err := s.Store.SupplierPeople(c, sp.ID, reach, day)
	if err != nil {
		return ComplianceView{}, err
	}
	open := true
	page := store.Page{Limit: 200}
	cases, total, err := s.Store.CaseList(c, store.CaseFilter{SupplierID: &sp.ID, Open: &open, Reach: reach, Page: page})
	if err != nil {
		return ComplianceView{}, err
	}
	v := ComplianceView{Supplier: sp, AsOf: day, ExpiringWithinDays: domain.ExpiringWithin, People: nonNil(people),
		Counts: map[domain.ClearanceState]int{}, OpenCases: make([]CaseSummary, len(cases)), OpenCasesTotal: total}
	for _, st := range domain.ClearanceStates {
		v.Counts[st] = 0
	}
	for _, p := range people {
		v.Counts[p.State]++
	}
	for i, r := range cases {
		v.OpenCases[i] = CaseSummary{Case: r.Case, PersonName: r.PersonName, EmployeeNumber: r.EmployeeNumber,
			OwnerName: r.OwnerName, StatusSince: r.StatusSince}
	}
	return v, nil
}

func (s *Server) supplierCompliance(c *gin.Context) error {
	v, err := s.compliance(c)
	return respond(c, v, err)
}

// supplierComplianceCSV is the compliance view's people as CSV, one row each.
func (s *Server) supplierComplianceCSV(c *gin.Context) error {
	v, err := s.compliance(c)
	if err != nil {
		return err
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"person_id", "name", "employee_number", "state", "level", "valid_to", "open_case"})
	for _, p := range v.People {
		level, validTo, open := "", "", ""
		if p.Level != nil {
			level, validTo = string(*p.Level), p.ValidTo.String()
		}
		if p.OpenCaseRef != nil {
			open = *p.OpenCaseRef
		}
		_ = w.Write([]string{p.PersonID.String(), csvCell(p.Name), csvCell(p.EmployeeNumber), string(p.State), level, validTo, open})
	}
	w.Flush()
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="supplier-%s-compliance-%s.csv"`, v.Supplier.ID, v.AsOf))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
	return nil
}

// csvCell keeps a spreadsheet from reading a value as a formula: one that starts with = + - @ (or a tab or
// carriage return) is quoted with a leading apostrophe (OWASP's advice on CSV injection).
func csvCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) setSiteSupplier(c *gin.Context) error {
	id, err := pathID(c, "partner site")
	if err != nil {
		return err
	}
	var in SiteSupplierInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	if in.SupplierID == nil {
		errs.add("supplierId", "is required")
	}
	supplier := fieldID(&errs, "supplierId", in.SupplierID)
	if err := errs.err(); err != nil {
		return err
	}
	site, err := s.Store.SetSiteSupplier(c, actor(c), id, supplier)
	return respond(c, site, notFoundAs(err, "partner site"))
}
