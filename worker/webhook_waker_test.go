package worker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/worker"
)

// Committed events wake the active subscriptions whose filter takes them, not a paused or disabled one
// nor one filtering them out, and a burst of commits wakes each subscription in fewer rounds than commits.
func TestWakeWebhooks(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := testenv.DatabaseURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seal := func(uuid.UUID, int) (string, []byte, error) { return "k", []byte("sealed"), nil }
	subscribe := func(types ...events.Type) uuid.UUID {
		w, err := st.CreateWebhook(ctx, nil, store.WebhookSubscription{URL: "https://receiver.example/hook",
			EventTypes: append([]events.Type{}, types...)}, seal, nil)
		if err != nil {
			t.Fatal(err)
		}
		return w.ID
	}
	all, paused, disabled := subscribe(), subscribe(), subscribe()
	persons, updates := subscribe(events.PersonCreated), subscribe(events.PersonUpdated)
	if _, err := st.PauseWebhook(ctx, nil, paused); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DisableWebhook(ctx, disabled, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	names := map[uuid.UUID]string{all: "all", paused: "paused", disabled: "disabled", persons: "persons", updates: "updates"}
	var mu sync.Mutex
	var woken []string
	wokenSoFar := func() []string { mu.Lock(); defer mu.Unlock(); return slices.Clone(woken) }
	go worker.WakeWebhooks(ctx, st, func(_ context.Context, id uuid.UUID) error {
		mu.Lock()
		defer mu.Unlock()
		woken = append(woken, names[id])
		return nil
	}, worker.WakerSettings{Gap: 300 * time.Millisecond, Retry: 50 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	until := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s; woken: %v", what, wokenSoFar())
			}
		}
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	until("the waker never listened", func() bool {
		var listening bool
		err := db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
			AND query = 'LISTEN signetassure_events')`).Scan(&listening)
		return err == nil && listening
	})

	const burst = 5
	var last domain.Person
	for i := range burst {
		if last, err = st.CreatePerson(ctx, nil, domain.Person{FirstName: "Burst", LastName: fmt.Sprint(i),
			DateOfBirth: domain.NewDate(1980, 1, 2)}); err != nil {
			t.Fatal(err)
		}
	}
	until("the person's subscribers were not woken", func() bool { return slices.Contains(wokenSoFar(), "persons") })
	if _, err := st.UpdatePerson(ctx, nil, last.ID, []string{"email"}, func(p *domain.Person) { p.Email = "b@example.org" }); err != nil {
		t.Fatal(err)
	}
	until("the update's subscribers were not woken", func() bool { return slices.Contains(wokenSoFar(), "updates") })
	got := wokenSoFar()
	if !slices.Equal(got[:2], []string{"all", "persons"}) {
		t.Errorf("the first round woke %v, want [all persons]", got[:2])
	}
	rounds := 0
	for i, w := range got {
		switch w {
		case "all":
			rounds++
		case "paused", "disabled":
			t.Errorf("%s was woken: %v", w, got)
		case "updates":
			if i != len(got)-1 {
				t.Errorf("updates woken before its event: %v", got)
			}
		}
	}
	if rounds >= burst+1 {
		t.Errorf("%d rounds for %d commits: a burst is not gathered (%v)", rounds, burst+1, got)
	}
}
