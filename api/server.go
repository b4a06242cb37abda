// Package api is SignetAssure's REST API (Gin): the routes case workers' tools call, their role checks,
// RFC 9457 errors and the OpenAPI document that describes every route.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/swaggest/jsonschema-go"
	"github.com/swaggest/openapi-go"
	"github.com/swaggest/openapi-go/openapi3"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/metrics"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/tracing"
)

// Deps is what the API needs.
type Deps struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string
	SLA       domain.SLATable
	Auth      Authenticator
	Log       *slog.Logger
	// Partners gives clients of partner sites; Keyring seals the credentials they issue us.
	Partners partners.Directory
	Keyring  *partners.Keyring
	// LookupLimit and ReturnLimit are the partner rate limits per key, calls a minute (default: the
	// public contract's 60 and 30).
	LookupLimit, ReturnLimit int
	// TrustedProxies are the load balancers whose X-Forwarded-For names the caller (none by default:
	// the caller is the connection's address).
	TrustedProxies []string
	// ACS is the access control system (nil: none configured); Inactivity dates a person's disable and
	// removal.
	ACS        access.Connector
	Inactivity store.Inactivity
	// TemporalTimeout bounds each call to Temporal, so a request never hangs on a missing worker
	// (default 20 s).
	TemporalTimeout time.Duration
	// BodyTimeout bounds reading a request's body (default 60 s), so a body sent a byte at a time does
	// not hold a connection.
	BodyTimeout time.Duration
	// Messaging verifies the message providers' webhooks and paces broadcasts.
	Messaging MessagingHooks
	// Identity is the identity provider, for staff-attended checks.
	Identity IdentityHooks
	// Validity bounds the outcomes officers and partners record (default
	// domain.DefaultValidityPolicy); it goes into each case's workflow, which checks it again.
	Validity domain.ValidityPolicy
	// AllowLoopbackPartners accepts http and loopback partner base URLs (loopback development).
	AllowLoopbackPartners bool
	// TokenMaxValidity is how far ahead a staff API token may expire (default DefaultTokenMaxValidity).
	TokenMaxValidity time.Duration
	// Sessions are the console's session limits and cookie.
	Sessions SessionConfig
	// StaffRate is how many requests a minute one staff token or session may make, AddressRate how many
	// all staff requests from one address may (defaults DefaultStaffRate, DefaultAddressRate).
	StaffRate, AddressRate int
	// SignIn is the directories staff sign in to the console with (none: API tokens only).
	SignIn SignIn
	// Evidence keeps evidence packs and signs their download links (nil: evidence packs are off).
	Evidence *evidence.Vault
	// Webhooks are the webhook subscriptions' settings (their secrets are sealed with Keyring, their URLs
	// checked as partners' base URLs are, with AllowLoopbackPartners).
	Webhooks WebhookSettings
	// Metrics records every request by route template, method and status (nil: not recorded).
	Metrics *metrics.HTTP
	// ProfileLabels labels each request's CPU profile samples with its route template (pprof label
	// "route"), so a profile taken under load shows what each route costs (PPROF_ADDR).
	ProfileLabels bool
}

// MessagingHooks is what the API knows of the message providers: how to verify their webhooks, and the
// pace and reply window of broadcasts.
type MessagingHooks struct {
	// PublicURL is the base URL providers call us at (e.g. https://sa.example.org); signatures are
	// checked against it, not against the address the request arrived at.
	PublicURL string
	// TwilioAuthToken verifies Twilio's webhooks; "": they are refused (404).
	TwilioAuthToken string
	// SendGridWebhookKey is the Event Webhook's verification key (base64); "": SendGrid events are
	// refused (404).
	SendGridWebhookKey string
	// BroadcastRate is the provider rate broadcasts keep to, messages a second (default 10); a
	// broadcast may ask for less, never more.
	BroadcastRate float64
	// BroadcastReplyWindow is how long a broadcast collects replies unless it asks otherwise (default 24h).
	BroadcastReplyWindow time.Duration
}

