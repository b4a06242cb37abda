package demo_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/demo"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// What `make run` shows a newcomer: a user and token per role, kept across restarts, and demo data with
// cases resting in every state and clearances near expiry, loaded once.
func TestDemoUsersAndSeed(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	tc := testenv.Temporal(t)
	queue := testenv.Worker(t, tc, st)
	sla, _ := domain.ParseSLATable(domain.DefaultSLA, domain.DefaultSLAReminders)
	srv, err := api.New(api.Deps{Store: st, Temporal: tc, TaskQueue: queue, SLA: sla, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	tokens := filepath.Join(t.TempDir(), "demo-tokens.json")
	users, err := demo.EnsureUsers(ctx, st, tokens)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != len(domain.Roles) {
		t.Fatalf("%d demo users, want one per role", len(users))
	}
	again, err := demo.EnsureUsers(ctx, st, tokens)
	if err != nil {
		t.Fatal(err)
	}
	for i := range users {
		if again[i].Token != users[i].Token {
			t.Fatalf("%s got a new token on restart", users[i].Role)
		}
		u, err := st.UserByToken(ctx, users[i].Token)
		if err != nil || !u.Has(users[i].Role) {
			t.Fatalf("%s token does not sign in as that role: %v", users[i].Role, err)
		}
	}

	now := time.Now()
	if err := demo.Seed(ctx, ts.URL, users, now); err != nil {
		t.Fatal(err)
	}
	if err := demo.Seed(ctx, ts.URL, users, now); err != nil {
		t.Fatalf("a second seed must leave the data as it is: %v", err)
	}
	persons, total, err := st.Persons(ctx, store.PersonFilter{Page: store.Page{Limit: 100}})
	if err != nil || total != 20 || len(persons) != 20 {
		t.Fatalf("%d persons (%v), want 20", total, err)
	}
	cases, _, err := st.Cases(ctx, store.CaseFilter{Page: store.Page{Limit: 100}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[domain.CaseStatus]int{}
	for _, c := range cases {
		seen[c.Status]++
	}
	for _, s := range []domain.CaseStatus{domain.StatusWithOfficer, domain.StatusAwaitingInformation, domain.StatusCleared,
		domain.StatusRefused, domain.StatusWithAdvisory, domain.StatusWithdrawn} {
		if seen[s] == 0 {
			t.Errorf("no demo case is %s (have %v)", s, seen)
		}
	}
	soon := domain.DateOf(now.AddDate(0, 3, 0))
	near, _, err := st.ClearanceRegister(ctx, store.ClearanceFilter{Statuses: []domain.ClearanceStatus{domain.ClearanceActive},
		ExpiringBefore: &soon, Page: store.Page{Limit: 100}})
	if err != nil || len(near) < 2 {
		t.Fatalf("%d active clearances expire within 3 months (%v), want some near expiry", len(near), err)
	}
	for range 2 {
		if err := demo.SeedTravel(ctx, ts.URL, users, now); err != nil {
			t.Fatal(err)
		}
	}
	trips, _, err := st.Trips(ctx, store.TripFilter{Page: store.Page{Limit: 10}})
	if err != nil || len(trips) != 3 {
		t.Fatalf("%d demo trips (%v), want 3 (and a second seed adds none)", len(trips), err)
	}
	if p, err := st.TravelPolicy(ctx, 0); err != nil || len(p.CountriesOfConcern) != 4 {
		t.Fatalf("demo travel policy %+v (%v)", p, err)
	}
	org, err := st.Organisation(ctx)
	if err != nil || org.Name != "Acme Defence Ltd" {
		t.Fatalf("organisation = %+v (%v)", org, err)
	}
}
