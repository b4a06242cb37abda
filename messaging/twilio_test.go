package messaging_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"

	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/sim/twiliosim"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "s3cr3tauthtoken"
	testFrom  = "+447400000001"
	testWA    = "+447400000002"
	alice     = "+447400123456"
	bob       = "+447400654321"
)

// hook is a webhook receiver: it records what Twilio (the simulator) posts, and whether its signature
// verified against the URL it was posted to.
type hook struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []hookCall
	// fail answers the next so many calls 500.
	fail int
}

type hookCall struct {
	path     string
	query    url.Values
	form     url.Values
	verified bool
}

func newHook(t *testing.T) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		full := h.srv.URL + r.URL.RequestURI()
		ok := messaging.VerifyTwilio(testToken, full, r.PostForm, r.Header.Get(messaging.TwilioSignatureHeader))
		h.mu.Lock()
		fail := h.fail > 0
		if fail {
			h.fail--
		}
		h.got = append(h.got, hookCall{path: r.URL.Path, query: r.URL.Query(), form: r.PostForm, verified: ok})
		h.mu.Unlock()
		if fail {
			http.Error(w, "try again", 500)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) calls(path string) []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookCall
	for _, c := range h.got {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

// statuses are the MessageStatus values of the status callbacks about sid, in arrival order.
func (h *hook) statuses(sid string) []string {
	var out []string
	for _, c := range h.calls("/status") {
		if c.form.Get("MessageSid") == sid {
			out = append(out, c.form.Get("MessageStatus"))
		}
	}
	return out
}

// eventually waits for cond, failing the test after the deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type env struct {
	sim  *twiliosim.Sim
	srv  *httptest.Server
	hook *hook
	tw   *messaging.Twilio
	cfg  messaging.TwilioConfig
}

func newEnv(t *testing.T, o twiliosim.Options) *env {
	t.Helper()
	h := newHook(t)
	o.AccountSID, o.AuthToken = testSID, testToken
	if o.DeliveryDelay == 0 {
		o.DeliveryDelay = 10 * time.Millisecond
	}
	if o.InboundURL == "" {
		o.InboundURL = h.srv.URL + "/inbound"
	}
	sim := twiliosim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close) // runs before srv.Close: releases held answers
	cfg := messaging.TwilioConfig{
		AccountSID: testSID, AuthToken: testToken, From: testFrom, WhatsAppFrom: testWA,
		BaseURL: srv.URL, StatusCallback: h.srv.URL + "/status",
	}
	return &env{sim: sim, srv: srv, hook: h, cfg: cfg, tw: messaging.NewTwilio(cfg, &http.Client{Timeout: 5 * time.Second})}
}

func (e *env) faults(t *testing.T, patch string) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/sim/faults", "application/json", strings.NewReader(patch))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /sim/faults %s: %d", patch, resp.StatusCode)
	}
}

func (e *env) reply(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/sim/reply", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST /sim/reply %s: %d", body, resp.StatusCode)
	}
}

func wantError(t *testing.T, err error, kind messaging.Kind, code int) *messaging.Error {
	t.Helper()
	var me *messaging.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %v (%T) is not a *messaging.Error", err, err)
	}
	if me.Kind != kind || (code != 0 && me.Code != code) {
		t.Fatalf("error %v: want kind %s code %d", me, kind, code)
	}
	return me
}

