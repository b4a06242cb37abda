package restacs_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/restacs"
	"github.com/signetassure/signetassure/sim/gallaghersim"
)

const apiKey = "test-key"

var webhookSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("a webhook secret of 32 bytes!!!!"))

// fastRetries keeps retried calls quick: Retry-After: 1 is capped at MaxBackoff.
var fastRetries = access.HTTPOptions{Timeout: 5 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, MaxAttempts: 6}

// gallagher is the example configuration driving a simulator.
type gallagher struct {
	sim  *gallaghersim.Sim
	srv  *httptest.Server
	conn *restacs.Connector
	cfg  restacs.Config
}

func secretsFor(url, webhook string) func(string) string {
	return func(name string) string {
		return map[string]string{"GALLAGHER_URL": url, "GALLAGHER_API_KEY": apiKey, "GALLAGHER_WEBHOOK_SECRET": webhook}[name]
	}
}

func newGallagher(t *testing.T, o gallaghersim.Options) *gallagher {
	t.Helper()
	o.APIKey = apiKey
	sim := gallaghersim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	cfg, err := restacs.Example("gallagher")
	require.NoError(t, err)
	conn, err := restacs.New(cfg, secretsFor(srv.URL, webhookSecret), fastRetries)
	require.NoError(t, err)
	require.Equal(t, "gallagher", conn.System())
	return &gallagher{sim: sim, srv: srv, conn: conn, cfg: cfg}
}

// cardholder is the simulator's record of id.
func (g *gallagher) cardholder(t *testing.T, id string) (gallaghersim.Cardholder, bool) {
	for _, c := range g.sim.State().Cardholders {
		if c.ID == id {
			return c, true
		}
	}
	return gallaghersim.Cardholder{}, false
}

func person() access.User {
	return access.User{ExternalID: access.ExternalID(uuid.New()), EmployeeNumber: "E42", FirstName: "Ada", LastName: "Lovelace",
		Email: "ada@example.org", LocationID: "3", Active: true}
}

var ctx = context.Background()

func TestGallagherUserLifecycle(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{Seed: true})
	u := person()
	u.Levels = []access.Assignment{{LevelID: "5", From: time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 31, 23, 59, 59, 0, time.UTC)}}

	created, err := g.conn.CreateUser(ctx, u)
	require.NoError(t, err)
	require.NotEmpty(t, created.ID)
	ch, ok := g.cardholder(t, created.ID)
	require.True(t, ok)
	require.Equal(t, "Ada", ch.FirstName)
	require.True(t, ch.Authorised)
	require.Equal(t, "3", ch.DivisionID)
	require.Equal(t, map[string]string{"externalId": u.ExternalID, "employeeNumber": "E42", "email": "ada@example.org"}, ch.PersonalDataFields)
	require.Len(t, ch.AccessGroups, 1)

	found, err := g.conn.FindUsers(ctx, u.ExternalID)
	require.NoError(t, err)
	require.Len(t, found, 1)
	got := found[0]
	require.Equal(t, created.ID, got.ID)
	want := u
	want.ID = created.ID
	require.Equal(t, want, got)

	none, err := g.conn.FindUsers(ctx, access.ExternalID(uuid.New()))
	require.NoError(t, err)
	require.Empty(t, none)

	// Update sends only the changed fields; disabling is the active flag.
	desired := got
	desired.LastName, desired.Email, desired.LocationID = "King", "", "4"
	before := g.sim.Stats().ByRoute["PATCH /api/cardholders/{id}"]
	require.NoError(t, g.conn.UpdateUser(ctx, got, desired))
	require.NoError(t, g.conn.UpdateUser(ctx, desired, desired)) // nothing changed: no call
	require.Equal(t, before+1, g.sim.Stats().ByRoute["PATCH /api/cardholders/{id}"])
	ch, _ = g.cardholder(t, created.ID)
	require.Equal(t, "King", ch.LastName)
	require.Equal(t, "4", ch.DivisionID)
	require.Equal(t, "", ch.PersonalDataFields["email"])

	disabled := desired
	disabled.Active = false
	require.NoError(t, g.conn.UpdateUser(ctx, desired, disabled))
	ch, _ = g.cardholder(t, created.ID)
	require.False(t, ch.Authorised)
	found, err = g.conn.FindUsers(ctx, u.ExternalID)
	require.NoError(t, err)
	require.False(t, found[0].Active)

	require.NoError(t, g.conn.DeleteUser(ctx, created))
	_, ok = g.cardholder(t, created.ID)
	require.False(t, ok)
	require.NoError(t, g.conn.DeleteUser(ctx, created), "deleting a user already gone is not an error")

	// Unmanaged seeded cardholders are listed too, with no external id.
	all, err := g.conn.Users(ctx)
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Empty(t, all[0].ExternalID)
	require.Equal(t, "5", all[0].Levels[0].LevelID)
}

