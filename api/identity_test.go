package api_test

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/signicat"
	"github.com/signetassure/signetassure/sim/signicatsim"
)

// withIdentity points the worker's identity checks (through the real client) and the API at a fresh
// Signicat simulator, which calls back at the env's public address. Polls start at 300 ms.
func withIdentity(sim **signicatsim.Sim) envOption {
	return func(e *env) {
		s := signicatsim.New(signicatsim.Options{DecisionDelay: 20 * time.Millisecond, CallbackDelay: 20 * time.Millisecond,
			LateCallbackDelay: 1500 * time.Millisecond})
		ts := httptest.NewServer(s.Handler())
		e.t.Cleanup(func() { ts.Close(); s.Close() })
		client, err := signicat.New(signicat.Config{BaseURL: ts.URL, ClientID: signicatsim.DefaultClientID,
			ClientSecret: signicatsim.DefaultClientSecret, AuthStyle: signicat.AuthPost,
			Capture: signicat.CaptureProvider{Provider: "onfido", ProcessType: "documentSelfie"}, Attended: "onfido"})
		if err != nil {
			e.t.Fatal(err)
		}
		public := e.publicURL()
		e.identity = activities.IdentitySettings{Provider: client,
			CallbackURL: public + api.IdentityCallbackPath, RedirectURL: public + api.IdentityReturnPath,
			Plan:     activities.IdentityPlan{LinkValidity: time.Hour, PollFirst: 300 * time.Millisecond, PollMax: time.Second},
			Evidence: testenv.Keyring()}
		e.identityHooks = api.IdentityHooks{Provider: client, Evidence: testenv.Keyring()}
		*sim = s
	}
}

// identityCase opens a case for Ada Lovelace (born 1985-12-10) and waits until its identity check has
// its capture link.
func (e *env) identityCase() (ref string, check map[string]any) {
	e.t.Helper()
	person := e.createPerson("Ada", "Lovelace", "1985-12-10")
	ref = e.openCase(person, "new", "SC")
	c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
	require.Equal(e.t, "identity_check", c["status"], "the case waits for its identity check")
	var checks []any
	e.eventually(10*time.Second, func() bool {
		checks = e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)
		return len(checks) == 1 && checks[0].(map[string]any)["captureUrl"] != ""
	}, func() string { return "no identity check recorded" })
	return ref, checks[0].(map[string]any)
}

// documentExpiry is when the documents the tests show expire: years ahead of the clock, so they never
// expire under a test.
var documentExpiry = domain.DateOf(time.Now().UTC()).AddYears(5).String()

// capture is the subject going through the simulator's capture page: the identity on their document and
// the outcome they pick. It returns where the page sends them back to.
func capture(t *testing.T, captureURL, status, dob string) *url.URL {
	t.Helper()
	return captureAs(t, captureURL, status, dob, "ADA AUGUSTA", "Lovelace")
}

// captureAs is capture with the names on the document.
func captureAs(t *testing.T, captureURL, status, dob, firstName, lastName string) *url.URL {
	t.Helper()
	form := url.Values{"firstName": {firstName}, "lastName": {lastName}, "dateOfBirth": {dob},
		"documentType": {"passport"}, "documentNumber": {"123456789"}, "dateOfExpiry": {documentExpiry},
		"issuingCountry": {"gbr"}, "nationality": {"GBR"}, "status": {status}}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.PostForm(captureURL, form)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	back, err := url.Parse(res.Header.Get("Location"))
	require.NoError(t, err)
	return back
}

func identityResult(t *testing.T, c map[string]any) map[string]any {
	t.Helper()
	for _, ev := range c["timeline"].([]any) {
		if m := ev.(map[string]any); m["kind"] == "identity_result" {
			return m
		}
	}
	t.Fatalf("no identity result on the timeline")
	return nil
}

