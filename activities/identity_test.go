package activities_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/identity"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
)

// fakeIdentity is an identity.Provider that is not Signicat: dossiers and processes in memory, which a
// test changes as the provider would (a decision, its retention deleting data, an outage).
type fakeIdentity struct {
	mu       sync.Mutex
	next     int
	dossiers map[string][]*identity.Process // the live dossiers
	readErr  error                          // when set, ReadProcess fails with it
	archive  []byte                         // what DownloadResult writes
	deleted  []string                       // what was deleted, "dossier id" or "dossier id/process id"
}

var _ identity.Provider = (*fakeIdentity)(nil)

func newFakeIdentity() *fakeIdentity {
	return &fakeIdentity{dossiers: map[string][]*identity.Process{}, archive: []byte("PK\x03\x04 a result archive")}
}

func (f *fakeIdentity) Name() string { return "fake-eidv" }

func (f *fakeIdentity) NewDossier(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	id := fmt.Sprintf("dos-%d", f.next)
	f.dossiers[id] = nil
	return id, nil
}

func (f *fakeIdentity) DossierProcesses(_ context.Context, dossierID string) ([]identity.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	procs, ok := f.dossiers[dossierID]
	if !ok {
		return nil, &identity.Error{Kind: identity.NotFound, Op: "dossier processes"}
	}
	out := make([]identity.Process, len(procs))
	for i, p := range procs {
		out[i] = *p
	}
	return out, nil
}

func (f *fakeIdentity) DeleteDossier(_ context.Context, dossierID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.dossiers, dossierID)
	f.deleted = append(f.deleted, dossierID)
	return nil
}

// newProcess adds a pending process to a dossier; it does not say its id (the flow's answer names none).
func (f *fakeIdentity) newProcess(dossierID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.dossiers[dossierID]; !ok {
		return "", &identity.Error{Kind: identity.NotFound, Op: "new process"}
	}
	f.next++
	p := &identity.Process{ID: fmt.Sprintf("proc-%d", f.next), Status: identity.StatusPending, CreatedAt: time.Now()}
	f.dossiers[dossierID] = append(f.dossiers[dossierID], p)
	return p.ID, nil
}

func (f *fakeIdentity) StartCaptureFlow(_ context.Context, dossierID string, r identity.CaptureRequest) (identity.CaptureFlow, error) {
	if !strings.HasPrefix(r.Notify.Authorization, "Bearer ") || r.Notify.URL == "" {
		return identity.CaptureFlow{}, &identity.Error{Kind: identity.Rejected, Op: "capture", Err: errors.New("no callback")}
	}
	id, err := f.newProcess(dossierID)
	return identity.CaptureFlow{URL: "https://eidv.example/flow/" + id}, err
}

func (f *fakeIdentity) AttendedDocumentTypes(context.Context) ([]identity.DocumentType, error) {
	return []identity.DocumentType{{Type: "passport"}}, nil
}

func (f *fakeIdentity) NewAttendedProcess(_ context.Context, dossierID string, _ identity.AttendedRequest) (string, error) {
	return f.newProcess(dossierID)
}

func (f *fakeIdentity) UploadImages(context.Context, string, string, identity.Images) error {
	return nil
}

func (f *fakeIdentity) StartVerification(_ context.Context, dossierID, processID string) error {
	return f.set(dossierID, processID, func(p *identity.Process) { p.Status = identity.StatusProcessing })
}

func (f *fakeIdentity) ReadProcess(_ context.Context, dossierID, processID string) (identity.Process, error) {
	var out identity.Process
	err := f.set(dossierID, processID, func(p *identity.Process) { out = *p })
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return identity.Process{}, f.readErr
	}
	return out, err
}

func (f *fakeIdentity) DownloadResult(_ context.Context, _, _ string, w io.Writer) (int64, error) {
	n, err := w.Write(f.archive)
	return int64(n), err
}

func (f *fakeIdentity) DeleteProcess(_ context.Context, dossierID, processID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	procs := f.dossiers[dossierID]
	for i, p := range procs {
		if p.ID == processID {
			f.dossiers[dossierID] = append(procs[:i:i], procs[i+1:]...)
		}
	}
	f.deleted = append(f.deleted, dossierID+"/"+processID)
	return nil
}

// set applies edit to a process, or is a NotFound error when the provider does not hold it.
func (f *fakeIdentity) set(dossierID, processID string, edit func(*identity.Process)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.dossiers[dossierID] {
		if p.ID == processID {
			edit(p)
			return nil
		}
	}
	return &identity.Error{Kind: identity.NotFound, Op: "process " + processID}
}

