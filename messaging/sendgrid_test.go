package messaging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/messaging"
)

// SendGrid's own test vector (sendgrid-go helpers/eventwebhook): a signed body ending with CRLF.
const (
	sgVectorKey       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sgVectorSignature = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sgVectorTimestamp = "1600112502"
	sgVectorBody      = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
)

func TestVerifySendGridAcceptsSendGridsVector(t *testing.T) {
	body := []byte(sgVectorBody)
	assert.True(t, messaging.VerifySendGrid(sgVectorKey, body, sgVectorSignature, sgVectorTimestamp))
	assert.False(t, messaging.VerifySendGrid(sgVectorKey, body[:len(body)-2], sgVectorSignature, sgVectorTimestamp), "the raw bytes are signed, CRLF included")
	assert.False(t, messaging.VerifySendGrid(sgVectorKey, body, sgVectorSignature, "1600112503"))
	assert.False(t, messaging.VerifySendGrid(sgVectorKey, body, "not base64!", sgVectorTimestamp))
	assert.False(t, messaging.VerifySendGrid("not a key", body, sgVectorSignature, sgVectorTimestamp))
	assert.False(t, messaging.VerifySendGrid(sgVectorKey, body, "", sgVectorTimestamp))

	events, err := messaging.ParseSendGridEvents(body)
	require.NoError(t, err)
	require.Len(t, events, 1)
	assert.Equal(t, messaging.Event{
		ProviderID: "LRzXl_NHStOGhQ4kofSm_A", EventID: "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
		Status: messaging.StatusFailed, Raw: "dropped", Reason: "Bounced Address", Recipient: "hello@world.com",
		At: time.Unix(1600112492, 0).UTC(),
	}, events[0])
}

func TestSignSendGrid(t *testing.T) {
	priv, pub, err := messaging.NewSendGridWebhookKey()
	require.NoError(t, err)
	body := []byte(`[{"event":"delivered"}]` + "\r\n")
	sig, err := messaging.SignSendGrid(priv, body, "1700000000")
	require.NoError(t, err)
	assert.True(t, messaging.VerifySendGrid(pub, body, sig, "1700000000"))
	assert.False(t, messaging.VerifySendGrid(pub, []byte(`[{"event":"bounce"}]`+"\r\n"), sig, "1700000000"), "tampered body")
	assert.False(t, messaging.VerifySendGrid(pub, body, sig, "1700000001"), "other timestamp")
	_, otherPub, err := messaging.NewSendGridWebhookKey()
	require.NoError(t, err)
	assert.False(t, messaging.VerifySendGrid(otherPub, body, sig, "1700000000"), "other key")
}

func TestSendGridWebhookKeyFromSeed(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	k1, pub1 := messaging.SendGridWebhookKeyFromSeed(seed)
	k2, pub2 := messaging.SendGridWebhookKeyFromSeed(bytes.Clone(seed))
	assert.Equal(t, pub1, pub2)
	assert.True(t, k1.Equal(k2))
	_, pub3 := messaging.SendGridWebhookKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	assert.NotEqual(t, pub1, pub3)

	body := []byte(`[]`)
	sig, err := messaging.SignSendGrid(k1, body, "1")
	require.NoError(t, err)
	assert.True(t, messaging.VerifySendGrid(pub2, body, sig, "1"))
	pub, err := messaging.SendGridPublicKey(&k1.PublicKey)
	require.NoError(t, err)
	assert.Equal(t, pub1, pub)
	assert.True(t, strings.HasPrefix(pub1, "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"), "a PKIX P-256 key, as SendGrid's console shows")
}

func TestSendGridTimestampFresh(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	assert.True(t, messaging.SendGridTimestampFresh("1700000000", now))
	assert.True(t, messaging.SendGridTimestampFresh("1699999500", now))
	assert.True(t, messaging.SendGridTimestampFresh("1700000500", now))
	assert.False(t, messaging.SendGridTimestampFresh("1699999000", now))
	assert.False(t, messaging.SendGridTimestampFresh("1700001000", now))
	assert.False(t, messaging.SendGridTimestampFresh("", now))
	assert.False(t, messaging.SendGridTimestampFresh("soon", now))
}