func TestTwilioSendSMSCallbacksAndPrice(t *testing.T) {
	e := newEnv(t, twiliosim.Options{})
	ctx := context.Background()
	m := messaging.Outgoing{ID: "msg-1/a b", Channel: messaging.SMS, To: alice, Body: "Your vetting case needs you", FirstAttempt: time.Now()}
	r, err := e.tw.Send(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.ProviderID, "SM") || len(r.ProviderID) != 34 {
		t.Errorf("sid %q", r.ProviderID)
	}
	if r.Status != messaging.StatusQueued || r.Segments != 1 || r.Price != "" || r.ErrorCode != 0 {
		t.Errorf("receipt %+v", r)
	}

	eventually(t, "sent and delivered callbacks", func() bool {
		st := e.hook.statuses(r.ProviderID)
		return slices.Contains(st, "sent") && slices.Contains(st, "delivered")
	})
	eventually(t, "the queued callback", func() bool { return slices.Contains(e.hook.statuses(r.ProviderID), "queued") })
	for _, c := range e.hook.calls("/status") {
		if !c.verified {
			t.Errorf("callback %v did not verify", c.form)
		}
		if got := c.query.Get(messaging.TwilioMessageIDParam); got != m.ID {
			t.Errorf("callback carries m=%q, want %q", got, m.ID)
		}
		ev, err := messaging.ParseTwilioStatus(c.query.Get("m"), c.form)
		if err != nil {
			t.Fatal(err)
		}
		if ev.ProviderID != r.ProviderID || ev.MessageID != m.ID || ev.Recipient != alice ||
			ev.EventID != r.ProviderID+":"+ev.Raw || ev.Status != messaging.MapTwilioStatus(ev.Raw) {
			t.Errorf("event %+v", ev)
		}
	}
	sm, _ := e.sim.Message(r.ProviderID)
	var hist []string
	for _, s := range sm.History {
		hist = append(hist, s.Status)
	}
	if !slices.Equal(hist, []string{"queued", "sent", "delivered"}) {
		t.Errorf("history %v", hist)
	}

	f, err := e.tw.Fetch(ctx, r.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != messaging.StatusDelivered || f.Price != "-0.04000" || f.PriceUnit != "GBP" || f.Segments != 1 {
		t.Errorf("fetched %+v", f)
	}

	// A long body takes several segments, and costs as many.
	long := strings.Repeat("Please confirm your details. ", 12) // 348 GSM-7 characters: 3 segments
	r2, err := e.tw.Send(ctx, messaging.Outgoing{ID: "msg-2", Channel: messaging.SMS, To: alice, Body: long})
	if err != nil {
		t.Fatal(err)
	}
	if r2.Segments != 3 {
		t.Errorf("segments %d", r2.Segments)
	}
	eventually(t, "the long message's price", func() bool {
		f, err := e.tw.Fetch(ctx, r2.ProviderID)
		return err == nil && f.Price == "-0.12000"
	})

	_, err = e.tw.Fetch(ctx, "SM00000000000000000000000000000000")
	wantError(t, err, messaging.Invalid, 20404)
}

func TestTwilioWhatsAppBodyAndTemplate(t *testing.T) {
	e := newEnv(t, twiliosim.Options{Templates: map[string]string{
		"HX0123456789abcdef0123456789abcdef": "Hello {{1}}, your case {{2}} needs a document.",
	}})
	ctx := context.Background()
	r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "wa-1", Channel: messaging.WhatsApp, To: alice, Body: "Hi from SignetAssure"})
	if err != nil {
		t.Fatal(err)
	}
	sm, _ := e.sim.Message(r.ProviderID)
	if sm.To != "whatsapp:"+alice || sm.From != "whatsapp:"+testWA || sm.Channel != "whatsapp" || sm.Body != "Hi from SignetAssure" {
		t.Errorf("stored %+v", sm)
	}
	tm := messaging.Outgoing{ID: "wa-2", Channel: messaging.WhatsApp, To: alice, ContentSID: "HX0123456789abcdef0123456789abcdef",
		ContentVariables: map[string]string{"1": "Jane", "2": "v_123"}, FirstAttempt: time.Now()}
	r2, err := e.tw.Send(ctx, tm)
	if err != nil {
		t.Fatal(err)
	}
	sm2, _ := e.sim.Message(r2.ProviderID)
	if sm2.Body != "Hello Jane, your case v_123 needs a document." || sm2.ContentSid != tm.ContentSID {
		t.Errorf("template stored as %+v", sm2)
	}
	// WhatsApp: delivered, then read; a flat price.
	eventually(t, "read", func() bool { return slices.Contains(e.hook.statuses(r2.ProviderID), "read") })
	f, err := e.tw.Fetch(ctx, r2.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != messaging.StatusRead || f.Price != "-0.00500" {
		t.Errorf("fetched %+v", f)
	}
	for _, c := range e.hook.calls("/status") {
		if !c.verified || c.form.Get("To") != "whatsapp:"+alice {
			t.Errorf("callback %v verified=%v", c.form, c.verified)
		}
	}
	// Find tells the template message by its variables.
	got, ok, err := e.tw.Find(ctx, tm)
	if err != nil || !ok || got.ProviderID != r2.ProviderID {
		t.Errorf("Find template: %+v %v %v", got, ok, err)
	}

	// A Messaging Service sends both channels when there is no WhatsApp number.
	cfg := e.cfg
	cfg.From, cfg.WhatsAppFrom = "MG0123456789abcdef0123456789abcdef", ""
	svc := messaging.NewTwilio(cfg, nil)
	r3, err := svc.Send(ctx, messaging.Outgoing{ID: "wa-3", Channel: messaging.WhatsApp, To: bob, Body: "via service", FirstAttempt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	sm3, _ := e.sim.Message(r3.ProviderID)
	if sm3.MessagingServiceSid != cfg.From || sm3.From != "whatsapp:"+twiliosim.DefaultFrom {
		t.Errorf("service message %+v", sm3)
	}
	got, ok, err = svc.Find(ctx, messaging.Outgoing{ID: "wa-3", Channel: messaging.WhatsApp, To: bob, Body: "via service", FirstAttempt: time.Now().Add(-time.Second)})
	if err != nil || !ok || got.ProviderID != r3.ProviderID {
		t.Errorf("Find via service: %+v %v %v", got, ok, err)
	}

	_, err = e.tw.Send(ctx, messaging.Outgoing{ID: "e-1", Channel: messaging.Email, To: "a@example.com", Body: "x"})
	wantError(t, err, messaging.Invalid, 0)
}

func TestTwilioOptOutAndInbound(t *testing.T) {
	e := newEnv(t, twiliosim.Options{})
	ctx := context.Background()
	if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "1", Channel: messaging.SMS, To: alice, Body: "Reminder"}); err != nil {
		t.Fatal(err)
	}
	e.reply(t, `{"from":"`+alice+`","body":" stop ","channel":"sms"}`)
	_, err := e.tw.Send(ctx, messaging.Outgoing{ID: "2", Channel: messaging.SMS, To: alice, Body: "Reminder 2"})
	wantError(t, err, messaging.OptedOut, 21610)
	// WhatsApp has no automatic opt-out.
	if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "3", Channel: messaging.WhatsApp, To: alice, Body: "WhatsApp still goes"}); err != nil {
		t.Fatal(err)
	}
	e.reply(t, `{"from":"`+alice+`","body":"START"}`)
	if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "4", Channel: messaging.SMS, To: alice, Body: "Welcome back"}); err != nil {
		t.Fatal(err)
	}
	e.reply(t, `{"from":"whatsapp:`+bob+`","body":"Thanks!","profileName":"Bob B"}`)

	in := e.hook.calls("/inbound")
	if len(in) != 3 {
		t.Fatalf("%d inbound webhooks, want 3", len(in))
	}
	for _, c := range in {
		if !c.verified {
			t.Errorf("inbound %v did not verify", c.form)
		}
	}
	stop, err := messaging.ParseTwilioInbound(in[0].form)
	if err != nil {
		t.Fatal(err)
	}
	if stop.Channel != messaging.SMS || stop.From != alice || stop.To != testFrom || stop.Body != " stop " || !strings.HasPrefix(stop.ProviderID, "SM") {
		t.Errorf("STOP inbound %+v", stop)
	}
	wa, err := messaging.ParseTwilioInbound(in[2].form)
	if err != nil {
		t.Fatal(err)
	}
	if wa.Channel != messaging.WhatsApp || wa.From != bob || wa.ProfileName != "Bob B" || wa.Body != "Thanks!" {
		t.Errorf("WhatsApp inbound %+v", wa)
	}
	if in[2].form.Get("WaId") != strings.TrimPrefix(bob, "+") {
		t.Errorf("WaId %q", in[2].form.Get("WaId"))
	}
}

