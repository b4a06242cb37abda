package webhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, " 2 ": 2 * time.Second, "0": 0, "-5": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       0,
		"99999999": 7 * 24 * time.Hour,
	} {
		if got := ParseRetryAfter(v, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", v, got, want)
		}
	}
}

func TestExcerptIsBoundedUTF8(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2000 bytes
	got := Excerpt([]byte(long))
	if len(got) > ExcerptLimit || !strings.HasPrefix(long, got) || len(got) < ExcerptLimit-1 {
		t.Fatalf("excerpt of %d bytes", len(got))
	}
}

// A message signed with two secrets verifies with either, per the reference library; with none it does
// not.
func TestSendSignsWithEverySecret(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if !strings.HasPrefix(a, SecretPrefix) || a == b {
		t.Fatal("secrets are whsec_ and random")
	}
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	res := Send(context.Background(), Client(true, time.Second), Message{URL: srv.URL, ID: "evt-1", Body: []byte(`{"a":1}`),
		Secrets: []string{a, b}, At: time.Now()})
	if res.Status != 503 || res.RetryAfter != 3*time.Second || len(res.Excerpt) != ExcerptLimit || res.OK() {
		t.Fatalf("result %+v", res)
	}
	if got.Header.Get("webhook-id") != "evt-1" || len(strings.Fields(got.Header.Get("webhook-signature"))) != 2 {
		t.Fatalf("headers %v", got.Header)
	}
	for _, s := range []string{a, b} {
		wh, _ := standardwebhooks.NewWebhook(s)
		if err := wh.Verify(body, got.Header); err != nil {
			t.Errorf("does not verify with a secret: %v", err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(NewSecret())
	if wh.Verify(body, got.Header) == nil {
		t.Error("verifies with another secret")
	}
}

// Without loopback development, a receiver on a loopback address is refused at dial time, even by a name
// that resolves there.
func TestSendRefusesInternalAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("reached") }))
	defer srv.Close()
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	res := Send(context.Background(), Client(false, time.Second), Message{URL: url, ID: "evt-1", Body: []byte(`{}`),
		Secrets: []string{NewSecret()}, At: time.Now()})
	if res.Status != 0 || res.Err != "the receiver's address is not a public address" {
		t.Fatalf("result %+v", res)
	}
	if _, why := CheckURL("https://169.254.169.254/latest", false); why == "" {
		t.Error("a link-local URL is accepted")
	}
	if u, why := CheckURL(" https://receiver.example/hooks ", false); why != "" || u != "https://receiver.example/hooks" {
		t.Errorf("CheckURL = %q, %q", u, why)
	}
}
