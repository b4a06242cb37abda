package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/webhooks"
	"github.com/signetassure/signetassure/worker"
	"github.com/signetassure/signetassure/workflows"
)

// delivery is one request a receiver got.
type delivery struct {
	ID        string // webhook-id
	Header    http.Header
	Body      []byte
	At        time.Time
	Answered  int // the status answered (0: held until the sender gave up)
	Verified  bool
	EventType string
	PersonID  string
}

// receiver is a webhook receiver: it verifies every request with the Standard Webhooks reference library
// (the secret it is given) and answers a scripted sequence of statuses, then 200. A status of 429 comes
// with Retry-After: 1; scriptTimeout holds the request until the sender gives up.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	secret string
	script []int
	got    []delivery
	seen   chan struct{}
}

const scriptTimeout = -1

func newReceiver(t *testing.T, script ...int) *receiver {
	r := &receiver{t: t, script: script, seen: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	d := delivery{ID: req.Header.Get("webhook-id"), Header: req.Header.Clone(), Body: body, At: time.Now()}
	if r.secret != "" {
		wh, err := standardwebhooks.NewWebhook(r.secret)
		d.Verified = err == nil && wh.Verify(body, req.Header) == nil
	}
	var env struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			PersonID string `json:"personId"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &env) == nil {
		d.EventType, d.PersonID = env.Type, env.Data.PersonID
		if env.ID != d.ID {
			d.Verified = false // the webhook-id is the event's id
		}
	}
	status := http.StatusOK
	if len(r.script) > 0 {
		status, r.script = r.script[0], r.script[1:]
	}
	if status != scriptTimeout {
		d.Answered = status
	}
	r.got = append(r.got, d)
	r.mu.Unlock()
	r.seen <- struct{}{}
	switch status {
	case scriptTimeout:
		select {
		case <-req.Context().Done():
		case <-time.After(10 * time.Second):
		}
		return
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"answer":"` + http.StatusText(status) + `"}`))
}

// wait waits until the receiver has had n requests (failing after 30 s) and returns them.
func (r *receiver) wait(n int) []delivery {
	r.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		r.mu.Lock()
		got := append([]delivery(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.seen:
		case <-deadline:
			r.t.Fatalf("the receiver had %d requests, want %d", len(got), n)
		}
	}
}

func (r *receiver) setSecret(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret = s
}

// subscribe subscribes the receiver to person.created as an administrator and returns the subscription.
func (e *env) subscribe(r *receiver, types ...string) map[string]any {
	e.t.Helper()
	if types == nil {
		types = []string{"person.created"}
	}
	w := e.must(201, domain.RoleAdmin, "POST", "/api/v1/webhooks",
		map[string]any{"url": r.srv.URL + "/hooks/signet", "description": "SIEM", "eventTypes": types})
	secret, _ := w["secret"].(string)
	require.True(e.t, strings.HasPrefix(secret, "whsec_"), "the secret is shown once: %v", w)
	r.setSecret(secret)
	return w
}

type attemptView struct {
	EventID    string  `json:"eventId"`
	Position   *int64  `json:"position"`
	EventType  string  `json:"eventType"`
	Attempt    int     `json:"attempt"`
	StatusCode *int    `json:"statusCode"`
	LatencyMS  int     `json:"latencyMs"`
	Excerpt    *string `json:"responseExcerpt"`
	Error      *string `json:"error"`
}

func (e *env) attempts(id, query string) []attemptView {
	e.t.Helper()
	r := e.call(domain.RoleAdmin, "GET", "/api/v1/webhooks/"+id+"/attempts"+query, nil)
	var as []attemptView
	require.Equal(e.t, 200, r.status, "%s", r.body)
	require.NoError(e.t, json.Unmarshal(r.body, &as))
	return as
}

// waitWebhook waits until the subscription satisfies ok (failing after 30 s).
func (e *env) waitWebhook(id string, ok func(map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		w := e.must(200, domain.RoleAdmin, "GET", "/api/v1/webhooks/"+id, nil)
		if ok(w) {
			return w
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("the subscription never got there: %v", w)
		}
		time.Sleep(20 * time.Millisecond) // polling a condition
	}
}

