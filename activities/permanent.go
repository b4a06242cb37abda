package activities

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
)

// TypeDataRejected is the application error type for a write PostgreSQL refused because of the data itself
// (SQLSTATE class 22, data exception: a NUL in text, an invalid date; class 23, integrity constraint
// violation). Retrying the same data cannot succeed, so it is never retried.
const TypeDataRejected = "DataRejected"

// PermanentErrors are the error types no activity retries: every RetryPolicy lists them.
var PermanentErrors = []string{TypeInvalidInput, TypeDataRejected}

// Permanent classifies an activity's error: PostgreSQL's data and constraint errors become a
// non-retryable TypeDataRejected whose message names only the SQLSTATE and the schema objects involved
// (the server's message and detail can quote the values refused, which may be personal data, and must not
// reach the workflow's history); anything else is returned as it is.
func Permanent(err error) error {
	pgErr, ok := refused(err)
	if !ok {
		return err
	}
	what := "data exception"
	if strings.HasPrefix(pgErr.Code, "23") {
		what = "integrity constraint violation"
	}
	msg := "the database refused the data: SQLSTATE " + pgErr.Code + " (" + what
	for _, n := range []struct{ name, value string }{{"table", pgErr.TableName}, {"column", pgErr.ColumnName},
		{"constraint", pgErr.ConstraintName}} {
		if n.value != "" {
			msg += ", " + n.name + " " + n.value
		}
	}
	return temporal.NewNonRetryableApplicationError(msg+")", TypeDataRejected, nil)
}

// refused reports whether err is PostgreSQL refusing the data itself (SQLSTATE class 22 or 23).
func refused(err error) (*pgconn.PgError, bool) {
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) {
		return nil, false
	}
	return pgErr, strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
}

// ErrorsInterceptor classifies every activity's error in one place: through Permanent, so no activity
// retries data the database refused, whichever activity wrote it; and an activity cut short because its
// worker is stopping fails as Interrupted, retried elsewhere and never logged as an error.
type ErrorsInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*ErrorsInterceptor) InterceptActivity(ctx context.Context,
	next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &classifiedActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type classifiedActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *classifiedActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	if err != nil && errors.Is(context.Cause(ctx), worker.ErrWorkerShutdown) {
		return res, Interrupted(err)
	}
	return res, Permanent(err)
}

// TypeInterrupted is the application error type of an activity its worker's shutdown cut short.
const TypeInterrupted = "Interrupted"

// Interrupted is err of an activity its worker's shutdown cut short: a benign application error, so the SDK
// logs it at debug level (a shutdown is no fault), retried as its activity's policy says, on another worker.
func Interrupted(err error) error {
	return temporal.NewApplicationErrorWithOptions("the worker stopped during the activity", TypeInterrupted,
		temporal.ApplicationErrorOptions{Cause: err, Category: temporal.ApplicationErrorCategoryBenign})
}
