package api_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
)

// The public address providers are told to call, and the Twilio auth token the webhooks are signed with.
const (
	hookPublicURL = "https://sa.example.org"
	hookToken     = "twilio-test-auth-token"
)

// hookEnv is an env whose API verifies provider webhooks (no provider sends: messages are suppressed
// with no_provider), with the SendGrid signing key the test signs events with.
type hookEnv struct {
	*env
	sgKey *ecdsa.PrivateKey
}

// withWebhookSecrets sets what the API verifies webhooks with and paces broadcasts by.
func withWebhookSecrets(h api.MessagingHooks) envOption { return func(e *env) { e.hooks = h } }

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	priv, pub, err := messaging.NewSendGridWebhookKey()
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withWebhookSecrets(api.MessagingHooks{PublicURL: hookPublicURL, TwilioAuthToken: hookToken,
		SendGridWebhookKey: pub, BroadcastRate: 5, BroadcastReplyWindow: time.Hour}))
	return &hookEnv{env: e, sgKey: priv}
}

// twilio posts a Twilio webhook form to path (with its query); signature "" sends none.
func (e *hookEnv) twilio(path string, form url.Values, signature string) resp {
	e.t.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if signature != "" {
		h[messaging.TwilioSignatureHeader] = signature
	}
	return e.callWith("", "POST", path, form.Encode(), h)
}

// signedTwilio posts a webhook signed as Twilio signs it, for the public URL of path.
func (e *hookEnv) signedTwilio(path string, form url.Values) resp {
	e.t.Helper()
	return e.twilio(path, form, messaging.SignTwilio(hookToken, hookPublicURL+path, form))
}

// sendGrid posts SendGrid events; sign false sends no signature.
func (e *hookEnv) sendGrid(events []map[string]any, sign bool, tamper func(sig, ts string) (string, string)) resp {
	e.t.Helper()
	body, err := json.Marshal(events)
	if err != nil {
		e.t.Fatal(err)
	}
	h := map[string]string{}
	if sign {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sig, err := messaging.SignSendGrid(e.sgKey, body, ts)
		if err != nil {
			e.t.Fatal(err)
		}
		if tamper != nil {
			sig, ts = tamper(sig, ts)
		}
		h[messaging.SendGridSignatureHeader], h[messaging.SendGridTimestampHeader] = sig, ts
	}
	return e.callWith("", "POST", "/api/v1/messaging/sendgrid/events", body, h)
}

// accepted records a message handed to a provider, as the send activity would.
func (e *hookEnv) accepted(id string, ch domain.Channel, person, recipient, provider, providerID string) {
	e.t.Helper()
	pid := uuid.MustParse(person)
	now := time.Now().UTC()
	if _, _, err := e.st.CreateMessage(context.Background(), domain.Message{ID: id, Channel: ch, Template: "broadcast",
		TemplateVersion: 1, PersonID: &pid, Recipient: recipient, Body: "Test message", Status: domain.MessagePending,
		StatusAt: now}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.st.MessageAccepted(context.Background(), id, provider, messaging.Receipt{ProviderID: providerID,
		Status: domain.MessageQueued}, now); err != nil {
		e.t.Fatal(err)
	}
}

func (e *hookEnv) message(id string) map[string]any {
	e.t.Helper()
	return e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/messages/"+id, nil)
}

// eventIDs are the ids in a message's history, in order.
func eventIDs(m map[string]any) []string {
	var out []string
	for _, ev := range m["events"].([]any) {
		out = append(out, ev.(map[string]any)["eventId"].(string))
	}
	return out
}

func wantStatus(t *testing.T, r resp, status int, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
}

// wantField checks r is a problem+json with status naming field first.
func wantField(t *testing.T, r resp, status int, field, what string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if got := problemField(t, r); got != field {
		t.Fatalf("%s: names %q, want %q: %s", what, got, field, r.body)
	}
}

func wantProblem(t *testing.T, r resp, status int, what string) {
	t.Helper()
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%s: %d %s %s, want %d problem+json", what, r.status, r.header.Get("Content-Type"), r.body, status)
	}
}