// Server is the HTTP API.
type Server struct {
	Deps
	// authFailures limits failed authentication (partner keys, staff tokens and sessions, directory
	// passwords) per caller address; staffRate limits staff requests per token or session, addressRate
	// per address.
	authFailures, staffRate, addressRate *limiter
	// crossOrigin refuses cross-site browser requests that would change something, so a page elsewhere
	// cannot use a signed-in console's cookie.
	crossOrigin *http.CrossOriginProtection
	// roleScopes are the token scopes each role gives: those of the routes it may call.
	roleScopes map[domain.Role][]domain.StaffScope
	engine     *gin.Engine
	// handler is engine with a server span around each request (tracing.Handler).
	handler http.Handler
	spec    *openapi3.Reflector
	specDoc []byte
	// streamsEnd is closed by EndStreams: every live event stream (streamSSE) then ends, and a new one
	// ends at once; openStreams counts the streams being served.
	streamsEnd  chan struct{}
	endStreams  sync.Once
	openStreams atomic.Int64
}

// New builds the API and its OpenAPI document.
func New(d Deps) (*Server, error) {
	if d.TemporalTimeout == 0 {
		d.TemporalTimeout = 20 * time.Second
	}
	if d.BodyTimeout == 0 {
		d.BodyTimeout = 60 * time.Second
	}
	if d.TokenMaxValidity == 0 {
		d.TokenMaxValidity = DefaultTokenMaxValidity
	}
	if d.LookupLimit == 0 {
		d.LookupLimit = LookupLimit
	}
	if d.ReturnLimit == 0 {
		d.ReturnLimit = ReturnLimit
	}
	d.Sessions = d.Sessions.withDefaults()
	if d.StaffRate == 0 {
		d.StaffRate = DefaultStaffRate
	}
	if d.AddressRate == 0 {
		d.AddressRate = DefaultAddressRate
	}
	if d.Auth == nil {
		d.Auth = StoreAuth{Store: d.Store, Sessions: d.Sessions}
	}
	if d.Validity == nil {
		d.Validity = domain.DefaultValidityPolicy()
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{Deps: d, engine: gin.New(), authFailures: newLimiter(AuthFailuresPerMinute, AuthFailureBurst),
		staffRate: newLimiter(d.StaffRate, d.StaffRate), addressRate: newLimiter(d.AddressRate, d.AddressRate),
		crossOrigin: http.NewCrossOriginProtection(), roleScopes: map[domain.Role][]domain.StaffScope{},
		streamsEnd: make(chan struct{})}
	s.engine.ContextWithFallback = true
	if err := s.engine.SetTrustedProxies(d.TrustedProxies); err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	s.engine.HandleMethodNotAllowed = true
	if d.Metrics != nil { // first, so that it times and counts what every other middleware does too
		s.engine.Use(d.Metrics.Middleware)
	}
	if d.ProfileLabels {
		s.engine.Use(profileLabels)
	}
	s.engine.Use(nameSpan)
	s.handler = tracing.Handler(s.engine)
	s.engine.Use(s.logRequests, noStore, s.bodyTimeout, s.recover, s.refuseCrossOrigin)
	s.engine.NoRoute(func(c *gin.Context) { s.writeError(c, notFound("route")) })
	s.engine.NoMethod(func(c *gin.Context) {
		s.writeError(c, problem(http.StatusMethodNotAllowed, "method-not-allowed", "method not allowed on this route"))
	})
	s.spec = openapi3.NewReflector()
	s.spec.DefaultOptions = append(s.spec.DefaultOptions, jsonschema.InterceptProp(documentTextLimits))
	s.spec.Spec.Info.WithTitle("SignetAssure API").WithVersion("1.0.0").
		WithDescription("Personnel-security vetting: persons, vetting cases, clearances.")
	s.spec.Spec.SetHTTPBearerTokenSecurity("bearer", "opaque", "Staff API token (sat_...), limited to its scopes; the console's session cookie works in its place")
	s.spec.Spec.SetHTTPBearerTokenSecurity("partnerKey", "opaque", "Partner API key (sap_...), with scopes "+domain.OneOf(domain.Scopes))
	if err := s.routes(); err != nil {
		return nil, err
	}
	doc, err := s.spec.Spec.MarshalJSON()
	if err != nil {
		return nil, err
	}
	s.specDoc = doc
	return s, nil
}

// profileLabels runs the rest of the request with the pprof label route (its template, never its raw
// path), which the goroutine's CPU profile samples carry.
func profileLabels(c *gin.Context) {
	route := c.FullPath()
	if route == "" {
		route = metrics.Unmatched
	}
	pprof.Do(c.Request.Context(), pprof.Labels("route", c.Request.Method+" "+route), func(context.Context) { c.Next() })
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer is an http.Server for the API with its time limits: headers within 10 s, an idle
// connection closed after 2 minutes, and each body within BodyTimeout (readBodyUpTo). No ReadTimeout or
// WriteTimeout: they would also end the live event streams. Its Shutdown ends those streams (EndStreams),
// which would otherwise keep their connections busy, and the shutdown waiting, until their clients go.
func (s *Server) HTTPServer() *http.Server {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10}
	hs.RegisterOnShutdown(s.EndStreams)
	return hs
}

// EndStreams ends every live event stream the server is serving, and any opened after: call it when the
// server stops, before waiting for its requests (an http.Server from HTTPServer calls it on Shutdown; an
// httptest.Server's Close does not, and waits for every request to end).
func (s *Server) EndStreams() { s.endStreams.Do(func() { close(s.streamsEnd) }) }

// OpenStreams is how many event streams the server is serving now.
func (s *Server) OpenStreams() int { return int(s.openStreams.Load()) }

// OpenAPI is the OpenAPI 3 document of every route.
func (s *Server) OpenAPI() []byte { return s.specDoc }

// Routes lists the routes registered on the engine, as "METHOD /path/{param}".
func (s *Server) Routes() []string {
	var out []string
	for _, r := range s.engine.Routes() {
		out = append(out, r.Method+" "+openAPIPath(r.Path))
	}
	return out
}

// op describes one route for both Gin and the OpenAPI document.
type op struct {
	method, path string
	summary      string
	// roles may call the route; nil leaves it public (health, the document itself).
	roles  []domain.Role
	public bool
	// external authenticates a partner key instead of a staff token.
	external gin.HandlerFunc
	req      any // a struct whose path, query and json tags describe the request
	resp     any
	status   int // success status; 200 when zero
	// contentType is the success answer's media type when it is not JSON (application/zip).
	contentType string
	// alt holds other success answers: status and body.
	alt map[int]any
	// handle answers the request, or returns the error to answer as problem+json.
	handle func(*gin.Context) error
	// secret: the answer holds a secret shown once, never kept for a keyed retry.
	secret bool
}

// allStaff is every role: reading is open to all staff.
var allStaff = domain.Roles

func (s *Server) add(o op) error {
	handlers := []gin.HandlerFunc{}
	var scope domain.StaffScope
	switch {
	case o.external != nil:
		handlers = append(handlers, o.external)
	case !o.public:
		var known bool
		if scope, known = routeScope(o.method, o.path); !known {
			return fmt.Errorf("%s %s: no token scope covers the route (api/scopes.go)", o.method, o.path)
		}
		handlers = append(handlers, s.authenticate, authorize(o.roles, scope))
		if reach := s.withinReach(o.path); reach != nil {
			handlers = append(handlers, reach)
		}
		for _, r := range o.roles {
			if scope != "" && !slices.Contains(s.roleScopes[r], scope) {
				s.roleScopes[r] = append(s.roleScopes[r], scope)
			}
		}
		if writes(o.method) {
			handlers = append(handlers, s.idempotent(o.secret))
		}
	}
	handlers = append(handlers, func(c *gin.Context) {
		if !cleanParams(c) {
			s.writeError(c, notFound("resource"))
			return
		}
		if err := o.handle(c); err != nil {
			s.writeError(c, err)
		}
	})
	s.engine.Handle(o.method, o.path, handlers...)

	oc, err := s.spec.NewOperationContext(o.method, openAPIPath(o.path))
	if err != nil {
		return err
	}
	oc.SetSummary(o.summary)
	if tag := strings.Split(strings.TrimPrefix(strings.TrimPrefix(o.path, "/api/v1/"), "/api/"), "/")[0]; tag != "" {
		oc.SetTags(tag)
	}
	if o.req != nil {
		oc.AddReqStructure(o.req)
	}
	if _, declared := o.req.(interface{ takesIdempotencyKey() }); !declared && !o.public && o.external == nil && writes(o.method) {
		oc.AddReqStructure(new(idempotent)) // every staff write takes an Idempotency-Key
	}
	status := o.status
	if status == 0 {
		status = http.StatusOK
	}
	if o.contentType != "" {
		oc.AddRespStructure(o.resp, openapi.WithHTTPStatus(status), openapi.WithContentType(o.contentType))
	} else {
		oc.AddRespStructure(o.resp, openapi.WithHTTPStatus(status))
	}
	if o.external != nil {
		oc.AddSecurity("partnerKey")
		for _, st := range []int{http.StatusTooManyRequests, http.StatusUnprocessableEntity} {
			oc.AddRespStructure(new(Problem), openapi.WithHTTPStatus(st), openapi.WithContentType("application/problem+json"))
		}
	} else if !o.public {
		oc.AddSecurity("bearer")
		scopeText := "none (any token)"
		if scope != "" {
			scopeText = string(scope)
		}
		oc.SetDescription("Roles: " + roleList(o.roles) + ". Token scope: " + scopeText + ".")
		if scope != "" {
			if err := addScopeExtension(oc, scope); err != nil {
				return err
			}
		}
	}
	if !o.public {
		for _, st := range []int{http.StatusUnauthorized, http.StatusForbidden} {
			oc.AddRespStructure(new(Problem), openapi.WithHTTPStatus(st), openapi.WithContentType("application/problem+json"))
		}
	}
	for st, body := range o.alt {
		oc.AddRespStructure(body, openapi.WithHTTPStatus(st))
	}
	for _, st := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable} {
		oc.AddRespStructure(new(Problem), openapi.WithHTTPStatus(st), openapi.WithContentType("application/problem+json"))
	}
	if !o.public && o.external == nil && writes(o.method) {
		// An Idempotency-Key used for another request.
		oc.AddRespStructure(new(Problem), openapi.WithHTTPStatus(http.StatusUnprocessableEntity),
			openapi.WithContentType("application/problem+json"))
	}
	return s.spec.AddOperation(oc)
}