func TestGallagherSetAccess(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	created, err := g.conn.CreateUser(ctx, person())
	require.NoError(t, err)

	cet := time.FixedZone("CET", 3600)
	labA := access.Assignment{LevelID: "5", From: time.Date(2025, 1, 6, 9, 0, 0, 0, cet), To: time.Date(2025, 4, 1, 0, 59, 59, 0, cet)}
	labB := access.Assignment{LevelID: "6"} // unbounded
	require.NoError(t, g.conn.SetAccess(ctx, created, access.Access{Levels: []access.Assignment{labA, labB}}))

	ch, _ := g.cardholder(t, created.ID)
	require.Len(t, ch.AccessGroups, 2)
	require.Equal(t, "5", ch.AccessGroups[0].AccessGroupID)
	require.Equal(t, time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC), ch.AccessGroups[0].From)
	require.Equal(t, time.Date(2025, 3, 31, 23, 59, 59, 0, time.UTC), ch.AccessGroups[0].Until)
	require.True(t, ch.AccessGroups[1].From.IsZero() && ch.AccessGroups[1].Until.IsZero())

	// Times come back in UTC, equal to what was written.
	users, err := g.conn.FindUsers(ctx, created.ExternalID)
	require.NoError(t, err)
	cur := users[0]
	require.Len(t, cur.Levels, 2)
	require.Equal(t, time.UTC, cur.Levels[0].From.Location())
	require.True(t, cur.Levels[0].From.Equal(labA.From) && cur.Levels[0].To.Equal(labA.To))

	// The same access again writes nothing.
	patches := g.sim.Stats().ByRoute["PATCH /api/cardholders/{id}"]
	require.NoError(t, g.conn.SetAccess(ctx, cur, access.Access{Levels: []access.Assignment{labA, labB}}))
	require.Equal(t, patches, g.sim.Stats().ByRoute["PATCH /api/cardholders/{id}"])

	// An operator adds Server Room by hand after cur was read; a new end date for Lab A, Lab B dropped,
	// Reception added: one PATCH with update, remove (by membership href) and add.
	require.NoError(t, g.sim.OperatorAddAccessGroup(created.ID, "8", time.Time{}, time.Time{}))
	labA.To = time.Date(2025, 6, 30, 17, 0, 0, 0, time.UTC)
	reception := access.Assignment{LevelID: "7", From: time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)}
	require.NoError(t, g.conn.SetAccess(ctx, cur, access.Access{Levels: []access.Assignment{labA, reception}}))
	require.Equal(t, patches+1, g.sim.Stats().ByRoute["PATCH /api/cardholders/{id}"])

	ch, _ = g.cardholder(t, created.ID)
	byGroup := map[string]gallaghersim.Membership{}
	for _, m := range ch.AccessGroups {
		byGroup[m.AccessGroupID] = m
	}
	require.Len(t, byGroup, 2, "Lab B and the operator's Server Room are gone: %+v", ch.AccessGroups)
	require.Equal(t, time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC), byGroup["5"].From)
	require.Equal(t, labA.To, byGroup["5"].Until)
	require.Equal(t, reception.From, byGroup["7"].From)
	require.True(t, byGroup["7"].Until.IsZero())

	// Empty access removes everything; profiles are refused rather than dropped.
	require.NoError(t, g.conn.SetAccess(ctx, cur, access.Access{}))
	ch, _ = g.cardholder(t, created.ID)
	require.Empty(t, ch.AccessGroups)
	err = g.conn.SetAccess(ctx, cur, access.Access{Profiles: []string{"p1"}})
	require.Equal(t, access.KindValidation, access.KindOf(err))
}

func TestGallagherWithoutUpdateRemovesAndAdds(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	g.cfg.Access.Patch.Update = nil
	conn, err := restacs.New(g.cfg, secretsFor(g.srv.URL, webhookSecret), fastRetries)
	require.NoError(t, err)
	u := person()
	u.Levels = []access.Assignment{{LevelID: "5", To: time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)}}
	created, err := conn.CreateUser(ctx, u)
	require.NoError(t, err)
	first, _ := g.cardholder(t, created.ID)

	u.Levels[0].To = time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC)
	require.NoError(t, conn.SetAccess(ctx, created, u.Access))
	ch, _ := g.cardholder(t, created.ID)
	require.Len(t, ch.AccessGroups, 1)
	require.NotEqual(t, first.AccessGroups[0].ID, ch.AccessGroups[0].ID, "a new membership")
	require.Equal(t, u.Levels[0].To, ch.AccessGroups[0].Until)
}

