package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// Problem is an RFC 9457 problem detail naming each offending field: one definition with the partner
// contract's.
type (
	Problem    = partners.Problem
	FieldError = partners.FieldError
)

const problemBase = "https://signetassure.dev/problems/"

func problem(status int, kind, detail string) *Problem {
	return &Problem{Type: problemBase + kind, Title: http.StatusText(status), Status: status, Detail: detail}
}

// invalid is a 400 naming the fields at fault.
func invalid(errs ...FieldError) *Problem {
	p := problem(http.StatusBadRequest, "validation", "the request is not valid")
	if len(errs) == 1 {
		p.Detail = errs[0].Field + ": " + errs[0].Message
	}
	p.Errors = errs
	return p
}

func notFound(what string) *Problem {
	return problem(http.StatusNotFound, "not-found", what+" not found")
}

func conflict(detail string) *Problem { return problem(http.StatusConflict, "conflict", detail) }

// fields collects field errors while validating a request.
type fields []FieldError

func (f *fields) add(field, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (f fields) err() error {
	if len(f) == 0 {
		return nil
	}
	return invalid(f...)
}

// constraintFields names the request field behind each database constraint.
var constraintFields = map[string]string{
	"persons_employee_number_key":              "employeeNumber",
	"persons_supplier_id_fkey":                 "supplierId",
	"persons_location_id_fkey":                 "locationId",
	"suppliers_name_key":                       "name",
	"suppliers_parent_id_fkey":                 "parentId",
	"supplier_sites_location_id_fkey":          "siteIds",
	"supplier_contract_sites_location_id_fkey": "contracts",
	"partner_sites_supplier_id_fkey":           "supplierId",
	"locations_code_key":                       "code",
	"staff_users_email_key":                    "email",

	"access_profile_rules_supplier_id_fkey": "supplierId",
	"access_profile_rules_location_id_fkey": "locationId",
	"access_company_map_supplier_id_fkey":   "companies",
	"access_location_map_location_id_fkey":  "locations",
}

// writeError answers with the problem err stands for.
func (s *Server) writeError(c *gin.Context, err error) {
	p := s.asProblem(c, err)
	p.Instance = c.Request.URL.Path
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

func (s *Server) asProblem(c *gin.Context, err error) *Problem {
	var p *Problem
	var ce *store.ConstraintError
	var rej *workflows.Rejection
	var refusal *store.Refusal
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &p):
		return p
	case errors.Is(err, store.ErrNotFound):
		return notFound("resource")
	case errors.As(err, &refusal):
		return invalid(FieldError{Field: refusal.Field, Message: refusal.Message})
	case errors.As(err, &ce):
		field := constraintFields[ce.Constraint]
		if field == "" {
			field = "body"
		}
		if ce.Unique {
			p := conflict(field + ": already taken by another record")
			p.Errors = []FieldError{{Field: field, Message: "already taken by another record"}}
			return p
		}
		return invalid(FieldError{Field: field, Message: "refers to nothing that exists"})
	case errors.As(err, &rej):
		if rej.Conflict {
			return conflict(rej.Message)
		}
		if rej.NotFound {
			return problem(http.StatusNotFound, "not-found", rej.Message)
		}
		if rej.Unprocessable {
			return problem(http.StatusUnprocessableEntity, "unprocessable", rej.Message)
		}
		errs := []FieldError{{Field: "body", Message: rej.Message}}
		if len(rej.Fields) > 0 {
			errs = make([]FieldError, len(rej.Fields))
			for i, f := range rej.Fields {
				errs[i] = FieldError{Field: f.Field, Message: f.Detail}
			}
		}
		return invalid(errs...)
	case errors.As(err, &appErr) && appErr.Type() == activities.TypeMessagingRefused:
		return problem(http.StatusBadGateway, "message-provider-refused",
			"the message provider refused our credentials or account; the message was not sent")
	case unavailable(err):
		s.Log.Warn("dependency unavailable", "route", c.FullPath(), "error", err)
		c.Header("Retry-After", "1")
		return problem(http.StatusServiceUnavailable, "unavailable", "the database or the workflow engine is unavailable; nothing was changed")
	}
	s.Log.Error("request failed", "route", c.FullPath(), "method", c.Request.Method, "error", err)
	return problem(http.StatusInternalServerError, "internal", "an internal error occurred")
}

// unavailable reports whether err means PostgreSQL or Temporal could not be reached in time, PostgreSQL is
// going away (shut down, restarting, the connection lost: SQLSTATE 57P01-57P03, class 08), or Temporal
// dropped an update whose workflow task it refused (WorkflowNotReady: the workflow met an event it had not
// seen as it closed, say). Nothing was applied in any of them, and trying again may succeed.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03" ||
		strings.HasPrefix(pgErr.Code, "08")) {
		return true
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	var tUnavail *serviceerror.Unavailable
	var tDeadline *serviceerror.DeadlineExceeded
	var tNotReady *serviceerror.WorkflowNotReady
	return errors.As(err, &connErr) || errors.As(err, &netErr) || errors.As(err, &tUnavail) ||
		errors.As(err, &tDeadline) || errors.As(err, &tNotReady) || errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) || strings.Contains(err.Error(), "connection refused")
}

// Pending answers a request whose workflow no worker has taken up in time (a case, a grant, a message):
// it exists and goes on when a worker runs; its Location is where it will be.
type Pending struct {
	ID string `json:"id"`
	// CaseRef is a case's reference (its id), as the case answers have it.
	CaseRef string `json:"caseRef,omitempty"`
	Status  string `json:"status" enum:"pending"`
	Detail  string `json:"detail"`
}

// accepted answers 202 with p, its status "pending" and its Location under base.
func accepted(c *gin.Context, base string, p Pending) error {
	p.Status = "pending"
	c.Header("Location", base+p.ID)
	c.JSON(http.StatusAccepted, p)
	return nil
}
