package entrasim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// idTokenClaims are the claims of a v2.0 ID token the simulator issues.
type idTokenClaims struct {
	Issuer            string                 `json:"iss"`
	Audience          string                 `json:"aud"`
	Subject           string                 `json:"sub"`
	ObjectID          string                 `json:"oid"`
	TenantID          string                 `json:"tid"`
	Nonce             string                 `json:"nonce,omitempty"`
	IssuedAt          int64                  `json:"iat"`
	NotBefore         int64                  `json:"nbf"`
	Expiry            int64                  `json:"exp"`
	Name              string                 `json:"name"`
	PreferredUsername string                 `json:"preferred_username"`
	Email             string                 `json:"email"`
	Version           string                 `json:"ver"`
	UTI               string                 `json:"uti"`
	Groups            []string               `json:"groups,omitempty"`
	ClaimNames        map[string]string      `json:"_claim_names,omitempty"`
	ClaimSources      map[string]claimSource `json:"_claim_sources,omitempty"`
	Roles             []string               `json:"roles,omitempty"`
}

// idToken makes the ID token for a redeemed code, spoiled as the fault says, and signs it. Called with mu
// held.
func (s *Sim) idToken(issuer string, u *User, c *authCode, spoil string, now time.Time) (string, error) {
	cl := idTokenClaims{
		Issuer: issuer, Audience: c.clientID, Subject: pairwiseSubject(u.ObjectID, c.clientID), ObjectID: u.ObjectID,
		TenantID: s.opts.TenantID, Nonce: c.nonce, IssuedAt: now.Unix(), NotBefore: now.Unix(),
		Expiry: now.Add(s.opts.TokenTTL).Unix(), Name: u.Name, PreferredUsername: u.Email, Email: u.Email,
		Version: "2.0", UTI: randomToken(11), Roles: u.AppRoles,
	}
	if len(u.Groups) > OverageLimit {
		cl.ClaimNames = map[string]string{"groups": "src1"}
		cl.ClaimSources = map[string]claimSource{"src1": {
			Endpoint: "https://graph.windows.net/" + s.opts.TenantID + "/users/" + u.ObjectID + "/getMemberObjects"}}
	} else {
		cl.Groups = u.Groups
	}
	key := s.keys[0]
	switch spoil {
	case SpoilWrongIssuer:
		cl.Issuer = issuer[:len(issuer)-len(s.opts.TenantID+"/v2.0")] + otherTenant + "/v2.0"
	case SpoilWrongAudience:
		cl.Audience = otherClient
	case SpoilWrongNonce:
		cl.Nonce = "not-the-nonce-" + randomToken(4)
	case SpoilExpired:
		past := now.Add(-2 * s.opts.TokenTTL)
		cl.IssuedAt, cl.NotBefore, cl.Expiry = past.Unix(), past.Unix(), past.Add(s.opts.TokenTTL).Unix()
	case SpoilWrongTenant:
		cl.TenantID = otherTenant
	case SpoilUnknownKey:
		key = newSigningKey()
	}
	payload, err := json.Marshal(cl)
	if err != nil {
		return "", err
	}
	if spoil == SpoilAlgNone {
		return unsigned(payload), nil
	}
	return sign(key, payload)
}

// A tenant and an application that are not the simulator's, for the spoiled tokens.
const (
	otherTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	otherClient = "00000000-0000-0000-0000-00000000bad0"
)

// sign signs payload RS256 with the key's kid, typ JWT.
func sign(k *signingKey, payload []byte) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256,
		Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// unsigned is payload as an unsecured JWT (alg none, RFC 7519 6.1): a header, the payload and an empty
// signature.
func unsigned(payload []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"typ":"JWT","alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."
}

// pairwiseSubject is the sub claim: the same user has another subject in another application, as Entra's
// pairwise subjects do.
func pairwiseSubject(oid, clientID string) string {
	h := sha256.Sum256([]byte(oid + "|" + clientID))
	return base64.RawURLEncoding.EncodeToString(h[:])[:43]
}

func jsonString(s string) ([]byte, error) { return json.Marshal(s) }
