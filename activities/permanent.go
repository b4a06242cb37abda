package activities

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
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

// PermanentErrorsInterceptor passes every activity's error through Permanent, so no activity retries data
// the database refused, whichever activity wrote it.
type PermanentErrorsInterceptor struct {
	interceptor.WorkerInterceptorBase
}

func (*PermanentErrorsInterceptor) InterceptActivity(ctx context.Context,
	next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	return &permanentActivity{ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next}}
}

type permanentActivity struct {
	interceptor.ActivityInboundInterceptorBase
}

func (a *permanentActivity) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	res, err := a.Next.ExecuteActivity(ctx, in)
	return res, Permanent(err)
}
