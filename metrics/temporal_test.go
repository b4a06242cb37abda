package metrics_test

import (
	"strings"
	"testing"
)

// The Temporal SDK's metrics reach the process's registry through temporalx.Dial: after a workflow ran
// (a workflow task and an activity failing once), the worker's task counters and latencies are there,
// with the SDK's labels (no workflow id).
func TestTemporalSDKMetrics(t *testing.T) {
	reg := exercised(t)
	out := scrape(t, reg)
	for _, want := range []string{
		"temporal_workflow_completed_total{",
		"temporal_workflow_task_execution_failed_total{",
		"temporal_activity_execution_failed_total{",
		"temporal_workflow_task_schedule_to_start_latency_seconds_bucket{",
		`workflow_type="flakyWorkflow"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s", want)
		}
	}
	if strings.Contains(out, "workflow_id") || strings.Contains(out, "run_id") {
		t.Error("exposition labels workflow runs")
	}
	if t.Failed() {
		t.Log(out)
	}
}
