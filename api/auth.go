package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// Authenticator finds the staff credential behind a request: a token or a console session.
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (store.Credential, error)
}

// ErrUnauthenticated: no credentials, or credentials that are not (or no longer) valid.
var ErrUnauthenticated = errors.New("unauthenticated")

// StoreAuth authenticates "Authorization: Bearer <token>" against the hashed tokens in the store, or,
// without that header, the console's session cookie against the sessions there. Each is one indexed
// query; a revoked token or ended session is refused on its next request.
type StoreAuth struct {
	Store    *store.Store
	Sessions SessionConfig
}

func (a StoreAuth) Authenticate(ctx context.Context, r *http.Request) (store.Credential, error) {
	var cred store.Credential
	var err error
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := bearerToken(h)
		if !ok {
			return cred, ErrUnauthenticated
		}
		cred, err = a.Store.CredentialByToken(ctx, token)
	} else if ck, cerr := r.Cookie(a.Sessions.cookieName()); cerr == nil && ck.Value != "" {
		cred, err = a.Store.CredentialBySession(ctx, ck.Value, a.Sessions.Idle)
	} else {
		return cred, ErrUnauthenticated
	}
	if errors.Is(err, store.ErrNotFound) {
		return cred, ErrUnauthenticated
	}
	return cred, err
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

// authenticate finds the staff credential behind a request. Unknown, expired and revoked tokens, and
// unknown, ended and timed-out sessions, get one and the same 401. An address that keeps failing is
// refused (429 with Retry-After) for a while, good credentials or not, as for partner keys; failures are
// counted per address and minute (external_auth_failures), not each in the audit chain. A good
// credential is then held to its rate, and its address to the address rate.
func (s *Server) authenticate(c *gin.Context) {
	ip := c.ClientIP()
	now := time.Now()
	if wait, blocked := s.authFailures.blocked(callerKey(ip), now); blocked {
		retryAfter(c, wait)
		s.refuseCounted(c, ip, "staff", problem(http.StatusTooManyRequests, "rate-limited",
			"too many calls with invalid credentials from this address"), "rate_limited")
		return
	}
	cred, err := s.Auth.Authenticate(c.Request.Context(), c.Request)
	if errors.Is(err, ErrUnauthenticated) {
		s.authFailures.take(callerKey(ip), now)
		c.Header("WWW-Authenticate", `Bearer realm="signetassure"`)
		s.refuseCounted(c, ip, "staff", problem(http.StatusUnauthorized, "unauthenticated",
			"a valid bearer token or console session is required"), "unauthenticated")
		return
	}
	if err != nil {
		s.writeError(c, err)
		return
	}
	if wait, ok := s.staffRate.take(credentialKey(cred), now); !ok {
		retryAfter(c, wait)
		s.writeError(c, problem(http.StatusTooManyRequests, "rate-limited",
			fmt.Sprintf("at most %d requests a minute with one token or session", s.StaffRate)))
		return
	}
	if wait, ok := s.addressRate.take(callerKey(ip), now); !ok {
		retryAfter(c, wait)
		s.writeError(c, problem(http.StatusTooManyRequests, "rate-limited",
			fmt.Sprintf("at most %d staff requests a minute from one address", s.AddressRate)))
		return
	}
	c.Set(principalKey, cred)
	c.Next()
}

// credentialKey names a credential for its rate limit: the token's or the session's id.
func credentialKey(c store.Credential) string {
	if c.SessionID != uuid.Nil {
		return "session/" + c.SessionID.String()
	}
	return "token/" + c.TokenID.String()
}

// authorize lets a request through when its user holds one of roles and its credential holds scope
// ("" needs none); otherwise 403 names what is missing.
func authorize(roles []domain.Role, scope domain.StaffScope) gin.HandlerFunc {
	return func(c *gin.Context) {
		cred := credential(c)
		var p *Problem
		switch {
		case !cred.User.Has(roles...):
			p = problem(http.StatusForbidden, "forbidden", "this action needs one of the roles: "+roleList(roles))
		case scope != "" && cred.Scopes != nil && !slices.Contains(cred.Scopes, scope):
			p = problem(http.StatusForbidden, "forbidden", "this token lacks the scope "+string(scope))
		}
		if p != nil {
			c.Header("Content-Type", "application/problem+json")
			c.AbortWithStatusJSON(http.StatusForbidden, p)
			return
		}
		c.Next()
	}
}

// credential is the request's staff credential (zero for a public route).
func credential(c *gin.Context) store.Credential {
	v, _ := c.Get(principalKey)
	cred, _ := v.(store.Credential)
	return cred
}

// principal is the request's staff user.
func principal(c *gin.Context) (domain.StaffUser, bool) {
	_, ok := c.Get(principalKey)
	return credential(c).User, ok
}

// actor is the acting user, for the audit log.
func actor(c *gin.Context) store.Actor {
	u, _ := principal(c)
	id := u.ID
	return &id
}
