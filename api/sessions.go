package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/store"
)

// SessionConfig sets the console's sessions: how long one lasts idle and at most, and its cookie.
type SessionConfig struct {
	// Idle and Absolute end a session (defaults store.DefaultSessionIdle and DefaultSessionAbsolute).
	Idle, Absolute time.Duration
	// Insecure drops the cookie's Secure attribute and its __Host- prefix: only for local development
	// over plain http (a PUBLIC_URL of http://...).
	Insecure bool
}

func (c SessionConfig) withDefaults() SessionConfig {
	if c.Idle == 0 {
		c.Idle = store.DefaultSessionIdle
	}
	if c.Absolute == 0 {
		c.Absolute = store.DefaultSessionAbsolute
	}
	return c
}

// cookieName is the session cookie's name: with the __Host- prefix a browser keeps it to this host,
// over https, for every path, and lets no other site or subdomain set it.
func (c SessionConfig) cookieName() string {
	if c.Insecure {
		return "signetassure_session"
	}
	return "__Host-signetassure_session"
}

// setCookie sets (value "" clears) an HttpOnly, SameSite=Lax cookie for the whole site, Secure unless
// the deployment is plain-http development. maxAge 0 keeps it for the browser's session.
func (s *Server) setCookie(c *gin.Context, name, value string, maxAge int) {
	if value == "" {
		maxAge = -1
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: !s.Sessions.Insecure, SameSite: http.SameSiteLaxMode})
}

// refuseCrossOrigin refuses a browser's cross-site request that would change something (by
// Sec-Fetch-Site, or Origin against Host): no page elsewhere can act with a signed-in console's cookie.
// Calls from programs, which send neither header, pass; so do safe methods.
func (s *Server) refuseCrossOrigin(c *gin.Context) {
	if err := s.crossOrigin.Check(c.Request); err != nil {
		s.writeError(c, problem(http.StatusForbidden, "cross-origin", "a cross-site request from a browser is refused"))
		c.Abort()
		return
	}
	c.Next()
}
