package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

// env is a store on a fresh database, with a raw pool on the same database for checks the store has no
// query for.
type env struct {
	ctx context.Context
	st  *store.Store
	db  *pgxpool.Pool
}

func setup(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return env{ctx, st, db}
}

func (e env) user(t *testing.T, name string, active bool, roles ...domain.Role) domain.StaffUser {
	t.Helper()
	if len(roles) == 0 {
		roles = []domain.Role{domain.RoleCaseWorker}
	}
	u, err := e.st.CreateUser(e.ctx, nil, domain.StaffUser{DisplayName: name,
		Email: strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.org", Roles: roles, Active: active})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e env) person(t *testing.T, p domain.Person) domain.Person {
	t.Helper()
	if p.DateOfBirth.IsZero() {
		p.DateOfBirth = domain.NewDate(1980, time.May, 17)
	}
	got, err := e.st.CreatePerson(e.ctx, nil, p)
	if err != nil {
		t.Fatalf("CreatePerson %s %s: %v", p.FirstName, p.LastName, err)
	}
	return got
}

func (e env) supplier(t *testing.T, name string) domain.Supplier {
	t.Helper()
	s, err := e.st.CreateSupplier(e.ctx, nil, domain.Supplier{Name: name, Tier: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (e env) location(t *testing.T, code string) domain.Location {
	t.Helper()
	l, err := e.st.CreateLocation(e.ctx, nil, domain.Location{Code: code, Name: "Site " + code, TimeZone: "Europe/London"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (e env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.QueryRow(e.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// at is a fixed instant, to the microsecond PostgreSQL keeps.
var base = time.Date(2025, time.March, 3, 9, 0, 0, 0, time.UTC)

func at(days int) time.Time { return base.AddDate(0, 0, days) }

func TestPersonRoundTripAndAudit(t *testing.T) {
	e := setup(t)
	officer := e.user(t, "Olive Officer", true)
	sup := e.supplier(t, "Acme Defence")
	loc := e.location(t, "LDN")
	actor := store.Actor(&officer.ID)

	in := domain.Person{
		FirstName: "José", MiddleNames: "María", LastName: "O'Brien",
		DateOfBirth: domain.NewDate(1984, time.February, 29), Email: "jose@example.org", Mobile: "+447400123456",
		EmployeeNumber: ptr("E-1001"), SupplierID: &sup.ID, LocationID: &loc.ID,
		LineManager: domain.NewSensitive("Margaret Manager"), Address: domain.NewSensitive("1 Acacia Avenue, Leeds"),
		NINumber: domain.NewSensitive("AB123456C"), Active: true,
	}
	created, err := e.st.CreatePerson(e.ctx, actor, in)
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == uuid.Nil || created.CreatedAt.IsZero() || created.UpdatedAt.IsZero() {
		t.Errorf("CreatePerson = %+v: want an id and timestamps", created)
	}
	got, err := e.st.Person(e.ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	check := func(got domain.Person, want domain.Person) {
		t.Helper()
		if got.FirstName != want.FirstName || got.MiddleNames != want.MiddleNames || got.LastName != want.LastName ||
			got.DateOfBirth != want.DateOfBirth || got.Email != want.Email || got.Mobile != want.Mobile ||
			*got.EmployeeNumber != *want.EmployeeNumber || *got.SupplierID != *want.SupplierID ||
			*got.LocationID != *want.LocationID || got.Active != want.Active {
			t.Errorf("read back %+v\nwant %+v", got, want)
		}
		for _, f := range []struct {
			name      string
			got, want domain.Sensitive
		}{{"LineManager", got.LineManager, want.LineManager}, {"Address", got.Address, want.Address},
			{"NINumber", got.NINumber, want.NINumber}} {
			if f.got.Reveal() != f.want.Reveal() {
				t.Errorf("%s: Reveal = %q, want %q", f.name, f.got.Reveal(), f.want.Reveal())
			}
		}
	}
	check(got, in)
	if got.DateOfBirth.String() != "1984-02-29" {
		t.Errorf("DateOfBirth = %s", got.DateOfBirth)
	}

	// The database holds the values themselves, not "[redacted]", and the date as a date.
	var lm, addr, ni, dob, search string
	if err := e.db.QueryRow(e.ctx, `SELECT line_manager, address, ni_number, date_of_birth::text, search_name
		FROM persons WHERE id = $1`, created.ID).Scan(&lm, &addr, &ni, &dob, &search); err != nil {
		t.Fatal(err)
	}
	if lm != "Margaret Manager" || addr != "1 Acacia Avenue, Leeds" || ni != "AB123456C" {
		t.Errorf("stored sensitive columns = %q, %q, %q", lm, addr, ni)
	}
	if dob != "1984-02-29" || search != "jose o'brien" {
		t.Errorf("stored date_of_birth = %q, search_name = %q", dob, search)
	}

	updated, err := e.st.UpdatePerson(e.ctx, actor, created.ID, []string{"address", "mobile", "lastName"},
		func(p *domain.Person) {
			p.Address = domain.NewSensitive("2 Birch Road, York")
			p.Mobile = "+447400654321"
			p.LastName = "Ó Briain"
		})
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Address, want.Mobile, want.LastName = domain.NewSensitive("2 Birch Road, York"), "+447400654321", "Ó Briain"
	check(updated, want)
	got, err = e.st.Person(e.ctx, created.ID)
	if err != nil {
		t.Fatal(err)
	}
	check(got, want)
	if got.UpdatedAt.Before(created.UpdatedAt) || !got.CreatedAt.Equal(created.CreatedAt) {
		t.Errorf("timestamps: created %v/%v, after update %v/%v", created.CreatedAt, created.UpdatedAt, got.CreatedAt, got.UpdatedAt)
	}
	if e.count(t, `SELECT count(*) FROM persons WHERE id = $1 AND search_name = 'jose o briain'`, created.ID) != 1 {
		t.Error("UpdatePerson did not refold search_name")
	}

	trail, err := e.st.AuditTrail(e.ctx, "person", created.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 2 {
		t.Fatalf("audit trail has %d entries, want 2: %+v", len(trail), trail)
	}
	for i, action := range []string{"person.create", "person.update"} {
		a := trail[i]
		if a.Action != action || a.ActorID == nil || *a.ActorID != officer.ID || a.EntityType != "person" ||
			a.EntityID != created.ID.String() || a.At == "" {
			t.Errorf("audit %d = %+v, want %s by %s", i, a, action, officer.ID)
		}
	}
	fields, _ := trail[1].Detail["fields"].([]any)
	if fmt.Sprint(fields) != "[address mobile lastName]" {
		t.Errorf("person.update detail = %v, want the changed field names", trail[1].Detail)
	}
	raw, _ := json.Marshal(trail)
	for _, v := range []string{"Birch", "Acacia", "654321", "123456", "Briain", "Margaret", "AB123456C"} {
		if strings.Contains(string(raw), v) {
			t.Errorf("audit trail shows the value %q: %s", v, raw)
		}
	}

	// Unknown ids: not found, and nothing is audited.
	if _, err := e.st.Person(e.ctx, uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Person(unknown) = %v, want ErrNotFound", err)
	}
	ghost := uuid.New()
	called := false
	if _, err := e.st.UpdatePerson(e.ctx, actor, ghost, []string{"email"}, func(*domain.Person) { called = true }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdatePerson(unknown) = %v, want ErrNotFound", err)
	}
	if called {
		t.Error("UpdatePerson(unknown) called change")
	}
	if trail, _ := e.st.AuditTrail(e.ctx, "person", ghost.String()); len(trail) != 0 {
		t.Errorf("UpdatePerson(unknown) audited %+v", trail)
	}
}

func TestPersonWithoutOptionalFields(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith", Active: true})
	got, err := e.st.Person(e.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.EmployeeNumber != nil || got.SupplierID != nil || got.LocationID != nil || !got.Address.IsZero() ||
		!got.NINumber.IsZero() || !got.LineManager.IsZero() {
		t.Errorf("Person = %+v: want no employee number, supplier, location or sensitive values", got)
	}
	trail, _ := e.st.AuditTrail(e.ctx, "person", p.ID.String())
	if len(trail) != 1 || trail[0].ActorID != nil {
		t.Errorf("system create: audit %+v, want one entry with no actor", trail)
	}
}

func TestPersonConstraintErrors(t *testing.T) {
	e := setup(t)
	first := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith", EmployeeNumber: ptr("E1")})
	second := e.person(t, domain.Person{FirstName: "Bob", LastName: "Jones", EmployeeNumber: ptr("E2")})
	// Persons without an employee number do not clash with one another.
	e.person(t, domain.Person{FirstName: "Cat", LastName: "A"})
	e.person(t, domain.Person{FirstName: "Dan", LastName: "B"})
	audits := e.count(t, `SELECT count(*) FROM audit_log`)

	_, err := e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Eve", LastName: "Smith",
		DateOfBirth: domain.NewDate(1990, 1, 1), EmployeeNumber: ptr("E1")})
	var ce *store.ConstraintError
	if !errors.As(err, &ce) || !ce.Unique || ce.Constraint != "persons_employee_number_key" {
		t.Errorf("duplicate employee number: %v (%#v), want a unique ConstraintError on persons_employee_number_key", err, ce)
	}

	_, err = e.st.UpdatePerson(e.ctx, nil, second.ID, []string{"employeeNumber"}, func(p *domain.Person) {
		p.EmployeeNumber = first.EmployeeNumber
	})
	ce = nil
	if !errors.As(err, &ce) || !ce.Unique || ce.Constraint != "persons_employee_number_key" {
		t.Errorf("update to a duplicate employee number: %v, want a unique ConstraintError", err)
	}

	_, err = e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Fay", LastName: "Smith",
		DateOfBirth: domain.NewDate(1990, 1, 1), SupplierID: ptr(uuid.New())})
	ce = nil
	if !errors.As(err, &ce) || ce.Unique || ce.Constraint != "persons_supplier_id_fkey" {
		t.Errorf("unknown supplier: %v (%#v), want a reference ConstraintError on persons_supplier_id_fkey", err, ce)
	}
	if ce != nil && !strings.Contains(ce.Error(), "persons_supplier_id_fkey") {
		t.Errorf("Error() = %q", ce.Error())
	}

	_, err = e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Gus", LastName: "Smith",
		DateOfBirth: domain.NewDate(1990, 1, 1), LocationID: ptr(uuid.New())})
	ce = nil
	if !errors.As(err, &ce) || ce.Unique || ce.Constraint != "persons_location_id_fkey" {
		t.Errorf("unknown location: %v, want a reference ConstraintError on persons_location_id_fkey", err)
	}

	if n := e.count(t, `SELECT count(*) FROM audit_log`); n != audits {
		t.Errorf("refused writes were audited: %d audit entries, want %d", n, audits)
	}
	if n := e.count(t, `SELECT count(*) FROM persons`); n != 4 {
		t.Errorf("%d persons, want 4", n)
	}
	if got, _ := e.st.Person(e.ctx, second.ID); *got.EmployeeNumber != "E2" {
		t.Errorf("refused update changed the person: %v", *got.EmployeeNumber)
	}
}

func TestPersonsSearchFiltersAndPaging(t *testing.T) {
	e := setup(t)
	supA, supB := e.supplier(t, "Acme"), e.supplier(t, "Beta")
	locL, locM := e.location(t, "LDN"), e.location(t, "MAN")
	jose := e.person(t, domain.Person{FirstName: "José", LastName: "O'Brien", Email: "jose.obrien@acme.example",
		EmployeeNumber: ptr("ACME-77"), SupplierID: &supA.ID, LocationID: &locL.ID, Active: true})
	ann := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith", Email: "ann@beta.example",
		SupplierID: &supB.ID, LocationID: &locM.ID, Active: true})
	zoe := e.person(t, domain.Person{FirstName: "Zoë", LastName: "Adams", LocationID: &locL.ID, Active: false})
	pct := e.person(t, domain.Person{FirstName: "Per", LastName: "Cent_100%", Active: true})

	names := func(ps []domain.Person) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.FirstName+" "+p.LastName)
		}
		return out
	}
	search := func(f store.PersonFilter, want ...domain.Person) {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 50
		}
		got, total, err := e.st.Persons(e.ctx, f)
		if err != nil {
			t.Fatalf("Persons(%+v): %v", f, err)
		}
		if total != len(want) || len(got) != len(want) {
			t.Errorf("Persons(%+v) = %v (total %d), want %v", f, names(got), total, names(want))
			return
		}
		for i := range want {
			if got[i].ID != want[i].ID {
				t.Errorf("Persons(%+v) = %v, want %v", f, names(got), names(want))
				return
			}
		}
	}
	for _, q := range []string{"jose", "José", "JOSE", "o'brien", "O'Brien", "  jose   o'brien ", "Jose O'Brien",
		"obrien@acme", "acme-77"} {
		search(store.PersonFilter{Query: q}, jose)
	}
	search(store.PersonFilter{Query: "zoe"}, zoe)
	search(store.PersonFilter{Query: "Zoë"}, zoe)
	search(store.PersonFilter{Query: "nobody"})
	// LIKE wildcards in the query are literal
	search(store.PersonFilter{Query: "%"}, pct)
	search(store.PersonFilter{Query: "_"}, pct)

	search(store.PersonFilter{}, zoe, pct, jose, ann) // by last name: Adams, Cent, O'Brien, Smith
	search(store.PersonFilter{SupplierID: &supA.ID}, jose)
	search(store.PersonFilter{SupplierID: &supB.ID}, ann)
	search(store.PersonFilter{LocationID: &locL.ID}, zoe, jose)
	search(store.PersonFilter{LocationID: &locM.ID}, ann)
	search(store.PersonFilter{Active: ptr(true)}, pct, jose, ann)
	search(store.PersonFilter{Active: ptr(false)}, zoe)
	search(store.PersonFilter{LocationID: &locL.ID, Active: ptr(true)}, jose)
	search(store.PersonFilter{LocationID: &locL.ID, SupplierID: &supB.ID})
	search(store.PersonFilter{Query: "o", LocationID: &locL.ID}, zoe, jose)

	// Paging: a window on the same order, with the total of all that match.
	var all []domain.Person
	for i := range 7 {
		all = append(all, e.person(t, domain.Person{FirstName: "Page", LastName: fmt.Sprintf("Pager%02d", i),
			SupplierID: &supB.ID, Active: true}))
	}
	for _, c := range []struct{ limit, offset, from, to int }{{3, 0, 0, 3}, {3, 3, 3, 6}, {3, 6, 6, 7}, {3, 9, 7, 7}, {10, 0, 0, 7}} {
		got, total, err := e.st.Persons(e.ctx, store.PersonFilter{Query: "pager", Page: store.Page{Limit: c.limit, Offset: c.offset}})
		if err != nil {
			t.Fatal(err)
		}
		if total != 7 || fmt.Sprint(names(got)) != fmt.Sprint(names(all[c.from:c.to])) {
			t.Errorf("limit %d offset %d: %v (total %d), want %v (total 7)", c.limit, c.offset, names(got), total, names(all[c.from:c.to]))
		}
	}
	got, total, err := e.st.Persons(e.ctx, store.PersonFilter{SupplierID: &supB.ID, Page: store.Page{Limit: 2, Offset: 1}})
	if err != nil || total != 8 || len(got) != 2 || got[0].ID != all[1].ID || got[1].ID != all[2].ID {
		t.Errorf("supplier page = %v (total %d, %v), want Pager01, Pager02 of 8", names(got), total, err)
	}
}

// newCase is a case snapshot at version v.
func newCase(ref string, person uuid.UUID, v int, status domain.CaseStatus) domain.Case {
	return domain.Case{CaseRef: ref, PersonID: person, Type: domain.CaseNew, RequestedLevel: domain.LevelSC,
		Status: status, IssuingAuthority: "SignetAssure", OpenedAt: at(0), DueAt: at(25), Version: v,
		UpdatedAt: at(0).Add(time.Duration(v) * time.Minute)}
}

func event(seq int, kind string, actor *uuid.UUID) domain.CaseEvent {
	return domain.CaseEvent{Seq: seq, At: at(0).Add(time.Duration(seq) * time.Minute), Kind: kind, ActorID: actor,
		Summary: fmt.Sprintf("event %d", seq), Detail: map[string]any{"n": float64(seq), "note": kind}}
}

func TestApplyCaseEventIdempotentAndOrdered(t *testing.T) {
	e := setup(t)
	officer := e.user(t, "Olive Officer", true)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	ref := domain.NewCaseRef()

	c1 := newCase(ref, p.ID, 1, domain.StatusOpened)
	c1.OpenedBy = &officer.ID
	for range 2 {
		if err := e.st.ApplyCaseEvent(e.ctx, c1, event(1, "opened", &officer.ID)); err != nil {
			t.Fatal(err)
		}
	}
	evs, err := e.st.CaseEvents(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 {
		t.Fatalf("the same event twice: %d timeline rows, want 1", len(evs))
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE dedup_key = $1`, "case/"+ref+"/1"); n != 1 {
		t.Errorf("the same event twice: %d audit entries, want 1", n)
	}
	trail, _ := e.st.AuditTrail(e.ctx, "vetting_case", ref)
	if len(trail) != 1 || trail[0].Action != "case.opened" || trail[0].ActorID == nil || *trail[0].ActorID != officer.ID {
		t.Errorf("audit trail = %+v, want one case.opened by the officer", trail)
	}
	ev := evs[0]
	if ev.CaseRef != ref || ev.Seq != 1 || ev.Kind != "opened" || !ev.At.Equal(at(0).Add(time.Minute)) ||
		ev.ActorID == nil || *ev.ActorID != officer.ID || ev.Summary != "event 1" || ev.Detail["note"] != "opened" ||
		ev.Detail["n"] != float64(1) {
		t.Errorf("event = %+v", ev)
	}

	got, err := e.st.Case(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.CaseRef != ref || got.PersonID != p.ID || got.Type != domain.CaseNew || got.RequestedLevel != domain.LevelSC ||
		got.Status != domain.StatusOpened || got.Version != 1 || !got.OpenedAt.Equal(at(0)) || !got.DueAt.Equal(at(25)) ||
		got.OpenedBy == nil || *got.OpenedBy != officer.ID || got.OwnerID != nil || got.Outcome != nil ||
		got.OutcomeLevel != nil || !got.ValidFrom.IsZero() || got.ClosedAt != nil || got.InfoDueAt != nil {
		t.Errorf("Case = %+v", got)
	}

	// Events 3 then 2 (out of order); the snapshot follows the highest version.
	c3 := newCase(ref, p.ID, 3, domain.StatusCleared)
	c3.OwnerID = &officer.ID
	c3.Outcome, c3.OutcomeLevel = ptr(domain.OutcomeCleared), ptr(domain.LevelSC)
	c3.ValidFrom, c3.ValidTo = domain.NewDate(2025, 3, 4), domain.NewDate(2035, 3, 4)
	c3.ClosedAt = ptr(at(3))
	c3.InfoRequested, c3.InfoDueAt, c3.EscalatedAt = "payslips", ptr(at(2)), ptr(at(1))
	if err := e.st.ApplyCaseEvent(e.ctx, c3, event(3, "decided", &officer.ID)); err != nil {
		t.Fatal(err)
	}
	c2 := newCase(ref, p.ID, 2, domain.StatusWithOfficer)
	c2.OwnerID = &officer.ID
	if err := e.st.ApplyCaseEvent(e.ctx, c2, event(2, "assigned", nil)); err != nil {
		t.Fatal(err)
	}
	// an older snapshot again, and a repeat of the first
	if err := e.st.ApplyCaseEvent(e.ctx, c1, event(1, "opened", &officer.ID)); err != nil {
		t.Fatal(err)
	}
	// the same version again does not overwrite either
	same := c2
	same.Version, same.Status = 3, domain.StatusRefused
	if err := e.st.ApplyCaseEvent(e.ctx, same, event(3, "decided", &officer.ID)); err != nil {
		t.Fatal(err)
	}

	got, err = e.st.Case(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || got.Status != domain.StatusCleared || got.Outcome == nil || *got.Outcome != domain.OutcomeCleared ||
		got.OutcomeLevel == nil || *got.OutcomeLevel != domain.LevelSC || got.ValidFrom != c3.ValidFrom ||
		got.ValidTo != c3.ValidTo || got.ClosedAt == nil || !got.ClosedAt.Equal(at(3)) || got.InfoRequested != "payslips" ||
		got.InfoDueAt == nil || !got.InfoDueAt.Equal(at(2)) || got.EscalatedAt == nil || !got.EscalatedAt.Equal(at(1)) ||
		got.OwnerID == nil || *got.OwnerID != officer.ID || !got.UpdatedAt.Equal(c3.UpdatedAt) {
		t.Errorf("an older snapshot overwrote a newer one: %+v", got)
	}
	evs, err = e.st.CaseEvents(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int
	for _, ev := range evs {
		seqs = append(seqs, ev.Seq)
	}
	if fmt.Sprint(seqs) != "[1 2 3]" {
		t.Errorf("CaseEvents seqs = %v, want [1 2 3]", seqs)
	}
	if len(evs) == 3 && (evs[1].ActorID != nil || evs[2].Kind != "decided") {
		t.Errorf("events = %+v", evs)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE entity_type = 'vetting_case' AND entity_id = $1`, ref); n != 3 {
		t.Errorf("%d audit entries for the case, want 3", n)
	}

	if _, err := e.st.Case(e.ctx, domain.NewCaseRef()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Case(unknown) = %v, want ErrNotFound", err)
	}
	if evs, err := e.st.CaseEvents(e.ctx, domain.NewCaseRef()); err != nil || len(evs) != 0 {
		t.Errorf("CaseEvents(unknown) = %v, %v", evs, err)
	}
}

func TestApplyCaseEventRollsBackTogether(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	ref := domain.NewCaseRef()
	// An actor who does not exist: the event is refused, and neither the case nor the audit entry is written.
	err := e.st.ApplyCaseEvent(e.ctx, newCase(ref, p.ID, 1, domain.StatusOpened), event(1, "opened", ptr(uuid.New())))
	var ce *store.ConstraintError
	if !errors.As(err, &ce) || ce.Unique {
		t.Fatalf("unknown actor: %v, want a reference ConstraintError", err)
	}
	if _, err := e.st.Case(e.ctx, ref); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the case was written without its event: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE entity_id = $1`, ref); n != 0 {
		t.Errorf("%d audit entries for a refused event", n)
	}
}

func TestCasesFilter(t *testing.T) {
	e := setup(t)
	olive, owen := e.user(t, "Olive", true), e.user(t, "Owen", true)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	q := e.person(t, domain.Person{FirstName: "Bob", LastName: "Jones"})

	type spec struct {
		name   string
		person uuid.UUID
		status domain.CaseStatus
		owner  *uuid.UUID
		level  domain.Level
		typ    domain.CaseType
		due    int
	}
	specs := []spec{
		{"a", p.ID, domain.StatusOpened, nil, domain.LevelSC, domain.CaseNew, 30},
		{"b", p.ID, domain.StatusWithOfficer, &olive.ID, domain.LevelDV, domain.CaseNew, 10},
		{"c", q.ID, domain.StatusAwaitingInformation, &olive.ID, domain.LevelSC, domain.CaseRenewal, 20},
		{"d", q.ID, domain.StatusCleared, &owen.ID, domain.LevelSC, domain.CaseNew, 5},
		{"e", q.ID, domain.StatusWithdrawn, &olive.ID, domain.LevelCTC, domain.CaseUpgrade, 40},
	}
	refs := map[string]string{}
	byRef := map[string]string{}
	for _, s := range specs {
		ref := domain.NewCaseRef()
		refs[s.name], byRef[ref] = ref, s.name
		c := newCase(ref, s.person, 1, s.status)
		c.OwnerID, c.RequestedLevel, c.Type, c.DueAt = s.owner, s.level, s.typ, at(s.due)
		if s.status.Closed() {
			c.ClosedAt = ptr(at(1))
			c.Outcome = ptr(domain.Outcome(s.status))
		}
		if err := e.st.ApplyCaseEvent(e.ctx, c, event(1, "opened", nil)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(f store.CaseFilter, want string) {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 50
		}
		got, total, err := e.st.Cases(e.ctx, f)
		if err != nil {
			t.Fatalf("Cases(%+v): %v", f, err)
		}
		var names string
		for _, c := range got {
			names += byRef[c.CaseRef]
		}
		if names != want || total != len(want) {
			t.Errorf("Cases(%+v) = %q (total %d), want %q", f, names, total, want)
		}
	}
	list(store.CaseFilter{}, "dbcae") // soonest due first
	list(store.CaseFilter{Statuses: []domain.CaseStatus{domain.StatusOpened}}, "a")
	list(store.CaseFilter{Statuses: []domain.CaseStatus{domain.StatusWithOfficer, domain.StatusAwaitingInformation}}, "bc")
	list(store.CaseFilter{Statuses: []domain.CaseStatus{domain.StatusRefused}}, "")
	list(store.CaseFilter{OwnerID: &olive.ID}, "bce")
	list(store.CaseFilter{OwnerID: &owen.ID}, "d")
	list(store.CaseFilter{PersonID: &p.ID}, "ba")
	list(store.CaseFilter{Level: domain.LevelSC}, "dca")
	list(store.CaseFilter{Level: domain.LevelEDV}, "")
	list(store.CaseFilter{Type: domain.CaseRenewal}, "c")
	list(store.CaseFilter{Open: ptr(true)}, "bca")
	list(store.CaseFilter{Open: ptr(false)}, "de")
	list(store.CaseFilter{DueBefore: ptr(at(20))}, "db") // strictly before
	list(store.CaseFilter{DueBefore: ptr(at(20).Add(time.Second))}, "dbc")
	list(store.CaseFilter{Open: ptr(true), OwnerID: &olive.ID, Level: domain.LevelSC}, "c")
	list(store.CaseFilter{Open: ptr(true), DueBefore: ptr(at(25))}, "bc")

	got, total, err := e.st.Cases(e.ctx, store.CaseFilter{Page: store.Page{Limit: 2, Offset: 2}})
	if err != nil || total != 5 || len(got) != 2 || got[0].CaseRef != refs["c"] || got[1].CaseRef != refs["a"] {
		t.Errorf("page 2 = %v (total %d, %v), want c, a of 5", got, total, err)
	}
}

// openCase makes a case row for a clearance to come from: a case decided (closed), so a person may
// have any number of them.
func (e env) openCase(t *testing.T, person uuid.UUID, level domain.Level) string {
	t.Helper()
	ref := domain.NewCaseRef()
	c := newCase(ref, person, 1, domain.StatusCleared)
	c.RequestedLevel = level
	c.ClosedAt, c.Outcome = ptr(at(1)), ptr(domain.OutcomeCleared)
	if err := e.st.ApplyCaseEvent(e.ctx, c, event(1, "opened", nil)); err != nil {
		t.Fatal(err)
	}
	return ref
}

func clearance(person uuid.UUID, level domain.Level, ref string, from domain.Date, years int) domain.Clearance {
	return domain.Clearance{PersonID: person, Level: level, ValidFrom: from, ValidTo: from.AddYears(years),
		SourceCaseRef: &ref, IssuingAuthority: "SignetAssure"}
}

func TestRecordClearance(t *testing.T) {
	e := setup(t)
	officer := e.user(t, "Olive", true)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	sc1, sc2, dv := e.openCase(t, p.ID, domain.LevelSC), e.openCase(t, p.ID, domain.LevelSC), e.openCase(t, p.ID, domain.LevelDV)

	first, err := e.st.RecordClearance(e.ctx, &officer.ID, clearance(p.ID, domain.LevelSC, sc1, domain.NewDate(2020, 1, 6), 5))
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != store.ClearanceIDForCase(sc1) || first.Status != domain.ClearanceActive || first.Level != domain.LevelSC ||
		first.PersonID != p.ID || first.SourceCaseRef == nil || *first.SourceCaseRef != sc1 ||
		first.ValidFrom != domain.NewDate(2020, 1, 6) || first.ValidTo != domain.NewDate(2025, 1, 6) ||
		first.SupersededBy != nil || first.IssuingAuthority != "SignetAssure" || first.CreatedAt.IsZero() {
		t.Errorf("RecordClearance = %+v", first)
	}

	// Again from the same case (a retried activity), even with other values: the stored one, unchanged.
	again := clearance(p.ID, domain.LevelSC, sc1, domain.NewDate(2021, 1, 1), 10)
	again.WithAdvisory = true
	repeat, err := e.st.RecordClearance(e.ctx, &officer.ID, again)
	if err != nil {
		t.Fatal(err)
	}
	if repeat.ID != first.ID || repeat.ValidFrom != first.ValidFrom || repeat.WithAdvisory || repeat.Status != domain.ClearanceActive {
		t.Errorf("repeat = %+v, want the stored %+v", repeat, first)
	}
	if cs, _ := e.st.PersonClearances(e.ctx, p.ID); len(cs) != 1 {
		t.Errorf("after a repeat: %d clearances, want 1", len(cs))
	}
	trail, _ := e.st.AuditTrail(e.ctx, "person", p.ID.String())
	records := 0
	for _, a := range trail {
		if a.Action == "clearance.record" {
			records++
			if a.ActorID == nil || *a.ActorID != officer.ID {
				t.Errorf("clearance.record actor = %v", a.ActorID)
			}
		}
	}
	if records != 1 {
		t.Errorf("%d clearance.record audit entries, want 1", records)
	}

	// A new SC clearance from another case supersedes the first.
	second, err := e.st.RecordClearance(e.ctx, nil, clearance(p.ID, domain.LevelSC, sc2, domain.NewDate(2025, 1, 2), 10))
	if err != nil {
		t.Fatal(err)
	}
	if second.ID == first.ID || second.Status != domain.ClearanceActive {
		t.Errorf("second = %+v", second)
	}
	// A DV clearance does not touch the SC one.
	dvc, err := e.st.RecordClearance(e.ctx, nil, clearance(p.ID, domain.LevelDV, dv, domain.NewDate(2025, 2, 1), 7))
	if err != nil {
		t.Fatal(err)
	}
	// Repeating the first case now returns it as stored (superseded) and leaves the second current.
	if r, err := e.st.RecordClearance(e.ctx, nil, clearance(p.ID, domain.LevelSC, sc1, domain.NewDate(2020, 1, 6), 5)); err != nil ||
		r.ID != first.ID || r.Status != domain.ClearanceSuperseded {
		t.Errorf("repeat after supersession = %+v, %v", r, err)
	}

	cs, err := e.st.PersonClearances(e.ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("%d clearances, want 3: %+v", len(cs), cs)
	}
	byID := map[uuid.UUID]domain.Clearance{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	old := byID[first.ID]
	if old.Status != domain.ClearanceSuperseded || old.SupersededBy == nil || *old.SupersededBy != second.ID {
		t.Errorf("first after a second SC = %+v, want superseded by %s", old, second.ID)
	}
	if c := byID[second.ID]; c.Status != domain.ClearanceActive || c.SupersededBy != nil {
		t.Errorf("second = %+v, want active", c)
	}
	if c := byID[dvc.ID]; c.Status != domain.ClearanceActive || c.SupersededBy != nil {
		t.Errorf("DV = %+v, want active", c)
	}
	if cs[0].ID != dvc.ID || cs[2].ID != first.ID {
		t.Errorf("PersonClearances not newest first: %v %v %v", cs[0].Level, cs[1].ID, cs[2].ID)
	}
	for _, l := range []domain.Level{domain.LevelSC, domain.LevelDV} {
		if n := e.count(t, `SELECT count(*) FROM clearances WHERE person_id = $1 AND level = $2 AND status = 'active'`, p.ID, l); n != 1 {
			t.Errorf("%d active %s clearances, want 1", n, l)
		}
	}

	// Another person's clearance at the same level is their own.
	q := e.person(t, domain.Person{FirstName: "Bob", LastName: "Jones"})
	if _, err := e.st.RecordClearance(e.ctx, nil, clearance(q.ID, domain.LevelSC, e.openCase(t, q.ID, domain.LevelSC),
		domain.NewDate(2024, 6, 1), 5)); err != nil {
		t.Fatal(err)
	}
	if c, _ := e.st.PersonClearances(e.ctx, p.ID); len(c) != 3 || c[1].Status != domain.ClearanceActive {
		t.Errorf("another person's clearance changed this person's: %+v", c)
	}

	// Without a source case: a fresh id every time.
	a, err := e.st.RecordClearance(e.ctx, nil, domain.Clearance{PersonID: q.ID, Level: domain.LevelBPSS,
		ValidFrom: domain.NewDate(2024, 1, 1), ValidTo: domain.NewDate(2027, 1, 1), IssuingAuthority: "Legacy"})
	if err != nil || a.SourceCaseRef != nil || a.Status != domain.ClearanceActive {
		t.Fatalf("no source case: %+v, %v", a, err)
	}

	// An unknown case reference is refused.
	_, err = e.st.RecordClearance(e.ctx, nil, clearance(p.ID, domain.LevelCTC, domain.NewCaseRef(), domain.NewDate(2024, 1, 1), 5))
	var ce *store.ConstraintError
	if !errors.As(err, &ce) || ce.Unique || ce.Constraint != "clearances_source_case_ref_fkey" {
		t.Errorf("unknown case: %v, want a reference ConstraintError", err)
	}
}

func TestRecordClearanceConcurrent(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})

	// The same decision recorded by several attempts at once: one clearance, and every attempt gets it.
	ref := e.openCase(t, p.ID, domain.LevelSC)
	const n = 8
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			c, err := e.st.RecordClearance(e.ctx, nil, clearance(p.ID, domain.LevelSC, ref, domain.NewDate(2025, 1, 1), 5))
			ids[i], errs[i] = c.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != store.ClearanceIDForCase(ref) {
			t.Errorf("attempt %d: %v, %v", i, ids[i], errs[i])
		}
	}
	if cs, _ := e.st.PersonClearances(e.ctx, p.ID); len(cs) != 1 || cs[0].Status != domain.ClearanceActive {
		t.Errorf("after concurrent repeats: %+v, want one active clearance", cs)
	}

	// Different decisions at one level at once: all recorded, exactly one current.
	refs := make([]string, n)
	for i := range refs {
		refs[i] = e.openCase(t, p.ID, domain.LevelDV)
	}
	for i := range n {
		wg.Go(func() {
			_, errs[i] = e.st.RecordClearance(e.ctx, nil, clearance(p.ID, domain.LevelDV, refs[i], domain.NewDate(2025, 1, 1+i), 7))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("decision %d: %v", i, err)
		}
	}
	if a := e.count(t, `SELECT count(*) FROM clearances WHERE level = 'DV' AND status = 'active'`); a != 1 {
		t.Errorf("%d active DV clearances, want 1", a)
	}
	if s := e.count(t, `SELECT count(*) FROM clearances WHERE level = 'DV' AND status = 'superseded' AND superseded_by IS NOT NULL`); s != n-1 {
		t.Errorf("%d superseded DV clearances, want %d", s, n-1)
	}
}

func TestClearanceRegister(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	q := e.person(t, domain.Person{FirstName: "Bob", LastName: "Jones"})
	r := e.person(t, domain.Person{FirstName: "Cat", LastName: "Brown"})
	rec := func(person uuid.UUID, level domain.Level, from domain.Date, years int) domain.Clearance {
		t.Helper()
		c, err := e.st.RecordClearance(e.ctx, nil, clearance(person, level, e.openCase(t, person, level), from, years))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	pSCold := rec(p.ID, domain.LevelSC, domain.NewDate(2018, 1, 1), 5) // to 2023-01-01, superseded below
	pSC := rec(p.ID, domain.LevelSC, domain.NewDate(2023, 1, 1), 5)    // to 2028-01-01
	pDV := rec(p.ID, domain.LevelDV, domain.NewDate(2024, 1, 1), 7)    // to 2031-01-01
	qSC := rec(q.ID, domain.LevelSC, domain.NewDate(2021, 6, 1), 5)    // to 2026-06-01
	rCTC := rec(r.ID, domain.LevelCTC, domain.NewDate(2022, 3, 1), 3)  // to 2025-03-01
	name := map[uuid.UUID]string{pSCold.ID: "pSCold", pSC.ID: "pSC", pDV.ID: "pDV", qSC.ID: "qSC", rCTC.ID: "rCTC"}

	reg := func(f store.ClearanceFilter, want ...string) {
		t.Helper()
		if f.Limit == 0 {
			f.Limit = 50
		}
		got, total, err := e.st.ClearanceRegister(e.ctx, f)
		if err != nil {
			t.Fatalf("ClearanceRegister(%+v): %v", f, err)
		}
		var names []string
		for _, c := range got {
			names = append(names, name[c.ID])
		}
		if !slices.Equal(names, want) || total != len(want) {
			t.Errorf("ClearanceRegister(%+v) = %v (total %d), want %v", f, names, total, want)
		}
	}
	reg(store.ClearanceFilter{}, "pSCold", "rCTC", "qSC", "pSC", "pDV") // soonest expiring first
	reg(store.ClearanceFilter{Level: domain.LevelSC}, "pSCold", "qSC", "pSC")
	reg(store.ClearanceFilter{Level: domain.LevelEDV})
	reg(store.ClearanceFilter{Statuses: []domain.ClearanceStatus{domain.ClearanceActive}}, "rCTC", "qSC", "pSC", "pDV")
	reg(store.ClearanceFilter{Statuses: []domain.ClearanceStatus{domain.ClearanceSuperseded}}, "pSCold")
	reg(store.ClearanceFilter{Statuses: []domain.ClearanceStatus{domain.ClearanceSuperseded, domain.ClearanceRevoked}}, "pSCold")
	reg(store.ClearanceFilter{Level: domain.LevelSC, Statuses: []domain.ClearanceStatus{domain.ClearanceActive}}, "qSC", "pSC")
	reg(store.ClearanceFilter{ExpiringBefore: ptr(domain.NewDate(2028, 1, 1))}, "pSCold", "rCTC", "qSC") // strictly before
	reg(store.ClearanceFilter{ExpiringBefore: ptr(domain.NewDate(2028, 1, 2))}, "pSCold", "rCTC", "qSC", "pSC")
	reg(store.ClearanceFilter{ExpiringBefore: ptr(domain.NewDate(2027, 1, 1)),
		Statuses: []domain.ClearanceStatus{domain.ClearanceActive}}, "rCTC", "qSC")

	got, total, err := e.st.ClearanceRegister(e.ctx, store.ClearanceFilter{Page: store.Page{Limit: 2, Offset: 1}})
	if err != nil || total != 5 || len(got) != 2 || got[0].ID != rCTC.ID || got[1].ID != qSC.ID {
		t.Errorf("page = %+v (total %d, %v), want rCTC, qSC of 5", got, total, err)
	}
}

func TestTokens(t *testing.T) {
	e := setup(t)
	admin := e.user(t, "Ada Admin", true, domain.RoleAdmin, domain.RoleAuditor)
	gone := e.user(t, "Gone User", false)

	secret, err := e.st.IssueToken(e.ctx, &admin.ID, admin.ID, "laptop", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "sat_") || len(secret) < 4+40 {
		t.Errorf("secret = %q, want sat_ and at least 256 bits", secret)
	}
	other, err := e.st.IssueToken(e.ctx, &admin.ID, admin.ID, "laptop", nil)
	if err != nil || other == secret {
		t.Errorf("a second token: %q, %v", other, err)
	}

	u, err := e.st.UserByToken(e.ctx, secret)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != admin.ID || u.DisplayName != "Ada Admin" || !u.Active || !u.Has(domain.RoleAdmin) || !u.Has(domain.RoleAuditor) {
		t.Errorf("UserByToken = %+v", u)
	}
	if n := e.count(t, `SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL`); n != 1 {
		t.Errorf("%d tokens with a last use, want 1", n)
	}
	if _, err := e.st.UserByToken(e.ctx, secret); err != nil {
		t.Errorf("second use: %v", err)
	}

	future, err := e.st.IssueToken(e.ctx, nil, admin.ID, "ci", ptr(time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if u, err := e.st.UserByToken(e.ctx, future); err != nil || u.ID != admin.ID {
		t.Errorf("a token expiring in an hour: %+v, %v", u, err)
	}
	expired, err := e.st.IssueToken(e.ctx, nil, admin.ID, "old", ptr(time.Now().Add(-time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	inactive, err := e.st.IssueToken(e.ctx, nil, gone.ID, "laptop", nil)
	if err != nil {
		t.Fatal(err)
	}
	revoked, err := e.st.IssueToken(e.ctx, nil, admin.ID, "revoked", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(e.ctx, `UPDATE api_tokens SET revoked_at = now() WHERE name = 'revoked'`); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"unknown": "sat_" + strings.Repeat("A", 43), "empty": "", "expired": expired,
		"inactive user": inactive, "revoked": revoked, "truncated": secret[:len(secret)-1], "no prefix": secret[4:],
		"upper case": strings.ToUpper(secret)} {
		if u, err := e.st.UserByToken(e.ctx, s); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s token: %+v, %v; want ErrNotFound", name, u, err)
		}
	}

	// Only a hash is kept: no column of any token, nor the audit log, holds a secret.
	var hash []byte
	if err := e.db.QueryRow(e.ctx, `SELECT token_hash FROM api_tokens WHERE user_id = $1 ORDER BY created_at LIMIT 1`,
		admin.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if string(hash) == secret || len(hash) != 32 {
		t.Errorf("token_hash = %x (%d bytes), want a 32-byte hash unlike the secret", hash, len(hash))
	}
	for _, s := range []string{secret, other, future, expired, inactive, revoked} {
		for _, part := range []string{s, s[4:], s[4:24]} {
			for _, table := range []string{"api_tokens", "audit_log", "staff_users"} {
				if n := e.count(t, `SELECT count(*) FROM `+table+` t WHERE strpos(t::text, $1) > 0
					OR strpos(encode(convert_to(t::text, 'UTF8'), 'hex'), encode(convert_to($1, 'UTF8'), 'hex')) > 0`, part); n != 0 {
					t.Errorf("a secret appears in %s", table)
				}
			}
		}
		if n := e.count(t, `SELECT count(*) FROM api_tokens WHERE token_hash = convert_to($1, 'UTF8')`, s); n != 0 {
			t.Error("a token_hash holds the secret's bytes")
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'token.issue'`); n != 6 {
		t.Errorf("%d token.issue audit entries, want 6", n)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	e := setup(t)
	e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	before := e.count(t, `SELECT count(*) FROM audit_log`)
	if before == 0 {
		t.Fatal("no audit entries")
	}
	for _, sql := range []string{
		`UPDATE audit_log SET action = 'tampered'`,
		`UPDATE audit_log SET detail = '{}' WHERE id = (SELECT min(id) FROM audit_log)`,
		`DELETE FROM audit_log`,
		`DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)`,
		`TRUNCATE audit_log`,
		`TRUNCATE audit_leaves`, `TRUNCATE audit_tree_nodes`, `TRUNCATE audit_tree_checkpoints`,
	} {
		if _, err := e.db.Exec(e.ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only error", sql, err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action <> 'tampered'`); n != before {
		t.Errorf("%d audit entries after the attempts, want %d", n, before)
	}
}

func TestNotifications(t *testing.T) {
	e := setup(t)
	olive, owen := e.user(t, "Olive", true), e.user(t, "Owen", true)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	ref := e.openCase(t, p.ID, domain.LevelSC)

	n := func(id string, user uuid.UUID, minutes int, msg string) domain.Notification {
		return domain.Notification{ID: id, UserID: user, Kind: "sla.reminder", CaseRef: &ref, Message: msg,
			CreatedAt: at(0).Add(time.Duration(minutes) * time.Minute)}
	}
	if err := e.st.Notify(e.ctx, []domain.Notification{n("r1", olive.ID, 1, "first"), n("r2", olive.ID, 3, "second")}); err != nil {
		t.Fatal(err)
	}
	// A retry repeats r1 (with another message) alongside new ones: r1 is kept as first written.
	if err := e.st.Notify(e.ctx, []domain.Notification{n("r1", olive.ID, 9, "changed"), n("r3", olive.ID, 2, "third"),
		n("x1", owen.ID, 5, "owen's")}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Notify(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	ns, err := e.st.Notifications(e.ctx, olive.ID, store.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range ns {
		ids = append(ids, x.ID)
	}
	if fmt.Sprint(ids) != "[r2 r3 r1]" {
		t.Errorf("Notifications = %v, want newest first [r2 r3 r1]", ids)
	}
	if len(ns) == 3 {
		r1 := ns[2]
		if r1.Message != "first" || !r1.CreatedAt.Equal(at(0).Add(time.Minute)) || r1.UserID != olive.ID ||
			r1.Kind != "sla.reminder" || r1.CaseRef == nil || *r1.CaseRef != ref || r1.ReadAt != nil {
			t.Errorf("r1 = %+v", r1)
		}
	}
	if c := e.count(t, `SELECT count(*) FROM staff_notifications WHERE id = 'r1'`); c != 1 {
		t.Errorf("%d rows for r1", c)
	}
	if ns, _ := e.st.Notifications(e.ctx, olive.ID, store.Page{Limit: 1, Offset: 1}); len(ns) != 1 || ns[0].ID != "r3" {
		t.Errorf("page = %+v, want r3", ns)
	}
	if ns, _ := e.st.Notifications(e.ctx, owen.ID, store.Page{Limit: 50}); len(ns) != 1 || ns[0].ID != "x1" {
		t.Errorf("Owen's notifications = %+v", ns)
	}

	// One bad notification refuses the batch.
	err = e.st.Notify(e.ctx, []domain.Notification{n("ok", olive.ID, 1, "ok"), n("bad", uuid.New(), 1, "bad")})
	var ce *store.ConstraintError
	if !errors.As(err, &ce) || ce.Unique {
		t.Errorf("unknown user: %v, want a reference ConstraintError", err)
	}
	if c := e.count(t, `SELECT count(*) FROM staff_notifications WHERE id IN ('ok', 'bad')`); c != 0 {
		t.Errorf("a refused batch stored %d notifications", c)
	}
}

func TestOrganisationAndUsers(t *testing.T) {
	e := setup(t)
	admin := e.user(t, "Ada", true, domain.RoleAdmin)
	e.user(t, "Vic", true, domain.RoleVettingOfficer)
	e.user(t, "Gone", false, domain.RoleVettingOfficer)
	o, err := e.st.Organisation(e.ctx)
	if err != nil || o.Name != "SignetAssure" {
		t.Fatalf("Organisation = %+v, %v", o, err)
	}
	o.Name, o.IssuingAuthority = "Acme Vetting", "Acme Vetting Authority"
	if _, err := e.st.UpdateOrganisation(e.ctx, &admin.ID, o); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.st.Organisation(e.ctx); got.Name != "Acme Vetting" || got.IssuingAuthority != "Acme Vetting Authority" {
		t.Errorf("after update: %+v", got)
	}
	if trail, _ := e.st.AuditTrail(e.ctx, "organisation", "1"); len(trail) != 1 || *trail[0].ActorID != admin.ID {
		t.Errorf("organisation audit = %+v", trail)
	}
	officers, err := e.st.Users(e.ctx, domain.RoleVettingOfficer, true)
	if err != nil || len(officers) != 1 || officers[0].DisplayName != "Vic" {
		t.Errorf("Users(vetting_officer) = %+v, %v", officers, err)
	}
	if all, _ := e.st.Users(e.ctx, "", true); len(all) != 2 {
		t.Errorf("Users() = %+v, want the two active users", all)
	}
	if u, err := e.st.UserByEmail(e.ctx, "ada@example.org"); err != nil || u.ID != admin.ID {
		t.Errorf("UserByEmail = %+v, %v", u, err)
	}
	if _, err := e.st.User(e.ctx, uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("User(unknown) = %v", err)
	}
	_, err = e.st.CreateUser(e.ctx, nil, domain.StaffUser{DisplayName: "Ada 2", Email: "ada@example.org",
		Roles: []domain.Role{domain.RoleAdmin}, Active: true})
	var ce *store.ConstraintError
	if !errors.As(err, &ce) || !ce.Unique || ce.Constraint != "staff_users_email_key" {
		t.Errorf("duplicate e-mail: %v", err)
	}
}

// A lookup's disclosures and its audit entry are written together or not at all (one batch): a
// disclosure that cannot be written leaves no audit entry and no disclosure, and the connections it used
// serve the next writes as before.
func TestDisclosuresAndTheirAuditTogether(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith", DateOfBirth: domain.NewDate(1980, 1, 2)})
	batch := func(person uuid.UUID, action string) store.DisclosureBatch {
		return store.DisclosureBatch{
			Disclosures: []domain.Disclosure{{PersonID: p.ID, Source: "partner_lookup", Recipient: "Beacon", Reason: "door"},
				{PersonID: person, Source: "partner_lookup", Recipient: "Beacon", Reason: "door"}},
			Audit: store.AuditEntry{Action: action, EntityType: "partner_site", EntityID: "s1"}}
	}
	for range 30 { // more than the pool's connections
		err := e.st.RecordDisclosures(e.ctx, batch(uuid.New(), "external.refused"))
		var ce *store.ConstraintError
		if !errors.As(err, &ce) {
			t.Fatalf("a disclosure of an unknown person: %v; want a constraint error", err)
		}
	}
	if err := e.st.RecordDisclosures(e.ctx, batch(p.ID, "external.lookup")); err != nil {
		t.Fatalf("the next lookup's record: %v", err)
	}
	var audits, disclosures int
	if err := e.db.QueryRow(e.ctx, `SELECT (SELECT count(*) FROM audit_log WHERE action = 'external.refused'),
		(SELECT count(*) FROM disclosures)`).Scan(&audits, &disclosures); err != nil {
		t.Fatal(err)
	}
	if audits != 0 || disclosures != 2 {
		t.Fatalf("%d audit entries of the failed batches and %d disclosures; want 0 and the last batch's 2", audits, disclosures)
	}
}
