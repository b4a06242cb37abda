package partners

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/audit"
)

// DefaultTimeout bounds a whole call (connect, request, answer) when New is given no http.Client.
const DefaultTimeout = 15 * time.Second

// MaxAnswerBytes is the most of a partner's answer the client reads; a longer 2xx answer is an error.
const MaxAnswerBytes = 1 << 20

var (
	// ErrTransport marks a call that got no complete answer: the partner could not be reached, the connection
	// broke, or the call timed out. IsRetryable reports true for it, unless the caller's context was canceled.
	ErrTransport = errors.New("transport error")
	// ErrInvalidAnswer marks a 2xx answer the client cannot accept: not JSON, too large, or (for a return) not
	// echoing the case reference and outcome sent. It is not retryable.
	ErrInvalidAnswer = errors.New("invalid answer")
	// ErrNoCredential is returned, without calling, when the client has no bearer secret.
	ErrNoCredential = errors.New("no bearer secret to call the partner with")
)

// Client calls one partner's external endpoints with the bearer secret the partner issued to us. It is
// safe for concurrent use. It never puts the secret in an error or a log.
type Client struct {
	base   string
	secret string
	http   *http.Client
}

// New returns a client of the partner whose SignetAssure answers at baseURL (e.g. "https://vetting.example"),
// calling with bearerSecret. A nil httpClient means HTTPClient(false): public addresses only, checked at
// dial time, and a DefaultTimeout timeout. The client never follows redirects (a redirect is answered as
// an *Error): the bearer secret goes to baseURL only.
func New(baseURL, bearerSecret string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = HTTPClient(false)
	}
	hc := *httpClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{base: strings.TrimRight(strings.TrimSpace(baseURL), "/"), secret: bearerSecret, http: &hc}
}

// Lookup resolves a name and date of birth at the partner (needs the vetting:read scope).
func (c *Client) Lookup(ctx context.Context, req LookupRequest) (LookupAnswer, error) {
	var a LookupAnswer
	raw, err := c.call(ctx, "lookup", http.MethodPost, PathLookup, req, &a)
	if err != nil {
		return LookupAnswer{}, err
	}
	if a.Matches == nil {
		a.Matches = []LookupMatch{}
	}
	a.Raw = raw
	return a, nil
}

// Return posts the outcome of a check we ran on the partner's behalf (needs the vetting:return scope). The
// partner answers a repeat of the same PartnerCaseID with its first answer, so retrying is safe. The answer
// must echo req.CaseRef and req.Outcome; its Raw holds the whole answer, to keep.
func (c *Client) Return(ctx context.Context, req ReturnRequest) (ReturnAnswer, error) {
	var a ReturnAnswer
	raw, err := c.call(ctx, "return", http.MethodPost, PathReturn, req, &a)
	if err != nil {
		return ReturnAnswer{}, err
	}
	if a.CaseRef != req.CaseRef || a.Outcome != req.Outcome {
		return ReturnAnswer{}, fmt.Errorf("partners: return: %w: the answer does not echo the caseRef and outcome sent", ErrInvalidAnswer)
	}
	a.Raw = raw
	return a, nil
}

// WhoAmI asks the partner which key we call with: a connection test.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmI, error) {
	var a WhoAmI
	if _, err := c.call(ctx, "whoami", http.MethodGet, PathWhoAmI, nil, &a); err != nil {
		return WhoAmI{}, err
	}
	return a, nil
}

// AuditCheckpoint fetches the partner's newest signed audit tree checkpoint (needs the audit:witness
// scope); with from, also the proof that it extends the tree of that size. The checkpoint is as the
// partner sent it: open it with tlog.Open and the partner's key before trusting it.
func (c *Client) AuditCheckpoint(ctx context.Context, from *uint64) (AuditCheckpoint, error) {
	path := PathAuditCheckpoint
	if from != nil {
		path += "?from=" + strconv.FormatUint(*from, 10)
	}
	var a AuditCheckpoint
	if _, err := c.call(ctx, "audit checkpoint", http.MethodGet, path, nil, &a); err != nil {
		return AuditCheckpoint{}, err
	}
	return a, nil
}

// AuditInclusion fetches the proof that an entry of the partner's audit log that concerns us is in its
// tree of size (0: the newest checkpoint's size).
func (c *Client) AuditInclusion(ctx context.Context, entryID int64, size uint64) (audit.Inclusion, error) {
	path := strings.Replace(PathAuditInclusion, ":id", strconv.FormatInt(entryID, 10), 1)
	if size > 0 {
		path += "?size=" + strconv.FormatUint(size, 10)
	}
	var a audit.Inclusion
	if _, err := c.call(ctx, "audit inclusion", http.MethodGet, path, nil, &a); err != nil {
		return audit.Inclusion{}, err
	}
	return a, nil
}

