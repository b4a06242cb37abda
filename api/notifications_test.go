package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
)

type notificationView struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	CaseRef    *string    `json:"caseRef"`
	Title      string     `json:"title"`
	Text       string     `json:"text"`
	PersonID   *string    `json:"personId"`
	PersonName string     `json:"personName"`
	ReadAt     *time.Time `json:"readAt"`
}

func (e *env) notifications(role domain.Role) []notificationView {
	e.t.Helper()
	r := e.call(role, "GET", "/api/v1/me/notifications", nil)
	var ns []notificationView
	if r.status != 200 || json.Unmarshal(r.body, &ns) != nil {
		e.t.Fatalf("notifications: %d %s", r.status, r.body)
	}
	return ns
}

// notify gives a user notifications as the workflows do: one about a case, one about a clearance by id.
func (e *env) notify(role domain.Role, caseRef string) {
	e.t.Helper()
	user := e.users[role].ID
	now := time.Now().UTC()
	if err := e.st.Notify(context.Background(), []domain.Notification{
		{ID: caseRef + "/1/" + user.String(), UserID: user, Kind: "sla_reminder", CaseRef: &caseRef,
			Message: "Case " + caseRef + " is due 2030-01-01 (in 5 days)", CreatedAt: now.Add(-time.Minute)},
		{ID: "clearance/x/renewal/" + user.String(), UserID: user, Kind: "renewal_nudge", CaseRef: &caseRef,
			Message: "SC clearance 0b7c0c8e-6f4e-4d43-9d2c-6a1f0f2b7c11 expires on 2030-01-01 (in 30 days): told", CreatedAt: now},
	}); err != nil {
		e.t.Fatal(err)
	}
}

// Notifications read in words: what they are about, the person's name and the case, no record ids; the
// user marks one read, then all; another user's stay unread; a request naming nothing is refused.
func TestNotificationsInWordsMarkedRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Nora", "Tice", "1980-04-04")
	ref := e.openCase(person, "new", "SC")
	e.notify(domain.RoleVettingOfficer, ref)
	e.notify(domain.RoleSecurityController, ref)

	ns := e.notifications(domain.RoleVettingOfficer)
	if len(ns) != 2 {
		t.Fatalf("%d notifications, want 2: %+v", len(ns), ns)
	}
	for _, n := range ns {
		if n.PersonName != "Nora Tice" || n.PersonID == nil || *n.PersonID != person || n.CaseRef == nil || *n.CaseRef != ref ||
			n.ReadAt != nil || strings.Contains(n.Text, "0b7c0c8e") || strings.Contains(n.Title, "_") {
			t.Fatalf("a notification: %+v", n)
		}
	}
	if ns[0].Title != "Clearance expires soon" || ns[0].Text != "SC clearance expires on 2030-01-01 (in 30 days): told" ||
		ns[1].Title != "Case due soon" {
		t.Fatalf("the notifications in words: %+v", ns)
	}

	key := map[string]string{"Idempotency-Key": "mark-one"}
	r := e.callWith(domain.RoleVettingOfficer, "POST", "/api/v1/me/notifications/read", map[string]any{"ids": []string{ns[1].ID}}, key)
	if r.status != 200 || r.json(t)["marked"] != float64(1) {
		t.Fatalf("mark one read: %d %s", r.status, r.body)
	}
	if ns = e.notifications(domain.RoleVettingOfficer); ns[1].ReadAt == nil || ns[0].ReadAt != nil {
		t.Fatalf("after marking one read: %+v", ns)
	}
	// Another user's notification is not the caller's to mark.
	other := e.notifications(domain.RoleSecurityController)
	r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/me/notifications/read", map[string]any{"ids": []string{other[0].ID}})
	if r.status != 200 || r.json(t)["marked"] != float64(0) {
		t.Fatalf("marking another's: %d %s", r.status, r.body)
	}
	r = e.call(domain.RoleVettingOfficer, "POST", "/api/v1/me/notifications/read", map[string]any{"all": true})
	if r.status != 200 || r.json(t)["marked"] != float64(1) {
		t.Fatalf("mark all read: %d %s", r.status, r.body)
	}
	for _, n := range e.notifications(domain.RoleVettingOfficer) {
		if n.ReadAt == nil {
			t.Fatalf("unread after marking all: %+v", n)
		}
	}
	for _, n := range e.notifications(domain.RoleSecurityController) {
		if n.ReadAt != nil {
			t.Fatalf("another user's notification was marked read: %+v", n)
		}
	}
	for body, field := range map[string]string{`{}`: "ids", `{"all": false}`: "ids", `{"ids": "x"}`: "ids"} {
		r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/me/notifications/read", body)
		if r.status != 400 {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		} else if got := problemField(t, r); got != field {
			t.Errorf("%s names %q, want %q", body, got, field)
		}
	}
}
