package entrasim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"

	"github.com/go-jose/go-jose/v4"

	"github.com/signetassure/signetassure/sim/kit"
)

// signingKey is an RSA key the tenant signs ID tokens with, named by its kid.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

// newSigningKey makes an RSA-2048 key whose kid is its RFC 7638 thumbprint (base64url), as unique as
// Entra's x5t-style kids.
func newSigningKey() *signingKey {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("entrasim: " + err.Error())
	}
	return keyFor(priv)
}

func keyFor(priv *rsa.PrivateKey) *signingKey {
	jwk := jose.JSONWebKey{Key: &priv.PublicKey}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic("entrasim: " + err.Error())
	}
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(tp), priv: priv}
}

// Rollover makes a new signing key: it signs every ID token from now on, and the JWKS publishes it first,
// then the keys it replaced (up to three in all), so that tokens signed a moment ago still verify.
// It returns the new kid.
func (s *Sim) Rollover() string {
	k := newSigningKey()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append([]*signingKey{k}, s.keys...)
	s.keys = s.keys[:min(len(s.keys), maxKeys)]
	s.stats.Rollovers++
	return k.kid
}

// SigningKeyID is the kid of the key that signs ID tokens now.
func (s *Sim) SigningKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0].kid
}

// keySet is the JWKS: {"keys":[...]}, each key with kty, use, kid, alg, n, e and issuer as Entra's have.
type keySet struct {
	Keys []publishedKey `json:"keys"`
}

type publishedKey struct {
	jose.JSONWebKey
	issuer string
}

// MarshalJSON adds Entra's issuer member to the JWK go-jose writes.
func (k publishedKey) MarshalJSON() ([]byte, error) {
	b, err := k.JSONWebKey.MarshalJSON()
	if err != nil || k.issuer == "" {
		return b, err
	}
	iss, _ := jsonString(k.issuer)
	return append(append(b[:len(b)-1], `,"issuer":`...), append(iss, '}')...), nil
}

func (s *Sim) jwks(w http.ResponseWriter, r *http.Request) {
	if s.down(func(f Faults) bool { return f.KeysDown }) {
		oauthFail(w, http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "The service is temporarily unavailable (simulated).")
		return
	}
	issuer := s.baseURL(r) + "/" + s.opts.TenantID + "/v2.0"
	s.mu.Lock()
	set := keySet{Keys: make([]publishedKey, 0, len(s.keys))}
	for _, k := range s.keys {
		set.Keys = append(set.Keys, publishedKey{JSONWebKey: jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid,
			Use: "sig", Algorithm: string(jose.RS256)}, issuer: issuer})
	}
	s.stats.KeySetsServed++
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "max-age=86400, private")
	kit.WriteJSON(w, http.StatusOK, set)
}

func (s *Sim) discovery(w http.ResponseWriter, r *http.Request) {
	if s.down(func(f Faults) bool { return f.KeysDown }) {
		oauthFail(w, http.StatusServiceUnavailable, "temporarily_unavailable", 90033, "The service is temporarily unavailable (simulated).")
		return
	}
	base := s.baseURL(r)
	t := base + "/" + s.opts.TenantID
	s.mu.Lock()
	s.stats.Discoveries++
	s.mu.Unlock()
	kit.WriteJSON(w, http.StatusOK, discovery{
		Issuer:                            t + "/v2.0",
		AuthorizationEndpoint:             t + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     t + "/oauth2/v2.0/token",
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		JWKSURI:                           t + "/discovery/v2.0/keys",
		UserinfoEndpoint:                  base + "/oidc/userinfo",
		EndSessionEndpoint:                t + "/oauth2/v2.0/logout",
		ResponseModesSupported:            []string{"query", "fragment", "form_post"},
		ResponseTypesSupported:            []string{"code"},
		SubjectTypesSupported:             []string{"pairwise"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		ClaimsSupported: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "preferred_username",
			"name", "tid", "ver", "email", "oid", "groups", "roles"},
		CodeChallengeMethodsSupported: []string{"S256"},
		CloudInstanceName:             "microsoftonline.com",
		MSGraphHost:                   "graph.microsoft.com",
	})
}

// down reports whether a fault makes this call answer 503, and counts it.
func (s *Sim) down(fault func(Faults) bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fault(s.faults) {
		s.stats.InjectedDown++
		return true
	}
	return false
}
