package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

func partnerSetup(t *testing.T) (*testsuite.TestActivityEnvironment, *store.Store) {
	t.Helper()
	st := testenv.Store(t)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: st, Partners: partners.Directory{Store: st, Keyring: testenv.Keyring(), AllowLoopback: true}})
	return env, st
}

// fakePartner is a partner's SignetAssure: it answers /whoami and /return with status (200 when 0) and
// records what it was sent.
type fakePartner struct {
	srv    *httptest.Server
	status int
	// echoSecret makes an error answer repeat the bearer presented, as a careless partner might.
	echoSecret bool

	mu    sync.Mutex
	calls []partnerCall
}

type partnerCall struct {
	Method, Path, Auth, ContentType string
	Body                            []byte
}

func newFakePartner(t *testing.T, status int) *fakePartner {
	t.Helper()
	p := &fakePartner{status: status}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *fakePartner) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	p.mu.Lock()
	p.calls = append(p.calls, partnerCall{Method: r.Method, Path: r.URL.Path, Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Body: body})
	status := p.status
	p.mu.Unlock()
	if status != 0 && status != http.StatusOK {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		title := http.StatusText(status)
		if p.echoSecret {
			title = "bad key " + strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		}
		_ = json.NewEncoder(w).Encode(partners.Problem{Title: title, Status: status,
			Detail: "presented " + r.Header.Get("Authorization")})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case partners.PathWhoAmI:
		_ = json.NewEncoder(w).Encode(partners.WhoAmI{PartnerOrg: "Us", KeyName: "signetassure", Scopes: []string{partners.ScopeReturn}})
	case partners.PathReturn:
		var req partners.ReturnRequest
		_ = json.Unmarshal(body, &req)
		_ = json.NewEncoder(w).Encode(partners.ReturnAnswer{CaseRef: req.CaseRef, Outcome: req.Outcome, Status: "accepted"})
	default:
		http.NotFound(w, r)
	}
}

func (p *fakePartner) recorded() []partnerCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]partnerCall(nil), p.calls...)
}

// site adds a partner site at baseURL and, when secret is not empty, the credential it issued us.
func site(t *testing.T, st *store.Store, org, baseURL, secret string) domain.PartnerSite {
	t.Helper()
	ctx := context.Background()
	s, err := st.CreateSite(ctx, nil, domain.PartnerSite{OrgName: org, BaseURL: baseURL})
	require.NoError(t, err)
	if secret != "" {
		_, err = st.AddCredential(ctx, nil, domain.PartnerCredential{SiteID: s.ID, Name: "issued to us"},
			func(id uuid.UUID) (string, []byte, error) {
				return testenv.Keyring().Seal([]byte(secret), partners.CredentialAAD(s.ID.String(), id.String()))
			})
		require.NoError(t, err)
	}
	return s
}

func newSecret() string { return "sap_" + strings.ReplaceAll(uuid.NewString(), "-", "") }

