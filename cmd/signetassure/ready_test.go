package main

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// A worker or an API started against a database it cannot use stops at once with the reason, before it
// takes any work: one unreachable, and one not migrated (before, the worker started, took tasks and
// logged "audit sequencer" errors every two seconds).
func TestStartRefusesADatabaseItCannotUse(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	temporal := testenv.TemporalAddress(t)
	for _, c := range []struct{ name, url, want string }{
		{"unreachable", "postgres://postgres@127.0.0.1:1/none?sslmode=disable", "the database cannot be reached"},
		{"not migrated", testenv.EmptyDatabaseURL(t), "the database is at migration 0 of "},
	} {
		for _, command := range []string{"worker", "api"} {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, bin, command)
			cmd.Env = workerEnv(map[string]string{"DATABASE_URL": c.url, "TEMPORAL_ADDRESS": temporal, "HTTP_ADDR": "127.0.0.1:0"})
			out, err := cmd.CombinedOutput()
			timedOut := ctx.Err() != nil
			cancel()
			var exit *exec.ExitError
			if timedOut || !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), c.want) {
				t.Errorf("%s with a database %s: %v (timed out: %v)\n%s\nwant exit 1 saying %q", command, c.name, err,
					timedOut, out, c.want)
			}
		}
	}
}
