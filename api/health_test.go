package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

// The health handler a process without the API serves (the worker's HEALTH_ADDR) answers as the API's
// /healthz and /readyz do: up whatever else is down; ready only with the database and Temporal, naming
// the one that is not.
func TestHealthHandlerReadyOnlyWithDatabaseAndTemporal(t *testing.T) {
	st := testenv.Store(t)
	tc := testenv.Temporal(t)
	deadTemporal, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1", Logger: nopLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	deadDB, err := store.Open(context.Background(), "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(deadDB.Close)
	for _, c := range []struct {
		name   string
		st     *store.Store
		tc     client.Client
		path   string
		status int
		want   string
	}{
		{"live, everything down", deadDB, deadTemporal, "/healthz", 200, `"status":"ok"`},
		{"ready", st, tc, "/readyz", 200, `"database":"ok","temporal":"ok"`},
		{"no Temporal", st, deadTemporal, "/readyz", 503, `"temporal":"unreachable"`},
		{"no database", deadDB, tc, "/readyz", 503, `"database":"unreachable"`},
	} {
		srv := httptest.NewServer(api.HealthHandler(c.st, c.tc))
		res, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		srv.Close()
		if res.StatusCode != c.status || !strings.Contains(string(body), c.want) {
			t.Errorf("%s: GET %s = %d %s, want %d with %s", c.name, c.path, res.StatusCode, body, c.status, c.want)
		}
	}
}
