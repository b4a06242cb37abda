package sendgridsim_test

import (
	"bytes"
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/sim/sendgridsim"
)

const apiKey = "SG.test-key"

// post is one Event Webhook request the receiver got.
type post struct {
	verified bool
	events   []messaging.Event
	raw      []map[string]any
}

// receiver is the application's Event Webhook endpoint: it verifies each POST as the API handler will.
type receiver struct {
	pub      string
	delay    time.Duration
	mu       sync.Mutex
	posts    []post
	failNext int // answer 500 to so many POSTs
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	time.Sleep(rc.delay)
	p := post{verified: messaging.VerifySendGrid(rc.pub, body, r.Header.Get(messaging.SendGridSignatureHeader),
		r.Header.Get(messaging.SendGridTimestampHeader)) &&
		messaging.SendGridTimestampFresh(r.Header.Get(messaging.SendGridTimestampHeader), time.Now())}
	p.events, _ = messaging.ParseSendGridEvents(body)
	_ = json.Unmarshal(body, &p.raw)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.failNext > 0 {
		rc.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	rc.posts = append(rc.posts, p)
	if !p.verified {
		w.WriteHeader(http.StatusForbidden)
	}
}

func (rc *receiver) snapshot() []post {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.posts)
}

// events are the verified events, in the order they arrived.
func (rc *receiver) events() []messaging.Event {
	var out []messaging.Event
	for _, p := range rc.snapshot() {
		if p.verified {
			out = append(out, p.events...)
		}
	}
	return out
}

// eventsOf are the verified events carrying our message id.
func (rc *receiver) eventsOf(id string) []messaging.Event {
	var out []messaging.Event
	for _, e := range rc.events() {
		if e.MessageID == id {
			out = append(out, e)
		}
	}
	return out
}

func has(events []messaging.Event, raw string) bool {
	return slices.ContainsFunc(events, func(e messaging.Event) bool { return e.Raw == raw })
}

type harness struct {
	t   *testing.T
	sim *sendgridsim.Sim
	srv *httptest.Server
	rc  *receiver
	sg  *messaging.SendGrid
}

func start(t *testing.T, delay time.Duration) *harness {
	t.Helper()
	key, pub := messaging.SendGridWebhookKeyFromSeed([]byte("test seed for the sendgrid simulator webhook"))
	rc := &receiver{pub: pub}
	events := httptest.NewServer(rc)
	sim := sendgridsim.New(sendgridsim.Options{APIKey: apiKey, EventsURL: events.URL + "/webhooks/sendgrid", SigningKey: key, DeliveryDelay: delay})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
		events.Close()
	})
	require.Equal(t, pub, sim.PublicKey())
	h := &harness{t: t, sim: sim, srv: srv, rc: rc}
	h.sg = h.provider(apiKey)
	return h
}

func (h *harness) provider(key string) *messaging.SendGrid {
	return messaging.NewSendGrid(messaging.SendGridConfig{
		APIKey: key, From: "vetting@signetassure.example", FromName: "SignetAssure", BaseURL: h.srv.URL,
	}, &http.Client{Timeout: 10 * time.Second})
}