func TestParseSendGridEvents(t *testing.T) {
	body := `[
 {"email":"a@example.com","timestamp":1700000001,"event":"processed","sg_event_id":"e1","sg_message_id":"X1.filter-1.0","sa_message_id":"m1"},
 {"email":"a@example.com","timestamp":1700000002,"event":"deferred","sg_event_id":"e2","sg_message_id":"X1.filter-1.0","sa_message_id":"m1","response":"451"},
 {"email":"a@example.com","timestamp":1700000003,"event":"delivered","sg_event_id":"e3","sg_message_id":"X1.filter-1.0","sa_message_id":"m1"},
 {"email":"a@example.com","timestamp":1700000004,"event":"open","sg_event_id":"e4","sg_message_id":"X1.filter-1.0","sa_message_id":"m1"},
 {"email":"a@example.com","timestamp":1700000005,"event":"click","sg_event_id":"e5","sg_message_id":"X1.filter-1.0","sa_message_id":"m1","url":"https://x"},
 {"email":"b@example.com","timestamp":1700000006,"event":"bounce","sg_event_id":"e6","sg_message_id":"X2.f.0","sa_message_id":"m2","reason":"550 5.1.1 no such user","type":"bounce"},
 {"email":"c@example.com","timestamp":1700000007,"event":"dropped","sg_event_id":"e7","sg_message_id":"X3.f.0","reason":"Unsubscribed Address"},
 {"email":"a@example.com","timestamp":1700000008,"event":"unsubscribe","sg_event_id":"e8","sg_message_id":"X1.filter-1.0","sa_message_id":"m1"},
 {"email":"a@example.com","timestamp":1700000009,"event":"group_unsubscribe","sg_event_id":"e9","sg_message_id":"X1.filter-1.0","sa_message_id":"m1","asm_group_id":1},
 {"email":"a@example.com","timestamp":1700000010.5,"event":"spamreport","sg_event_id":"e10","sg_message_id":"X1.filter-1.0","sa_message_id":"m1"},
 {"email":"a@example.com","timestamp":1700000011,"event":"group_resubscribe","sg_event_id":"e11","sg_message_id":"X1","sa_message_id":42}
]`
	events, err := messaging.ParseSendGridEvents([]byte(body))
	require.NoError(t, err)
	require.Len(t, events, 11)
	type row struct {
		raw    string
		status messaging.Status
		optOut bool
	}
	want := []row{
		{"processed", messaging.StatusQueued, false}, {"deferred", messaging.StatusSent, false},
		{"delivered", messaging.StatusDelivered, false}, {"open", messaging.StatusRead, false},
		{"click", "", false}, {"bounce", messaging.StatusFailed, false}, {"dropped", messaging.StatusFailed, false},
		{"unsubscribe", "", true}, {"group_unsubscribe", "", true}, {"spamreport", "", true}, {"group_resubscribe", "", false},
	}
	for i, w := range want {
		e := events[i]
		assert.Equal(t, w.raw, e.Raw, i)
		assert.Equal(t, w.status, e.Status, w.raw)
		assert.Equal(t, w.optOut, e.OptOut, w.raw)
		assert.NotEmpty(t, e.EventID, w.raw)
		assert.False(t, e.At.IsZero(), w.raw)
	}
	assert.Equal(t, "m1", events[0].MessageID)
	assert.Equal(t, "X1", events[0].ProviderID)
	assert.Equal(t, time.Unix(1700000001, 0).UTC(), events[0].At)
	assert.Equal(t, "550 5.1.1 no such user", events[5].Reason)
	assert.Equal(t, "b@example.com", events[5].Recipient)
	assert.Equal(t, "", events[6].MessageID, "no custom argument")
	assert.Equal(t, "Unsubscribed Address", events[6].Reason)
	assert.Equal(t, time.Unix(1700000010, 5e8).UTC(), events[9].At)
	assert.Equal(t, "", events[10].MessageID, "a number is not our id")

	_, err = messaging.ParseSendGridEvents([]byte(`{"event":"delivered"}`))
	assert.Error(t, err)
	events, err = messaging.ParseSendGridEvents([]byte(`[]`))
	require.NoError(t, err)
	assert.Empty(t, events)
}

