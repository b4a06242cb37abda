package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/signetassure/signetassure/credoid/credoidsim"
	"github.com/signetassure/signetassure/restacs/gallaghersim"
)

const simUsage = `usage: signetassure sim credoid|gallagher

Runs a local simulator of an access control system, speaking its HTTP contract, with fault switches
under /sim/ and a page of its state at /.
  SIM_ADDR       where it listens (credoid: 127.0.0.1:8090, gallagher: 127.0.0.1:8091)
  SIM_USERNAME   credoid: the operator it accepts (admin)
  SIM_PASSWORD   credoid: its password (admin)
  SIM_API_KEY    gallagher: the API key it accepts
  SIM_WEBHOOK_URL, SIM_WEBHOOK_SECRET   gallagher: where events are pushed, signed (Standard Webhooks)
`

// runSim serves one simulator until ctx ends.
func runSim(ctx context.Context, log *slog.Logger, args []string) error {
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, simUsage)
		return errors.New("name one simulator")
	}
	var h http.Handler
	var addr string
	switch args[0] {
	case "credoid":
		addr = envOr("SIM_ADDR", "127.0.0.1:8090")
		h = credoidsim.New(credoidsim.Options{Username: envOr("SIM_USERNAME", "admin"),
			Password: envOr("SIM_PASSWORD", "admin"), Seed: true}).Handler()
	case "gallagher":
		addr = envOr("SIM_ADDR", "127.0.0.1:8091")
		h = gallaghersim.New(gallaghersim.Options{APIKey: envOr("SIM_API_KEY", gallaghersim.DefaultAPIKey),
			WebhookURL: os.Getenv("SIM_WEBHOOK_URL"), WebhookSecret: os.Getenv("SIM_WEBHOOK_SECRET"), Seed: true}).Handler()
	default:
		fmt.Fprint(os.Stderr, simUsage)
		return fmt.Errorf("unknown simulator %q", args[0])
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Info("simulator listening", "system", args[0], "addr", ln.Addr().String())
	return serveUntil(ctx, &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln)
}

// serveUntil serves on ln until ctx ends, then drains requests for up to 10 seconds.
func serveUntil(ctx context.Context, hs *http.Server, ln net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}
