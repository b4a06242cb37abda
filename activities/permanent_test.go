package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/store"
)

// Data PostgreSQL refuses (a NUL in text or in JSON, a broken constraint) is a non-retryable DataRejected
// error, whichever activity wrote it, and its message quotes nothing of the data.
func TestDataTheDatabaseRefusesIsNotRetried(t *testing.T) {
	url := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&activities.ErrorsInterceptor{}}})
	env.RegisterActivity(&activities.Activities{Store: st})
	person, err := st.CreatePerson(context.Background(), nil, domain.Person{FirstName: "A", LastName: "B",
		DateOfBirth: domain.NewDate(1980, 1, 1), Active: true})
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.NewCaseRef()
	now := time.Now().UTC()
	c := domain.Case{CaseRef: ref, PersonID: person.ID, Type: domain.CaseNew, RequestedLevel: domain.LevelSC,
		Status: domain.StatusOpened, IssuingAuthority: "X", OpenedAt: now, DueAt: now.Add(30 * 24 * time.Hour),
		Version: 1, UpdatedAt: now}
	for name, ev := range map[string]domain.CaseEvent{
		"NUL in JSON detail (22P05)":  {Kind: "note", Summary: "Note added", Detail: map[string]any{"text": "Mallory\x00Secret"}},
		"NUL in text (22021)":         {Kind: "note", Summary: "Mallory\x00Secret"},
		"malformed reference (23514)": {Kind: "note", Summary: "Note added"},
	} {
		t.Run(name, func(t *testing.T) {
			in := activities.CaseEventInput{Case: c, Event: ev}
			in.Event.CaseRef, in.Event.Seq, in.Event.At = ref, 1, now
			if strings.HasPrefix(name, "malformed") {
				in.Case.CaseRef, in.Event.CaseRef = "v_Mallory_Secret", "v_Mallory_Secret"
			}
			_, err := env.ExecuteActivity(activities.A.ApplyCaseEvent, in)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) {
				t.Fatalf("error %v (%T), want a DataRejected application error", err, err)
			}
			if appErr.Type() != activities.TypeDataRejected || !appErr.NonRetryable() {
				t.Errorf("error type %q non-retryable %v, want %q non-retryable", appErr.Type(), appErr.NonRetryable(),
					activities.TypeDataRejected)
			}
			if strings.Contains(err.Error(), "Mallory") || strings.Contains(err.Error(), "Secret") {
				t.Errorf("error %q quotes the data refused", err)
			}
		})
	}
	if n := testenv.Count(t, url, `SELECT count(*) FROM case_events WHERE case_ref = $1`, ref); n != 0 {
		t.Errorf("%d events written, want none", n)
	}
}

// A price Twilio states that the database cannot take is passed over: the other messages' costs are
// still read and recorded, and the activity does not fail on it run after run.
func TestMessageCostRefusedIsPassedOver(t *testing.T) {
	url := testenv.DatabaseURL(t)
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	prices := map[string]string{"SMbad": "n/a", "SMgood": "-0.04000"}
	twilio := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sid := strings.TrimSuffix(path.Base(r.URL.Path), ".json")
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": sid, "status": "delivered", "price": prices[sid],
			"price_unit": "gbp", "num_segments": "1"})
	}))
	t.Cleanup(twilio.Close)
	provider := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+447400000000",
		BaseURL: twilio.URL}, nil)
	now := time.Now().UTC()
	for i, sid := range []string{"SMbad", "SMgood"} {
		id := "m_cost" + sid
		if _, _, err := st.CreateMessage(context.Background(), domain.Message{ID: id, Channel: domain.ChannelSMS,
			Template: "broadcast", TemplateVersion: 1, Recipient: "+447400123456", Body: "Test", Status: domain.MessagePending,
			StatusAt: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.MessageAccepted(context.Background(), id, "twilio", messaging.Receipt{ProviderID: sid,
			Status: domain.MessageSent}, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{&activities.ErrorsInterceptor{}}})
	env.RegisterActivity(&activities.Activities{Store: st, Messaging: activities.MessagingSettings{
		Channels: map[domain.Channel]activities.Provider{domain.ChannelSMS: {Name: "twilio", Provider: provider}}}})
	v, err := env.ExecuteActivity(activities.A.FetchMessageCosts)
	if err != nil {
		t.Fatalf("costs with a price the database refuses: %v", err)
	}
	var n int
	if err := v.Get(&n); err != nil || n != 1 {
		t.Fatalf("priced %d (%v), want 1", n, err)
	}
	if got := testenv.Count(t, url, `SELECT count(*) FROM messages WHERE id = 'm_costSMgood' AND price = -0.04`); got != 1 {
		t.Fatal("the good price was not recorded")
	}
}