func TestTwilioRefusals(t *testing.T) {
	e := newEnv(t, twiliosim.Options{Rate: 1}) // one a second
	ctx := context.Background()
	if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "r1", Channel: messaging.SMS, To: alice, Body: "one"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.tw.Send(ctx, messaging.Outgoing{ID: "r2", Channel: messaging.SMS, To: alice, Body: "two"})
	if me := wantError(t, err, messaging.RateLimited, 20429); !me.Retryable() || me.Ambiguous {
		t.Errorf("rate limit %+v", me)
	}
	e.faults(t, `{"rate":0}`)

	_, err = e.tw.Send(ctx, messaging.Outgoing{ID: "bad", Channel: messaging.SMS, To: "+4412", Body: "x"})
	if me := wantError(t, err, messaging.Invalid, 21211); strings.Contains(me.Message, "+4412") {
		t.Errorf("the error names the number: %q", me.Message)
	}

	cfg := e.cfg
	cfg.AuthToken = "wrongtoken"
	_, err = messaging.NewTwilio(cfg, nil).Send(ctx, messaging.Outgoing{ID: "w", Channel: messaging.SMS, To: alice, Body: "x"})
	wantError(t, err, messaging.Refused, 20003)
	cfg.AuthToken = "not/alphanumeric"
	_, err = messaging.NewTwilio(cfg, nil).Send(ctx, messaging.Outgoing{ID: "w", Channel: messaging.SMS, To: alice, Body: "x"})
	wantError(t, err, messaging.Refused, 0)

	e.faults(t, `{"failNext":1,"failStatus":503}`)
	_, err = e.tw.Send(ctx, messaging.Outgoing{ID: "f", Channel: messaging.SMS, To: alice, Body: "x"})
	if me := wantError(t, err, messaging.Transient, 20503); me.Ambiguous {
		t.Errorf("503 is not ambiguous: %+v", me)
	}
	e.faults(t, `{"failNext":1,"failStatus":500}`)
	_, err = e.tw.Send(ctx, messaging.Outgoing{ID: "f", Channel: messaging.SMS, To: alice, Body: "x"})
	wantError(t, err, messaging.Transient, 20500)

	st := e.sim.Stats()
	if st.Rejected[21211] != 1 || st.Rejected[20429] != 1 || st.Rejected[20003] != 1 || st.Rejected[20503] != 1 || st.Rejected[20500] != 1 {
		t.Errorf("rejected %v", st.Rejected)
	}
	if st.Accepted != 1 {
		t.Errorf("accepted %d", st.Accepted)
	}
}