// waitFor polls cond until it holds, failing the test after a deadline.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s; stats %+v", what, h.sim.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// do calls the simulator with a JSON body (or raw bytes), authorised.
func (h *harness) do(method, path string, body any) (int, http.Header, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func email(id, to string) messaging.Outgoing {
	return messaging.Outgoing{
		ID: id, Channel: messaging.Email, To: to, Subject: "Your vetting case " + id,
		Body: "Dear applicant,\nplease complete your form.", HTML: "<p>Dear applicant, please <b>complete</b> your form.</p>",
		FirstAttempt: time.Now(),
	}
}

func TestSendDeliversSignedEvents(t *testing.T) {
	h := start(t, 20*time.Millisecond)
	ctx := context.Background()
	m := email("msg-1", "jane@example.com")
	r, err := h.sg.Send(ctx, m)
	require.NoError(t, err)
	assert.Len(t, r.ProviderID, 22)
	assert.Equal(t, messaging.StatusQueued, r.Status)

	h.waitFor("delivered", func() bool { return has(h.rc.eventsOf("msg-1"), "delivered") })
	// The receiver has the POST before the simulator has read its answer and counted it.
	h.waitFor("counted", func() bool { return h.sim.Stats().EventsSent == 2 })
	for _, p := range h.rc.snapshot() {
		assert.True(t, p.verified, "every POST verifies")
	}
	events := h.rc.eventsOf("msg-1")
	require.Len(t, events, 2)
	byRaw := map[string]messaging.Event{}
	for _, e := range events {
		byRaw[e.Raw] = e
		assert.Equal(t, r.ProviderID, e.ProviderID)
		assert.Equal(t, "jane@example.com", e.Recipient)
		assert.NotEmpty(t, e.EventID)
		assert.WithinDuration(t, time.Now(), e.At, time.Minute)
	}
	assert.Equal(t, messaging.StatusQueued, byRaw["processed"].Status)
	assert.Equal(t, messaging.StatusDelivered, byRaw["delivered"].Status)
	assert.NotEqual(t, byRaw["processed"].EventID, byRaw["delivered"].EventID)
	assert.False(t, byRaw["delivered"].At.Before(byRaw["processed"].At))

	raw := h.rc.snapshot()[0].raw[0]
	assert.Equal(t, "msg-1", raw["sa_message_id"], "the custom argument comes back as a top-level key")
	assert.True(t, strings.HasPrefix(raw["sg_message_id"].(string), r.ProviderID+".filter"), raw["sg_message_id"])
	assert.Equal(t, "<"+r.ProviderID+"@ismtpd-sim.sendgrid.net>", raw["smtp-id"])
	for _, k := range []string{"email", "timestamp", "event", "sg_event_id"} {
		assert.Contains(t, raw, k)
	}

	got, ok, err := h.sg.Find(ctx, m)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, messaging.Receipt{ProviderID: r.ProviderID, Status: messaging.StatusDelivered}, got)
	got, err = h.sg.Fetch(ctx, r.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, messaging.Receipt{ProviderID: r.ProviderID, Status: messaging.StatusDelivered}, got)

	stored, ok := h.sim.Message(r.ProviderID)
	require.True(t, ok)
	assert.Equal(t, m.Body, stored.Text)
	assert.Equal(t, m.HTML, stored.HTML)
	assert.Equal(t, m.Subject, stored.Subject)
	assert.Equal(t, "SignetAssure", stored.FromName)
	assert.Equal(t, map[string]string{"sa_message_id": "msg-1"}, stored.CustomArgs)
	assert.Equal(t, "delivered", stored.Status)
	st := h.sim.Stats()
	assert.Equal(t, 1, st.Accepted)
	assert.Equal(t, 2, st.EventsSent)
}

func TestSendErrors(t *testing.T) {
	h := start(t, 0)
	ctx := context.Background()

	_, err := h.provider("SG.wrong").Send(ctx, email("m-key", "jane@example.com"))
	var e *messaging.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, messaging.Refused, e.Kind)
	assert.Equal(t, http.StatusUnauthorized, e.Code)

	_, err = h.sg.Send(ctx, email("m-addr", "not-an-address"))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, messaging.Invalid, e.Kind)
	assert.Equal(t, http.StatusBadRequest, e.Code)
	assert.Contains(t, e.Message, "personalizations.0.to.0.email")
	assert.False(t, e.Retryable())

	h.sim.SetFaults(sendgridsim.Faults{FailNext: 1, FailKinds: []string{"503"}})
	_, err = h.sg.Send(ctx, email("m-503", "jane@example.com"))
	require.ErrorAs(t, err, &e)
	assert.Equal(t, messaging.Transient, e.Kind)
	assert.Equal(t, http.StatusServiceUnavailable, e.Code)
	assert.False(t, e.Ambiguous)
	assert.True(t, e.Retryable())

	h.sim.SetFaults(sendgridsim.Faults{FailNext: 1, FailKinds: []string{"429"}})
	_, err = h.sg.Send(ctx, email("m-429", "jane@example.com"))
	assert.Equal(t, messaging.RateLimited, messaging.KindOf(err))

	h.sim.SetFaults(sendgridsim.Faults{FailNext: 1, FailKinds: []string{"500"}})
	_, err = h.sg.Send(ctx, email("m-500", "jane@example.com"))
	assert.Equal(t, messaging.Transient, messaging.KindOf(err))

	st := h.sim.Stats()
	assert.Equal(t, 0, st.Accepted)
	assert.Equal(t, 2, st.Rejected)
	assert.Equal(t, 3, st.Faulted)
	assert.Empty(t, h.sim.Messages(), "nothing failed was stored")

	_, err = h.sg.Send(ctx, email("m-ok", "jane@example.com"))
	require.NoError(t, err, "the faults were used up")
}

