package workflows

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/domain"
)

// ClearanceWorkflowID is the id of a clearance's lifecycle workflow: "clearance/" and the clearance's id.
func ClearanceWorkflowID(id uuid.UUID) string { return "clearance/" + id.String() }

// ClearanceIDFromWorkflowID is the inverse of ClearanceWorkflowID.
func ClearanceIDFromWorkflowID(id string) (uuid.UUID, bool) {
	s, ok := strings.CutPrefix(id, "clearance/")
	if !ok {
		return uuid.Nil, false
	}
	u, err := uuid.Parse(s)
	return u, err == nil
}

// Signals and the query of the clearance workflow.
const (
	// SignalClearanceRenewed says a new clearance superseded this one: the workflow ends at once.
	SignalClearanceRenewed = "renewed"
	// SignalReminderPolicy carries a domain.ReminderPolicy that applies from now on.
	SignalReminderPolicy = "reminder-policy"
	QueryClearanceState  = "state"
)

// Why a clearance workflow ended (ClearanceState.Ended): the renewal signal, the clearance found no longer
// in force (its status then: superseded, revoked or expired), or its lapse, which the workflow recorded.
const (
	ClearanceEndRenewed = "renewed"
	ClearanceEndLapsed  = "lapsed"
	// ClearanceEndFailed: the clearance could not be read, or its lapse not recorded, for good; the
	// owner (or the security controllers) were told, and the access sync lapses it.
	ClearanceEndFailed = "failed"
)

// ClearanceInput starts a clearance's lifecycle. SLA and IssuingAuthority are those of the renewal case it
// opens. It holds opaque ids only.
type ClearanceInput struct {
	ClearanceID      uuid.UUID
	SLA              domain.SLA
	IssuingAuthority string
	// Validity is the decision bounds the renewal case is opened with (those of the case that granted the
	// clearance; none: the renewal case gets the default).
	Validity domain.ValidityPolicy `json:",omitempty"`
	// Resume carries the state over a continue-as-new.
	Resume *ClearanceState `json:",omitempty"`
}

// ClearanceState is a clearance workflow's live state, as its query returns it.
type ClearanceState struct {
	ClearanceID uuid.UUID
	PersonID    uuid.UUID
	Level       domain.Level
	ValidFrom   domain.Date
	// ValidTo is the clearance's last valid day; it lapses at the start of the next day (UTC).
	ValidTo       domain.Date
	Status        domain.ClearanceStatus
	SourceCaseRef string `json:",omitempty"`
	// OwnerID is the vetting owner of the case that granted it, as last read; nil: the security controllers.
	OwnerID *uuid.UUID
	// Policy is the reminder policy in force.
	Policy domain.ReminderPolicy
	// Loaded is true once the clearance was read; Begun once its validFrom came (offsets past then were
	// skipped); PredecessorsTold once the clearances it superseded were told to end.
	Loaded           bool
	Begun            bool
	PredecessorsTold bool
	// NudgesSent and NudgesSkipped are the offsets (days before ValidTo) done: sent (a suppressed or failed
	// message included: it is recorded), or skipped (past when they came into force, the clearance suspended
	// then, or a later nudge due at the same time). An offset done is never nudged again.
	NudgesSent    []int `json:",omitempty"`
	NudgesSkipped []int `json:",omitempty"`
	// RenewalCaseRef is the person's renewal case at this level: one found open, or the one this workflow
	// opened (RenewalOpened).
	RenewalCaseRef string `json:",omitempty"`
	RenewalOpened  bool   `json:",omitempty"`
	// RenewalFailed is set when the renewal case could not be opened for good (the owner was told).
	RenewalFailed bool `json:",omitempty"`
	// Ended says why the workflow ended ("" while it runs): ClearanceEndRenewed, ClearanceEndLapsed, or the
	// status the clearance was found in.
	Ended   string     `json:",omitempty"`
	EndedAt *time.Time `json:",omitempty"`
}

// RenewalCaseRef is the reference of the renewal case a clearance's workflow opens: made from the
// clearance's id, so a retried or replayed workflow never opens a second one. Like every case reference it
// is opaque: "v_" and 26 base-32 characters of a hash.
func RenewalCaseRef(clearanceID uuid.UUID) string {
	sum := sha256.Sum256([]byte("renewal:" + clearanceID.String()))
	return domain.CaseRefOf(sum[:16])
}

// FollowClearance starts a clearance's lifecycle workflow from a workflow (the case that granted it), as a
// child left running on its own. It returns once the workflow started; one started already is fine.
func FollowClearance(ctx workflow.Context, clearanceID uuid.UUID, in ClearanceInput) error {
	in.ClearanceID = clearanceID
	in.Resume = nil
	child := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            ClearanceWorkflowID(clearanceID),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}), ClearanceLifecycle, in)
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}

// StartClearanceLifecycle starts a clearance's workflow from outside a workflow (a clearance recorded
// before clearances had workflows, or by hand). One running already is fine; one that ran to its end is
// not started again (that is also nil). The renewal case's SLA comes from the SLA table for a renewal at
// the clearance's level.
func StartClearanceLifecycle(ctx context.Context, c client.Client, taskQueue string, in ClearanceInput) error {
	in.Resume = nil
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    ClearanceWorkflowID(in.ClearanceID),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, ClearanceLifecycle, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// runningClearancesQuery finds every clearance workflow still running. It names no user input.
const runningClearancesQuery = "WorkflowType = 'ClearanceLifecycle' AND ExecutionStatus = 'Running'"

// SignalReminderPolicyAll tells every running clearance workflow of a new reminder policy; it returns how
// many it told. A workflow that ended meanwhile is passed over. Visibility lags a little: a workflow started
// just before may be missed, and it reads the policy from the database at its next nudge.
func SignalReminderPolicyAll(ctx context.Context, c client.Client, p domain.ReminderPolicy) (int, error) {
	told := 0
	var token []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: runningClearancesQuery, PageSize: 1000, NextPageToken: token})
		if err != nil {
			return told, err
		}
		for _, e := range page.GetExecutions() {
			err := c.SignalWorkflow(ctx, e.GetExecution().GetWorkflowId(), "", SignalReminderPolicy, p)
			var gone *serviceerror.NotFound
			switch {
			case errors.As(err, &gone):
				continue
			case err != nil:
				return told, err
			}
			told++
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			return told, nil
		}
	}
}
