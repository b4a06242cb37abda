package signicat_test

// The Client as an identity.Provider, against Signicat's documented JSON (testdata/vendor) and the fake.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/identity"
	"github.com/signetassure/signetassure/internal/contracttest"
	"github.com/signetassure/signetassure/signicat"
)

func TestProviderReadsProcessesNeutrally(t *testing.T) {
	v := newVendorAssure(t, map[string]vendorAnswer{
		"POST " + signicat.DossiersPath:                          {http.StatusCreated, "create_dossier_response.json"},
		"GET " + signicat.ProcessPath(docDossier, docProcess):    {http.StatusOK, "process_get_accepted.json"},
		"GET " + signicat.ProcessPath(docDossier, "pending-one"): {http.StatusOK, "process_get_pending.json"},
		"GET " + signicat.ProcessPath(docDossier, "gone"):        {http.StatusNotFound, "problem.json"},
	})
	var p identity.Provider = v.client(t)
	ctx := context.Background()
	if p.Name() != "signicat" {
		t.Errorf("name %q", p.Name())
	}
	d, err := p.NewDossier(ctx)
	if err != nil || d != docDossier {
		t.Fatalf("new dossier: %q, %v", d, err)
	}

	got, err := p.ReadProcess(ctx, docDossier, "pending-one")
	if err != nil || got.ID != docProcess || got.Status != identity.StatusPending || got.Result != nil {
		t.Errorf("pending process: %+v, %v", got, err)
	}
	got, err = p.ReadProcess(ctx, docDossier, docProcess)
	if err != nil {
		t.Fatal(err)
	}
	want := identity.Result{FirstName: "Maria Paula", LastName: "Santos Mendes", DateOfBirth: "2002-04-29",
		DocumentType: "passport", DocumentExpiry: "2030-07-08", IssuingCountry: "PRT", Nationality: "PRT"}
	if got.Status != identity.StatusAccepted || got.Result == nil || *got.Result != want ||
		!got.CreatedAt.Equal(time.Date(2019, 9, 19, 22, 10, 56, 0, time.UTC)) {
		t.Errorf("accepted process: %+v (result %+v)", got, got.Result)
	}

	_, err = p.ReadProcess(ctx, docDossier, "gone")
	if identity.KindOf(err) != identity.NotFound {
		t.Errorf("404: kind %q of %v", identity.KindOf(err), err)
	}
}

// A status Assure does not document is read as pending, never as final; a result without a document type
// takes the process's.
func TestProviderProcessMapping(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, signicat.Dossier{DossierID: "d1", Processes: []signicat.Process{
			{ProcessID: "p1", Status: "created"},
			{ProcessID: "p2", Status: signicat.StatusProcessing},
			{ProcessID: "p3", Status: signicat.StatusFailed, FailReason: "blurred", DocumentType: "identity_card",
				FinalResult: &signicat.FinalResult{FirstName: "Ada"}},
		}})
	})
	procs, err := f.client(t, nil).DossierProcesses(context.Background(), "d1")
	if err != nil {
		t.Fatal(err)
	}
	if len(procs) != 3 || procs[0].Status != identity.StatusPending || procs[1].Status != identity.StatusProcessing ||
		procs[2].Status != identity.StatusFailed || procs[2].FailReason != "blurred" || procs[2].Result == nil ||
		procs[2].Result.DocumentType != "identity_card" || procs[2].Result.FirstName != "Ada" {
		t.Fatalf("got %+v", procs)
	}
}

// StartCaptureFlow and NewAttendedProcess send the configured providers: the documented requests.
func TestProviderSendsConfiguredProviders(t *testing.T) {
	processes := "POST " + signicat.ProcessesPath(docDossier)
	capture := "POST " + signicat.CapturePath(docDossier)
	v := newVendorAssure(t, map[string]vendorAnswer{
		processes: {http.StatusCreated, "process_get_pending.json"},
		capture:   {http.StatusOK, ""},
	})
	var p identity.Provider = v.client(t) // the defaults: onfido, documentSelfie
	ctx := context.Background()
	notify := identity.Notify{URL: "https://example.com/callback", Authorization: "Token xSUNmskaIUGh9hn5B7bKJbNOho"}

	id, err := p.NewAttendedProcess(ctx, docDossier, identity.AttendedRequest{DocumentType: "passport", Notify: notify})
	if err != nil || id != docProcess {
		t.Fatalf("attended process: %q, %v", id, err)
	}
	assertSameJSON(t, "create process", contracttest.Load(t, "create_process_request.json"), v.body(processes))

	// The capture answer's shape is not documented (see README): an empty answer is not read here.
	_, _ = p.StartCaptureFlow(ctx, docDossier, identity.CaptureRequest{RedirectURL: "https://example.com/done", Notify: notify})
	assertSameJSON(t, "start capture", contracttest.Load(t, "start_capture_request.json"), v.body(capture))
}

func TestProviderParsesCallback(t *testing.T) {
	var c identity.CallbackParser = &signicat.Client{}
	got, err := c.ParseCallback(contracttest.Load(t, "notification.json"))
	if err != nil || got != (identity.Callback{DossierID: docDossier, ProcessID: docProcess, Status: "accepted"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	for _, bad := range []string{``, `[]`, `{"processId": 1}`, `{"processId": "p", "extra": 1}`, `{} {}`, `{`} {
		if _, err := c.ParseCallback([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	var typ *json.UnmarshalTypeError
	if _, err := c.ParseCallback([]byte(`{"status": true}`)); !errors.As(err, &typ) || typ.Field != "status" {
		t.Errorf("a wrong type: %v", err)
	}
	if _, err := c.ParseCallback([]byte(`{"nope": "x"}`)); err == nil || !strings.HasPrefix(err.Error(), "json: unknown field ") {
		t.Errorf("an unknown field: %v", err)
	}
}

func TestProviderErrorKinds(t *testing.T) {
	f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/bad"):
			problem(w, http.StatusBadRequest, "Bad Request", "no")
		case strings.HasSuffix(r.URL.Path, "/missing"):
			problem(w, http.StatusNotFound, "Not Found", "no such process")
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	var p identity.Provider = f.client(t, nil)
	ctx := context.Background()
	for proc, want := range map[string]identity.Kind{"bad": identity.Rejected, "missing": identity.NotFound,
		"down": identity.Transient, "": identity.Rejected} {
		_, err := p.ReadProcess(ctx, "d1", proc)
		if k := identity.KindOf(err); k != want {
			t.Errorf("%q: kind %q, want %q (%v)", proc, k, want, err)
		}
		var e *signicat.Error
		if !errors.As(err, &e) {
			t.Errorf("%q: not a *signicat.Error: %v", proc, err)
		}
	}
}
