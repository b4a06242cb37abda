// Package identity is SignetAssure's side of its identity-document verification (eIDV) provider: the small
// interface the identity check's activities and the API drive a provider through, its types, and the
// classification of its errors. Package signicat implements it for Signicat Assure.
//
// Its vocabulary is Assure's, which fits any such provider: a dossier holds one person's checks at the
// provider, and a process is one check in it, either a hosted capture flow the subject goes through or a
// staff-attended check of images a case worker uploads. Ids are the provider's own, as strings. What a
// provider reads from a document is handed over as it gave it: the activities clean and parse it.
package identity

import (
	"context"
	"errors"
	"io"
	"slices"
	"time"
)

// Status is where a process stands: pending (created) -> processing -> one of the five final statuses.
type Status string

const (
	StatusPending      Status = "pending"
	StatusProcessing   Status = "processing"
	StatusAccepted     Status = "accepted"
	StatusRejected     Status = "rejected"
	StatusInconclusive Status = "inconclusive"
	StatusFailed       Status = "failed"
	StatusCanceled     Status = "canceled"
)

// FinalStatuses are the statuses a process ends in.
var FinalStatuses = []Status{StatusAccepted, StatusRejected, StatusInconclusive, StatusFailed, StatusCanceled}

// Final reports whether the process has ended.
func (s Status) Final() bool { return slices.Contains(FinalStatuses, s) }

// Process is one check as the provider holds it.
type Process struct {
	ID string
	// Status is one of the statuses above; a provider maps its own words onto them.
	Status    Status
	CreatedAt time.Time
	// Result is what the check read from the document, once it ended; nil when it read nothing.
	Result *Result
	// FailReason is the provider's reason a check failed, as it gave it.
	FailReason string
}

// Result is the identity a check read from a document, as the provider gave it. Dates are YYYY-MM-DD,
// countries ISO 3166 alpha-3.
type Result struct {
	FirstName      string
	LastName       string
	DateOfBirth    string
	DocumentType   string // the provider's name for it, as in DocumentType.Type
	DocumentExpiry string
	IssuingCountry string
	Nationality    string
}

// DocumentType is one identity document a staff-attended check verifies. The API lists these as they are.
type DocumentType struct {
	Type      string   `json:"documentType"`        // the provider's name, e.g. "passport", "driving_license"
	Name      string   `json:"name,omitempty"`      // human name
	TwoSided  bool     `json:"twoSided"`            // an image of the back is needed
	Countries []string `json:"countries,omitempty"` // ISO 3166 alpha-3
}

// Notify is where the provider calls back when a process ends, and the Authorization header its call
// carries (a secret of the check's own, so the API knows the call is the provider's).
type Notify struct {
	URL           string
	Authorization string
}

// CaptureRequest starts a hosted capture flow.
type CaptureRequest struct {
	// RedirectURL is where the subject lands when done (the provider may add the dossier, process and
	// status to its query; they are not trusted).
	RedirectURL string
	Notify      Notify
}

// CaptureFlow is a capture flow started.
type CaptureFlow struct {
	// URL is where the subject is sent.
	URL string
	// ProcessID is the process the flow created, when the provider says at once; "" when not (a callback,
	// or the dossier's processes, name it later).
	ProcessID string
}

// AttendedRequest creates the process of a staff-attended check.
type AttendedRequest struct {
	// DocumentType is the document the images show, one of AttendedDocumentTypes' Type.
	DocumentType string
	Notify       Notify
}

// Images are a staff-attended check's images as data URLs (PNG or JPEG): the front of the document and
// the person's face, and the back of a two-sided document.
type Images struct {
	Front  string
	Back   string
	Selfie string
}

// Callback is what a provider's call to a Notify URL says: a process changed. The API names a bad
// callback's fields by the JSON names.
type Callback struct {
	DossierID string `json:"dossierId"`
	ProcessID string `json:"processId"`
	// Status is the provider's word for where the process stands, as it gave it: the check reads the
	// process itself before it believes anything.
	Status string `json:"status"`
}

