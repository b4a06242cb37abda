package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/sim/sendgridsim"
	"github.com/signetassure/signetassure/sim/twiliosim"
	"github.com/signetassure/signetassure/workflows"
)

// providers are the Twilio and SendGrid simulators a test's SignetAssure sends through; they call back
// into its API, signed, at a public URL of its own.
type providers struct {
	twilio   *twiliosim.Sim
	sendgrid *sendgridsim.Sim
	public   string
}

// withProviders points the worker's messaging at fresh simulators (through the real SDKs) and the API's
// webhook verification at their keys. The simulators call the API through a front server that stands for
// the public address providers know.
func withProviders(p *providers) envOption {
	return func(e *env) {
		public := e.publicURL()
		p.public = public
		p.twilio = twiliosim.New(twiliosim.Options{AuthToken: "testauthtoken", InboundURL: public + "/api/v1/messaging/twilio/inbound",
			DeliveryDelay: 20 * time.Millisecond, DefaultFrom: "+447400000000"})
		tw := httptest.NewServer(p.twilio.Handler())
		e.t.Cleanup(func() { tw.Close(); p.twilio.Close() })
		priv, pub, err := messaging.NewSendGridWebhookKey()
		if err != nil {
			e.t.Fatal(err)
		}
		p.sendgrid = sendgridsim.New(sendgridsim.Options{APIKey: "SG.test", EventsURL: public + "/api/v1/messaging/sendgrid/events",
			SigningKey: priv, DeliveryDelay: 20 * time.Millisecond})
		sg := httptest.NewServer(p.sendgrid.Handler())
		e.t.Cleanup(func() { sg.Close(); p.sendgrid.Close() })

		twilio := activities.Provider{Name: "twilio", Provider: messaging.NewTwilio(messaging.TwilioConfig{
			AccountSID: twiliosim.DefaultAccountSID, AuthToken: "testauthtoken", From: "+447400000000",
			WhatsAppFrom: "+447400000001", BaseURL: tw.URL, StatusCallback: public + "/api/v1/messaging/twilio/status"}, nil)}
		e.messaging = activities.MessagingSettings{Channels: map[domain.Channel]activities.Provider{
			domain.ChannelSMS: twilio, domain.ChannelWhatsApp: twilio,
			domain.ChannelEmail: {Name: "sendgrid", Provider: messaging.NewSendGrid(messaging.SendGridConfig{APIKey: "SG.test",
				From: "vetting@test.invalid", BaseURL: sg.URL}, nil)},
		}}
		e.hooks = api.MessagingHooks{PublicURL: public, TwilioAuthToken: "testauthtoken", SendGridWebhookKey: pub,
			BroadcastRate: 1000, BroadcastReplyWindow: time.Hour}
	}
}

// messagePerson creates a person reachable on every channel.
func (e *env) messagePerson(mobile, email string) string {
	e.t.Helper()
	return e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{
		"firstName": "Ada", "lastName": "Lovelace", "dateOfBirth": "1985-12-10", "mobile": mobile, "email": email,
	})["id"].(string)
}

// sendMessage asks the API to send a template to a person and returns the message as answered.
func (e *env) sendMessage(person, channel, template string, vars map[string]string) map[string]any {
	e.t.Helper()
	body := map[string]any{"personId": person, "template": template, "vars": vars}
	if channel != "" {
		body["channel"] = channel
	}
	return e.must(http.StatusCreated, domain.RoleVettingOfficer, "POST", "/api/v1/messages", body)
}

// waitMessage waits until the message's status is want (or, for delivered, read: WhatsApp reports both)
// and returns the message with its history.
func (e *env) waitMessage(id string, want domain.MessageStatus) map[string]any {
	e.t.Helper()
	var m map[string]any
	e.eventually(10*time.Second, func() bool {
		m = e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/messages/"+id, nil)
		return m["status"] == string(want) || (want == domain.MessageDelivered && m["status"] == string(domain.MessageRead))
	}, func() string { return fmt.Sprintf("message %s: %v, want %s", id, m["status"], want) })
	return m
}

// eventually polls cond until it holds or the time is up; then it fails with what msg says.
func (e *env) eventually(d time.Duration, cond func() bool, msg func() string) {
	e.t.Helper()
	poll(e.t, d, cond, msg)
}

