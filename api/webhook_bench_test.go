package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	saworker "github.com/signetassure/signetassure/worker"
	"github.com/signetassure/signetassure/workflows"
)

// BenchmarkWebhookDelivery commits b.N person.created events (16 writers at once, through the store) to
// one subscription whose receiver answers 200 at once, delivered as in production: the default policy
// (a 5 s poll) with the worker's waker. It reports the events delivered per second, from the first commit
// to the last delivery (compare with BenchmarkBareWorkflow's workflows/s), and the latency from each
// change's commit to its delivery; then the same latency of 20 changes committed one at a time, each once
// the one before was delivered (one-by-one-).
func BenchmarkWebhookDelivery(b *testing.B) {
	production := func(e *env) {
		e.webhookAPI = api.WebhookSettings{Policy: workflows.DefaultWebhookPolicy, SecretOverlap: time.Hour, Timeout: 5 * time.Second}
	}
	e := newEnv(b, unlimitedStaff, production)
	ctx, cancel := context.WithCancel(context.Background())
	waking := make(chan struct{})
	go func() {
		defer close(waking)
		saworker.WakeWebhooks(ctx, e.st, func(ctx context.Context, id uuid.UUID) error {
			return workflows.WakeWebhook(ctx, e.tc, e.queue, id, e.webhookAPI.Policy)
		}, saworker.DefaultWaker, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	defer func() { cancel(); <-waking }()

	const oneByOne = 20
	var mu sync.Mutex
	arrived := map[string]time.Time{}         // person id: the first delivery of its event
	firsts := make(chan string, b.N+oneByOne) // person ids, as their events first arrive
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var env struct {
			Data struct {
				PersonID string `json:"personId"`
			} `json:"data"`
		}
		_ = json.NewDecoder(r.Body).Decode(&env)
		mu.Lock()
		if _, ok := arrived[env.Data.PersonID]; !ok {
			arrived[env.Data.PersonID] = at
			firsts <- env.Data.PersonID
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer receiver.Close()
	e.must(201, domain.RoleAdmin, "POST", "/api/v1/webhooks",
		map[string]any{"url": receiver.URL + "/hook", "eventTypes": []string{"person.created"}})
	poll(b, 30*time.Second, func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND query = 'LISTEN signetassure_events'`) == 1
	}, func() string { return "the waker did not listen" })

	committed := make([]struct {
		id string
		at time.Time
	}, b.N)
	var next atomic.Int64
	b.SetParallelism(benchConcurrency / 2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			p, err := e.st.CreatePerson(context.Background(), nil, domain.Person{FirstName: "Event",
				LastName: fmt.Sprint(i), DateOfBirth: domain.NewDate(1980, 1, 2)})
			if err != nil {
				b.Error(err)
				return
			}
			committed[i].id, committed[i].at = p.ID.String(), time.Now()
		}
	})
	delivered := func(n int) {
		timeout := time.After(5 * time.Minute)
		for range n {
			select {
			case <-firsts:
			case <-timeout:
				b.Fatalf("not delivered in 5 minutes")
			}
		}
	}
	delivered(b.N)
	b.StopTimer()
	mu.Lock()
	var last time.Time
	latencies := make([]time.Duration, 0, b.N)
	for _, c := range committed {
		at := arrived[c.id]
		latencies = append(latencies, at.Sub(c.at))
		if at.After(last) {
			last = at
		}
	}
	mu.Unlock()
	b.ReportMetric(float64(b.N)/last.Sub(start).Seconds(), "events/s")
	reportPercentiles(b, latencies, "commit-to-delivery-")

	latencies = latencies[:0]
	for i := range oneByOne {
		p, err := e.st.CreatePerson(context.Background(), nil, domain.Person{FirstName: "Single",
			LastName: fmt.Sprint(i), DateOfBirth: domain.NewDate(1980, 1, 2)})
		if err != nil {
			b.Fatal(err)
		}
		at := time.Now()
		delivered(1)
		mu.Lock()
		latencies = append(latencies, arrived[p.ID.String()].Sub(at))
		mu.Unlock()
	}
	reportPercentiles(b, latencies, "one-by-one-")
}
