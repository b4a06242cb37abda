package entra

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/signetassure/signetassure/domain"
)

// idClaims are the claims of an Entra v2.0 ID token that a sign-in reads.
type idClaims struct {
	ObjectID          string            `json:"oid"`
	TenantID          string            `json:"tid"`
	Name              string            `json:"name"`
	Email             string            `json:"email"`
	PreferredUsername string            `json:"preferred_username"`
	Groups            []string          `json:"groups"`
	Roles             []string          `json:"roles"`
	ClaimNames        map[string]string `json:"_claim_names"`
}

// Exchange redeems the authorization code that came back to the redirect URI (with the PKCE verifier
// whose challenge AuthCodeURL sent), verifies the ID token (RS256 signature by a key of the tenant's
// JWKS, issuer, audience = client id, expiry, nonce, tid = TenantID) and returns the person: Subject is
// the oid claim (the user's object id, the same in every application of the tenant), Email the email
// claim or else preferred_username, DisplayName the name claim, Groups the groups claim (object ids), or
// on a groups overage the user's transitive groups from Microsoft Graph, and AppRoles the roles claim.
//
// A refusal is a *domain.SignInRefused with one of the Reason constants; an authority or Graph that
// cannot be asked is an error wrapping domain.ErrDirectoryUnavailable; anything else (the client's
// credentials refused, Graph refusing the access token) is another error. Checking the state that came
// back with the code is the caller's job.
func (c *Client) Exchange(ctx context.Context, code, verifier, nonce string) (domain.DirectoryUser, error) {
	tok, err := c.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, c.http), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return domain.DirectoryUser{}, c.exchangeError(ctx, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return domain.DirectoryUser{}, refused(ReasonNoIDToken)
	}
	if reason := checkAlgorithm(raw); reason != "" {
		return domain.DirectoryUser{}, refused(reason)
	}
	p := &probe{}
	idt, err := c.verifier.Verify(context.WithValue(ctx, probeKey{}, p), raw)
	if err != nil {
		return domain.DirectoryUser{}, c.verifyError(ctx, p, err)
	}
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		return domain.DirectoryUser{}, refused(ReasonMalformed)
	}
	if nonce == "" || subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return domain.DirectoryUser{}, refused(ReasonNonce)
	}
	if !strings.EqualFold(cl.TenantID, c.cfg.TenantID) {
		return domain.DirectoryUser{}, refused(ReasonTenant)
	}
	if cl.ObjectID == "" {
		return domain.DirectoryUser{}, refused(ReasonNoObjectID)
	}
	u := domain.DirectoryUser{Directory: domain.DirectoryEntra, Subject: cl.ObjectID, Email: cl.Email,
		DisplayName: cl.Name, Groups: cl.Groups, AppRoles: cl.Roles}
	if u.Email == "" {
		u.Email = cl.PreferredUsername
	}
	if _, overage := cl.ClaimNames["groups"]; overage && cl.Groups == nil {
		// The groups overage: the token names a source instead of carrying the groups. The source's
		// endpoint is the legacy Azure AD Graph; Microsoft says to ask Microsoft Graph instead
		// (https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference#groups-overage-claim).
		if u.Groups, err = c.transitiveGroups(ctx, tok.AccessToken); err != nil {
			return domain.DirectoryUser{}, err
		}
	}
	if u.Groups == nil {
		u.Groups = []string{}
	}
	if u.AppRoles == nil {
		u.AppRoles = []string{}
	}
	return u, nil
}

// exchangeError sorts out why the token endpoint did not give tokens.
func (c *Client) exchangeError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("entra: redeeming the code: %w", ctx.Err())
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		if re.ErrorCode == "invalid_client" || re.ErrorCode == "unauthorized_client" {
			// The application's credentials, not the person: a configuration to fix.
			return fmt.Errorf("entra: the token endpoint refused the client (%s)", re.ErrorCode)
		}
		return refused(ReasonCodeRejected)
	}
	return fmt.Errorf("entra: redeeming the code: %w: %v", domain.ErrDirectoryUnavailable, err)
}

// verifyError sorts out why the ID token did not verify. go-oidc checks the signature first, then the
// issuer, the audience and the expiry; the probe says whether the signature passed, and the verified
// payload says which claim failed after it.
func (c *Client) verifyError(ctx context.Context, p *probe, err error) error {
	switch {
	case !p.verified && p.fetchErr:
		return fmt.Errorf("entra: fetching the tenant's keys: %w: %v", domain.ErrDirectoryUnavailable, err)
	case !p.verified && ctx.Err() != nil:
		return fmt.Errorf("entra: verifying the ID token: %w", ctx.Err())
	case !p.verified:
		return refused(ReasonSignature)
	}
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return refused(ReasonExpired)
	}
	var cl struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(p.payload, &cl) != nil {
		return refused(ReasonMalformed)
	}
	switch {
	case cl.Issuer != c.issuer:
		return refused(ReasonIssuer)
	case !audienceHas(cl.Audience, c.cfg.ClientID):
		return refused(ReasonAudience)
	case strings.Contains(err.Error(), "nbf"):
		return refused(ReasonNotYetValid)
	}
	return refused(ReasonInvalid)
}

// audienceHas: the aud claim (a string or an array of strings) names the client.
func audienceHas(aud json.RawMessage, clientID string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == clientID
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, clientID)
}

// checkAlgorithm reads the JWS header and refuses an unsigned token (alg none) or another algorithm than
// RS256 by name; go-oidc would refuse both too, as a malformed token.
func checkAlgorithm(raw string) string {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return ReasonMalformed
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ReasonMalformed
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ReasonMalformed
	}
	switch {
	case strings.EqualFold(h.Alg, "none"):
		return ReasonUnsigned
	case h.Alg != oidc.RS256:
		return ReasonAlgorithm
	}
	return ""
}

func refused(reason string) error { return &domain.SignInRefused{Reason: reason} }
