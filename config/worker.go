package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/signetassure/signetassure/worker"
)

// Worker tuning defaults, measured by BenchmarkWorkerAtScale (cmd/signetassure): 20,000 open clearance and
// grant workflows and a storm of 1,000 renewal nudges due at once on one worker. See README "Running at scale".
const (
	// DefaultStickyCache keeps a worker's memory bounded however many workflows are open: each cached
	// workflow holds 55-65 KB resident (183 MB with 20,000 open and 2,000 cached; the SDK's default of
	// 10,000 held 596 MB). A workflow evicted replays its history (tens of events) at its next task, which
	// for workflows woken months apart costs far less than holding them all; 2,000 still holds a storm of
	// 1,000 nudges due together.
	DefaultStickyCache = 2000
	// DefaultMaxWorkflowTasks and DefaultMaxActivities are the SDK's own defaults.
	DefaultMaxWorkflowTasks = 1000
	DefaultMaxActivities    = 1000
	DefaultPollers          = 2
)

// LoadWorkerTuning reads WORKER_STICKY_CACHE, WORKER_MAX_WORKFLOW_TASKS and WORKER_MAX_ACTIVITIES from
// the variables getenv gives.
func LoadWorkerTuning(getenv func(string) string) (worker.Tuning, error) {
	var t worker.Tuning
	for _, v := range []struct {
		name     string
		def, max int
		dst      *int
	}{
		{"WORKER_STICKY_CACHE", DefaultStickyCache, 1_000_000, &t.StickyCacheSize},
		{"WORKER_MAX_WORKFLOW_TASKS", DefaultMaxWorkflowTasks, 100_000, &t.MaxWorkflowTasks},
		{"WORKER_MAX_ACTIVITIES", DefaultMaxActivities, 100_000, &t.MaxActivities},
		{"WORKER_POLLERS", DefaultPollers, 100, &t.Pollers},
	} {
		*v.dst = v.def
		raw := strings.TrimSpace(getenv(v.name))
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > v.max {
			return t, fmt.Errorf("%s: want a whole number from 1 to %d", v.name, v.max)
		}
		*v.dst = n
	}
	return t, nil
}