func TestTimeoutAfterSaveIsAmbiguousAndFound(t *testing.T) {
	h := start(t, 0)
	m := email("msg-timeout", "sam@example.com")
	h.sim.SetFaults(sendgridsim.Faults{SaveThenTimeout: 1, TimeoutMs: 10_000})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := h.sg.Send(ctx, m)
	var e *messaging.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, messaging.Transient, e.Kind)
	assert.True(t, e.Ambiguous, "the request was written and no answer came")
	h.sim.SetFaults(sendgridsim.Faults{})

	got, ok, err := h.sg.Find(context.Background(), m)
	require.NoError(t, err)
	require.True(t, ok, "the send was taken")
	msgs := h.sim.Messages()
	require.Len(t, msgs, 1, "exactly one stored")
	assert.Equal(t, msgs[0].MessageID, got.ProviderID)
	assert.Equal(t, "msg-timeout", msgs[0].CustomArgs["sa_message_id"])
	st := h.sim.Stats()
	assert.Equal(t, 1, st.Accepted)
	assert.Equal(t, 1, st.TimedOut)
	h.waitFor("the stored message's events", func() bool { return has(h.rc.eventsOf("msg-timeout"), "delivered") })

	_, ok, err = h.sg.Find(context.Background(), email("msg-never-sent", "sam@example.com"))
	require.NoError(t, err)
	assert.False(t, ok)

	h.sim.SetFaults(sendgridsim.Faults{ActivityUnavailable: true})
	_, ok, err = h.sg.Find(context.Background(), m)
	require.NoError(t, err, "an account without the Email Activity add-on")
	assert.False(t, ok)
	r, err := h.sg.Fetch(context.Background(), got.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, messaging.Receipt{ProviderID: got.ProviderID}, r)

	h.sim.SetFaults(sendgridsim.Faults{ActivityLagMs: 60_000})
	_, ok, err = h.sg.Find(context.Background(), m)
	require.NoError(t, err)
	assert.False(t, ok, "not in the feed yet")
}

