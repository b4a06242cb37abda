package messaging_test

// Contract tests: the Twilio provider against Twilio's documented JSON and webhook forms, the fixtures in
// testdata/vendor/twilio (see its README.md for the source of each).

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/messaging"
)

// twilioFixture reads testdata/vendor/twilio/<name>.
func twilioFixture(t *testing.T, name string) []byte {
	t.Helper()
	return contracttest.Load(t, "twilio/"+name)
}

const docSid = "SM1f0e8ae6ade43cb3c0ce4525424e404f"

// vendorTwilio answers the Messages resource with fixtures and keeps the form of the last create.
type vendorTwilio struct {
	srv    *httptest.Server
	mu     sync.Mutex
	form   url.Values
	create string // the fixture the create answers (a 400 when it is an error fixture)
}

func newVendorTwilio(t *testing.T) *vendorTwilio {
	v := &vendorTwilio{create: "message_create_response.json"}
	messages := "/2010-04-01/Accounts/" + testSID + "/Messages"
	v.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == messages+".json":
			_ = r.ParseForm()
			v.mu.Lock()
			v.form = r.PostForm
			name := v.create
			v.mu.Unlock()
			status := http.StatusCreated
			if strings.HasPrefix(name, "error_") {
				status = http.StatusBadRequest
			}
			w.WriteHeader(status)
			_, _ = w.Write(twilioFixture(t, name))
		case r.Method == http.MethodGet && r.URL.Path == messages+"/"+docSid+".json":
			_, _ = w.Write(twilioFixture(t, "message_fetch_undelivered.json"))
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL)
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(v.srv.Close)
	return v
}

func TestTwilioContractSendAndFetch(t *testing.T) {
	v := newVendorTwilio(t)
	request := contracttest.FormFields(t, twilioFixture(t, "message_create_request.form.json"))
	cb, _, _ := strings.Cut(request.Get("StatusCallback"), "?")
	tw := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: testSID, AuthToken: testToken,
		From: request.Get("From"), BaseURL: v.srv.URL, StatusCallback: cb}, &http.Client{})

	r, err := tw.Send(context.Background(), messaging.Outgoing{ID: "msg-1", Channel: messaging.SMS,
		To: request.Get("To"), Body: request.Get("Body")})
	if err != nil {
		t.Fatal(err)
	}
	if r.ProviderID != docSid || r.Status != messaging.StatusQueued || r.Segments != 1 || r.Price != "" || r.ErrorCode != 0 {
		t.Errorf("receipt of the documented create answer: %+v", r)
	}
	// The form sent has the documented parameter names and the same values.
	v.mu.Lock()
	sent := v.form
	v.mu.Unlock()
	if missing := contracttest.MissingFormFields(request, sent); len(missing) > 0 {
		t.Errorf("create message: documented parameters %v not sent; sent %v", missing, sent)
	}
	for k := range request {
		if sent.Get(k) != request.Get(k) {
			t.Errorf("create message %s: sent %q, documented %q", k, sent.Get(k), request.Get(k))
		}
	}

	r, err = tw.Fetch(context.Background(), docSid)
	if err != nil {
		t.Fatal(err)
	}
	want := messaging.Receipt{ProviderID: docSid, Status: messaging.MapTwilioStatus("undelivered"), Price: "-0.04000",
		PriceUnit: "GBP", Segments: 1, ErrorCode: 30003, Error: "Unreachable destination handset"}
	if r != want {
		t.Errorf("receipt of the documented undelivered message: got %+v, want %+v", r, want)
	}
	if r.Status != messaging.StatusUndelivered {
		t.Errorf("undelivered maps to %q", r.Status)
	}
}

func TestTwilioContractErrorAnswer(t *testing.T) {
	v := newVendorTwilio(t)
	v.create = "error_opted_out.json"
	tw := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: testSID, AuthToken: testToken, From: testFrom,
		BaseURL: v.srv.URL}, &http.Client{})
	_, err := tw.Send(context.Background(), messaging.Outgoing{ID: "msg-2", Channel: messaging.SMS, To: alice, Body: "hi"})
	var e *messaging.Error
	if !errors.As(err, &e) || e.Kind != messaging.OptedOut || e.Code != 21610 ||
		!strings.Contains(e.Message, "Attempt to send to unsubscribed recipient") {
		t.Errorf("the documented 21610 answer: got %#v", err)
	}
}

func TestTwilioContractStatusCallbacks(t *testing.T) {
	ev, err := messaging.ParseTwilioStatus("msg-1", contracttest.FormFields(t, twilioFixture(t, "status_callback_delivered.form.json")))
	if err != nil {
		t.Fatal(err)
	}
	if ev.MessageID != "msg-1" || ev.ProviderID != docSid || ev.Status != messaging.StatusDelivered ||
		ev.Raw != "delivered" || ev.Recipient != "+447400123456" || ev.ErrorCode != 0 {
		t.Errorf("delivered callback: %+v", ev)
	}
	ev, err = messaging.ParseTwilioStatus("msg-1", contracttest.FormFields(t, twilioFixture(t, "status_callback_undelivered.form.json")))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != messaging.StatusUndelivered || ev.Raw != "undelivered" || ev.ErrorCode != 30003 {
		t.Errorf("undelivered callback: %+v", ev)
	}
}

func TestTwilioContractInbound(t *testing.T) {
	in, err := messaging.ParseTwilioInbound(contracttest.FormFields(t, twilioFixture(t, "inbound_sms.form.json")))
	if err != nil {
		t.Fatal(err)
	}
	if in.ProviderID != "SM4a6c0fcb8f9d2d1e8b0c5a7e3f2b1d90" || in.Channel != messaging.SMS || in.From != "+447400123456" ||
		in.To != "+447400000001" || in.Body != "STOP" {
		t.Errorf("inbound SMS: %+v", in)
	}
	in, err = messaging.ParseTwilioInbound(contracttest.FormFields(t, twilioFixture(t, "inbound_whatsapp.form.json")))
	if err != nil {
		t.Fatal(err)
	}
	if in.Channel != messaging.WhatsApp || in.From != "+447400123456" || in.To != "+447400000002" ||
		in.Body != "Yes, Monday is fine" || in.ProfileName != "Ada" {
		t.Errorf("inbound WhatsApp: %+v", in)
	}
}