func TestTwilioTimeoutAfterSaveThenFind(t *testing.T) {
	e := newEnv(t, twiliosim.Options{})
	m := messaging.Outgoing{ID: "amb-1", Channel: messaging.SMS, To: alice, Body: "Your clearance was granted", FirstAttempt: time.Now()}
	// Earlier messages to the same person must not be taken for it.
	for _, b := range []string{"Other message", "Your clearance was granted (old)"} {
		if _, err := e.tw.Send(context.Background(), messaging.Outgoing{ID: "x", Channel: messaging.SMS, To: alice, Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	e.faults(t, `{"timeoutAfterSaveNext":1}`)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := e.tw.Send(ctx, m)
	me := wantError(t, err, messaging.Transient, 0)
	if !me.Ambiguous {
		t.Fatalf("a timeout after the request was written must be ambiguous: %+v", me)
	}
	if strings.Contains(me.Message, alice) {
		t.Errorf("the error names the number: %q", me.Message)
	}

	r, ok, err := e.tw.Find(context.Background(), m)
	if err != nil || !ok {
		t.Fatalf("Find: %v %v", ok, err)
	}
	var stored []twiliosim.Message
	for _, sm := range e.sim.Messages() {
		if sm.Body == m.Body {
			stored = append(stored, sm)
		}
	}
	if len(stored) != 1 || stored[0].Sid != r.ProviderID {
		t.Fatalf("found %s, stored %v", r.ProviderID, stored)
	}

	// Never sent: not found; nor one sent before the window.
	never := m
	never.Body = "Never sent"
	if _, ok, err := e.tw.Find(context.Background(), never); err != nil || ok {
		t.Errorf("Find never sent: %v %v", ok, err)
	}
	late := m
	late.FirstAttempt = time.Now().Add(2 * time.Minute)
	if _, ok, err := e.tw.Find(context.Background(), late); err != nil || ok {
		t.Errorf("Find before the window: %v %v", ok, err)
	}
	other := m
	other.To = bob
	if _, ok, err := e.tw.Find(context.Background(), other); err != nil || ok {
		t.Errorf("Find other recipient: %v %v", ok, err)
	}
}

func TestTwilioNetworkErrors(t *testing.T) {
	// Nothing listens: a dial error is not ambiguous.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tw := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom, BaseURL: "http://" + addr}, nil)
	_, err = tw.Send(context.Background(), messaging.Outgoing{ID: "n", Channel: messaging.SMS, To: alice, Body: "x"})
	if me := wantError(t, err, messaging.Transient, 0); me.Ambiguous {
		t.Errorf("dial error marked ambiguous: %+v", me)
	}

	// A cancelled context ends the call at once, and was never written.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	e := newEnv(t, twiliosim.Options{})
	_, err = e.tw.Send(ctx, messaging.Outgoing{ID: "c", Channel: messaging.SMS, To: alice, Body: "x"})
	if me := wantError(t, err, messaging.Transient, 0); me.Ambiguous {
		t.Errorf("cancelled before writing marked ambiguous: %+v", me)
	}
	if n := len(e.sim.Messages()); n != 0 {
		t.Errorf("%d messages stored", n)
	}

	// The client's timeout applies to the SDK's calls.
	e.faults(t, `{"latencyMs":2000}`)
	short := messaging.NewTwilio(e.cfg, &http.Client{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err = short.Fetch(context.Background(), "SM00000000000000000000000000000000")
	wantError(t, err, messaging.Transient, 0)
	if time.Since(start) > time.Second {
		t.Errorf("the timeout was not applied: %v", time.Since(start))
	}
}

func TestTwilioFindPages(t *testing.T) {
	e := newEnv(t, twiliosim.Options{DeliveryDelay: time.Hour})
	ctx := context.Background()
	first := messaging.Outgoing{ID: "p0", Channel: messaging.SMS, To: alice, Body: "message 0", FirstAttempt: time.Now()}
	r0, err := e.tw.Send(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 230; i++ {
		if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "p", Channel: messaging.SMS, To: alice, Body: "later " + time.Now().String()}); err != nil {
			t.Fatal(err)
		}
	}
	got, ok, err := e.tw.Find(ctx, first)
	if err != nil || !ok || got.ProviderID != r0.ProviderID || got.Status != messaging.StatusQueued {
		t.Fatalf("Find on the third page: %+v %v %v", got, ok, err)
	}
}

func TestTwilioCallbackFaults(t *testing.T) {
	ctx := context.Background()
	t.Run("duplicate", func(t *testing.T) {
		e := newEnv(t, twiliosim.Options{})
		e.faults(t, `{"callbacks":{"duplicate":true}}`)
		r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "d", Channel: messaging.SMS, To: alice, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "two of each callback", func() bool {
			st := e.hook.statuses(r.ProviderID)
			return count(st, "queued") == 2 && count(st, "sent") == 2 && count(st, "delivered") == 2
		})
		ids := map[string]int{}
		for _, c := range e.hook.calls("/status") {
			ev, err := messaging.ParseTwilioStatus(c.query.Get("m"), c.form)
			if err != nil || !c.verified {
				t.Fatal(err, c.verified)
			}
			ids[ev.EventID]++
		}
		if len(ids) != 3 {
			t.Errorf("event ids %v: repeats must share their id", ids)
		}
	})
	t.Run("out_of_order", func(t *testing.T) {
		e := newEnv(t, twiliosim.Options{})
		e.faults(t, `{"callbacks":{"outOfOrder":true}}`)
		r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "o", Channel: messaging.SMS, To: alice, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "sent", func() bool { return slices.Contains(e.hook.statuses(r.ProviderID), "sent") })
		st := e.hook.statuses(r.ProviderID)
		if slices.Index(st, "delivered") > slices.Index(st, "sent") {
			t.Errorf("statuses in order: %v", st)
		}
	})
	t.Run("bad_signature", func(t *testing.T) {
		e := newEnv(t, twiliosim.Options{})
		e.faults(t, `{"callbacks":{"badSignatureRate":1}}`)
		r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "b", Channel: messaging.SMS, To: alice, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "delivered", func() bool { return slices.Contains(e.hook.statuses(r.ProviderID), "delivered") })
		for _, c := range e.hook.calls("/status") {
			if c.verified {
				t.Errorf("a badly signed callback verified: %v", c.form)
			}
		}
	})
	t.Run("drop", func(t *testing.T) {
		e := newEnv(t, twiliosim.Options{})
		e.faults(t, `{"callbacks":{"dropRate":1}}`)
		r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "x", Channel: messaging.SMS, To: alice, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "delivered", func() bool {
			f, err := e.tw.Fetch(ctx, r.ProviderID)
			return err == nil && f.Status == messaging.StatusDelivered
		})
		if n := len(e.hook.calls("/status")); n != 0 || e.sim.Stats().CallbacksDropped != 3 {
			t.Errorf("%d callbacks arrived, stats %+v", n, e.sim.Stats())
		}
	})
	t.Run("retry", func(t *testing.T) {
		e := newEnv(t, twiliosim.Options{DeliveryDelay: time.Hour})
		e.hook.fail = 2
		r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "x", Channel: messaging.SMS, To: alice, Body: "x"})
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "the queued callback, third time", func() bool { return len(e.hook.statuses(r.ProviderID)) == 3 })
		// The hook has the third call before the simulator has read its answer.
		eventually(t, "the simulator's count", func() bool { return e.sim.Stats().CallbacksSent == 1 })
		if st := e.sim.Stats(); st.CallbacksFailed != 2 || st.CallbacksSent != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

