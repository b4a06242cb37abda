package entrasim_test

// Contract tests: the simulator's answers against Microsoft's documented JSON, the fixtures in
// entra/testdata/vendor (their sources are in its README.md), with the helper the client tests use.

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/sim/entrasim"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	return contracttest.Fixture(t, "entra", name)
}

func TestContractAnswersHaveTheDocumentedShape(t *testing.T) {
	_, base := start(t, entrasim.Options{GraphMaxPageSize: 100})
	tenant := base + "/" + entrasim.DefaultTenantID

	// The discovery document, and the members OpenID Connect Discovery requires that the doc's sample
	// leaves out.
	status, body := get(t, tenant+"/v2.0/.well-known/openid-configuration", "")
	if status != http.StatusOK {
		t.Fatalf("discovery: %d %s", status, body)
	}
	contracttest.AssertShape(t, fixture(t, "discovery.json"), body, contracttest.Options{})
	var d struct {
		Issuer        string   `json:"issuer"`
		Algs          []string `json:"id_token_signing_alg_values_supported"`
		ResponseTypes []string `json:"response_types_supported"`
		Methods       []string `json:"code_challenge_methods_supported"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	var urls struct {
		Authorize string `json:"authorization_endpoint"`
		Token     string `json:"token_endpoint"`
		Keys      string `json:"jwks_uri"`
	}
	_ = json.Unmarshal(body, &urls)
	if d.Issuer != tenant+"/v2.0" || urls.Authorize != tenant+"/oauth2/v2.0/authorize" ||
		urls.Token != tenant+"/oauth2/v2.0/token" || urls.Keys != tenant+"/discovery/v2.0/keys" {
		t.Errorf("endpoints %s %+v", d.Issuer, urls)
	}
	if !slices.Equal(d.Algs, []string{"RS256"}) || !slices.Contains(d.ResponseTypes, "code") ||
		!slices.Equal(d.Methods, []string{"S256"}) {
		t.Errorf("discovery %s", body)
	}

	// The token answer, and the ID token's claims (a user with groups and an app role).
	tk, body := signIn(t, base, "audrey.audit@demo.signetassure.test")
	contracttest.AssertShape(t, fixture(t, "token_response.json"), body, contracttest.Options{
		Skip: []string{"refresh_token"}, // only with offline_access, which is not asked for
	})
	contracttest.AssertShape(t, fixture(t, "id_token_claims.json"), payload(t, tk.IDToken), contracttest.Options{})

	// The overage user's ID token: the documented marker, and no groups claim.
	over, _ := signIn(t, base, "olive.overage@demo.signetassure.test")
	claims := payload(t, over.IDToken)
	contracttest.AssertShape(t, fixture(t, "id_token_overage_claims.json"), claims, contracttest.Options{})
	if strings.Contains(string(claims), `"groups":[`) {
		t.Errorf("an overage token with a groups claim: %s", claims)
	}

	// A code redeemed twice: the documented error answer.
	c, v := code(t, base, "carol.case@demo.signetassure.test")
	if status, body := post(t, tokenURL(base), redeemForm(c, v)); status != http.StatusOK {
		t.Fatalf("token: %d %s", status, body)
	}
	status, body = post(t, tokenURL(base), redeemForm(c, v))
	if status != http.StatusBadRequest || !strings.Contains(string(body), `"invalid_grant"`) {
		t.Errorf("second redemption: %d %s", status, body)
	}
	contracttest.AssertShape(t, fixture(t, "token_error.json"), body, contracttest.Options{})

	// Graph: the documented page with $select=displayName,id, first page of three with a nextLink that
	// keeps the request's parameters.
	status, body = get(t, graphURL(base, "%24select=displayName,id"), over.AccessToken)
	if status != http.StatusOK {
		t.Fatalf("graph: %d %s", status, body)
	}
	contracttest.AssertShape(t, fixture(t, "graph_transitive_member_of_groups.json"), body, contracttest.Options{
		Skip: []string{"@odata.count"}, // only with $count=true and ConsistencyLevel: eventual
	})
	contracttest.AssertShape(t, fixture(t, "graph_next_page.json"), body, contracttest.Options{})
	var page struct {
		NextLink string `json:"@odata.nextLink"`
	}
	_ = json.Unmarshal(body, &page)
	next, err := url.Parse(page.NextLink)
	if err != nil || next.Query().Get("$select") != "displayName,id" || next.Query().Get("$skiptoken") == "" {
		t.Errorf("nextLink %q", page.NextLink)
	}
}