func TestGallagherHeldRecordIsConflict(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	created, err := g.conn.CreateUser(ctx, person())
	require.NoError(t, err)
	require.NoError(t, g.sim.SetFaults(gallaghersim.Faults{HeldCardholders: []string{created.ID}}))

	err = g.conn.SetAccess(ctx, created, access.Access{Levels: []access.Assignment{{LevelID: "5"}}})
	require.Equal(t, access.KindConflict, access.KindOf(err))
	var e *access.Error
	require.ErrorAs(t, err, &e)
	require.Equal(t, 409, e.Status)
	require.Contains(t, e.Detail, "operator", "errorMessage reads Gallagher's message")
	require.False(t, e.Retryable())

	disabled := created
	disabled.Active = false
	require.Equal(t, access.KindConflict, access.KindOf(g.conn.UpdateUser(ctx, created, disabled)))
	require.Equal(t, access.KindConflict, access.KindOf(g.conn.DeleteUser(ctx, created)))

	require.NoError(t, g.sim.SetFaults(gallaghersim.Faults{}))
	require.NoError(t, g.conn.UpdateUser(ctx, created, disabled))
}

func TestGallagherPaging(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	var eg errgroup.Group
	eg.SetLimit(16)
	for i := range 250 {
		eg.Go(func() error {
			u := person()
			u.FirstName = "P" + strconv.Itoa(i)
			_, err := g.conn.CreateUser(ctx, u)
			return err
		})
	}
	require.NoError(t, eg.Wait())

	lists := g.sim.Stats().ByRoute["GET /api/cardholders"]
	users, err := g.conn.Users(ctx)
	require.NoError(t, err)
	require.Len(t, users, 250)
	seen := map[string]bool{}
	for _, u := range users {
		require.False(t, seen[u.ID], "listed twice: %s", u.ID)
		seen[u.ID] = true
	}
	require.Equal(t, lists+3, g.sim.Stats().ByRoute["GET /api/cardholders"], "three pages of 100")
}

func TestGallagherCatalogue(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	cat, err := g.conn.Catalogue(ctx)
	require.NoError(t, err)
	require.Contains(t, cat.Levels, access.Level{ID: "5", Name: "Lab A", LocationID: "3"})
	require.Len(t, cat.Levels, 4)
	require.Contains(t, cat.Locations, access.Ref{ID: "4", Name: "Site B"})
	require.Empty(t, cat.Companies)
}

// clock is a settable time for the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestGallagherEventsPolled(t *testing.T) {
	clk := &clock{t: time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)}
	g := newGallagher(t, gallaghersim.Options{Now: clk.Now})
	u := person()
	u.Levels = []access.Assignment{{LevelID: "5"}}
	created, err := g.conn.CreateUser(ctx, u)
	require.NoError(t, err)

	for i := range 5 {
		door := "Lab A In"
		if i == 4 {
			door = "Server Room"
		}
		_, err := g.sim.Swipe(created.ID, door)
		require.NoError(t, err)
		clk.Add(time.Minute)
	}

	// Pages of two, across the next links.
	g.cfg.Events.Paging.Size = 2
	conn, err := restacs.New(g.cfg, secretsFor(g.srv.URL, webhookSecret), fastRetries)
	require.NoError(t, err)
	evs, err := conn.Events(ctx, time.Date(2025, 2, 1, 9, 1, 0, 0, time.UTC), 100)
	require.NoError(t, err)
	require.Len(t, evs, 4)
	require.Equal(t, access.Event{ID: evs[0].ID, At: time.Date(2025, 2, 1, 9, 1, 0, 0, time.UTC), UserID: created.ID,
		Type: "Access granted", Door: "Lab A In", LocationID: "3", Granted: true}, evs[0])
	require.Equal(t, "Access denied", evs[3].Type)
	require.False(t, evs[3].Granted, "a denied swipe is not classed as granted")
	require.Equal(t, "4", evs[3].LocationID)

	// At most limit, oldest first.
	evs, err = conn.Events(ctx, time.Time{}, 3)
	require.NoError(t, err)
	require.Len(t, evs, 3)
	require.True(t, evs[0].At.Before(evs[2].At))
}

