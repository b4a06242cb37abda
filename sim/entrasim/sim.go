// Package entrasim is a local, in-memory Microsoft Entra ID tenant for OpenID Connect sign-in: the v2.0
// discovery document, the authorize endpoint (a plain HTML page where a person picks a demo user), the
// token endpoint (authorization code with PKCE S256), RS256 ID tokens with groups, app roles and the
// groups overage marker, the JWKS with key rollover, and the one Microsoft Graph call a client needs for
// an overage: the user's transitive group memberships. Fault switches break it on purpose. People trying
// SignetAssure click through its sign-in page; tests drive it. It speaks Microsoft's documented contract
// with its own wire types (wire.go), not the client's.
//
// # Endpoints ({tenant} is Options.TenantID; any other tenant answers 400 invalid_tenant)
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration  the discovery document: issuer
//	                                    {base}/{tenant}/v2.0, authorization_endpoint
//	                                    {base}/{tenant}/oauth2/v2.0/authorize, token_endpoint
//	                                    {base}/{tenant}/oauth2/v2.0/token, jwks_uri
//	                                    {base}/{tenant}/discovery/v2.0/keys, RS256, PKCE S256
//	                                    (userinfo_endpoint and end_session_endpoint are named, as Entra
//	                                    names them, but not served)
//	GET  /{tenant}/discovery/v2.0/keys  the JWKS: the signing key and the ones it replaced
//	GET  /{tenant}/oauth2/v2.0/authorize  client_id, redirect_uri (one of Options.RedirectURIs),
//	                                    response_type=code, code_challenge with code_challenge_method=S256,
//	                                    scope with openid; state and nonce are carried through. Answers the
//	                                    page "Sign in with Microsoft — pick a user"; with login_hint=<e-mail
//	                                    of a user> it picks that user at once and redirects (302) to
//	                                    redirect_uri?code=...&state=... (a simulator shortcut for tests
//	                                    and scripts: Entra only pre-fills the name)
//	POST /{tenant}/oauth2/v2.0/authorize  the page's form (the same parameters and user=<object id>):
//	                                    redirects (303) to redirect_uri with code and state
//	POST /{tenant}/oauth2/v2.0/token    grant_type=authorization_code, code, redirect_uri, code_verifier;
//	                                    the client by client_secret_post or HTTP Basic. Answers {token_type,
//	                                    scope, expires_in, ext_expires_in, access_token, id_token}; errors
//	                                    are {"error","error_description","error_codes",...}: 400
//	                                    invalid_grant (unknown, expired or used code, another redirect_uri
//	                                    or client, a verifier that does not match), 401 invalid_client,
//	                                    400 unsupported_grant_type, 400 invalid_request
//	GET  /v1.0/me/transitiveMemberOf/microsoft.graph.group  Microsoft Graph: the signed-in user's groups
//	                                    (Bearer access token from the token endpoint, 401 otherwise);
//	                                    $select (id, displayName), $top (default 100, at most 999), paged
//	                                    by @odata.nextLink with $skiptoken
//
// A code is valid for ten minutes and redeemed once: a second redemption, or a first one that failed,
// leaves it used.
//
// # ID tokens
//
// RS256 with the kid of the signing key; claims iss, aud (the client id), sub (pairwise per client),
// oid, tid, nonce (when the authorize request had one), iat, nbf, exp, name, preferred_username, email,
// ver "2.0", uti, groups (object ids) and roles (app roles, when the user has any). A user in more than
// 200 groups gets no groups claim but the overage marker, as Entra does:
// "_claim_names":{"groups":"src1"},"_claim_sources":{"src1":{"endpoint":"https://graph.windows.net/{tid}/users/{oid}/getMemberObjects"}}
// (the legacy Azure AD Graph URL Microsoft says not to rely on: a client asks Microsoft Graph).
//
// # Faults (POST /sim/faults)
//
// NextIDToken spoils the next ID token issued, once: wrong_issuer, wrong_audience, wrong_nonce,
// expired, alg_none (unsigned), unknown_key (signed by a key the JWKS does not publish), wrong_tenant
// (a tid other than the tenant's, the issuer left right). TokenDown answers the token endpoint 503
// temporarily_unavailable; KeysDown the JWKS and the discovery document 503; GraphDown Graph 503.
//
// # Control API (/sim, JSON, no authentication)
//
//	GET  /  or  /sim     the state page: endpoints, users, keys, sign-ins, faults, counts
//	GET  /sim/state      State
//	GET  /sim/stats      Stats
//	GET  /sim/faults     Faults
//	POST /sim/faults     the Faults fields to change (JSON; the others keep their values), or the page's
//	                     form; PUT replaces all
//	POST /sim/rollover   a new signing key signs from now on; the JWKS publishes it and the previous ones
//	                     (up to three keys in all), as Entra does during a rollover
//	POST /sim/reset      no codes, tokens, sign-ins, stats or faults (the keys stay)
//
// Every control endpoint has a Go method (Sim.State, Sim.SetFaults, Sim.UpdateFaults, Sim.Rollover,
// Sim.Reset).
package entrasim

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// Defaults of Options.
const (
	DefaultTokenTTL      = time.Hour
	DefaultGraphPageSize = 100 // Graph's default page size for transitiveMemberOf
	codeTTL              = 10 * time.Minute
	// OverageLimit is the most groups an ID token carries; above it the token has the overage marker.
	OverageLimit = 200
	maxKeys      = 3
)

