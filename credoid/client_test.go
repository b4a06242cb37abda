package credoid_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/credoid"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/credoidsim"
)

var london = mustZone("Europe/London")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// clock is a settable clock for the simulator.

type env struct {
	sim    *credoidsim.Sim
	srv    *httptest.Server
	client *credoid.Client
	clock  *testenv.Clock
}

// fastHTTP retries quickly so fault tests run in seconds; Retry-After is capped at MaxBackoff.
var fastHTTP = access.HTTPOptions{Timeout: 2 * time.Second, MinBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// newEnv starts a seeded simulator (demo catalogue, Europe/London, a settable clock) and a client of it.
// edit, when given, changes the client's configuration.
func newEnv(t *testing.T, edit func(*credoid.Config)) *env {
	t.Helper()
	e := &env{clock: testenv.NewClock(time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC))}
	e.sim = credoidsim.New(credoidsim.Options{Username: "api", Password: "s3cret-pw", Seed: true, Now: e.clock.Now})
	e.srv = httptest.NewServer(e.sim.Handler())
	t.Cleanup(e.srv.Close)
	cfg := credoid.Config{BaseURL: e.srv.URL, Username: "api", Password: "s3cret-pw", HTTP: fastHTTP}
	if edit != nil {
		edit(&cfg)
	}
	e.client = credoid.New(cfg)
	return e
}

func (e *env) calls(route string) int { return e.sim.Stats().ByRoute[route] }

func person(n int) access.User {
	return access.User{
		ExternalID:     access.ExternalID(uuid.New()),
		EmployeeNumber: fmt.Sprintf("E%04d", n),
		FirstName:      "Ada",
		LastName:       fmt.Sprintf("Lovelace%d", n),
		Email:          fmt.Sprintf("ada%d@example.org", n),
		CompanyID:      strconv.Itoa(credoidsim.CompanySupplier1),
		LocationID:     strconv.Itoa(credoidsim.LocationSiteB),
		Active:         true,
	}
}

func id(n int) string { return strconv.Itoa(n) }

func TestCRUDRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	c := e.client
	if c.System() != "credoid" {
		t.Fatal(c.System())
	}

	cat, err := c.Catalogue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Levels) != 7 || len(cat.Profiles) != 3 || len(cat.Companies) != 4 || len(cat.Locations) != 3 {
		t.Fatalf("catalogue: %+v", cat)
	}
	if p := cat.Profiles[credoidsim.ProfileContractorSC-1]; p.Name != "Contractor SC" ||
		!slices.Equal(p.LevelIDs, []string{id(credoidsim.LevelSiteAGeneral), id(credoidsim.LevelSiteBGeneral)}) {
		t.Fatalf("profile: %+v", p)
	}
	if l := cat.Levels[credoidsim.LevelSiteBServerRoom-1]; l.Name != "Site B Server Room" || l.LocationID != id(credoidsim.LocationSiteB) {
		t.Fatalf("level: %+v", l)
	}

	from := time.Date(2025, 1, 6, 8, 0, 0, 0, time.UTC)
	to := time.Date(2025, 3, 31, 23, 59, 59, 0, time.UTC)
	want := person(1)
	want.Access = access.Access{
		Levels:   []access.Assignment{{LevelID: id(credoidsim.LevelSiteALab), From: from, To: to}, {LevelID: id(credoidsim.LevelSiteBGeneral)}},
		Profiles: []string{id(credoidsim.ProfileVisitor)},
	}
	got, err := c.CreateUser(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID == "" {
		t.Fatal("no id")
	}
	want.ID = got.ID
	assertUser(t, got, want)

	found, err := c.FindUsers(ctx, want.ExternalID)
	if err != nil || len(found) != 1 {
		t.Fatalf("FindUsers: %v %+v", err, found)
	}
	assertUser(t, found[0], want)
	if other, err := c.FindUsers(ctx, access.ExternalID(uuid.New())); err != nil || len(other) != 0 {
		t.Fatalf("FindUsers of a stranger: %v %+v", err, other)
	}

	// UpdateUser changes person fields and leaves access alone, even when told an older access.
	desired := want
	desired.LastName, desired.Email, desired.Active = "Byron", "ada@byron.example", false
	desired.CompanyID, desired.LocationID = id(credoidsim.CompanyOwn), id(credoidsim.LocationSiteC)
	desired.Access = access.Access{}
	if err := c.UpdateUser(ctx, got, desired); err != nil {
		t.Fatal(err)
	}
	desired.Access = want.Access
	users, err := c.Users(ctx)
	if err != nil || len(users) != 1 {
		t.Fatalf("Users: %v %+v", err, users)
	}
	assertUser(t, users[0], desired)

	// SetAccess makes access exactly what it is given.
	a := access.Access{Levels: []access.Assignment{{LevelID: id(credoidsim.LevelSiteCGeneral), From: from}}}
	if err := c.SetAccess(ctx, users[0], a); err != nil {
		t.Fatal(err)
	}
	desired.Access = a
	found, _ = c.FindUsers(ctx, want.ExternalID)
	assertUser(t, found[0], desired)
	if err := c.SetAccess(ctx, found[0], access.Access{}); err != nil {
		t.Fatal(err)
	}
	found, _ = c.FindUsers(ctx, want.ExternalID)
	if len(found[0].Levels) != 0 || len(found[0].Profiles) != 0 {
		t.Fatalf("access not cleared: %+v", found[0].Access)
	}

	if err := c.DeleteUser(ctx, got); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUser(ctx, got); err != nil {
		t.Fatalf("deleting a deleted user: %v", err)
	}
	if err := c.UpdateUser(ctx, got, desired); access.KindOf(err) != access.KindNotFound {
		t.Fatalf("updating a deleted user: %v", err)
	}
	if err := c.SetAccess(ctx, got, a); access.KindOf(err) != access.KindNotFound {
		t.Fatalf("granting a deleted user: %v", err)
	}
	if users, err := c.Users(ctx); err != nil || len(users) != 0 {
		t.Fatalf("Users after delete: %v %+v", err, users)
	}
}

