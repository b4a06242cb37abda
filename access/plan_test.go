package access

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0     = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	t1     = t0.Add(30 * 24 * time.Hour)
	person = uuid.MustParse("7f0c1c52-8b8a-4d1e-9c55-0d0f4c7b2a11")
)

func desired(levels ...Assignment) Desired {
	return Desired{PersonID: person, Present: true, User: User{ExternalID: ExternalID(person), EmployeeNumber: "E1",
		FirstName: "Jane", LastName: "Davies", Active: len(levels) > 0, CompanyID: "3", LocationID: "1",
		Access: Normalise(Access{Levels: levels})}}
}

func kinds(ops []Op) []OpKind {
	var out []OpKind
	for _, o := range ops {
		out = append(out, o.Kind)
	}
	return out
}

func TestPlanCreatesAnApprovedPersonOnce(t *testing.T) {
	d := desired(Assignment{LevelID: "5", From: t0, To: t1})
	ops, findings := Plan(d, nil, nil)
	require.Equal(t, []OpKind{OpCreate}, kinds(ops))
	assert.Empty(t, findings)
	assert.Equal(t, "sa:"+person.String(), ops[0].Desired.ExternalID)
	again, _ := Plan(d, nil, nil)
	assert.Equal(t, ops[0].ID, again[0].ID, "the same intended change has the same operation id")

	// Not approved and not there: nothing to create.
	ops, _ = Plan(desired(), nil, nil)
	assert.Empty(t, ops)
}

func TestPlanLeavesAMatchingRecordAlone(t *testing.T) {
	d := desired(Assignment{LevelID: "5", From: t0, To: t1})
	have := d.User
	have.ID = "42"
	// The ACS answers in its own time zone and precision: the same instants compare equal.
	london, _ := time.LoadLocation("Europe/London")
	have.Levels = []Assignment{{LevelID: "5", From: t0.In(london), To: t1.In(london).Add(300 * time.Millisecond)}}
	ops, findings := Plan(d, []User{have}, nil)
	assert.Empty(t, ops)
	assert.Empty(t, findings)
}

func TestPlanRemovesAndReportsAnUnapprovedLevel(t *testing.T) {
	d := desired(Assignment{LevelID: "5", From: t0, To: t1})
	d.LinkedUserID = "42"
	d.Pushed = d.User.Access
	have := d.User
	have.ID = "42"
	have.Levels = append(have.Levels, Assignment{LevelID: "9"}) // added by an operator
	ops, findings := Plan(d, []User{have}, nil)
	require.Equal(t, []OpKind{OpSetAccess}, kinds(ops))
	assert.Equal(t, d.User.Levels, ops[0].Desired.Levels, "only the approved level remains")
	require.Len(t, findings, 1)
	assert.Equal(t, FindingUnapprovedLevel, findings[0].Kind)
	assert.Equal(t, "9", findings[0].Detail["levelId"])
}

func TestPlanEndingOurOwnGrantIsNoFinding(t *testing.T) {
	d := desired() // the grant ended
	d.LinkedUserID = "42"
	d.Pushed = Normalise(Access{Levels: []Assignment{{LevelID: "5", From: t0, To: t1}}})
	have := d.User
	have.ID, have.Active, have.Access = "42", true, d.Pushed
	ops, findings := Plan(d, []User{have}, nil)
	assert.Equal(t, []OpKind{OpUpdate, OpSetAccess}, kinds(ops), "disabled, and the level taken off")
	assert.Empty(t, findings)
}

func TestPlanRestoresValidityChangedByHand(t *testing.T) {
	d := desired(Assignment{LevelID: "5", From: t0, To: t1})
	d.LinkedUserID, d.Pushed = "42", d.User.Access
	have := d.User
	have.ID = "42"
	have.Levels = []Assignment{{LevelID: "5", From: t0, To: t1.AddDate(1, 0, 0)}}
	ops, findings := Plan(d, []User{have}, nil)
	assert.Equal(t, []OpKind{OpSetAccess}, kinds(ops))
	require.Len(t, findings, 1)
	assert.Equal(t, FindingValidityChanged, findings[0].Kind)
}

func TestPlanReportsDuplicatesAndGovernsTheLinkedRecord(t *testing.T) {
	d := desired(Assignment{LevelID: "5", From: t0, To: t1})
	d.LinkedUserID = "107"
	a, b := d.User, d.User
	a.ID, b.ID = "99", "107"
	a.Levels = nil // the duplicate is incomplete
	ops, findings := Plan(d, []User{a, b}, nil)
	assert.Empty(t, ops, "the linked record is right; the duplicate is not merged or changed")
	require.Len(t, findings, 1)
	assert.Equal(t, FindingDuplicate, findings[0].Kind)
	assert.Equal(t, "99", findings[0].UserID)
}

func TestPlanAdoptsByEmployeeNumberNeverByName(t *testing.T) {
	d := desired(Assignment{LevelID: "5", From: t0, To: t1})
	sameName := User{ID: "7", FirstName: "JANE", LastName: " davies", Active: true}
	ops, findings := Plan(d, nil, []User{sameName})
	assert.Equal(t, []OpKind{OpCreate}, kinds(ops), "a name is no match")
	require.Len(t, findings, 1)
	assert.Equal(t, FindingPossibleMatch, findings[0].Kind)

	byNumber := User{ID: "8", FirstName: "J", LastName: "Davies", EmployeeNumber: "E1"}
	ops, _ = Plan(d, nil, []User{byNumber})
	require.Equal(t, []OpKind{OpUpdate, OpSetAccess}, kinds(ops))
	assert.Equal(t, "8", ops[0].Desired.ID)
	assert.Equal(t, ExternalID(person), ops[0].Desired.ExternalID, "the adopted record gets our key")

	twice := User{ID: "9", EmployeeNumber: "E1"}
	ops, _ = Plan(d, nil, []User{byNumber, twice})
	assert.Equal(t, []OpKind{OpCreate}, kinds(ops), "an ambiguous employee number adopts nothing")
}

func TestPlanDeletesWhenThePersonMustHaveNoRecord(t *testing.T) {
	d := desired()
	d.Present, d.LinkedUserID = false, "42"
	have := d.User
	have.ID = "42"
	ops, _ := Plan(d, []User{have}, nil)
	require.Equal(t, []OpKind{OpDelete}, kinds(ops))
	assert.Equal(t, "42", ops[0].UserID)
}

func TestNormaliseMergesWindowsOfOneLevel(t *testing.T) {
	a := Normalise(Access{Levels: []Assignment{{LevelID: "5", From: t0, To: t1}, {LevelID: "5", From: t1, To: t1.Add(time.Hour)},
		{LevelID: "2", From: t0}}, Profiles: []string{"b", "a", "b"}})
	assert.Equal(t, []Assignment{{LevelID: "2", From: t0}, {LevelID: "5", From: t0, To: t1.Add(time.Hour)}}, a.Levels)
	assert.Equal(t, []string{"a", "b"}, a.Profiles)
}

func TestErrorKinds(t *testing.T) {
	for status, kind := range map[int]ErrorKind{401: KindAuth, 403: KindForbidden, 404: KindNotFound, 409: KindConflict,
		400: KindValidation, 429: KindRateLimited, 503: KindTransient, 500: KindTransient} {
		assert.Equal(t, kind, KindForStatus(status), "status %d", status)
	}
	assert.True(t, (&Error{Kind: KindRateLimited}).Retryable())
	assert.False(t, (&Error{Kind: KindForbidden}).Retryable(), "a missing permission is configuration, not retried")
}
