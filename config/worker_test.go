package config

import (
	"strings"
	"testing"

	"github.com/signetassure/signetassure/worker"
)

// The worker's sticky cache is bounded by default (the SDK's own default, 10,000 workflows, took the
// worker past 512 MB with 20,000 open), and each setting can be given; a bad one names its variable.
func TestLoadWorkerTuning(t *testing.T) {
	got, err := LoadWorkerTuning(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if got.StickyCacheSize < 1 || got.StickyCacheSize >= 10_000 || got.MaxWorkflowTasks != 1000 || got.MaxActivities != 1000 || got.Pollers != 2 {
		t.Fatalf("defaults: %+v, want a sticky cache below the SDK's 10,000 and its 1,000 tasks and activities", got)
	}
	env := map[string]string{"WORKER_STICKY_CACHE": "500", "WORKER_MAX_WORKFLOW_TASKS": "50", "WORKER_MAX_ACTIVITIES": " 200 ", "WORKER_POLLERS": "8"}
	if got, err = LoadWorkerTuning(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if want := (worker.Tuning{StickyCacheSize: 500, MaxWorkflowTasks: 50, MaxActivities: 200, Pollers: 8}); got != want {
		t.Fatalf("from the environment: %+v, want %+v", got, want)
	}
	for name, bad := range map[string]string{"WORKER_STICKY_CACHE": "0", "WORKER_MAX_WORKFLOW_TASKS": "many", "WORKER_MAX_ACTIVITIES": "-3"} {
		_, err := LoadWorkerTuning(func(k string) string { return map[string]string{name: bad}[k] })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: %v, want an error naming it", name, bad, err)
		}
	}
}
