package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// A person has one open case of a type at a level: a second is not written and the error names the open
// one; a case of another type or level, or once the first has closed, is.
func TestOneOpenCasePerPersonTypeAndLevel(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Ann", LastName: "Smith"})
	first := newCase(domain.NewCaseRef(), p.ID, 1, domain.StatusOpened)
	if err := e.st.ApplyCaseEvent(e.ctx, first, event(1, "opened", nil)); err != nil {
		t.Fatal(err)
	}
	second := newCase(domain.NewCaseRef(), p.ID, 1, domain.StatusOpened)
	err := e.st.ApplyCaseEvent(e.ctx, second, event(1, "opened", nil))
	var open *store.CaseOpenError
	if !errors.As(err, &open) || open.CaseRef != first.CaseRef {
		t.Fatalf("second open case: %v, want a CaseOpenError naming %s", err, first.CaseRef)
	}
	if n := e.count(t, `SELECT count(*) FROM vetting_cases WHERE case_ref = $1`, second.CaseRef); n != 0 {
		t.Fatal("the second case was written")
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE entity_id = $1`, second.CaseRef); n != 0 {
		t.Fatal("the second case was audited")
	}
	other := newCase(domain.NewCaseRef(), p.ID, 1, domain.StatusOpened)
	other.RequestedLevel = domain.LevelDV
	if err := e.st.ApplyCaseEvent(e.ctx, other, event(1, "opened", nil)); err != nil {
		t.Fatalf("a case at another level: %v", err)
	}
	renewal := newCase(domain.NewCaseRef(), p.ID, 1, domain.StatusOpened)
	renewal.Type = domain.CaseRenewal
	if err := e.st.ApplyCaseEvent(e.ctx, renewal, event(1, "opened", nil)); err != nil {
		t.Fatalf("a case of another type: %v", err)
	}

	// The first closes: the same case may be opened again, and writing the first's later events still works.
	closed := first
	closed.Version, closed.Status, closed.ClosedAt = 2, domain.StatusWithdrawn, ptr(at(1))
	closed.UpdatedAt = closed.UpdatedAt.Add(time.Minute)
	closed.Outcome = ptr(domain.OutcomeWithdrawn)
	if err := e.st.ApplyCaseEvent(e.ctx, closed, event(2, "outcome", nil)); err != nil {
		t.Fatal(err)
	}
	if err := e.st.ApplyCaseEvent(e.ctx, second, event(1, "opened", nil)); err != nil {
		t.Fatalf("the same case once the first closed: %v", err)
	}
}
