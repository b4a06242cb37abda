package activities

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/identity"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// TypeIdentityRejected is the application error type for a request the identity provider refused (a 4xx):
// repeating it cannot help.
const TypeIdentityRejected = "IdentityProviderRejected"

// IdentitySettings configure identity verification. A nil Provider means no identity provider is
// configured: the vetting officer checks documents in person.
type IdentitySettings struct {
	// Provider is this process's one identity provider (for Signicat Assure, one client sharing one token
	// source among all activities).
	Provider identity.Provider
	// CallbackURL is the notification URL of a case's checks, without the case reference; RedirectURL
	// is where the subject lands after the capture flow.
	CallbackURL string
	RedirectURL string
	Plan        IdentityPlan
	// Evidence seals an accepted check's result archive before it is kept (and the provider's copy
	// deleted).
	Evidence *partners.Keyring
}

// IdentityPlan is how a case's identity check runs: which provider (empty: none configured), how long the
// subject has to complete it and when they are reminded (before that deadline), and how often the
// provider is polled when no callback comes (first interval, doubling up to PollMax).
type IdentityPlan struct {
	Provider     string
	LinkValidity time.Duration
	Reminders    []time.Duration
	PollFirst    time.Duration
	PollMax      time.Duration
}

// IdentityPlan says how identity checks run here; Provider is empty when none is configured.
func (a *Activities) IdentityPlan(ctx context.Context) (IdentityPlan, error) {
	if a.Identity.Provider == nil {
		return IdentityPlan{}, nil
	}
	p := a.Identity.Plan
	p.Provider = a.Identity.Provider.Name()
	return p, nil
}

// IdentityRef names one attempt of a case's identity check at the provider.
type IdentityRef struct {
	CaseRef   string
	PersonID  uuid.UUID
	Attempt   int
	DossierID string
	ProcessID string
	// StartedAt is when the attempt (or its current mode) began: a capture flow's process is the one the
	// dossier gained after it.
	StartedAt time.Time
}

// IdentityStarted is an attempt under way: its dossier, its process when known, and the link the subject
// follows (capture flow).
type IdentityStarted struct {
	DossierID  string
	ProcessID  string
	CaptureURL string
	StartedAt  time.Time
}

// StartIdentityCapture starts a capture flow for the subject of a case in their dossier (one per person,
// reused across cases) and records the attempt. A retry finds the attempt recorded and starts nothing.
// The Authorization header the provider's callbacks carry is a fresh secret; only its digest is kept.
func (a *Activities) StartIdentityCapture(ctx context.Context, ref IdentityRef) (IdentityStarted, error) {
	if got, err := a.Store.IdentityCheck(ctx, ref.CaseRef, ref.Attempt); err == nil {
		return IdentityStarted{DossierID: got.DossierID, ProcessID: got.ProcessID, CaptureURL: got.CaptureURL,
			StartedAt: got.StartedAt}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return IdentityStarted{}, err
	}
	started := time.Now().UTC()
	header, hash := callbackSecret()
	var capture identity.CaptureFlow
	dossier, err := a.withDossier(ctx, ref.PersonID, func(dossier string) (err error) {
		capture, err = a.Identity.Provider.StartCaptureFlow(ctx, dossier, identity.CaptureRequest{
			RedirectURL: a.Identity.RedirectURL,
			Notify:      identity.Notify{URL: a.Identity.CallbackURL + ref.CaseRef, Authorization: header}})
		return err
	})
	if err != nil {
		return IdentityStarted{}, err
	}
	// The capture flow's process may be named in its answer or listed in the dossier already; if not, the
	// callback or a later poll names it.
	process := capture.ProcessID
	if process == "" {
		if procs, err := a.Identity.Provider.DossierProcesses(ctx, dossier); err == nil {
			process = newestProcess(procs, started.Add(-time.Minute))
		}
	}
	if err := a.Store.StartIdentityAttempt(ctx, nil, store.IdentityAttempt{CaseRef: ref.CaseRef, Attempt: ref.Attempt,
		Provider: a.Identity.Provider.Name(), Mode: domain.IdentityModeCapture, DossierID: dossier, ProcessID: process,
		CaptureURL: capture.URL, SecretHash: hash}); err != nil {
		return IdentityStarted{}, nonRetryable(err)
	}
	return IdentityStarted{DossierID: dossier, ProcessID: process, CaptureURL: capture.URL, StartedAt: started}, nil
}

