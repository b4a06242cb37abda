package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/metrics"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// env is a running SignetAssure: a fresh database, the shared Temporal dev server, a worker of the
// test's own and the API over HTTP, with one staff user per role.
type env struct {
	t testing.TB
	// metrics is the registry the API records its requests in (a new one at each start)
	metrics  *prometheus.Registry
	st       *store.Store
	tc       client.Client
	url      string
	tokens   map[domain.Role]string
	users    map[domain.Role]domain.StaffUser
	srv      *api.Server
	queue    string
	sla      domain.SLATable
	database string
	logs     *testenv.Buffer
	// lookupLimit overrides the partner lookup rate limit (zero: the contract's).
	lookupLimit int
	// acs is the access control system the API and the worker drive (nil: none), with its settings;
	// set by withACS.
	acs         access.Connector
	acsSettings activities.AccessSettings
	// messaging is the message providers the worker sends through, and hooks what the API verifies
	// their webhooks with; set by withProviders.
	messaging activities.MessagingSettings
	hooks     api.MessagingHooks
	// identity is the identity provider the worker and the API use; set by withIdentity.
	identity      activities.IdentitySettings
	identityHooks api.IdentityHooks
	// strictPartners refuses http and loopback partners, as in production (withoutLoopbackPartners).
	strictPartners bool
	// front stands for the public address outside services call back at; made by publicURL.
	front string
	// staff holds the staff API's rate limits and sign-in directories; set by withStaff.
	staff api.Deps
	// evidence keeps evidence packs, signed with auditKeys; set by withEvidence.
	evidence  activities.EvidenceSettings
	auditKeys audit.Keys
	// witnessFile is the witness file the worker's audit verifications hold the log to ("" none).
	witnessFile string
	// webhooks is how the worker delivers webhooks and the API sets their workflows up; testWebhooks by
	// default (short timeouts and backoff).
	webhooks   activities.WebhookSettings
	webhookAPI api.WebhookSettings
}

// testWebhooks are the webhook settings of tests: a delivery times out after 500 ms; retries after 50 ms,
// 100 ms, 200 ms (±20%); new events are looked for every 100 ms.
var testWebhooks = api.WebhookSettings{Timeout: 500 * time.Millisecond, SecretOverlap: time.Hour,
	Policy: workflows.WebhookPolicy{PollEvery: 100 * time.Millisecond, FirstRetry: 50 * time.Millisecond,
		MaxRetry: 200 * time.Millisecond, Jitter: 0.2, GiveUpAfter: time.Hour, AttemptTimeout: 10 * time.Second}}

// withStaff sets the staff API's rate limits (zero: the defaults) and sign-in directories.
func withStaff(staffRate, addressRate int, signIn api.SignIn) envOption {
	return func(e *env) { e.staff = api.Deps{StaffRate: staffRate, AddressRate: addressRate, SignIn: signIn} }
}

// publicURL is the address outside services call the API at: a front server that passes each request to
// the API once it runs (the worker, and so the callback addresses, are configured before it does).
func (e *env) publicURL() string {
	if e.front != "" {
		return e.front
	}
	var srv atomic.Pointer[api.Server]
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := srv.Load(); s != nil {
			s.Handler().ServeHTTP(w, r)
			return
		}
		if e.srv != nil {
			srv.Store(e.srv)
			e.srv.Handler().ServeHTTP(w, r)
			return
		}
		http.Error(w, "not started", http.StatusServiceUnavailable)
	}))
	e.t.Cleanup(front.Close)
	e.front = front.URL
	return e.front
}

// envOption adjusts an env before its worker and API start.
type envOption func(*env)

