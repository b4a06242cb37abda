package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/credoidsim"
	"github.com/signetassure/signetassure/store"
)

// BenchmarkReconcile reconciles 10,000 persons holding 50,000 grants (five levels each) into an empty CredoID
// simulator, then re-syncs with nothing changed, then with 1% of the persons changed (one grant revoked
// each). It reports, per phase, the wall time, the CredoID calls and writes, and the worker's peak heap.
// Run it with `make bench` (one iteration: the data set is the point, not b.N).
//
// The baseline, measured in the same run on the same simulator: as many bare API calls as the initial
// phase made in the last measurement (two per person, and a few), at the same concurrency, over kept-alive
// connections; initial-ratio is the initial phase's time over it.
func BenchmarkReconcile(b *testing.B) {
	const persons, levelsEach = 10_000, 5
	url := testenv.DatabaseURL(b)
	ctx := context.Background()
	st := testenv.StoreAt(b, url)
	sim := credoidsim.New(credoidsim.Options{Username: "op", Password: "pw", Seed: true})
	srv := httptest.NewServer(sim.Handler())
	b.Cleanup(srv.Close)
	var levels []access.Level
	for i := range levelsEach {
		id := sim.AddLevel("Bench "+strconv.Itoa(i), credoidsim.LocationSiteA)
		levels = append(levels, access.Level{ID: strconv.Itoa(id), Name: "Bench " + strconv.Itoa(i)})
	}
	_, err := st.RefreshLevels(ctx, levels)
	require.NoError(b, err)
	sc := domain.LevelSC
	for _, l := range levels {
		_, err := st.SetLevelPolicy(ctx, nil, l.ID, &sc)
		require.NoError(b, err)
	}
	ids := seedPersons(b, url, persons, levels)

	acs := credoid.New(credoid.Config{BaseURL: srv.URL, Username: "op", Password: "pw", HTTP: access.HTTPOptions{MaxConcurrent: 16}})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: st, Access: activities.AccessSettings{Connector: acs,
		Inactivity: store.Inactivity{DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour}, Concurrency: 16}})

	phase := func(name string) activities.SyncResult {
		sim.ResetStats()
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		go func() {
			var m runtime.MemStats
			for {
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		v, err := env.ExecuteActivity(activities.A.SyncAccess, activities.SyncInput{SyncID: "bench-" + name + "-" + uuid.NewString(), Trigger: "bench"})
		elapsed := time.Since(start)
		close(stop)
		require.NoError(b, err)
		var res activities.SyncResult
		require.NoError(b, v.Get(&res))
		stats := sim.Stats()
		b.ReportMetric(elapsed.Seconds(), name+"-s")
		b.ReportMetric(float64(stats.Calls), name+"-calls")
		b.ReportMetric(float64(stats.Writes), name+"-writes")
		b.ReportMetric(float64(peak.Load())/(1<<20), name+"-peak-heap-MiB")
		b.Logf("%s: %s in %s, %d calls, %d writes, peak heap %.0f MiB", name, res, elapsed.Round(time.Millisecond),
			stats.Calls, stats.Writes, float64(peak.Load())/(1<<20))
		require.Zero(b, res.Errors)
		return res
	}
	b.ResetTimer()
	for range b.N {
		base := rawCalls(b, srv.URL, 2*persons+6, 16)
		b.ReportMetric(base.Seconds(), "baseline-s")
		b.Logf("baseline: %d bare API calls, 16 at once, in %s", 2*persons+6, base.Round(time.Millisecond))
		start := time.Now()
		phase("initial")
		b.ReportMetric(time.Since(start).Seconds()/base.Seconds(), "initial-ratio")
		if res := phase("nochange"); res.Changed != 0 {
			b.Fatalf("a re-sync with nothing changed found %d persons to change", res.Changed)
		}
		// 1%: one grant of every hundredth person revoked.
		for i := 0; i < persons; i += 100 {
			gs, err := st.PersonGrants(ctx, ids[i])
			require.NoError(b, err)
			_, err = st.SetGrantStatus(ctx, nil, gs[0].ID, domain.GrantRevoked, "bench")
			require.NoError(b, err)
		}
		phase("onepercent")
	}
}

// rawCalls makes n authenticated GET /api/locations calls to the simulator, at most concurrent at once over
// kept-alive connections, and returns the time they took.
func rawCalls(b *testing.B, base string, n, concurrent int) time.Duration {
	b.Helper()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrent}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post(base+"/api/login", "application/json", strings.NewReader(`{"username":"op","password":"pw"}`))
	require.NoError(b, err)
	var login struct{ Token string }
	require.NoError(b, json.NewDecoder(resp.Body).Decode(&login))
	resp.Body.Close()
	var g errgroup.Group
	g.SetLimit(concurrent)
	start := time.Now()
	for range n {
		g.Go(func() error {
			req, _ := http.NewRequest(http.MethodGet, base+"/api/locations", nil)
			req.Header.Set("Authorization", "Bearer "+login.Token)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return errors.New(resp.Status)
			}
			return nil
		})
	}
	require.NoError(b, g.Wait())
	return time.Since(start)
}

// seedPersons writes n persons, each with an SC clearance and a running grant on every level, with COPY.
func seedPersons(b *testing.B, url string, n int, levels []access.Level) []uuid.UUID {
	b.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(b, err)
	defer conn.Close(ctx)
	now := time.Now().UTC()
	ids := make([]uuid.UUID, n)
	var persons, clearances, grants [][]any
	for i := range n {
		ids[i] = uuid.New()
		first, last := "Bench"+strconv.Itoa(i), "Person"
		persons = append(persons, []any{ids[i], first, last, "bench" + strconv.Itoa(i) + " person", time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), true})
		clearances = append(clearances, []any{uuid.New(), ids[i], "SC", now.AddDate(-1, 0, 0), now.AddDate(4, 0, 0), "active", "Bench"})
		for j, l := range levels {
			grants = append(grants, []any{domain.NewGrantID(), ids[i], l.ID, now.Add(-time.Hour), now.Add(time.Duration(24*(j+1)) * time.Hour),
				"Europe/London", "active"})
		}
	}
	for _, c := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"persons", []string{"id", "first_name", "last_name", "search_name", "date_of_birth", "active"}, persons},
		{"clearances", []string{"id", "person_id", "level", "valid_from", "valid_to", "status", "issuing_authority"}, clearances},
		{"access_grants", []string{"id", "person_id", "level_id", "starts_at", "ends_at", "time_zone", "status"}, grants},
	} {
		_, err := conn.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows))
		require.NoError(b, err, c.table)
	}
	return ids
}
