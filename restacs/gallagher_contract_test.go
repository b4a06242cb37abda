package restacs_test

// Contract tests: the shipped Gallagher configuration (examples/gallagher.yaml) against Gallagher's
// documented JSON, the fixtures in testdata/vendor/gallagher (see its README.md for their sources).

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/restacs"
)

// vendorGallagher serves the fixtures, their https://localhost:8904 links pointing at itself (a link to
// another host is refused by design), a second page empty; it keeps the last PATCH body.
type vendorGallagher struct {
	srv   *httptest.Server
	mu    sync.Mutex
	patch []byte
}

func newVendorGallagher(t *testing.T) *vendorGallagher {
	v := &vendorGallagher{}
	serve := func(w http.ResponseWriter, name string) {
		b := contracttest.Load(t, "gallagher/"+name)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(bytes.ReplaceAll(b, []byte("https://localhost:8904"), []byte(v.srv.URL)))
	}
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "GGL-API-KEY "+apiKey {
			t.Errorf("%s %s: Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
		}
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/api/cardholders" && r.URL.Query().Get("skip") != "":
			_, _ = io.WriteString(w, `{"results":[]}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/cardholders":
			serve(w, "cardholder_search_response.json")
		case r.Method == http.MethodGet && r.URL.Path == "/api/cardholders/325":
			// The detail: the search item, which the fields parameter made as full as the detail.
			var page struct {
				Results []json.RawMessage `json:"results"`
			}
			_ = json.Unmarshal(contracttest.Load(t, "gallagher/cardholder_search_response.json"), &page)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(bytes.ReplaceAll(page.Results[0], []byte("https://localhost:8904"), []byte(v.srv.URL)))
		case r.Method == http.MethodPatch && r.URL.Path == "/api/cardholders/325":
			b, _ := io.ReadAll(r.Body)
			v.mu.Lock()
			v.patch = b
			v.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodGet && r.URL.Path == "/api/events" && r.URL.Query().Get("pos") != "":
			_, _ = io.WriteString(w, `{"events":[]}`)
		case r.Method == http.MethodGet && r.URL.Path == "/api/events":
			serve(w, "events_response.json")
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(v.srv.Close)
	return v
}

// gallagherConfig loads the shipped example, with the edits given (old, new) applied to its text.
func gallagherConfig(t *testing.T, edits ...string) restacs.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("examples", "gallagher.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(s, edits[i]) {
			t.Fatalf("gallagher.yaml has no %q", edits[i])
		}
		s = strings.ReplaceAll(s, edits[i], edits[i+1])
	}
	cfg, err := restacs.Load([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestGallagherContractCardholders(t *testing.T) {
	v := newVendorGallagher(t)
	want := access.User{ID: "325", ExternalID: "sa:7f9c2f4e-3b1a-4c6d-9e2f-1a2b3c4d5e6f", EmployeeNumber: "E1001",
		FirstName: "Algernon", LastName: "Boothroyd", Email: "user@sample.com", LocationID: "2", Active: true,
		Access: access.Access{Levels: []access.Assignment{
			{LevelID: "352", From: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2017, 12, 31, 11, 59, 59, 0, time.UTC)},
			{LevelID: "124", From: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2017, 12, 31, 11, 59, 59, 0, time.UTC)},
		}}}
	users := func(cfg restacs.Config) access.User {
		t.Helper()
		conn, err := restacs.New(cfg, secretsFor(v.srv.URL, webhookSecret), fastRetries)
		if err != nil {
			t.Fatal(err)
		}
		us, err := conn.Users(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(us) != 1 {
			t.Fatalf("users: %+v", us)
		}
		return us[0]
	}

	// The personal data fields are read at the cardholder's root, "@<name>" (Cardholder detail, "@Student
	// ID"), so the documented cardholder reads whole: external id, employee number and e-mail included.
	assertUser(t, "shipped configuration", users(gallagherConfig(t)), want)
}

func assertUser(t *testing.T, what string, got, want access.User) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("%s:\n got  %s\n want %s", what, g, w)
	}
}

func TestGallagherContractAccessPatch(t *testing.T) {
	v := newVendorGallagher(t)
	conn, err := restacs.New(gallagherConfig(t), secretsFor(v.srv.URL, webhookSecret), fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	current := access.User{ID: "325", ExternalID: "sa:7f9c2f4e-3b1a-4c6d-9e2f-1a2b3c4d5e6f", EmployeeNumber: "E1001"}
	// Keep 352 without its until (an update), drop 124 (a remove), add 999 until a date (an add). The
	// fixture server does not apply the PATCH, so SetAccess reports that access did not settle.
	_ = conn.SetAccess(context.Background(), current, access.Access{Levels: []access.Assignment{
		{LevelID: "352", From: time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC)},
		{LevelID: "999", To: time.Date(2019, 12, 31, 23, 59, 59, 0, time.UTC)},
	}})
	v.mu.Lock()
	body := v.patch
	v.mu.Unlock()
	if body == nil {
		t.Fatal("no PATCH sent")
	}
	// An unbounded until is written "" (time.unbounded: empty), as the documented update clears one.
	contracttest.AssertShape(t, contracttest.Load(t, "gallagher/cardholder_patch_access_groups.json"), body, contracttest.Options{})
	var p struct {
		AccessGroups struct {
			Add []struct {
				AccessGroup struct{ Href string } `json:"accessGroup"`
			} `json:"add"`
			Update []struct {
				Href  string
				Until *string `json:"until"`
			} `json:"update"`
			Remove []struct{ Href string } `json:"remove"`
		} `json:"accessGroups"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	ag := p.AccessGroups
	if len(ag.Add) != 1 || ag.Add[0].AccessGroup.Href != v.srv.URL+"/api/access_groups/999" ||
		len(ag.Update) != 1 || ag.Update[0].Href != v.srv.URL+"/api/cardholders/325/access_groups/D714D8A89F" ||
		len(ag.Remove) != 1 || ag.Remove[0].Href != v.srv.URL+"/api/cardholders/325/access_groups/10ed27" {
		t.Errorf("PATCH body %s", body)
	}
	if len(ag.Update) == 1 && (ag.Update[0].Until == nil || *ag.Update[0].Until != "") {
		t.Errorf(`the update does not clear its until with "": %s`, body)
	}
}

func TestGallagherContractEvents(t *testing.T) {
	v := newVendorGallagher(t)
	conn, err := restacs.New(gallagherConfig(t), secretsFor(v.srv.URL, webhookSecret), fastRetries)
	if err != nil {
		t.Fatal(err)
	}
	events, err := conn.Events(context.Background(), time.Time{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("events: %+v", events)
	}
	e := events[0]
	if e.ID != "61320" || !e.At.Equal(time.Date(2016, 2, 18, 19, 21, 52, 0, time.UTC)) || e.UserID != "325" ||
		e.Type != "Operator logon failed" || e.Granted || e.Door != "Main hoist door" || e.LocationID != "2" {
		t.Errorf("event: %+v", e)
	}
}
