package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
)

// EvidencePack builds one evidence pack: a heartbeating activity streams the pack into an encrypted
// file and records its progress on the pack's row. A worker killed mid-build is replaced: the activity
// is retried, starts again and writes the one file whole (temporary file, then rename). A build that
// fails for good marks the pack failed with a reason that names no personal data.
func EvidencePack(ctx workflow.Context, in EvidencePackInput) (activities.EvidencePackResult, error) {
	var res activities.EvidencePackResult
	build := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 4 * time.Hour,
		HeartbeatTimeout:    LongestHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, MaximumAttempts: 10,
			NonRetryableErrorTypes: append([]string{activities.TypeEvidenceUnavailable}, activities.PermanentErrors...)},
	})
	err := workflow.ExecuteActivity(build, activities.A.BuildEvidencePack, in.PackID).Get(ctx, &res)
	if err == nil {
		return res, nil
	}
	reason := "the pack could not be built"
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() != "" {
		reason += " (" + appErr.Type() + ")"
	}
	if ferr := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.EvidencePackFailed,
		activities.PackFailedInput{PackID: in.PackID, Reason: reason}).Get(ctx, nil); ferr != nil {
		return res, ferr
	}
	return res, err
}