func TestUnsubscribeThenDropped(t *testing.T) {
	h := start(t, 0)
	ctx := context.Background()
	_, err := h.sg.Send(ctx, email("msg-a", "Bob@Example.com"))
	require.NoError(t, err)
	h.waitFor("delivered", func() bool { return has(h.rc.eventsOf("msg-a"), "delivered") })

	code, _, body := h.do("POST", "/sim/unsubscribe", map[string]string{"email": "bob@example.com"})
	require.Equal(t, http.StatusOK, code, string(body))
	assert.JSONEq(t, `{"email":"bob@example.com","suppressed":true,"event":true}`, string(body))
	h.waitFor("unsubscribe", func() bool { return has(h.rc.eventsOf("msg-a"), "unsubscribe") })
	for _, e := range h.rc.eventsOf("msg-a") {
		if e.Raw == "unsubscribe" {
			assert.True(t, e.OptOut)
			assert.Equal(t, messaging.Status(""), e.Status)
			assert.Equal(t, "Bob@Example.com", e.Recipient)
		}
	}

	r, err := h.sg.Send(ctx, email("msg-b", "bob@example.com"))
	require.NoError(t, err, "SendGrid accepts sends to suppressed addresses")
	h.waitFor("dropped", func() bool { return has(h.rc.eventsOf("msg-b"), "dropped") })
	for _, e := range h.rc.eventsOf("msg-b") {
		if e.Raw == "dropped" {
			assert.Equal(t, messaging.StatusFailed, e.Status)
			assert.Equal(t, "Unsubscribed Address", e.Reason)
			assert.Equal(t, r.ProviderID, e.ProviderID)
		}
	}
	got, ok, err := h.sg.Find(ctx, email("msg-b", "bob@example.com"))
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, messaging.StatusFailed, got.Status)

	code, _, _ = h.do("POST", "/sim/unsubscribe", map[string]string{"email": "nobody@example.com", "kind": "spamreport"})
	assert.Equal(t, http.StatusOK, code)
	code, _, body = h.do("POST", "/sim/unsubscribe", map[string]string{"email": "nonsense"})
	assert.Equal(t, http.StatusBadRequest, code, string(body))
	state := h.sim.State(-1)
	require.Len(t, state.Suppressions, 2)

	code, _, _ = h.do("POST", "/sim/resubscribe", map[string]string{"email": "bob@example.com"})
	require.Equal(t, http.StatusOK, code)
	_, err = h.sg.Send(ctx, email("msg-c", "bob@example.com"))
	require.NoError(t, err)
	h.waitFor("delivered after resubscribing", func() bool { return has(h.rc.eventsOf("msg-c"), "delivered") })
}

