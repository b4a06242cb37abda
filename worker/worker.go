// Package worker wires SignetAssure's workflows and activities into a Temporal worker.
package worker

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/workflows"
)

// Tuning bounds what one worker process holds in memory and runs at once. A zero field keeps the
// Temporal SDK's default (a sticky cache of 10,000 workflows, 1,000 workflow tasks and 1,000 activities at
// once).
type Tuning struct {
	// StickyCacheSize is how many workflows the process keeps in memory between their tasks (WORKER_STICKY_CACHE).
	// A workflow not kept is rebuilt from its history when its next task comes: memory against replay.
	StickyCacheSize int
	// MaxWorkflowTasks and MaxActivities are how many workflow tasks and activities run at once
	// (WORKER_MAX_WORKFLOW_TASKS, WORKER_MAX_ACTIVITIES).
	MaxWorkflowTasks, MaxActivities int
	// Pollers is how many long polls the worker keeps open for workflow tasks, and as many for activities
	// (WORKER_POLLERS): a storm of timers falling due together is drained no faster than they bring tasks.
	Pollers int
}

// New returns a worker on taskQueue with every workflow and activity registered. Every activity's
// error is classified by activities.ErrorsInterceptor: data the database refuses is never retried, and the
// activities a stopping worker cuts short are interrupted quietly. The sticky cache is the process's: set
// it (a non-zero StickyCacheSize) before the process's first worker starts.
func New(c client.Client, taskQueue string, acts *activities.Activities, t Tuning) worker.Worker {
	if t.StickyCacheSize > 0 {
		worker.SetStickyWorkflowCacheSize(t.StickyCacheSize)
	}
	w := worker.New(c, taskQueue, worker.Options{
		Interceptors:                           []interceptor.WorkerInterceptor{&activities.ErrorsInterceptor{}},
		MaxConcurrentWorkflowTaskExecutionSize: t.MaxWorkflowTasks,
		MaxConcurrentActivityExecutionSize:     t.MaxActivities,
		MaxConcurrentWorkflowTaskPollers:       t.Pollers,
		MaxConcurrentActivityTaskPollers:       t.Pollers,
	})
	Register(w, acts)
	return w
}

// Register adds SignetAssure's workflows and activities to a worker or a test environment.
func Register(r worker.Registry, acts *activities.Activities) {
	for _, wf := range workflows.All() {
		r.RegisterWorkflow(wf)
	}
	r.RegisterActivity(acts)
}