// Provider is an identity-document verification provider. Every failure is an error that KindOf classifies.
type Provider interface {
	// Name names the provider in the record of each check and in logs, e.g. "signicat".
	Name() string

	// NewDossier creates an empty dossier, one per person verified, and returns its id.
	NewDossier(ctx context.Context) (string, error)
	// DossierProcesses lists a dossier's processes.
	DossierProcesses(ctx context.Context, dossierID string) ([]Process, error)
	// DeleteDossier deletes a dossier and everything in it. A dossier already gone is not an error.
	DeleteDossier(ctx context.Context, dossierID string) error

	// StartCaptureFlow starts a hosted capture flow in a dossier: the subject captures their document and
	// face at the flow's URL.
	StartCaptureFlow(ctx context.Context, dossierID string, r CaptureRequest) (CaptureFlow, error)

	// AttendedDocumentTypes are the documents a staff-attended check verifies. The provider may cache them.
	AttendedDocumentTypes(ctx context.Context) ([]DocumentType, error)
	// NewAttendedProcess creates a staff-attended check's process in a dossier and returns its id.
	NewAttendedProcess(ctx context.Context, dossierID string, r AttendedRequest) (string, error)
	// UploadImages sets a process's images; an image sent again replaces the earlier one.
	UploadImages(ctx context.Context, dossierID, processID string, im Images) error
	// StartVerification asks the provider to verify a process's uploaded images.
	StartVerification(ctx context.Context, dossierID, processID string) error

	// ReadProcess returns a process as it stands: its status and, once it ended, its result.
	ReadProcess(ctx context.Context, dossierID, processID string) (Process, error)
	// DownloadResult writes a finished process's result archive (a zip, as the provider gives it) to w
	// and returns the bytes written. On an error part of it may have been written: a retry starts w afresh.
	DownloadResult(ctx context.Context, dossierID, processID string, w io.Writer) (int64, error)
	// DeleteProcess deletes a process. A process already gone is not an error.
	DeleteProcess(ctx context.Context, dossierID, processID string) error
}

// CallbackParser is implemented by providers that call back when a process ends: it reads one call's
// body. The API has checked its Authorization header first. Errors from decoding JSON wrap the
// encoding/json error, so the API can say what is wrong with the body.
type CallbackParser interface {
	ParseCallback(body []byte) (Callback, error)
}

// Kind classifies a provider's failure.
type Kind string

// Kinds of provider failures. Only Transient is worth retrying.
const (
	// NotFound: the dossier or process is not there (any more): deleted, by us or by the provider's own
	// retention.
	NotFound Kind = "not_found"
	// Rejected: the provider refused the request (credentials, permissions, invalid input), or it could
	// not be made: repeating it cannot help.
	Rejected Kind = "rejected"
	// Transient: the provider failed or did not answer (5xx, 429, timeouts, network failures).
	Transient Kind = "transient"
)

// Error is a provider's failure, classified. Providers return an *Error or an error of their own that
// says its Kind (with an IdentityKind() Kind method, as signicat's does).
type Error struct {
	Kind Kind
	Op   string // what was attempted, e.g. "read process"
	Err  error  // the underlying failure, when there is one
}

func (e *Error) Error() string {
	s := string(e.Kind)
	if e.Op != "" {
		s = e.Op + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether trying again later may succeed.
func (e *Error) Retryable() bool { return e.Kind == Transient }

// classified is a provider's own error type that says its Kind.
type classified interface {
	error
	IdentityKind() Kind
}

// KindOf is err's Kind: an *Error's, or what a provider's error says of itself; "" for nil, and Transient
// for any other error (it is retried, as messaging.KindOf does).
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var c classified
	if errors.As(err, &c) {
		return c.IdentityKind()
	}
	return Transient
}