// Twilio's status callbacks: only a signature over our public URL moves a message; repeats change nothing,
// a receipt arriving late never moves a message back, and every event is in the history once.
func TestMessagingTwilioStatusCallbacks(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	person := e.createPerson("Stat", "Us", "1980-01-01")
	e.accepted("m_hookstatus1", domain.ChannelSMS, person, "+447400123456", "twilio", "SMhook1")
	path := "/api/v1/messaging/twilio/status?m=m_hookstatus1"
	form := func(status string) url.Values {
		return url.Values{"MessageSid": {"SMhook1"}, "MessageStatus": {status}, "To": {"+447400123456"},
			"AccountSid": {"ACtest"}}
	}
	events := func() int {
		return e.count(`SELECT count(*) FROM message_events WHERE message_id = 'm_hookstatus1'`)
	}
	before := events()

	// Refused, and nothing changes: no signature, another token's, one over another URL, one over other fields.
	wantProblem(t, e.twilio(path, form("delivered"), ""), http.StatusForbidden, "unsigned")
	wantProblem(t, e.twilio(path, form("delivered"), messaging.SignTwilio("other-token", hookPublicURL+path, form("delivered"))),
		http.StatusForbidden, "signed with another token")
	wantProblem(t, e.twilio(path, form("delivered"), messaging.SignTwilio(hookToken, "http://127.0.0.1:8080"+path, form("delivered"))),
		http.StatusForbidden, "signed for the address the request arrived at")
	wantProblem(t, e.twilio(path, form("delivered"), messaging.SignTwilio(hookToken, hookPublicURL+path, form("sent"))),
		http.StatusForbidden, "signature over other fields")
	if m := e.message("m_hookstatus1"); m["status"] != "queued" || events() != before {
		t.Fatalf("after refused callbacks: %v with %d events, want queued with %d", m["status"], events(), before)
	}

	wantStatus(t, e.signedTwilio(path, form("sent")), http.StatusNoContent, "sent")
	if m := e.message("m_hookstatus1"); m["status"] != "sent" {
		t.Fatalf("after sent: %v", m["status"])
	}
	wantStatus(t, e.signedTwilio(path, form("delivered")), http.StatusNoContent, "delivered")
	n := events()
	wantStatus(t, e.signedTwilio(path, form("delivered")), http.StatusNoContent, "delivered again")
	wantStatus(t, e.signedTwilio(path, form("sent")), http.StatusNoContent, "sent again")
	m := e.message("m_hookstatus1")
	if m["status"] != "delivered" || events() != n {
		t.Fatalf("after repeats: %v with %d events, want delivered with %d", m["status"], events(), n)
	}
	if got, want := strings.Join(eventIDs(m), " "), "created accepted SMhook1:sent SMhook1:delivered"; got != want {
		t.Errorf("history %q, want %q", got, want)
	}

	// Out of order: delivered first, then the sent that was sent before it.
	e.accepted("m_hookstatus2", domain.ChannelSMS, person, "+447400123456", "twilio", "SMhook2")
	path2 := "/api/v1/messaging/twilio/status?m=m_hookstatus2"
	form2 := func(status string) url.Values {
		return url.Values{"MessageSid": {"SMhook2"}, "MessageStatus": {status}, "To": {"+447400123456"}}
	}
	wantStatus(t, e.signedTwilio(path2, form2("delivered")), http.StatusNoContent, "delivered first")
	wantStatus(t, e.signedTwilio(path2, form2("sent")), http.StatusNoContent, "sent late")
	m = e.message("m_hookstatus2")
	if m["status"] != "delivered" {
		t.Errorf("a late sent moved the message to %v, want delivered", m["status"])
	}
	seen := map[string]int{}
	for _, id := range eventIDs(m) {
		seen[id]++
	}
	for _, id := range []string{"created", "accepted", "SMhook2:delivered", "SMhook2:sent"} {
		if seen[id] != 1 {
			t.Errorf("history %v: %s appears %d times, want once", eventIDs(m), id, seen[id])
		}
	}

	// A callback for a message we do not know is answered (Twilio would retry otherwise) and dropped.
	all := e.count(`SELECT count(*) FROM message_events`)
	unknown := "/api/v1/messaging/twilio/status?m=m_nosuchmessage"
	wantStatus(t, e.signedTwilio(unknown, url.Values{"MessageSid": {"SMnone"}, "MessageStatus": {"delivered"}}),
		http.StatusNoContent, "unknown message")
	if e.count(`SELECT count(*) FROM message_events`) != all {
		t.Error("a callback for an unknown message changed the history")
	}
	// Signed but malformed: 400, nothing changes.
	r := e.signedTwilio(path, url.Values{"MessageStatus": {"failed"}})
	wantField(t, r, http.StatusBadRequest, "body", "callback without MessageSid")
	if e.message("m_hookstatus1")["status"] != "delivered" {
		t.Error("a malformed callback changed the message")
	}
}

// An inbound STOP opts the number out (the consents show it), START opts it back in; only signed
// messages count, and a repeated webhook is one message.
func TestMessagingTwilioInboundOptOut(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	person := e.createPerson("Opt", "Out", "1980-01-01")
	path := "/api/v1/messaging/twilio/inbound"
	inbound := func(sid, from, body string) url.Values {
		return url.Values{"MessageSid": {sid}, "From": {from}, "To": {"+447400000000"}, "Body": {body}, "NumMedia": {"0"}}
	}
	consents := func() map[string]string {
		var cs []map[string]any
		if err := json.Unmarshal(e.callWith(domain.RoleAuditor, "GET", "/api/v1/persons/"+person+"/consents", nil, nil).body, &cs); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range cs {
			out[c["channel"].(string)] = c["status"].(string) + "/" + c["method"].(string)
		}
		return out
	}

	wantProblem(t, e.twilio(path, inbound("SMin1", "+447400123456", "STOP"), ""), http.StatusForbidden, "unsigned inbound")
	wantProblem(t, e.twilio(path, inbound("SMin1", "+447400123456", "STOP"),
		messaging.SignTwilio(hookToken, hookPublicURL+path, inbound("SMin1", "+447400123456", "HELLO"))), http.StatusForbidden, "tampered inbound")
	if n := e.count(`SELECT count(*) FROM inbound_messages`) + e.count(`SELECT count(*) FROM messaging_consent`); n != 0 {
		t.Fatalf("refused inbound messages left %d rows", n)
	}

	r := e.signedTwilio(path, inbound("SMin1", "+447400123456", "Stop."))
	wantStatus(t, r, http.StatusOK, "STOP")
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") || !strings.Contains(string(r.body), "<Response/>") {
		t.Errorf("inbound answered %s %q, want empty TwiML", ct, r.body)
	}
	if got := consents(); got["sms"] != "opted_out/keyword" {
		t.Fatalf("consents after STOP: %v, want sms opted_out by keyword", got)
	}
	wantStatus(t, e.signedTwilio(path, inbound("SMin1", "+447400123456", "Stop.")), http.StatusOK, "STOP repeated")
	if n := e.count(`SELECT count(*) FROM inbound_messages`); n != 1 {
		t.Errorf("a repeated webhook made %d inbound messages, want 1", n)
	}

	wantStatus(t, e.signedTwilio(path, inbound("SMin2", "+447400123456", "start")), http.StatusOK, "START")
	if got := consents(); got["sms"] != "opted_in/keyword" {
		t.Fatalf("consents after START: %v, want sms opted_in", got)
	}
	// WhatsApp is its own channel.
	wantStatus(t, e.signedTwilio(path, inbound("SMin3", "whatsapp:+447400123456", "STOP")), http.StatusOK, "WhatsApp STOP")
	if got := consents(); got["whatsapp"] != "opted_out/keyword" || got["sms"] != "opted_in/keyword" {
		t.Fatalf("consents after a WhatsApp STOP: %v", got)
	}

	inbox := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/inbox?personId="+person+"&channel=sms", nil)
	if inbox["total"] != float64(2) {
		t.Errorf("SMS inbox total %v, want 2", inbox["total"])
	}
	for _, it := range inbox["items"].([]any) {
		if name := it.(map[string]any)["personName"]; name != "Opt Out" {
			t.Errorf("an inbox message names its sender %v, want Opt Out", name)
		}
	}
	if kw := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/inbox?keyword=opt_out", nil); kw["total"] != float64(2) {
		t.Errorf("opt-outs in the inbox: %v, want 2", kw["total"])
	}
	for q, field := range map[string]string{"channel=email": "channel", "personId=x": "personId", "keyword=a+b": "keyword",
		"from=yesterday": "from", "from=2026-05-02&to=2026-05-01": "to", "limit=0": "limit"} {
		wantField(t, e.call(domain.RoleAuditor, "GET", "/api/v1/inbox?"+q, nil), http.StatusBadRequest, field, "inbox ?"+q)
	}
}

