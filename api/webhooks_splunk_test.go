package api_test

import (
	"encoding/json"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/splunkhec/hectest"
)

// hecToken is the token of Splunk's documented example.
const hecToken = "CF179AE4-3C99-45F5-A7CC-3284AA91CF67"

// subscribeSplunk subscribes a Splunk HEC collector (its URL without a path) to person.created with token.
func (e *env) subscribeSplunk(hec *hectest.Collector, token string) map[string]any {
	e.t.Helper()
	w := e.must(201, domain.RoleAdmin, "POST", "/api/v1/webhooks", map[string]any{"url": hec.URL, "description": "Splunk",
		"eventTypes": []string{"person.created"}, "format": "splunk-hec", "splunkToken": token})
	require.Equal(e.t, "splunk-hec", w["format"])
	require.Equal(e.t, hec.URL+"/services/collector/event", w["url"], "a URL without a path gets HEC's event endpoint")
	return w
}

// noToken fails the test if token is in any answer about the subscription (itself, the list, its log), in
// the audit log or the server's log, or stored unsealed.
func (e *env) noToken(id, token string) {
	e.t.Helper()
	for _, path := range []string{"/api/v1/webhooks/" + id, "/api/v1/webhooks", "/api/v1/webhooks/" + id + "/attempts"} {
		r := e.call(domain.RoleAdmin, "GET", path, nil)
		require.Equal(e.t, 200, r.status, "%s", r.body)
		assert.NotContains(e.t, string(r.body), token, "GET %s", path)
	}
	assert.NotContains(e.t, e.logs.String(), token, "the server's log")
	assert.Zero(e.t, e.count(`SELECT count(*) FROM audit_log WHERE detail::text LIKE '%' || $1 || '%'`, token), "the audit log")
	assert.Zero(e.t, e.count(`SELECT count(*) FROM webhook_subscriptions
		WHERE position(convert_to($1, 'UTF8') IN splunk_token_sealed) > 0`, token), "the token is sealed")
}

// A splunk-hec subscription: the collector (Splunk's documented answers) gets each lifecycle event as a
// HEC JSON event holding the CloudEvents envelope as its event, with "Authorization: Splunk <token>" and
// the Standard Webhooks headers; Splunk busy (503, code 9) is a failed attempt, logged with HEC's code and
// text, and retried until Splunk answers success. The token is in no answer and no log.
func TestWebhookSplunkHECDelivery(t *testing.T) {
	e := newEnv(t)
	hec := hectest.New(t, hecToken)
	hec.Script(hectest.Busy)
	w := e.subscribeSplunk(hec, hecToken)
	id := w["id"].(string)
	assert.NotContains(t, mustJSON(t, w), hecToken, "the create answer")
	assert.EqualValues(t, 1, w["splunkTokenVersion"])

	person := e.createPerson("Ada", "Lovelace", "1985-12-10")
	got := hec.Wait(2)
	assert.Equal(t, []string{hectest.Busy, hectest.Success}, []string{got[0].Answer, got[1].Answer})
	r := got[1]
	assert.Equal(t, "Splunk "+hecToken, r.Header.Get("Authorization"))
	assert.Equal(t, "signetassure", r.Event.Source)
	assert.Equal(t, "signetassure:event", r.Event.SourceType)
	assert.NotEmpty(t, r.Event.Host)
	var env struct {
		SpecVersion string `json:"specversion"`
		ID          string `json:"id"`
		Type        string `json:"type"`
		Time        string `json:"time"`
		Data        struct {
			PersonID string `json:"personId"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(r.Event.Event, &env), "%s", r.Body)
	assert.Equal(t, "1.0", env.SpecVersion)
	assert.Equal(t, "person.created.v1", env.Type)
	assert.Equal(t, person, env.Data.PersonID)
	assert.Equal(t, env.ID, r.Header.Get("webhook-id"))
	assert.Equal(t, string(got[0].Body), string(r.Body), "the retry sends the same event")
	wh, err := standardwebhooks.NewWebhook(w["secret"].(string))
	require.NoError(t, err)
	assert.NoError(t, wh.Verify(r.Body, r.Header), "the Standard Webhooks signature is kept")

	e.waitWebhook(id, func(w map[string]any) bool { return w["failingSince"] == nil && w["cursor"] != float64(0) })
	log := e.attempts(id, "?eventId="+env.ID)
	require.Len(t, log, 2)
	busy, taken := log[1], log[0] // newest first
	require.NotNil(t, busy.StatusCode)
	assert.Equal(t, 503, *busy.StatusCode)
	require.NotNil(t, busy.Excerpt)
	assert.Contains(t, *busy.Excerpt, `"code":9`)
	assert.Contains(t, *busy.Excerpt, "Server is busy")
	require.NotNil(t, busy.Error)
	assert.Equal(t, `answered 503 Service Unavailable (code 9, "Server is busy")`, *busy.Error)
	require.NotNil(t, taken.StatusCode)
	assert.Equal(t, 200, *taken.StatusCode)
	assert.Nil(t, taken.Error)
	assert.Len(t, hec.Requests(), 2, "nothing more is sent")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'webhook.create' AND entity_id = $1
		AND detail->>'format' = 'splunk-hec'`, id))
	e.noToken(id, hecToken)
}