// AttendedInput hands a case worker's uploaded images to the provider for an attempt.
type AttendedInput struct {
	IdentityRef
	UploadID uuid.UUID
	Actor    uuid.UUID
}

// StartAttendedCheck turns an attempt into a staff-attended check: a process for the uploaded document
// type (the attempt's own while it is still pending), the images set, verification started, and the
// images dropped from our database. The uploaded images never pass through the workflow.
func (a *Activities) StartAttendedCheck(ctx context.Context, in AttendedInput) (IdentityStarted, error) {
	up, err := a.Store.IdentityUploadByID(ctx, in.UploadID)
	if errors.Is(err, store.ErrNotFound) {
		// Handed over by an earlier attempt of this activity.
		got, err := a.Store.IdentityCheck(ctx, in.CaseRef, in.Attempt)
		if err != nil {
			return IdentityStarted{}, nonRetryable(err)
		}
		return IdentityStarted{DossierID: got.DossierID, ProcessID: got.ProcessID, StartedAt: got.UpdatedAt}, nil
	}
	if err != nil {
		return IdentityStarted{}, err
	}
	if up.CaseRef != in.CaseRef {
		return IdentityStarted{}, temporal.NewNonRetryableApplicationError("the upload belongs to another case", TypeInvalidInput, nil)
	}
	started := time.Now().UTC()
	provider := a.Identity.Provider
	process := ""
	if got, err := a.Store.IdentityCheck(ctx, in.CaseRef, in.Attempt); err == nil && got.Mode == domain.IdentityModeAttended &&
		got.Status == domain.IdentityPending && got.ProcessID != "" {
		process = got.ProcessID // images set again replace the earlier ones
	}
	dossier := in.DossierID
	if process == "" {
		header, hash := callbackSecret()
		dossier, err = a.withDossier(ctx, in.PersonID, func(dossier string) (err error) {
			process, err = provider.NewAttendedProcess(ctx, dossier, identity.AttendedRequest{DocumentType: up.DocumentType,
				Notify: identity.Notify{URL: a.Identity.CallbackURL + in.CaseRef, Authorization: header}})
			return err
		})
		if err != nil {
			return IdentityStarted{}, err
		}
		actor := in.Actor
		if err := a.Store.StartIdentityAttempt(ctx, &actor, store.IdentityAttempt{CaseRef: in.CaseRef, Attempt: in.Attempt,
			Provider: provider.Name(), Mode: domain.IdentityModeAttended, DossierID: dossier, ProcessID: process,
			SecretHash: hash}); err != nil {
			return IdentityStarted{}, nonRetryable(err)
		}
	}
	if err := provider.UploadImages(ctx, dossier, process, identity.Images{Front: up.Front, Back: up.Back, Selfie: up.Selfie}); err != nil {
		return IdentityStarted{}, providerError("set images", err)
	}
	if err := provider.StartVerification(ctx, dossier, process); err != nil {
		return IdentityStarted{}, providerError("start verification", err)
	}
	if err := a.Store.SetIdentityProgress(ctx, in.CaseRef, in.Attempt, process, domain.IdentityProcessing); err != nil {
		return IdentityStarted{}, err
	}
	return IdentityStarted{DossierID: dossier, ProcessID: process, StartedAt: started}, a.Store.DropIdentityUpload(ctx, up.ID)
}

// IdentityPoll is what the provider says of an attempt's process.
type IdentityPoll struct {
	ProcessID string
	Status    domain.IdentityStatus
}