// SendGrid's events: a signature over the raw body and timestamp is required; signed events move their
// messages, and events for messages we do not know are skipped.
func TestMessagingSendGridEvents(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	person := e.createPerson("Mail", "Box", "1980-01-01")
	e.accepted("m_hookmail1", domain.ChannelEmail, person, "mail@example.org", "sendgrid", "sgmsg1")
	now := time.Now().Unix()
	events := []map[string]any{
		{"email": "mail@example.org", "timestamp": now, "event": "processed", "sg_event_id": "ev-p1",
			"sg_message_id": "sgmsg1.filter0001", "sa_message_id": "m_hookmail1"},
		{"email": "mail@example.org", "timestamp": now, "event": "delivered", "sg_event_id": "ev-d1",
			"sg_message_id": "sgmsg1.filter0001", "sa_message_id": "m_hookmail1"},
		{"email": "other@example.org", "timestamp": now, "event": "delivered", "sg_event_id": "ev-x1",
			"sg_message_id": "sgunknown.filter0001", "sa_message_id": "m_nosuchmail"},
	}
	count := func() int { return e.count(`SELECT count(*) FROM message_events`) }
	before := count()

	wantProblem(t, e.sendGrid(events, false, nil), http.StatusForbidden, "unsigned events")
	wantProblem(t, e.sendGrid(events, true, func(sig, ts string) (string, string) {
		n, _ := strconv.ParseInt(ts, 10, 64)
		return sig, strconv.FormatInt(n+1, 10)
	}), http.StatusForbidden, "signature for another timestamp")
	wantProblem(t, e.sendGrid(events, true, func(sig, ts string) (string, string) {
		other, _ := messaging.SignSendGrid(e.sgKey, []byte("[]"), ts)
		return other, ts
	}), http.StatusForbidden, "signature over another body")
	if m := e.message("m_hookmail1"); m["status"] != "queued" || count() != before {
		t.Fatalf("after refused events: %v with %d events, want queued with %d", m["status"], count(), before)
	}

	wantStatus(t, e.sendGrid(events, true, nil), http.StatusNoContent, "signed events")
	m := e.message("m_hookmail1")
	if m["status"] != "delivered" || count() != before+2 {
		t.Fatalf("after signed events: %v with %d events, want delivered with %d", m["status"], count(), before+2)
	}
	wantStatus(t, e.sendGrid(events, true, nil), http.StatusNoContent, "the same events again")
	if count() != before+2 {
		t.Errorf("repeated events added history: %d, want %d", count(), before+2)
	}
	// Signed but not events: 400, nothing changes.
	r := e.callWith("", "POST", "/api/v1/messaging/sendgrid/events", `{"not":"a list"}`, func() map[string]string {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		sig, _ := messaging.SignSendGrid(e.sgKey, []byte(`{"not":"a list"}`), ts)
		return map[string]string{messaging.SendGridSignatureHeader: sig, messaging.SendGridTimestampHeader: ts}
	}())
	wantField(t, r, http.StatusBadRequest, "body", "signed non-events")
}

// Without a token or key configured, the webhooks are not there.
func TestMessagingWebhooksOffWithoutSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	form := url.Values{"MessageSid": {"SM1"}, "MessageStatus": {"delivered"}}
	for _, path := range []string{"/api/v1/messaging/twilio/status?m=x", "/api/v1/messaging/twilio/inbound"} {
		r := e.callWith("", "POST", path, form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded",
			messaging.TwilioSignatureHeader: messaging.SignTwilio("", "http://x"+path, form)})
		wantProblem(t, r, http.StatusNotFound, path)
	}
	wantProblem(t, e.callWith("", "POST", "/api/v1/messaging/sendgrid/events", "[]", nil), http.StatusNotFound, "sendgrid")
}

