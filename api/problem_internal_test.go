package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

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