// delivery is one webhook POST as received.
type delivery struct {
	header http.Header
	body   []byte
}

func receiver(t *testing.T) (*httptest.Server, chan delivery) {
	got := make(chan delivery, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), body}
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func next(t *testing.T, got chan delivery) delivery {
	t.Helper()
	select {
	case d := <-got:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivered")
	}
	return delivery{}
}

func parse(conn *restacs.Connector, d delivery) ([]access.Event, error) {
	r := httptest.NewRequest(http.MethodPost, "/hooks/gallagher", nil)
	r.Header = d.header
	return conn.ParseWebhook(r, d.body)
}

func TestGallagherWebhooks(t *testing.T) {
	hooks, got := receiver(t)
	g := newGallagher(t, gallaghersim.Options{WebhookURL: hooks.URL, WebhookSecret: webhookSecret})
	created, err := g.conn.CreateUser(ctx, person())
	require.NoError(t, err)

	e, err := g.sim.Swipe(created.ID, "Lab B In")
	require.NoError(t, err)
	d := next(t, got)
	evs, err := parse(g.conn, d)
	require.NoError(t, err)
	require.Equal(t, []access.Event{{ID: e.ID, At: e.Time.Truncate(time.Second), UserID: created.ID, Type: "Access denied", Door: "Lab B In", LocationID: "3"}}, evs)

	// A tampered body, a wrong secret and a stale signature are refused and give no events.
	tampered := d
	tampered.body = []byte(string(d.body[:len(d.body)-2]) + " }")
	evs, err = parse(g.conn, tampered)
	require.Equal(t, access.KindAuth, access.KindOf(err))
	require.Empty(t, evs)

	other, err := restacs.New(g.cfg, secretsFor(g.srv.URL, "whsec_"+base64.StdEncoding.EncodeToString([]byte("another secret"))), fastRetries)
	require.NoError(t, err)
	evs, err = parse(other, d)
	require.Equal(t, access.KindAuth, access.KindOf(err))
	require.Empty(t, evs)

	hook, err := standardwebhooks.NewWebhook(webhookSecret)
	require.NoError(t, err)
	old := time.Now().Add(-10 * time.Minute)
	sig, _ := hook.Sign("msg_1", old, d.body)
	stale := delivery{header: d.header.Clone(), body: d.body}
	stale.header.Set("webhook-timestamp", strconv.FormatInt(old.Unix(), 10))
	stale.header.Set("webhook-signature", sig)
	stale.header.Set("webhook-id", "msg_1")
	_, err = parse(g.conn, stale)
	require.Equal(t, access.KindAuth, access.KindOf(err))

	// Duplicated deliveries carry the same event id (and message id), for the caller to de-duplicate.
	require.NoError(t, g.sim.SetFaults(gallaghersim.Faults{DuplicateWebhooks: true}))
	e, err = g.sim.Swipe(created.ID, "Lab A In")
	require.NoError(t, err)
	d1, d2 := next(t, got), next(t, got)
	evs1, err := parse(g.conn, d1)
	require.NoError(t, err)
	evs2, err := parse(g.conn, d2)
	require.NoError(t, err)
	require.Equal(t, e.ID, evs1[0].ID)
	require.Equal(t, evs1, evs2)
	require.Equal(t, d1.header.Get("webhook-id"), d2.header.Get("webhook-id"))
}

func TestGallagherWebhookRetried(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	got := make(chan []byte, 4)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		got <- body
	}))
	defer hooks.Close()
	g := newGallagher(t, gallaghersim.Options{WebhookURL: hooks.URL, WebhookSecret: webhookSecret})
	_, err := g.sim.Swipe("", "Reception Turnstile")
	require.NoError(t, err)
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("not retried")
	}
	require.Eventually(t, func() bool { return g.sim.Stats().WebhooksSent == 1 }, 2*time.Second, 10*time.Millisecond)
}

// ensure is what a sync does for one person: look up by external id, create only when absent, and on an
// error start again from the look-up (the create may have been saved even though its answer was lost).
func ensure(conn *restacs.Connector, u access.User) error {
	var err error
	for range 20 {
		var found []access.User
		if found, err = conn.FindUsers(ctx, u.ExternalID); err != nil {
			continue
		}
		if len(found) > 0 {
			return nil
		}
		if _, err = conn.CreateUser(ctx, u); err == nil {
			return nil
		}
	}
	return err
}

