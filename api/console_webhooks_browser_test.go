package api_test

import (
	"strings"
	"testing"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/splunkhec/hectest"
)

// An administrator subscribes a receiver on the Webhooks screen (its signing secret shown until the next
// action), sends it a test event the receiver verifies, sees it in the delivery log, pauses and resumes
// the subscription, rotates its secret and deletes it. axe-core finds no serious or critical violation on either screen.
func TestConsoleInBrowserWebhooks(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	r := newReceiver(t)

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleAdmin], "Test admin")
	p.click("#nav-webhooks")
	p.see("h1", "Webhooks")
	p.see("main", "No subscriptions yet.")
	p.accessible("webhooks")
	p.fill(`input[name="url"]`, r.srv.URL+"/hooks")
	p.fill(`input[name="description"]`, "Security SIEM")
	p.fill(`input[name="eventTypes"]`, "person.created case.opened")
	p.clickButton("Subscribe")
	p.see("h1", "Security SIEM")
	p.see("#webhook-secret")
	secret := p.text("#webhook-secret")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret shown is %q, want whsec_…", secret)
	}
	r.setSecret(secret)
	p.see("main", "person.created case.opened", "active")
	p.accessible("a webhook")

	p.clickButton("Send a test event")
	p.see("#webhook-ping", "The receiver answered 200")
	if got := r.wait(1); !got[0].Verified || got[0].EventType != "webhook.ping" {
		t.Fatalf("the receiver got %+v", got[0])
	}
	p.see("#webhook-attempts", "webhook.ping", "200")
	if strings.Contains(p.text("main"), secret) {
		t.Fatal("the secret is shown again")
	}

	p.clickButton("Pause")
	p.see("main p", "paused")
	p.clickButton("Resume")
	p.see("main p", "active")
	p.clickButton("Rotate the secret")
	p.see("#webhook-secret")
	if fresh := p.text("#webhook-secret"); fresh == secret || !strings.HasPrefix(fresh, "whsec_") {
		t.Fatalf("the rotated secret is %q", fresh)
	}
	p.see("main", "secret version 2", "the previous one signs too until")

	p.clickButton("Delete Security SIEM")
	p.see("h1", "Webhooks")
	p.see("main", "No subscriptions yet.")
	if n := e.count(`SELECT count(*) FROM webhook_subscriptions`); n != 0 {
		t.Fatalf("%d subscriptions left on the server", n)
	}
}

// An administrator subscribes a Splunk HTTP Event Collector: the token field shows only once the Splunk
// HEC format is chosen; the subscription's page says its format and token version, never the token; a
// test event reaches the collector with the token; rotating the secret with a token replaces it.
func TestConsoleInBrowserWebhooksSplunkHEC(t *testing.T) {
	p := browse(t)
	e := newEnv(t)
	hec := hectest.New(t, hecToken)
	tokenShown := func() bool { return !eval[bool](p, `document.querySelector("#splunk-token").hidden`) }

	p.open(e.url)
	p.signInWithToken(e.tokens[domain.RoleAdmin], "Test admin")
	p.click("#nav-webhooks")
	p.see("h1", "Webhooks")
	if tokenShown() {
		t.Fatal("the token field is shown for CloudEvents")
	}
	p.fill(`input[name="url"]`, hec.URL)
	p.fill(`input[name="description"]`, "Splunk SIEM")
	p.chooseByText(`select[name="format"]`, "Splunk HTTP Event Collector")
	if !tokenShown() {
		t.Fatal("the token field is not shown for Splunk HEC")
	}
	p.accessible("webhooks with the token field")
	p.fill(`input[name="splunkToken"]`, hecToken)
	p.clickButton("Subscribe")
	p.see("h1", "Splunk SIEM")
	p.see("#webhook-format", "Splunk HTTP Event Collector", "HEC token version 1")
	p.see("main", hec.URL+"/services/collector/event")
	p.accessible("a Splunk HEC webhook")

	p.clickButton("Send a test event")
	p.see("#webhook-ping", "The receiver answered 200")
	if got := hec.Wait(1)[0]; !got.Authorized || !strings.Contains(string(got.Event.Event), `"type":"webhook.ping"`) {
		t.Fatalf("the collector got %+v", got)
	}
	p.fill(`input[name="splunkToken"]`, hecToken)
	p.clickButton("Rotate the secret")
	p.see("#webhook-secret")
	p.see("#webhook-format", "HEC token version 2")
	if strings.Contains(p.text("main"), hecToken) || p.value(`input[name="splunkToken"]`) != "" {
		t.Fatal("the token is shown")
	}
}
