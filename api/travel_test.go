package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// travelEnv is a running SignetAssure with a travel policy that lists CN (SC and above: briefing,
// approval, debrief within 14 days).
type travelEnv struct{ *env }

func newTravelEnv(t *testing.T) travelEnv {
	t.Helper()
	e := travelEnv{newEnv(t)}
	e.must(http.StatusOK, domain.RoleSecurityController, "PUT", "/api/v1/travel/policy", travelPolicyBody())
	return e
}

func travelPolicyBody() map[string]any {
	return map[string]any{
		"countriesOfConcern": []any{map[string]any{"code": "CN", "source": "NPSA country list", "listedOn": "2026-01-15"}},
		"rules": []any{map[string]any{"level": "SC", "concern": true, "briefing": true, "approval": true, "debriefDays": 14},
			map[string]any{"level": "SC", "concern": false, "briefing": false, "approval": false, "debriefDays": 0}},
		"maxTripDays": 60, "reminderDays": []int{14, 3}, "escalationDays": 7,
	}
}

// scPerson creates a person with an active SC clearance.
func (e travelEnv) scPerson(first string) string {
	e.t.Helper()
	person := e.createPerson(first, "Traveller", "1980-01-02")
	today := domain.DateOf(time.Now().UTC())
	if _, err := e.st.RecordClearance(context.Background(), nil, domain.Clearance{PersonID: uuid.MustParse(person),
		Level: domain.LevelSC, ValidFrom: today.AddDays(-30), ValidTo: today.AddYears(5), IssuingAuthority: "Test"}); err != nil {
		e.t.Fatal(err)
	}
	return person
}

func day(n int) string { return domain.DateOf(time.Now().UTC()).AddDays(n).String() }

func tripBody(person string, countries []string, departs, returns int) map[string]any {
	return map[string]any{"personId": person, "countries": countries, "departsOn": day(departs), "returnsOn": day(returns),
		"purpose": "Conference", "companions": "with_others", "devices": []string{"work laptop", "phone"}}
}

func (e travelEnv) trip(id string) map[string]any {
	e.t.Helper()
	return e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/travel/trips/"+id, nil)
}

func timelineActions(trip map[string]any) []string {
	var out []string
	for _, a := range trip["timeline"].([]any) {
		out = append(out, a.(map[string]any)["action"].(string))
	}
	return out
}

