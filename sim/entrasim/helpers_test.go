package entrasim_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/sim/entrasim"
)

const redirect = "https://app.test/callback"

func start(t *testing.T, o entrasim.Options) (*entrasim.Sim, string) {
	t.Helper()
	if o.RedirectURIs == nil {
		o.RedirectURIs = []string{redirect}
	}
	s := entrasim.New(o)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return s, srv.URL
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// pkce is a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	h := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(h[:])
}

func authorizeQuery(challenge string) url.Values {
	return url.Values{"client_id": {entrasim.DefaultClientID}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid profile email User.Read"}, "state": {"st-1"}, "nonce": {"n-1"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
}

// code signs the user with this e-mail in by login_hint and returns the code and the verifier.
func code(t *testing.T, base, email string) (string, string) {
	t.Helper()
	verifier, challenge := pkce()
	q := authorizeQuery(challenge)
	q.Set("login_hint", email)
	resp, err := noRedirects.Get(base + "/" + entrasim.DefaultTenantID + "/oauth2/v2.0/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("state") != "st-1" || loc.Query().Get("code") == "" {
		t.Fatalf("redirected to %s", loc)
	}
	return loc.Query().Get("code"), verifier
}

func redeemForm(c, verifier string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirect},
		"code_verifier": {verifier}, "client_id": {entrasim.DefaultClientID}, "client_secret": {entrasim.DefaultClientSecret}}
}

func post(t *testing.T, u string, form url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func tokenURL(base string) string {
	return base + "/" + entrasim.DefaultTenantID + "/oauth2/v2.0/token"
}

type tokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
}

// signIn runs a whole sign-in and returns the token answer.
func signIn(t *testing.T, base, email string) (tokens, []byte) {
	t.Helper()
	c, v := code(t, base, email)
	status, body := post(t, tokenURL(base), redeemForm(c, v))
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	var tk tokens
	if err := json.Unmarshal(body, &tk); err != nil {
		t.Fatal(err)
	}
	return tk, body
}

// payload is the (unverified) payload of a JWT.
func payload(t *testing.T, jwt string) []byte {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func get(t *testing.T, u, bearer string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func graphURL(base, query string) string {
	return base + "/v1.0/me/transitiveMemberOf/microsoft.graph.group?" + query
}
