package access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/signetassure/signetassure/tracing"
)

// HTTPOptions tune how a connector talks to its ACS. Zero values take the defaults.
type HTTPOptions struct {
	Timeout       time.Duration // per attempt; default 15 s
	MaxAttempts   int           // attempts per call, the first included; default 5
	MinBackoff    time.Duration // default 200 ms
	MaxBackoff    time.Duration // cap on one wait, Retry-After included; default 30 s
	MaxConcurrent int           // requests in flight to the ACS at once; default 8
	// Transport defaults to http.DefaultTransport's settings, keeping MaxConcurrent idle connections.
	Transport http.RoundTripper
}

// NewHTTPClient is the HTTP client every connector uses: bounded concurrency, exponential backoff with full
// jitter that honours Retry-After, and retries only where a retry cannot write twice. A POST or PATCH is
// retried only when the ACS said it did not take the request (429, 503); after a timeout or a 500 it may
// have applied it, so the caller reads the record again (by its external id) before trying again.
func NewHTTPClient(o HTTPOptions) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 200 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 8
	}
	if o.Transport == nil {
		// Keep as many idle connections to the ACS as requests may be in flight: the default keeps two,
		// so at a concurrency above two every other request would open (and leave in TIME_WAIT) a new one.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.MaxConcurrent
		o.Transport = t
	}
	c := retryablehttp.NewClient()
	c.Logger = nil
	c.HTTPClient = &http.Client{Timeout: o.Timeout,
		Transport: &limited{next: tracing.Transport(o.Transport), slots: make(chan struct{}, o.MaxConcurrent)}}
	c.RetryMax = o.MaxAttempts - 1
	c.RetryWaitMin, c.RetryWaitMax = o.MinBackoff, o.MaxBackoff
	c.Backoff = backoff
	c.CheckRetry = checkRetry
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return c.StandardClient()
}

// limited lets at most cap(slots) requests reach the ACS at once.
type limited struct {
	next  http.RoundTripper
	slots chan struct{}
}

func (l *limited) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case l.slots <- struct{}{}:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	resp, err := l.next.RoundTrip(r)
	if err != nil {
		<-l.slots
		return nil, err
	}
	resp.Body = &releasing{ReadCloser: resp.Body, release: func() { <-l.slots }}
	return resp, nil
}

type releasing struct {
	io.ReadCloser
	release func()
	done    bool
}

func (r *releasing) Close() error {
	err := r.ReadCloser.Close()
	if !r.done {
		r.done = true
		r.release()
	}
	return err
}

func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if resp == nil {
		if err == nil {
			return false, nil
		}
		// A POST or PATCH that failed in flight may have been applied: not ours to repeat.
		return !notIdempotent(err), nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusServiceUnavailable:
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		return resp.Request == nil || (resp.Request.Method != http.MethodPost && resp.Request.Method != http.MethodPatch), nil
	}
	return false, nil
}

// notIdempotent tells from a transport error whether the request was a POST or a PATCH.
func notIdempotent(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && (strings.EqualFold(ue.Op, http.MethodPost) || strings.EqualFold(ue.Op, http.MethodPatch))
}

func backoff(minWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if d, ok := RetryAfter(resp.Header); ok {
			return min(d, maxWait)
		}
	}
	ceiling := minWait << min(attempt, 16)
	if ceiling <= 0 || ceiling > maxWait {
		ceiling = maxWait
	}
	return minWait/2 + rand.N(ceiling) // full jitter, never a busy loop
}

// RetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
func RetryAfter(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// ErrorFrom turns a failed HTTP exchange into an *Error. resp is nil when no answer came; body is what was
// read of it. It understands ASP.NET and RFC 9457 problem details.
func ErrorFrom(op string, resp *http.Response, body []byte, err error) *Error {
	if resp == nil {
		detail := "no answer"
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			detail = "timed out"
		}
		return &Error{Kind: KindTransient, Op: op, Detail: detail}
	}
	e := &Error{Kind: KindForStatus(resp.StatusCode), Status: resp.StatusCode, Op: op}
	if d, ok := RetryAfter(resp.Header); ok {
		e.RetryAfter = d
	}
	var p struct {
		Title  string              `json:"title"`
		Detail string              `json:"detail"`
		Errors map[string][]string `json:"errors"`
	}
	if json.Unmarshal(body, &p) == nil {
		e.Detail, e.Fields = p.Title, p.Errors
		if p.Detail != "" {
			e.Detail = p.Detail
		}
	}
	if e.Detail == "" {
		e.Detail = http.StatusText(resp.StatusCode)
	}
	return e
}

// maxAnswer bounds what is read of one answer.
const maxAnswer = 64 << 20

// Exchange sends one JSON request (body nil: none) with the header authName: authValue when authValue is
// set, and reads the whole answer. hc is a client from NewHTTPClient, which retries what is safe to retry.
func Exchange(ctx context.Context, hc *http.Client, method, url string, body []byte, authName, authValue string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authValue != "" {
		req.Header.Set(authName, authValue)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, err
	}
	return resp, data, nil
}