// A trip to a country of concern booked 60 days ahead, end to end on the real server: assessed under the
// policy version in force (a later policy does not change it), the briefing asked of the traveller and the
// approval of the security controllers, the briefing recorded by a case worker, the approval given by a
// security controller only; its workflow's TripStatus follows; every step is on its timeline and in the
// lifecycle events; cancelled, its workflow ends.
func TestTravelTripReportedBriefedApprovedCancelled(t *testing.T) {
	e := newTravelEnv(t)
	person := e.scPerson("Ada")
	r := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(person, []string{"cn", "HK"}, 60, 69),
		map[string]string{"Idempotency-Key": "trip-1"})
	if r.status != http.StatusCreated {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	trip := r.json(t)
	id := trip["id"].(string)
	if trip["status"] != "pending" || trip["level"] != "SC" || trip["policyVersion"] != float64(2) || trip["policyApplies"] != true {
		t.Fatalf("the trip was not assessed under policy 2 at SC: %s", r.body)
	}
	if fmt.Sprint(trip["countries"]) != "[CN HK]" || fmt.Sprint(trip["concernCountries"]) != "[CN]" {
		t.Fatalf("countries: %v, of concern %v", trip["countries"], trip["concernCountries"])
	}
	if req := trip["requires"].(map[string]any); req["briefing"] != true || req["approval"] != true || req["debriefDays"] != float64(14) {
		t.Fatalf("requires: %v", req)
	}
	again := e.callWith(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(person, []string{"cn", "HK"}, 60, 69),
		map[string]string{"Idempotency-Key": "trip-1"})
	if again.status != http.StatusCreated || again.json(t)["id"] != id {
		t.Fatalf("the same request again: %d %s", again.status, again.body)
	}
	waitFor(t, 15*time.Second, "the traveller was not sent the briefing request", func() bool {
		return e.count(`SELECT count(*) FROM messages WHERE person_id = $1 AND template = 'travel_briefing'`, person) == 1
	})
	waitFor(t, 15*time.Second, "the security controller was not asked to approve", func() bool {
		return e.count(`SELECT count(*) FROM staff_notifications WHERE user_id = $1 AND kind = 'travel_approval'`,
			e.users[domain.RoleSecurityController].ID) == 1
	})

	// A later policy leaves the trip as it was assessed.
	e.must(http.StatusOK, domain.RoleSecurityController, "PUT", "/api/v1/travel/policy", map[string]any{
		"countriesOfConcern": []any{}, "rules": []any{}, "maxTripDays": 30, "reminderDays": []int{}, "escalationDays": 0})
	if got := e.trip(id); got["policyVersion"] != float64(2) || got["requires"].(map[string]any)["approval"] != true {
		t.Fatalf("a new policy rewrote the trip: %v", got)
	}

	if b := e.must(http.StatusOK, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/briefing", nil); b["status"] != "pending" || b["briefedAt"] == nil {
		t.Fatalf("after the briefing: %v", b)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/decision", map[string]any{"decision": "approved"}); r.status != http.StatusForbidden {
		t.Fatalf("a case worker decided a trip: %d %s", r.status, r.body)
	}
	if r := e.call(domain.RoleSecurityController, "POST", "/api/v1/travel/trips/"+id+"/decision", map[string]any{"decision": "refused"}); r.status != http.StatusBadRequest || problemField(t, r) != "reason" {
		t.Fatalf("a refusal without a reason: %d %s", r.status, r.body)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/debrief", map[string]any{
		"officialContact": false, "approach": false, "incident": false, "deviceLost": false}); r.status != http.StatusConflict {
		t.Fatalf("a debrief before the trip: %d %s", r.status, r.body)
	}
	approved := e.must(http.StatusOK, domain.RoleSecurityController, "POST", "/api/v1/travel/trips/"+id+"/decision",
		map[string]any{"decision": "approved"})
	if approved["status"] != "ready" || approved["decidedBy"] != e.users[domain.RoleSecurityController].ID.String() {
		t.Fatalf("after the approval: %v", approved)
	}
	e.countVisible(fmt.Sprintf("WorkflowId = '%s' AND TripStatus = 'ready'", workflows.TravelWorkflowID(uuid.MustParse(id))), 1)

	cancelled := e.must(http.StatusOK, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/cancel",
		map[string]any{"reason": "the conference moved online"})
	if cancelled["status"] != "cancelled" {
		t.Fatalf("after the cancel: %v", cancelled)
	}
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/briefing", nil); r.status != http.StatusConflict {
		t.Fatalf("an action on a cancelled trip: %d %s", r.status, r.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var st workflows.TripState
	if err := e.tc.GetWorkflow(ctx, workflows.TravelWorkflowID(uuid.MustParse(id)), "").Get(ctx, &st); err != nil || st.Trip.Status != domain.TripCancelled {
		t.Fatalf("the workflow did not end cancelled: %v %v", err, st.Trip.Status)
	}
	want := "[travel.reported travel.briefed travel.decided travel.cancelled]"
	if got := fmt.Sprint(timelineActions(e.trip(id))); got != want {
		t.Fatalf("timeline %s, want %s", got, want)
	}
	if n := e.count(`SELECT count(*) FROM events WHERE subject = $1 AND type LIKE 'travel.%'`, "travel/"+id); n != 4 {
		t.Fatalf("%d travel events, want 4", n)
	}
	if n := e.count(`SELECT count(*) FROM events WHERE subject = $1 AND data::text LIKE '%CN%'`, "travel/"+id); n != 0 {
		t.Fatal("an event names the destinations")
	}
	e.recordWorkflowHistory(workflows.TravelWorkflowID(uuid.MustParse(id)), "reported_briefed_approved_cancelled")
}

