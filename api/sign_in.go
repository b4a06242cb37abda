package api

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// OIDCDirectory is a directory staff sign in to by OpenID Connect's authorization code flow with PKCE
// (Entra ID: entra.OnDemand).
type OIDCDirectory interface {
	// AuthCodeURL is where to send the browser, carrying state, nonce and the verifier's challenge;
	// domain.ErrDirectoryUnavailable when the directory cannot be asked.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange swaps the code for tokens and checks the ID token (signature, issuer, audience, expiry,
	// nonce): *domain.SignInRefused when it does not hold, domain.ErrDirectoryUnavailable when the
	// directory cannot be asked.
	Exchange(ctx context.Context, code, verifier, nonce string) (domain.DirectoryUser, error)
}

// PasswordDirectory is a directory that checks a user name and password (LDAP, Active Directory:
// package ldapdir), with the same errors as OIDCDirectory.Exchange.
type PasswordDirectory interface {
	Authenticate(ctx context.Context, username, password string) (domain.DirectoryUser, error)
}

// SignIn is the directories the console signs staff in with (nil: not offered), and the maps from each
// one's groups to SignetAssure roles.
type SignIn struct {
	Entra      OIDCDirectory
	EntraRoles domain.RoleMap
	LDAP       PasswordDirectory
	LDAPRoles  domain.RoleMap
}

// SignInMethods tells the console how staff may sign in.
type SignInMethods struct {
	Entra bool `json:"entra" description:"Sign in with Microsoft (Entra ID)"`
	LDAP  bool `json:"ldap" description:"the organisation's directory user name and password"`
	Token bool `json:"token" description:"a staff API token, exchanged for a session"`
}

// PasswordSignIn is a directory user name (sAMAccountName, user principal name or uid, as configured)
// and password.
type PasswordSignIn struct {
	Username *string `json:"username,omitempty" maxLength:"256"`
	Password *string `json:"password,omitempty" maxLength:"1024"`
}

type entraStart struct {
	ReturnTo string `query:"returnTo" description:"the console page to come back to (a path under /ui/)"`
}

type entraReturn struct {
	Code  string `query:"code"`
	State string `query:"state"`
	Error string `query:"error"`
}

// SessionStarted answers a sign-in: who is signed in. The session itself is the cookie.
type SessionStarted struct {
	User domain.StaffUser `json:"user"`
}

// EndedSessions says how many sessions a sign-out everywhere ended.
type EndedSessions struct {
	Ended int64 `json:"ended"`
}

// signInAttemptTTL is how long a person has at the directory's sign-in page.
const signInAttemptTTL = 10 * time.Minute

// signInBrowserCookie binds an OpenID Connect sign-in to the browser that started it.
const signInBrowserCookie = "signetassure_sign_in"

func (s *Server) signInRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/sign-in", summary: "How staff may sign in to the console", public: true,
			resp: new(SignInMethods), handle: func(c *gin.Context) error {
				return respond(c, SignInMethods{Entra: s.SignIn.Entra != nil, LDAP: s.SignIn.LDAP != nil, Token: true}, nil)
			}},
		{method: http.MethodPost, path: "/api/v1/sign-in/ldap", summary: "Sign in with the directory's user name and password; the session is a cookie",
			public: true, req: new(PasswordSignIn), resp: new(SessionStarted), status: http.StatusCreated, handle: s.passwordSignIn},
		{method: http.MethodGet, path: "/api/v1/sign-in/entra", summary: "Start signing in with Microsoft: redirects to Entra ID",
			public: true, req: new(entraStart), status: http.StatusFound, handle: s.entraStart},
		{method: http.MethodGet, path: "/api/v1/sign-in/entra/callback", summary: "Entra ID's return: checks it, starts the session, redirects to the console",
			public: true, req: new(entraReturn), status: http.StatusFound, handle: s.entraReturn},
		{method: http.MethodPost, path: "/api/v1/session", summary: "Exchange the bearer token of this request for a console session (a cookie) within its scopes",
			roles: allStaff, resp: new(SessionStarted), status: http.StatusCreated, secret: true, handle: s.tokenSignIn},
		{method: http.MethodDelete, path: "/api/v1/session", summary: "Sign out: end this console session", roles: allStaff,
			status: http.StatusNoContent, handle: s.signOut},
		{method: http.MethodGet, path: "/api/v1/me/sessions", summary: "The calling user's console sessions, newest first", roles: allStaff,
			resp: new([]domain.StaffSession), handle: s.mySessions},
		{method: http.MethodDelete, path: "/api/v1/me/sessions", summary: "Sign out everywhere: end every console session of the calling user",
			roles: allStaff, resp: new(EndedSessions), handle: s.signOutEverywhere},
		{method: http.MethodGet, path: "/api/v1/users/:id/sessions", summary: "A staff user's console sessions", roles: adminOnly,
			req: new(idPath), resp: new([]domain.StaffSession), handle: s.userSessions},
		{method: http.MethodDelete, path: "/api/v1/users/:id/sessions", summary: "End every console session of a staff user at once",
			roles: adminOnly, req: new(idPath), resp: new(EndedSessions), handle: s.endUserSessions},
	}
}

