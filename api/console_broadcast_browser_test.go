package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/sim/twiliosim"
)

// seeNumber waits until the element sel shows exactly n (a counter, a tally).
func (p *page) seeNumber(sel, n string) {
	p.t.Helper()
	p.waitFor(sel+" showing "+n, `(() => { const el = document.querySelector(`+js(sel)+`);
		return !!el && el.checkVisibility() && el.innerText.trim() === `+js(n)+`; })()`)
}

// pickPerson finds a person by name in the new group form and adds them to the persons chosen.
func (p *page) pickPerson(search, name string) {
	p.t.Helper()
	p.fill("#group-person-search", search)
	p.see("#group-person-results", name)
	p.click(`#group-person-results button[aria-label="Add ` + name + `"]`)
	p.see("#group-chosen", name)
	p.see("#group-person-found", "Added "+name)
}

// A security controller makes a group by finding two persons by name (nobody types an id), sends it a
// broadcast through a summary naming the group and how many it texts — Send clicked twice sends one — and
// follows it live: both messages delivered, a reply counted under its keyword and its sender gone from
// "not replied" by name, then closes it. The Twilio simulator received the text once for each of the two
// numbers and for no one else; axe-core finds no serious violation on the broadcasts list or page.
func TestConsoleBroadcastBrowserSendsToAPickedGroup(t *testing.T) {
	p := browse(t)
	var sim providers
	e := newEnv(t, withProviders(&sim))
	person := func(first, last, mobile string) string {
		return e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{
			"firstName": first, "lastName": last, "dateOfBirth": "1985-12-10", "mobile": mobile})["id"].(string)
	}
	person("Ada", "Lovelace", "07400 300001")
	person("Grace", "Hopper", "07400 300002")
	person("Alan", "Turing", "07400 300003") // picked, then removed: never texted

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleSecurityController], "Test security_controller")
	p.goTo("#/broadcasts")
	p.see("#broadcasts-empty", "No broadcasts yet.")
	p.see("#broadcast-new-card", "Make a contact group first")
	p.accessible("the broadcasts list, empty")

	// The group: persons picked by name; only the fields of the kind chosen show.
	p.fill(`#group-form input[name="name"]`, "Night shift")
	p.setValue("#group-kind", "manual")
	p.see("#group-persons")
	if eval[bool](p, `document.querySelector('#group-form select[name="locationId"]').checkVisibility()`) {
		t.Fatalf("the site field shows for a group of persons picked\n%s", p.shows())
	}
	// Nobody chosen: the API's refusal shows beside the persons.
	p.clickButton("Create group")
	p.see("#group-persons-error", "must name 1 to")
	p.pickPerson("Lovelace", "Ada Lovelace")
	p.pickPerson("Turing", "Alan Turing")
	p.click(`#group-chosen button[aria-label="Remove Alan Turing"]`)
	p.waitFor("Alan Turing removed", `!document.querySelector("#group-chosen").innerText.includes("Alan Turing")`)
	// By keyboard: Enter searches at once (it does not submit the group), and Add gives the focus back
	// to the search box for the next name.
	p.pickPerson("hopp\r", "Grace Hopper")
	p.waitFor("the focus back in the search box", `document.activeElement && document.activeElement.id === "group-person-search"`)
	if n := e.count(`SELECT count(*) FROM contact_groups`); n != 0 {
		t.Fatalf("Enter in the search box made %d groups", n)
	}
	p.see("#group-chosen-count", "2 people chosen")
	p.accessible("the new group form, two persons chosen")
	p.clickButton("Create group")
	p.see("#broadcast-groups", "Night shift", "Persons picked by name", "2 people")
	// Its members, by name.
	p.click("#broadcast-groups summary")
	p.see("#broadcast-groups .group-members", "Ada Lovelace", "Grace Hopper")

	// The broadcast: the group just made is chosen, by name with its member count. A keyword that opts
	// out is refused by the API, the reason shown beside the keywords field.
	p.waitFor("the new group chosen", `(() => { const s = document.querySelector("#broadcast-group");
		return !!s && s.selectedOptions[0].text === "Night shift (2 people)"; })()`)
	text := "Drill at Site A tonight. Reply SAFE or HELP."
	p.fill("#broadcast-text", text)
	p.see("#broadcast-text-count", "44 of 612 characters")
	p.fill("#broadcast-keywords", "SAFE, STOP")
	p.clickButton("Review broadcast")
	p.see("#broadcast-confirm", "Send to 2 people in Night shift?")
	p.clickButton("Send")
	p.waitFor("the keywords marked invalid and focused", `(() => { const el = document.querySelector("#broadcast-keywords");
		const msg = el && document.getElementById(el.getAttribute("aria-describedby") || "");
		return el.getAttribute("aria-invalid") === "true" && !!msg && msg.checkVisibility() && msg.innerText.includes("STOP opts the sender out")
			&& document.activeElement === el && !document.querySelector("#broadcast-confirm").checkVisibility(); })()`)
	if n := e.count(`SELECT count(*) FROM broadcasts`); n != 0 {
		t.Fatalf("a refused broadcast made %d broadcasts", n)
	}
	p.fill("#broadcast-keywords", "SAFE, HELP")
	p.clickButton("Review broadcast")
	p.see("#broadcast-confirm", "Send to 2 people in Night shift?", text, "SAFE, HELP")
	p.waitFor("Send focused", `document.activeElement && document.activeElement.id === "broadcast-send"`)
	eval[bool](p, `(() => { const b = document.querySelector("#broadcast-send"); b.click(); b.click(); return true; })()`)
	p.waitFor("the broadcast page", `location.hash.startsWith("#/broadcasts/") && location.hash.length > 13`)
	p.see("#broadcast-title", "Broadcast to Night shift")
	p.see("#broadcast-started", "by Test security_controller (you)")

	// Progress live: both sent and delivered, nobody has replied yet.
	p.seeNumber("#broadcast-count-delivered .n", "2")
	p.seeNumber("#broadcast-count-sent .n", "2")
	p.see("#broadcast-status", "Collecting replies")
	p.see("#broadcast-not-replied", "Ada Lovelace", "Grace Hopper", "Delivered")
	if n := e.count(`SELECT count(*) FROM broadcasts`); n != 1 {
		t.Fatalf("Send clicked twice made %d broadcasts, want 1", n)
	}
	var to []string
	for _, m := range sim.twilio.Messages() {
		if m.Body != text {
			t.Errorf("Twilio received %q for %s, want %q", m.Body, m.To, text)
		}
		to = append(to, m.To)
	}
	slices.Sort(to)
	if want := []string{"+447400300001", "+447400300002"}; !slices.Equal(to, want) {
		t.Fatalf("Twilio received messages for %v, want one each for %v", to, want)
	}
	p.accessible("the broadcast page")

	// Ada replies SAFE (through the signed inbound webhook): counted under SAFE, and only Grace has not replied.
	if _, err := sim.twilio.Reply(context.Background(), twiliosim.Reply{From: "+447400300001", Body: "safe"}); err != nil {
		t.Fatal(err)
	}
	p.seeNumber("#broadcast-reply-SAFE", "1")
	p.seeNumber("#broadcast-reply-HELP", "0")
	p.seeNumber("#broadcast-count-replied .n", "1")
	p.see("table#broadcast-replied", "Ada Lovelace", "SAFE")
	p.waitFor("Ada Lovelace gone from not replied", `(() => { const el = document.querySelector("#broadcast-not-replied");
		return !!el && el.innerText.includes("Grace Hopper") && !el.innerText.includes("Ada Lovelace"); })()`)

	p.clickButton("Close (stop collecting replies)")
	p.see("#broadcast-status", "Closed")
	p.waitFor("Close gone", `document.querySelector("#broadcast-close").hidden`)
	if st := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/broadcasts/"+strings.TrimPrefix(eval[string](p, `location.hash`), "#/broadcasts/"), nil)["status"]; st != domain.BroadcastClosed {
		t.Fatalf("the broadcast is %v after Close, want closed", st)
	}

	p.goTo("#/broadcasts")
	p.see("#broadcasts-list", "Night shift", "Drill at Site A", "Test security_controller (you)", "Closed")
	p.accessible("the broadcasts list")
	if n := len(sim.twilio.Messages()); n != 2 {
		t.Fatalf("Twilio received %d messages in all, want 2", n)
	}
}
