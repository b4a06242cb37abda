package api_test

import (
	"context"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

var tripLinkToken = regexp.MustCompile(`/ui/#/trip-link/(stl_[A-Za-z0-9_-]{43})`)

// linkIn waits for the message of template sent to the person and returns the traveller's link token in it.
func (e travelEnv) linkIn(person, template string) string {
	e.t.Helper()
	var body string
	id := uuid.MustParse(person)
	waitFor(e.t, 15*time.Second, "no "+template+" message with a link", func() bool {
		rows, _, err := e.st.Messages(context.Background(), store.MessageFilter{PersonID: &id, Template: template, Page: store.Page{Limit: 2}})
		if err == nil && len(rows) == 1 {
			body = rows[0].Body
		}
		return tripLinkToken.MatchString(body)
	})
	return tripLinkToken.FindStringSubmatch(body)[1]
}

// The traveller answers through the links they were sent, without a staff account: the briefing link
// shows their trip and records the acknowledgement (no staff actor; the link then used), refuses a second
// use and a debrief; a made-up token is refused and audited. After return, the debrief link takes the
// debrief, each question required.
func TestTravelLinkAcknowledgesAndDebriefs(t *testing.T) {
	e := newTravelEnv(t)
	person := e.scPerson("Eve")
	id := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(person, []string{"CN"}, 30, 35))["id"].(string)
	token := e.linkIn(person, "travel_briefing")

	view := e.must(http.StatusOK, "", "GET", "/api/v1/travel/link/"+token, nil)
	if view["purpose"] != "briefing" || view["status"] != "pending" || view["done"] != false || view["departsOn"] != day(30) {
		t.Fatalf("the briefing link shows %v", view)
	}
	if r := e.call("", "POST", "/api/v1/travel/link/"+token, map[string]any{"acknowledged": false}); r.status != http.StatusBadRequest || problemField(t, r) != "acknowledged" {
		t.Fatalf("an acknowledgement not given: %d %s", r.status, r.body)
	}
	done := e.must(http.StatusOK, "", "POST", "/api/v1/travel/link/"+token, map[string]any{"acknowledged": true})
	if done["done"] != true {
		t.Fatalf("after the acknowledgement: %v", done)
	}
	trip := e.trip(id)
	if trip["briefedAt"] == nil || trip["status"] != "pending" {
		t.Fatalf("the trip after the traveller's acknowledgement: %v", trip)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity_id = $1 AND action = 'travel.briefed' AND actor_id IS NULL`, id); n != 1 {
		t.Fatal("the acknowledgement is not audited as the traveller's")
	}
	if r := e.call("", "POST", "/api/v1/travel/link/"+token, map[string]any{"acknowledged": true}); r.status != http.StatusForbidden {
		t.Fatalf("the link used twice: %d %s", r.status, r.body)
	}
	if r := e.call("", "GET", "/api/v1/travel/link/stl_"+"made-up-token-made-up-token-made-up-token-00", nil); r.status != http.StatusForbidden {
		t.Fatalf("a made-up link: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'travel.link_refused'`); n != 2 {
		t.Fatalf("%d refused links audited, want 2", n)
	}

	// A change voids the briefing links sent for the trip as it was.
	other := e.scPerson("Ida")
	id3 := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(other, []string{"CN"}, 40, 45))["id"].(string)
	stale := e.linkIn(other, "travel_briefing")
	changed := tripBody(other, []string{"CN", "RU"}, 50, 55)
	delete(changed, "personId")
	e.must(http.StatusOK, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id3+"/change", changed)
	if r := e.call("", "GET", "/api/v1/travel/link/"+stale, nil); r.status != http.StatusForbidden {
		t.Fatalf("a briefing link of the trip before its change: %d %s", r.status, r.body)
	}

	back := e.scPerson("Fay")
	id2 := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(back, []string{"CN"}, -3, -1))["id"].(string)
	debrief := e.linkIn(back, "travel_debrief")
	if r := e.call("", "POST", "/api/v1/travel/link/"+debrief, map[string]any{"approach": false}); r.status != http.StatusBadRequest || problemField(t, r) != "officialContact" {
		t.Fatalf("a debrief with questions unanswered: %d %s", r.status, r.body)
	}
	e.must(http.StatusOK, "", "POST", "/api/v1/travel/link/"+debrief, map[string]any{
		"officialContact": true, "approach": false, "incident": false, "deviceLost": false, "details": "met the trade attaché"})
	if got := e.trip(id2); got["status"] != "closed" || got["debrief"].(map[string]any)["officialContact"] != true {
		t.Fatalf("the trip after the traveller's debrief: %v", got)
	}
}