func assertUser(t *testing.T, got, want access.User) {
	t.Helper()
	// Times compare as instants; nil and empty lists are the same.
	norm := func(u access.User) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s|%s|%s|%s|%v|", u.ID, u.ExternalID, u.EmployeeNumber, u.FirstName, u.LastName, u.Email, u.CompanyID, u.LocationID, u.Active)
		for _, l := range u.Levels {
			fmt.Fprintf(&b, "L%s %s %s;", l.LevelID, l.From.UTC().Format(time.RFC3339Nano), l.To.UTC().Format(time.RFC3339Nano))
		}
		fmt.Fprintf(&b, "P%v", u.Profiles)
		return b.String()
	}
	if g, w := norm(got), norm(want); g != w {
		t.Fatalf("user\n got %s\nwant %s", g, w)
	}
}

func TestUpdateKeepsWhatItDoesNotManage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	card := json.RawMessage(`{"type":"card","number":"0012345"}`)
	rec, err := e.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: "Grace", LastName: "Hopper", Additional1: "sa:x",
		Additional2: "kept", Identifications: []json.RawMessage{card},
		Locations: []credoidsim.RefRecord{{ID: credoidsim.LocationSiteA}, {ID: credoidsim.LocationSiteC}}})
	if err != nil {
		t.Fatal(err)
	}
	u := access.User{ID: id(rec.ID), ExternalID: "sa:x", FirstName: "Grace", LastName: "Hopper-Murray", LocationID: id(credoidsim.LocationSiteB), Active: true}
	if err := e.client.UpdateUser(ctx, u, u); err != nil {
		t.Fatal(err)
	}
	if err := e.client.SetAccess(ctx, u, access.Access{Profiles: []string{id(credoidsim.ProfileStaffDV)}}); err != nil {
		t.Fatal(err)
	}
	after, _ := e.sim.User(rec.ID)
	locs := []int{}
	for _, l := range after.Locations {
		locs = append(locs, l.ID)
	}
	if after.LastName != "Hopper-Murray" || after.Additional2 != "kept" || len(after.Identifications) != 1 ||
		!bytes.Equal(after.Identifications[0], card) || !slices.Equal(locs, []int{2, 1, 3}) || len(after.AccessProfiles) != 1 {
		t.Fatalf("record after update: %+v", after)
	}
}

