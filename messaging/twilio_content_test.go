package messaging_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"

	"github.com/signetassure/signetassure/messaging"
)

// A WhatsApp template goes to Twilio as the Messages API documents it (form fields ContentSid and
// ContentVariables, a JSON object keyed "1", "2", ...; no Body), and Twilio's documented answer
// (testdata: the "send a message with a Content Template" example of Twilio's Message resource
// reference) is read into the receipt.
func TestTwilioSendsContentTemplateAsDocumented(t *testing.T) {
	answer, err := os.ReadFile("testdata/twilio_create_message_content_template.json")
	if err != nil {
		t.Fatal(err)
	}
	var got url.Values
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		got, path = r.PostForm, r.URL.Path
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(answer)
	}))
	defer srv.Close()
	tw := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: testSID, AuthToken: testToken,
		From: "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", BaseURL: srv.URL}, nil)
	r, err := tw.Send(context.Background(), messaging.Outgoing{ID: "m1", Channel: messaging.WhatsApp, To: "+15552221111",
		Body: "fallback text, not sent", ContentSID: "HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		ContentVariables: map[string]string{"1": "Name", "2": "2031-01-31"}})
	if err != nil {
		t.Fatal(err)
	}

	if want := "/2010-04-01/Accounts/" + testSID + "/Messages.json"; path != want {
		t.Errorf("posted to %s, want %s", path, want)
	}
	if got.Get("ContentSid") != "HXaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" || got.Get("To") != "whatsapp:+15552221111" ||
		got.Get("MessagingServiceSid") != "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
		t.Errorf("form %v: want ContentSid, To whatsapp:+15552221111 and the Messaging Service", got)
	}
	if _, ok := got["Body"]; ok {
		t.Errorf("a template message carries no Body: %q", got.Get("Body"))
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(got.Get("ContentVariables")), &vars); err != nil ||
		len(vars) != 2 || vars["1"] != "Name" || vars["2"] != "2031-01-31" {
		t.Errorf("ContentVariables %q (%v), want {\"1\":\"Name\",\"2\":\"2031-01-31\"}", got.Get("ContentVariables"), err)
	}
	if r.ProviderID != "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" || r.Status != messaging.StatusQueued || r.Segments != 1 ||
		r.Price != "" || r.PriceUnit != "" {
		t.Errorf("receipt %+v: want the documented sid, queued, one segment, no price yet", r)
	}
}
