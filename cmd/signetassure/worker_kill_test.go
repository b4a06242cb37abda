package main

import (
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// A worker killed (SIGKILL) in the middle of a sync and restarted: the sync completes, no duplicate
// cardholders, no lost grants.
//
// The real binary runs as `signetassure worker` against a test database, the test binary's Temporal dev
// server and a CredoID simulator answering every call 40 ms late, so a sync of 150 persons takes seconds.
// Once part of them are in CredoID the worker is killed, and a new one started. The killed sync activity is
// retried when its heartbeat times out (30 s) and a retry interval (10 s) passes; the retry starts over and
// must find done what was done.
func TestWorkerKilledMidSyncRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits out a killed activity's heartbeat timeout (about a minute)")
	}
	t.Parallel()
	began := time.Now()
	bin := testenv.BuildSignetAssure(t)
	t.Logf("built in %s", time.Since(began).Round(time.Millisecond))

	sim := credoidsim.New(credoidsim.Options{Username: "operator", Password: "pw", Seed: true})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)

	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	st := testenv.StoreAt(t, dbURL)

	// CredoID's levels mirrored, as a sync would, and the lab demanding SC.
	var levels []access.Level
	for _, l := range sim.Catalogue().Levels {
		lv := access.Level{ID: strconv.Itoa(l.ID), Name: l.Name}
		if l.LocationID != 0 {
			lv.LocationID = strconv.Itoa(l.LocationID)
		}
		levels = append(levels, lv)
	}
	if _, err := st.RefreshLevels(ctx, levels); err != nil {
		t.Fatal(err)
	}
	lab := strconv.Itoa(credoidsim.LevelSiteALab)
	sc := domain.LevelSC
	if _, err := st.SetLevelPolicy(ctx, nil, lab, &sc); err != nil {
		t.Fatal(err)
	}

	// 150 persons, each cleared SC and with a running grant for the lab.
	const persons = 150
	now := time.Now().UTC().Truncate(time.Second)
	today := domain.DateOf(now)
	grants := map[uuid.UUID]domain.AccessGrant{}
	for i := range persons {
		p, err := st.CreatePerson(ctx, nil, domain.Person{FirstName: "P" + strconv.Itoa(i), LastName: "Tester",
			DateOfBirth: domain.NewDate(1980, 1, 2), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.RecordClearance(ctx, nil, domain.Clearance{PersonID: p.ID, Level: domain.LevelSC,
			ValidFrom: today.AddDays(-30), ValidTo: today.AddYears(5), IssuingAuthority: "Test"}); err != nil {
			t.Fatal(err)
		}
		g, err := st.CreateGrant(ctx, domain.AccessGrant{ID: domain.NewGrantID(), PersonID: p.ID, LevelID: lab,
			StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Duration(48+i) * time.Hour), TimeZone: "Europe/London"})
		if err != nil {
			t.Fatal(err)
		}
		grants[p.ID] = g
	}

	tc := testenv.Temporal(t)
	queue := "kill-" + strings.ToLower(rand.Text()[:12])
	env := workerEnv(map[string]string{
		"DATABASE_URL":        dbURL,
		"TEMPORAL_ADDRESS":    testenv.TemporalAddress(t),
		"TEMPORAL_NAMESPACE":  "default",
		"TEMPORAL_TASK_QUEUE": queue,
		"CREDOID_URL":         srv.URL,
		"CREDOID_USERNAME":    "operator",
		"CREDOID_PASSWORD":    "pw",
		"ACS_SYNC_INTERVAL":   "24h", // only the test's sync runs
		"ACS_CONCURRENCY":     "4",
		"LOG_LEVEL":           "warn",
	})
	sim.SetFaults(credoidsim.Faults{LatencyMs: 40})

	first := startWorker(t, bin, env, "first")
	syncID, err := workflows.StartAccessSync(ctx, tc, queue, "test")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(sim.Users()) < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the sync created %d users in a minute", len(sim.Users()))
		}
		time.Sleep(2 * time.Millisecond)
	}
	first.kill()
	killedAt := time.Now()
	before := len(sim.Users())
	if before >= persons {
		t.Fatalf("the sync had finished (%d users) before the worker was killed", before)
	}
	t.Logf("killed the worker with %d of %d users in CredoID, %s in", before, persons, time.Since(began).Round(time.Millisecond))

	startWorker(t, bin, env, "second")
	wctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	var res activities.SyncResult
	if err := tc.GetWorkflow(wctx, syncID, "").Get(wctx, &res); err != nil {
		t.Fatalf("the sync did not complete after the restart: %v", err)
	}
	t.Logf("sync completed %s after the kill: %s", time.Since(killedAt).Round(time.Millisecond), res)
	sim.SetFaults(credoidsim.Faults{})

	if res.Errors != 0 || res.Persons != persons || res.Done != res.Changed {
		t.Errorf("sync result %s: want %d persons, every change done, no errors", res, persons)
	}
	row, err := st.AccessSync(ctx, syncID)
	if err != nil {
		t.Fatal(err)
	}
	if row.Status != "completed" || row.Errors != 0 || row.Done != row.Total || row.FinishedAt == nil {
		t.Errorf("sync row: %+v", row)
	}

	// One cardholder per person, with the granted level and the grant's dates, linked to the person.
	loc, _ := time.LoadLocation("Europe/London")
	if n := len(sim.Users()); n != persons {
		t.Errorf("CredoID holds %d users, want %d", n, persons)
	}
	for id, g := range grants {
		users := sim.UsersByExternalID(access.ExternalID(id))
		if len(users) != 1 {
			t.Errorf("person %s has %d cardholders, want 1", id, len(users))
			continue
		}
		u := users[0]
		if !u.IsActive || len(u.AccessLevels) != 1 || strconv.Itoa(u.AccessLevels[0].ID) != lab {
			t.Errorf("person %s's cardholder: active %v, levels %+v; want active with the lab", id, u.IsActive, u.AccessLevels)
			continue
		}
		from, err1 := credoid.ParseDateTime(u.AccessLevels[0].ValidFrom, loc)
		to, err2 := credoid.ParseDateTime(u.AccessLevels[0].ValidTo, loc)
		if err1 != nil || err2 != nil || !from.Equal(g.StartsAt) || !to.Equal(g.EndsAt) {
			t.Errorf("person %s has the lab from %s to %s, want the grant's %s – %s", id, from, to, g.StartsAt, g.EndsAt)
		}
		// The link attributes the cardholder's badge events to the person and shows the record on their page.
		link, err := st.AccessLink(ctx, id, store.Inactivity{})
		if err != nil || link.ACSUserID == nil || *link.ACSUserID != strconv.Itoa(u.ID) {
			t.Errorf("person %s's link: %+v, %v; want CredoID user %d, their only cardholder", id, link, err, u.ID)
		}
	}

	// No grant lost or changed.
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM access_grants WHERE status = 'scheduled'`); n != persons {
		t.Errorf("%d grants still open, want %d", n, persons)
	}
	for id, g := range grants {
		got, err := st.Grant(ctx, g.ID)
		if err != nil || got.PersonID != id || !got.StartsAt.Equal(g.StartsAt) || !got.EndsAt.Equal(g.EndsAt) || got.Status != g.Status {
			t.Errorf("grant %s: %+v, %v; want it as created", g.ID, got, err)
		}
	}
	// An operation the killed worker left pending is closed as interrupted when its person is planned again.
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM access_operations WHERE status = 'pending'`); n != 0 {
		t.Errorf("%d operations still pending after the sync completed", n)
	}
	t.Logf("whole test: %s", time.Since(began).Round(time.Millisecond))
}

// workerEnv is this process's environment without SignetAssure's, Temporal's and OpenTelemetry's (OTEL_*)
// settings, then set.
func workerEnv(set map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if _, overridden := set[name]; overridden || strings.HasPrefix(name, "TEMPORAL_") ||
			strings.HasPrefix(name, "ACS_") || strings.HasPrefix(name, "CREDOID_") || strings.HasPrefix(name, "TWILIO_") ||
			strings.HasPrefix(name, "SENDGRID_") || strings.HasPrefix(name, "BROADCAST_") || name == "PUBLIC_URL" ||
			strings.HasPrefix(name, "OTEL_") || name == "DATABASE_URL" || name == "METRICS_ADDR" {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range set {
		out = append(out, k+"="+v)
	}
	return out
}

// startWorker runs `signetassure worker`; it is stopped (SIGTERM) when the test ends, and its output shown
// if the test failed.
func startWorker(t testing.TB, bin string, env []string, name string) *proc {
	t.Helper()
	p := startProc(t, bin, env, "worker")
	t.Cleanup(func() {
		p.stop(syscall.SIGTERM, 10*time.Second)
		if t.Failed() {
			t.Logf("%s worker's output:\n%s", name, p.out.String())
		}
	})
	return p
}
