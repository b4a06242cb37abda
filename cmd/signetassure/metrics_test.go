package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// `signetassure api` and `signetassure worker` serve their metrics at METRICS_ADDR: the API its requests
// by route template and the Temporal SDK's metrics, the worker the business gauges (which the API does
// not report, so they are counted once) and the SDK's worker metrics.
func TestProcessesServeMetricsAtMetricsAddr(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	dbURL := testenv.DatabaseURL(t)
	base := map[string]string{"DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": testenv.TemporalAddress(t),
		"TEMPORAL_TASK_QUEUE": "metrics-" + testenv.FreePort(t)}
	with := func(extra map[string]string) []string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return workerEnv(env)
	}
	workerMetrics := "127.0.0.1:" + testenv.FreePort(t)
	startWorker(t, bin, with(map[string]string{"METRICS_ADDR": workerMetrics}), "metrics")
	apiAddr, apiMetrics := "127.0.0.1:"+testenv.FreePort(t), "127.0.0.1:"+testenv.FreePort(t)
	api := startProc(t, bin, with(map[string]string{"HTTP_ADDR": apiAddr, "METRICS_ADDR": apiMetrics}), "api")
	t.Cleanup(func() {
		api.stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			t.Logf("api's output:\n%s", api.out.String())
		}
	})

	// The worker's pollers start after it listens; its gauges are read at each scrape.
	worker := testenv.AwaitHTTP(t, "http://"+workerMetrics+"/metrics", "temporal_num_pollers", 30*time.Second)
	for _, want := range []string{`signetassure_cases_open{status="opened"} 0`, "signetassure_business_scrape_success 1", "go_goroutines"} {
		if !strings.Contains(worker, want) {
			t.Errorf("worker's metrics lack %s", want)
		}
	}
	testenv.AwaitHTTP(t, "http://"+apiAddr+"/healthz", "", 30*time.Second)
	out := testenv.AwaitHTTP(t, "http://"+apiMetrics+"/metrics", `signetassure_http_requests_total{method="GET",route="/healthz",status="200"}`, 30*time.Second)
	for _, want := range []string{"temporal_request_total", "process_cpu_seconds_total"} {
		if !strings.Contains(out, want) {
			t.Errorf("api's metrics lack %s", want)
		}
	}
	if strings.Contains(out, "signetassure_cases_open") {
		t.Error("the api reports the business gauges too: they would be counted twice")
	}
}
