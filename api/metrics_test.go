package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/metrics"
)

// The API's request metrics are labelled with route templates: the case reference and person id that
// the requests named appear nowhere in the exposition, nor does the raw path of an unmatched request.
func TestMetricsRouteTemplatesNoIDs(t *testing.T) {
	e := newEnv(t)
	person := e.createPerson("Metric", "Person", "1980-01-02")
	ref := e.openCase(person, "new", "SC")
	e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/"+ref, nil)
	e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+person, nil)
	missing := uuid.NewString()
	e.must(404, domain.RoleCaseWorker, "GET", "/api/v1/persons/"+missing, nil)
	stray := "/no/such/" + uuid.NewString()
	if r := e.call(domain.RoleCaseWorker, "GET", stray, nil); r.status != 404 {
		t.Fatalf("GET %s: %d", stray, r.status)
	}

	rec := httptest.NewRecorder()
	metrics.Handler(e.metrics).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		`signetassure_http_requests_total{method="GET",route="/api/v1/cases/:caseRef",status="200"} 1`,
		`signetassure_http_requests_total{method="GET",route="/api/v1/persons/:id",status="200"} 1`,
		`signetassure_http_requests_total{method="GET",route="/api/v1/persons/:id",status="404"} 1`,
		`signetassure_http_requests_total{method="POST",route="/api/v1/cases",status="201"} 1`,
		`signetassure_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`signetassure_http_request_duration_seconds_count{method="GET",route="/api/v1/cases/:caseRef"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s:\n%s", want, out)
		}
	}
	for _, id := range []string{ref, person, missing, stray, "/no/such/"} {
		if strings.Contains(out, id) {
			t.Errorf("exposition names %q", id)
		}
	}
}