// poll is how every test here waits for something to happen: it checks cond every 20 ms until it holds,
// or fails the test with msg once d has passed.
func poll(t testing.TB, d time.Duration, cond func() bool, msg func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func clientStart(id, queue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{ID: id, TaskQueue: queue}
}

var reminderVars = map[string]string{"Level": "SC", "ValidTo": "2031-01-31", "DaysLeft": "90"}

// Messages on all three channels go through the real SDKs, are accepted once each, and move to delivered
// on signed receipts; the SMS's cost arrives when costs are read; the history holds every step once.
func TestMessagesOnEveryChannelDelivered(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.messagePerson("07400 123456", "ada@example.org")
	e.must(http.StatusOK, domain.RoleVettingOfficer, "PUT", "/api/v1/persons/"+person+"/consents/whatsapp", map[string]any{
		"status": "opted_in", "method": "written", "evidence": "form WA-1"})

	sms := e.sendMessage(person, "sms", "renewal_nudge", reminderVars)
	wa := e.sendMessage(person, "whatsapp", "renewal_nudge", reminderVars)
	mail := e.sendMessage(person, "email", "renewal_nudge", reminderVars)
	for _, m := range []map[string]any{sms, wa, mail} {
		// Handed over: queued, or further on already if the provider's receipts came first (on a loaded
		// machine a WhatsApp message may even be read before the answer is written).
		if st := m["status"]; (st != "queued" && st != "sent" && st != "delivered" && st != "read") || m["providerId"] == nil {
			t.Errorf("%s message answered %v with provider id %v, want handed over, with an id", m["channel"], st, m["providerId"])
		}
	}
	if !strings.Contains(sms["body"].(string), "expires on 2031-01-31 (90 days)") || sms["recipient"] != "+447400123456" {
		t.Errorf("SMS body %q to %v: want the template filled in, to the person's E.164 mobile", sms["body"], sms["recipient"])
	}
	if mail["subject"] != "Your SC clearance expires on 2031-01-31" || mail["recipient"] != "ada@example.org" {
		t.Errorf("e-mail %q to %v", mail["subject"], mail["recipient"])
	}
	gotSMS := e.waitMessage(sms["id"].(string), domain.MessageDelivered)
	e.waitMessage(wa["id"].(string), domain.MessageDelivered)
	e.waitMessage(mail["id"].(string), domain.MessageDelivered)

	// Each hand-over happened once at the provider.
	if st := p.twilio.Stats(); st.Accepted != 2 || st.Duplicates != 0 {
		t.Errorf("Twilio accepted %d messages (%d duplicates), want 2 and none", st.Accepted, st.Duplicates)
	}
	if n := len(p.sendgrid.Messages()); n != 1 {
		t.Errorf("SendGrid holds %d e-mails, want 1", n)
	}
	// The history: created, accepted, and the receipts, each once.
	seen := map[string]int{}
	for _, ev := range gotSMS["events"].([]any) {
		seen[ev.(map[string]any)["eventId"].(string)]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("event %s appears %d times", id, n)
		}
	}
	if len(seen) < 4 {
		t.Errorf("SMS history %v: want created, accepted, sent and delivered", seen)
	}

	// Costs: Twilio states the price once the message went; the cost workflow reads it.
	run, err := e.tc.ExecuteWorkflow(context.Background(), clientStart("costs-"+person, e.queue), workflows.MessageCosts)
	if err != nil {
		t.Fatal(err)
	}
	var priced int
	if err := run.Get(context.Background(), &priced); err != nil || priced != 2 {
		t.Errorf("cost workflow priced %d messages (%v), want the 2 Twilio messages", priced, err)
	}
	got := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/messages/"+sms["id"].(string), nil)
	if got["price"] != "-0.04000" || got["priceUnit"] != "GBP" {
		t.Errorf("SMS cost %v %v, want -0.04000 GBP", got["price"], got["priceUnit"])
	}
	if got["personName"] != "Ada Lovelace" {
		t.Errorf("the message names its person %v, want Ada Lovelace", got["personName"])
	}

	// The outbox is searchable by person, channel, status and template.
	list := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/messages?personId="+person+"&channel=sms&status=delivered&template=renewal_nudge", nil)
	if list["total"].(float64) != 1 || list["items"].([]any)[0].(map[string]any)["personName"] != "Ada Lovelace" {
		t.Errorf("outbox search found %v, want the 1 SMS to Ada Lovelace: %v", list["total"], list["items"])
	}
	e.recordAll("every_channel")
}

