package twiliosim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/sim/twiliosim"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "simtoken"
	from  = "+447400000001"
	alice = "+447400123456"
	bob   = "+447400654321"
)

// receiver takes the simulator's webhooks and checks their signatures.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	status  []url.Values
	inbound []url.Values
	badSigs atomic.Int32
}

func newReceiver(t testing.TB) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		if !messaging.VerifyTwilio(token, rc.srv.URL+r.URL.RequestURI(), r.PostForm, r.Header.Get("X-Twilio-Signature")) {
			rc.badSigs.Add(1)
		}
		rc.mu.Lock()
		if r.URL.Path == "/inbound" {
			rc.inbound = append(rc.inbound, r.PostForm)
		} else {
			rc.status = append(rc.status, r.PostForm)
		}
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) statuses(sid string) []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, f := range rc.status {
		if f.Get("MessageSid") == sid {
			out = append(out, f.Get("MessageStatus")+f.Get("ErrorCode"))
		}
	}
	return out
}

func (rc *receiver) inbounds() []url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.inbound)
}

type env struct {
	sim *twiliosim.Sim
	srv *httptest.Server
	rc  *receiver
	tw  *messaging.Twilio
}

func newEnv(t testing.TB, o twiliosim.Options) *env {
	rc := newReceiver(t)
	o.AccountSID, o.AuthToken = sid, token
	if o.DeliveryDelay == 0 {
		o.DeliveryDelay = 5 * time.Millisecond
	}
	o.InboundURL = rc.srv.URL + "/inbound"
	s := twiliosim.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	t.Cleanup(s.Close)
	tw := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: sid, AuthToken: token, From: from, WhatsAppFrom: from,
		BaseURL: srv.URL, StatusCallback: rc.srv.URL + "/status"}, nil)
	return &env{sim: s, srv: srv, rc: rc, tw: tw}
}

