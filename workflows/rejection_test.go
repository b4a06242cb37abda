package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// fieldsOf is what the API names of a refusal: the field and why of each input rejected.
func fieldsOf(t *testing.T, err error) []domain.Rejection {
	t.Helper()
	var rej *Rejection
	require.True(t, errors.As(rejection(err), &rej), "%v is no rejection", err)
	require.False(t, rej.Conflict || rej.NotFound || rej.Unprocessable, "%v: not bad input", err)
	return rej.Fields
}

// A workflow's refusal of an action's input names each field at fault as it is, structured: not parsed
// back out of its message. Its type is not an activity's TypeInvalidInput, which means something else.
func TestRejectionNamesItsFields(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	// A case started before the decision bounds: one refusal names two fields.
	h.env.OnGetVersion("decision-bounds", workflow.DefaultVersion, 1).Return(workflow.DefaultVersion)
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	pastDue := h.sendAt(2*time.Hour, UpdateRequestInformation,
		RequestInformation{Actor: owner, Description: "Payslips", DueAt: testStart.Add(-time.Hour)})
	noDates := h.sendAt(3*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeCleared, Level: domain.LevelSC})
	h.sendAt(4*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeWithdrawn})
	h.run()

	require.True(t, pastDue.Rejected && noDates.Rejected)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(pastDue.Err, &appErr))
	assert.NotEqual(t, activities.TypeInvalidInput, appErr.Type(), "a validator's refusal has its own type")
	assert.Equal(t, []domain.Rejection{{Field: "dueAt", Detail: "must be in the future"}}, fieldsOf(t, pastDue.Err))
	assert.Equal(t, []domain.Rejection{{Field: "validFrom", Detail: "required for a cleared outcome"},
		{Field: "validTo", Detail: "required for a cleared outcome"}}, fieldsOf(t, noDates.Err))

	// An activity's input no retry can fix, its message holding ": ", is the request's as a whole.
	actErr := temporal.NewNonRetryableApplicationError("template welcome v1: no variable Name", activities.TypeInvalidInput, nil)
	assert.Equal(t, []domain.Rejection{{Field: "body", Detail: "template welcome v1: no variable Name"}}, fieldsOf(t, actErr))
}

// A renewal case's reference, the id of a workflow in clearances' histories, is what it always was.
func TestRenewalCaseRefUnchanged(t *testing.T) {
	assert.Equal(t, "v_b6nvbr6ttu4qnhrdtgj577e2gi", RenewalCaseRef(uuid.MustParse("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")))
}