// A UTC instant in summer (BST) and in winter (GMT) goes over the wire as London wall-clock time without
// an offset, and comes back as the same instant.
func TestTimeZone(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	summer := time.Date(2025, 7, 1, 7, 0, 0, 0, time.UTC)    // 08:00 BST
	winter := time.Date(2025, 12, 1, 17, 30, 0, 0, time.UTC) // 17:30 GMT
	u := person(1)
	u.Levels = []access.Assignment{{LevelID: id(credoidsim.LevelSiteAGeneral), From: summer, To: winter}}
	created, err := e.client.CreateUser(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(created.ID)
	rec, _ := e.sim.User(n)
	if l := rec.AccessLevels[0]; *l.ValidFrom != "2025-07-01T08:00:00" || *l.ValidTo != "2025-12-01T17:30:00" {
		t.Fatalf("on the wire: %s .. %s", *l.ValidFrom, *l.ValidTo)
	}
	got := created.Levels[0]
	if !got.From.Equal(summer) || !got.To.Equal(winter) || got.From.Location() != time.UTC {
		t.Fatalf("back: %v .. %v", got.From, got.To)
	}

	// A client that believes the server is on UTC writes (and reads) an hour off in summer: the zone
	// must be configured.
	wrong := credoid.New(credoid.Config{BaseURL: e.srv.URL, Username: "api", Password: "s3cret-pw", TimeZone: time.UTC, HTTP: fastHTTP})
	found, err := wrong.FindUsers(ctx, u.ExternalID)
	if err != nil {
		t.Fatal(err)
	}
	if d := found[0].Levels[0].From.Sub(summer); d != time.Hour {
		t.Fatalf("misconfigured zone off by %v", d)
	}
}

func TestTokenExpiryReLogsInOnce(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, err := e.client.Users(ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.calls("POST /api/login"); n != 1 {
		t.Fatalf("logins: %d", n)
	}
	e.clock.Add(2 * time.Hour) // past the default 1 h TTL

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := e.client.Catalogue(ctx)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := e.calls("POST /api/login"); n != 2 {
		t.Fatalf("8 callers refused at once caused %d logins, want 1 more", n-1)
	}
	if n := e.calls("GET /api/access-levels"); n < 9 {
		t.Fatalf("calls: %d", n)
	}
}

func TestWrongPassword(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *credoid.Config) { c.Password = "wrong-horse-battery" })
	_, err := e.client.Users(ctx)
	if access.KindOf(err) != access.KindAuth {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "wrong-horse-battery") {
		t.Fatal("the password is in the error")
	}
	var ae *access.Error
	if errors.As(err, &ae); ae.Retryable() {
		t.Fatal("a refused password is retryable")
	}
	st := e.sim.Stats()
	if st.Calls != 1 || st.ByRoute["POST /api/login"] != 1 {
		t.Fatalf("calls: %+v", st)
	}
}

// A token that the server keeps refusing (e.g. the operator lost API rights) is KindAuth after one
// re-login, not a loop.
func TestSecond401IsKindAuth(t *testing.T) {
	ctx := context.Background()
	var logins, calls int
	var mu sync.Mutex
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/api/login" {
			logins++
			json.NewEncoder(w).Encode(map[string]string{"token": "t"})
			return
		}
		calls++
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer refusing.Close()
	c := credoid.New(credoid.Config{BaseURL: refusing.URL, HTTP: fastHTTP})
	_, err := c.Catalogue(ctx)
	if access.KindOf(err) != access.KindAuth || logins != 2 || calls != 2 {
		t.Fatalf("err = %v after %d logins, %d calls", err, logins, calls)
	}
}

