package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/signetassure/signetassure/internal/splunkhec/hectest"
)

// A splunk-hec message is a HEC JSON event holding the CloudEvents envelope as its event, of the time the
// event occurred, with "Authorization: Splunk <token>" and the Standard Webhooks signature over what is
// sent. It counts as delivered only on Splunk's success (200, code 0): each other documented answer is a
// failed attempt whose reason holds HEC's code and text, as its excerpt does.
func TestSplunkHECMessage(t *testing.T) {
	const token = "CF179AE4-3C99-45F5-A7CC-3284AA91CF67"
	hec := hectest.New(t, token)
	secret := NewSecret()
	envelope := `{"specversion":"1.0","id":"6a1f0d6e-1c0b-4f7e-9f55-0c7c43b8d9a1","type":"person.created.v1","data":{}}`
	occurred := time.Date(2026, 12, 6, 3, 4, 5, 678e6, time.UTC)
	send := func(token string) Result {
		m, err := Deliverer{Host: "worker-1"}.splunkHEC(Message{URL: SplunkURL(hec.URL), ID: "6a1f0d6e-1c0b-4f7e-9f55-0c7c43b8d9a1",
			Body: []byte(envelope), Secrets: []string{secret}, At: time.Now()}, token, occurred)
		if err != nil {
			t.Fatal(err)
		}
		return Send(context.Background(), Client(true, time.Second), m)
	}
	hec.Script(hectest.Busy, hectest.InvalidFormat, hectest.Success)
	for i, want := range []struct {
		status  int
		refused string
	}{
		{503, `answered 503 Service Unavailable (code 9, "Server is busy")`},
		{400, `answered 400 Bad Request (code 6, "Invalid data format")`},
		{200, ""},
	} {
		res := send(token)
		if res.Status != want.status || res.Refused != want.refused || res.OK() != (want.refused == "") {
			t.Fatalf("answer %d: %+v", i, res)
		}
		if want.refused != "" && !strings.Contains(res.Excerpt, `"code":`) {
			t.Errorf("excerpt %q", res.Excerpt)
		}
	}
	if res := send("not-the-token"); res.OK() || res.Status != 403 || !strings.Contains(res.Refused, `code 4, "Invalid token"`) {
		t.Fatalf("a wrong token: %+v", res)
	}

	got := hec.Requests()
	if len(got) != 4 || got[2].Answer != hectest.Success || !got[0].Authorized || got[3].Authorized {
		t.Fatalf("requests %+v", got)
	}
	r := got[2]
	if r.Header.Get("Authorization") != "Splunk "+token {
		t.Errorf("Authorization %q", r.Header.Get("Authorization"))
	}
	if e := r.Event; e.Time != 1796526245.678 || e.Host != "worker-1" || e.Source != "signetassure" ||
		e.SourceType != "signetassure:event" || string(e.Event) != envelope {
		t.Errorf("event %s", r.Body)
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	if err := wh.Verify(r.Body, r.Header); err != nil || r.Header.Get("webhook-id") != "6a1f0d6e-1c0b-4f7e-9f55-0c7c43b8d9a1" {
		t.Errorf("Standard Webhooks headers: %v %v", err, r.Header)
	}
}

// A 2xx answer that is not HEC's (a proxy's page, a 204) is not a delivery to Splunk.
func TestSplunkHECOtherSuccessIsNotDelivery(t *testing.T) {
	for _, a := range []struct {
		status int
		body   string
	}{{200, `<html>ok</html>`}, {200, `{"text":"Success"}`}, {204, ``}, {201, `{"text":"Success","code":0}`}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(a.status)
			_, _ = w.Write([]byte(a.body))
		}))
		m, err := Deliverer{}.splunkHEC(Message{URL: srv.URL, ID: "e", Body: []byte(`{}`), Secrets: []string{NewSecret()},
			At: time.Now()}, "tok", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if res := Send(context.Background(), Client(true, time.Second), m); res.OK() || res.Refused == "" {
			t.Errorf("%d %s: %+v", a.status, a.body, res)
		}
		srv.Close()
	}
	if _, err := (Deliverer{}).splunkHEC(Message{}, "", time.Now()); err == nil {
		t.Error("sent without a token")
	}
}

func TestSplunkURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://splunk.example:8088":           "https://splunk.example:8088/services/collector/event",
		"https://splunk.example:8088/":          "https://splunk.example:8088/services/collector/event",
		"https://splunk.example/custom/collect": "https://splunk.example/custom/collect",
	} {
		if got := SplunkURL(in); got != want {
			t.Errorf("SplunkURL(%q) = %q", in, got)
		}
	}
}
