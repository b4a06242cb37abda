package entrasim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/signetassure/signetassure/sim/entrasim"
)

func TestThePickPageSignsThePickedUserIn(t *testing.T) {
	_, base := start(t, entrasim.Options{})
	verifier, challenge := pkce()
	q := authorizeQuery(challenge)
	status, page := get(t, base+"/"+entrasim.DefaultTenantID+"/oauth2/v2.0/authorize?"+q.Encode(), "")
	if status != http.StatusOK {
		t.Fatalf("authorize: %d %s", status, page)
	}
	for _, want := range []string{"Sign in with Microsoft — pick a user", "Carol Case", "SA Case Workers",
		"Olive Overage", "250 in all", "SignetAssure.Admin"} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// The person picks the vetting officer: the form posts the request's parameters and the user.
	form := url.Values{}
	for k, v := range q {
		form[k] = v
	}
	form.Set("user", "00000000-0000-0000-0000-000000000000")
	if status, _ := post(t, base+"/"+entrasim.DefaultTenantID+"/oauth2/v2.0/authorize", form); status != http.StatusBadRequest {
		t.Errorf("an unknown user picked: %d", status)
	}
	form.Set("user", entrasim.UserVettingOfficer)
	resp, err := noRedirects.PostForm(base+"/"+entrasim.DefaultTenantID+"/oauth2/v2.0/authorize", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || loc.Query().Get("state") != "st-1" {
		t.Fatalf("pick: %d %s", resp.StatusCode, loc)
	}
	status, body := post(t, tokenURL(base), redeemForm(loc.Query().Get("code"), verifier))
	if status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	var tk tokens
	_ = json.Unmarshal(body, &tk)
	var cl struct {
		OID    string   `json:"oid"`
		Nonce  string   `json:"nonce"`
		Groups []string `json:"groups"`
	}
	_ = json.Unmarshal(payload(t, tk.IDToken), &cl)
	if cl.OID != entrasim.UserVettingOfficer || cl.Nonce != "n-1" || len(cl.Groups) != 2 {
		t.Errorf("claims %+v", cl)
	}
}

func TestBadAuthorizeRequests(t *testing.T) {
	_, base := start(t, entrasim.Options{})
	_, challenge := pkce()
	authorize := base + "/" + entrasim.DefaultTenantID + "/oauth2/v2.0/authorize?"
	for name, tc := range map[string]struct {
		change func(url.Values)
		shown  bool   // the error is shown, not redirected
		code   string // the error redirected with
	}{
		"unknown client":      {func(q url.Values) { q.Set("client_id", "nope") }, true, ""},
		"unregistered uri":    {func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") }, true, ""},
		"token response type": {func(q url.Values) { q.Set("response_type", "token") }, false, "unsupported_response_type"},
		"no openid":           {func(q url.Values) { q.Set("scope", "User.Read") }, false, "invalid_request"},
		"no challenge":        {func(q url.Values) { q.Del("code_challenge") }, false, "invalid_request"},
		"plain challenge":     {func(q url.Values) { q.Set("code_challenge_method", "plain") }, false, "invalid_request"},
	} {
		t.Run(name, func(t *testing.T) {
			q := authorizeQuery(challenge)
			tc.change(q)
			resp, err := noRedirects.Get(authorize + q.Encode())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if tc.shown {
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("status %d", resp.StatusCode)
				}
				return
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != tc.code || loc.Query().Get("state") != "st-1" {
				t.Errorf("%d %s", resp.StatusCode, loc)
			}
		})
	}
	if status, body := get(t, base+"/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", ""); status != http.StatusBadRequest ||
		!bytes.Contains(body, []byte("invalid_tenant")) {
		t.Errorf("another tenant: %d %s", status, body)
	}
}

func TestTheTokenEndpointChecksTheClientTheCodeAndTheVerifier(t *testing.T) {
	_, base := start(t, entrasim.Options{})
	email := "carol.case@demo.signetassure.test"

	// client_secret_basic, the id and secret form-urlencoded first.
	c, v := code(t, base, email)
	form := redeemForm(c, v)
	form.Del("client_id")
	form.Del("client_secret")
	req, _ := http.NewRequest(http.MethodPost, tokenURL(base), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(entrasim.DefaultClientID), url.QueryEscape(entrasim.DefaultClientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("basic: %d", resp.StatusCode)
	}

	for name, tc := range map[string]struct {
		change func(url.Values)
		status int
		error  string
	}{
		"wrong secret":       {func(f url.Values) { f.Set("client_secret", "x") }, http.StatusUnauthorized, "invalid_client"},
		"wrong grant":        {func(f url.Values) { f.Set("grant_type", "password") }, http.StatusBadRequest, "unsupported_grant_type"},
		"wrong redirect uri": {func(f url.Values) { f.Set("redirect_uri", "https://app.test/other") }, http.StatusBadRequest, "invalid_grant"},
		"wrong verifier":     {func(f url.Values) { f.Set("code_verifier", strings.Repeat("a", 43)) }, http.StatusBadRequest, "invalid_grant"},
		"no verifier":        {func(f url.Values) { f.Del("code_verifier") }, http.StatusBadRequest, "invalid_grant"},
		"unknown code":       {func(f url.Values) { f.Set("code", "nope") }, http.StatusBadRequest, "invalid_grant"},
	} {
		t.Run(name, func(t *testing.T) {
			c, v := code(t, base, email)
			f := redeemForm(c, v)
			tc.change(f)
			status, body := post(t, tokenURL(base), f)
			var e struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(body, &e)
			if status != tc.status || e.Error != tc.error {
				t.Errorf("%d %s", status, body)
			}
		})
	}
}

func TestIDTokensVerifyAgainstTheKeysAcrossARollover(t *testing.T) {
	s, base := start(t, entrasim.Options{})
	keys := func() jose.JSONWebKeySet {
		status, body := get(t, base+"/"+entrasim.DefaultTenantID+"/discovery/v2.0/keys", "")
		if status != http.StatusOK {
			t.Fatalf("keys: %d", status)
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(body, &set); err != nil {
			t.Fatal(err)
		}
		return set
	}
	verify := func(idToken string, set jose.JSONWebKeySet) bool {
		jws, err := jose.ParseSignedCompact(idToken, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range set.Key(jws.Signatures[0].Header.KeyID) {
			if _, err := jws.Verify(k); err == nil {
				return true
			}
		}
		return false
	}
	before, _ := signIn(t, base, "carol.case@demo.signetassure.test")
	oldSet := keys()
	if len(oldSet.Keys) != 1 || !verify(before.IDToken, oldSet) {
		t.Fatalf("before the rollover: %d keys", len(oldSet.Keys))
	}
	kid := s.Rollover()
	after, _ := signIn(t, base, "carol.case@demo.signetassure.test")
	newSet := keys()
	if len(newSet.Keys) != 2 || newSet.Keys[0].KeyID != kid {
		t.Fatalf("after the rollover: %+v", newSet.Keys)
	}
	if verify(after.IDToken, oldSet) || !verify(after.IDToken, newSet) || !verify(before.IDToken, newSet) {
		t.Error("the new key signs, the old one is still published")
	}
	for range 3 {
		s.Rollover()
	}
	if n := len(keys().Keys); n != 3 {
		t.Errorf("%d keys published, want at most 3", n)
	}
}

func TestGraphWantsTheAccessTokenAndPages(t *testing.T) {
	s, base := start(t, entrasim.Options{})
	if status, _ := get(t, graphURL(base, ""), ""); status != http.StatusUnauthorized {
		t.Errorf("no token: %d", status)
	}
	if status, _ := get(t, graphURL(base, ""), "made-up"); status != http.StatusUnauthorized {
		t.Errorf("unknown token: %d", status)
	}
	tk, _ := signIn(t, base, "olive.overage@demo.signetassure.test")
	var ids []string
	next := graphURL(base, "%24select=id&%24top=999")
	for next != "" {
		status, body := get(t, next, tk.AccessToken)
		if status != http.StatusOK {
			t.Fatalf("graph: %d %s", status, body)
		}
		var p struct {
			Next  string `json:"@odata.nextLink"`
			Value []struct {
				ID          string `json:"id"`
				DisplayName string `json:"displayName"`
			} `json:"value"`
		}
		_ = json.Unmarshal(body, &p)
		for _, g := range p.Value {
			if g.DisplayName != "" {
				t.Errorf("displayName not selected: %s", body)
			}
			ids = append(ids, g.ID)
		}
		next = p.Next
	}
	if len(ids) != entrasim.OverageGroups || ids[0] != entrasim.GroupCaseWorkers {
		t.Errorf("%d groups, first %s", len(ids), ids[0])
	}
	if n := s.Stats().GraphCalls; n != 1 {
		t.Errorf("%d pages for $top=999", n)
	}
	s.SetFaults(entrasim.Faults{GraphDown: true})
	if status, _ := get(t, graphURL(base, ""), tk.AccessToken); status != http.StatusServiceUnavailable {
		t.Errorf("Graph down: %d", status)
	}
}

func TestControlAPI(t *testing.T) {
	s, base := start(t, entrasim.Options{})
	call := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if status, body := call(http.MethodPost, "/sim/faults", `{"nextIdToken":"expired"}`); status != http.StatusOK ||
		s.Faults().NextIDToken != entrasim.SpoilExpired {
		t.Errorf("faults: %d %s", status, body)
	}
	if status, _ := call(http.MethodPost, "/sim/faults", `{"tokenDown":true}`); status != http.StatusOK ||
		s.Faults() != (entrasim.Faults{NextIDToken: entrasim.SpoilExpired, TokenDown: true}) {
		t.Errorf("a patch changes only what it names: %+v", s.Faults())
	}
	if status, _ := call(http.MethodPost, "/sim/faults", `{"nextIdToken":"sideways"}`); status != http.StatusBadRequest {
		t.Errorf("an unknown spoil: %d", status)
	}
	if status, _ := call(http.MethodPut, "/sim/faults", `{}`); status != http.StatusOK || s.Faults() != (entrasim.Faults{}) {
		t.Errorf("put: %+v", s.Faults())
	}
	old := s.SigningKeyID()
	if status, body := call(http.MethodPost, "/sim/rollover", ""); status != http.StatusOK || s.SigningKeyID() == old ||
		!bytes.Contains(body, []byte(s.SigningKeyID())) {
		t.Errorf("rollover: %d %s", status, body)
	}
	signIn(t, base, "adam.admin@demo.signetassure.test")
	status, body := call(http.MethodGet, "/sim/state", "")
	var st entrasim.State
	if err := json.Unmarshal(body, &st); err != nil || status != http.StatusOK || len(st.Keys) != 2 ||
		len(st.SignIns) != 1 || st.SignIns[0].User != entrasim.UserAdministrator || st.Stats.TokensIssued != 1 {
		t.Errorf("state: %d %s", status, body)
	}
	if status, page := call(http.MethodGet, "/", ""); status != http.StatusOK || !bytes.Contains(page, []byte("Adam Admin")) ||
		!bytes.Contains(page, []byte(entrasim.DefaultTenantID)) {
		t.Errorf("page: %d", status)
	}
	if status, _ := call(http.MethodPost, "/sim/reset", ""); status != http.StatusOK || len(s.State().SignIns) != 0 ||
		s.SigningKeyID() == old {
		t.Errorf("reset: %d", status)
	}
}

func TestKeepStateKeepsTheSigningKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "entra.json")
	first := entrasim.New(entrasim.Options{})
	if err := first.KeepState(path, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	first.Rollover()
	kid := first.SigningKeyID()
	first.Close()

	second := entrasim.New(entrasim.Options{})
	if err := second.KeepState(path, func(err error) { t.Error(err) }); err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if got := second.SigningKeyID(); got != kid {
		t.Errorf("signing key %s after the restart, want %s", got, kid)
	}
	if n := len(second.State().Keys); n != 2 {
		t.Errorf("%d keys after the restart, want 2", n)
	}
}
