package entra

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/signetassure/signetassure/tracing"
)

// boundedClient is the client every call goes through: a copy of the one given (or a new one), with
// DefaultTimeout if it has no timeout, its transport wrapped so that answers are read to at most
// MaxResponseBytes and a 5xx or 429 answer is an error (the directory is unavailable) before any library
// reads it.
func boundedClient(given *http.Client) *http.Client {
	c := &http.Client{}
	if given != nil {
		cc := *given
		c = &cc
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	c.Transport = &boundedTransport{base: tracing.Transport(c.Transport)}
	return c
}

type boundedTransport struct{ base http.RoundTripper }

// statusError is an answer that says the directory cannot serve now.
type statusError struct{ status int }

func (e *statusError) Error() string { return fmt.Sprintf("the directory answered %d", e.status) }

func (t *boundedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, &statusError{status: resp.StatusCode}
	}
	resp.Body = &limitedBody{rc: resp.Body, left: MaxResponseBytes}
	return resp, nil
}

var errTooLarge = errors.New("entra: the answer is larger than MaxResponseBytes")

// limitedBody reads at most left bytes, and fails (rather than cut the answer short) when there are more.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