// api calls the Twilio API by hand.
func (e *env) api(t testing.TB, method, path string, form url.Values, auth bool) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth {
		req.SetBasicAuth(sid, token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *env) control(t testing.TB, method, path, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const messagesPath = "/2010-04-01/Accounts/" + sid + "/Messages"

func TestAPIShapes(t *testing.T) {
	e := newEnv(t, twiliosim.Options{DeliveryDelay: time.Hour})
	st, m := e.api(t, "POST", messagesPath+".json", url.Values{"To": {"+44 7400 123456"}, "From": {from}, "Body": {"Hello"}}, true)
	if st != 201 {
		t.Fatalf("%d %v", st, m)
	}
	s, _ := m["sid"].(string)
	if len(s) != 34 || !strings.HasPrefix(s, "SM") || m["status"] != "queued" || m["to"] != alice || m["from"] != from ||
		m["num_segments"] != "1" || m["price"] != nil || m["error_code"] != nil || m["account_sid"] != sid ||
		m["direction"] != "outbound-api" || m["uri"] != messagesPath+"/"+s+".json" || m["date_sent"] != nil {
		t.Errorf("message %v", m)
	}
	if _, err := time.Parse(time.RFC1123Z, m["date_created"].(string)); err != nil || !strings.HasSuffix(m["date_created"].(string), "+0000") {
		t.Errorf("date_created %v: %v", m["date_created"], err)
	}
	if st, got := e.api(t, "GET", messagesPath+"/"+s+".json", nil, true); st != 200 || got["sid"] != s {
		t.Errorf("fetch %d %v", st, got)
	}
	if st, got := e.api(t, "GET", messagesPath+"/SM00000000000000000000000000000000.json", nil, true); st != 404 || got["code"] != 20404.0 {
		t.Errorf("fetch unknown %d %v", st, got)
	}
	st, got := e.api(t, "POST", messagesPath+".json", url.Values{"To": {alice}, "From": {from}, "Body": {"x"}}, false)
	if st != 401 || got["code"] != 20003.0 || got["status"] != 401.0 || got["more_info"] != "https://www.twilio.com/docs/errors/20003" {
		t.Errorf("no auth %d %v", st, got)
	}
	if st, got := e.api(t, "GET", "/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json", nil, true); st != 404 {
		t.Errorf("another account %d %v", st, got)
	}
	for _, c := range []struct {
		form url.Values
		code float64
	}{
		{url.Values{"From": {from}, "Body": {"x"}}, 21604},
		{url.Values{"To": {"+447700900123"}, "From": {from}, "Body": {"x"}}, 21211}, // Ofcom's drama range
		{url.Values{"To": {"07400123456"}, "From": {from}, "Body": {"x"}}, 21211},
		{url.Values{"To": {alice}, "Body": {"x"}}, 21603},
		{url.Values{"To": {alice}, "From": {from}}, 21602},
		{url.Values{"To": {"whatsapp:" + alice}, "From": {from}, "Body": {"x"}}, 21910},
		{url.Values{"To": {"whatsapp:" + alice}, "From": {"whatsapp:" + from}, "ContentSid": {"HXnope"}}, 21655},
		{url.Values{"To": {alice}, "From": {from}, "Body": {strings.Repeat("x", 1601)}}, 21617},
		{url.Values{"To": {alice}, "From": {from}, "Body": {"x"}, "StatusCallback": {"not a url"}}, 21609},
	} {
		st, got := e.api(t, "POST", messagesPath+".json", c.form, true)
		if st != 400 || got["code"] != c.code {
			t.Errorf("%v: %d %v, want 400 %v", c.form, st, got, c.code)
		}
	}
	// Unicode takes UCS-2 segments of 67.
	st, got = e.api(t, "POST", messagesPath+".json", url.Values{"To": {alice}, "From": {from}, "Body": {strings.Repeat("ü✓", 40)}}, true)
	if st != 201 || got["num_segments"] != "2" {
		t.Errorf("unicode %d %v", st, got)
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	e := newEnv(t, twiliosim.Options{DeliveryDelay: time.Hour})
	var sids []string
	for i := range 25 {
		to := alice
		if i%5 == 0 {
			to = bob
		}
		st, m := e.api(t, "POST", messagesPath+".json", url.Values{"To": {to}, "From": {from}, "Body": {fmt.Sprint("m", i)}}, true)
		if st != 201 {
			t.Fatal(st, m)
		}
		if to == alice {
			sids = append(sids, m["sid"].(string))
		}
	}
	slices.Reverse(sids) // newest first
	today := time.Now().UTC().Format(time.DateOnly)
	q := url.Values{"To": {alice}, "PageSize": {"7"}, "DateSent>": {today}}
	path := messagesPath + ".json?" + q.Encode()
	var got []string
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		st, page := e.api(t, "GET", path, nil, true)
		if st != 200 || page["page_size"] != 7.0 {
			t.Fatal(st, page)
		}
		for _, m := range page["messages"].([]any) {
			got = append(got, m.(map[string]any)["sid"].(string))
		}
		path, _ = page["next_page_uri"].(string)
	}
	if !slices.Equal(got, sids) {
		t.Errorf("paged %v\nwant %v", got, sids)
	}
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	yesterday := time.Now().UTC().Add(-24 * time.Hour).Format(time.DateOnly)
	for _, c := range []struct {
		q    url.Values
		want int
	}{
		{url.Values{"To": {bob}}, 5},
		{url.Values{"From": {from}, "PageSize": {"1000"}}, 25},
		{url.Values{"DateSent": {today}}, 25},
		{url.Values{"DateSent>": {tomorrow}}, 0},
		{url.Values{"DateSent<": {yesterday}}, 0},
		{url.Values{"DateSent<": {today}, "To": {alice}}, 20},
		{url.Values{"DateSent>": {time.Now().Format(time.RFC3339)}}, 25},
	} {
		st, page := e.api(t, "GET", messagesPath+".json?"+c.q.Encode(), nil, true)
		if n := len(page["messages"].([]any)); st != 200 || n != c.want {
			t.Errorf("%v: %d messages, want %d", c.q, n, c.want)
		}
	}
}

func TestDeliveryOutcomes(t *testing.T) {
	e := newEnv(t, twiliosim.Options{})
	ctx := context.Background()
	e.control(t, "POST", "/sim/faults", `{"unreachable":["+44 7400 654321"]}`, nil)
	r, err := e.tw.Send(ctx, messaging.Outgoing{ID: "u", Channel: messaging.SMS, To: bob, Body: "x"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "undelivered", func() bool { return slices.Contains(e.rc.statuses(r.ProviderID), "undelivered30003") })
	f, _ := e.tw.Fetch(ctx, r.ProviderID)
	if f.Status != messaging.StatusUndelivered || f.ErrorCode != 30003 || f.Price != "-0.04000" {
		t.Errorf("undelivered %+v", f)
	}

	e.control(t, "POST", "/sim/faults", `{"unreachable":[],"deliveryFailRate":1}`, nil)
	r, err = e.tw.Send(ctx, messaging.Outgoing{ID: "f", Channel: messaging.SMS, To: bob, Body: "y"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "failed", func() bool { return slices.Contains(e.rc.statuses(r.ProviderID), "failed30008") })
	if st := e.rc.statuses(r.ProviderID); slices.Contains(st, "sent") {
		t.Errorf("a failed message was sent: %v", st)
	}
	if f, _ := e.tw.Fetch(ctx, r.ProviderID); f.Status != messaging.StatusFailed || f.Price != "" {
		t.Errorf("failed %+v", f)
	}

	// WhatsApp's 24-hour session: a free-form message fails until the person writes; a template goes.
	e.control(t, "POST", "/sim/faults", `{"deliveryFailRate":0,"whatsAppSession":true}`, nil)
	r, _ = e.tw.Send(ctx, messaging.Outgoing{ID: "w", Channel: messaging.WhatsApp, To: alice, Body: "free"})
	tpl, _ := e.tw.Send(ctx, messaging.Outgoing{ID: "w", Channel: messaging.WhatsApp, To: alice, ContentSID: "HX0123456789abcdef0123456789abcdef"})
	eventually(t, "63016", func() bool { return slices.Contains(e.rc.statuses(r.ProviderID), "failed63016") })
	eventually(t, "the template read", func() bool { return slices.Contains(e.rc.statuses(tpl.ProviderID), "read") })
	if _, err := e.sim.Reply(ctx, twiliosim.Reply{From: alice, Channel: "whatsapp", Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	r, _ = e.tw.Send(ctx, messaging.Outgoing{ID: "w", Channel: messaging.WhatsApp, To: alice, Body: "free again"})
	eventually(t, "read in the session", func() bool { return slices.Contains(e.rc.statuses(r.ProviderID), "read") })
	if n := e.rc.badSigs.Load(); n != 0 {
		t.Errorf("%d bad signatures", n)
	}
}

func TestRepliesAndOptOut(t *testing.T) {
	e := newEnv(t, twiliosim.Options{})
	ctx := context.Background()
	// Before any message, a reply goes to the default sender.
	in, err := e.sim.Reply(ctx, twiliosim.Reply{From: bob, Body: "hello?"})
	if err != nil || in.To != twiliosim.DefaultFrom || in.Webhook != "delivered (200)" {
		t.Errorf("%+v %v", in, err)
	}
	if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "1", Channel: messaging.SMS, To: alice, Body: "x"}); err != nil {
		t.Fatal(err)
	}
	// The page's form: a 303 back to the page.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(e.srv.URL+"/sim/reply", url.Values{"from": {alice}, "body": {"Unsubscribe"}, "channel": {"sms"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "../" {
		t.Errorf("form reply: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !e.sim.OptedOut(alice) {
		t.Error("UNSUBSCRIBE did not opt out")
	}
	var state twiliosim.State
	e.control(t, "GET", "/sim/state", "", &state)
	if !slices.Equal(state.OptOuts, []string{alice}) || len(state.Inbound) != 2 || state.Inbound[0].OptOut != "stop" || state.Inbound[0].To != from {
		t.Errorf("state %+v", state)
	}
	var bad map[string]string
	if st := e.control(t, "POST", "/sim/reply", `{"from":"07400","body":"x"}`, &bad); st != 400 || bad["error"] == "" {
		t.Errorf("bad reply %d %v", st, bad)
	}
	// "stop now" is not a keyword.
	e.control(t, "POST", "/sim/reply", `{"from":"`+bob+`","body":"stop now"}`, nil)
	if e.sim.OptedOut(bob) {
		t.Error("a sentence opted out")
	}
	in2 := e.rc.inbounds()
	if len(in2) != 3 || in2[1].Get("Body") != "Unsubscribe" || in2[1].Get("From") != alice || in2[1].Get("To") != from || e.rc.badSigs.Load() != 0 {
		t.Errorf("inbound webhooks %v", in2)
	}
}

func TestAutoReplyIsDeterministic(t *testing.T) {
	repliers := func() []string {
		e := newEnv(t, twiliosim.Options{Seed: 42, AutoReply: "SAFE", AutoReplyRate: 0.5})
		for i := range 40 {
			to := fmt.Sprintf("+4474001234%02d", i)
			if _, err := e.tw.Send(context.Background(), messaging.Outgoing{ID: "a", Channel: messaging.SMS, To: to, Body: "Are you safe?"}); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, "every message delivered and answered", func() bool {
			st := e.sim.State(0)
			return st.Stats.ByStatus["delivered"] == 40 && st.Stats.Inbound == st.Stats.AutoReplies &&
				len(e.rc.inbounds()) == st.Stats.AutoReplies
		})
		var out []string
		for _, in := range e.sim.Replies() {
			if !in.Auto || in.Body != "SAFE" || in.To != from {
				t.Errorf("reply %+v", in)
			}
			out = append(out, in.From)
		}
		slices.Sort(out)
		return out
	}
	a, b := repliers(), repliers()
	if !slices.Equal(a, b) {
		t.Errorf("two runs with one seed differ:\n%v\n%v", a, b)
	}
	if len(a) < 8 || len(a) > 32 {
		t.Errorf("%d of 40 replied at rate 0.5", len(a))
	}
}

func TestControlAPI(t *testing.T) {
	e := newEnv(t, twiliosim.Options{Rate: 100})
	ctx := context.Background()
	for range 3 {
		if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "d", Channel: messaging.SMS, To: alice, Body: "same <b>body</b>"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.tw.Send(ctx, messaging.Outgoing{ID: "d", Channel: messaging.SMS, To: bob, Body: "same <b>body</b>"}); err != nil {
		t.Fatal(err)
	}
	var stats twiliosim.Stats
	e.control(t, "GET", "/sim/stats", "", &stats)
	if stats.Accepted != 4 || stats.Duplicates != 1 || stats.DuplicateSends != 2 || stats.PerRecipient[alice] != 3 || stats.PerRecipient[bob] != 1 {
		t.Errorf("stats %+v", stats)
	}

	var f twiliosim.Faults
	e.control(t, "POST", "/sim/faults", `{"failRate":0.5,"callbacks":{"duplicate":true}}`, &f)
	if f.FailRate != 0.5 || !f.Callbacks.Duplicate || f.Rate != 100 || f.DeliveryDelayMs != 5 {
		t.Errorf("merged faults %+v", f)
	}
	e.control(t, "POST", "/sim/faults", `{"callbacks":{"dropRate":0.1}}`, &f)
	if !f.Callbacks.Duplicate || f.Callbacks.DropRate != 0.1 {
		t.Errorf("merged nested faults %+v", f)
	}
	e.control(t, "PUT", "/sim/faults", `{"latencyMs":1}`, &f)
	if f.FailRate != 0 || f.Callbacks.Duplicate || f.LatencyMs != 1 || f.Rate != 0 || f.FailStatus != 503 {
		t.Errorf("replaced faults %+v", f)
	}
	if st := e.control(t, "POST", "/sim/faults", `{"failRate":"x"}`, nil); st != 400 {
		t.Errorf("bad faults %d", st)
	}

	for _, p := range []string{"/", "/sim"} {
		resp, err := http.Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page := string(b)
		if resp.StatusCode != 200 || !strings.Contains(page, "same &lt;b&gt;body&lt;/b&gt;") || !strings.Contains(page, alice) || strings.Contains(page, "<b>body") {
			t.Errorf("page %s: %d\n%s", p, resp.StatusCode, page)
		}
	}

	e.control(t, "POST", "/sim/reset", "", nil)
	var state twiliosim.State
	e.control(t, "GET", "/sim/state", "", &state)
	if len(state.Messages) != 0 || state.Stats.Accepted != 0 || state.Faults.LatencyMs != 0 || state.Faults.Rate != 100 {
		t.Errorf("after reset %+v", state)
	}
}

// TestManySends pushes sends from many clients at once: all are accepted, every callback is delivered,
// and the simulator's own goroutines stay bounded.
func TestManySends(t *testing.T) {
	n, clients := 2000, 20
	if raceEnabled {
		n = 400
	}
	e := newEnv(t, twiliosim.Options{DeliveryDelay: time.Millisecond})
	base := runtime.NumGoroutine()
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				if g := int64(runtime.NumGoroutine()); g > peak.Load() {
					peak.Store(g)
				}
			}
		}
	}()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				to := fmt.Sprintf("+4474%08d", 10000000+i)
				if _, err := e.tw.Send(context.Background(), messaging.Outgoing{ID: fmt.Sprint(i), Channel: messaging.SMS, To: to, Body: "bulk"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	eventually(t, "every callback", func() bool { return e.sim.Stats().CallbacksSent == 3*n })
	close(stop)
	st := e.sim.Stats()
	if st.Accepted != n || st.ByStatus["delivered"] != n || st.CallbacksFailed != 0 || e.rc.badSigs.Load() != 0 {
		t.Errorf("stats %+v", st)
	}
	// Senders, their connections on both sides, the receiver's connections and the worker pool: far
	// fewer than one per message.
	if p := peak.Load(); p > int64(base)+400 {
		t.Errorf("%d goroutines at the peak (%d before)", p, base)
	}
}

// BenchmarkSend sends through the SDK into the simulator (rate unlimited), status callbacks on.
func BenchmarkSend(b *testing.B) {
	e := newEnv(b, twiliosim.Options{DeliveryDelay: time.Millisecond})
	var i atomic.Int64
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := i.Add(1)
			to := fmt.Sprintf("+4474%08d", 10000000+k%1000000)
			if _, err := e.tw.Send(context.Background(), messaging.Outgoing{ID: fmt.Sprint(k), Channel: messaging.SMS, To: to, Body: "bench"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
