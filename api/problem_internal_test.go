package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// An action a workflow could not record because the database refused its data is answered 422 with a
// problem+json saying so, not 500.
func TestUnprocessableRejectionIs422(t *testing.T) {
	t.Parallel()
	gin.SetMode(gin.TestMode)
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/cases/v_x/notes", nil)
	s := &Server{Deps: Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	msg := "the action could not be recorded and was not applied: the database refused the data: SQLSTATE 22P05 (data exception)"
	s.writeError(c, &workflows.Rejection{Unprocessable: true, Message: msg})
	if w.Code != http.StatusUnprocessableEntity || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("answered %d %s, want 422 problem+json", w.Code, w.Header().Get("Content-Type"))
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Type != problemBase+"unprocessable" || p.Detail != msg {
		t.Fatalf("problem %+v", p)
	}
}

// problemOf is the problem+json writeError answers err with.
func problemOf(t *testing.T, err error) (int, Problem) {
	t.Helper()
	code, p, _ := problemWithHeader(t, err)
	return code, p
}

// problemWithHeader is problemOf with the answer's header.
func problemWithHeader(t *testing.T, err error) (int, Problem, http.Header) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/api/v1/x", nil)
	s := &Server{Deps: Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	s.writeError(c, err)
	if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %s", ct)
	}
	var p Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return w.Code, p, w.Header()
}

// A workflow's refusal of input is answered 400 naming each field it carries, as it carries them.
func TestRejectedInputNamesItsFields(t *testing.T) {
	code, p := problemOf(t, &workflows.Rejection{Message: "validFrom: required; validTo: required",
		Fields: []domain.Rejection{{Field: "validFrom", Detail: "required"}, {Field: "validTo", Detail: "required"}}})
	want := []FieldError{{Field: "validFrom", Message: "required"}, {Field: "validTo", Message: "required"}}
	if code != http.StatusBadRequest || p.Type != problemBase+"validation" || !slices.Equal(p.Errors, want) {
		t.Fatalf("%d %+v, want 400 naming %v", code, p, want)
	}
}

// A message provider refusing our account is a 502 from whichever route met it: mapped where every
// error is.
func TestMessagingRefusedIs502(t *testing.T) {
	err := temporal.NewNonRetryableApplicationError("twilio: 20003 authenticate", activities.TypeMessagingRefused, nil)
	if code, p := problemOf(t, err); code != http.StatusBadGateway || p.Type != problemBase+"message-provider-refused" {
		t.Fatalf("%d %+v, want 502 message-provider-refused", code, p)
	}
}

// An update Temporal dropped with the workflow task it refused (WorkflowNotReady) changed nothing and may
// succeed when tried again: a 503 with Retry-After, not a 500.
func TestUpdateDroppedWithItsTaskIs503(t *testing.T) {
	err := serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to unexpected workflow task failure.")
	code, p, h := problemWithHeader(t, err)
	if code != http.StatusServiceUnavailable || p.Type != problemBase+"unavailable" || h.Get("Retry-After") == "" {
		t.Fatalf("%d %+v Retry-After %q, want 503 unavailable with Retry-After", code, p, h.Get("Retry-After"))
	}
}