// IdentityProgress reads an attempt's process at the provider (finding it in the dossier when the
// capture flow has not named it yet) and records its status. A process the provider no longer has is
// canceled.
func (a *Activities) IdentityProgress(ctx context.Context, ref IdentityRef) (IdentityPoll, error) {
	provider := a.Identity.Provider
	if ref.ProcessID == "" {
		procs, err := provider.DossierProcesses(ctx, ref.DossierID)
		if err != nil {
			return IdentityPoll{}, providerError("get dossier", err)
		}
		if ref.ProcessID = newestProcess(procs, ref.StartedAt.Add(-time.Minute)); ref.ProcessID == "" {
			return IdentityPoll{Status: domain.IdentityPending}, nil
		}
	}
	p, err := provider.ReadProcess(ctx, ref.DossierID, ref.ProcessID)
	status := domain.IdentityStatus(p.Status)
	switch {
	case identity.KindOf(err) == identity.NotFound:
		status = domain.IdentityCanceled
	case err != nil:
		return IdentityPoll{}, providerError("get process", err)
	case !p.Status.Final() && p.Status != identity.StatusProcessing:
		status = domain.IdentityPending
	}
	if !status.Final() {
		if err := a.Store.SetIdentityProgress(ctx, ref.CaseRef, ref.Attempt, ref.ProcessID, status); err != nil {
			return IdentityPoll{}, err
		}
	}
	return IdentityPoll{ProcessID: ref.ProcessID, Status: status}, nil
}

// FinishInput ends an attempt: Status is expired when the subject did not complete it in time, canceled
// when its case no longer needs it; when empty, the final status is read from the provider.
type FinishInput struct {
	IdentityRef
	Status domain.IdentityStatus
}

// IdentityOutcome is an attempt's result as the case records it. It holds no personal values: names and
// dates of birth stay in the system of record.
type IdentityOutcome struct {
	Attempt        int
	Mode           string
	Status         domain.IdentityStatus
	Mismatches     []string `json:",omitempty"`
	DocumentType   string   `json:",omitempty"`
	DocumentExpiry string   `json:",omitempty"`
	IssuingCountry string   `json:",omitempty"`
	FailReason     string   `json:",omitempty"`
	EvidenceSHA256 string   `json:",omitempty"`
	// ProviderDataDeleted is set once the provider deleted what it held of the attempt.
	ProviderDataDeleted bool `json:",omitempty"`
}

// FinishIdentity records an attempt's outcome: the provider's final result, normalised and compared to
// the person record, and for an accepted one the SHA-256 of the provider's result archive as evidence.
// A repeat returns what was recorded.
func (a *Activities) FinishIdentity(ctx context.Context, in FinishInput) (IdentityOutcome, error) {
	f := store.IdentityFinish{Status: in.Status}
	if in.Status == "" && in.ProcessID == "" {
		f.Status, f.FailReason = domain.IdentityCanceled, "no process was started"
	}
	if f.Status == "" {
		p, err := a.Identity.Provider.ReadProcess(ctx, in.DossierID, in.ProcessID)
		switch {
		case identity.KindOf(err) == identity.NotFound:
			f.Status, f.FailReason = domain.IdentityCanceled, "the provider no longer holds the process"
		case err != nil:
			return IdentityOutcome{}, providerError("get process", err)
		case !p.Status.Final():
			return IdentityOutcome{}, temporal.NewNonRetryableApplicationError("process "+string(p.Status)+" is not final",
				TypeInvalidInput, nil)
		default:
			f.Status, f.FailReason = domain.IdentityStatus(p.Status), providerText(p.FailReason)
			if p.Result != nil {
				person, err := a.Store.Person(ctx, in.PersonID)
				if err != nil {
					return IdentityOutcome{}, nonRetryable(err)
				}
				r := normalise(*p.Result)
				f.Result = &r
				f.Mismatches = domain.CompareIdentity(person, r, domain.DateOf(time.Now()))
			}
		}
	}
	check, err := a.Store.FinishIdentityCheck(ctx, in.CaseRef, in.Attempt, f)
	if err != nil {
		return IdentityOutcome{}, nonRetryable(err)
	}
	if check.Status == domain.IdentityAccepted {
		sum, err := a.keepEvidence(ctx, in.IdentityRef)
		if err != nil {
			return IdentityOutcome{}, err
		}
		check.EvidenceSHA256 = sum
	}
	return outcomeOf(check), nil
}