// identitySetup runs the activities against provider, with a case of Ada Lovelace (born 1985-12-10) at
// its identity check.
func identitySetup(t *testing.T, provider identity.Provider) (*testsuite.TestActivityEnvironment, *store.Store, activities.IdentityRef) {
	t.Helper()
	st := testenv.Store(t)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Store: st, Identity: activities.IdentitySettings{Provider: provider,
		CallbackURL: "https://sa.example/api/v1/identity/callbacks/", RedirectURL: "https://sa.example/identity/done",
		Plan: activities.IdentityPlan{LinkValidity: time.Hour}, Evidence: testenv.Keyring()}})
	ctx := context.Background()
	person, err := st.CreatePerson(ctx, nil, domain.Person{FirstName: "Ada", LastName: "Lovelace",
		DateOfBirth: domain.NewDate(1985, 12, 10), Active: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.NewCaseRef()
	now := time.Now().UTC()
	if _, err := env.ExecuteActivity(activities.A.ApplyCaseEvent, activities.CaseEventInput{
		Case: domain.Case{CaseRef: ref, PersonID: person.ID, Type: domain.CaseNew, RequestedLevel: domain.LevelSC,
			Status: domain.StatusIdentityCheck, IssuingAuthority: "X", OpenedAt: now, DueAt: now, Version: 1, UpdatedAt: now},
		Event: domain.CaseEvent{CaseRef: ref, Seq: 1, At: now, Kind: "opened", Summary: "opened"},
	}); err != nil {
		t.Fatal(err)
	}
	return env, st, activities.IdentityRef{CaseRef: ref, PersonID: person.ID, Attempt: 1, StartedAt: now}
}

// run executes an activity and decodes its result into out (when not nil).
func run(t *testing.T, env *testsuite.TestActivityEnvironment, out any, fn any, args ...any) {
	t.Helper()
	v, err := env.ExecuteActivity(fn, args...)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := v.Get(out); err != nil {
			t.Fatal(err)
		}
	}
}

// The identity check's activities drive a provider that is not Signicat from start to deletion: the plan
// names it, the capture flow's process is found in the dossier, the result is normalised and compared,
// the archive kept as evidence, and the provider's data deleted.
func TestIdentityActivitiesDriveAnotherProvider(t *testing.T) {
	fake := newFakeIdentity()
	env, st, ref := identitySetup(t, fake)
	ctx := context.Background()

	var plan activities.IdentityPlan
	run(t, env, &plan, activities.A.IdentityPlan)
	if plan.Provider != "fake-eidv" {
		t.Fatalf("plan: %+v", plan)
	}

	var started activities.IdentityStarted
	run(t, env, &started, activities.A.StartIdentityCapture, ref)
	if started.DossierID != "dos-1" || started.ProcessID != "proc-2" || started.CaptureURL != "https://eidv.example/flow/proc-2" {
		t.Fatalf("started: %+v", started)
	}
	check, err := st.IdentityCheck(ctx, ref.CaseRef, 1)
	if err != nil || check.Provider != "fake-eidv" || check.Status != domain.IdentityPending {
		t.Fatalf("recorded: %+v, %v", check, err)
	}
	ref.DossierID, ref.ProcessID = started.DossierID, started.ProcessID

	expiry := domain.DateOf(time.Now()).AddYears(5)
	if err := fake.set("dos-1", "proc-2", func(p *identity.Process) {
		p.Status = identity.StatusAccepted
		p.Result = &identity.Result{FirstName: "ADA AUGUSTA", LastName: "Lovelace", DateOfBirth: "1985-12-10",
			DocumentType: "passport", DocumentExpiry: expiry.String(), IssuingCountry: "gbr", Nationality: "GBR\u200b"}
	}); err != nil {
		t.Fatal(err)
	}
	var poll activities.IdentityPoll
	run(t, env, &poll, activities.A.IdentityProgress, ref)
	if poll != (activities.IdentityPoll{ProcessID: "proc-2", Status: domain.IdentityAccepted}) {
		t.Fatalf("poll: %+v", poll)
	}

	var out activities.IdentityOutcome
	run(t, env, &out, activities.A.FinishIdentity, activities.FinishInput{IdentityRef: ref})
	sum := sha256.Sum256(fake.archive)
	if out.Status != domain.IdentityAccepted || len(out.Mismatches) != 0 || out.IssuingCountry != "GBR" ||
		out.DocumentType != "passport" || out.DocumentExpiry != expiry.String() || out.EvidenceSHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("outcome: %+v", out)
	}
	check, err = st.IdentityCheck(ctx, ref.CaseRef, 1)
	if err != nil || check.Result == nil || check.Result.Nationality != "GBR" || check.Result.DateOfBirth == nil ||
		*check.Result.DateOfBirth != domain.NewDate(1985, 12, 10) {
		t.Fatalf("recorded result: %+v, %v", check.Result, err)
	}

	run(t, env, nil, activities.A.DeleteIdentityData, activities.DeleteInput{IdentityRef: ref, Dossier: true})
	if len(fake.dossiers) != 0 || strings.Join(fake.deleted, " ") != "dos-1/proc-2 dos-1" {
		t.Fatalf("left %v, deleted %v", fake.dossiers, fake.deleted)
	}
	check, _ = st.IdentityCheck(ctx, ref.CaseRef, 1)
	if check.ProcessDeletedAt == nil || check.DossierDeletedAt == nil {
		t.Fatalf("deletion not recorded: %+v", check)
	}
}

