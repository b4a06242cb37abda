package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/store"
)

// idempotencyTTL is how long a keyed request's first answer is kept for its retries.
const idempotencyTTL = 24 * time.Hour

// keyedAnswer is the answer being written to a keyed request, kept as it goes out.
type keyedAnswer struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *keyedAnswer) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *keyedAnswer) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// idempotent carries out a staff write request sent with an Idempotency-Key once, and answers its
// retries alike: the first answer (any status below 500) is kept for a day and replayed to a repeat of
// the same request by the same user (same method, path and body), marked Idempotent-Replayed. The key
// used for another request is a 422; a repeat while the first is still being carried out is a 409 to
// retry later. A 5xx is not kept: the retry is carried out again, and the keyed workflow ids and update
// ids the handlers derive from the key keep it single. The answer of a route whose answer holds a secret
// shown once (secret) is not kept: its repeat is told the request was carried out (409).
func (s *Server) idempotent(secret bool) gin.HandlerFunc {
	return func(c *gin.Context) { s.idempotently(c, secret) }
}

func (s *Server) idempotently(c *gin.Context, secret bool) {
	var errs fields
	key := idempotencyKey(c, &errs)
	if err := errs.err(); err != nil {
		s.writeError(c, err)
		return
	}
	if key == "" {
		c.Next()
		return
	}
	body, err := readBodyUpTo(c, maxUploadBody)
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	path := c.Request.URL.Path
	if c.Request.URL.RawQuery != "" {
		path += "?" + c.Request.URL.RawQuery
	}
	req := store.KeyedRequest{UserID: actorID(c), Key: key, Method: c.Request.Method, Path: path, BodyHash: sum[:]}
	claim, err := s.Store.ClaimIdempotencyKey(c, req, s.idempotencyLease(), idempotencyTTL)
	if err != nil {
		s.writeError(c, err)
		return
	}
	if !claim.Claimed {
		s.answerAgain(c, req, claim, secret)
		return
	}
	w := &keyedAnswer{ResponseWriter: c.Writer}
	c.Writer = w
	// Whatever happens (a panic included), the key is answered or let go.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), 5*time.Second)
		defer cancel()
		panicked := recover()
		status := w.Status()
		var err error
		if panicked != nil || status >= 500 {
			err = s.Store.ReleaseIdempotencyKey(ctx, req)
		} else {
			a := store.KeyedAnswer{Status: status, ContentType: w.Header().Get("Content-Type"),
				Location: w.Header().Get("Location"), Body: w.body.Bytes()}
			if secret {
				a.ContentType, a.Body = "", nil // never kept
			}
			err = s.Store.AnswerIdempotencyKey(ctx, req, a)
		}
		if err != nil {
			s.Log.Warn("idempotency key not recorded", "route", c.FullPath(), "error", err)
		}
		if panicked != nil {
			panic(panicked) // answered by the recover middleware
		}
	}()
	c.Next()
}

// answerAgain answers a request whose key an earlier request holds.
func (s *Server) answerAgain(c *gin.Context, req store.KeyedRequest, claim store.KeyedClaim, secret bool) {
	switch {
	case !req.Same(claim.Earlier):
		p := problem(http.StatusUnprocessableEntity, "idempotency-key-reused",
			"Idempotency-Key: was used for another request; send a new key with a new request")
		p.Errors = []FieldError{{Field: "Idempotency-Key", Message: "was used for another request"}}
		s.writeError(c, p)
	case claim.Answer == nil:
		c.Header("Retry-After", "1")
		p := problem(http.StatusConflict, "idempotency-key-in-progress",
			"Idempotency-Key: a request with this key is still being carried out; retry it shortly")
		p.Errors = []FieldError{{Field: "Idempotency-Key", Message: "a request with this key is in progress"}}
		s.writeError(c, p)
	case secret && claim.Answer.Status < 300:
		p := problem(http.StatusConflict, "idempotency-key-done",
			"Idempotency-Key: this request was carried out; its answer held a secret shown once, which is not kept")
		p.Errors = []FieldError{{Field: "Idempotency-Key", Message: "the request was carried out; its secret is not shown again"}}
		s.writeError(c, p)
	default:
		a := claim.Answer
		if a.Location != "" {
			c.Header("Location", a.Location)
		}
		c.Header("Idempotent-Replayed", "true")
		c.Data(a.Status, a.ContentType, a.Body)
		c.Abort()
	}
}

// idempotencyLease is how long a keyed request holds its key while it is carried out: longer than any
// request takes (its calls to Temporal are bounded), so a key is taken over only when its process died.
func (s *Server) idempotencyLease() time.Duration { return 2*s.TemporalTimeout + time.Minute }
