package entra_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/entra"
	"github.com/signetassure/signetassure/sim/entrasim"
)

const redirectURL = "https://signetassure.test/auth/entra/callback"

// tenant is a simulated tenant served over HTTP and a client of it.
type tenant struct {
	sim    *entrasim.Sim
	srv    *httptest.Server
	client *entra.Client
}

func newTenant(t *testing.T, o entrasim.Options) *tenant {
	t.Helper()
	o.RedirectURIs = []string{redirectURL}
	sim := entrasim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	c, err := entra.New(context.Background(), config(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	return &tenant{sim: sim, srv: srv, client: c}
}

func config(base string) entra.Config {
	return entra.Config{TenantID: entrasim.DefaultTenantID, ClientID: entrasim.DefaultClientID,
		ClientSecret: entrasim.DefaultClientSecret, RedirectURL: redirectURL, Authority: base, GraphURL: base}
}

// noRedirects is a browser that stops at the first redirect, where the code comes back.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize runs the browser's part for the user with this e-mail (login_hint picks them at once) and
// returns the code, with the verifier and nonce the sign-in used.
func (tn *tenant) authorize(t *testing.T, email string) (code, verifier, nonce string) {
	t.Helper()
	verifier, nonce, state := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	u, err := url.Parse(tn.client.AuthCodeURL(state, nonce, verifier))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("login_hint", email)
	u.RawQuery = q.Encode()
	resp, err := noRedirects.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != redirectURL {
		t.Fatalf("redirected to %s", got)
	}
	if back.Query().Get("state") != state {
		t.Fatalf("state %q, sent %q", back.Query().Get("state"), state)
	}
	if back.Query().Get("error") != "" {
		t.Fatalf("authorize error: %s", back.Query().Get("error_description"))
	}
	return back.Query().Get("code"), verifier, nonce
}

// signIn is a whole sign-in of the user with this e-mail.
func (tn *tenant) signIn(t *testing.T, email string) (domain.DirectoryUser, error) {
	t.Helper()
	code, verifier, nonce := tn.authorize(t, email)
	return tn.client.Exchange(context.Background(), code, verifier, nonce)
}

func user(t *testing.T, oid string) entrasim.User {
	t.Helper()
	for _, u := range entrasim.DemoUsers() {
		if u.ObjectID == oid {
			return u
		}
	}
	t.Fatalf("no demo user %s", oid)
	return entrasim.User{}
}

func TestAuthCodeURLAsksForCodeWithPKCEAndTheScopes(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	u, err := url.Parse(tn.client.AuthCodeURL("st", "no", oauth2.GenerateVerifier()))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if !strings.HasSuffix(u.Path, "/"+entrasim.DefaultTenantID+"/oauth2/v2.0/authorize") {
		t.Errorf("path %s", u.Path)
	}
	for k, want := range map[string]string{"response_type": "code", "client_id": entrasim.DefaultClientID,
		"redirect_uri": redirectURL, "state": "st", "nonce": "no", "code_challenge_method": "S256",
		"scope": "openid profile email User.Read"} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if len(q.Get("code_challenge")) != 43 {
		t.Errorf("code_challenge %q", q.Get("code_challenge"))
	}
	if tn.client.Issuer() != tn.srv.URL+"/"+entrasim.DefaultTenantID+"/v2.0" {
		t.Errorf("issuer %s", tn.client.Issuer())
	}
}

func TestSignInGivesTheUserWithGroupsAndAppRoles(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	want := user(t, entrasim.UserAdministrator)
	got, err := tn.signIn(t, want.Email)
	if err != nil {
		t.Fatal(err)
	}
	if got.Directory != domain.DirectoryEntra || got.Subject != want.ObjectID || got.Email != want.Email ||
		got.DisplayName != want.Name {
		t.Errorf("user %+v", got)
	}
	if !slices.Equal(got.Groups, []string{entrasim.GroupAdministrators, entrasim.GroupAllStaff}) {
		t.Errorf("groups %v", got.Groups)
	}
	if !slices.Equal(got.AppRoles, []string{entrasim.AppRoleAdmin}) {
		t.Errorf("app roles %v", got.AppRoles)
	}
	if st := tn.sim.Stats(); st.GraphCalls != 0 {
		t.Errorf("Graph asked without an overage: %+v", st)
	}

	// A user without app roles has none (an empty list, not nil).
	cw, err := tn.signIn(t, user(t, entrasim.UserCaseWorker).Email)
	if err != nil {
		t.Fatal(err)
	}
	if cw.AppRoles == nil || len(cw.AppRoles) != 0 || !slices.Contains(cw.Groups, entrasim.GroupCaseWorkers) {
		t.Errorf("case worker %+v", cw)
	}
}

func TestOverageGroupsComeFromGraphPageByPage(t *testing.T) {
	tn := newTenant(t, entrasim.Options{GraphMaxPageSize: 100})
	want := user(t, entrasim.UserOverage)
	got, err := tn.signIn(t, want.Email)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Groups, want.Groups) {
		t.Errorf("%d groups, want the %d of the user", len(got.Groups), len(want.Groups))
	}
	if !slices.Contains(got.Groups, entrasim.GroupCaseWorkers) {
		t.Error("the mapped group is missing")
	}
	if n := tn.sim.Stats().GraphCalls; n != 3 {
		t.Errorf("%d Graph pages read, want 3 (250 groups, 100 a page)", n)
	}
}

func TestKeyRolloverIsFollowed(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	email := user(t, entrasim.UserCaseWorker).Email
	if _, err := tn.signIn(t, email); err != nil {
		t.Fatal(err)
	}
	if n := tn.sim.Stats().KeySetsServed; n != 1 {
		t.Fatalf("keys fetched %d times", n)
	}
	old := tn.sim.SigningKeyID()
	if kid := tn.sim.Rollover(); kid == old {
		t.Fatal("the rollover kept the kid")
	}
	// The token is signed by the new key, whose kid the client has not seen: it fetches the keys again.
	if _, err := tn.signIn(t, email); err != nil {
		t.Fatalf("after the rollover: %v", err)
	}
	if n := tn.sim.Stats().KeySetsServed; n != 2 {
		t.Errorf("keys fetched %d times, want 2", n)
	}
	// And keeps them: no fetch for the next sign-in.
	if _, err := tn.signIn(t, email); err != nil {
		t.Fatal(err)
	}
	if n := tn.sim.Stats().KeySetsServed; n != 2 {
		t.Errorf("keys fetched %d times, want still 2", n)
	}
}

func TestCachedKeysVerifyWhileTheKeySetIsDown(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	email := user(t, entrasim.UserSecurityController).Email
	if _, err := tn.signIn(t, email); err != nil {
		t.Fatal(err)
	}
	tn.sim.SetFaults(entrasim.Faults{KeysDown: true})
	got, err := tn.signIn(t, email)
	if err != nil {
		t.Fatalf("with the keys cached: %v", err)
	}
	if !slices.Contains(got.Groups, entrasim.GroupSecurityControllers) {
		t.Errorf("groups %v", got.Groups)
	}
	if n := tn.sim.Stats().KeySetsServed; n != 1 {
		t.Errorf("keys fetched %d times", n)
	}
}

func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var r *domain.SignInRefused
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want a refusal %q", err, reason)
	}
	if r.Reason != reason {
		t.Errorf("reason %q, want %q", r.Reason, reason)
	}
	if errors.Is(err, domain.ErrDirectoryUnavailable) {
		t.Error("a refusal is not the directory being unavailable")
	}
}