// A trip reported as it ends (back yesterday) departs and returns at once, its debrief due; a debrief
// reporting an approach closes it and opens an aftercare case at the traveller's level, the trip naming
// it.
func TestTravelDebriefReportingAnApproachOpensAftercare(t *testing.T) {
	e := newTravelEnv(t)
	person := e.scPerson("Bea")
	trip := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(person, []string{"CN"}, -5, -1))
	id := trip["id"].(string)
	waitFor(t, 15*time.Second, "the trip did not come to its debrief", func() bool { return e.trip(id)["status"] == "debrief_due" })
	waitFor(t, 15*time.Second, "the traveller was not asked for the debrief", func() bool {
		return e.count(`SELECT count(*) FROM messages WHERE person_id = $1 AND template = 'travel_debrief'`, person) == 1
	})
	if r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/debrief", map[string]any{"approach": true}); r.status != http.StatusBadRequest || problemField(t, r) != "officialContact" {
		t.Fatalf("a debrief with questions unanswered: %d %s", r.status, r.body)
	}
	done := e.must(http.StatusOK, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips/"+id+"/debrief", map[string]any{
		"officialContact": false, "approach": true, "incident": false, "deviceLost": false, "details": "asked about my work at dinner"})
	if done["status"] != "closed" {
		t.Fatalf("after the debrief: %v", done)
	}
	ref := workflows.TravelAftercareCaseRef(uuid.MustParse(id))
	waitFor(t, 20*time.Second, "no aftercare case was opened", func() bool {
		return e.count(`SELECT count(*) FROM vetting_cases WHERE case_ref = $1 AND type = 'aftercare' AND requested_level = 'SC' AND person_id = $2`, ref, person) == 1
	})
	waitFor(t, 15*time.Second, "the trip does not name its aftercare case", func() bool { return e.trip(id)["aftercareCaseRef"] == ref })
	want := "[travel.reported travel.departed travel.returned travel.debriefed travel.aftercare]"
	if got := fmt.Sprint(timelineActions(e.trip(id))); got != want {
		t.Fatalf("timeline %s, want %s", got, want)
	}
	e.recordWorkflowHistory(workflows.TravelWorkflowID(uuid.MustParse(id)), "debriefed_aftercare")
}

// A person without a clearance may report a trip: no policy applies, nothing is required (level null,
// policyApplies false), and it is ready at once.
func TestTravelTripOfAPersonWithoutClearanceRequiresNothing(t *testing.T) {
	e := newTravelEnv(t)
	person := e.createPerson("Cal", "Uncleared", "1990-03-04")
	trip := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", tripBody(person, []string{"CN"}, 30, 100))
	req := trip["requires"].(map[string]any)
	if trip["level"] != nil || trip["policyApplies"] != false || trip["status"] != "ready" || trip["tooLong"] != false ||
		req["briefing"] != false || req["approval"] != false || req["debriefDays"] != float64(0) {
		t.Fatalf("a trip without a clearance: %v", trip)
	}
	if fmt.Sprint(trip["concernCountries"]) != "[CN]" {
		t.Fatalf("the destinations of concern are still named: %v", trip["concernCountries"])
	}
}