func count(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestSignTwilioAgreesWithLibrary(t *testing.T) {
	forms := []url.Values{
		{},
		{"MessageSid": {"SM123"}, "MessageStatus": {"delivered"}, "To": {"+447400123456"}, "Body": {"Hello & welcome = ünïcödé +"}},
		{"b": {"2"}, "a": {"1"}, "ApiVersion": {"2010-04-01"}, "Empty": {""}},
	}
	urls := []string{
		"https://sa.example/api/v1/messaging/twilio/status?m=abc%2F1",
		"https://sa.example:443/api/v1/messaging/twilio/inbound",
		"http://127.0.0.1:8080/status?m=x&y=1",
	}
	for _, u := range urls {
		for _, f := range forms {
			sig := messaging.SignTwilio(testToken, u, f)
			params := map[string]string{}
			for k, v := range f {
				params[k] = v[0]
			}
			v := client.NewRequestValidator(testToken)
			if !v.Validate(u, params, sig) {
				t.Errorf("library rejects %s %v", u, f)
			}
			if !messaging.VerifyTwilio(testToken, u, f, sig) {
				t.Errorf("VerifyTwilio rejects %s %v", u, f)
			}
			if messaging.VerifyTwilio("othertoken", u, f, sig) || messaging.VerifyTwilio(testToken, u+"&z=1", f, sig) {
				t.Errorf("VerifyTwilio accepts a wrong token or URL")
			}
			g := url.Values{}
			for k, v := range f {
				g[k] = slices.Clone(v)
			}
			g.Set("Extra", "1")
			if messaging.VerifyTwilio(testToken, u, g, sig) {
				t.Errorf("VerifyTwilio accepts an added field")
			}
		}
	}
	// The library's own test vector.
	form := url.Values{"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
		"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"}}
	if got := messaging.SignTwilio("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form); got != "vOEb5UThFn24KEfnOFLQY2AE5FY=" {
		t.Errorf("the library's example signs as %s", got)
	}
	// Repeated fields: every value counts.
	multi := url.Values{"MediaUrl": {"b", "a"}, "To": {"+447400123456"}}
	if !messaging.VerifyTwilio(testToken, urls[0], multi, messaging.SignTwilio(testToken, urls[0], multi)) {
		t.Error("repeated fields")
	}
	if messaging.VerifyTwilio(testToken, urls[0], multi, "") {
		t.Error("an empty signature verified")
	}
}