// passwordSignIn signs in with the LDAP directory. A wrong name or password gets one 401, counted
// against the caller's address like a bad token, so guessing from one address is soon refused (429).
func (s *Server) passwordSignIn(c *gin.Context) error {
	if s.SignIn.LDAP == nil {
		return notFound("sign-in method")
	}
	var in PasswordSignIn
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	user := requiredText(&errs, "username", in.Username)
	if in.Password == nil || *in.Password == "" {
		errs.add("password", "is required")
	}
	if err := errs.err(); err != nil {
		return err
	}
	ip := c.ClientIP()
	if wait, blocked := s.authFailures.blocked(callerKey(ip), time.Now()); blocked {
		retryAfter(c, wait)
		s.refuseCounted(c, ip, "sign-in", problem(http.StatusTooManyRequests, "rate-limited",
			"too many failed sign-ins from this address"), "rate_limited")
		return nil
	}
	du, err := s.SignIn.LDAP.Authenticate(c, user, *in.Password)
	var refused *domain.SignInRefused
	if errors.As(err, &refused) {
		s.authFailures.take(callerKey(ip), time.Now())
		s.refuseCounted(c, ip, "sign-in", problem(http.StatusUnauthorized, "unauthenticated",
			"the user name or password is wrong"), "unauthenticated")
		return nil
	}
	if err != nil {
		return s.directoryDown(c, domain.DirectoryLDAP, err)
	}
	u, err := s.startDirectorySession(c, du, s.SignIn.LDAPRoles)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, SessionStarted{User: u})
	return nil
}

// directoryDown answers a sign-in whose directory could not be asked: 503, never a sign-in without the
// check.
func (s *Server) directoryDown(c *gin.Context, d domain.Directory, err error) error {
	s.Log.Error("sign-in: directory unavailable", "directory", string(d), "error", err)
	return problem(http.StatusServiceUnavailable, "directory-unavailable",
		"the organisation's directory could not be reached to check the sign-in; try again shortly")
}

// startDirectorySession maps a directory user's groups to roles, provisions or updates their user
// and sets the session cookie. A refusal after the directory vouched (no role, deactivated, another
// account's e-mail) is audited and answered 403.
func (s *Server) startDirectorySession(c *gin.Context, du domain.DirectoryUser, roles domain.RoleMap) (domain.StaffUser, error) {
	u, secret, err := s.Store.SignInDirectoryUser(c, du, roles.Roles(du), s.Sessions.Absolute)
	var reason, message string
	switch {
	case errors.Is(err, store.ErrNoRole):
		reason, message = "no_role", "your directory groups give you no role in SignetAssure; ask an administrator"
	case errors.Is(err, store.ErrDeactivated):
		reason, message = "deactivated", "your SignetAssure account is deactivated; ask an administrator"
	case errors.Is(err, store.ErrNotLinked):
		reason, message = "not_linked", "a SignetAssure account with your e-mail exists and is not linked to this directory; ask an administrator"
	case err != nil:
		return u, err
	default:
		s.setCookie(c, s.Sessions.cookieName(), secret, 0)
		return u, nil
	}
	if aerr := s.auditSignInRefused(c, du.Directory, reason, du.Subject); aerr != nil {
		return u, aerr
	}
	return u, problem(http.StatusForbidden, "sign-in-refused", message)
}

// auditSignInRefused records a refused directory sign-in: which directory, why, and the directory's
// subject when it vouched for one.
func (s *Server) auditSignInRefused(c *gin.Context, d domain.Directory, reason, subject string) error {
	detail := map[string]any{"directory": d, "reason": reason, "address": c.ClientIP()}
	if subject != "" {
		detail["subject"] = subject
	}
	return s.Store.Audit(c, store.AuditEntry{Action: "sign_in.refused", EntityType: "directory", EntityID: string(d), Detail: detail})
}