// AuditWitnessed fetches the newest checkpoint of our own audit log the partner witnessed.
func (c *Client) AuditWitnessed(ctx context.Context) (WitnessedCheckpoint, error) {
	var a WitnessedCheckpoint
	if _, err := c.call(ctx, "audit witnessed", http.MethodGet, PathAuditWitnessed, nil, &a); err != nil {
		return WitnessedCheckpoint{}, err
	}
	return a, nil
}

// call makes one request and decodes a 2xx JSON object answer into out, returning the raw answer.
func (c *Client) call(ctx context.Context, op, method, path string, body, out any) (json.RawMessage, error) {
	if c.secret == "" {
		return nil, fmt.Errorf("partners: %s: %w", op, ErrNoCredential)
	}
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("partners: %s: the partner's base URL is not an http(s) URL", op)
	}
	endpoint := c.base + path

	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("partners: %s: encoding the request: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, endpoint, rd)
	if err != nil {
		return nil, fmt.Errorf("partners: %s: %w", op, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.secret)
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "SignetAssure-partners/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transport(op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return nil, c.transport(op, err)
	}
	tooLarge := len(data) > MaxAnswerBytes

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &Error{Op: op, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
		if !tooLarge {
			e.Problem = c.problem(data)
		}
		return nil, e
	}
	if tooLarge {
		return nil, fmt.Errorf("partners: %s: %w: larger than %d bytes", op, ErrInvalidAnswer, MaxAnswerBytes)
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, fmt.Errorf("partners: %s: %w: not a JSON object", op, ErrInvalidAnswer)
	}
	if err := json.Unmarshal(data, out); err != nil {
		// json's errors name types and offsets, never the values read.
		return nil, fmt.Errorf("partners: %s: %w: %w", op, ErrInvalidAnswer, err)
	}
	return json.RawMessage(data), nil
}

// transport wraps an error of the HTTP exchange itself. net/http never puts request headers in its errors,
// and the URL holds no secret; redact is a belt and braces.
func (c *Client) transport(op string, err error) error {
	msg := c.redact(err.Error())
	return &transportError{msg: "partners: " + op + ": " + ErrTransport.Error() + ": " + msg, err: err}
}

type transportError struct {
	msg string
	err error
}

func (e *transportError) Error() string   { return e.msg }
func (e *transportError) Unwrap() []error { return []error{ErrTransport, e.err} }

// problem decodes a problem+json (or any JSON object with a problem's fields) answer, without the secret if
// a partner echoed it.
func (c *Client) problem(data []byte) *Problem {
	var p Problem
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' || json.Unmarshal(data, &p) != nil {
		return nil
	}
	if p.Type == "" && p.Title == "" && p.Status == 0 && p.Detail == "" && len(p.Errors) == 0 {
		return nil
	}
	p.Type, p.Title, p.Detail, p.Instance = c.redact(p.Type), c.redact(p.Title), c.redact(p.Detail), c.redact(p.Instance)
	for i := range p.Errors {
		p.Errors[i].Field, p.Errors[i].Message = c.redact(p.Errors[i].Field), c.redact(p.Errors[i].Message)
	}
	return &p
}

func (c *Client) redact(s string) string {
	if c.secret == "" {
		return s
	}
	return strings.ReplaceAll(s, c.secret, "[redacted]")
}

// retryAfter reads a Retry-After header: delay seconds, or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.ParseInt(h, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 7*24*3600 {
			n = 7 * 24 * 3600
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}

// Error is a partner's non-2xx answer.
type Error struct {
	// Op is the call: "lookup", "return", "whoami", "audit checkpoint", "audit inclusion" or "audit witnessed".
	Op string
	// Status is the HTTP status the partner answered.
	Status int
	// Problem is the answer's problem detail, or nil when it had none. A secret the partner echoed is
	// redacted. Detail and field messages may repeat what was sent (a name, a date of birth): show them to
	// staff, but do not log them.
	Problem *Problem
	// RetryAfter is the partner's Retry-After (0 when absent).
	RetryAfter time.Duration
}

// Error names the call, the status, the problem type and title and the fields at fault; never the problem's
// detail or messages (they may repeat personal data sent) and never the bearer secret.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "partners: %s: partner answered %d", e.Op, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if p := e.Problem; p != nil {
		if p.Title != "" && p.Title != http.StatusText(e.Status) {
			fmt.Fprintf(&b, ": %q", p.Title)
		}
		if p.Type != "" && p.Type != "about:blank" {
			fmt.Fprintf(&b, " (%s)", p.Type)
		}
		if len(p.Errors) > 0 {
			fields := make([]string, 0, len(p.Errors))
			for _, f := range p.Errors {
				fields = append(fields, strconv.Quote(f.Field))
			}
			b.WriteString("; fields " + strings.Join(fields, ", "))
		}
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %s", e.RetryAfter)
	}
	return b.String()
}

// Retryable reports whether the same call may succeed later: 408, 429 and 5xx.
func (e *Error) Retryable() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// IsRetryable reports whether err is worth retrying: an *Error that is Retryable, or a transport error
// (ErrTransport) other than the caller canceling its context.
func IsRetryable(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Retryable()
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, ErrTransport)
}