// User is a person of the simulated tenant.
type User struct {
	ObjectID string   `json:"oid"`   // the oid claim, and the user's id in Graph
	Name     string   `json:"name"`  // the name claim
	Email    string   `json:"email"` // the email and preferred_username claims; login_hint picks by it
	Groups   []string `json:"groups,omitempty"`
	AppRoles []string `json:"appRoles,omitempty"`
}

// Options configure a Sim. Zero values take the defaults.
type Options struct {
	// TenantID is the tenant in every path and the tid claim; default DefaultTenantID.
	TenantID string
	// ClientID and ClientSecret are the registered application; default DefaultClientID,
	// DefaultClientSecret.
	ClientID, ClientSecret string
	// RedirectURIs are the application's registered redirect URIs; empty accepts any absolute http or
	// https URI (a simulator convenience, Entra has none).
	RedirectURIs []string
	// Users are the tenant's people; default DemoUsers().
	Users []User
	// GroupNames name group object ids on the pages; default DemoGroupNames().
	GroupNames map[string]string
	// PublicURL is the base of the issuer and endpoints (e.g. "http://localhost:8097"); default the
	// scheme and Host of each request.
	PublicURL string
	// TokenTTL is how long ID and access tokens are valid; default one hour.
	TokenTTL time.Duration
	// GraphPageSize is Graph's page size when $top is not given; default 100. GraphMaxPageSize is the
	// most a page holds whatever $top asks; default 999, Graph's. (Graph may answer fewer than $top asks:
	// a client follows @odata.nextLink; a test sets a small maximum to see it do so.)
	GraphPageSize, GraphMaxPageSize int
}

// Fault values of Faults.NextIDToken.
const (
	SpoilNone          = ""
	SpoilWrongIssuer   = "wrong_issuer"
	SpoilWrongAudience = "wrong_audience"
	SpoilWrongNonce    = "wrong_nonce"
	SpoilExpired       = "expired"
	SpoilAlgNone       = "alg_none"
	SpoilUnknownKey    = "unknown_key"
	SpoilWrongTenant   = "wrong_tenant"
)

// Spoils lists the values of Faults.NextIDToken.
var Spoils = []string{SpoilNone, SpoilWrongIssuer, SpoilWrongAudience, SpoilWrongNonce, SpoilExpired,
	SpoilAlgNone, SpoilUnknownKey, SpoilWrongTenant}

// Faults break the simulator on purpose. They start empty (and are emptied by a reset).
type Faults struct {
	// NextIDToken spoils the next ID token the token endpoint issues (one of Spoils), then clears itself.
	NextIDToken string `json:"nextIdToken"`
	TokenDown   bool   `json:"tokenDown"` // the token endpoint answers 503
	KeysDown    bool   `json:"keysDown"`  // the JWKS and the discovery document answer 503
	GraphDown   bool   `json:"graphDown"` // Graph answers 503
}

// Stats count what the simulator did since the start or the last reset.
type Stats struct {
	Discoveries     int `json:"discoveries"`     // discovery documents served
	KeySetsServed   int `json:"keySetsServed"`   // JWKS served
	CodesIssued     int `json:"codesIssued"`     // users picked, codes redirected with
	AuthorizeErrors int `json:"authorizeErrors"` // authorize requests refused
	TokensIssued    int `json:"tokensIssued"`    // codes redeemed
	TokenRejections int `json:"tokenRejections"` // token requests refused
	SpoiledTokens   int `json:"spoiledTokens"`   // ID tokens spoiled by NextIDToken
	GraphCalls      int `json:"graphCalls"`      // Graph pages served
	GraphRejections int `json:"graphRejections"` // Graph calls answered 401
	Rollovers       int `json:"rollovers"`
	InjectedDown    int `json:"injectedDown"` // answers 503 by a fault
}

// Sim is a simulated Entra ID tenant. It is safe for concurrent use.
type Sim struct {
	opts  Options
	users map[string]*User // by object id
	mux   *http.ServeMux

	mu      sync.Mutex    // guards everything below
	keys    []*signingKey // keys[0] signs; the rest are published only
	codes   map[string]*authCode
	access  map[string]accessGrant // access token → grant
	signIns []SignIn               // newest last, at most maxSignIns
	faults  Faults
	stats   Stats
	keeper  *kit.Keeper
}

// authCode is an authorization code waiting to be redeemed.
type authCode struct {
	clientID, redirectURI, challenge, nonce, scope string
	user                                           string // object id
	expires                                        time.Time
	used                                           bool
}

// accessGrant is what an access token lets its bearer do: read the user's groups in Graph.
type accessGrant struct {
	User    string    `json:"user"`
	Expires time.Time `json:"expires"`
}

