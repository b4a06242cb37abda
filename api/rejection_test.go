package api_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// A case's refusal of an action's input reaches the API through the Temporal server with its fields
// named, as the workflow's validator named them (the application error's details).
func TestWorkflowRejectionCarriesItsFields(t *testing.T) {
	e := newEnv(t)
	ref := e.openCase(e.createPerson("Rhys", "Evans", "1983-07-21"), "new", "SC")
	officer := e.users[domain.RoleVettingOfficer].ID
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer.String()})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := workflows.UpdateCase(ctx, e.tc, ref, workflows.UpdateRequestInformation, "", workflows.RequestInformation{
		Actor: officer, Description: "Payslips", DueAt: time.Now().Add(-time.Hour)})
	var rej *workflows.Rejection
	if !errorsAs(err, &rej) || rej.Conflict || rej.NotFound || rej.Unprocessable {
		t.Fatalf("a due date in the past: %v (%T), want bad input", err, err)
	}
	if want := []domain.Rejection{{Field: "dueAt", Detail: "must be in the future"}}; !slices.Equal(rej.Fields, want) {
		t.Fatalf("fields %+v, want %+v", rej.Fields, want)
	}
}