// A token Splunk does not know: the ping is a failed attempt (403, code 4); the token replaced on
// rotate-secret, the next ping is taken. Neither token is ever answered back.
func TestWebhookSplunkHECTokenReplaced(t *testing.T) {
	e := newEnv(t)
	hec := hectest.New(t, hecToken)
	const wrong = "0A1B2C3D-not-splunks-token"
	id := e.subscribeSplunk(hec, wrong)["id"].(string)

	a := e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/ping", nil)
	assert.EqualValues(t, 403, a["statusCode"])
	assert.Contains(t, a["responseExcerpt"], "Invalid token")
	assert.Contains(t, a["error"], "code 4")
	assert.False(t, hec.Wait(1)[0].Authorized)

	rot := e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", map[string]any{"splunkToken": hecToken})
	assert.EqualValues(t, 2, rot["splunkTokenVersion"])
	assert.EqualValues(t, 2, rot["secretVersion"])
	assert.NotContains(t, mustJSON(t, rot), hecToken)
	a = e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/ping", nil)
	assert.EqualValues(t, 200, a["statusCode"], "%v", a)
	got := hec.Wait(2)[1]
	assert.True(t, got.Authorized)
	assert.Contains(t, string(got.Event.Event), `"type":"webhook.ping"`)

	// A rotation without a token keeps it.
	rot = e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil)
	assert.EqualValues(t, 2, rot["splunkTokenVersion"])
	assert.EqualValues(t, 200, e.must(200, domain.RoleAdmin, "POST", "/api/v1/webhooks/"+id+"/ping", nil)["statusCode"])
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM audit_log WHERE action = 'webhook.rotate_secret' AND entity_id = $1
		AND detail->>'splunkTokenVersion' = '2'`, id))
	e.noToken(id, hecToken)
	e.noToken(id, wrong)
}

// An unknown format, a splunk-hec subscription without a token or with a token holding whitespace, and a
// token for the cloudevents format are refused naming the field, and nothing is written; a rotation with
// a bad token, or a token for a cloudevents subscription, changes nothing.
func TestWebhookSplunkHECBadInputRefused(t *testing.T) {
	e := newEnv(t)
	const url = "https://splunk.example:8088"
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": url, "format": "syslog"}, "format"},
		{map[string]any{"url": url, "format": ""}, "format"},
		{map[string]any{"url": url, "format": "splunk-hec"}, "splunkToken"},
		{map[string]any{"url": url, "format": "splunk-hec", "splunkToken": ""}, "splunkToken"},
		{map[string]any{"url": url, "format": "splunk-hec", "splunkToken": "CF179AE4 3C99"}, "splunkToken"},
		{map[string]any{"url": url, "format": "splunk-hec", "splunkToken": "CF179AE4\t3C99"}, "splunkToken"},
		{map[string]any{"url": url, "format": "cloudevents", "splunkToken": hecToken}, "splunkToken"},
		{map[string]any{"url": url, "splunkToken": hecToken}, "splunkToken"},
	} {
		r := e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks", tc.body)
		require.Equal(t, 400, r.status, "%v: %s", tc.body, r.body)
		assert.Equal(t, tc.field, problemField(t, r), "%v", tc.body)
		assert.NotContains(t, string(r.body), "CF179AE4", "the token is not echoed")
	}
	assert.Zero(t, e.count(`SELECT count(*) FROM webhook_subscriptions`))
	assert.Zero(t, e.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'webhook.%'`))

	plain := e.must(201, domain.RoleAdmin, "POST", "/api/v1/webhooks", map[string]any{"url": url})["id"].(string)
	splunk := e.must(201, domain.RoleAdmin, "POST", "/api/v1/webhooks", map[string]any{"url": url, "format": "splunk-hec",
		"splunkToken": hecToken})["id"].(string)
	for _, tc := range []struct {
		id    string
		token string
	}{{plain, hecToken}, {splunk, "new token"}, {splunk, ""}} {
		r := e.call(domain.RoleAdmin, "POST", "/api/v1/webhooks/"+tc.id+"/rotate-secret", map[string]any{"splunkToken": tc.token})
		require.Equal(t, 400, r.status, "%s", r.body)
		assert.Equal(t, "splunkToken", problemField(t, r))
	}
	assert.Zero(t, e.count(`SELECT count(*) FROM audit_log WHERE action = 'webhook.rotate_secret'`))
	assert.Equal(t, 2, e.count(`SELECT count(*) FROM webhook_subscriptions WHERE secret_version = 1
		AND splunk_token_version = CASE format WHEN 'splunk-hec' THEN 1 ELSE 0 END`))
}

// mustJSON is v in JSON, to search an answer decoded already.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