func TestParseTwilioStatus(t *testing.T) {
	form := url.Values{
		"SmsSid": {"SMaaaa"}, "SmsStatus": {"undelivered"}, "MessageStatus": {"undelivered"}, "To": {"whatsapp:+447400123456"},
		"MessageSid": {"SMaaaa"}, "AccountSid": {testSID}, "From": {"whatsapp:+447400000002"}, "ApiVersion": {"2010-04-01"},
		"ErrorCode": {"30003"}, "ChannelPrefix": {"whatsapp"},
	}
	ev, err := messaging.ParseTwilioStatus("m-1", form)
	if err != nil {
		t.Fatal(err)
	}
	if ev.MessageID != "m-1" || ev.ProviderID != "SMaaaa" || ev.EventID != "SMaaaa:undelivered:30003" || ev.Status != messaging.StatusUndelivered ||
		ev.Raw != "undelivered" || ev.ErrorCode != 30003 || ev.Recipient != "+447400123456" || ev.At.IsZero() || ev.OptOut {
		t.Errorf("%+v", ev)
	}
	form.Set("ErrorCode", "21610")
	form.Set("MessageStatus", "failed")
	if ev, _ := messaging.ParseTwilioStatus("m-1", form); !ev.OptOut || ev.Status != messaging.StatusFailed || ev.EventID != "SMaaaa:failed:21610" {
		t.Errorf("%+v", ev)
	}
	sent := url.Values{"MessageSid": {"SMbbbb"}, "MessageStatus": {"sent"}, "To": {"+447400123456"}, "ErrorCode": {""}}
	if ev, _ := messaging.ParseTwilioStatus("", sent); ev.EventID != "SMbbbb:sent" || ev.ErrorCode != 0 || ev.Status != messaging.StatusSent {
		t.Errorf("%+v", ev)
	}
	for _, bad := range []url.Values{{"MessageStatus": {"sent"}}, {"MessageSid": {"SM1"}}, {"MessageSid": {"SM1"}, "MessageStatus": {"sent"}, "ErrorCode": {"x"}}} {
		if _, err := messaging.ParseTwilioStatus("m", bad); err == nil {
			t.Errorf("%v parsed", bad)
		}
	}
}