// The scripted receiver: 500, 429 with Retry-After, a timeout, then 200. The first event takes
// exactly four attempts, in that order, the 429's Retry-After waited; the next event follows only then,
// once; every request verifies with the reference library and carries the event's id as webhook-id.
func TestWebhookDeliveryRetriesInOrder(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, http.StatusInternalServerError, http.StatusTooManyRequests, scriptTimeout, http.StatusOK)
	w := e.subscribe(r)
	id := w["id"].(string)
	assert.Equal(t, "active", w["status"])

	p1 := e.createPerson("Ada", "Lovelace", "1985-12-10")
	p2 := e.createPerson("Alan", "Turing", "1982-06-23")
	got := r.wait(5)

	for i, d := range got {
		assert.True(t, d.Verified, "request %d does not verify", i)
		assert.Equal(t, "person.created.v1", d.EventType)
	}
	for i := range 4 {
		assert.Equal(t, p1, got[i].PersonID, "attempt %d", i+1)
		assert.Equal(t, got[0].ID, got[i].ID, "every attempt has the event's id")
	}
	assert.Equal(t, p2, got[4].PersonID)
	assert.NotEqual(t, got[0].ID, got[4].ID)
	assert.GreaterOrEqual(t, got[2].At.Sub(got[1].At), time.Second, "Retry-After: 1 is waited")
	assert.Equal(t, []int{500, 429, 0, 200, 200}, []int{got[0].Answered, got[1].Answered, got[2].Answered,
		got[3].Answered, got[4].Answered})

	// The second event is delivered once the cursor is past it; the log holds every attempt.
	w = e.waitWebhook(id, func(w map[string]any) bool {
		a := e.attempts(id, "?eventId="+got[4].ID)
		return len(a) == 1 && w["failingSince"] == nil && w["cursor"] == float64(*a[0].Position)
	})
	log := e.attempts(id, "?eventId="+got[0].ID)
	require.Len(t, log, 4)
	var statuses []any
	for i, a := range log { // newest first
		assert.Equal(t, 4-i, a.Attempt)
		assert.Equal(t, "person.created", a.EventType)
		if a.StatusCode == nil {
			statuses = append(statuses, nil)
			require.NotNil(t, a.Error)
			assert.Equal(t, "timed out", *a.Error)
			continue
		}
		statuses = append(statuses, *a.StatusCode)
		require.NotNil(t, a.Excerpt)
		assert.Contains(t, *a.Excerpt, "answer")
	}
	assert.Equal(t, []any{200, nil, 429, 500}, statuses)
	assert.EqualValues(t, *e.attempts(id, "?eventId="+got[4].ID)[0].Position, w["cursor"])
	assert.Len(t, r.wait(5), 5, "nothing more is sent")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'webhook.create' AND entity_id = $1`, id))
}

// 410 Gone stops delivery: the subscription is disabled, the administrators told, nothing more sent.
func TestWebhookGoneDisables(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, http.StatusGone)
	w := e.subscribe(r)
	id := w["id"].(string)
	e.createPerson("Ada", "Lovelace", "1985-12-10")
	r.wait(1)
	w = e.waitWebhook(id, func(w map[string]any) bool { return w["status"] == "disabled" })
	assert.Contains(t, w["disabledReason"], "410")
	// The administrators are told (just after the subscription is disabled).
	var told []notificationView
	for deadline := time.Now().Add(30 * time.Second); len(told) == 0; time.Sleep(20 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the administrators are not told")
		for _, n := range e.notifications(domain.RoleAdmin) {
			if n.Kind == string(domain.NotifyWebhookDisabled) {
				told = append(told, n)
			}
		}
	}
	require.Len(t, told, 1)
	assert.Equal(t, "Webhook subscription disabled", told[0].Title)
	assert.Contains(t, told[0].Text, "410 Gone")
	e.createPerson("Alan", "Turing", "1982-06-23")
	assert.Len(t, r.wait(1), 1)
	assert.Equal(t, 1, len(e.attempts(id, "")))
	e.recordAll("gone") // the delivery workflow that ended on 410 (SA_RECORD_HISTORY)

	// Resumed, it goes on from its cursor: the event it was refused, then the next.
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/resume", nil)
	got := r.wait(3)
	assert.Equal(t, got[0].ID, got[1].ID)
	assert.NotEqual(t, got[1].ID, got[2].ID)
}

// A rotated secret: both the new and the old secret verify each request during the overlap; the header
// holds both v1 signatures. A ping is a signed webhook.ping answered at once with its logged attempt.
func TestWebhookRotateAndPing(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	w := e.subscribe(r)
	id := w["id"].(string)
	old := w["secret"].(string)

	a := e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/ping", nil)
	assert.EqualValues(t, 200, a["statusCode"])
	assert.Equal(t, "webhook.ping", a["eventType"])
	got := r.wait(1)
	assert.True(t, got[0].Verified)
	assert.Equal(t, "webhook.ping", got[0].EventType)
	assert.Equal(t, a["eventId"], got[0].ID)
	assert.Len(t, strings.Fields(got[0].Header.Get("webhook-signature")), 1)

	rot := e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil)
	fresh := rot["secret"].(string)
	require.NotEqual(t, old, fresh)
	assert.NotNil(t, rot["previousSecretExpiresAt"])
	assert.EqualValues(t, 2, rot["secretVersion"])
	// Never shown again.
	assert.NotContains(t, string(e.call(domain.RoleAdmin, "GET", "/api/v1/webhooks/"+id, nil).body), "whsec_")
	assert.NotContains(t, string(e.call(domain.RoleAdmin, "GET", "/api/v1/webhooks", nil).body), "whsec_")

	e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/ping", nil)
	got = r.wait(2)
	d := got[1]
	assert.Len(t, strings.Fields(d.Header.Get("webhook-signature")), 2)
	for _, s := range []string{old, fresh} {
		wh, err := standardwebhooks.NewWebhook(s)
		require.NoError(t, err)
		assert.NoError(t, wh.Verify(d.Body, d.Header), "the request verifies with each secret during the overlap")
	}
	other, _ := standardwebhooks.NewWebhook("whsec_" + strings.Repeat("A", 43) + "=")
	assert.Error(t, other.Verify(d.Body, d.Header))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'webhook.rotate_secret' AND entity_id = $1`, id))
}