func TestAccessTokenField(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	// A server that names the token access_token only, as in the public sample.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/login" {
			e.sim.Handler().ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		e.sim.Handler().ServeHTTP(rec, r)
		var lr credoid.LoginResponse
		json.Unmarshal(rec.Body.Bytes(), &lr)
		json.NewEncoder(w).Encode(map[string]string{"access_token": lr.Token})
	}))
	defer srv.Close()
	c := credoid.New(credoid.Config{BaseURL: srv.URL, Username: "api", Password: "s3cret-pw", HTTP: fastHTTP})
	if _, err := c.Catalogue(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestForbiddenIsNotRetried(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u, err := e.client.CreateUser(ctx, person(1))
	if err != nil {
		t.Fatal(err)
	}
	e.sim.SetFaults(credoidsim.Faults{Forbidden: []string{"DELETE /api/users/{id}"}})
	err = e.client.DeleteUser(ctx, u)
	var ae *access.Error
	if !errors.As(err, &ae) || ae.Kind != access.KindForbidden || ae.Status != 403 || ae.Retryable() {
		t.Fatalf("err = %v", err)
	}
	if n := e.calls("DELETE /api/users/{id}"); n != 1 {
		t.Fatalf("DELETE sent %d times", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *credoid.Config) { c.HTTP.MaxBackoff = 5 * time.Second })
	if _, err := e.client.Catalogue(ctx); err != nil { // logged in
		t.Fatal(err)
	}
	e.sim.SetFaults(credoidsim.Faults{FailNext: 1, FailKinds: []string{"429"}})
	e.sim.ResetStats()
	start := time.Now()
	if _, err := e.client.Users(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v despite Retry-After: 1", d)
	}
	if n := e.calls("GET /api/users"); n != 2 {
		t.Fatalf("GET /api/users sent %d times", n)
	}

	// Refused throughout: ErrRateLimited with the server's Retry-After, after MaxAttempts.
	e2 := newEnv(t, func(c *credoid.Config) { c.HTTP.MaxAttempts = 2 })
	e2.sim.SetFaults(credoidsim.Faults{FailRate: 1, FailKinds: []string{"429"}})
	_, err := e2.client.Users(ctx)
	var ae *access.Error
	if !errors.As(err, &ae) || ae.Kind != access.KindRateLimited || ae.RetryAfter != time.Second {
		t.Fatalf("err = %#v", err)
	}
	if n := e2.calls("POST /api/login"); n != 2 {
		t.Fatalf("login sent %d times", n)
	}
}

// With a fifth of the calls failing (429, 503, no answer) and some writes saved without an answer, the
// idempotent create (find by external id; create when not found; find again after a conflict or a failure)
// leaves exactly one user per person.
func TestFaultyCreatesMakeNoDuplicates(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *credoid.Config) { c.HTTP.Timeout = 150 * time.Millisecond })
	e.sim.SetFaults(credoidsim.Faults{FailRate: 0.2, SaveThenTimeout: 0.15, TimeoutMs: 2000, Seed: 7})
	const people = 40
	persons := make([]access.User, people)
	for i := range persons {
		persons[i] = person(i)
		persons[i].Levels = []access.Assignment{{LevelID: id(credoidsim.LevelSiteAGeneral)}}
	}
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
	)
	note := func(what string) { mu.Lock(); outcomes[what]++; mu.Unlock() }
	ensure := func(p access.User) error {
		for range 50 {
			found, err := e.client.FindUsers(ctx, p.ExternalID)
			if err != nil {
				continue // every failure here is transient
			}
			if len(found) > 0 {
				return nil
			}
			_, err = e.client.CreateUser(ctx, p)
			note("create " + cmp.Or(string(access.KindOf(err)), "ok"))
			if err == nil {
				return nil
			}
			if k := access.KindOf(err); k != access.KindConflict && k != access.KindTransient && k != access.KindRateLimited {
				return err
			}
		}
		return errors.New("gave up")
	}
	var wg sync.WaitGroup
	errs := make(chan error, people)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < people; i += 4 {
				if err := ensure(persons[i]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	e.sim.SetFaults(credoidsim.Faults{})
	if n := len(e.sim.Users()); n != people {
		t.Fatalf("%d users for %d people", n, people)
	}
	for _, p := range persons {
		if n := len(e.sim.UsersByExternalID(p.ExternalID)); n != 1 {
			t.Fatalf("%s: %d users", p.ExternalID, n)
		}
	}
	st := e.sim.Stats()
	t.Logf("calls %d, writes %d, by route %v; outcomes %v", st.Calls, st.Writes, st.ByRoute, outcomes)
	if st.ByRoute["POST /api/users"] <= people {
		t.Fatal("no create failed: the faults did not bite")
	}
}

func TestUsersPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	for i := range 1200 {
		if _, err := e.sim.CreateUserByHand(credoidsim.UserRecord{FirstName: "P", LastName: strconv.Itoa(i), Additional1: fmt.Sprintf("sa:%d", i),
			AccessLevels: []credoidsim.LevelAssignment{{ID: credoidsim.LevelSiteAGeneral}}}); err != nil {
			t.Fatal(err)
		}
	}
	users, err := e.client.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range users {
		seen[u.ExternalID] = true
		if len(u.Levels) != 1 {
			t.Fatalf("levels of %s: %+v", u.ID, u.Levels)
		}
	}
	if len(users) != 1200 || len(seen) != 1200 {
		t.Fatalf("%d users, %d distinct", len(users), len(seen))
	}
	if n := e.calls("GET /api/users"); n != 3 {
		t.Fatalf("%d pages", n)
	}
	if n := e.calls("GET /api/users/{id}"); n != 0 {
		t.Fatalf("%d single reads of full records", n)
	}
}