// STOP is honoured: the reply opts the number out, and the next SMS is recorded suppressed and never
// reaches Twilio. START opts back in.
func TestStopHonoured(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.messagePerson("07400 123457", "")
	first := e.sendMessage(person, "sms", "renewal_nudge", reminderVars)
	e.waitMessage(first["id"].(string), domain.MessageDelivered)

	if _, err := p.twilio.Reply(context.Background(), twiliosim.Reply{From: "+447400123457", Body: "Stop"}); err != nil {
		t.Fatal(err)
	}
	e.eventually(5*time.Second, func() bool {
		return testenv.Count(t, e.database, `SELECT count(*) FROM messaging_consent WHERE channel = 'sms'
			AND address = '+447400123457' AND status = 'opted_out'`) == 1
	}, func() string { return "the STOP reply did not opt the number out" })
	inbox := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/inbox?personId="+person, nil)
	if inbox["total"].(float64) != 1 || inbox["items"].([]any)[0].(map[string]any)["keyword"] != "opt_out" {
		t.Errorf("inbox: %v, want the STOP reply read as an opt-out", inbox["items"])
	}

	second := e.sendMessage(person, "sms", "renewal_nudge", reminderVars)
	if second["status"] != "suppressed" || second["statusReason"] != "opted_out" {
		t.Errorf("SMS after STOP: %v (%v), want suppressed, opted_out", second["status"], second["statusReason"])
	}
	if st := p.twilio.Stats(); st.Accepted != 1 {
		t.Errorf("Twilio accepted %d messages, want only the one before STOP", st.Accepted)
	}

	if _, err := p.twilio.Reply(context.Background(), twiliosim.Reply{From: "+447400123457", Body: "START"}); err != nil {
		t.Fatal(err)
	}
	e.eventually(5*time.Second, func() bool {
		return testenv.Count(t, e.database, `SELECT count(*) FROM messaging_consent WHERE channel = 'sms'
			AND address = '+447400123457' AND status = 'opted_in'`) == 1
	}, func() string { return "START did not opt the number back in" })
	third := e.sendMessage(person, "sms", "renewal_nudge", reminderVars)
	e.waitMessage(third["id"].(string), domain.MessageDelivered)
	if st := p.twilio.Stats(); st.Accepted != 2 {
		t.Errorf("Twilio accepted %d messages, want 2 (before STOP, after START)", st.Accepted)
	}
}

// A number that opted out at Twilio only (we never heard the STOP) is refused with 21610: the message is
// recorded suppressed and the number opted out here too.
func TestTwilio21610OptsOut(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.messagePerson("07400 123458", "")
	// The STOP reaches Twilio; what we heard of it is then forgotten, as if its webhook had been lost.
	if _, err := p.twilio.Reply(context.Background(), twiliosim.Reply{From: "+447400123458", Body: "STOP"}); err != nil {
		t.Fatal(err)
	}
	if !p.twilio.OptedOut("+447400123458") {
		t.Fatal("the simulator did not record the STOP")
	}
	testenv.Exec(t, e.database, `DELETE FROM messaging_consent`)
	testenv.Exec(t, e.database, `DELETE FROM inbound_messages`)

	m := e.sendMessage(person, "sms", "renewal_nudge", reminderVars)
	if m["status"] != "suppressed" || m["errorCode"] != float64(21610) {
		t.Errorf("send to a number opted out at Twilio: %v, code %v; want suppressed with 21610", m["status"], m["errorCode"])
	}
	if n := testenv.Count(t, e.database, `SELECT count(*) FROM messaging_consent WHERE address = '+447400123458'
		AND status = 'opted_out' AND method = 'provider_21610'`); n != 1 {
		t.Errorf("the number is not opted out after 21610")
	}
}

// WhatsApp needs recorded consent: without it the message is suppressed and never reaches Twilio.
func TestWhatsAppWithoutConsentSuppressed(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.messagePerson("07400 123459", "")
	m := e.sendMessage(person, "whatsapp", "renewal_nudge", reminderVars)
	if m["status"] != "suppressed" || m["statusReason"] != "no_whatsapp_consent" {
		t.Errorf("WhatsApp without consent: %v (%v), want suppressed, no_whatsapp_consent", m["status"], m["statusReason"])
	}
	if st := p.twilio.Stats(); st.Accepted != 0 {
		t.Errorf("Twilio accepted %d messages, want none", st.Accepted)
	}
}

// An e-mail unsubscribe (a signed SendGrid event) opts the address out: the next e-mail is suppressed.
func TestEmailUnsubscribeHonoured(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	person := e.messagePerson("", "grace@example.org")
	first := e.sendMessage(person, "email", "renewal_nudge", reminderVars)
	e.waitMessage(first["id"].(string), domain.MessageDelivered)
	if ok, err := p.sendgrid.Unsubscribe("grace@example.org", "unsubscribe"); !ok || err != nil {
		t.Fatalf("unsubscribe: %v %v", ok, err)
	}
	e.eventually(5*time.Second, func() bool {
		return testenv.Count(t, e.database, `SELECT count(*) FROM messaging_consent WHERE channel = 'email'
			AND address = 'grace@example.org' AND status = 'opted_out'`) == 1
	}, func() string { return "the unsubscribe event did not opt the address out" })
	second := e.sendMessage(person, "email", "renewal_nudge", reminderVars)
	if second["status"] != "suppressed" {
		t.Errorf("e-mail after unsubscribe: %v, want suppressed", second["status"])
	}
	if n := len(p.sendgrid.Messages()); n != 1 {
		t.Errorf("SendGrid holds %d e-mails, want 1", n)
	}
}