// A process the provider no longer holds (its retention deleted it) is canceled, as documented on
// IdentityProgress and FinishIdentity, and never retried.
func TestIdentityProcessGoneAtProviderIsCanceled(t *testing.T) {
	fake := newFakeIdentity()
	env, _, ref := identitySetup(t, fake)
	var started activities.IdentityStarted
	run(t, env, &started, activities.A.StartIdentityCapture, ref)
	ref.DossierID, ref.ProcessID = started.DossierID, started.ProcessID
	if err := fake.DeleteProcess(context.Background(), ref.DossierID, ref.ProcessID); err != nil {
		t.Fatal(err)
	}

	var poll activities.IdentityPoll
	run(t, env, &poll, activities.A.IdentityProgress, ref)
	if poll.Status != domain.IdentityCanceled || poll.ProcessID != ref.ProcessID {
		t.Fatalf("poll: %+v", poll)
	}
	var out activities.IdentityOutcome
	run(t, env, &out, activities.A.FinishIdentity, activities.FinishInput{IdentityRef: ref})
	if out.Status != domain.IdentityCanceled || out.FailReason != "the provider no longer holds the process" ||
		out.EvidenceSHA256 != "" {
		t.Fatalf("outcome: %+v", out)
	}
}

// A dossier the provider no longer holds is forgotten and a new one made for the person's next check.
func TestIdentityDossierGoneAtProviderIsReplaced(t *testing.T) {
	fake := newFakeIdentity()
	env, st, ref := identitySetup(t, fake)
	var first activities.IdentityStarted
	run(t, env, &first, activities.A.StartIdentityCapture, ref)
	if err := fake.DeleteDossier(context.Background(), first.DossierID); err != nil { // the provider's retention
		t.Fatal(err)
	}

	ref.Attempt = 2
	var second activities.IdentityStarted
	run(t, env, &second, activities.A.StartIdentityCapture, ref)
	if second.DossierID == first.DossierID || second.DossierID == "" || second.ProcessID == "" {
		t.Fatalf("first %+v, second %+v", first, second)
	}
	live, err := st.LiveDossier(context.Background(), ref.PersonID, "fake-eidv")
	if err != nil || live != second.DossierID {
		t.Fatalf("live dossier %q (%v), want %q", live, err, second.DossierID)
	}
}

// The provider's refusals are not retried; its outages, and errors it does not classify, are.
func TestIdentityProviderFailuresClassified(t *testing.T) {
	fake := newFakeIdentity()
	env, _, ref := identitySetup(t, fake)
	var started activities.IdentityStarted
	run(t, env, &started, activities.A.StartIdentityCapture, ref)
	ref.DossierID, ref.ProcessID = started.DossierID, started.ProcessID

	for _, tc := range []struct {
		err      error
		nonRetry bool
	}{
		{&identity.Error{Kind: identity.Rejected, Op: "read process", Err: errors.New("401")}, true},
		{fmt.Errorf("wrapped: %w", &identity.Error{Kind: identity.Transient, Op: "read process"}), false},
		{errors.New("connection reset"), false},
	} {
		fake.mu.Lock()
		fake.readErr = tc.err
		fake.mu.Unlock()
		_, err := env.ExecuteActivity(activities.A.IdentityProgress, ref)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || appErr.NonRetryable() != tc.nonRetry {
			t.Errorf("%v: got %v, want non-retryable %v", tc.err, err, tc.nonRetry)
		}
		if tc.nonRetry && !strings.Contains(err.Error(), "identity provider: get process: read process: rejected: 401") {
			t.Errorf("%v: message %q", tc.err, err)
		}
	}
}
