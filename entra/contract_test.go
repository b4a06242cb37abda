package entra

// Contract tests: the client reads Microsoft's documented JSON, the fixtures in testdata/vendor (their
// sources are in its README.md), served as they are documented.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/contracttest"
)

const contractTenant = "9122040d-6c67-4c5b-b112-36a304b66dad"

// documentedTenant serves the documented discovery document (its host and {tenant} filled in, and the
// issuer that OpenID Connect Discovery requires and the doc's truncated sample leaves out) and the
// documented token error.
func documentedTenant(t *testing.T) *httptest.Server {
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+contractTenant+"/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		doc := string(contracttest.Load(t, "discovery.json"))
		doc = strings.ReplaceAll(doc, "https://login.microsoftonline.com", srv.URL)
		doc = strings.ReplaceAll(doc, "{tenant}", contractTenant)
		doc = strings.Replace(doc, "{", `{"issuer": "`+srv.URL+"/"+contractTenant+`/v2.0",`, 1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(doc))
	})
	mux.HandleFunc("POST /"+contractTenant+"/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		w.Write(contracttest.Load(t, "token_error.json"))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestContractDiscoveryAndTokenError(t *testing.T) {
	srv := documentedTenant(t)
	c, err := New(context.Background(), Config{TenantID: contractTenant, ClientID: "6cb04018-a3f5-46a7-b995-940c78f5aef3",
		ClientSecret: "s", RedirectURL: "https://app.test/cb", Authority: srv.URL, GraphURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.AuthCodeURL("s", "n", "verifier-verifier-verifier-verifier-verifier"))
	if u.Path != "/"+contractTenant+"/oauth2/v2.0/authorize" {
		t.Errorf("authorize at %s", u.Path)
	}
	_, err = c.Exchange(context.Background(), "code", "verifier-verifier-verifier-verifier-verifier", "n")
	var r *domain.SignInRefused
	if !errors.As(err, &r) || r.Reason != ReasonCodeRejected {
		t.Errorf("the documented error answer: %v", err)
	}
}

func TestContractGraphPages(t *testing.T) {
	var calls atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer the-access-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch calls.Add(1) {
		case 1:
			if r.URL.Path != "/v1.0/me/transitiveMemberOf/microsoft.graph.group" || r.URL.Query().Get("$select") != "id" {
				t.Errorf("first page asked as %s", r.URL)
			}
			// The documented nextLink, on this server (and without the doc's " ... " eliding the token).
			page := strings.Replace(string(contracttest.Load(t, "graph_next_page.json")),
				"https://graph.microsoft.com/v1.0/users?", srv.URL+"/v1.0/me/transitiveMemberOf/microsoft.graph.group?", 1)
			page = strings.Replace(page, " ... ", "", 1)
			w.Write([]byte(strings.ReplaceAll(page, "11111111-2222-3333-4444-555555555555", "first-page-group")))
		default:
			if r.URL.Query().Get("$skiptoken") == "" {
				t.Errorf("second page asked as %s", r.URL)
			}
			w.Write(contracttest.Load(t, "graph_transitive_member_of_groups.json"))
		}
	}))
	defer srv.Close()
	graph, _ := url.Parse(srv.URL)
	c := &Client{cfg: Config{GraphURL: srv.URL}, http: boundedClient(nil), graph: graph}
	groups, err := c.transitiveGroups(context.Background(), "the-access-token")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(groups, []string{"first-page-group", "11111111-2222-3333-4444-555555555555"}) {
		t.Errorf("groups %v", groups)
	}

	// A nextLink to another host (the documented one, on graph.microsoft.com, while GraphURL is this
	// server) is not followed: the access token stays with the Graph it was configured for.
	var asked atomic.Int32
	off := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(contracttest.Load(t, "graph_next_page.json"))
	}))
	defer off.Close()
	offURL, _ := url.Parse(off.URL)
	c = &Client{cfg: Config{GraphURL: off.URL}, http: boundedClient(nil), graph: offURL}
	if _, err := c.transitiveGroups(context.Background(), "the-access-token"); err == nil {
		t.Error("followed a nextLink off GraphURL's host")
	}
	if n := asked.Load(); n != 1 {
		t.Errorf("%d calls", n)
	}
}