func TestCheckPartnerHealth(t *testing.T) {
	env, st := partnerSetup(t)
	ctx := context.Background()
	okSecret, badSecret, revokedSecret := newSecret(), newSecret(), newSecret()

	healthy := newFakePartner(t, http.StatusOK)
	okSite := site(t, st, "Healthy Ltd", healthy.srv.URL, okSecret)
	refusing := newFakePartner(t, http.StatusUnauthorized)
	refusing.echoSecret = true
	badSite := site(t, st, "Refusing Ltd", refusing.srv.URL, badSecret)
	gone := newFakePartner(t, http.StatusOK)
	revokedSite := site(t, st, "Revoked Ltd", gone.srv.URL, revokedSecret)
	_, err := st.RevokeSite(ctx, nil, revokedSite.ID)
	require.NoError(t, err)
	noCred := newFakePartner(t, http.StatusOK)
	noCredSite := site(t, st, "Uncredentialed Ltd", noCred.srv.URL, "")

	v, err := env.ExecuteActivity(activities.A.CheckPartnerHealth)
	require.NoError(t, err)
	var n int
	require.NoError(t, v.Get(&n))
	assert.Equal(t, 1, n, "one site answered")

	calls := healthy.recorded()
	require.Len(t, calls, 1)
	assert.Equal(t, http.MethodGet, calls[0].Method)
	assert.Equal(t, partners.PathWhoAmI, calls[0].Path)
	assert.Equal(t, "Bearer "+okSecret, calls[0].Auth, "called with the bearer the site issued us")
	got, err := st.Site(ctx, okSite.ID)
	require.NoError(t, err)
	require.NotNil(t, got.HealthOK)
	assert.True(t, *got.HealthOK)
	assert.NotNil(t, got.HealthCheckedAt)
	assert.Empty(t, got.HealthError)

	require.Len(t, refusing.recorded(), 1)
	assert.Equal(t, "Bearer "+badSecret, refusing.recorded()[0].Auth)
	got, err = st.Site(ctx, badSite.ID)
	require.NoError(t, err)
	require.NotNil(t, got.HealthOK)
	assert.False(t, *got.HealthOK)
	assert.NotNil(t, got.HealthCheckedAt)
	assert.Contains(t, got.HealthError, "401")
	assert.NotContains(t, got.HealthError, badSecret, "the bearer secret is never written")

	assert.Empty(t, gone.recorded(), "a revoked site is not probed")
	got, err = st.Site(ctx, revokedSite.ID)
	require.NoError(t, err)
	assert.Nil(t, got.HealthOK, "nor its health recorded")
	assert.Nil(t, got.HealthCheckedAt)

	assert.Empty(t, noCred.recorded(), "no credential: no call")
	got, err = st.Site(ctx, noCredSite.ID)
	require.NoError(t, err)
	require.NotNil(t, got.HealthOK)
	assert.False(t, *got.HealthOK)
	assert.NotEmpty(t, got.HealthError)

	sites, err := st.Sites(ctx)
	require.NoError(t, err)
	for _, s := range sites {
		for _, secret := range []string{okSecret, badSecret, revokedSecret} {
			assert.NotContains(t, s.HealthError, secret, s.OrgName)
		}
	}
}

func returnInput(siteID uuid.UUID, outcome domain.Outcome) activities.PostPartnerReturnInput {
	in := activities.PostPartnerReturnInput{SiteID: siteID, CaseRef: domain.NewCaseRef(), TheirCaseRef: "NG-2026-0042", Outcome: outcome}
	if outcome.GrantsClearance() {
		in.Level, in.ValidFrom, in.ValidTo = domain.LevelSC, domain.NewDate(2026, 3, 4), domain.NewDate(2031, 3, 4)
	}
	return in
}

func outboundReturns(t *testing.T, st *store.Store, siteID uuid.UUID) []store.AuditRecord {
	t.Helper()
	trail, err := st.AuditTrail(context.Background(), "partner_site", siteID.String())
	require.NoError(t, err)
	var out []store.AuditRecord
	for _, a := range trail {
		if a.Action == "outbound."+partners.PathReturn {
			out = append(out, a)
		}
	}
	return out
}

func assertNoSecretInAudit(t *testing.T, st *store.Store, siteID uuid.UUID, secret string) {
	t.Helper()
	trail, err := st.AuditTrail(context.Background(), "partner_site", siteID.String())
	require.NoError(t, err)
	b, err := json.Marshal(trail)
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret, "no audit entry holds the bearer secret")
	assert.NotContains(t, string(b), secret[4:])
}

func TestPostPartnerReturnPostsTheContract(t *testing.T) {
	env, st := partnerSetup(t)
	secret := newSecret()
	p := newFakePartner(t, http.StatusOK)
	s := site(t, st, "Northgate Defence Ltd", p.srv.URL, secret)

	cleared := returnInput(s.ID, domain.OutcomeCleared)
	_, err := env.ExecuteActivity(activities.A.PostPartnerReturn, cleared)
	require.NoError(t, err)
	refused := returnInput(s.ID, domain.OutcomeRefused)
	_, err = env.ExecuteActivity(activities.A.PostPartnerReturn, refused)
	require.NoError(t, err)

	calls := p.recorded()
	require.Len(t, calls, 2)
	for _, c := range calls {
		assert.Equal(t, http.MethodPost, c.Method)
		assert.Equal(t, partners.PathReturn, c.Path)
		assert.Equal(t, "Bearer "+secret, c.Auth)
		assert.Equal(t, "application/json", c.ContentType)
	}
	assert.JSONEq(t, `{"caseRef":"NG-2026-0042","outcome":"cleared","clearanceLevel":"SC","validFrom":"2026-03-04",
		"validTo":"2031-03-04","partnerCaseId":"`+cleared.CaseRef+`"}`, string(calls[0].Body), "partnerCaseId is our case")
	assert.JSONEq(t, `{"caseRef":"NG-2026-0042","outcome":"refused","partnerCaseId":"`+refused.CaseRef+`"}`,
		string(calls[1].Body), "a refusal carries no level or dates")

	audits := outboundReturns(t, st, s.ID)
	require.Len(t, audits, 2, "each call is audited")
	for i, in := range []activities.PostPartnerReturnInput{cleared, refused} {
		d := audits[i].Detail
		assert.Equal(t, partners.PathReturn, d["endpoint"])
		assert.Equal(t, "Northgate Defence Ltd", d["partnerOrg"])
		assert.EqualValues(t, 200, d["status"])
		assert.Equal(t, "ok", d["outcome"])
		assert.Equal(t, in.CaseRef, d["subject"])
		assert.Nil(t, audits[i].ActorID, "the system called")
	}
	assertNoSecretInAudit(t, st, s.ID, secret)
}

func TestPostPartnerReturnErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
	}{
		{http.StatusConflict, false},
		{http.StatusNotFound, false},
		{http.StatusUnauthorized, false},
		{http.StatusServiceUnavailable, true},
		{http.StatusTooManyRequests, true},
	} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			env, st := partnerSetup(t)
			secret := newSecret()
			p := newFakePartner(t, tc.status)
			p.echoSecret = true
			s := site(t, st, "Northgate Defence Ltd", p.srv.URL, secret)
			in := returnInput(s.ID, domain.OutcomeCleared)

			_, err := env.ExecuteActivity(activities.A.PostPartnerReturn, in)
			require.Error(t, err)
			var appErr *temporal.ApplicationError
			require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T %v", err, err)
			if tc.retryable {
				assert.False(t, appErr.NonRetryable(), "%d is retried: %v", tc.status, err)
				assert.NotEqual(t, activities.TypePartnerRefused, appErr.Type())
			} else {
				assert.True(t, appErr.NonRetryable(), "%d is a refusal: %v", tc.status, err)
				assert.Equal(t, activities.TypePartnerRefused, appErr.Type())
			}
			assert.NotContains(t, err.Error(), secret, "the error never holds the bearer secret")
			require.Len(t, p.recorded(), 1)

			audits := outboundReturns(t, st, s.ID)
			require.Len(t, audits, 1, "a refused call is audited too")
			assert.EqualValues(t, tc.status, audits[0].Detail["status"])
			assert.Equal(t, "refused", audits[0].Detail["outcome"])
			assert.Equal(t, in.CaseRef, audits[0].Detail["subject"])
			assertNoSecretInAudit(t, st, s.ID, secret)
		})
	}
}

func TestPostPartnerReturnUnreachableIsRetried(t *testing.T) {
	env, st := partnerSetup(t)
	secret := newSecret()
	p := newFakePartner(t, http.StatusOK)
	s := site(t, st, "Northgate Defence Ltd", p.srv.URL, secret)
	p.srv.Close()

	_, err := env.ExecuteActivity(activities.A.PostPartnerReturn, returnInput(s.ID, domain.OutcomeCleared))
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(err, &appErr), "want an ApplicationError, got %T %v", err, err)
	assert.False(t, appErr.NonRetryable(), "a partner down is retried: %v", err)
	audits := outboundReturns(t, st, s.ID)
	require.Len(t, audits, 1)
	assert.Equal(t, "unreachable", audits[0].Detail["outcome"])
	assertNoSecretInAudit(t, st, s.ID, secret)
}

func TestPostPartnerReturnWithoutCredential(t *testing.T) {
	env, st := partnerSetup(t)
	p := newFakePartner(t, http.StatusOK)
	none := site(t, st, "Uncredentialed Ltd", p.srv.URL, "")
	revoked := site(t, st, "Revoked Ltd", p.srv.URL, newSecret())
	_, err := st.RevokeSite(context.Background(), nil, revoked.ID)
	require.NoError(t, err)

	for name, id := range map[string]uuid.UUID{"no credential": none.ID, "revoked site": revoked.ID, "unknown site": uuid.New()} {
		_, err := env.ExecuteActivity(activities.A.PostPartnerReturn, returnInput(id, domain.OutcomeCleared))
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "%s: want an ApplicationError, got %T %v", name, err, err)
		assert.True(t, appErr.NonRetryable(), "%s: retrying cannot help", name)
		assert.Equal(t, activities.TypePartnerRefused, appErr.Type(), name)
	}
	assert.Empty(t, p.recorded(), "nothing was called")
}
