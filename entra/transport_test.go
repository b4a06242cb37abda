package entra

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTheBoundedClientReadsAtMostMaxResponseBytesAndFailsOn5xxAnd429(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", MaxResponseBytes+1)))
		case "/fits":
			w.Write([]byte(strings.Repeat("x", MaxResponseBytes)))
		case "/busy":
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	c := boundedClient(nil)
	if c.Timeout != DefaultTimeout {
		t.Errorf("timeout %v", c.Timeout)
	}
	read := func(path string) (int, error) {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return len(b), err
	}
	if n, err := read("/fits"); err != nil || n != MaxResponseBytes {
		t.Errorf("fits: %d %v", n, err)
	}
	if _, err := read("/big"); !errors.Is(err, errTooLarge) {
		t.Errorf("big: %v", err)
	}
	for _, p := range []string{"/busy", "/down"} {
		_, err := read(p)
		var se *statusError
		if !errors.As(err, &se) || !unreachable(err) {
			t.Errorf("%s: %v", p, err)
		}
	}
}