func TestGallagherFlakyEnsureMakesNoDuplicates(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	require.NoError(t, g.sim.SetFaults(gallaghersim.Faults{FailRate: 0.2}))
	people := make([]access.User, 50)
	var eg errgroup.Group
	for i := range people {
		people[i] = person()
		people[i].FirstName = fmt.Sprint("P", i)
		people[i].Levels = []access.Assignment{{LevelID: "5"}}
		eg.Go(func() error { return ensure(g.conn, people[i]) })
	}
	require.NoError(t, eg.Wait())
	require.NoError(t, g.sim.SetFaults(gallaghersim.Faults{}))

	count := map[string]int{}
	for _, c := range g.sim.State().Cardholders {
		count[c.PersonalDataFields["externalId"]]++
	}
	for _, p := range people {
		require.Equal(t, 1, count[p.ExternalID], "%s", p.FirstName)
	}
	st := g.sim.Stats()
	t.Logf("calls %d, writes %d, by route %v", st.Calls, st.Writes, st.ByRoute)
	require.Greater(t, st.ByRoute["POST /api/cardholders"], 50-1)
}

// loseAnswer delivers the first request of method and then loses its answer, as a dropped connection does.
type loseAnswer struct {
	method string
	mu     sync.Mutex
	lost   bool
}

func (l *loseAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && r.Method == l.method && !l.lost {
		l.lost = true
		resp.Body.Close()
		return nil, fmt.Errorf("connection reset by peer")
	}
	return resp, err
}

func TestGallagherRepeatedPatchSettles(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	labA, labB, reception := access.Assignment{LevelID: "5"}, access.Assignment{LevelID: "6"}, access.Assignment{LevelID: "7"}
	patches := func() int { return g.sim.Stats().ByRoute["PATCH /api/cardholders/{id}"] }
	groups := func(id string) []string {
		ch, _ := g.cardholder(t, id)
		var out []string
		for _, m := range ch.AccessGroups {
			out = append(out, m.AccessGroupID)
		}
		return out
	}
	lossy := func() *restacs.Connector {
		o := fastRetries
		o.Transport = &loseAnswer{method: http.MethodPatch}
		conn, err := restacs.New(g.cfg, secretsFor(g.srv.URL, webhookSecret), o)
		require.NoError(t, err)
		return conn
	}

	// A PATCH whose answer is lost is not sent again blindly (access.NewHTTPClient repeats no PATCH): the
	// read-back finds it applied.
	u, err := g.conn.CreateUser(ctx, person())
	require.NoError(t, err)
	before := patches()
	require.NoError(t, lossy().SetAccess(ctx, u, access.Access{Levels: []access.Assignment{labA, labB}}))
	require.Equal(t, before+1, patches())
	require.Equal(t, []string{"5", "6"}, groups(u.ID))

	// A removal likewise.
	before = patches()
	require.NoError(t, lossy().SetAccess(ctx, u, access.Access{Levels: []access.Assignment{labA, reception}}))
	require.Equal(t, before+1, patches())
	require.Equal(t, []string{"5", "7"}, groups(u.ID))
}

// Every write reads the cardholder first: one that carries another key than the record the write was
// planned on (the system restored or renumbered) is an access.KindWrongRecord error, and nothing is sent.
func TestGallagherWritesCheckTheRecordsKeyFirst(t *testing.T) {
	g := newGallagher(t, gallaghersim.Options{})
	created, err := g.conn.CreateUser(ctx, person())
	require.NoError(t, err)
	stale := created
	stale.ExternalID = access.ExternalID(uuid.New()) // the person the id named before the restore
	writes := g.sim.Stats().Writes
	disabled := stale
	disabled.Active = false
	for name, err := range map[string]error{
		"update":     g.conn.UpdateUser(ctx, stale, disabled),
		"set access": g.conn.SetAccess(ctx, stale, access.Access{Levels: []access.Assignment{{LevelID: "6"}}}),
		"delete":     g.conn.DeleteUser(ctx, stale),
	} {
		var ae *access.Error
		require.ErrorAs(t, err, &ae, name)
		require.Equal(t, access.KindWrongRecord, ae.Kind, name)
		require.Equal(t, created.ExternalID, ae.Found, name)
	}
	require.Equal(t, writes, g.sim.Stats().Writes, "nothing written to a record that is not the one planned on")
	ch, ok := g.cardholder(t, created.ID)
	require.True(t, ok)
	require.True(t, ch.Authorised)
}
