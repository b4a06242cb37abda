package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
)

// Rejection is an action a workflow refused: an invalid transition or a closed record (Conflict), an
// action from someone it does not concern (NotFound), data the system of record refused (Unprocessable),
// or bad input.
type Rejection struct {
	Conflict      bool
	NotFound      bool
	Unprocessable bool
	Message       string
}

func (e *Rejection) Error() string { return e.Message }

// rejection converts a workflow's refusal into a Rejection; other errors pass through.
func rejection(err error) error {
	var appErr *temporal.ApplicationError
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	var gone *serviceerror.NotFound
	switch {
	case errors.As(err, &started):
		return &Rejection{Conflict: true, Message: "that reference belongs to a closed record"}
	case errors.As(err, &gone):
		return &Rejection{Conflict: true, Message: "it is closed"}
	}
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case ErrInvalidTransition, ErrGrantRefused:
			return &Rejection{Conflict: true, Message: appErr.Message()}
		case ErrInvalidCaseInput:
			return &Rejection{Message: appErr.Message()}
		case ErrNotDelegated:
			return &Rejection{NotFound: true, Message: appErr.Message()}
		case activities.ErrDataRejected:
			return &Rejection{Unprocessable: true, Message: "the action could not be recorded and was not applied: " +
				appErr.Message()}
		}
	}
	return err
}

// Pending says a workflow was started but did not answer its first update in time (no worker is
// running): it exists and goes on when a worker picks it up.
type Pending struct{ WorkflowID string }

func (e *Pending) Error() string { return fmt.Sprintf("%s accepted, not yet started", e.WorkflowID) }

// updateWithStart starts a workflow, or finds it running, and sends it an update, returning once the
// update completed with its result in out. Starting an id that is closed is a Rejection; a start no worker
// answered in time is *Pending.
func updateWithStart(ctx context.Context, c client.Client, opts client.StartWorkflowOptions, wf, in any,
	updateName string, out any) error {
	opts.WorkflowIDConflictPolicy = enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
	opts.WorkflowIDReusePolicy = enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE
	start := c.NewWithStartWorkflowOperation(opts, wf, in)
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: start,
		UpdateOptions:          client.UpdateWorkflowOptions{UpdateName: updateName, WaitForStage: client.WorkflowUpdateStageCompleted},
	})
	if err == nil {
		if err = h.Get(ctx, out); err == nil {
			return nil
		}
	}
	if ctx.Err() != nil {
		// Timed out (no worker took it up): the start may still have happened, and then it goes on when a
		// worker runs.
		probe, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, dErr := c.DescribeWorkflowExecution(probe, opts.ID, ""); dErr == nil {
			return &Pending{WorkflowID: opts.ID}
		}
	}
	return rejection(err)
}

// updateRunning sends an update to a running workflow and puts its result in out. Updates sent with the
// same non-empty updateID are applied once.
func updateRunning(ctx context.Context, c client.Client, workflowID, updateName, updateID string, arg, out any) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   workflowID,
		UpdateID:     updateID,
		UpdateName:   updateName,
		Args:         []any{arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return rejection(err)
	}
	return rejection(h.Get(ctx, out))
}
