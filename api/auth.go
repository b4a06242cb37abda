package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// Authenticator finds the staff user behind a request. API tokens are the first; directory sign-in
// (Entra ID, LDAP) plugs in here.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (domain.StaffUser, error)
}

// ErrUnauthenticated: no credentials, or credentials that are not (or no longer) valid.
var ErrUnauthenticated = errors.New("unauthenticated")

// TokenAuth authenticates "Authorization: Bearer <token>" against the hashed tokens in the store.
type TokenAuth struct{ Store *store.Store }

func (a TokenAuth) Authenticate(ctx context.Context, r *http.Request) (domain.StaffUser, error) {
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return domain.StaffUser{}, ErrUnauthenticated
	}
	u, err := a.Store.UserByToken(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return u, ErrUnauthenticated
	}
	return u, err
}

// bearerToken reads "Authorization: Bearer <token>", for staff tokens and partner keys alike. The scheme
// is case-insensitive (RFC 9110 §11.1: "bearer" is "Bearer"); spaces around the token are dropped.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

const principalKey = "signetassure.principal"

// authenticate finds the staff user behind a request. Unknown, expired and revoked tokens get one and the
// same 401. An address that keeps failing is refused (429 with Retry-After) for a while, good token or
// not, as for partner keys; failures are counted per address and minute (external_auth_failures), not
// each in the audit chain.
func (s *Server) authenticate(c *gin.Context) {
	ip := c.ClientIP()
	if wait, blocked := s.authFailures.blocked(ip, time.Now()); blocked {
		retryAfter(c, wait)
		s.refuseCounted(c, ip, "staff", problem(http.StatusTooManyRequests, "rate-limited",
			"too many calls with invalid tokens from this address"), "rate_limited")
		return
	}
	u, err := s.Auth.Authenticate(c.Request.Context(), c.Request)
	if errors.Is(err, ErrUnauthenticated) {
		s.authFailures.fail(ip, time.Now())
		c.Header("WWW-Authenticate", `Bearer realm="signetassure"`)
		s.refuseCounted(c, ip, "staff", problem(http.StatusUnauthorized, "unauthenticated", "a valid bearer token is required"), "unauthenticated")
		return
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	c.Set(principalKey, u)
	c.Next()
}

func requireRole(roles []domain.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, _ := principal(c)
		if !u.Has(roles...) {
			c.Header("Content-Type", "application/problem+json")
			c.AbortWithStatusJSON(http.StatusForbidden, problem(http.StatusForbidden, "forbidden",
				"this action needs one of the roles: "+roleList(roles)))
			return
		}
		c.Next()
	}
}

func principal(c *gin.Context) (domain.StaffUser, bool) {
	v, ok := c.Get(principalKey)
	if !ok {
		return domain.StaffUser{}, false
	}
	u, ok := v.(domain.StaffUser)
	return u, ok
}

// actor is the acting user, for the audit log.
func actor(c *gin.Context) store.Actor {
	u, _ := principal(c)
	id := u.ID
	return &id
}