func TestSpoiledIDTokensAreRefused(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	email := user(t, entrasim.UserVettingOfficer).Email
	for spoil, reason := range map[string]string{
		entrasim.SpoilWrongIssuer:   entra.ReasonIssuer,
		entrasim.SpoilWrongAudience: entra.ReasonAudience,
		entrasim.SpoilWrongNonce:    entra.ReasonNonce,
		entrasim.SpoilExpired:       entra.ReasonExpired,
		entrasim.SpoilAlgNone:       entra.ReasonUnsigned,
		entrasim.SpoilUnknownKey:    entra.ReasonSignature,
		entrasim.SpoilWrongTenant:   entra.ReasonTenant,
	} {
		t.Run(spoil, func(t *testing.T) {
			tn.sim.SetFaults(entrasim.Faults{NextIDToken: spoil})
			_, err := tn.signIn(t, email)
			wantRefused(t, err, reason)
			if f := tn.sim.Faults(); f.NextIDToken != "" {
				t.Errorf("the fault did not take: %+v", f)
			}
		})
	}
	// And the next sign-in is good again.
	if _, err := tn.signIn(t, email); err != nil {
		t.Fatal(err)
	}
}

func TestCodesAndVerifiersAreChecked(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	email := user(t, entrasim.UserAuditor).Email
	ctx := context.Background()

	code, verifier, nonce := tn.authorize(t, email)
	if _, err := tn.client.Exchange(ctx, code, verifier, nonce); err != nil {
		t.Fatal(err)
	}
	_, err := tn.client.Exchange(ctx, code, verifier, nonce)
	t.Run("reused code", func(t *testing.T) { wantRefused(t, err, entra.ReasonCodeRejected) })

	code, _, nonce = tn.authorize(t, email)
	_, err = tn.client.Exchange(ctx, code, oauth2.GenerateVerifier(), nonce)
	t.Run("wrong verifier", func(t *testing.T) { wantRefused(t, err, entra.ReasonCodeRejected) })

	_, err = tn.client.Exchange(ctx, "not-a-code", oauth2.GenerateVerifier(), nonce)
	t.Run("unknown code", func(t *testing.T) { wantRefused(t, err, entra.ReasonCodeRejected) })

	code, verifier, _ = tn.authorize(t, email)
	_, err = tn.client.Exchange(ctx, code, verifier, "another sign-in's nonce")
	t.Run("another nonce", func(t *testing.T) { wantRefused(t, err, entra.ReasonNonce) })

	code, verifier, _ = tn.authorize(t, email)
	_, err = tn.client.Exchange(ctx, code, verifier, "")
	t.Run("no nonce", func(t *testing.T) { wantRefused(t, err, entra.ReasonNonce) })
}

