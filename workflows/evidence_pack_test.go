package workflows

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
)

// A build that fails for a while (a worker killed, the database away) is retried until it succeeds, and
// the pack is not marked failed.
func TestEvidencePackRetriesTheBuild(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	id := uuid.New()
	attempts := 0
	env.OnActivity(activities.A.BuildEvidencePack, mock.Anything, id).Return(
		func(context.Context, uuid.UUID) (activities.EvidencePackResult, error) {
			attempts++
			if attempts < 3 {
				return activities.EvidencePackResult{}, errors.New("worker lost")
			}
			return activities.EvidencePackResult{Records: 4, Entries: 9, TreeSize: 20, Size: 1000, SHA256: "ab"}, nil
		})
	env.ExecuteWorkflow(EvidencePack, EvidencePackInput{PackID: id})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res activities.EvidencePackResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, 3, attempts)
	assert.Equal(t, int64(9), res.Entries)
	env.AssertNotCalled(t, "EvidencePackFailed", mock.Anything, mock.Anything)
}

// A build that cannot succeed (no encryption key on the worker) is not retried: the pack is marked failed
// with a reason naming the error's type only, and the workflow fails.
func TestEvidencePackFailsForGood(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	id := uuid.New()
	attempts := 0
	env.OnActivity(activities.A.BuildEvidencePack, mock.Anything, id).Return(
		func(context.Context, uuid.UUID) (activities.EvidencePackResult, error) {
			attempts++
			return activities.EvidencePackResult{}, temporal.NewNonRetryableApplicationError("no key for Jane Davies",
				activities.TypeEvidenceUnavailable, nil)
		})
	var failed activities.PackFailedInput
	env.OnActivity(activities.A.EvidencePackFailed, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PackFailedInput) error { failed = in; return nil })
	env.ExecuteWorkflow(EvidencePack, EvidencePackInput{PackID: id})
	require.True(t, env.IsWorkflowCompleted())
	require.Error(t, env.GetWorkflowError())
	assert.Equal(t, 1, attempts)
	assert.Equal(t, id, failed.PackID)
	assert.Equal(t, "the pack could not be built (EvidenceUnavailable)", failed.Reason)
}