// maxEvidenceBytes bounds a result archive kept as evidence.
const maxEvidenceBytes = 64 << 20

// keepEvidence keeps an accepted attempt's result archive, once: downloaded from the provider, sealed
// with the evidence key, and stored with its SHA-256 (which it returns). It must succeed before the
// provider's copy is deleted: any failure is an error, and the activity is retried.
func (a *Activities) keepEvidence(ctx context.Context, ref IdentityRef) (string, error) {
	kept, err := a.Store.HasIdentityEvidence(ctx, ref.CaseRef, ref.Attempt)
	if err != nil || kept {
		if err == nil {
			var c domain.IdentityCheck
			c, err = a.Store.IdentityCheck(ctx, ref.CaseRef, ref.Attempt)
			return c.EvidenceSHA256, err
		}
		return "", err
	}
	var buf bytes.Buffer
	n, err := a.Identity.Provider.DownloadResult(ctx, ref.DossierID, ref.ProcessID, &cappedWriter{w: &buf, left: maxEvidenceBytes})
	if err != nil {
		return "", providerError("download result", err)
	}
	sum := sha256.Sum256(buf.Bytes())
	keyID, sealed, err := a.Identity.Evidence.Seal(buf.Bytes(), store.IdentityEvidenceAAD(ref.CaseRef, ref.Attempt))
	clear(buf.Bytes())
	if err != nil {
		// Retried (the provider's copy is kept meanwhile) until someone configures EVIDENCE_KEY.
		return "", fmt.Errorf("identity evidence not sealed: %w", err)
	}
	ev := store.IdentityEvidence{CaseRef: ref.CaseRef, Attempt: ref.Attempt, KeyID: keyID, Sealed: sealed,
		SHA256: hex.EncodeToString(sum[:]), Bytes: n}
	return a.Store.KeepIdentityEvidence(ctx, ev)
}

// cappedWriter writes at most left bytes to w and fails beyond.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, fmt.Errorf("the result archive is larger than %d MiB", maxEvidenceBytes>>20)
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

func outcomeOf(c domain.IdentityCheck) IdentityOutcome {
	o := IdentityOutcome{Attempt: c.Attempt, Mode: c.Mode, Status: c.Status, Mismatches: c.Mismatches,
		FailReason: c.FailReason, EvidenceSHA256: c.EvidenceSHA256, ProviderDataDeleted: c.ProcessDeletedAt != nil}
	if r := c.Result; r != nil {
		o.DocumentType, o.IssuingCountry = r.DocumentType, r.IssuingCountry
		if r.DocumentExpiry != nil {
			o.DocumentExpiry = r.DocumentExpiry.String()
		}
	}
	return o
}

// DeleteInput names what to delete at the provider: the attempt's process and, with Dossier, the
// person's dossier.
type DeleteInput struct {
	IdentityRef
	Dossier bool
}

// DeleteIdentityData deletes an attempt's process (and the dossier, when asked and no other check of the
// person runs in it) at the provider and records the deletion. What the provider no longer holds counts
// as deleted.
func (a *Activities) DeleteIdentityData(ctx context.Context, in DeleteInput) error {
	provider := a.Identity.Provider
	if in.Dossier {
		inUse, err := a.Store.DossierInUse(ctx, in.DossierID, in.CaseRef, in.Attempt)
		if err != nil {
			return err
		}
		in.Dossier = !inUse
	}
	if in.ProcessID != "" {
		if err := provider.DeleteProcess(ctx, in.DossierID, in.ProcessID); err != nil {
			return providerError("delete process", err)
		}
	}
	if in.Dossier {
		if err := provider.DeleteDossier(ctx, in.DossierID); err != nil {
			return providerError("delete dossier", err)
		}
	}
	return nonRetryable(a.Store.IdentityDataDeleted(ctx, in.CaseRef, in.Attempt, in.Dossier))
}