func TestSummaryListFallsBackToSingleReads(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	var ext []string
	for i := range 30 {
		p := person(i)
		p.Levels = []access.Assignment{{LevelID: id(credoidsim.LevelSiteBGeneral), From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
		if _, err := e.client.CreateUser(ctx, p); err != nil {
			t.Fatal(err)
		}
		ext = append(ext, p.ExternalID)
	}
	e.sim.SetFaults(credoidsim.Faults{SummaryList: true})
	e.sim.ResetStats()
	users, err := e.client.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 30 {
		t.Fatalf("%d users", len(users))
	}
	for _, u := range users {
		if len(u.Levels) != 1 || u.Levels[0].LevelID != id(credoidsim.LevelSiteBGeneral) || u.EmployeeNumber == "" || u.CompanyID == "" {
			t.Fatalf("incomplete user %+v", u)
		}
	}
	if n := e.calls("GET /api/users/{id}"); n != 30 {
		t.Fatalf("%d single reads", n)
	}
	found, err := e.client.FindUsers(ctx, ext[7])
	if err != nil || len(found) != 1 || len(found[0].Levels) != 1 {
		t.Fatalf("FindUsers: %v %+v", err, found)
	}
}

func TestValidationAndConflict(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	u := person(1)
	u.LastName = ""
	_, err := e.client.CreateUser(ctx, u)
	var ae *access.Error
	if !errors.As(err, &ae) || ae.Kind != access.KindValidation || len(ae.Fields["LastName"]) == 0 {
		t.Fatalf("err = %#v", err)
	}
	u = person(1)
	u.Levels = []access.Assignment{{LevelID: "999"}}
	if _, err = e.client.CreateUser(ctx, u); access.KindOf(err) != access.KindValidation {
		t.Fatalf("unknown level: %v", err)
	}
	u.Levels = []access.Assignment{{LevelID: "Lab A"}}
	if _, err = e.client.CreateUser(ctx, u); access.KindOf(err) != access.KindValidation {
		t.Fatalf("level id not a number: %v", err)
	}
	u.Levels = nil
	if _, err = e.client.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	u.ExternalID = access.ExternalID(uuid.New())
	if _, err = e.client.CreateUser(ctx, u); !errors.As(err, &ae) || ae.Kind != access.KindConflict || len(ae.Fields["EmployeeNumber"]) == 0 {
		t.Fatalf("duplicate employee number: %v", err)
	}
	if n := e.calls("POST /api/users"); n != 4 { // the id that is not a number never left the client
		t.Fatalf("POST /api/users sent %d times", n)
	}
}

func TestEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	start := time.Date(2025, 6, 30, 23, 0, 0, 0, time.UTC) // midnight in London (BST)
	for i := range 1200 {
		e.sim.AddEvent(credoidsim.Swipe{UserID: 42, DoorName: "Lab A In", LocationID: credoidsim.LocationSiteA,
			At: start.Add(time.Duration(i) * time.Minute)})
	}
	all := e.sim.Events()
	if all[0].Time != "2025-07-01T00:00:00" {
		t.Fatalf("wire time %s", all[0].Time)
	}

	got, err := e.client.Events(ctx, time.Time{}, 700)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 700 || got[0].ID != strconv.FormatInt(all[0].ID, 10) || !got[0].At.Equal(start) ||
		got[0].UserID != "42" || got[0].Door != "Lab A In" || got[0].Type != "Access granted" || got[0].LocationID != "1" {
		t.Fatalf("%d events, first %+v", len(got), got[0])
	}
	for i := 1; i < len(got); i++ {
		if !got[i].At.After(got[i-1].At) {
			t.Fatal("not oldest first")
		}
	}

	since := start.Add(1000 * time.Minute)
	got, err = e.client.Events(ctx, since, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 || !got[0].At.Equal(since) {
		t.Fatalf("%d events since, first at %v", len(got), got[0].At)
	}
	if got, _ := e.client.Events(ctx, since, 0); len(got) != 0 {
		t.Fatal("limit 0 returned events")
	}
}

// Only CredoID's "Access granted" type is classed as granted; a refused swipe, a forced or held door and a
// type the client does not know are not.
func TestEventsGrantedByTypeID(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	types := []string{"Access granted", "Access denied", "Door forced open", "Door held open", "Something new"}
	for _, typ := range types {
		e.sim.AddEvent(credoidsim.Swipe{UserID: 42, DoorName: "Lab A In", Type: typ})
	}
	got, err := e.client.Events(ctx, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(types) {
		t.Fatalf("%d events, want %d", len(got), len(types))
	}
	for i, ev := range got {
		if ev.Type != types[i] || ev.Granted != (i == 0) {
			t.Fatalf("event %d: type %q granted %v", i, ev.Type, ev.Granted)
		}
	}
}

// The client's errors never carry the token either.
func TestErrorsCarryNoSecrets(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	var token string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/login" {
			rec := httptest.NewRecorder()
			e.sim.Handler().ServeHTTP(rec, r)
			var lr credoid.LoginResponse
			json.Unmarshal(rec.Body.Bytes(), &lr)
			token = lr.Token
			w.Write(rec.Body.Bytes())
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"title":"bad"}`)
	}))
	defer srv.Close()
	c := credoid.New(credoid.Config{BaseURL: srv.URL, Username: "api", Password: "s3cret-pw", HTTP: fastHTTP})
	_, err := c.Users(ctx)
	if err == nil || token == "" || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("err = %v", err)
	}
}

// After a restore that renumbers the users, the id a record was read under names another person's record:
// every write (person fields, access, delete) reads the record first, finds another key, and writes
// nothing, so the other person's badge is left exactly as it was.
func TestWritesCheckTheRecordsKeyFirst(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	a, err := e.client.CreateUser(ctx, person(1))
	if err != nil {
		t.Fatal(err)
	}
	b := person(2)
	b.Levels = []access.Assignment{{LevelID: strconv.Itoa(credoidsim.LevelSiteAGeneral)}}
	if b, err = e.client.CreateUser(ctx, b); err != nil {
		t.Fatal(err)
	}
	e.sim.RenumberUsers()
	aID, _ := strconv.Atoi(a.ID)
	other, _ := e.sim.User(aID) // b's record, now under a's old id
	if other.Additional1 != b.ExternalID {
		t.Fatalf("the renumbering did not give a's id to b: %+v", other)
	}
	writes := e.sim.Stats().Writes

	disabled := a
	disabled.Active = false
	lab := access.Access{Levels: []access.Assignment{{LevelID: strconv.Itoa(credoidsim.LevelSiteALab)}}}
	for name, err := range map[string]error{
		"update":     e.client.UpdateUser(ctx, a, disabled),
		"set access": e.client.SetAccess(ctx, a, lab),
		"delete":     e.client.DeleteUser(ctx, a),
	} {
		var ae *access.Error
		if !errors.As(err, &ae) || ae.Kind != access.KindWrongRecord || ae.Found != b.ExternalID {
			t.Fatalf("%s of a stale id: %v, want KindWrongRecord naming the key found", name, err)
		}
	}
	if n := e.sim.Stats().Writes; n != writes {
		t.Fatalf("%d writes to a record that is not ours", n-writes)
	}
	if now, _ := e.sim.User(aID); !reflect.DeepEqual(now, other) {
		t.Fatalf("the other person's record changed:\n%+v\nwas\n%+v", now, other)
	}

	// Found again by its key, a's record is written.
	found, err := e.client.FindUsers(ctx, a.ExternalID)
	if err != nil || len(found) != 1 || found[0].ID == a.ID {
		t.Fatalf("a's record by its key: %+v %v", found, err)
	}
	if err := e.client.SetAccess(ctx, found[0], lab); err != nil {
		t.Fatal(err)
	}
}