// writes reports whether a method changes something: staff requests of these methods take an
// Idempotency-Key.
func writes(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

func roleList(rs []domain.Role) string {
	var names []string
	for _, r := range rs {
		names = append(names, string(r))
	}
	return strings.Join(names, ", ")
}

// openAPIPath turns Gin's /persons/:id (and /ui/*file) into OpenAPI's /persons/{id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") || strings.HasPrefix(part, "*") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}

// logRequests logs each request by its route template: never a query string or a body, which may hold
// personal data.
func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "(no route)"
	}
	attrs := []any{"method", c.Request.Method, "route", route, "status", c.Writer.Status(),
		"ms", time.Since(start).Milliseconds()}
	if u, ok := principal(c); ok {
		attrs = append(attrs, "user", u.ID.String())
	}
	s.Log.InfoContext(c.Request.Context(), "http", attrs...)
}

// nameSpan names the request's trace span after its route template and method, as the request metrics
// label it: a span name never holds a raw path, whose ids would make every request's name its own.
func nameSpan(c *gin.Context) {
	tracing.NameServerSpan(c.Request.Context(), metrics.Method(c.Request.Method), metrics.Route(c))
	c.Next()
}

// noStore keeps every API answer, problems included, out of caches: they carry personal data and
// answers that change.
func noStore(c *gin.Context) {
	if strings.HasPrefix(c.Request.URL.Path, "/api/") {
		c.Header("Cache-Control", "no-store")
	}
	c.Next()
}

// bodyTimeoutKey holds the time a request's body may take to arrive (see readBodyUpTo).
type bodyTimeoutKeyType struct{}

var bodyTimeoutKey bodyTimeoutKeyType

// bodyTimeout bounds the time a request's body may take: readBodyUpTo reads it within BodyTimeout and
// then lifts the bound; a body no handler reads (a refused call) keeps it, so the connection is closed
// rather than held while the server waits to discard a trickle. Requests without a body (a stream) are
// not bounded.
func (s *Server) bodyTimeout(c *gin.Context) {
	c.Set(bodyTimeoutKey, s.BodyTimeout)
	if c.Request.ContentLength != 0 && s.BodyTimeout > 0 {
		_ = http.NewResponseController(c.Writer).SetReadDeadline(time.Now().Add(s.BodyTimeout))
	}
	c.Next()
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error("panic", "route", c.FullPath(), "panic", r)
			s.writeError(c, problem(http.StatusInternalServerError, "internal", "an internal error occurred"))
		}
	}()
	c.Next()
}

// temporalCtx bounds a call to Temporal.
func (s *Server) temporalCtx(c *gin.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.Request.Context(), s.TemporalTimeout)
}