// withACS makes the API and the worker drive an access control system (see newAccessEnv).
func withACS(acs access.Connector, in store.Inactivity, concurrency int) envOption {
	return func(e *env) {
		e.acs = acs
		e.acsSettings = activities.AccessSettings{Connector: acs, Inactivity: in, Concurrency: concurrency}
	}
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	dbURL := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	tc := testenv.Temporal(t)
	e := &env{t: t, st: st, tc: tc, database: dbURL, webhookAPI: testWebhooks}
	for _, o := range opts {
		o(e)
	}
	e.webhooks = activities.WebhookSettings{Keyring: testenv.Keyring(), AllowLoopback: !e.strictPartners,
		Timeout: e.webhookAPI.Timeout}
	e.queue = testenv.WorkerWith(t, e.tc, &activities.Activities{Store: st, Access: e.acsSettings, Messaging: e.messaging,
		Identity: e.identity, AuditKeys: e.auditKeys, AuditVerify: audit.VerifyOptions{Keys: e.auditKeys.Verify, WitnessFile: e.witnessFile}, Evidence: e.evidence,
		Webhooks: e.webhooks})
	e.start(st, e.tc)
	e.tokens, e.users = map[domain.Role]string{}, map[domain.Role]domain.StaffUser{}
	for _, r := range domain.Roles {
		u, err := st.CreateUser(context.Background(), nil, domain.StaffUser{DisplayName: "Test " + string(r),
			Email: string(r) + "@test.invalid", Roles: []domain.Role{r}, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := st.IssueToken(context.Background(), nil, u.ID, "test", nil)
		if err != nil {
			t.Fatal(err)
		}
		e.tokens[r], e.users[r] = tok, u
	}
	return e
}

// start serves the API over the given store and Temporal client.
func (e *env) start(st *store.Store, tc client.Client) {
	e.t.Helper()
	sla, err := domain.ParseSLATable(domain.DefaultSLA, domain.DefaultSLAReminders)
	if err != nil {
		e.t.Fatal(err)
	}
	e.sla = sla
	e.logs = &testenv.Buffer{}
	e.metrics = prometheus.NewRegistry()
	requests, err := metrics.NewHTTP(e.metrics)
	if err != nil {
		e.t.Fatal(err)
	}
	srv, err := api.New(api.Deps{Metrics: requests, Store: st, Temporal: tc, TaskQueue: e.queue, SLA: sla,
		Keyring: testenv.Keyring(), Partners: partners.Directory{Store: st, Keyring: testenv.Keyring(), AllowLoopback: !e.strictPartners},
		AllowLoopbackPartners: !e.strictPartners,
		LookupLimit:           e.lookupLimit, ACS: e.acs, Inactivity: e.acsSettings.Inactivity, Messaging: e.hooks,
		Identity: e.identityHooks, StaffRate: e.staff.StaffRate, AddressRate: e.staff.AddressRate, SignIn: e.staff.SignIn,
		Evidence: e.evidence.Vault, Webhooks: e.webhookAPI,
		Log: config.Config{LogLevel: slog.LevelDebug}.LoggerTo(e.logs)})
	if err != nil {
		e.t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	e.t.Cleanup(ts.Close)
	// Before Close, which waits for every request: a page left open on a live stream would hold it.
	e.t.Cleanup(srv.EndStreams)
	e.srv, e.url = srv, ts.URL
}

// resp is an API answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object (%d): %s", r.status, r.body)
	}
	return m
}

// call sends a request as role ("" for none); body is marshalled unless it is a string or []byte.
func (e *env) call(role domain.Role, method, path string, body any) resp {
	e.t.Helper()
	return e.callWith(role, method, path, body, nil)
}

// callWith is call with extra request headers.
func (e *env) callWith(role domain.Role, method, path string, body any, headers map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("Authorization", "Bearer "+e.tokens[role])
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// must sends a request and fails the test unless the answer has the status wanted.
func (e *env) must(status int, role domain.Role, method, path string, body any) map[string]any {
	e.t.Helper()
	r := e.call(role, method, path, body)
	if r.status != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(e.t)
}

func (e *env) createPerson(first, last, dob string) string {
	e.t.Helper()
	p := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{
		"firstName": first, "lastName": last, "dateOfBirth": dob, "mobile": "07400 123456",
		"address": "1 Test Street", "niNumber": "AB123456C", "lineManager": "M. Manager"})
	return p["id"].(string)
}

func (e *env) openCase(personID, typ, level string) string {
	e.t.Helper()
	c := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/cases",
		map[string]any{"personId": personID, "type": typ, "level": level})
	return c["caseRef"].(string)
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	return testenv.Count(e.t, e.database, sql, args...)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// problemField checks r is problem+json and returns the first field it names.
func problemField(t *testing.T, r resp) string {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want application/problem+json: %s", ct, r.body)
	}
	p := r.json(t)
	errs, _ := p["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("problem names no field: %s", r.body)
	}
	return errs[0].(map[string]any)["field"].(string)
}

// recordHistory records a case workflow's event history for the replay test when SA_RECORD_HISTORY is set
// (testenv.RecordHistory: workflows/testdata/histories/VettingCase/<scenario>.<commit>.json, never
// overwritten):
//
//	SA_RECORD_HISTORY=1 go test ./api -run 'TestCaseClearedEndToEnd|TestCaseTransitionsRefused'
func (e *env) recordHistory(ref, scenario string) {
	e.t.Helper()
	e.recordWorkflowHistory(workflows.VettingCaseWorkflowID(ref), scenario)
}

// recordWorkflowHistory is recordHistory for any workflow.
func (e *env) recordWorkflowHistory(workflowID, scenario string) {
	e.t.Helper()
	testenv.RecordHistory(e.t, e.tc, workflowID, scenario)
}

// recordAll records every workflow the test ran on its task queue (up to three of each type), when
// SA_RECORD_HISTORY is set.
func (e *env) recordAll(scenario string) {
	e.t.Helper()
	testenv.RecordQueue(e.t, e.tc, e.queue, scenario, 3)
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
