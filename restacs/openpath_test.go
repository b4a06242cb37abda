package restacs_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/restacs"
)

// openpathFake is a small Openpath-shaped API: JWT login, users under /orgs/7 wrapped in "data", offset
// paging with totalCount, group ids replaced as a whole set, activity events paged by cursor.
type openpathFake struct {
	mu      sync.Mutex
	users   map[int]map[string]any
	groups  map[int][]any // user id -> group ids as received
	lastID  int
	logins  int
	token   string
	events  []map[string]any
	puts    []string // bodies of PUT groupIds
	methods []string // "METHOD path" of each authenticated call
}

func (f *openpathFake) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth/login", func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		if in["email"] != "ops@example.org" || in["password"] != "pw" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		f.logins++
		f.token = "tok-" + strconv.Itoa(f.logins)
		tok := f.token
		f.mu.Unlock()
		writeJSON(w, map[string]any{"data": map[string]any{"token": tok}})
	})
	authed := func(pattern string, h func(w http.ResponseWriter, r *http.Request)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if r.Header.Get("Authorization") != "Bearer "+f.token {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			f.methods = append(f.methods, r.Method+" "+r.URL.Path)
			h(w, r)
		})
	}
	offsetPage := func(w http.ResponseWriter, r *http.Request, items []any) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		end := min(off+limit, len(items))
		writeJSON(w, map[string]any{"data": items[min(off, end):end], "totalCount": len(items)})
	}
	authed("GET /orgs/7/users", func(w http.ResponseWriter, r *http.Request) {
		ext := r.URL.Query().Get("externalId")
		var items []any
		for _, id := range slices.Sorted(maps.Keys(f.users)) {
			if u := f.users[id]; ext == "" || u["externalId"] == ext {
				items = append(items, u)
			}
		}
		offsetPage(w, r, items)
	})
	authed("POST /orgs/7/users", func(w http.ResponseWriter, r *http.Request) {
		var u map[string]any
		require.NoError(t, json.NewDecoder(r.Body).Decode(&u))
		require.Equal(t, false, u["sendInvite"], "create.body is sent")
		f.lastID++
		u["id"] = f.lastID
		f.users[f.lastID] = u
		writeJSON(w, map[string]any{"data": u})
	})
	user := func(w http.ResponseWriter, r *http.Request) (int, map[string]any) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		u, ok := f.users[id]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
		}
		return id, u
	}
	authed("GET /orgs/7/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, u := user(w, r); u != nil {
			writeJSON(w, map[string]any{"data": u})
		}
	})
	authed("PATCH /orgs/7/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, u := user(w, r); u != nil {
			var in map[string]any
			require.NoError(t, json.NewDecoder(r.Body).Decode(&in))
			merge(u, in)
			writeJSON(w, map[string]any{"data": u})
		}
	})
	authed("DELETE /orgs/7/users/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id, u := user(w, r); u != nil {
			delete(f.users, id)
			w.WriteHeader(http.StatusNoContent)
		}
	})
	authed("GET /orgs/7/users/{id}/groups", func(w http.ResponseWriter, r *http.Request) {
		if id, u := user(w, r); u != nil {
			var out []any
			for _, g := range f.groups[id] {
				out = append(out, map[string]any{"id": g, "name": fmt.Sprint("Group ", g)})
			}
			writeJSON(w, map[string]any{"data": out})
		}
	})
	authed("PUT /orgs/7/users/{id}/groupIds", func(w http.ResponseWriter, r *http.Request) {
		if id, u := user(w, r); u != nil {
			var in struct{ GroupIDs []any }
			d := json.NewDecoder(r.Body)
			d.UseNumber()
			require.NoError(t, d.Decode(&in))
			for _, g := range in.GroupIDs {
				_, isNumber := g.(json.Number)
				require.True(t, isNumber, "group ids go as numbers: %#v", g)
			}
			raw, _ := json.Marshal(in.GroupIDs)
			f.puts = append(f.puts, string(raw))
			f.groups[id] = in.GroupIDs
			w.WriteHeader(http.StatusNoContent)
		}
	})
	authed("GET /orgs/7/groups", func(w http.ResponseWriter, r *http.Request) {
		offsetPage(w, r, []any{map[string]any{"id": 1, "name": "Lab A"}, map[string]any{"id": 2, "name": "Lab B"}, map[string]any{"id": 3, "name": "Lobby"}})
	})
	authed("GET /orgs/7/sites", func(w http.ResponseWriter, r *http.Request) {
		offsetPage(w, r, []any{map[string]any{"id": 10, "name": "HQ"}})
	})
	authed("GET /orgs/7/activity/events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		pos, _ := strconv.Atoi(q.Get("cursor"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		end := min(pos+limit, len(f.events))
		page := map[string]any{"data": f.events[pos:end]}
		if end < len(f.events) {
			page["nextCursor"] = strconv.Itoa(end)
		}
		writeJSON(w, page)
	})
	return mux
}

