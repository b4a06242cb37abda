// Package entra signs staff in with Microsoft Entra ID by OpenID Connect: the authorization code flow
// with PKCE (S256) against the tenant's v2.0 endpoints, the ID token verified (RS256 signature against
// the tenant's JWKS, issuer, audience, expiry, nonce, tenant), and the person's groups and app roles read
// from it; a person in more groups than a token carries (the groups overage) has their groups read from
// Microsoft Graph with the access token of the same sign-in.
//
// Every way the directory does not vouch for the person is a *domain.SignInRefused with a short Reason
// for the audit log (see the Reason constants); a directory that cannot be asked (unreachable, timing
// out, answering 5xx or 429) is an error wrapping domain.ErrDirectoryUnavailable. Nothing here logs:
// tokens and claims (names, e-mail addresses, groups) never leave the functions but in the
// domain.DirectoryUser returned.
//
// # A sign-in
//
//	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier() // kept in the person's session
//	redirect(c.AuthCodeURL(state, nonce, verifier))
//	// ... the browser comes back to Config.RedirectURL with ?code=...&state=...
//	// the caller checks state against the session's (constant time), then:
//	u, err := c.Exchange(ctx, r.FormValue("code"), verifier, nonce)
//	var refused *domain.SignInRefused
//	switch {
//	case errors.As(err, &refused):                      // audit refused.Reason; "sign-in failed"
//	case errors.Is(err, domain.ErrDirectoryUnavailable): // "Microsoft Entra ID cannot be reached"
//	case err != nil:                                     // a configuration to fix
//	}
//	// u.Groups and u.AppRoles go through the role map (see domain.DirectoryUser)
package entra

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signetassure/signetassure/domain"
)

// Defaults of Config.
const (
	DefaultAuthority = "https://login.microsoftonline.com"
	DefaultGraphURL  = "https://graph.microsoft.com"
	// DefaultTimeout bounds every call to the authority or Graph when Config.HTTPClient is nil.
	DefaultTimeout = 10 * time.Second
	// MaxResponseBytes bounds every answer read from the authority or Graph.
	MaxResponseBytes = 1 << 20
)

// Scopes are the scopes a sign-in asks for: openid, profile (for oid, tid and name) and email, and
// Microsoft Graph's User.Read. User.Read is the least privileged permission with which the signed-in
// user may list their own memberships, GET /me/transitiveMemberOf ("Permissions for the signed-in
// user's memberships: Delegated (work or school account): User.Read",
// https://learn.microsoft.com/graph/api/user-list-transitivememberof); GroupMember.Read.All would also
// read every other group's members, and needs an administrator's consent. User.Read is also what most
// tenants consent to for every application already.
var Scopes = []string{oidc.ScopeOpenID, "profile", "email", "User.Read"}

// Config is one application registration in one tenant.
type Config struct {
	// TenantID is the directory (tenant) id, a GUID: the issuer is {Authority}/{TenantID}/v2.0 and every
	// token's tid must be it.
	TenantID string
	// ClientID and ClientSecret are the application (client) id and a client secret of the app
	// registration; the secret is sent as client_secret_post.
	ClientID, ClientSecret string
	// RedirectURL is the registered redirect URI the authorization code comes back to.
	RedirectURL string
	// Authority is the sign-in host; default DefaultAuthority (a national cloud has its own).
	Authority string
	// GraphURL is Microsoft Graph's base; default DefaultGraphURL.
	GraphURL string
	// HTTPClient makes every call (a copy of it: its transport is wrapped); default a new client. One
	// without a Timeout gets DefaultTimeout. Either way answers are read to at most MaxResponseBytes, and
	// 5xx and 429 answers count as the directory being unavailable.
	HTTPClient *http.Client
}

// Client signs people in against one tenant. It is safe for concurrent use; make one per
// configuration and keep it (it caches the tenant's signing keys).
type Client struct {
	cfg      Config
	http     *http.Client
	issuer   string
	graph    *url.URL
	oauth    oauth2.Config
	keys     *probedKeySet
	verifier *oidc.IDTokenVerifier
}

// New reads the tenant's discovery document ({Authority}/{TenantID}/v2.0/.well-known/openid-configuration;
// its issuer must be {Authority}/{TenantID}/v2.0) and returns a Client. A directory that cannot be asked
// is an error wrapping domain.ErrDirectoryUnavailable; a configuration it refuses (an unknown tenant, an
// issuer that differs) is another error.
func New(ctx context.Context, cfg Config) (*Client, error) {
	for name, v := range map[string]string{"TenantID": cfg.TenantID, "ClientID": cfg.ClientID,
		"ClientSecret": cfg.ClientSecret, "RedirectURL": cfg.RedirectURL} {
		if strings.TrimSpace(v) == "" {
			return nil, fmt.Errorf("entra: Config.%s is required", name)
		}
	}
	if cfg.Authority == "" {
		cfg.Authority = DefaultAuthority
	}
	if cfg.GraphURL == "" {
		cfg.GraphURL = DefaultGraphURL
	}
	cfg.Authority = strings.TrimSuffix(cfg.Authority, "/")
	cfg.GraphURL = strings.TrimSuffix(cfg.GraphURL, "/")
	graph, err := url.Parse(cfg.GraphURL)
	if err != nil || graph.Host == "" {
		return nil, fmt.Errorf("entra: Config.GraphURL %q is not an absolute URL", cfg.GraphURL)
	}
	hc := boundedClient(cfg.HTTPClient)
	c := &Client{cfg: cfg, http: hc, issuer: cfg.Authority + "/" + cfg.TenantID + "/v2.0", graph: graph}

	ctx = oidc.ClientContext(ctx, hc)
	provider, err := oidc.NewProvider(ctx, c.issuer)
	if err != nil {
		if unreachable(err) {
			return nil, fmt.Errorf("entra: discovery of %s: %w: %v", c.issuer, domain.ErrDirectoryUnavailable, err)
		}
		return nil, fmt.Errorf("entra: discovery of %s: %w", c.issuer, err)
	}
	var meta struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := provider.Claims(&meta); err != nil || meta.JWKSURI == "" {
		return nil, fmt.Errorf("entra: the discovery document of %s has no jwks_uri", c.issuer)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInParams // client_secret_post, as Entra documents it
	c.oauth = oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: endpoint,
		RedirectURL: cfg.RedirectURL, Scopes: Scopes}
	// The key set outlives ctx: go-oidc keeps only its values (the HTTP client), not its cancellation.
	c.keys = &probedKeySet{remote: oidc.NewRemoteKeySet(ctx, meta.JWKSURI)}
	c.verifier = oidc.NewVerifier(c.issuer, c.keys, &oidc.Config{ClientID: cfg.ClientID,
		SupportedSigningAlgs: []string{oidc.RS256}})
	return c, nil
}

// Issuer is the issuer every ID token must name: {Authority}/{TenantID}/v2.0.
func (c *Client) Issuer() string { return c.issuer }

// AuthCodeURL is where to send the person's browser to sign in: the tenant's authorize endpoint with the
// client, the redirect URI, Scopes, state (the caller checks it when the code comes back), nonce (given
// again to Exchange) and the S256 challenge of verifier (from oauth2.GenerateVerifier; given again to
// Exchange).
func (c *Client) AuthCodeURL(state, nonce, verifier string) string {
	return c.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// unreachable: err is the HTTP client's (no answer, a timeout, a TLS failure, or an answer the bounded
// transport turned into an error: 5xx, 429, too large), not a refusal the directory answered.
func unreachable(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue)
}
