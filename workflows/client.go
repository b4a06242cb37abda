package workflows

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

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
	if timedOut(ctx, err) && started(c, opts.ID) {
		// Timed out (no worker took it up), but started: it goes on when a worker runs.
		return &Pending{WorkflowID: opts.ID}
	}
	return rejection(err)
}

// timedOut reports whether a call ran out of time: its context ended, or the server gave up on the
// deadline it was sent (which it does a little before the context ends).
func timedOut(ctx context.Context, err error) bool {
	var deadlineExceeded *serviceerror.DeadlineExceeded
	return ctx.Err() != nil || errors.As(err, &deadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// started reports whether the workflow of id exists, looking for up to 10 seconds: a start sent as its
// request's time ran out may still be on its way through a loaded server, which may also be slow to
// answer the look itself. Only the request having timed out leads here, so a server that is down is
// answered at once, not after this.
func started(c client.Client, id string) bool {
	deadline := time.Now().Add(10 * time.Second)
	for {
		look, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := c.DescribeWorkflowExecution(look, id, "")
		cancel()
		if err == nil {
			return true
		}
		var notFound *serviceerror.NotFound
		var unavailable *serviceerror.Unavailable
		var deadlineExceeded *serviceerror.DeadlineExceeded
		retry := errors.As(err, &notFound) || errors.As(err, &unavailable) || errors.As(err, &deadlineExceeded) ||
			errors.Is(err, context.DeadlineExceeded)
		if !retry || time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
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