// stub is a SendGrid that answers every request with the next scripted handler.
func stub(t *testing.T, h http.HandlerFunc) (*messaging.SendGrid, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return messaging.NewSendGrid(messaging.SendGridConfig{
		APIKey: "SG.key", From: "vetting@signetassure.example", FromName: "SignetAssure Vetting", BaseURL: srv.URL + "/",
	}, &http.Client{Timeout: 5 * time.Second}), srv
}

var outgoing = messaging.Outgoing{
	ID: "msg-1", Channel: messaging.Email, To: "jane@example.com", Subject: "Your vetting case",
	Body: "Hello Jane", HTML: "<p>Hello <b>Jane</b></p>",
}

func TestSendGridSendRequest(t *testing.T) {
	var got map[string]any
	var auth, path string
	sg, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		auth, path = r.Header.Get("Authorization"), r.URL.Path
		require.NoError(t, json.NewDecoder(r.Body).Decode(&got))
		w.Header().Set("X-Message-Id", "abcdefghijklmnopqrstuv")
		w.WriteHeader(http.StatusAccepted)
	})
	r, err := sg.Send(context.Background(), outgoing)
	require.NoError(t, err)
	assert.Equal(t, messaging.Receipt{ProviderID: "abcdefghijklmnopqrstuv", Status: messaging.StatusQueued}, r)
	assert.Equal(t, "Bearer SG.key", auth)
	assert.Equal(t, "/v3/mail/send", path)
	want := map[string]any{
		"from":    map[string]any{"email": "vetting@signetassure.example", "name": "SignetAssure Vetting"},
		"subject": "Your vetting case",
		"personalizations": []any{map[string]any{
			"to":          []any{map[string]any{"email": "jane@example.com"}},
			"custom_args": map[string]any{"sa_message_id": "msg-1"},
		}},
		"content": []any{
			map[string]any{"type": "text/plain", "value": "Hello Jane"},
			map[string]any{"type": "text/html", "value": "<p>Hello <b>Jane</b></p>"},
		},
	}
	assert.Equal(t, want, got)

	_, err = sg.Send(context.Background(), messaging.Outgoing{ID: "x", Channel: messaging.SMS, To: "+447400123456"})
	assert.Equal(t, messaging.Invalid, messaging.KindOf(err))
}

func TestSendGridSendErrors(t *testing.T) {
	cases := []struct {
		status    int
		body      string
		kind      messaging.Kind
		ambiguous bool
		message   string
	}{
		{401, `{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired, or revoked","help":null}]}`, messaging.Refused, false, "The provided authorization grant is invalid, expired, or revoked"},
		{403, `{"errors":[{"field":null,"message":"access forbidden"}]}`, messaging.Refused, false, "access forbidden"},
		{429, `{"errors":[{"field":null,"message":"too many requests"}]}`, messaging.RateLimited, false, "too many requests"},
		{400, `{"errors":[{"field":"personalizations.0.to.0.email","message":"Does not contain a valid address."},{"field":"subject","message":"The subject is required."}]}`, messaging.Invalid, false, "personalizations.0.to.0.email: Does not contain a valid address.; subject: The subject is required."},
		{413, `Payload Too Large`, messaging.Invalid, false, "sendgrid answered 413 Request Entity Too Large"},
		{500, `{"errors":[{"field":null,"message":"internal error"}]}`, messaging.Transient, false, "internal error"},
		{503, ``, messaging.Transient, false, "sendgrid answered 503 Service Unavailable"},
		{504, ``, messaging.Transient, true, "sendgrid answered 504 Gateway Timeout"},
	}
	for _, c := range cases {
		sg, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(c.status)
			io.WriteString(w, c.body)
		})
		_, err := sg.Send(context.Background(), outgoing)
		var e *messaging.Error
		require.ErrorAs(t, err, &e, c.status)
		assert.Equal(t, c.kind, e.Kind, c.status)
		assert.Equal(t, c.status, e.Code)
		assert.Equal(t, c.ambiguous, e.Ambiguous, c.status)
		assert.Equal(t, c.message, e.Message, c.status)
	}
}