// A broadcast reaches every member with a UK mobile once (a shared number once), shows its progress,
// tallies the replies by keyword live and lists who has not replied.
func TestBroadcastRepliesTallied(t *testing.T) {
	t.Parallel()
	var p providers
	e := newEnv(t, withProviders(&p))
	mobiles := []string{"07400 200001", "07400 200002", "07400 200003", "07400 200004", "", "07400 200001"}
	var members []string
	for _, m := range mobiles {
		members = append(members, e.messagePerson(m, ""))
	}
	group := e.must(http.StatusCreated, domain.RoleSecurityController, "POST", "/api/v1/groups", map[string]any{
		"name": "Night shift", "kind": "manual", "memberIds": members})["id"].(string)
	b := e.must(http.StatusAccepted, domain.RoleSecurityController, "POST", "/api/v1/broadcasts", map[string]any{
		"groupId": group, "text": "Site A evacuation drill. Reply SAFE or HELP.", "keywords": []string{"SAFE", "HELP"}})
	id := b["id"].(string)

	var prog map[string]any
	e.eventually(15*time.Second, func() bool {
		prog = e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/broadcasts/"+id, nil)["progress"].(map[string]any)
		return prog["delivered"] == float64(4)
	}, func() string { return fmt.Sprintf("broadcast progress %v, want 4 delivered", prog) })
	if prog["recipients"] != float64(6) || prog["skipped"] != float64(2) || prog["sent"] != float64(4) {
		t.Errorf("progress %v: want 6 recipients, 2 skipped (no mobile, shared number), 4 sent", prog)
	}
	if st := p.twilio.Stats(); st.Accepted != 4 || st.Duplicates != 0 {
		t.Errorf("Twilio accepted %d (%d duplicates), want 4 and none", st.Accepted, st.Duplicates)
	}

	for _, r := range []twiliosim.Reply{{From: "+447400200001", Body: "safe"}, {From: "+447400200002", Body: "HELP"},
		{From: "+447400200003", Body: "Safe, at muster point"}} {
		if _, err := p.twilio.Reply(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	e.eventually(5*time.Second, func() bool {
		prog = e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/broadcasts/"+id, nil)["progress"].(map[string]any)
		return prog["replied"] == float64(3)
	}, func() string { return fmt.Sprintf("progress %v, want 3 replied", prog) })
	replies := prog["replies"].(map[string]any)
	if replies["SAFE"] != float64(2) || replies["HELP"] != float64(1) {
		t.Errorf("replies %v, want SAFE 2, HELP 1", replies)
	}
	waiting := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/broadcasts/"+id+"/recipients?replied=false", nil)
	items := waiting["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["recipient"] != "+447400200004" {
		t.Errorf("not replied: %v, want only +447400200004", items)
	}

	e.must(http.StatusOK, domain.RoleSecurityController, "POST", "/api/v1/broadcasts/"+id+"/close", nil)
	got := e.must(http.StatusOK, domain.RoleCaseWorker, "GET", "/api/v1/broadcasts/"+id, nil)
	if got["status"] != domain.BroadcastClosed {
		t.Errorf("broadcast %v after close, want closed", got["status"])
	}
	if got["groupName"] != "Night shift" || got["createdByName"] != "Test security_controller" {
		t.Errorf("broadcast names its group %v and sender %v, want Night shift and Test security_controller", got["groupName"], got["createdByName"])
	}
	// A reply after closing is kept in the inbox but not tallied.
	if _, err := p.twilio.Reply(context.Background(), twiliosim.Reply{From: "+447400200004", Body: "SAFE"}); err != nil {
		t.Fatal(err)
	}
	e.eventually(5*time.Second, func() bool {
		return testenv.Count(t, e.database, `SELECT count(*) FROM inbound_messages WHERE sender = '+447400200004'`) == 1
	}, func() string { return "the late reply is not in the inbox" })
	if n := testenv.Count(t, e.database, `SELECT count(*) FROM broadcast_recipients WHERE replied_at IS NOT NULL`); n != 3 {
		t.Errorf("%d replies tallied after closing, want 3", n)
	}
	e.recordAll("replies_tallied")
}
