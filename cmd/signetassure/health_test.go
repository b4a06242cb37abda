package main

import (
	"context"
	"crypto/rand"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// `signetassure worker` with HEALTH_ADDR answers /healthz and /readyz there (what Kubernetes probes, see
// deploy/kubernetes), and stops at start when it cannot listen there.
func TestWorkerServesHealthOnHealthAddr(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	addr := "127.0.0.1:" + testenv.FreePort(t)
	env := workerEnv(map[string]string{
		"DATABASE_URL":        testenv.DatabaseURL(t),
		"TEMPORAL_ADDRESS":    testenv.TemporalAddress(t),
		"TEMPORAL_TASK_QUEUE": "health-" + strings.ToLower(rand.Text()[:12]),
		"HEALTH_ADDR":         addr,
		"LOG_LEVEL":           "warn",
	})
	startWorker(t, bin, env, "healthy")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, path := range []string{"/healthz", "/readyz"} {
		if err := waitHTTP(ctx, "http://"+addr+path); err != nil {
			t.Fatalf("worker's %s never answered 200: %v", path, err)
		}
	}

	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	busy := workerEnv(map[string]string{
		"DATABASE_URL":     testenv.DatabaseURL(t),
		"TEMPORAL_ADDRESS": testenv.TemporalAddress(t),
		"HEALTH_ADDR":      taken.Addr().String(),
	})
	run, stop := context.WithTimeout(context.Background(), 60*time.Second)
	defer stop()
	cmd := exec.CommandContext(run, bin, "worker")
	cmd.Env = busy
	if out, code := runToExit(t, cmd); code != 1 || !strings.Contains(out, "address already in use") {
		t.Fatalf("worker with HEALTH_ADDR taken: exit %d\n%s", code, out)
	}
}