// withDossier runs call in the person's live dossier, creating one when they have none. A dossier the
// provider no longer has (it deletes data after a while whatever we do) is marked deleted and a new one
// made.
func (a *Activities) withDossier(ctx context.Context, person uuid.UUID, call func(dossier string) error) (string, error) {
	for try := 0; ; try++ {
		dossier, err := a.Store.LiveDossier(ctx, person, a.Identity.Provider.Name())
		if errors.Is(err, store.ErrNotFound) {
			dossier, err = a.newDossier(ctx, person)
		}
		if err != nil {
			return "", err
		}
		err = call(dossier)
		if identity.KindOf(err) == identity.NotFound && try == 0 {
			activity.GetLogger(ctx).Warn("identity: the provider no longer has the dossier; making a new one")
			if err := a.Store.ForgetDossier(ctx, dossier); err != nil {
				return "", err
			}
			continue
		}
		return dossier, providerError("start", err)
	}
}

func (a *Activities) newDossier(ctx context.Context, person uuid.UUID) (string, error) {
	dossier, err := a.Identity.Provider.NewDossier(ctx)
	if err != nil {
		return "", providerError("create dossier", err)
	}
	live, kept, err := a.Store.AddDossier(ctx, person, a.Identity.Provider.Name(), dossier)
	if err != nil {
		return "", err
	}
	if !kept { // another check made one first: ours goes
		if err := a.Identity.Provider.DeleteDossier(ctx, dossier); err != nil {
			activity.GetLogger(ctx).Warn("identity: a spare dossier was not deleted", "error", err)
		}
	}
	return live, nil
}

// newestProcess is the latest of a dossier's processes created after since; "" when none.
func newestProcess(procs []identity.Process, since time.Time) string {
	id, at := "", since
	for _, p := range procs {
		if !p.CreatedAt.Before(at) {
			id, at = p.ID, p.CreatedAt
		}
	}
	return id
}

// providerText makes a string from the provider storable and comparable (domain.SanitizeText): what no
// name or code may hold (NUL, control, bidirectional and invisible characters) is dropped, never refused,
// so an odd answer is recorded, not retried.
func providerText(s string) string { return domain.SanitizeText(s, domain.TextLine, 0) }

// normalise turns the provider's result into ours: text cleaned, dates parsed, countries upper case.
func normalise(r identity.Result) domain.IdentityResult {
	out := domain.IdentityResult{FirstName: providerText(r.FirstName), LastName: providerText(r.LastName),
		DocumentType: providerText(r.DocumentType), IssuingCountry: strings.ToUpper(providerText(r.IssuingCountry)),
		Nationality: strings.ToUpper(providerText(r.Nationality))}
	if d, err := domain.ParseDate(providerText(r.DateOfBirth)); err == nil {
		out.DateOfBirth = &d
	}
	if d, err := domain.ParseDate(providerText(r.DocumentExpiry)); err == nil {
		out.DocumentExpiry = &d
	}
	return out
}

// callbackSecret makes the Authorization header a check's callbacks carry, and its digest.
func callbackSecret() (string, []byte) {
	b := make([]byte, 32)
	_, _ = io.ReadFull(rand.Reader, b)
	header := "Bearer " + base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(header))
	return header, sum[:]
}

// providerError makes the provider's refusals (a 4xx: identity.Rejected, identity.NotFound)
// non-retryable; its outages and timeouts (identity.Transient) are retried.
func providerError(op string, err error) error {
	if err == nil || identity.KindOf(err) == identity.Transient {
		return err
	}
	return temporal.NewNonRetryableApplicationError(fmt.Sprintf("identity provider: %s: %v", op, err), TypeIdentityRejected, nil)
}