func TestIdentityCheckAcceptedThroughCallback(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	ref, check := e.identityCase()
	assert.Equal(t, "capture", check["mode"])
	assert.Equal(t, "pending", check["status"])

	back := capture(t, check["captureUrl"].(string), "accepted", "1985-12-10")
	assert.Equal(t, api.IdentityReturnPath, back.Path, "the subject comes back to SignetAssure")
	assert.Equal(t, "processing", back.Query().Get("status"))
	page, err := http.Get(e.url + api.IdentityReturnPath + "?" + back.RawQuery)
	require.NoError(t, err)
	page.Body.Close()
	assert.Equal(t, http.StatusOK, page.StatusCode)

	c := e.waitStatus(ref, "with_officer")
	result := identityResult(t, c)
	detail := result["detail"].(map[string]any)
	assert.Equal(t, "accepted", detail["status"])
	assert.Empty(t, detail["mismatches"], "the document's names and date of birth match the person")
	assert.Len(t, detail["evidenceSha256"], 64)
	assert.Equal(t, true, detail["providerDataDeleted"])

	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)[0].(map[string]any)
	assert.Equal(t, "accepted", got["status"])
	r := got["result"].(map[string]any)
	assert.Equal(t, "1985-12-10", r["dateOfBirth"])
	assert.Equal(t, "GBR", r["issuingCountry"], "countries normalised to upper case")
	assert.Equal(t, documentExpiry, r["documentExpiry"])
	assert.Equal(t, detail["evidenceSha256"], got["evidenceSha256"])
	assert.NotNil(t, got["dossierDeletedAt"])
	assert.NotNil(t, got["processDeletedAt"])

	st := sim.Stats()
	assert.Equal(t, 1, st.DossiersDeleted, "data minimisation: the dossier is gone at Signicat")
	assert.Equal(t, 1, st.Downloads, "the result archive was read once, for its digest")
	assert.Equal(t, 1, st.CallbacksSent)
	assert.Empty(t, sim.State().Dossiers)
	assert.Equal(t, 1, st.TokensPost, "one token for every call of the check")
	assert.Equal(t, 1, testenv.Count(t, e.database, `SELECT count(*) FROM identity_callbacks`))
	assert.Equal(t, 1, testenv.Count(t, e.database,
		`SELECT count(*) FROM audit_log WHERE action = 'identity.provider_data.deleted'`))
	e.recordAll("identity_accepted")
}

func TestIdentityCheckCallbackDroppedPollingCompletes(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	sim.SetFaults(signicatsim.Faults{Callbacks: signicatsim.CallbacksDrop})
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "rejected", "1985-12-10")
	c := e.waitStatus(ref, "with_officer")
	assert.Equal(t, "rejected", identityResult(t, c)["detail"].(map[string]any)["status"])
	st := sim.Stats()
	assert.Equal(t, 0, st.CallbacksSent)
	assert.Equal(t, 1, st.CallbacksDropped)
	assert.Equal(t, 0, st.DossiersDeleted, "a rejected check keeps the dossier for a retry")
	assert.Equal(t, 1, st.ProcessesDeleted, "its process is deleted")

	// The officer retries: a new process in the same dossier, and the case waits for it again.
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/identity-check/retry", nil)
	var second map[string]any
	e.eventually(10*time.Second, func() bool {
		items := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)
		second = items[0].(map[string]any)
		return len(items) == 2 && second["captureUrl"] != ""
	}, func() string { return "no second attempt" })
	assert.EqualValues(t, 2, second["attempt"])
	assert.Equal(t, 1, sim.Stats().DossiersCreated, "the person's dossier is reused")
	e.recordAll("identity_polled")
}

func TestIdentityCheckDuplicateCallbacks(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	sim.SetFaults(signicatsim.Faults{Callbacks: signicatsim.CallbacksDuplicate})
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "inconclusive", "1985-12-10")
	e.waitStatus(ref, "with_officer")
	e.eventually(5*time.Second, func() bool { return sim.Stats().CallbacksSent == 2 },
		func() string { return "the duplicate was not answered" })
	c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
	n := 0
	for _, k := range timelineKinds(c) {
		if k == "identity_result" {
			n++
		}
	}
	assert.Equal(t, 1, n, "one outcome for two callbacks")
	assert.Equal(t, 1, testenv.Count(t, e.database, `SELECT count(*) FROM identity_callbacks`))
}

func TestIdentityCallbackForgedAuthorization(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	ref, check := e.identityCase()
	body := `{"dossierId":"d","processId":"` + check["processId"].(string) + `","status":"accepted"}`
	for _, h := range []map[string]string{nil, {"Authorization": "Bearer forged"}, {"Authorization": ""}} {
		r := e.callWith("", "POST", api.IdentityCallbackPath+ref, body, h)
		assert.Equal(t, http.StatusForbidden, r.status, "%v: %s", h, r.body)
		assert.Contains(t, r.header.Get("Content-Type"), "application/problem+json")
	}
	r := e.callWith("", "POST", api.IdentityCallbackPath+"v_unknowncase00000000000", body, map[string]string{"Authorization": "Bearer x"})
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, 0, testenv.Count(t, e.database, `SELECT count(*) FROM identity_callbacks`))
	time.Sleep(700 * time.Millisecond) // past a poll: the check still waits for the subject
	c := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
	assert.Equal(t, "identity_check", c["status"])
	assert.Equal(t, "pending", e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)[0].(map[string]any)["status"])
	assert.NotContains(t, e.logs.String(), "Bearer forged")
}

func TestIdentityCheckDateOfBirthMismatchFlagged(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "accepted", "1985-12-01")
	c := e.waitStatus(ref, "with_officer")
	result := identityResult(t, c)
	assert.Equal(t, []any{"dateOfBirth"}, result["detail"].(map[string]any)["mismatches"])
	assert.Contains(t, result["summary"], "date of birth")
	// The flag is written just after the case moves to the officer.
	flagged := func() int {
		return testenv.Count(t, e.database, `SELECT count(*) FROM staff_notifications WHERE kind = 'identity_result' AND case_ref = $1`, ref)
	}
	e.eventually(5*time.Second, func() bool { return flagged() > 0 }, func() string { return "the mismatch is not flagged to staff" })
	assert.Equal(t, 1, flagged(), "the mismatch is flagged to staff once")
	e.recordAll("identity_mismatch")
}