// Bad reports are refused naming the field, and nothing is written; the same trip reported twice is a
// 409 naming departsOn.
func TestTravelTripBadInputWritesNothing(t *testing.T) {
	e := newTravelEnv(t)
	person := e.scPerson("Dee")
	ok := tripBody(person, []string{"FR"}, 10, 12)
	with := func(k string, v any) map[string]any {
		b := map[string]any{}
		for key, val := range ok {
			b[key] = val
		}
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown country", with("countries", []string{"FR", "XX"}), "countries[1]"},
		{"reserved code", with("countries", []string{"EU"}), "countries[0]"},
		{"no country", with("countries", []string{}), "countries"},
		{"repeated country", with("countries", []string{"FR", "fr"}), "countries[1]"},
		{"dates reversed", with("returnsOn", day(5)), "returnsOn"},
		{"back long ago", with("departsOn", day(-40)), "returnsOn"},
		{"not a date", with("departsOn", "next week"), "departsOn"},
		{"absurd departure", with("departsOn", "2999-01-01"), "departsOn"},
		{"too long", with("returnsOn", day(400)), "returnsOn"},
		{"no companions", with("companions", nil), "companions"},
		{"bad companions", with("companions", "crowd"), "companions"},
		{"no purpose", with("purpose", nil), "purpose"},
		{"unknown person", with("personId", uuid.NewString()), "personId"},
	} {
		if c.name == "back long ago" {
			c.body["returnsOn"] = day(-30)
		}
		r := e.call(domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", c.body)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
			continue
		}
		if f := problemField(t, r); f != c.field {
			t.Errorf("%s: names %s, want %s: %s", c.name, f, c.field, r.body)
		}
	}
	if n := e.count(`SELECT count(*) FROM travel_trips`); n != 0 {
		t.Fatalf("%d trips written by bad requests", n)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'travel.%'`); n != 0 {
		t.Fatalf("%d audit entries written by bad requests", n)
	}
	e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/travel/trips", ok)
	r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/travel/trips", ok)
	if r.status != http.StatusConflict || problemField(t, r) != "departsOn" {
		t.Fatalf("the same trip again: %d %s", r.status, r.body)
	}
	if n := e.count(`SELECT count(*) FROM travel_trips`); n != 1 {
		t.Fatalf("%d trips after a duplicate, want 1", n)
	}
	if r := e.call(domain.RoleAuditor, "GET", "/api/v1/travel/trips", nil); r.status != http.StatusForbidden {
		t.Fatalf("an auditor listed trips: %d", r.status)
	}
	list := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/travel/trips?personId="+person+"&status=ready,pending", nil)
	if list["total"] != float64(1) {
		t.Fatalf("list: %v", list)
	}
	if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/travel/trips?status=gone", nil); r.status != http.StatusBadRequest || problemField(t, r) != "status" {
		t.Fatalf("a bad status filter: %d %s", r.status, r.body)
	}
}

// The policy is checked field by field and kept only when all is well; each change is a version, audited.
func TestTravelPolicyBadInputNamesTheField(t *testing.T) {
	e := newTravelEnv(t)
	base := travelPolicyBody()
	for _, c := range []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"unknown country", func(b map[string]any) {
			b["countriesOfConcern"] = []any{map[string]any{"code": "ZZ", "source": "x", "listedOn": "2026-01-01"}}
		}, "countriesOfConcern[0].code"},
		{"no source", func(b map[string]any) {
			b["countriesOfConcern"] = []any{map[string]any{"code": "RU", "listedOn": "2026-01-01"}}
		}, "countriesOfConcern[0].source"},
		{"listed in the future", func(b map[string]any) {
			b["countriesOfConcern"] = []any{map[string]any{"code": "RU", "source": "x", "listedOn": "2999-01-01"}}
		}, "countriesOfConcern[0].listedOn"},
		{"unknown level", func(b map[string]any) {
			b["rules"] = []any{map[string]any{"level": "TOP", "concern": true, "briefing": true, "approval": true, "debriefDays": 1}}
		}, "rules[0].level"},
		{"rule twice", func(b map[string]any) {
			r := map[string]any{"level": "DV", "concern": true, "briefing": true, "approval": true, "debriefDays": 1}
			b["rules"] = []any{r, r}
		}, "rules[1]"},
		{"debrief far off", func(b map[string]any) {
			b["rules"] = []any{map[string]any{"level": "DV", "concern": true, "briefing": true, "approval": true, "debriefDays": 400}}
		}, "rules[0].debriefDays"},
		{"no max", func(b map[string]any) { delete(b, "maxTripDays") }, "maxTripDays"},
		{"reminder repeated", func(b map[string]any) { b["reminderDays"] = []int{3, 3} }, "reminderDays[1]"},
	} {
		b := travelPolicyBody()
		c.edit(b)
		r := e.call(domain.RoleSecurityController, "PUT", "/api/v1/travel/policy", b)
		if r.status != http.StatusBadRequest || problemField(t, r) != c.field {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if r := e.call(domain.RoleCaseWorker, "PUT", "/api/v1/travel/policy", base); r.status != http.StatusForbidden {
		t.Fatalf("a case worker set the policy: %d", r.status)
	}
	p := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/travel/policy", nil)
	if p["version"] != float64(2) {
		t.Fatalf("bad policies were kept: version %v", p["version"])
	}
	cc := p["countriesOfConcern"].([]any)[0].(map[string]any)
	if cc["code"] != "CN" || cc["source"] != "NPSA country list" || cc["listedOn"] != "2026-01-15" {
		t.Fatalf("country of concern: %v", cc)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'travel_policy.update' AND entity_id = '2'`); n != 1 {
		t.Fatalf("%d audit entries of the policy change", n)
	}
}