// merge writes a PATCH body over a record, object by object.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sub, ok := v.(map[string]any); ok {
			if d, ok := dst[k].(map[string]any); ok {
				merge(d, sub)
				continue
			}
		}
		dst[k] = v
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func newOpenpath(t *testing.T, edit func(*restacs.Config)) (*openpathFake, *restacs.Connector) {
	f := &openpathFake{users: map[int]map[string]any{}, groups: map[int][]any{}}
	srv := httptest.NewServer(f.handler(t))
	t.Cleanup(srv.Close)
	cfg, err := restacs.Example("openpath")
	require.NoError(t, err)
	if edit != nil {
		edit(&cfg)
	}
	secrets := map[string]string{"OPENPATH_URL": srv.URL, "OPENPATH_ORG_ID": "7", "OPENPATH_EMAIL": "ops@example.org", "OPENPATH_PASSWORD": "pw"}
	conn, err := restacs.New(cfg, func(n string) string { return secrets[n] }, fastRetries)
	require.NoError(t, err)
	return f, conn
}

func TestOpenpathPutSetAndStatus(t *testing.T) {
	f, conn := newOpenpath(t, nil)
	la, _ := time.LoadLocation("America/Los_Angeles")
	u := person()
	u.LocationID = "" // not mapped for Openpath
	u.Levels = []access.Assignment{
		{LevelID: "1", From: time.Date(2025, 1, 6, 16, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC)},
		{LevelID: "2", From: time.Date(2025, 1, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 4, 1, 6, 59, 59, 0, time.UTC)}, // PDT by then
	}
	created, err := conn.CreateUser(ctx, u)
	require.NoError(t, err)
	require.Equal(t, "1", created.ID)

	f.mu.Lock()
	rec := f.users[1]
	require.Equal(t, "A", rec["status"])
	require.Equal(t, map[string]any{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.org", "employeeNumber": "E42"}, rec["identity"])
	require.Equal(t, u.ExternalID, rec["externalId"])
	// One window for the user: the span of the levels, as local time in the site's zone, no offset.
	require.Equal(t, "2025-01-06T08:00:00", rec["startDate"])
	require.Equal(t, "2025-03-31T23:59:59", rec["endDate"])
	require.Equal(t, []string{"[1,2]"}, f.puts)
	f.mu.Unlock()

	found, err := conn.FindUsers(ctx, u.ExternalID)
	require.NoError(t, err)
	require.Len(t, found, 1)
	got := found[0]
	require.True(t, got.Active)
	require.Equal(t, "Ada", got.FirstName)
	wantFrom, wantTo := time.Date(2025, 1, 6, 16, 0, 0, 0, time.UTC), time.Date(2025, 4, 1, 6, 59, 59, 0, time.UTC)
	require.Equal(t, []access.Assignment{{LevelID: "1", From: wantFrom, To: wantTo}, {LevelID: "2", From: wantFrom, To: wantTo}}, got.Levels)

	// Disable is status S.
	disabled := got
	disabled.Active = false
	require.NoError(t, conn.UpdateUser(ctx, got, disabled))
	f.mu.Lock()
	require.Equal(t, "S", f.users[1]["status"])
	f.users[1]["endDate"] = "2025-05-31" // an operator typed a date alone: the end of that day, there
	f.mu.Unlock()
	found, err = conn.FindUsers(ctx, u.ExternalID)
	require.NoError(t, err)
	require.False(t, found[0].Active)
	require.Equal(t, time.Date(2025, 5, 31, 23, 59, 59, 0, la).UTC(), found[0].Levels[0].To)

	// The whole set is written every time; the window only when it changes.
	patches := count(f, "PATCH /orgs/7/users/1")
	require.NoError(t, conn.SetAccess(ctx, got, access.Access{Levels: got.Levels[:1]}))
	require.Equal(t, patches, count(f, "PATCH /orgs/7/users/1"))
	require.NoError(t, conn.SetAccess(ctx, got, access.Access{}))
	f.mu.Lock()
	require.Equal(t, []string{"[1,2]", "[1]", "[]"}, f.puts)
	f.mu.Unlock()

	_, err = conn.CreateUser(ctx, access.User{ExternalID: "sa:x", FirstName: "A", LastName: "B", Active: true,
		Access: access.Access{Levels: []access.Assignment{{LevelID: "lab"}}}})
	require.Equal(t, access.KindValidation, access.KindOf(err), "a level id that is not a number")

	require.NoError(t, conn.DeleteUser(ctx, got))
	require.NoError(t, conn.DeleteUser(ctx, got))
}

func count(f *openpathFake, call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, m := range f.methods {
		if m == call {
			n++
		}
	}
	return n
}

func TestOpenpathLogsInAgainOn401AndPagesByOffset(t *testing.T) {
	f, conn := newOpenpath(t, func(c *restacs.Config) { c.Users.Paging.Size = 2 })
	for i := range 5 {
		u := person()
		u.FirstName = fmt.Sprint("P", i)
		_, err := conn.CreateUser(ctx, u)
		require.NoError(t, err)
	}
	f.mu.Lock()
	f.token = "rotated" // every token handed out so far is now refused
	f.mu.Unlock()

	users, err := conn.Users(ctx)
	require.NoError(t, err)
	require.Len(t, users, 5)
	require.Equal(t, "P4", users[4].FirstName)
	f.mu.Lock()
	require.Equal(t, 2, f.logins)
	f.mu.Unlock()

	cat, err := conn.Catalogue(ctx)
	require.NoError(t, err)
	require.Equal(t, []access.Level{{ID: "1", Name: "Lab A"}, {ID: "2", Name: "Lab B"}, {ID: "3", Name: "Lobby"}}, cat.Levels)
	require.Equal(t, []access.Ref{{ID: "10", Name: "HQ"}}, cat.Locations)
}

func TestOpenpathEventsByCursor(t *testing.T) {
	f, conn := newOpenpath(t, func(c *restacs.Config) { c.Events.Paging.Size = 2 })
	for i := range 5 {
		f.events = append(f.events, map[string]any{"id": 100 + i, "time": fmt.Sprintf("2025-02-01T09:0%d:00", i),
			"type": "granted", "userId": 1, "entryName": "Front door", "siteId": 10})
	}
	evs, err := conn.Events(ctx, time.Time{}, 0)
	require.NoError(t, err)
	require.Len(t, evs, 5)
	la, _ := time.LoadLocation("America/Los_Angeles")
	require.Equal(t, access.Event{ID: "104", At: time.Date(2025, 2, 1, 9, 4, 0, 0, la).UTC(), UserID: "1", Type: "granted", Door: "Front door", LocationID: "10", Granted: true}, evs[4])
}

func TestOpenpathBadPasswordIsAuth(t *testing.T) {
	f := &openpathFake{users: map[int]map[string]any{}, groups: map[int][]any{}}
	srv := httptest.NewServer(f.handler(t))
	defer srv.Close()
	cfg, err := restacs.Example("openpath")
	require.NoError(t, err)
	secrets := map[string]string{"OPENPATH_URL": srv.URL, "OPENPATH_ORG_ID": "7", "OPENPATH_EMAIL": "ops@example.org", "OPENPATH_PASSWORD": "wrong"}
	conn, err := restacs.New(cfg, func(n string) string { return secrets[n] }, fastRetries)
	require.NoError(t, err)
	_, err = conn.Users(ctx)
	require.Equal(t, access.KindAuth, access.KindOf(err))
	require.NotContains(t, err.Error(), "wrong")
}