// Sending: bad requests name the field and send nothing; a good one answers 201 with the stored message,
// suppressed when it cannot go (here: no provider), once per Idempotency-Key.
func TestMessagingSendValidation(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	person := e.createPerson("Send", "Er", "1980-01-01")
	bad := []struct {
		body  any
		field string
	}{
		{map[string]any{}, "personId"},
		{map[string]any{"personId": "nope", "template": "renewal_nudge"}, "personId"},
		{map[string]any{"personId": uuid.NewString(), "template": "renewal_nudge"}, "personId"},
		{map[string]any{"personId": person, "template": "renewal_nudge", "channel": "fax"}, "channel"},
		{map[string]any{"personId": person}, "template"},
		{map[string]any{"personId": person, "template": "Not A Name"}, "template"},
		{map[string]any{"personId": person, "template": "no_such_template", "channel": "sms"}, "template"},
		{map[string]any{"personId": person, "template": "broadcast", "channel": "email"}, "template"},
		{map[string]any{"personId": person, "template": "information_requested", "channel": "sms",
			"vars": map[string]string{"Description": "your passport"}}, "vars.DueAt"},
		{map[string]any{"personId": person, "template": "broadcast", "channel": "sms", "vars": map[string]string{"1x": "y"}}, "vars.1x"},
		{map[string]any{"personId": person, "template": "broadcast", "channel": "sms", "vars": map[string]any{"Text": 3}}, "vars"},
		{map[string]any{"personId": person, "template": "broadcast", "channel": "sms", "extra": true}, "extra"},
		{"[1,2]", "body"},
	}
	for _, b := range bad {
		r := e.call(domain.RoleVettingOfficer, "POST", "/api/v1/messages", b.body)
		wantField(t, r, http.StatusBadRequest, b.field, fmt.Sprintf("send %v", b.body))
	}
	wantProblem(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/messages",
		map[string]any{"personId": person, "template": "broadcast", "channel": "sms", "vars": map[string]string{"Text": "hi"}}),
		http.StatusForbidden, "a case worker sending")
	if n := e.count(`SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("refused sends left %d messages", n)
	}

	// No provider is configured: the message is recorded suppressed, and the answer says so.
	send := map[string]any{"personId": person, "template": "information_requested", "channel": "sms",
		"vars": map[string]string{"DueAt": "2026-06-01", "Description": "your passport"}}
	key := map[string]string{"Idempotency-Key": "send-1"}
	r := e.callWith(domain.RoleSecurityController, "POST", "/api/v1/messages", send, key)
	wantStatus(t, r, http.StatusCreated, "send")
	m := r.json(t)
	id, _ := m["id"].(string)
	if !strings.HasPrefix(id, "m_") || m["status"] != "suppressed" || m["statusReason"] != "no_provider" ||
		m["recipient"] != "+447400123456" || !strings.Contains(m["body"].(string), "your passport") {
		t.Fatalf("sent message %s", r.body)
	}
	if r.header.Get("Location") != "/api/v1/messages/"+id {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	again := e.callWith(domain.RoleSecurityController, "POST", "/api/v1/messages", send, key)
	wantStatus(t, again, http.StatusCreated, "send repeated")
	if again.json(t)["id"] != id || e.count(`SELECT count(*) FROM messages`) != 1 {
		t.Errorf("a repeat with the same key answered %s; %d messages", again.body, e.count(`SELECT count(*) FROM messages`))
	}
	other := e.callWith(domain.RoleSecurityController, "POST", "/api/v1/messages", map[string]any{"personId": person,
		"template": "broadcast", "channel": "sms", "vars": map[string]string{"Text": "hi"}}, key)
	wantField(t, other, http.StatusUnprocessableEntity, "Idempotency-Key", "the key reused for another request")
	// Absent, the channel is the person's preferred one (e-mail by default); they have no address there.
	pref := e.must(http.StatusCreated, domain.RoleVettingOfficer, "POST", "/api/v1/messages", map[string]any{"personId": person,
		"template": "renewal_nudge", "vars": map[string]string{"Level": "SC", "ValidTo": "2031-01-31", "DaysLeft": "90"}})
	if pref["channel"] != "email" || pref["status"] != "suppressed" {
		t.Errorf("a send without channel: %v %v, want email suppressed", pref["channel"], pref["status"])
	}

	// The outbox and its filters.
	got := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/messages/"+id, nil)
	if got["id"] != id || len(got["events"].([]any)) == 0 {
		t.Errorf("GET message %v", got)
	}
	list := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/messages?personId="+person+"&channel=sms&status=suppressed&template=information_requested", nil)
	if list["total"] != float64(1) {
		t.Errorf("outbox search total %v, want 1", list["total"])
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if l := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/messages?from="+today+"&to="+today, nil); l["total"] != float64(2) {
		t.Errorf("messages of today: %v, want 2", l["total"])
	}
	if l := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/messages?to=2020-01-01T00:00:00Z", nil); l["total"] != float64(0) {
		t.Errorf("messages before 2020: %v, want 0", l["total"])
	}
	for q, field := range map[string]string{"channel=fax": "channel", "status=lost": "status", "personId=1": "personId",
		"template=Bad!": "template", "caseRef=x": "caseRef", "clearanceId=x": "clearanceId", "broadcastId=x": "broadcastId",
		"from=soon": "from", "to=2026-13-01": "to", "from=2026-05-02&to=2026-05-01": "to", "offset=-1": "offset"} {
		wantField(t, e.call(domain.RoleAuditor, "GET", "/api/v1/messages?"+q, nil), http.StatusBadRequest, field, "outbox ?"+q)
	}

	// Ids with slashes, as workflows make them, plain or escaped.
	slashed := "clearance/" + uuid.NewString() + "/nudge/90"
	e.accepted(slashed, domain.ChannelSMS, person, "+447400123456", "twilio", "SMslash")
	if m := e.message(slashed); m["id"] != slashed {
		t.Errorf("GET %s: %v", slashed, m["id"])
	}
	if m := e.message(url.PathEscape(slashed)); m["id"] != slashed {
		t.Errorf("GET escaped %s: %v", slashed, m["id"])
	}
	wantProblem(t, e.call(domain.RoleAuditor, "GET", "/api/v1/messages/nope/none", nil), http.StatusNotFound, "unknown message")
}

// Templates: a bad version names the field and adds nothing; a good one is the next version.
func TestMessagingTemplates(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	before := e.count(`SELECT count(*) FROM message_templates`)
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"channel": "sms", "body": "x"}, "name"},
		{map[string]any{"name": "Bad-Name", "channel": "sms", "body": "x"}, "name"},
		{map[string]any{"name": "ok_name", "channel": "fax", "body": "x"}, "channel"},
		{map[string]any{"name": "ok_name", "channel": "sms", "body": "  "}, "body"},
		{map[string]any{"name": "ok_name", "channel": "email", "body": "x"}, "subject"},
		{map[string]any{"name": "ok_name", "channel": "sms", "subject": "s", "body": "x"}, "subject"},
		{map[string]any{"name": "ok_name", "channel": "sms", "body": "Hello {{.Name"}, "body"},
		{map[string]any{"name": "ok_name", "channel": "email", "subject": "{{if}}", "body": "x"}, "subject"},
		{map[string]any{"name": "ok_name", "channel": "email", "subject": "s", "body": "x", "html": "<p>{{.X</p>"}, "html"},
		{map[string]any{"name": "ok_name", "channel": "sms", "body": "x", "html": "<p>x</p>"}, "html"},
		{map[string]any{"name": "ok_name", "channel": "whatsapp", "body": "x", "contentSid": "nope"}, "contentSid"},
		{map[string]any{"name": "ok_name", "channel": "sms", "body": "x", "contentSid": "HX" + strings.Repeat("a", 32)}, "contentSid"},
		{map[string]any{"name": "ok_name", "channel": "sms", "body": strings.Repeat("x", 1601)}, "body"},
	}
	for _, b := range bad {
		wantField(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/message-templates", b.body),
			http.StatusBadRequest, b.field, fmt.Sprintf("template %v", b.body))
	}
	good := map[string]any{"name": "renewal_nudge", "channel": "sms", "body": "Your {{.Level}} clearance ends {{.ValidTo}}."}
	for _, role := range []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleAuditor} {
		wantProblem(t, e.call(role, "POST", "/api/v1/message-templates", good), http.StatusForbidden, string(role)+" adding a template")
	}
	if n := e.count(`SELECT count(*) FROM message_templates`); n != before {
		t.Fatalf("refused templates changed the count: %d, want %d", n, before)
	}
	tpl := e.must(http.StatusCreated, domain.RoleSecurityController, "POST", "/api/v1/message-templates", good)
	if tpl["version"] != float64(2) || tpl["body"] != good["body"] {
		t.Errorf("new version %v", tpl)
	}
	var ts []map[string]any
	if err := json.Unmarshal(e.callWith(domain.RoleAuditor, "GET", "/api/v1/message-templates", nil, nil).body, &ts); err != nil {
		t.Fatal(err)
	}
	for _, x := range ts {
		if x["name"] == "renewal_nudge" && x["channel"] == "sms" && x["version"] != float64(2) {
			t.Errorf("the list shows version %v of renewal_nudge on sms, want the latest (2)", x["version"])
		}
	}
}

// Consent: a bad request names the field and records nothing; a person with no address on the channel is
// 409; recorded consent shows, and something said earlier does not overwrite what was said later.
func TestMessagingConsents(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	person := e.createPerson("Con", "Sent", "1980-01-01") // a mobile, no e-mail
	put := func(role domain.Role, channel string, body any) resp {
		return e.call(role, "PUT", "/api/v1/persons/"+person+"/consents/"+channel, body)
	}
	future := time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)
	bad := []struct {
		channel string
		body    any
		field   string
	}{
		{"fax", map[string]any{"status": "opted_in", "method": "written", "evidence": "x"}, "channel"},
		{"whatsapp", map[string]any{"method": "written", "evidence": "x"}, "status"},
		{"whatsapp", map[string]any{"status": "maybe", "method": "written", "evidence": "x"}, "status"},
		{"whatsapp", map[string]any{"status": "opted_in", "evidence": "x"}, "method"},
		{"whatsapp", map[string]any{"status": "opted_in", "method": "By Letter", "evidence": "x"}, "method"},
		{"whatsapp", map[string]any{"status": "opted_in", "method": "keyword", "evidence": "x"}, "method"},
		{"whatsapp", map[string]any{"status": "opted_in", "method": "written"}, "evidence"},
		{"whatsapp", map[string]any{"status": "opted_in", "method": "written", "evidence": "x", "at": future}, "at"},
		{"whatsapp", map[string]any{"status": "opted_in", "method": "written", "evidence": "x", "at": "last week"}, "at"},
		{"sms", map[string]any{"status": "opted_out", "method": "verbal", "evidence": strings.Repeat("x", 1001)}, "evidence"},
	}
	for _, b := range bad {
		wantField(t, put(domain.RoleCaseWorker, b.channel, b.body), http.StatusBadRequest, b.field, fmt.Sprintf("consent %s %v", b.channel, b.body))
	}
	wantProblem(t, put(domain.RoleCaseWorker, "email", map[string]any{"status": "opted_in", "method": "written"}),
		http.StatusConflict, "e-mail consent for a person without an address")
	wantProblem(t, put(domain.RoleAuditor, "whatsapp", map[string]any{"status": "opted_in", "method": "written", "evidence": "x"}),
		http.StatusForbidden, "an auditor recording consent")
	wantProblem(t, e.call(domain.RoleCaseWorker, "PUT", "/api/v1/persons/"+uuid.NewString()+"/consents/sms",
		map[string]any{"status": "opted_out", "method": "verbal"}), http.StatusNotFound, "an unknown person")
	if n := e.count(`SELECT count(*) FROM messaging_consent`); n != 0 {
		t.Fatalf("refused consents recorded %d rows", n)
	}

	given := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	c := e.must(http.StatusOK, domain.RoleCaseWorker, "PUT", "/api/v1/persons/"+person+"/consents/whatsapp",
		map[string]any{"status": "opted_in", "method": "whatsapp_optin", "evidence": "form WA-17", "at": given.Format(time.RFC3339)})
	if c["status"] != "opted_in" || c["address"] != "+447400123456" || c["evidence"] != "form WA-17" || !parseTime(t, c["at"]).Equal(given) {
		t.Errorf("recorded consent %v", c)
	}
	var cs []map[string]any
	if err := json.Unmarshal(e.callWith(domain.RoleAuditor, "GET", "/api/v1/persons/"+person+"/consents", nil, nil).body, &cs); err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0]["channel"] != "whatsapp" || cs[0]["method"] != "whatsapp_optin" {
		t.Errorf("consents %v", cs)
	}
	// An opt-out said before the consent on record does not overwrite it.
	wantField(t, put(domain.RoleCaseWorker, "whatsapp", map[string]any{"status": "opted_out", "method": "verbal",
		"at": given.Add(-time.Hour).Format(time.RFC3339)}), http.StatusConflict, "at", "an earlier opt-out")
	// Said now, it does.
	if c := e.must(http.StatusOK, domain.RoleVettingOfficer, "PUT", "/api/v1/persons/"+person+"/consents/whatsapp",
		map[string]any{"status": "opted_out", "method": "verbal", "evidence": "call"}); c["status"] != "opted_out" {
		t.Errorf("opt-out now: %v", c)
	}
}

// The reminder policy: bad values name the field and change nothing; a good one is saved (sorted) and
// the answer says how many running clearances were told.
//
// Not parallel: a new policy is signalled to every running clearance workflow in the namespace.
func TestMessagingReminderPolicy(t *testing.T) {
	e := newHookEnv(t)
	orig := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/reminder-policy", nil)
	many := make([]int, 11)
	for i := range many {
		many[i] = i + 1
	}
	bad := []struct {
		body  any
		field string
	}{
		{map[string]any{"renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays"},
		{map[string]any{"nudgeDays": []int{}, "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays"},
		{map[string]any{"nudgeDays": many, "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays"},
		{map[string]any{"nudgeDays": []int{0}, "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays[0]"},
		{map[string]any{"nudgeDays": []int{30, 3651}, "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays[1]"},
		{map[string]any{"nudgeDays": []int{30, 30}, "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays[1]"},
		{map[string]any{"nudgeDays": []int{30}, "infoReminderDays": []int{}}, "renewalLeadDays"},
		{map[string]any{"nudgeDays": []int{30}, "renewalLeadDays": 0, "infoReminderDays": []int{}}, "renewalLeadDays"},
		{map[string]any{"nudgeDays": []int{30}, "renewalLeadDays": 3651, "infoReminderDays": []int{}}, "renewalLeadDays"},
		{map[string]any{"nudgeDays": []int{30}, "renewalLeadDays": 150}, "infoReminderDays"},
		{map[string]any{"nudgeDays": []int{30}, "renewalLeadDays": 150, "infoReminderDays": []int{366}}, "infoReminderDays[0]"},
		{map[string]any{"nudgeDays": []int{30}, "renewalLeadDays": 150, "infoReminderDays": many}, "infoReminderDays"},
		{map[string]any{"nudgeDays": "30", "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays"},
		{map[string]any{"nudgeDays": []float64{1.5}, "renewalLeadDays": 150, "infoReminderDays": []int{}}, "nudgeDays"},
	}
	for _, b := range bad {
		wantField(t, e.call(domain.RoleSecurityController, "PUT", "/api/v1/reminder-policy", b.body),
			http.StatusBadRequest, b.field, fmt.Sprintf("policy %v", b.body))
	}
	good := map[string]any{"nudgeDays": []int{7, 120, 60}, "renewalLeadDays": 100, "infoReminderDays": []int{1, 2}}
	for _, role := range []domain.Role{domain.RoleCaseWorker, domain.RoleVettingOfficer, domain.RoleAdmin} {
		wantProblem(t, e.call(role, "PUT", "/api/v1/reminder-policy", good), http.StatusForbidden, string(role)+" changing the policy")
	}
	if now := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/reminder-policy", nil); fmt.Sprint(now) != fmt.Sprint(orig) {
		t.Fatalf("refused changes changed the policy: %v, was %v", now, orig)
	}
	p := e.must(http.StatusOK, domain.RoleSecurityController, "PUT", "/api/v1/reminder-policy", good)
	if fmt.Sprint(p["nudgeDays"]) != "[120 60 7]" || p["renewalLeadDays"] != float64(100) ||
		fmt.Sprint(p["infoReminderDays"]) != "[2 1]" || p["workflowsTold"] == nil {
		t.Errorf("saved policy %v", p)
	}
	got := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/reminder-policy", nil)
	if fmt.Sprint(got["nudgeDays"]) != "[120 60 7]" {
		t.Errorf("policy read back %v", got)
	}
	// No information reminders at all is a policy too.
	e.must(http.StatusOK, domain.RoleSecurityController, "PUT", "/api/v1/reminder-policy",
		map[string]any{"nudgeDays": []int{30}, "renewalLeadDays": 60, "infoReminderDays": []int{}})
}

// Contact groups: each kind takes exactly its field; unknown ids name the field; names are unique.
func TestMessagingGroups(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	site := e.must(http.StatusCreated, domain.RoleAdmin, "POST", "/api/v1/locations",
		map[string]any{"code": "SA", "name": "Site A"})["id"].(string)
	p1 := e.createPerson("Group", "One", "1980-01-01")
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"kind": "manual", "memberIds": []string{p1}}, "name"},
		{map[string]any{"name": "G"}, "kind"},
		{map[string]any{"name": "G", "kind": "everyone"}, "kind"},
		{map[string]any{"name": "G", "kind": "site"}, "locationId"},
		{map[string]any{"name": "G", "kind": "site", "locationId": ""}, "locationId"},
		{map[string]any{"name": "G", "kind": "site", "locationId": "x"}, "locationId"},
		{map[string]any{"name": "G", "kind": "site", "locationId": uuid.NewString()}, "locationId"},
		{map[string]any{"name": "G", "kind": "site", "locationId": site, "supplierId": uuid.NewString()}, "supplierId"},
		{map[string]any{"name": "G", "kind": "supplier", "supplierId": uuid.NewString()}, "supplierId"},
		{map[string]any{"name": "G", "kind": "level"}, "level"},
		{map[string]any{"name": "G", "kind": "level", "level": "TOP"}, "level"},
		{map[string]any{"name": "G", "kind": "level", "level": "SC", "memberIds": []string{p1}}, "memberIds"},
		{map[string]any{"name": "G", "kind": "manual"}, "memberIds"},
		{map[string]any{"name": "G", "kind": "manual", "memberIds": []string{}}, "memberIds"},
		{map[string]any{"name": "G", "kind": "manual", "memberIds": []string{"x"}}, "memberIds[0]"},
		{map[string]any{"name": "G", "kind": "manual", "memberIds": []string{p1, uuid.NewString()}}, "memberIds[1]"},
	}
	for _, b := range bad {
		wantField(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/groups", b.body), http.StatusBadRequest,
			b.field, fmt.Sprintf("group %v", b.body))
	}
	wantProblem(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/groups", map[string]any{"name": "G", "kind": "site",
		"locationId": site}), http.StatusForbidden, "a case worker making a group")
	if n := e.count(`SELECT count(*) FROM contact_groups`); n != 0 {
		t.Fatalf("refused groups left %d rows", n)
	}

	e.must(http.StatusOK, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+p1, map[string]any{"locationId": site})
	g := e.must(http.StatusCreated, domain.RoleVettingOfficer, "POST", "/api/v1/groups",
		map[string]any{"name": "Site A staff", "kind": "site", "locationId": site})
	if g["kind"] != "site" || g["members"] != float64(1) {
		t.Errorf("group %v", g)
	}
	wantField(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/groups", map[string]any{"name": "SITE A STAFF",
		"kind": "manual", "memberIds": []string{p1}}), http.StatusConflict, "name", "a group name taken")
	members := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/groups/"+g["id"].(string)+"/members", nil)
	if members["total"] != float64(1) || members["items"].([]any)[0].(map[string]any)["id"] != p1 {
		t.Errorf("members %v", members)
	}
	manual := e.must(http.StatusCreated, domain.RoleSecurityController, "POST", "/api/v1/groups",
		map[string]any{"name": "Picked", "kind": "manual", "memberIds": []string{p1, p1}})
	if manual["members"] != float64(1) {
		t.Errorf("a manual group naming a person twice has %v members, want 1", manual["members"])
	}
	var gs []map[string]any
	if err := json.Unmarshal(e.callWith(domain.RoleAuditor, "GET", "/api/v1/groups", nil, nil).body, &gs); err != nil || len(gs) != 2 {
		t.Errorf("groups %v (%v)", gs, err)
	}
	wantProblem(t, e.call(domain.RoleAuditor, "GET", "/api/v1/groups/"+uuid.NewString()+"/members", nil), http.StatusNotFound, "unknown group")
}

// Broadcasts: bad requests name the field and start nothing; a good one runs (here every message is
// suppressed: no provider), once per Idempotency-Key, shows its progress, and closes.
func TestMessagingBroadcastValidation(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	withMobile := e.createPerson("Has", "Mobile", "1980-01-01")
	noMobile := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{
		"firstName": "No", "lastName": "Mobile", "dateOfBirth": "1980-01-01"})["id"].(string)
	group := e.must(http.StatusCreated, domain.RoleSecurityController, "POST", "/api/v1/groups",
		map[string]any{"name": "Drill", "kind": "manual", "memberIds": []string{withMobile, noMobile}})["id"].(string)
	ok := func(extra map[string]any) map[string]any {
		b := map[string]any{"groupId": group, "text": "Drill at Site A. Reply SAFE or HELP."}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	words := make([]string, 11)
	for i := range words {
		words[i] = "W" + strconv.Itoa(i)
	}
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"text": "x"}, "groupId"},
		{ok(map[string]any{"groupId": "x"}), "groupId"},
		{ok(map[string]any{"groupId": uuid.NewString()}), "groupId"},
		{ok(map[string]any{"text": " "}), "text"},
		{ok(map[string]any{"text": strings.Repeat("x", 613)}), "text"},
		{ok(map[string]any{"keywords": []string{}}), "keywords"},
		{ok(map[string]any{"keywords": words}), "keywords"},
		{ok(map[string]any{"keywords": []string{"STOP"}}), "keywords[0]"},
		{ok(map[string]any{"keywords": []string{"SAFE", "start"}}), "keywords[1]"},
		{ok(map[string]any{"keywords": []string{"SAFE", "safe"}}), "keywords[1]"},
		{ok(map[string]any{"keywords": []string{"all good"}}), "keywords[0]"},
		{ok(map[string]any{"keywords": []string{"OTHER"}}), "keywords[0]"},
		{ok(map[string]any{"replyWindow": "soon"}), "replyWindow"},
		{ok(map[string]any{"replyWindow": "31d"}), "replyWindow"},
		{ok(map[string]any{"rate": 6}), "rate"},
		{ok(map[string]any{"rate": 0}), "rate"},
	}
	for _, b := range bad {
		wantField(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/broadcasts", b.body), http.StatusBadRequest,
			b.field, fmt.Sprintf("broadcast %v", b.body))
	}
	wantProblem(t, e.call(domain.RoleCaseWorker, "POST", "/api/v1/broadcasts", ok(nil)), http.StatusForbidden, "a case worker broadcasting")
	if n := e.count(`SELECT count(*) FROM broadcasts`); n != 0 {
		t.Fatalf("refused broadcasts left %d rows", n)
	}

	key := map[string]string{"Idempotency-Key": "drill-1"}
	r := e.callWith(domain.RoleVettingOfficer, "POST", "/api/v1/broadcasts", ok(map[string]any{"rate": 2, "replyWindow": "2h"}), key)
	wantStatus(t, r, http.StatusAccepted, "broadcast")
	b := r.json(t)
	id := b["id"].(string)
	if b["rate"] != float64(2) || fmt.Sprint(b["keywords"]) != "[SAFE HELP]" || r.header.Get("Location") != "/api/v1/broadcasts/"+id {
		t.Errorf("broadcast %s", r.body)
	}
	if until := parseTime(t, b["replyUntil"]); until.Before(time.Now().Add(119*time.Minute)) || until.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("replyUntil %v, want in 2h", until)
	}
	again := e.callWith(domain.RoleVettingOfficer, "POST", "/api/v1/broadcasts", ok(map[string]any{"rate": 2, "replyWindow": "2h"}), key)
	wantStatus(t, again, http.StatusAccepted, "broadcast repeated")
	if again.json(t)["id"] != id || e.count(`SELECT count(*) FROM broadcasts`) != 1 {
		t.Errorf("a repeat made another broadcast: %s", again.body)
	}
	wantField(t, e.callWith(domain.RoleVettingOfficer, "POST", "/api/v1/broadcasts", ok(map[string]any{"text": "Other"}), key),
		http.StatusUnprocessableEntity, "Idempotency-Key", "the key reused for another broadcast")

	// Its messages are recorded and sent: the broadcast collects replies (a close then ends it at once).
	var prog map[string]any
	waitFor(t, 20*time.Second, "the broadcast's messages recorded and sent", func() bool {
		got := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/broadcasts/"+id, nil)
		prog = got["progress"].(map[string]any)
		return prog["suppressed"] == float64(1) && got["status"] == domain.BroadcastCollecting
	})
	if prog["recipients"] != float64(2) || prog["skipped"] != float64(1) || prog["sent"] != float64(0) {
		t.Errorf("progress %v: want 2 recipients, 1 skipped (no mobile), 1 suppressed (no provider)", prog)
	}
	waiting := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/broadcasts/"+id+"/recipients?replied=false", nil)
	if waiting["total"] != float64(1) || waiting["items"].([]any)[0].(map[string]any)["personId"] != withMobile {
		t.Errorf("not replied %v", waiting)
	}
	wantField(t, e.call(domain.RoleAuditor, "GET", "/api/v1/broadcasts/"+id+"/recipients?replied=perhaps", nil),
		http.StatusBadRequest, "replied", "recipients ?replied=perhaps")
	if l := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/broadcasts", nil); l["total"] != float64(1) {
		t.Errorf("broadcasts %v", l)
	}

	closed := e.must(http.StatusOK, domain.RoleSecurityController, "POST", "/api/v1/broadcasts/"+id+"/close", nil)
	if closed["status"] != domain.BroadcastClosed || closed["closedAt"] == nil {
		t.Errorf("closed broadcast %v", closed)
	}
	wantProblem(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/broadcasts/"+id+"/close", nil), http.StatusConflict, "closing twice")
	wantProblem(t, e.call(domain.RoleSecurityController, "POST", "/api/v1/broadcasts/"+uuid.NewString()+"/close", nil),
		http.StatusNotFound, "closing an unknown broadcast")
}

// A person's preferred channel goes in and comes back; a bad one names the field.
func TestMessagingPreferredChannel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p := e.must(http.StatusCreated, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Pref",
		"lastName": "Erred", "dateOfBirth": "1980-01-01", "preferredChannel": "whatsapp"})
	id := p["id"].(string)
	if p["preferredChannel"] != "whatsapp" {
		t.Errorf("created with %v", p["preferredChannel"])
	}
	if got := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/persons/"+id, nil); got["preferredChannel"] != "whatsapp" {
		t.Errorf("read back %v", got["preferredChannel"])
	}
	if got := e.must(http.StatusOK, domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+id, map[string]any{"preferredChannel": "sms"}); got["preferredChannel"] != "sms" {
		t.Errorf("changed to %v", got["preferredChannel"])
	}
	wantField(t, e.call(domain.RoleCaseWorker, "PATCH", "/api/v1/persons/"+id, map[string]any{"preferredChannel": "fax"}),
		http.StatusBadRequest, "preferredChannel", "a bad channel")
	if got := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/persons/"+id, nil); got["preferredChannel"] != "sms" {
		t.Errorf("after a refused change: %v", got["preferredChannel"])
	}
	plain := e.createPerson("Plain", "Person", "1980-01-01")
	if got := e.must(http.StatusOK, domain.RoleAuditor, "GET", "/api/v1/persons/"+plain, nil); got["preferredChannel"] != "email" {
		t.Errorf("default channel %v, want email", got["preferredChannel"])
	}

	// A clearance with no lifecycle workflow has no renewal state.
	c, err := e.st.RecordClearance(context.Background(), nil, domain.Clearance{PersonID: uuid.MustParse(plain),
		Level: domain.LevelSC, ValidFrom: domain.DateOf(time.Now().UTC()), ValidTo: domain.DateOf(time.Now().UTC()).AddYears(5),
		IssuingAuthority: "Test"})
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, e.call(domain.RoleAuditor, "GET", "/api/v1/clearances/"+c.ID.String()+"/renewal", nil), http.StatusNotFound, "no workflow")
	wantProblem(t, e.call(domain.RoleAuditor, "GET", "/api/v1/clearances/"+uuid.NewString()+"/renewal", nil), http.StatusNotFound, "no clearance")
}