// pngDataURL is a small image with a PNG signature.
func pngDataURL() string {
	b := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{1}, 64)...)
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b)
}

func TestIdentityCheckStaffAttendedImages(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	ref, _ := e.identityCase()
	path := "/api/v1/cases/" + ref + "/identity-check/images"
	jpegNamedPNG := "data:image/jpeg;base64," + strings.TrimPrefix(pngDataURL(), "data:image/png;base64,")
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"front": pngDataURL(), "selfie": pngDataURL()}, "documentType"},
		{map[string]any{"documentType": "passport", "front": "data:image/gif;base64,R0lGOD", "selfie": pngDataURL()}, "front"},
		{map[string]any{"documentType": "passport", "front": pngDataURL(), "selfie": "data:image/png;base64,@@@"}, "selfie"},
		{map[string]any{"documentType": "passport", "front": jpegNamedPNG, "selfie": pngDataURL()}, "front"},
		{map[string]any{"documentType": "passport", "front": pngDataURL()}, "selfie"},
		{map[string]any{"documentType": "driving_license", "front": pngDataURL(), "selfie": pngDataURL()}, "back"},
		{map[string]any{"documentType": "scroll", "front": pngDataURL(), "selfie": pngDataURL()}, "documentType"},
	} {
		r := e.call(domain.RoleCaseWorker, "POST", path, tc.body)
		require.Equal(t, http.StatusBadRequest, r.status, "%v: %s", tc.body["documentType"], r.body)
		assert.Contains(t, string(r.body), `"`+tc.field+`"`, "the error names %s", tc.field)
	}
	assert.Equal(t, 0, testenv.Count(t, e.database, `SELECT count(*) FROM identity_uploads`), "bad input stores nothing")

	r := e.call(domain.RoleCaseWorker, "POST", path, map[string]any{"documentType": "driving_license",
		"front": pngDataURL(), "back": pngDataURL(), "selfie": pngDataURL()})
	require.Equal(t, http.StatusAccepted, r.status, "%s", r.body)
	got := r.json(t)
	assert.Equal(t, "attended", got["mode"])
	assert.Equal(t, "processing", got["status"])
	assert.Equal(t, 0, testenv.Count(t, e.database, `SELECT count(*) FROM identity_uploads`),
		"the images are dropped once the provider has them")
	require.NoError(t, sim.Decide(got["processId"].(string), signicatsim.StatusAccepted, signicatsim.FinalResult{
		FirstName: "Ada", LastName: "LOVELACE", DateOfBirth: "1985-12-10", DocumentType: "driving_license",
		DateOfExpiry: documentExpiry, IssuingCountry: "GBR"}))
	c := e.waitStatus(ref, "with_officer")
	detail := identityResult(t, c)["detail"].(map[string]any)
	assert.Equal(t, "accepted", detail["status"])
	assert.Equal(t, "attended", detail["mode"])
	assert.Empty(t, detail["mismatches"])
	again := e.call(domain.RoleCaseWorker, "POST", path, map[string]any{"documentType": "passport",
		"front": pngDataURL(), "selfie": pngDataURL()})
	assert.Equal(t, http.StatusConflict, again.status, "no check runs any more: %s", again.body)
	e.recordAll("identity_staff_attended")
}

// Names the provider returns with a NUL and a bidirectional override are cleaned before they are compared
// and stored: the check completes at once, accepted, with no mismatch, and nothing of it is retried.
func TestIdentityCheckProviderTextCleaned(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim))
	ref, check := e.identityCase()
	captureAs(t, check["captureUrl"].(string), "accepted", "1985-12-10", "ADA\x00 AUGUSTA", "Love\u202elace\x00")
	c := e.waitStatus(ref, "with_officer")
	result := identityResult(t, c)
	detail := result["detail"].(map[string]any)
	assert.Equal(t, "accepted", detail["status"], "summary %v", result["summary"])
	assert.Empty(t, detail["mismatches"], "the cleaned names match the person record")
	assert.NotContains(t, timelineKinds(c), "recording_failed")

	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref+"/identity-checks", nil)["items"].([]any)[0].(map[string]any)
	r := got["result"].(map[string]any)
	assert.Equal(t, "ADA AUGUSTA", r["firstName"])
	assert.Equal(t, "Lovelace", r["lastName"])
	assert.Equal(t, 1, testenv.Count(t, e.database, `SELECT count(*) FROM identity_checks
		WHERE first_name = 'ADA AUGUSTA' AND last_name = 'Lovelace' AND status = 'accepted'`), "stored clean")
}
