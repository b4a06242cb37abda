package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// `signetassure api` and `signetassure worker` with OTEL_EXPORTER_OTLP_ENDPOINT set send their spans to
// that OTLP receiver, each under its own service name, and flush them when they stop: opening a case is
// one trace from the API's server span to the worker's activities, and the API's log line of the request
// carries its trace id.
func TestProcessesExportOneTraceOverOTLP(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	dbURL := testenv.DatabaseURL(t)
	rcv := testenv.NewOTLPReceiver(t)
	env := workerEnv(map[string]string{"DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": testenv.TemporalAddress(t),
		"TEMPORAL_TASK_QUEUE": "traces-" + testenv.FreePort(t), "OTEL_EXPORTER_OTLP_ENDPOINT": rcv.URL})
	worker := startWorker(t, bin, env, "traced")
	apiAddr := "127.0.0.1:" + testenv.FreePort(t)
	api := startProc(t, bin, append(env, "HTTP_ADDR="+apiAddr), "api")
	t.Cleanup(func() {
		api.stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			t.Logf("api's output:\n%s", api.out.String())
		}
	})
	testenv.AwaitHTTP(t, "http://"+apiAddr+"/healthz", "", 30*time.Second)

	st := testenv.StoreAt(t, dbURL)
	u, err := st.CreateUser(t.Context(), nil, domain.StaffUser{DisplayName: "Tracing Worker", Email: "tracing@test.invalid",
		Roles: []domain.Role{domain.RoleCaseWorker}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	token, err := st.IssueToken(t.Context(), nil, u.ID, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	post := func(path string, body map[string]any) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, "http://"+apiAddr+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", path+"-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
		}
		var m map[string]any
		json.Unmarshal(out, &m)
		return m
	}
	person := post("/api/v1/persons", map[string]any{"firstName": "Otto", "lastName": "Exporter", "dateOfBirth": "1980-02-03"})
	post("/api/v1/cases", map[string]any{"personId": person["id"], "type": "new", "level": "SC"})

	// Stopped, each sends what it has not sent yet.
	api.stop(syscall.SIGTERM, 10*time.Second)
	worker.stop(syscall.SIGTERM, 10*time.Second)
	spans, refused := rcv.Spans()
	if len(refused) > 0 {
		t.Errorf("requests that are not OTLP trace exports: %v", refused)
	}
	var traceID string
	for _, s := range spans {
		if s.Name == "POST /api/v1/cases" && s.Service() == "signetassure-api" {
			traceID = hex.EncodeToString(s.TraceId)
		}
	}
	if traceID == "" {
		t.Fatalf("no server span of the API's POST /api/v1/cases among %d spans", len(spans))
	}
	seen := map[string]bool{}
	for _, s := range spans {
		if hex.EncodeToString(s.TraceId) == traceID {
			seen[s.Service()+" "+s.Name] = true
		}
	}
	for _, want := range []string{"signetassure-api UpdateWithStartWorkflow:opened", "signetassure-worker HandleUpdate:opened",
		"signetassure-worker RunActivity:ApplyCaseEvent"} {
		if !seen[want] {
			t.Errorf("no span %q in the request's trace: %v", want, seen)
		}
	}
	if line := testenv.LogLine(t, api.out.String(), map[string]any{"msg": "http", "route": "/api/v1/cases"}); line["trace_id"] != traceID {
		t.Errorf("the API's log line of the request %v carries trace_id %v, want %s", line, line["trace_id"], traceID)
	}
}
