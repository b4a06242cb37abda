package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// Application error types of the workflows' refusals. Each names one meaning; the API maps them all in
// one place (its problem answers) through rejection.
const (
	// TypeInvalidTransition: the action does not fit the record's state (a closed case, an outcome while
	// information is awaited). The API answers 409.
	TypeInvalidTransition = "InvalidTransition"
	// TypeRejectedInput: the action's input was refused; its details are the []domain.Rejection naming
	// each field. The API answers 400 naming them. (activities.TypeInvalidInput is an activity's input
	// no retry can fix, a different thing.)
	TypeRejectedInput = "RejectedInput"
	// TypeGrantRefused: the access grant cannot be recorded (the person is not eligible). 409.
	TypeGrantRefused = "GrantRefused"
	// TypeNotDelegated: a return from a partner the case was not delegated to. 404.
	TypeNotDelegated = "NotDelegated"
)

func invalidTransition(format string, args ...any) error {
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf(format, args...), TypeInvalidTransition, nil)
}

// reject refuses one field's value ("body": the input as a whole).
func reject(field, format string, args ...any) error {
	return rejectAll(domain.Rejection{Field: field, Detail: fmt.Sprintf(format, args...)})
}

// rejectAll refuses the input for the rejections given: a TypeRejectedInput error whose details are them.
func rejectAll(rs ...domain.Rejection) error {
	return temporal.NewNonRetryableApplicationError(domain.Rejections(rs), TypeRejectedInput, nil, rs)
}

// Rejection is an action a workflow refused: an invalid transition or a closed record (Conflict), an
// action from someone it does not concern (NotFound), data the system of record refused (Unprocessable),
// or bad input (Fields, each naming the field at fault).
type Rejection struct {
	Conflict      bool
	NotFound      bool
	Unprocessable bool
	Message       string
	Fields        []domain.Rejection
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
		case TypeInvalidTransition, TypeGrantRefused:
			return &Rejection{Conflict: true, Message: appErr.Message()}
		case TypeRejectedInput:
			var rs []domain.Rejection
			if appErr.HasDetails() && appErr.Details(&rs) == nil && len(rs) > 0 {
				return &Rejection{Message: appErr.Message(), Fields: rs}
			}
			return &Rejection{Message: appErr.Message(), Fields: []domain.Rejection{{Field: "body", Detail: appErr.Message()}}}
		case activities.TypeInvalidInput:
			// An activity's input no retry can fix (or, from a worker older than TypeRejectedInput, a
			// validator's refusal): the request as a whole, its message as it is.
			return &Rejection{Message: appErr.Message(), Fields: []domain.Rejection{{Field: "body", Detail: appErr.Message()}}}
		case TypeNotDelegated:
			return &Rejection{NotFound: true, Message: appErr.Message()}
		case activities.TypeDataRejected:
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
