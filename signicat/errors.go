package signicat

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/oauth2"
)

// OpToken is the Op of an *Error from the token endpoint.
const OpToken = "token"

// Error is every failure of a Client call that got as far as talking to Assure (or tried to).
//
// Its message never quotes the client secret or an access token: the token endpoint's body is not quoted
// (only its OAuth2 error code and description), and whatever the server echoes is scrubbed of both.
// Problem and Err keep what the server said, unscrubbed, for callers that need it.
type Error struct {
	Op         string   // what was attempted, e.g. "get process"; OpToken for the token endpoint
	StatusCode int      // the HTTP status; 0 when no answer came
	Problem    *Problem // the decoded problem+json (or JSON of that shape) answer, when there was one
	Err        error    // the underlying failure (network, timeout, undecodable answer), when there was one

	// redact scrubs secrets from the message. A function, so that %#v prints no secret either.
	redact func(string) string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("signicat: ")
	b.WriteString(e.Op)
	if e.StatusCode != 0 {
		b.WriteString(": ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" " + t)
		}
	}
	if p := e.Problem; p != nil {
		if p.Title != "" {
			b.WriteString(": " + p.Title)
		}
		if p.Detail != "" && p.Detail != p.Title {
			b.WriteString(": " + p.Detail)
		}
		if p.TraceID != "" {
			b.WriteString(" (trace " + p.TraceID + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		var re *oauth2.RetrieveError
		if errors.As(e.Err, &re) {
			// Its own message quotes the whole answer; the code and description say what matters.
			b.WriteString("oauth2")
			if re.ErrorCode != "" {
				b.WriteString(" " + re.ErrorCode)
			}
			if re.ErrorDescription != "" {
				b.WriteString(": " + re.ErrorDescription)
			}
		} else {
			b.WriteString(e.Err.Error())
		}
	}
	s := b.String()
	if e.redact != nil {
		s = e.redact(s)
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable says whether trying the call again later may succeed: true for 5xx, 429 and 408 answers, for
// network failures and for timeouts (the Client's or the caller's deadline); false for other 4xx answers
// (a token endpoint refusing the credentials with 400 or 401 among them, and an API call still refused
// with 401 after a fresh token), for a caller's cancellation and for requests that cannot be made.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) && e.StatusCode >= 400 {
		return retryableStatus(e.StatusCode)
	}
	// No error answer: judge the failure itself (a 2xx whose body broke off lands here too).
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF): // the answer broke off
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ue *url.Error // any other failed exchange: connection refused, reset, TLS handshake...
	return errors.As(err, &ue)
}

func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// NotFound says whether Assure answered 404: the dossier or process does not exist (any more).
func NotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// decodeProblem reads an error answer as a Problem when it is JSON of that shape, else returns nil.
func decodeProblem(contentType string, body []byte) *Problem {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		return nil
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return nil
	}
	if p.Title == "" && p.Detail == "" && p.Type == "" && p.Status == 0 {
		return nil // JSON, but not a problem (e.g. an OAuth2 {"error": ...})
	}
	return &p
}