func TestSpamReportAndEngagement(t *testing.T) {
	h := start(t, 0)
	r, err := h.sg.Send(context.Background(), email("msg-s", "sue@example.com"))
	require.NoError(t, err)
	h.waitFor("delivered", func() bool { return has(h.rc.eventsOf("msg-s"), "delivered") })
	code, _, _ := h.do("POST", "/sim/messages/"+r.ProviderID+"/open", nil)
	require.Equal(t, http.StatusOK, code)
	h.waitFor("open", func() bool { return has(h.rc.eventsOf("msg-s"), "open") })
	got, err := h.sg.Fetch(context.Background(), r.ProviderID)
	require.NoError(t, err)
	assert.Equal(t, messaging.StatusRead, got.Status, "opened")

	_, err = h.sim.Unsubscribe("sue@example.com", sendgridsim.KindSpamReport)
	require.NoError(t, err)
	h.waitFor("spamreport", func() bool { return has(h.rc.eventsOf("msg-s"), "spamreport") })
	for _, e := range h.rc.eventsOf("msg-s") {
		assert.Equal(t, e.Raw == "spamreport", e.OptOut, e.Raw)
	}
	code, _, _ = h.do("POST", "/sim/messages/nope/open", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

func TestDuplicateEvents(t *testing.T) {
	h := start(t, 0)
	h.sim.SetFaults(sendgridsim.Faults{DuplicateEvents: true})
	_, err := h.sg.Send(context.Background(), email("msg-d", "dee@example.com"))
	require.NoError(t, err)
	h.waitFor("four events", func() bool { return len(h.rc.eventsOf("msg-d")) == 4 })
	seen := map[string]int{}
	for _, e := range h.rc.eventsOf("msg-d") {
		seen[e.EventID]++
	}
	assert.Len(t, seen, 2)
	for id, n := range seen {
		assert.Equal(t, 2, n, id)
	}
	assert.Equal(t, 2, h.sim.Stats().EventsDuplicated)
}

func TestOutOfOrderEvents(t *testing.T) {
	h := start(t, 100*time.Millisecond)
	h.sim.SetFaults(sendgridsim.Faults{OutOfOrder: true})
	_, err := h.sg.Send(context.Background(), email("msg-o", "olly@example.com"))
	require.NoError(t, err)
	h.waitFor("both events", func() bool { return len(h.rc.eventsOf("msg-o")) == 2 })
	events := h.rc.eventsOf("msg-o")
	assert.Equal(t, "delivered", events[0].Raw, "delivered arrives first")
	assert.Equal(t, "processed", events[1].Raw)
	assert.True(t, events[1].At.Before(events[0].At) || events[1].At.Equal(events[0].At), "the timestamps keep their order")
	stored := h.sim.Messages()[0]
	assert.Equal(t, "delivered", stored.Status, "a late processed does not move it back")
}

func TestBadSignature(t *testing.T) {
	h := start(t, 0)
	h.sim.SetFaults(sendgridsim.Faults{BadSignature: true})
	_, err := h.sg.Send(context.Background(), email("msg-sig", "sig@example.com"))
	require.NoError(t, err)
	// The receiver refuses each POST (403); the simulator retries, then gives the events up.
	h.waitFor("events given up", func() bool { return h.sim.Stats().EventsFailed == 2 })
	posts := h.rc.snapshot()
	require.NotEmpty(t, posts)
	for _, p := range posts {
		assert.False(t, p.verified)
		assert.NotEmpty(t, p.events, "the body itself is fine")
	}
	assert.Empty(t, h.rc.events())
	assert.GreaterOrEqual(t, h.sim.Stats().WebhookFailures, 4)
}

func TestWebhookRetried(t *testing.T) {
	h := start(t, 0)
	h.rc.mu.Lock()
	h.rc.failNext = 2
	h.rc.mu.Unlock()
	_, err := h.sg.Send(context.Background(), email("msg-r", "rita@example.com"))
	require.NoError(t, err)
	h.waitFor("delivered despite two failed POSTs", func() bool { return has(h.rc.eventsOf("msg-r"), "delivered") })
	h.waitFor("all sent", func() bool { return h.sim.Stats().EventsSent == 2 })
	st := h.sim.Stats()
	assert.Equal(t, 2, st.WebhookFailures)
	assert.Equal(t, 0, st.EventsFailed)
}

func TestBounceDeferAndDrop(t *testing.T) {
	h := start(t, 10*time.Millisecond)
	ctx := context.Background()
	h.sim.SetFaults(sendgridsim.Faults{Bouncing: []string{"gone@example.com"}, Deferring: []string{"slow@example.com"}})
	_, err := h.sg.Send(ctx, email("msg-bounce", "gone@example.com"))
	require.NoError(t, err)
	_, err = h.sg.Send(ctx, email("msg-defer", "slow@example.com"))
	require.NoError(t, err)
	h.waitFor("bounce", func() bool { return has(h.rc.eventsOf("msg-bounce"), "bounce") })
	h.waitFor("deferred, then delivered", func() bool { return has(h.rc.eventsOf("msg-defer"), "delivered") })
	for _, e := range h.rc.eventsOf("msg-bounce") {
		if e.Raw == "bounce" {
			assert.Equal(t, messaging.StatusFailed, e.Status)
			assert.Contains(t, e.Reason, "5.1.1")
		}
	}
	assert.True(t, has(h.rc.eventsOf("msg-defer"), "deferred"))

	_, err = h.sg.Send(ctx, email("msg-bounce-2", "gone@example.com"))
	require.NoError(t, err)
	h.waitFor("dropped", func() bool { return has(h.rc.eventsOf("msg-bounce-2"), "dropped") })
	assert.Equal(t, "Bounced Address", h.rc.eventsOf("msg-bounce-2")[1].Reason)

	h.sim.SetFaults(sendgridsim.Faults{DropRate: 1})
	_, err = h.sg.Send(ctx, email("msg-lost", "lost@example.com"))
	require.NoError(t, err)
	h.waitFor("events dropped", func() bool { return h.sim.Stats().EventsDropped == 2 })
	assert.Empty(t, h.rc.eventsOf("msg-lost"))
}

func TestManyEmailsBatchedWithBoundedGoroutines(t *testing.T) {
	h := start(t, 0)
	h.rc.delay = 5 * time.Millisecond // a receiver a little slower than the senders: events pile up
	const n, senders = 2000, 16
	base := runtime.NumGoroutine()
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if g := int64(runtime.NumGoroutine()); g > peak.Load() {
				peak.Store(g)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				_, err := h.sg.Send(context.Background(), email(fmt.Sprintf("bulk-%d", i), fmt.Sprintf("p%d@example.com", i)))
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	h.waitFor("every event posted", func() bool { return h.sim.Stats().EventsSent == 2*n })
	close(stop)
	<-sampled
	assert.Less(t, peak.Load()-int64(base), int64(200), "goroutines stay bounded")
	posts := h.rc.snapshot()
	largest := 0
	for _, p := range posts {
		largest = max(largest, len(p.events))
		assert.LessOrEqual(t, len(p.events), sendgridsim.BatchMax)
	}
	assert.Greater(t, largest, 1, "several events per POST when many are waiting")
	assert.Less(t, len(posts), 2*n)
	assert.Equal(t, n, h.sim.Stats().Accepted)
}

func TestMailSendValidation(t *testing.T) {
	h := start(t, 0)
	good := func() map[string]any {
		return map[string]any{
			"from":             map[string]any{"email": "vetting@signetassure.example"},
			"subject":          "Hello",
			"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "a@example.com"}}}},
			"content":          []any{map[string]any{"type": "text/plain", "value": "Hi"}},
		}
	}
	fields := func(body []byte) []string {
		var out struct {
			Errors []struct {
				Field *string `json:"field"`
			} `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(body, &out), string(body))
		var fs []string
		for _, e := range out.Errors {
			if e.Field != nil {
				fs = append(fs, *e.Field)
			} else {
				fs = append(fs, "null")
			}
		}
		return fs
	}
	cases := []struct {
		name   string
		change func(map[string]any)
		fields []string
	}{
		{"from", func(m map[string]any) { m["from"] = map[string]any{"email": "nope"} }, []string{"from.email"}},
		{"no from", func(m map[string]any) { delete(m, "from") }, []string{"from.email"}},
		{"subject", func(m map[string]any) { delete(m, "subject") }, []string{"subject"}},
		{"content", func(m map[string]any) { delete(m, "content") }, []string{"content"}},
		{"empty content", func(m map[string]any) { m["content"] = []any{map[string]any{"type": "text/plain", "value": ""}} }, []string{"content.0.value"}},
		{"no personalizations", func(m map[string]any) { delete(m, "personalizations") }, []string{"personalizations"}},
		{"no to", func(m map[string]any) { m["personalizations"] = []any{map[string]any{}} }, []string{"personalizations.0.to"}},
		{"cc", func(m map[string]any) {
			m["personalizations"] = []any{map[string]any{"to": []any{map[string]any{"email": "a@example.com"}}, "cc": []any{map[string]any{"email": "Bob <b@example.com>"}}}}
		}, []string{"personalizations.0.cc.0.email"}},
	}
	for _, c := range cases {
		m := good()
		c.change(m)
		code, _, body := h.do("POST", "/v3/mail/send", m)
		assert.Equal(t, http.StatusBadRequest, code, c.name)
		assert.Equal(t, c.fields, fields(body), c.name)
	}

	code, _, body := h.do("POST", "/v3/mail/send", []byte(`{"from":`))
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Equal(t, []string{"null"}, fields(body))

	req, _ := http.NewRequest("POST", h.srv.URL+"/v3/mail/send", strings.NewReader(`{}`))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, []string{"null"}, fields(body))

	// A dynamic template needs neither subject nor content.
	tmpl := good()
	delete(tmpl, "subject")
	delete(tmpl, "content")
	tmpl["template_id"] = "d-1234"
	tmpl["personalizations"] = []any{map[string]any{
		"to": []any{map[string]any{"email": "a@example.com"}}, "dynamic_template_data": map[string]any{"name": "Jane"},
	}}
	code, hdr, body := h.do("POST", "/v3/mail/send", tmpl)
	assert.Equal(t, http.StatusAccepted, code, string(body))
	assert.Empty(t, body)
	assert.Len(t, hdr.Get("X-Message-Id"), 22)

	// Two personalizations, one with cc: three recipients, one X-Message-Id, three msg_ids.
	multi := good()
	multi["custom_args"] = map[string]any{"batch": "b1"}
	multi["personalizations"] = []any{
		map[string]any{"to": []any{map[string]any{"email": "x@example.com"}}, "cc": []any{map[string]any{"email": "y@example.com"}}, "custom_args": map[string]any{"sa_message_id": "m-x"}},
		map[string]any{"to": []any{map[string]any{"email": "z@example.com"}}, "subject": "Own subject"},
	}
	code, hdr, _ = h.do("POST", "/v3/mail/send", multi)
	require.Equal(t, http.StatusAccepted, code)
	xid := hdr.Get("X-Message-Id")
	var ids []string
	for _, m := range h.sim.Messages() {
		if m.MessageID == xid {
			ids = append(ids, m.MsgID)
			assert.Equal(t, "b1", m.CustomArgs["batch"])
			if m.To == "z@example.com" {
				assert.Equal(t, "Own subject", m.Subject)
			}
		}
	}
	assert.Len(t, ids, 3)
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(ids))), 3)
	st := h.sim.Stats()
	assert.Equal(t, len(cases)+2, st.Rejected)
	assert.Equal(t, 2, st.Accepted)
}

func TestEmailActivityAPI(t *testing.T) {
	h := start(t, 0)
	ctx := context.Background()
	r1, err := h.sg.Send(ctx, email("act-1", "ann@example.com"))
	require.NoError(t, err)
	_, err = h.sg.Send(ctx, email("act-2", "ben@example.com"))
	require.NoError(t, err)
	_, err = h.sg.Send(ctx, email("act-3", "ann@example.com"))
	require.NoError(t, err)

	list := func(query string, limit int) (int, []map[string]any) {
		code, _, body := h.do("GET", fmt.Sprintf("/v3/messages?limit=%d&query=%s", limit, url.QueryEscape(query)), nil)
		var out struct {
			Messages []map[string]any `json:"messages"`
		}
		if code == http.StatusOK {
			require.NoError(t, json.Unmarshal(body, &out))
		}
		return code, out.Messages
	}
	code, msgs := list(`to_email="ann@example.com"`, 10)
	require.Equal(t, http.StatusOK, code)
	require.Len(t, msgs, 2)
	assert.Equal(t, "Your vetting case act-3", msgs[0]["subject"], "newest first")
	for _, k := range []string{"msg_id", "from_email", "subject", "to_email", "status", "opens_count", "clicks_count", "last_event_time"} {
		assert.Contains(t, msgs[0], k)
	}
	_, msgs = list(`to_email="ann@example.com"`, 1)
	assert.Len(t, msgs, 1)
	_, msgs = list(`unique_args['sa_message_id']="act-1"`, 10)
	require.Len(t, msgs, 1)
	assert.True(t, strings.HasPrefix(msgs[0]["msg_id"].(string), r1.ProviderID+"."))
	msgID := msgs[0]["msg_id"].(string)
	_, msgs = list(`to_email="ann@example.com" AND unique_args['sa_message_id']="act-2"`, 10)
	assert.Empty(t, msgs)
	from := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	to := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	_, msgs = list(fmt.Sprintf(`unique_args['sa_message_id']="act-2" AND last_event_time BETWEEN TIMESTAMP "%s" AND TIMESTAMP "%s"`, from, to), 10)
	assert.Len(t, msgs, 1)
	_, msgs = list(`msg_id="`+msgID+`"`, 10)
	assert.Len(t, msgs, 1)
	_, msgs = list(``, 10)
	assert.Len(t, msgs, 3)
	code, _ = list(`colour="blue"`, 10)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = list(`to_email="a@example.com" OR x`, 10)
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = list(``, 0)
	assert.Equal(t, http.StatusBadRequest, code)

	code, _, body := h.do("GET", "/v3/messages/"+msgID, nil)
	require.Equal(t, http.StatusOK, code)
	var one map[string]any
	require.NoError(t, json.Unmarshal(body, &one))
	assert.Equal(t, msgID, one["msg_id"])
	assert.Contains(t, one, "events")
	code, _, _ = h.do("GET", "/v3/messages/"+r1.ProviderID, nil)
	assert.Equal(t, http.StatusOK, code, "by X-Message-Id too")
	code, _, _ = h.do("GET", "/v3/messages/unknown", nil)
	assert.Equal(t, http.StatusNotFound, code)
}

func TestPageStateAndControl(t *testing.T) {
	h := start(t, 0)
	ctx := context.Background()
	m := email("msg-page", "pat@example.com")
	m.HTML = `<p>Hello <script>alert(1)</script></p>`
	_, err := h.sg.Send(ctx, m)
	require.NoError(t, err)
	_, err = h.sg.Send(ctx, m) // the same message sent again: a duplicate
	require.NoError(t, err)
	_, err = h.sg.Send(ctx, email("msg-other", "pat@example.com"))
	require.NoError(t, err)
	h.waitFor("events", func() bool { return h.sim.Stats().EventsSent == 6 })

	code, hdr, body := h.do("GET", "/", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, hdr.Get("Content-Type"), "text/html")
	page := string(body)
	assert.Contains(t, page, "Your vetting case msg-page")
	assert.Contains(t, page, "pat@example.com")
	assert.Contains(t, page, "delivered")
	assert.Contains(t, page, "Dear applicant")
	assert.Contains(t, page, `sandbox=""`)
	assert.NotContains(t, page, "<script>alert(1)</script>", "the HTML body is escaped into a sandboxed frame")
	assert.Less(t, strings.Index(page, "msg-other"), strings.Index(page, "Your vetting case msg-page"), "newest first")

	code, _, body = h.do("GET", "/sim/state?limit=2", nil)
	require.Equal(t, http.StatusOK, code)
	var st sendgridsim.State
	require.NoError(t, json.Unmarshal(body, &st))
	assert.Len(t, st.Messages, 2)
	assert.Equal(t, 3, st.Total)
	assert.Equal(t, "Your vetting case msg-other", st.Messages[0].Subject)
	assert.Equal(t, h.sim.PublicKey(), st.PublicKey)

	code, _, body = h.do("GET", "/sim/stats", nil)
	require.Equal(t, http.StatusOK, code)
	var stats sendgridsim.Stats
	require.NoError(t, json.Unmarshal(body, &stats))
	assert.Equal(t, 3, stats.Accepted)
	assert.Equal(t, 1, stats.Duplicates)

	// POST /sim/faults changes what it names; PUT replaces.
	code, _, _ = h.do("POST", "/sim/faults", map[string]any{"failRate": 0.5, "bouncing": []string{"b@example.com"}})
	require.Equal(t, http.StatusOK, code)
	code, _, body = h.do("POST", "/sim/faults", map[string]any{"duplicateEvents": true})
	require.Equal(t, http.StatusOK, code)
	var f sendgridsim.Faults
	require.NoError(t, json.Unmarshal(body, &f))
	assert.Equal(t, sendgridsim.Faults{FailRate: 0.5, Bouncing: []string{"b@example.com"}, DuplicateEvents: true}, f)
	code, _, _ = h.do("PUT", "/sim/faults", map[string]any{"latencyMs": 1})
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, sendgridsim.Faults{LatencyMs: 1}, h.sim.Faults())

	// The page's forms.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		PostForm(h.srv.URL+"/sim/unsubscribe", url.Values{"email": {"pat@example.com"}})
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	h.waitFor("unsubscribe", func() bool { return has(h.rc.eventsOf("msg-other"), "unsubscribe") })
	_, _, body = h.do("GET", "/", nil)
	assert.Contains(t, string(body), "Unsubscribed Address")

	code, _, _ = h.do("POST", "/sim/reset", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, h.sim.Messages())
	assert.Equal(t, sendgridsim.Stats{}, h.sim.Stats())
	assert.Equal(t, sendgridsim.Faults{}, h.sim.Faults())
	assert.Empty(t, h.sim.State(-1).Suppressions)
}
