package messaging_test

// Contract tests: the SendGrid provider against SendGrid's documented JSON, the fixtures in
// testdata/vendor/sendgrid (see its README.md for the source of each).

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/messaging"
)

func sendGridFixture(t *testing.T, name string) []byte {
	t.Helper()
	return contracttest.Load(t, "sendgrid/"+name)
}

const docSGMessageID = "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"

func TestSendGridContractMailSend(t *testing.T) {
	var mu sync.Mutex
	var sent []byte
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v3/mail/send" {
			t.Errorf("unexpected %s %s", r.Method, r.URL)
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		sent = b
		f := fail
		mu.Unlock()
		if f {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(sendGridFixture(t, "mail_send_error.json"))
			return
		}
		w.Header().Set("X-Message-Id", "14c5d75ce93.dfd.64b469")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	fixture := sendGridFixture(t, "mail_send_request.json")
	var doc struct {
		Personalizations []struct {
			To         []struct{ Email string } `json:"to"`
			CustomArgs map[string]string        `json:"custom_args"`
		} `json:"personalizations"`
		From struct {
			Email string `json:"email"`
			Name  string `json:"name"`
		} `json:"from"`
		Subject string `json:"subject"`
		Content []struct {
			Type  string `json:"type"`
			Value string `json:"value"`
		} `json:"content"`
	}
	if err := json.Unmarshal(fixture, &doc); err != nil {
		t.Fatal(err)
	}
	sg := messaging.NewSendGrid(messaging.SendGridConfig{APIKey: "SG.key", From: doc.From.Email, FromName: doc.From.Name,
		BaseURL: srv.URL}, nil)
	r, err := sg.Send(context.Background(), messaging.Outgoing{ID: doc.Personalizations[0].CustomArgs[messaging.SendGridMessageIDArg],
		Channel: messaging.Email, To: doc.Personalizations[0].To[0].Email, Subject: doc.Subject,
		Body: doc.Content[0].Value, HTML: doc.Content[1].Value})
	if err != nil {
		t.Fatal(err)
	}
	if r.ProviderID != "14c5d75ce93.dfd.64b469" || r.Status != messaging.StatusQueued {
		t.Errorf("receipt: %+v", r)
	}
	mu.Lock()
	body := sent
	mu.Unlock()
	// Every documented key path, with its JSON type, and the same values.
	contracttest.AssertShape(t, fixture, body, contracttest.Options{})
	var a, b any
	_ = json.Unmarshal(fixture, &a)
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	aj, _ := json.Marshal(a)
	bj, _ := json.Marshal(b)
	if string(aj) != string(bj) {
		t.Errorf("mail send body:\n sent       %s\n documented %s", bj, aj)
	}

	mu.Lock()
	fail = true
	mu.Unlock()
	_, err = sg.Send(context.Background(), messaging.Outgoing{ID: "msg-2", Channel: messaging.Email, To: "example@test.com",
		Subject: "s", Body: "b"})
	var e *messaging.Error
	if !errors.As(err, &e) || e.Kind != messaging.Invalid || e.Code != 400 ||
		e.Message != "from: The from object must be provided for every email send. It is an object that requires an email parameter, but may also contain a name parameter." {
		t.Errorf("the documented error answer: %#v", err)
	}
}

func TestSendGridContractEventWebhook(t *testing.T) {
	events, err := messaging.ParseSendGridEvents(sendGridFixture(t, "event_webhook.json"))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		raw    string
		status messaging.Status
		optOut bool
		reason string
	}
	wants := []want{
		{"processed", messaging.StatusQueued, false, ""},
		{"deferred", messaging.StatusSent, false, ""},
		{"delivered", messaging.StatusDelivered, false, ""},
		{"open", messaging.StatusRead, false, ""},
		{"click", "", false, ""},
		{"bounce", messaging.StatusFailed, false, "500 unknown recipient"},
		{"dropped", messaging.StatusFailed, false, "Bounced Address"},
		{"spamreport", "", true, ""},
		{"unsubscribe", "", true, ""},
		{"group_unsubscribe", "", true, ""},
	}
	if len(events) != len(wants) {
		t.Fatalf("got %d events, want %d", len(events), len(wants))
	}
	for i, w := range wants {
		e := events[i]
		if e.Raw != w.raw || e.Status != w.status || e.OptOut != w.optOut || e.Reason != w.reason ||
			e.MessageID != "msg-1" || e.ProviderID != "14c5d75ce93" || e.Recipient != "example@test.com" ||
			e.EventID == "" || !e.At.Equal(time.Unix(1513299569+int64(i), 0)) {
			t.Errorf("event %d (%s): %+v", i, w.raw, e)
		}
	}
}

func TestSendGridContractEmailActivity(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v3/messages":
			if q := r.URL.Query().Get("query"); q != `unique_args['sa_message_id']="msg-1"` {
				t.Errorf("query %q", q)
			}
			_, _ = w.Write(sendGridFixture(t, "email_activity_list.json"))
		case "/v3/messages/" + docSGMessageID:
			_, _ = w.Write(sendGridFixture(t, "email_activity_message.json"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	sg := messaging.NewSendGrid(messaging.SendGridConfig{APIKey: "SG.key", From: "vetting@sa.example", BaseURL: srv.URL}, nil)
	r, ok, err := sg.Find(context.Background(), messaging.Outgoing{ID: "msg-1", Channel: messaging.Email})
	if err != nil || !ok {
		t.Fatalf("find: %v %v", ok, err)
	}
	if r.ProviderID != "14c5d75ce93" || r.Status != messaging.StatusRead {
		t.Errorf("find: %+v (delivered and opened once)", r)
	}
	r, err = sg.Fetch(context.Background(), docSGMessageID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ProviderID != "14c5d75ce93" || r.Status != messaging.StatusFailed {
		t.Errorf("fetch: %+v (not_delivered)", r)
	}
}
