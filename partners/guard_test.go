package partners

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCheckBaseURL(t *testing.T) {
	for _, tc := range []struct {
		url           string
		allowLoopback bool
		want          string // "" when refused
	}{
		{"https://vetting.example/", false, "https://vetting.example"},
		{"  https://vetting.example/signet  ", false, "https://vetting.example/signet"},
		{"https://93.184.215.14:8443", false, "https://93.184.215.14:8443"},
		{"http://vetting.example", false, ""},
		{"http://vetting.example", true, ""},
		{"http://127.0.0.1:8080", true, "http://127.0.0.1:8080"},
		{"http://localhost:8080", true, "http://localhost:8080"},
		{"https://127.0.0.1", false, ""},
		{"https://user:pass@vetting.example", false, ""},
		{"https://user@vetting.example", false, ""},
		{"https://vetting.example/#frag", false, ""},
		{"https://vetting.example/?a=1", false, ""},
		{"https://vetting.example/?", false, ""},
		{"https://169.254.169.254/latest/meta-data", false, ""},
		{"http://169.254.169.254/latest/meta-data", true, ""},
		{"https://[fe80::1]/", true, ""},
		{"https://[fc00::1]/", false, ""},
		{"https://[::ffff:169.254.169.254]/", true, ""},
		{"https://[::ffff:127.0.0.1]/", false, ""},
		{"https://[::1]/", false, ""},
		{"https://10.1.2.3/", true, ""},
		{"https://172.16.0.1/", false, ""},
		{"https://192.168.1.1/", false, ""},
		{"https://100.64.0.1/", false, ""},
		{"https://0.0.0.0/", true, ""},
		{"https://224.0.0.1/", false, ""},
		{"ftp://vetting.example", true, ""},
		{"vetting.example", false, ""},
		{"https://", false, ""},
		{"https:vetting.example", false, ""},
	} {
		got, err := CheckBaseURL(tc.url, tc.allowLoopback)
		if tc.want == "" {
			if err == nil || !errors.Is(err, ErrBaseURL) {
				t.Errorf("CheckBaseURL(%q, %v) = %q, %v; want refused", tc.url, tc.allowLoopback, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CheckBaseURL(%q, %v) = %q, %v; want %q", tc.url, tc.allowLoopback, got, err, tc.want)
		}
	}
}

func TestAddressAllowed(t *testing.T) {
	for addr, want := range map[string]bool{
		"93.184.215.14": true, "2606:4700::1111": true, "127.0.0.1": false, "::1": false, "169.254.169.254": false,
		"::ffff:169.254.169.254": false, "::ffff:10.0.0.1": false, "::ffff:93.184.215.14": true, "100.100.1.1": false,
		"fe80::1%eth0": false, "fd00::1": false, "0.0.0.0": false, "::": false, "239.1.1.1": false, "ff02::1": false,
	} {
		if got := AddressAllowed(netip.MustParseAddr(addr), false); got != want {
			t.Errorf("AddressAllowed(%s) = %v, want %v", addr, got, want)
		}
	}
	if !AddressAllowed(netip.MustParseAddr("127.0.0.1"), true) || AddressAllowed(netip.MustParseAddr("10.0.0.1"), true) {
		t.Error("loopback development allows loopback, and only loopback")
	}
}

// A name that resolves to a loopback address, or a literal internal address that never went through
// CheckBaseURL, is refused when the connection is made: the partner is never called.
func TestDialRefusesInternalAddresses(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		answerJSON(w, 200, `{"partnerOrg":"x","keyName":"y","scopes":[]}`)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	for _, u := range []string{
		"http://localhost:" + port, // a name resolving to loopback
		"http://127.0.0.1:" + port, // the literal
		"http://[::ffff:127.0.0.1]:" + port,
		"http://169.254.169.254:" + port, // link-local: refused before any packet is sent
		"http://[fe80::1]:" + port,
	} {
		_, err := New(u, testSecret, nil).WhoAmI(context.Background())
		if !errors.Is(err, ErrForbiddenAddress) || !errors.Is(err, ErrTransport) {
			t.Errorf("%s: err = %v, want a refused dial", u, err)
		}
		if Describe(err) != Unreachable {
			t.Errorf("%s: described as %q", u, Describe(err))
		}
	}
	if n := calls.Load(); n != 0 {
		t.Fatalf("the loopback partner was called %d times", n)
	}
	// Loopback development reaches it.
	if _, err := New("http://localhost:"+port, testSecret, HTTPClient(true)).WhoAmI(context.Background()); err != nil {
		t.Fatalf("loopback development: %v", err)
	}
	if calls.Load() != 1 {
		t.Fatal("loopback development did not reach the partner")
	}
}
