package signicat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/signetassure/signetassure/identity"
)

// The Client is SignetAssure's identity provider: the methods here are identity.Provider's, in its
// provider-neutral types, over the Assure calls of client.go (DeleteDossier, StartVerification,
// DownloadResult and DeleteProcess serve both).
var (
	_ identity.Provider       = (*Client)(nil)
	_ identity.CallbackParser = (*Client)(nil)
)

// ProviderName is the Client's identity.Provider name.
const ProviderName = "signicat"

// Name is "signicat".
func (c *Client) Name() string { return ProviderName }

// NewDossier creates an empty dossier and returns its id.
func (c *Client) NewDossier(ctx context.Context) (string, error) {
	d, err := c.CreateDossier(ctx)
	return d.DossierID, err
}

// DossierProcesses lists a dossier's processes.
func (c *Client) DossierProcesses(ctx context.Context, dossierID string) ([]identity.Process, error) {
	d, err := c.GetDossier(ctx, dossierID)
	if err != nil {
		return nil, err
	}
	out := make([]identity.Process, len(d.Processes))
	for i, p := range d.Processes {
		out[i] = p.neutral()
	}
	return out, nil
}

// StartCaptureFlow starts the hosted capture flow of Config.Capture in a dossier.
func (c *Client) StartCaptureFlow(ctx context.Context, dossierID string, r identity.CaptureRequest) (identity.CaptureFlow, error) {
	capture, err := c.StartCapture(ctx, dossierID, StartCapture{Providers: []CaptureProvider{c.capture},
		RedirectURL: r.RedirectURL, NotificationURL: r.Notify.URL, AuthorizationHeader: r.Notify.Authorization})
	return identity.CaptureFlow{URL: capture.URL, ProcessID: capture.ProcessID}, err
}

// AttendedDocumentTypes are Config.Attended's document types (cached: see DocumentTypes).
func (c *Client) AttendedDocumentTypes(ctx context.Context) ([]identity.DocumentType, error) {
	types, err := c.DocumentTypes(ctx, c.attended)
	if err != nil {
		return nil, err
	}
	out := make([]identity.DocumentType, len(types))
	for i, t := range types {
		out[i] = identity.DocumentType{Type: t.DocumentType, Name: t.Name, TwoSided: t.TwoSided, Countries: t.Countries}
	}
	return out, nil
}

// NewAttendedProcess creates a process of Config.Attended for uploaded images of a document type.
func (c *Client) NewAttendedProcess(ctx context.Context, dossierID string, r identity.AttendedRequest) (string, error) {
	p, err := c.CreateProcess(ctx, dossierID, CreateProcess{Provider: c.attended, DocumentType: r.DocumentType,
		NotificationURL: r.Notify.URL, AuthorizationHeader: r.Notify.Authorization})
	return p.ProcessID, err
}

// UploadImages sets a process's images.
func (c *Client) UploadImages(ctx context.Context, dossierID, processID string, im identity.Images) error {
	return c.SetImages(ctx, dossierID, processID, Images{Front: im.Front, Back: im.Back, Selfie: im.Selfie})
}

// ReadProcess returns a process with its status and result.
func (c *Client) ReadProcess(ctx context.Context, dossierID, processID string) (identity.Process, error) {
	p, err := c.GetProcess(ctx, dossierID, processID)
	if err != nil {
		return identity.Process{}, err
	}
	return p.neutral(), nil
}

// ParseCallback reads Assure's notification: {dossierId, processId, status}, nothing else.
func (c *Client) ParseCallback(body []byte) (identity.Callback, error) {
	var n Notification
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return identity.Callback{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return identity.Callback{}, errors.New("signicat: a notification is a single JSON object")
	}
	return identity.Callback{DossierID: n.DossierID, ProcessID: n.ProcessID, Status: string(n.Status)}, nil
}

// neutral is p in identity's terms: its status (pending for any Assure does not name as processing or
// final) and, when there is one, its final result, whose document type is the process's when the result
// names none.
func (p Process) neutral() identity.Process {
	out := identity.Process{ID: p.ProcessID, Status: identity.StatusPending, CreatedAt: p.CreatedAt,
		FailReason: p.FailReason}
	if p.Status.Final() || p.Status == StatusProcessing {
		out.Status = identity.Status(p.Status)
	}
	if r := p.FinalResult; r != nil {
		out.Result = &identity.Result{FirstName: r.FirstName, LastName: r.LastName, DateOfBirth: r.DateOfBirth,
			DocumentType: r.DocumentType, DocumentExpiry: r.DateOfExpiry, IssuingCountry: r.IssuingCountry,
			Nationality: r.Nationality}
		if out.Result.DocumentType == "" {
			out.Result.DocumentType = p.DocumentType
		}
	}
	return out
}

// IdentityKind classifies e for identity.KindOf: a 404 is identity.NotFound, what Retryable accepts
// identity.Transient, anything else identity.Rejected.
func (e *Error) IdentityKind() identity.Kind {
	switch {
	case NotFound(e):
		return identity.NotFound
	case Retryable(e):
		return identity.Transient
	}
	return identity.Rejected
}