// Redeliver sends one event again, once, with the same webhook-id; a replay after an event, or since a
// time, moves the cursor back and the workflow sends them again in order with their ids.
func TestWebhookRedeliverAndReplay(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	w := e.subscribe(r)
	id := w["id"].(string)
	before := time.Now().UTC().Add(-time.Second)
	e.createPerson("Ada", "Lovelace", "1985-12-10")
	e.createPerson("Alan", "Turing", "1982-06-23")
	got := r.wait(2)
	first, second := got[0].ID, got[1].ID

	a := e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/redeliver", map[string]any{"eventId": first})
	assert.EqualValues(t, 2, a["attempt"])
	assert.EqualValues(t, 200, a["statusCode"])
	got = r.wait(3)
	assert.Equal(t, first, got[2].ID)
	assert.True(t, got[2].Verified)

	rep := e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/replay", map[string]any{"afterEventId": first})
	assert.EqualValues(t, 1, rep["replays"])
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("subscription: %v\nattempts: %+v\nlogs: %s", e.must(200, domain.RoleAdmin, "GET", "/api/v1/webhooks/"+id, nil),
				e.attempts(id, ""), e.logs.String())
		}
	})
	got = r.wait(4)
	assert.Equal(t, second, got[3].ID, "replayed with the same webhook-id")
	assert.True(t, got[3].Verified)

	e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/replay", map[string]any{"since": before.Format(time.RFC3339Nano)})
	got = r.wait(6)
	assert.Equal(t, []string{first, second}, []string{got[4].ID, got[5].ID})

	// Bad replays and redeliveries name their field.
	assert.Equal(t, "since", problemField(t, e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/replay", map[string]any{})))
	assert.Equal(t, "afterEventId", problemField(t, e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/replay",
		map[string]any{"afterEventId": "6a1f0d6e-1c0b-4f7e-9f55-0c7c43b8d9a1"})))
	assert.Equal(t, "eventId", problemField(t, e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/redeliver",
		map[string]any{"eventId": "6a1f0d6e-1c0b-4f7e-9f55-0c7c43b8d9a1"})))
}

// Pause holds events at the cursor; resume sends them; delete ends the workflow and the log.
func TestWebhookPauseResumeDelete(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t)
	id := e.subscribe(r)["id"].(string)
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/pause", nil)
	assert.Equal(t, 409, e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/pause", nil).status)
	e.createPerson("Ada", "Lovelace", "1985-12-10")
	e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/resume", nil)
	got := r.wait(1)
	assert.True(t, got[0].Verified)
	e.must(204, domain.RoleAdmin, "DELETE", "/api/v1/webhooks/"+id, nil)
	assert.Equal(t, 404, e.call(domain.RoleAdmin, "GET", "/api/v1/webhooks/"+id, nil).status)
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM webhook_attempts WHERE subscription_id = $1`, id))
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'webhook.delete' AND entity_id = $1`, id))
	e.recordAll("paused_resumed_deleted") // SA_RECORD_HISTORY
}

