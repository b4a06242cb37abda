package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/store"
)

// health is /healthz's and /readyz's answer.
type health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// readiness is /readyz's answer: 200 when the database and Temporal answer within 3 seconds, 503
// naming the one that did not otherwise.
func readiness(ctx context.Context, st *store.Store, tc client.Client) (int, health) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	h := health{Status: "ok", Checks: map[string]string{"database": "ok", "temporal": "ok"}}
	if err := st.Ping(ctx); err != nil {
		h.Status, h.Checks["database"] = "unavailable", "unreachable"
	}
	if _, err := tc.CheckHealth(ctx, nil); err != nil {
		h.Status, h.Checks["temporal"] = "unavailable", "unreachable"
	}
	if h.Status != "ok" {
		return http.StatusServiceUnavailable, h
	}
	return http.StatusOK, h
}

// HealthHandler answers /healthz and /readyz as the API does, for a process that serves no API: the
// worker serves it on HEALTH_ADDR, so an orchestrator can probe it (liveness and readiness) like the API.
func HealthHandler(st *store.Store, tc client.Client) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeHealth(w, http.StatusOK, health{Status: "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		status, h := readiness(r.Context(), st, tc)
		writeHealth(w, status, h)
	})
	return mux
}

func writeHealth(w http.ResponseWriter, status int, h health) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(h)
}
