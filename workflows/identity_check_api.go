package workflows

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// IdentityCheckWorkflowID is the workflow id of a case's identity check: "identity-check/" and the case's
// opaque reference. Each attempt runs under it in turn.
func IdentityCheckWorkflowID(caseRef string) string { return "identity-check/" + caseRef }

// CaseRefFromIdentityCheckID is the inverse of IdentityCheckWorkflowID.
func CaseRefFromIdentityCheckID(id string) (string, bool) {
	return strings.CutPrefix(id, "identity-check/")
}

// The identity check's signal, update and query.
const (
	SignalIdentityCallback = "callback"
	UpdateAttendedImages   = "attended-images"
	QueryIdentityCheck     = "state"
)

// IdentityCheckInput starts one attempt of a case's identity check.
type IdentityCheckInput struct {
	CaseRef  string
	PersonID uuid.UUID
	Attempt  int
	Plan     activities.IdentityPlan
	Resume   *IdentityCheckState `json:",omitempty"`
}

// IdentityCheckState is an attempt's live state, as its query returns it.
type IdentityCheckState struct {
	Mode       string
	DossierID  string
	ProcessID  string
	CaptureURL string
	StartedAt  time.Time
	Status     domain.IdentityStatus
	// Deadline is when an attempt the subject has not completed expires; RemindersSent counts the
	// plan's reminders before it that were sent.
	Deadline      time.Time
	RemindersSent int
	// Polls counts the provider reads; Callbacks the callbacks that woke the check.
	Polls     int
	Callbacks int
}

// IdentityCallback is a provider's callback, a hint that the process changed.
type IdentityCallback struct {
	ProcessID string
	Status    string
}

// AttendedImages hands images a case worker uploaded (kept in the database under UploadID) to the check.
type AttendedImages struct {
	Actor    uuid.UUID
	UploadID uuid.UUID
}

// SignalIdentityCheck passes a provider's callback to the case's running identity check.
func SignalIdentityCheck(ctx context.Context, c client.Client, caseRef string, cb IdentityCallback) error {
	return c.SignalWorkflow(ctx, IdentityCheckWorkflowID(caseRef), "", SignalIdentityCallback, cb)
}

// StartAttendedCheck hands uploaded images to the case's running identity check and returns its state
// once they are with the provider and verification has started.
func StartAttendedCheck(ctx context.Context, c client.Client, caseRef string, in AttendedImages) (IdentityCheckState, error) {
	var st IdentityCheckState
	err := updateRunning(ctx, c, IdentityCheckWorkflowID(caseRef), UpdateAttendedImages, "attended/"+in.UploadID.String(), in, &st)
	return st, err
}
