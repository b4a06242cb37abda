package entrasim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// token serves POST /{tenant}/oauth2/v2.0/token: an authorization code (with its PKCE verifier)
// redeemed for an ID token and a Graph access token.
func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	if s.down(func(f Faults) bool { return f.TokenDown }) {
		oauthFail(w, http.StatusServiceUnavailable, "temporarily_unavailable", 90033,
			"AADSTS90033: A transient error has occurred. Please try again (simulated).")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.reject(w, http.StatusBadRequest, "invalid_request", 900144, "AADSTS900144: The request body could not be read.")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 2.3.1: the id and secret are form-urlencoded before Basic encoding.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != s.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1 {
		s.reject(w, http.StatusUnauthorized, "invalid_client", 7000215,
			"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	if gt := f.Get("grant_type"); gt != "authorization_code" {
		s.reject(w, http.StatusBadRequest, "unsupported_grant_type", 70003,
			"AADSTS70003: The app requested an unsupported grant type '"+gt+"'.")
		return
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.codes[f.Get("code")]
	switch {
	case !ok || now.After(c.expires):
		s.rejectLocked(w, http.StatusBadRequest, "invalid_grant", 70008,
			"AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.")
		return
	case c.used:
		s.rejectLocked(w, http.StatusBadRequest, "invalid_grant", 54005,
			"AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
		return
	}
	c.used = true // once only, whether this redemption succeeds or not
	switch {
	case c.clientID != id:
		s.rejectLocked(w, http.StatusBadRequest, "invalid_grant", 700005,
			"AADSTS700005: Provided Authorization Code is intended to use against other tenant or client.")
		return
	case f.Get("redirect_uri") != c.redirectURI:
		s.rejectLocked(w, http.StatusBadRequest, "invalid_grant", 70000,
			"AADSTS70000: The provided value for the 'redirect_uri' is not valid. The value must exactly match the redirect URI used to obtain the authorization code.")
		return
	case !verifierMatches(f.Get("code_verifier"), c.challenge):
		s.rejectLocked(w, http.StatusBadRequest, "invalid_grant", 501481,
			"AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		return
	}
	u := s.users[c.user]
	spoil := s.faults.NextIDToken
	s.faults.NextIDToken = SpoilNone
	idt, err := s.idToken(s.baseURL(r)+"/"+s.opts.TenantID+"/v2.0", u, c, spoil, now)
	if err != nil {
		s.rejectLocked(w, http.StatusInternalServerError, "server_error", 90100, "AADSTS90100: "+err.Error())
		return
	}
	access := randomToken(32)
	s.access[access] = accessGrant{User: u.ObjectID, Expires: now.Add(s.opts.TokenTTL)}
	s.stats.TokensIssued++
	if spoil != SpoilNone {
		s.stats.SpoiledTokens++
	}
	s.signIns = append(s.signIns, SignIn{At: now.UTC(), User: u.ObjectID, Name: u.Name,
		Overage: len(u.Groups) > OverageLimit, Spoiled: spoil})
	if len(s.signIns) > maxSignIns {
		s.signIns = s.signIns[len(s.signIns)-maxSignIns:]
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	ttl := int(s.opts.TokenTTL.Seconds())
	kit.WriteJSON(w, http.StatusOK, tokenResponse{TokenType: "Bearer", Scope: grantedScope(c.scope),
		ExpiresIn: ttl, ExtExpiresIn: ttl, AccessToken: access, IDToken: idt})
}

// grantedScope is the scope the access token is for: the resource (Graph) scopes asked for, as Entra
// answers them, with the OpenID Connect ones; User.Read when none was asked for.
func grantedScope(asked string) string {
	var out []string
	resource := false
	for _, sc := range strings.Fields(asked) {
		switch sc {
		case "openid", "profile", "email", "offline_access":
			out = append(out, sc)
		default:
			resource = true
			out = append([]string{strings.TrimPrefix(sc, "https://graph.microsoft.com/")}, out...)
		}
	}
	if !resource {
		out = append([]string{"User.Read"}, out...)
	}
	return strings.Join(out, " ")
}

// verifierMatches checks a PKCE verifier against an S256 challenge (RFC 7636 4.6).
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	h := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(h[:])), []byte(challenge)) == 1
}

func (s *Sim) reject(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectLocked(w, status, code, aadsts, desc)
}

func (s *Sim) rejectLocked(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	s.stats.TokenRejections++
	oauthFail(w, status, code, aadsts, desc)
}

// oauthFail answers Entra's OAuth error JSON.
func oauthFail(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	trace, corr := newGUID(), newGUID()
	ts := time.Now().UTC().Format("2006-01-02 15:04:05Z")
	w.Header().Set("Cache-Control", "no-store")
	kit.WriteJSON(w, status, oauthError{Error: code,
		ErrorDescription: desc + "\r\nTrace ID: " + trace + "\r\nCorrelation ID: " + corr + "\r\nTimestamp: " + ts,
		ErrorCodes:       []int{aadsts}, Timestamp: ts, TraceID: trace, CorrelationID: corr})
}