// entraStart sends the browser to Entra ID, with a fresh state, nonce and PKCE verifier kept here and a
// cookie binding the attempt to this browser.
func (s *Server) entraStart(c *gin.Context) error {
	if s.SignIn.Entra == nil {
		return notFound("sign-in method")
	}
	returnTo := c.Query("returnTo")
	if !strings.HasPrefix(returnTo, "/ui/") || strings.Contains(returnTo, "//") || strings.Contains(returnTo, `\`) {
		returnTo = "/ui/"
	}
	a := store.SignInAttempt{State: rand.Text(), Browser: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		ReturnTo: returnTo}
	to, err := s.SignIn.Entra.AuthCodeURL(c, a.State, a.Nonce, a.Verifier)
	if err != nil {
		return s.directoryDown(c, domain.DirectoryEntra, err)
	}
	if err := s.Store.BeginSignIn(c, a, signInAttemptTTL); err != nil {
		return err
	}
	s.setCookie(c, signInBrowserCookie, a.Browser, int(signInAttemptTTL.Seconds()))
	c.Redirect(http.StatusFound, to)
	return nil
}

// entraReturn finishes an Entra ID sign-in: the state must be one this browser started, once, within
// minutes; the code is exchanged and the ID token checked; then the session starts. Every refusal is
// audited, and the browser goes back to the console with a reason it can show.
func (s *Server) entraReturn(c *gin.Context) error {
	if s.SignIn.Entra == nil {
		return notFound("sign-in method")
	}
	fail := func(reason, shown string) error {
		if err := s.auditSignInRefused(c, domain.DirectoryEntra, reason, ""); err != nil {
			return err
		}
		c.Redirect(http.StatusFound, "/ui/?signInError="+url.QueryEscape(shown))
		return nil
	}
	browser, _ := c.Cookie(signInBrowserCookie)
	s.setCookie(c, signInBrowserCookie, "", 0)
	state, code := c.Query("state"), c.Query("code")
	if state == "" || browser == "" {
		return fail("state_missing", "refused")
	}
	a, err := s.Store.TakeSignIn(c, state, browser)
	if errors.Is(err, store.ErrNotFound) {
		return fail("state_unknown", "refused")
	} else if err != nil {
		return err
	}
	if e := c.Query("error"); e != "" {
		return fail("directory_error:"+firstRunes(e, 64), "refused")
	}
	if code == "" {
		return fail("code_missing", "refused")
	}
	du, err := s.SignIn.Entra.Exchange(c, code, a.Verifier, a.Nonce)
	var refused *domain.SignInRefused
	if errors.As(err, &refused) {
		return fail(refused.Reason, "refused")
	} else if err != nil {
		s.Log.Error("sign-in: directory unavailable", "directory", "entra", "error", err)
		c.Redirect(http.StatusFound, "/ui/?signInError=unavailable")
		return nil
	}
	if _, err := s.startDirectorySession(c, du, s.SignIn.EntraRoles); err != nil {
		var p *Problem
		if errors.As(err, &p) && p.Status == http.StatusForbidden {
			c.Redirect(http.StatusFound, "/ui/?signInError="+url.QueryEscape(p.Detail))
			return nil
		}
		return err
	}
	c.Redirect(http.StatusFound, a.ReturnTo)
	return nil
}

// firstRunes is at most n runes of s.
func firstRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

// tokenSignIn starts a console session for the token the request carries, within its scopes.
func (s *Server) tokenSignIn(c *gin.Context) error {
	cred := credential(c)
	if cred.SessionID != uuid.Nil {
		return conflict("already signed in: this request came with a session, not a token")
	}
	secret, err := s.Store.StartTokenSession(c, cred, s.Sessions.Absolute)
	if err != nil {
		return err
	}
	s.setCookie(c, s.Sessions.cookieName(), secret, 0)
	c.JSON(http.StatusCreated, SessionStarted{User: cred.User})
	return nil
}

// signOut ends the request's session and clears its cookie.
func (s *Server) signOut(c *gin.Context) error {
	cred := credential(c)
	if cred.SessionID == uuid.Nil {
		return conflict("this request came with a token, not a session: revoke the token to end it")
	}
	if err := s.Store.EndSession(c, actor(c), cred.User.ID, cred.SessionID); err != nil {
		return err
	}
	s.setCookie(c, s.Sessions.cookieName(), "", 0)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) mySessions(c *gin.Context) error {
	cred := credential(c)
	sessions, err := s.Store.Sessions(c, cred.User.ID)
	for i := range sessions {
		sessions[i].Current = sessions[i].ID == cred.SessionID
	}
	return respond(c, nonNil(sessions), err)
}

func (s *Server) signOutEverywhere(c *gin.Context) error {
	n, err := s.Store.EndSessions(c, actor(c), actorID(c), "signed_out_everywhere")
	if err == nil {
		s.setCookie(c, s.Sessions.cookieName(), "", 0)
	}
	return respond(c, EndedSessions{Ended: n}, err)
}

func (s *Server) userSessions(c *gin.Context) error {
	id, err := s.pathUser(c)
	if err != nil {
		return err
	}
	sessions, err := s.Store.Sessions(c, id)
	return respond(c, nonNil(sessions), err)
}

func (s *Server) endUserSessions(c *gin.Context) error {
	id, err := s.pathUser(c)
	if err != nil {
		return err
	}
	n, err := s.Store.EndSessions(c, actor(c), id, "administrator")
	return respond(c, EndedSessions{Ended: n}, err)
}
