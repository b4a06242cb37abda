// Package worker wires SignetAssure's workflows and activities into a Temporal worker.
package worker

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/worker"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/workflows"
)

// New returns a worker on taskQueue with every workflow and activity registered. Every activity's
// error is classified by activities.ErrorsInterceptor: data the database refuses is never retried, and the
// activities a stopping worker cuts short are interrupted quietly.
func New(c client.Client, taskQueue string, acts *activities.Activities) worker.Worker {
	w := worker.New(c, taskQueue, worker.Options{
		Interceptors: []interceptor.WorkerInterceptor{&activities.ErrorsInterceptor{}},
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
