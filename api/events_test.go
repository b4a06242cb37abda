package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
)

type envelope struct {
	SpecVersion     string         `json:"specversion"`
	ID              string         `json:"id"`
	Source          string         `json:"source"`
	Type            string         `json:"type"`
	Subject         string         `json:"subject"`
	Time            time.Time      `json:"time"`
	DataContentType string         `json:"datacontenttype"`
	Data            map[string]any `json:"data"`
	Sequence        string         `json:"sequence"`
	Position        int64          `json:"position"`
}

type eventPage struct {
	Items []envelope `json:"items"`
	Next  int64      `json:"next"`
}

// A person created and changed and a case opened over the API are read back from GET /api/v1/events as
// CloudEvents envelopes of the right types, subjects and sequences, with no personal data in data; names
// only when asked for; administrators alone read them.
func TestEventsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Jane", "Davies", "1985-04-12")
	e.must(200, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+person,
		map[string]any{"email": "jane.davies@example.org", "lineManager": "R. Hughes"})
	ref := e.openCase(person, "new", "SC")

	want := []string{"person.created.v1 person/" + person + " 1", "person.updated.v1 person/" + person + " 2",
		"case.opened.v1 case/" + ref + " 1"}
	var page eventPage
	deadline := time.Now().Add(30 * time.Second)
	for {
		page = eventPage{}
		if err := json.Unmarshal(e.callOK(t, "/api/v1/events?limit=500"), &page); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range page.Items {
			n, _ := fmt.Sscan(ev.Sequence, new(int))
			if n != 1 {
				t.Fatalf("sequence %q", ev.Sequence)
			}
			got = append(got, fmt.Sprintf("%s %s %s", ev.Type, ev.Subject, strings.TrimLeft(ev.Sequence, "0")))
		}
		if !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(got, w) }) &&
			slices.ContainsFunc(page.Items, func(ev envelope) bool { return ev.Type == "case.status_changed.v1" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v, want %v and a case.status_changed", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}

	seen := map[string]bool{}
	caseSeq := 0
	for _, ev := range page.Items {
		if ev.SpecVersion != "1.0" || ev.ID == "" || ev.Source == "" || ev.DataContentType != "application/json" ||
			ev.Time.IsZero() || ev.Position < 1 || seen[ev.ID] {
			t.Errorf("envelope %+v", ev)
		}
		seen[ev.ID] = true
		data, _ := json.Marshal(ev.Data)
		for _, personal := range []string{"Jane", "Davies", "1985", "jane.davies", "Hughes", "07400", "Test Street",
			"AB123456C", "M. Manager"} {
			if strings.Contains(string(data), personal) {
				t.Errorf("%s %s: data %s holds %q", ev.Type, ev.Subject, data, personal)
			}
		}
		if ev.Subject == "case/"+ref {
			caseSeq++
			if ev.Sequence != fmt.Sprintf("%020d", caseSeq) || ev.Data["caseRef"] != ref || ev.Data["personId"] != person {
				t.Errorf("case event %d: %+v", caseSeq, ev)
			}
			if ev.Type == "case.status_changed.v1" && (ev.Data["from"] == nil || ev.Data["status"] == ev.Data["from"]) {
				t.Errorf("status change %v", ev.Data)
			}
		}
		if ev.Type == "person.updated.v1" && fmt.Sprint(ev.Data["fields"]) == "[]" {
			t.Errorf("person.updated names no fields: %v", ev.Data)
		}
	}

	// Reading on from the last position: nothing new, the same cursor.
	var rest eventPage
	if err := json.Unmarshal(e.callOK(t, fmt.Sprintf("/api/v1/events?after=%d", page.Next)), &rest); err != nil {
		t.Fatal(err)
	}
	if len(rest.Items) != 0 || rest.Next != page.Next {
		t.Errorf("after the last: %d items, next %d (want %d)", len(rest.Items), rest.Next, page.Next)
	}
	// Paging by one reads the same events in the same order.
	after := int64(0)
	for i := range page.Items {
		var one eventPage
		if err := json.Unmarshal(e.callOK(t, fmt.Sprintf("/api/v1/events?after=%d&limit=1", after)), &one); err != nil {
			t.Fatal(err)
		}
		if len(one.Items) != 1 || one.Items[0].ID != page.Items[i].ID {
			t.Fatalf("page %d: %+v, want %s", i, one.Items, page.Items[i].ID)
		}
		after = one.Next
	}

	// Names only when asked for.
	var named eventPage
	if err := json.Unmarshal(e.callOK(t, "/api/v1/events?names=true&limit=1"), &named); err != nil {
		t.Fatal(err)
	}
	if names, _ := named.Items[0].Data["names"].(map[string]any); names["personName"] != "Jane Davies" {
		t.Errorf("names=true: %v", named.Items[0].Data)
	}

	if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/events", nil); r.status != 403 {
		t.Errorf("a case worker reading events: %d", r.status)
	}
	if r := e.call(domain.RoleAdmin, "GET", "/api/v1/events?after=999999", nil); r.status != 400 || problemField(t, r) != "after" {
		t.Errorf("an unknown cursor: %d %s", r.status, r.body)
	}
	if r := e.call(domain.RoleAdmin, "GET", "/api/v1/events?limit=0", nil); r.status != 400 || problemField(t, r) != "limit" {
		t.Errorf("limit 0: %d %s", r.status, r.body)
	}
	// The route's scope is in the OpenAPI document.
	var doc struct {
		Paths map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(e.srv.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Paths["/api/v1/events"]["get"]["x-required-scope"]; got != "events:read" {
		t.Errorf("x-required-scope %v", got)
	}
}

func (e *env) callOK(t *testing.T, path string) []byte {
	t.Helper()
	r := e.call(domain.RoleAdmin, "GET", path, nil)
	if r.status != 200 {
		t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	return r.body
}

// A clearance cleared with 20 days left is in its 30-day reminder window at once: its workflow records
// clearance.expiring (on the real server), with the days left and no personal data.
func TestClearanceExpiringEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Rosalind", "Franklin", "1980-07-25")
	ref := e.openCase(person, "new", "SC")
	officer := e.users[domain.RoleVettingOfficer].ID.String()
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer})
	today := time.Now().UTC()
	validTo := today.AddDate(0, 0, 20).Format(time.DateOnly)
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{
		"outcome": "cleared", "level": "SC", "validFrom": today.AddDate(0, 0, -30).Format(time.DateOnly), "validTo": validTo})
	e.eventually(30*time.Second, func() bool { // read in the database: polling the API would meet its rate limit
		recs, err := e.st.EventsAfter(context.Background(), 0, 500)
		return err == nil && slices.ContainsFunc(recs, func(r events.Record) bool { return r.Type == events.ClearanceExpiring })
	}, func() string { return "no clearance.expiring event" })
	var page eventPage
	if err := json.Unmarshal(e.callOK(t, "/api/v1/events?limit=500"), &page); err != nil {
		t.Fatal(err)
	}
	got := slices.DeleteFunc(page.Items, func(ev envelope) bool { return ev.Type != "clearance.expiring.v1" })
	if len(got) == 0 {
		t.Fatal("clearance.expiring is not served")
	}
	ev := got[0]
	if len(got) != 1 || !strings.HasPrefix(ev.Subject, "clearance/") || ev.Data["personId"] != person ||
		ev.Data["level"] != "SC" || ev.Data["validTo"] != validTo || ev.Data["daysLeft"] != float64(20) ||
		ev.Data["clearanceId"] != strings.TrimPrefix(ev.Subject, "clearance/") {
		t.Errorf("clearance.expiring events %+v; want one of the SC clearance, 20 days left", got)
	}
	for _, v := range ev.Data {
		if s, ok := v.(string); ok && (strings.Contains(s, "Rosalind") || strings.Contains(s, "Franklin")) {
			t.Errorf("data %v names the person", ev.Data)
		}
	}
}
