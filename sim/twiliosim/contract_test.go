package twiliosim_test

// Contract tests: the simulator's answers and webhooks against Twilio's documented JSON and forms, the
// fixtures in messaging/testdata/vendor/twilio (their sources are in its README.md), with the helper the client
// tests use.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/sim/twiliosim"
)

// twilioVendorFixture reads a vendor fixture of the provider package (one copy, wherever this package lives).
func twilioVendorFixture(t *testing.T, name string) []byte {
	t.Helper()
	return contracttest.Fixture(t, "messaging", "twilio/"+name)
}

// contractHooks keeps every webhook form the simulator posts, by path.
type contractHooks struct {
	srv   *httptest.Server
	mu    sync.Mutex
	forms map[string][]url.Values
}

func newContractHooks(t *testing.T) *contractHooks {
	h := &contractHooks{forms: map[string][]url.Values{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		h.mu.Lock()
		h.forms[r.URL.Path] = append(h.forms[r.URL.Path], r.PostForm)
		h.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// wait returns the first form posted to path whose key has the value, waiting up to 5 s.
func (h *contractHooks) wait(t *testing.T, path, key, value string) url.Values {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, f := range h.forms[path] {
			if f.Get(key) == value {
				h.mu.Unlock()
				return f
			}
		}
		h.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no webhook to %s with %s=%s", path, key, value)
	return nil
}

func TestContractTwilioShapes(t *testing.T) {
	hooks := newContractHooks(t)
	sim := twiliosim.New(twiliosim.Options{AccountSID: sid, AuthToken: token, DeliveryDelay: 2 * time.Millisecond,
		InboundURL: hooks.srv.URL + "/inbound"})
	srv := httptest.NewServer(sim.Handler())
	defer func() {
		srv.Close()
		sim.Close()
	}()
	f := sim.Faults()
	f.Unreachable = []string{alice}
	sim.SetFaults(f)

	call := func(method, path string, form url.Values) (int, []byte) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+"/2010-04-01/Accounts/"+sid+path, body)
		req.SetBasicAuth(sid, token)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// Create: the documented request (to alice, whom the faults make unreachable), our status webhook.
	request := contracttest.FormFields(t, twilioVendorFixture(t, "message_create_request.form.json"))
	request.Set("StatusCallback", hooks.srv.URL+"/status?m=msg-1")
	status, body := call(http.MethodPost, "/Messages.json", request)
	if status != http.StatusCreated {
		t.Fatalf("create with the documented form: %d %s", status, body)
	}
	contracttest.AssertShape(t, twilioVendorFixture(t, "message_create_response.json"), body, contracttest.Options{})
	var created struct {
		Sid string `json:"sid"`
	}
	_ = json.Unmarshal(body, &created)

	// The status callback of the undelivered end, then the message fetched.
	cb := hooks.wait(t, "/status", "MessageStatus", "undelivered")
	documented := contracttest.FormFields(t, twilioVendorFixture(t, "status_callback_undelivered.form.json"))
	if missing := contracttest.MissingFormFields(documented, cb); len(missing) > 0 {
		t.Errorf("undelivered status callback lacks the documented %v: %v", missing, cb)
	}
	status, body = call(http.MethodGet, "/Messages/"+created.Sid+".json", nil)
	if status != http.StatusOK {
		t.Fatalf("fetch: %d %s", status, body)
	}
	contracttest.AssertShape(t, twilioVendorFixture(t, "message_fetch_undelivered.json"), body, contracttest.Options{})

	// A delivered message's callback.
	request.Set("To", bob)
	request.Set("StatusCallback", hooks.srv.URL+"/status?m=msg-2")
	if status, body = call(http.MethodPost, "/Messages.json", request); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	cb = hooks.wait(t, "/status", "MessageStatus", "delivered")
	documented = contracttest.FormFields(t, twilioVendorFixture(t, "status_callback_delivered.form.json"))
	if missing := contracttest.MissingFormFields(documented, cb); len(missing) > 0 {
		t.Errorf("delivered status callback lacks the documented %v: %v", missing, cb)
	}

	// Inbound webhooks: SMS (STOP, which also opts bob out) and WhatsApp.
	ctx := context.Background()
	if _, err := sim.Reply(ctx, twiliosim.Reply{From: bob, To: from, Body: "STOP"}); err != nil {
		t.Fatal(err)
	}
	in := hooks.wait(t, "/inbound", "Body", "STOP")
	documented = contracttest.FormFields(t, twilioVendorFixture(t, "inbound_sms.form.json"))
	if missing := contracttest.MissingFormFields(documented, in); len(missing) > 0 {
		t.Errorf("inbound SMS lacks the documented %v: %v", missing, in)
	}
	if _, err := sim.Reply(ctx, twiliosim.Reply{From: "whatsapp:" + alice, Body: "Yes, Monday is fine", ProfileName: "Ada"}); err != nil {
		t.Fatal(err)
	}
	in = hooks.wait(t, "/inbound", "Body", "Yes, Monday is fine")
	documented = contracttest.FormFields(t, twilioVendorFixture(t, "inbound_whatsapp.form.json"))
	if missing := contracttest.MissingFormFields(documented, in); len(missing) > 0 {
		t.Errorf("inbound WhatsApp lacks the documented %v: %v", missing, in)
	}

	// The documented error answer: sending to bob, who has opted out.
	request.Del("StatusCallback")
	status, body = call(http.MethodPost, "/Messages.json", request)
	if status != http.StatusBadRequest {
		t.Fatalf("send to an opted-out number: %d %s", status, body)
	}
	contracttest.AssertShape(t, twilioVendorFixture(t, "error_opted_out.json"), body, contracttest.Options{})
	if !strings.Contains(string(body), "21610") {
		t.Errorf("opted-out answer: %s", body)
	}
}
