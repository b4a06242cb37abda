package activities_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

func setup(t *testing.T) (*testsuite.TestActivityEnvironment, *store.Store) {
	t.Helper()
	st := testenv.Store(t)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: st})
	return env, st
}

func user(t *testing.T, st *store.Store, email string, roles ...domain.Role) domain.StaffUser {
	t.Helper()
	u, err := st.CreateUser(context.Background(), nil, domain.StaffUser{DisplayName: email, Email: email, Roles: roles, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Notifications go to the users named and every holder of the roles, once per key however often the
// activity runs.
func TestNotifyStaffResolvesRolesAndIsIdempotent(t *testing.T) {
	env, st := setup(t)
	owner := user(t, st, "owner@test.invalid", domain.RoleVettingOfficer)
	c1 := user(t, st, "c1@test.invalid", domain.RoleSecurityController)
	c2 := user(t, st, "c2@test.invalid", domain.RoleSecurityController, domain.RoleAdmin)
	user(t, st, "cw@test.invalid", domain.RoleCaseWorker)
	person, err := st.CreatePerson(context.Background(), nil, domain.Person{FirstName: "A", LastName: "B", DateOfBirth: domain.NewDate(1980, 1, 1), Active: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.NewCaseRef()
	now := time.Now().UTC()
	if _, err := env.ExecuteActivity(activities.A.ApplyCaseEvent, activities.CaseEventInput{
		Case:  domain.Case{CaseRef: ref, PersonID: person.ID, Type: domain.CaseNew, RequestedLevel: domain.LevelSC, Status: domain.StatusOpened, IssuingAuthority: "X", OpenedAt: now, DueAt: now, Version: 1, UpdatedAt: now},
		Event: domain.CaseEvent{CaseRef: ref, Seq: 1, At: now, Kind: "opened", Summary: "opened"},
	}); err != nil {
		t.Fatal(err)
	}
	in := activities.NotifyInput{Key: ref + "/4", Kind: "sla_escalation", CaseRef: ref, Message: "overdue", At: now,
		UserIDs: []uuid.UUID{owner.ID, c1.ID}, Roles: []domain.Role{domain.RoleSecurityController}}
	for range 2 {
		v, err := env.ExecuteActivity(activities.A.NotifyStaff, in)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := v.Get(&n); err != nil || n != 3 {
			t.Fatalf("notified %d users (%v), want owner and both controllers", n, err)
		}
	}
	for _, u := range []domain.StaffUser{owner, c1, c2} {
		ns, err := st.Notifications(context.Background(), u.ID, store.Page{Limit: 10})
		if err != nil || len(ns) != 1 || ns[0].Kind != "sla_escalation" || *ns[0].CaseRef != ref {
			t.Fatalf("%s has notifications %v (%v), want exactly one escalation", u.Email, ns, err)
		}
	}
}

// A write that refers to nothing is a non-retryable failure; retrying cannot fix it.
func TestRecordClearanceForUnknownPersonIsNotRetried(t *testing.T) {
	env, _ := setup(t)
	ref := domain.NewCaseRef()
	_, err := env.ExecuteActivity(activities.A.RecordClearance, domain.Clearance{PersonID: uuid.New(), Level: domain.LevelSC,
		ValidFrom: domain.NewDate(2026, 1, 1), ValidTo: domain.NewDate(2031, 1, 1), SourceCaseRef: &ref, IssuingAuthority: "X"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != activities.TypeInvalidInput {
		t.Fatalf("err = %v, want a non-retryable %s", err, activities.TypeInvalidInput)
	}
}