func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrDirectoryUnavailable) {
		t.Fatalf("got %v, want ErrDirectoryUnavailable", err)
	}
	var r *domain.SignInRefused
	if errors.As(err, &r) {
		t.Errorf("unavailable is not a refusal: %v", err)
	}
}

func TestAnAuthorityOrGraphThatCannotBeAskedIsUnavailable(t *testing.T) {
	t.Run("token endpoint down", func(t *testing.T) {
		tn := newTenant(t, entrasim.Options{})
		code, verifier, nonce := tn.authorize(t, user(t, entrasim.UserCaseWorker).Email)
		tn.sim.SetFaults(entrasim.Faults{TokenDown: true})
		_, err := tn.client.Exchange(context.Background(), code, verifier, nonce)
		wantUnavailable(t, err)
	})
	t.Run("keys down", func(t *testing.T) {
		tn := newTenant(t, entrasim.Options{})
		code, verifier, nonce := tn.authorize(t, user(t, entrasim.UserCaseWorker).Email)
		tn.sim.SetFaults(entrasim.Faults{KeysDown: true})
		_, err := tn.client.Exchange(context.Background(), code, verifier, nonce)
		wantUnavailable(t, err)
	})
	t.Run("Graph down", func(t *testing.T) {
		tn := newTenant(t, entrasim.Options{})
		tn.sim.SetFaults(entrasim.Faults{GraphDown: true})
		_, err := tn.signIn(t, user(t, entrasim.UserOverage).Email)
		wantUnavailable(t, err)
	})
	t.Run("discovery down", func(t *testing.T) {
		sim := entrasim.New(entrasim.Options{})
		sim.SetFaults(entrasim.Faults{KeysDown: true})
		srv := httptest.NewServer(sim.Handler())
		defer srv.Close()
		_, err := entra.New(context.Background(), config(srv.URL))
		wantUnavailable(t, err)
	})
	t.Run("authority unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL
		srv.Close()
		_, err := entra.New(context.Background(), config(base))
		wantUnavailable(t, err)
	})
	t.Run("authority too slow", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // answers only when the client gives up
		}))
		defer srv.Close()
		cfg := config(srv.URL)
		cfg.HTTPClient = &http.Client{Timeout: 50 * time.Millisecond}
		_, err := entra.New(context.Background(), cfg)
		wantUnavailable(t, err)
	})
}

func TestMisconfigurationIsNeitherRefusedNorUnavailable(t *testing.T) {
	tn := newTenant(t, entrasim.Options{})
	t.Run("wrong client secret", func(t *testing.T) {
		cfg := config(tn.srv.URL)
		cfg.ClientSecret = "not-the-secret"
		c, err := entra.New(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		code, verifier, nonce := tn.authorize(t, user(t, entrasim.UserCaseWorker).Email)
		_, err = c.Exchange(context.Background(), code, verifier, nonce)
		var r *domain.SignInRefused
		if err == nil || errors.As(err, &r) || errors.Is(err, domain.ErrDirectoryUnavailable) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		cfg := config(tn.srv.URL)
		cfg.TenantID = "11111111-2222-3333-4444-555555555555"
		_, err := entra.New(context.Background(), cfg)
		if err == nil || errors.Is(err, domain.ErrDirectoryUnavailable) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("missing setting", func(t *testing.T) {
		cfg := config(tn.srv.URL)
		cfg.RedirectURL = ""
		if _, err := entra.New(context.Background(), cfg); err == nil {
			t.Error("no error")
		}
	})
}