func TestSendGridSendNetworkErrors(t *testing.T) {
	// Nothing listens: the request was never sent.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	sg := messaging.NewSendGrid(messaging.SendGridConfig{APIKey: "k", From: "a@example.com", BaseURL: "http://" + addr}, nil)
	_, err = sg.Send(context.Background(), outgoing)
	var e *messaging.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, messaging.Transient, e.Kind)
	assert.False(t, e.Ambiguous, "connection refused: nothing was sent")

	// The request arrives and no answer comes before the deadline: it may have been taken.
	sg, _ = stub(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = sg.Send(ctx, outgoing)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, messaging.Transient, e.Kind)
	assert.True(t, e.Ambiguous, "timed out after the request was written")
	assert.Less(t, time.Since(start), 3*time.Second, "the context's deadline applies")
	assert.True(t, errors.As(err, &e) && e.Retryable())
}

func TestSendGridFind(t *testing.T) {
	var query, limit string
	status, body := http.StatusOK, ""
	sg, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/v3/messages", r.URL.Path)
		query, limit = r.URL.Query().Get("query"), r.URL.Query().Get("limit")
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	body = `{"messages":[{"from_email":"vetting@signetassure.example","msg_id":"Xid123.filterdrecv-1-2.0","subject":"s","to_email":"jane@example.com","status":"delivered","opens_count":0,"clicks_count":0,"last_event_time":"2026-05-01T10:00:00Z"}]}`
	r, ok, err := sg.Find(context.Background(), outgoing)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, messaging.Receipt{ProviderID: "Xid123", Status: messaging.StatusDelivered}, r)
	assert.Equal(t, `unique_args['sa_message_id']="msg-1"`, query)
	assert.Equal(t, "1", limit)

	for st, want := range map[string]messaging.Status{"processed": messaging.StatusQueued, "not_delivered": messaging.StatusFailed} {
		body = `{"messages":[{"msg_id":"Y.f.0","status":"` + st + `"}]}`
		r, ok, err = sg.Find(context.Background(), outgoing)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.Equal(t, want, r.Status, st)
	}
	body = `{"messages":[{"msg_id":"Y.f.0","status":"delivered","opens_count":2}]}`
	r, _, _ = sg.Find(context.Background(), outgoing)
	assert.Equal(t, messaging.StatusRead, r.Status)

	body = `{"messages":[]}`
	_, ok, err = sg.Find(context.Background(), outgoing)
	require.NoError(t, err)
	assert.False(t, ok)

	for _, st := range []int{http.StatusForbidden, http.StatusNotFound} {
		status, body = st, `{"errors":[{"field":null,"message":"access forbidden"}]}`
		_, ok, err = sg.Find(context.Background(), outgoing)
		require.NoError(t, err, "no Email Activity add-on is not an error")
		assert.False(t, ok)
	}
	status = http.StatusUnauthorized
	_, _, err = sg.Find(context.Background(), outgoing)
	assert.Equal(t, messaging.Refused, messaging.KindOf(err))
	status = http.StatusTooManyRequests
	_, _, err = sg.Find(context.Background(), outgoing)
	assert.Equal(t, messaging.RateLimited, messaging.KindOf(err))

	bad := outgoing
	bad.ID = `x" OR 1=1`
	_, _, err = sg.Find(context.Background(), bad)
	assert.Equal(t, messaging.Invalid, messaging.KindOf(err))
}

func TestSendGridFetch(t *testing.T) {
	var path string
	status, body := http.StatusOK, `{"msg_id":"Xid123.filterdrecv-1-2.0","status":"delivered","events":[]}`
	sg, _ := stub(t, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
	r, err := sg.Fetch(context.Background(), "Xid123")
	require.NoError(t, err)
	assert.Equal(t, "/v3/messages/Xid123", path)
	assert.Equal(t, messaging.Receipt{ProviderID: "Xid123", Status: messaging.StatusDelivered}, r, "no price: SendGrid states none")

	status = http.StatusNotFound
	r, err = sg.Fetch(context.Background(), "Xid123")
	require.NoError(t, err)
	assert.Equal(t, messaging.Receipt{ProviderID: "Xid123"}, r)
	status = http.StatusInternalServerError
	_, err = sg.Fetch(context.Background(), "Xid123")
	assert.Equal(t, messaging.Transient, messaging.KindOf(err))
}
