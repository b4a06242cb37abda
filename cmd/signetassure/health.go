package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/store"
)

// serveWorkerHealth answers /healthz and /readyz on addr (HEALTH_ADDR) until ctx ends, so an orchestrator
// probes the worker as it probes the API; with addr empty it serves nothing. An address it cannot listen
// on stops the worker at start, rather than leaving it to be killed by failed probes.
func serveWorkerHealth(ctx context.Context, addr string, st *store.Store, tc client.Client, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("worker health listening", "addr", ln.Addr().String())
	hs := &http.Server{Handler: api.HealthHandler(st, tc), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := serveUntil(ctx, hs, ln); err != nil && err != http.ErrServerClosed {
			log.Error("worker health listener stopped", "error", err)
		}
	}()
	return nil
}