// SignIn is a redeemed code, for the page and tests.
type SignIn struct {
	At      time.Time `json:"at"`
	User    string    `json:"user"` // object id
	Name    string    `json:"name"`
	Overage bool      `json:"overage,omitempty"`
	Spoiled string    `json:"spoiled,omitempty"` // the NextIDToken fault it took
}

const maxSignIns = 100

// New returns a simulator with a fresh signing key.
func New(o Options) *Sim {
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if len(o.Users) == 0 {
		o.Users = DemoUsers()
	}
	if o.GroupNames == nil {
		o.GroupNames = DemoGroupNames()
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	if o.GraphPageSize <= 0 {
		o.GraphPageSize = DefaultGraphPageSize
	}
	if o.GraphMaxPageSize <= 0 {
		o.GraphMaxPageSize = graphMaxTop
	}
	o.PublicURL = strings.TrimSuffix(o.PublicURL, "/")
	o.RedirectURIs = slices.Clone(o.RedirectURIs)
	s := &Sim{opts: o, users: map[string]*User{}, codes: map[string]*authCode{}, access: map[string]accessGrant{}}
	for i := range o.Users {
		u := o.Users[i]
		u.Groups, u.AppRoles = slices.Clone(u.Groups), slices.Clone(u.AppRoles)
		s.users[u.ObjectID] = &u
	}
	s.keys = []*signingKey{newSigningKey()}
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	s.controlRoutes(s.mux)
	return s
}

func (s *Sim) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.tenant(s.discovery))
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.tenant(s.jwks))
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.tenant(s.authorize))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", s.tenant(s.pick))
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.tenant(s.token))
	mux.HandleFunc("GET /v1.0/me/transitiveMemberOf/microsoft.graph.group", s.graphGroups)
}

// tenant answers requests for another tenant as Entra answers an unknown one: 400 invalid_tenant.
func (s *Sim) tenant(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if t := r.PathValue("tenant"); !strings.EqualFold(t, s.opts.TenantID) {
			oauthFail(w, http.StatusBadRequest, "invalid_tenant", 90002,
				"Tenant '"+t+"' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")
			return
		}
		h(w, r)
	}
}

// Handler serves the tenant's endpoints, Graph, the control API and the page.
func (s *Sim) Handler() http.Handler { return s.mux }

// Options returns the options in force (with defaults filled in).
func (s *Sim) Options() Options { return s.opts }

// Issuer is the tenant's issuer for a simulator served at base (e.g. an httptest server's URL), unless
// Options.PublicURL says otherwise.
func (s *Sim) Issuer(base string) string {
	return s.base(base) + "/" + s.opts.TenantID + "/v2.0"
}

func (s *Sim) base(fallback string) string {
	if s.opts.PublicURL != "" {
		return s.opts.PublicURL
	}
	return strings.TrimSuffix(fallback, "/")
}

// baseURL is the base of the URLs the simulator answers with: Options.PublicURL, or the request's own.
func (s *Sim) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return s.base(scheme + "://" + r.Host)
}

// Close writes the state file a last time.
func (s *Sim) Close() {
	s.keeper.Close()
}

// Reset forgets codes, access tokens, sign-ins, stats and faults. The signing keys stay.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes = map[string]*authCode{}
	s.access = map[string]accessGrant{}
	s.signIns = nil
	s.stats = Stats{}
	s.faults = Faults{}
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetFaults replaces the faults, all of them. An unknown NextIDToken counts as none.
func (s *Sim) SetFaults(f Faults) {
	if !slices.Contains(Spoils, f.NextIDToken) {
		f.NextIDToken = SpoilNone
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
}

// Stats returns the counts since the start or the last reset.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// State is what the simulator holds, as GET /sim/state answers it.
type State struct {
	TenantID string   `json:"tenantId"`
	ClientID string   `json:"clientId"`
	Users    []User   `json:"users"`
	Keys     []string `json:"keys"` // kids, the signing one first
	SignIns  []SignIn `json:"signIns"`
	Faults   Faults   `json:"faults"`
	Stats    Stats    `json:"stats"`
}

// State returns the tenant, its users, the keys, the sign-ins (newest first), faults and stats.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{TenantID: s.opts.TenantID, ClientID: s.opts.ClientID, Users: slices.Clone(s.opts.Users),
		Faults: s.faults, Stats: s.stats, SignIns: make([]SignIn, 0, len(s.signIns))}
	for _, k := range s.keys {
		st.Keys = append(st.Keys, k.kid)
	}
	for i := len(s.signIns) - 1; i >= 0; i-- {
		st.SignIns = append(st.SignIns, s.signIns[i])
	}
	return st
}

// redirectAllowed: the URI is registered, or none are and it is an absolute http(s) URI.
func (s *Sim) redirectAllowed(uri string) bool {
	if len(s.opts.RedirectURIs) > 0 {
		return slices.Contains(s.opts.RedirectURIs, uri)
	}
	u, err := url.Parse(uri)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Fragment == ""
}

// randomToken is n random bytes in hex.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newGUID is a random UUID (version 4), the form of Entra's ids.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
