// Package webhooks sends lifecycle events to subscribers as signed webhooks (issue 16), per the Standard
// Webhooks specification: the headers webhook-id (the event's CloudEvents id, the same on every attempt,
// so a subscriber de-duplicates on it), webhook-timestamp (Unix seconds) and webhook-signature
// ("v1,<base64 HMAC-SHA256 of id.timestamp.body>", one per live secret, space-separated), with secrets
// whsec_<base64>. Outbound calls are guarded as partner calls are (partners.HTTPClient): no proxy, every
// connection's address checked at dial time, and here a timeout of their own, no redirects followed and
// the answer read up to a bound. A subscription of format splunk-hec is sent each envelope inside a Splunk
// HTTP Event Collector event, with its HEC token, the same headers besides (splunk.go).
package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/signetassure/signetassure/partners"
)

// SecretPrefix marks a signing secret.
const SecretPrefix = "whsec_"

// ExcerptLimit bounds the part of a subscriber's answer kept in the delivery log (bytes).
const ExcerptLimit = 1024

// DefaultTimeout bounds one delivery (connect, request, answer) unless set otherwise.
const DefaultTimeout = 10 * time.Second

// NewSecret makes a signing secret: whsec_ and 32 random bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign gives the webhook-signature header of a message: one v1 signature per secret, space-separated.
func Sign(msgID string, at time.Time, body []byte, secrets ...string) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return "", err
		}
		sig, err := wh.Sign(msgID, at, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	if len(sigs) == 0 {
		return "", errors.New("webhooks: no secret to sign with")
	}
	return strings.Join(sigs, " "), nil
}

// CheckURL checks a subscriber's URL: https, a host, no user name, query or fragment, and no literal
// internal address (http and loopback only when allowLoopback is set: receivers on this machine in
// development). It returns the URL trimmed, or why it is refused.
func CheckURL(raw string, allowLoopback bool) (string, string) {
	if _, err := partners.CheckBaseURL(raw, allowLoopback); err != nil {
		var bad *partners.BaseURLError
		if errors.As(err, &bad) {
			return "", bad.Reason
		}
		return "", "is not allowed"
	}
	return strings.TrimSpace(raw), ""
}

// Client is the http.Client of deliveries: partners' guarded transport (the address of every connection
// checked at dial time), the timeout given, and no redirect followed (a redirect is an answer that is
// not 2xx).
func Client(allowLoopback bool, timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &http.Client{Transport: partners.HTTPClient(allowLoopback).Transport, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Message is one webhook to send.
type Message struct {
	URL     string
	ID      string // webhook-id: the event's id
	Body    []byte
	Secrets []string
	At      time.Time // webhook-timestamp
	// Authorization, when set, is sent as the Authorization header (a splunk-hec subscription's token).
	Authorization string
	// Accept, when set, judges an answer by the receiver's protocol beyond its status (Splunk HEC's code
	// 0): an error is the reason the answer does not count as delivered. Nil: any 2xx counts.
	Accept func(status int, body []byte) error
}

// Result is how one delivery went.
type Result struct {
	// Status is the HTTP status answered; 0 when no answer came.
	Status     int
	Latency    time.Duration
	RetryAfter time.Duration
	// Excerpt is the start of the answer's body (ExcerptLimit bytes at most, valid UTF-8).
	Excerpt string
	// Err says why no answer came, in words that name no address.
	Err string
	// Refused says why an answer does not count as delivered by the receiver's protocol (Message.Accept),
	// e.g. `answered 403 Forbidden (code 4, "Invalid token")`.
	Refused string
}

// OK reports an answer that counts as delivered: 2xx, and taken by the receiver's protocol when the
// message's format has one.
func (r Result) OK() bool { return r.Status >= 200 && r.Status < 300 && r.Refused == "" }

// Send signs and posts m with c. It never returns an error: a failure is in the Result.
func Send(ctx context.Context, c *http.Client, m Message) Result {
	sig, err := Sign(m.ID, m.At, m.Body, m.Secrets...)
	if err != nil {
		return Result{Err: "the message could not be signed"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return Result{Err: "the URL is not valid"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "SignetAssure-Webhooks/1")
	req.Header.Set(standardwebhooks.HeaderWebhookID, m.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(m.At.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	if m.Authorization != "" {
		req.Header.Set("Authorization", m.Authorization)
	}
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		return Result{Latency: time.Since(start), Err: describe(err)}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, ExcerptLimit))
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // lets the connection be reused
	r := Result{Status: res.StatusCode, Latency: time.Since(start),
		RetryAfter: ParseRetryAfter(res.Header.Get("Retry-After"), time.Now()), Excerpt: Excerpt(body)}
	if m.Accept != nil {
		if err := m.Accept(res.StatusCode, body); err != nil {
			r.Refused = err.Error()
		}
	}
	return r
}

// describe says why a request got no answer without repeating the error's text (which names addresses).
func describe(err error) string {
	var ne interface{ Timeout() bool }
	switch {
	case errors.Is(err, partners.ErrForbiddenAddress):
		return "the receiver's address is not a public address"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timed out"
	}
	return "the receiver could not be reached"
}

// Excerpt is b cut to ExcerptLimit bytes of valid UTF-8.
func Excerpt(b []byte) string {
	if len(b) > ExcerptLimit {
		b = b[:ExcerptLimit]
	}
	return strings.ToValidUTF8(string(b), "")
}

// ParseRetryAfter reads a Retry-After header: delay seconds or an HTTP date (0 when absent, invalid or
// past).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > 7*24*3600 {
			n = 7 * 24 * 3600
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