func TestParseTwilioInbound(t *testing.T) {
	sms := url.Values{
		"ToCountry": {"GB"}, "SmsMessageSid": {"SMcccc"}, "NumMedia": {"0"}, "SmsSid": {"SMcccc"}, "SmsStatus": {"received"},
		"Body": {"SAFE"}, "To": {"+447400000001"}, "NumSegments": {"1"}, "MessageSid": {"SMcccc"}, "AccountSid": {testSID},
		"From": {"+447400123456"}, "ApiVersion": {"2010-04-01"},
	}
	in, err := messaging.ParseTwilioInbound(sms)
	if err != nil {
		t.Fatal(err)
	}
	if in.Channel != messaging.SMS || in.ProviderID != "SMcccc" || in.From != alice || in.To != testFrom || in.Body != "SAFE" || in.At.IsZero() {
		t.Errorf("%+v", in)
	}
	wa := url.Values{
		"SmsMessageSid": {"SMdddd"}, "NumMedia": {"0"}, "ProfileName": {"Jane"}, "MessageType": {"text"}, "SmsSid": {"SMdddd"},
		"WaId": {"447400123456"}, "SmsStatus": {"received"}, "Body": {"Hi"}, "To": {"whatsapp:+447400000002"}, "NumSegments": {"1"},
		"MessageSid": {"SMdddd"}, "AccountSid": {testSID}, "From": {"whatsapp:+447400123456"}, "ApiVersion": {"2010-04-01"},
	}
	in, err = messaging.ParseTwilioInbound(wa)
	if err != nil {
		t.Fatal(err)
	}
	if in.Channel != messaging.WhatsApp || in.From != alice || in.To != testWA || in.ProfileName != "Jane" || in.Body != "Hi" {
		t.Errorf("%+v", in)
	}
	if _, err := messaging.ParseTwilioInbound(url.Values{"Body": {"x"}}); err == nil {
		t.Error("a form without MessageSid parsed")
	}
}

func TestMapTwilioStatus(t *testing.T) {
	for in, want := range map[string]messaging.Status{
		"accepted": messaging.StatusQueued, "scheduled": messaging.StatusQueued, "queued": messaging.StatusQueued,
		"sending": messaging.StatusSent, "sent": messaging.StatusSent, "delivered": messaging.StatusDelivered,
		"read": messaging.StatusRead, "undelivered": messaging.StatusUndelivered, "failed": messaging.StatusFailed,
		"canceled": messaging.StatusFailed, "received": "", "": "",
	} {
		if got := messaging.MapTwilioStatus(in); got != want {
			t.Errorf("%q → %q, want %q", in, got, want)
		}
	}
}