// A URL that is not https, or is an internal address, and a type not in the catalogue are refused with
// a problem naming the field, and nothing is written; only administrators subscribe.
func TestWebhookBadSubscriptionsRefused(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "http://receiver.example/hooks"}, "url"},
		{map[string]any{"url": "https://10.1.2.3/hooks"}, "url"},
		{map[string]any{"url": "https://169.254.169.254/latest"}, "url"},
		{map[string]any{"url": "https://[::ffff:192.168.1.1]/"}, "url"},
		{map[string]any{"url": "ftp://receiver.example"}, "url"},
		{map[string]any{}, "url"},
		{map[string]any{"url": "https://receiver.example/hooks", "eventTypes": []string{"person.created", "person.exploded"}}, "eventTypes"},
	} {
		r := e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks", tc.body)
		require.Equal(t, 400, r.status, "%v: %s", tc.body, r.body)
		assert.Equal(t, tc.field, problemField(t, r), "%v", tc.body)
	}
	assert.Equal(t, 403, e.call(domain.RoleCaseWorker, "POST", "/api/v1/webhooks",
		map[string]any{"url": "https://receiver.example/hooks"}).status)
	assert.Equal(t, 403, e.call(domain.RoleSecurityController, "GET", "/api/v1/webhooks", nil).status)
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM webhook_subscriptions`))
	assert.Equal(t, 0, e.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'webhook.%'`))
}

// Outside loopback development a loopback receiver is refused too.
func TestWebhookLoopbackRefusedInProduction(t *testing.T) {
	e := newEnv(t, withoutLoopbackPartners())
	r := e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks", map[string]any{"url": "http://127.0.0.1:9/hooks"})
	require.Equal(t, 400, r.status, "%s", r.body)
	assert.Equal(t, "url", problemField(t, r))
	r = e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks", map[string]any{"url": "https://127.0.0.1:9/hooks"})
	assert.Equal(t, 400, r.status, "%s", r.body)
}

// A worker lost in the middle of a delivery: the attempt it was making is given up on (its activity
// stopped, or timed out), and a worker started after it sends the event again with the same webhook-id,
// then the next: no event lost, the only duplicate the same event under the same id.
func TestWebhookWorkerLostMidDelivery(t *testing.T) {
	e := newEnv(t)
	r := newReceiver(t, scriptTimeout) // the first request is held until its sender goes
	queue := "webhooks-lost-" + e.queue
	acts := &activities.Activities{Store: e.st, Webhooks: e.webhooks}
	startOn := func() sdkworker.Worker {
		w := sdkworker.New(e.tc, queue, sdkworker.Options{})
		worker.Register(w, acts)
		require.NoError(t, w.Start())
		return w
	}
	first := startOn()
	secret := webhooks.NewSecret()
	r.setSecret(secret)
	sub, err := e.st.CreateWebhook(context.Background(), nil, store.WebhookSubscription{URL: r.srv.URL,
		EventTypes: []events.Type{events.PersonCreated}}, func(id uuid.UUID, v int) (string, []byte, error) {
		return testenv.Keyring().Seal([]byte(secret), store.WebhookSecretAAD(id, v))
	}, nil)
	require.NoError(t, err)
	policy := testWebhooks.Policy
	policy.AttemptTimeout = 3 * time.Second
	require.NoError(t, workflows.WakeWebhook(context.Background(), e.tc, queue, sub.ID, policy))
	p1 := e.createPerson("Ada", "Lovelace", "1985-12-10")
	held := r.wait(1)[0]
	first.Stop() // the worker goes while the request is held
	second := startOn()
	defer second.Stop()
	p2 := e.createPerson("Alan", "Turing", "1982-06-23")
	got := r.wait(3)
	assert.Equal(t, []string{p1, p1, p2}, []string{got[0].PersonID, got[1].PersonID, got[2].PersonID})
	assert.Equal(t, held.ID, got[1].ID, "sent again with the same webhook-id")
	assert.NotEqual(t, held.ID, got[2].ID)
	for _, d := range got {
		assert.True(t, d.Verified)
	}
	e.waitWebhook(sub.ID.String(), func(w map[string]any) bool {
		a := e.attempts(sub.ID.String(), "?eventId="+got[2].ID)
		return len(a) == 1 && w["cursor"] == float64(*a[0].Position)
	})
	assert.Len(t, r.wait(3), 3)
}
