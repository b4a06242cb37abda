// Package signicat talks to Signicat's Assure API (electronic identity-document verification, eIDV):
// OAuth2 client credentials, dossiers, processes, the hosted capture flow, images, results and deletion.
// The wire types here are the client's; the simulator (sim/signicatsim) has its own, so the two read the
// documented contract independently. Fields and paths marked [I] in ../shared/reference/signicat-assure.md
// are inferred, and kept in one place here.
package signicat

import "time"

// Paths of the Assure API, relative to its base URL (https://api.signicat.com).
const (
	TokenPath    = "/auth/open/connect/token"
	DossiersPath = "/assure/dossiers"
	// Scope is the one scope every Signicat API product uses.
	Scope = "signicat-api"
)

// Status is where a process stands. pending (created) -> processing -> one of the final five.
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
func (s Status) Final() bool {
	for _, f := range FinalStatuses {
		if s == f {
			return true
		}
	}
	return false
}

// Dossier holds one end-user's processes. GET returns its processes too.
type Dossier struct {
	DossierID string    `json:"dossierId"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Processes []Process `json:"processes,omitempty"`
}

// DocumentType is one identity document a provider verifies (GET /assure/{provider}/document-types).
type DocumentType struct {
	DocumentType string   `json:"documentType"`        // e.g. "passport", "driving_license", "identity_card"
	Name         string   `json:"name,omitempty"`      // human name
	TwoSided     bool     `json:"twoSided"`            // a back image is needed
	Countries    []string `json:"countries,omitempty"` // ISO 3166 alpha-3
}

// DocumentTypes is the answer of the document-types call.
type DocumentTypes struct {
	DocumentTypes []DocumentType `json:"documentTypes"`
}

// CreateProcess is the body of POST /assure/dossiers/{dossierId}/processes.
type CreateProcess struct {
	Provider     string `json:"provider"`
	ProcessType  string `json:"processType,omitempty"`
	DocumentType string `json:"documentType,omitempty"` // needed when images are uploaded through the API
	// NotificationURL is POSTed {dossierId, processId, status} when the verification ends, with
	// AuthorizationHeader as the Authorization header.
	NotificationURL     string `json:"notificationUrl,omitempty"`
	AuthorizationHeader string `json:"authorizationHeader,omitempty"`
}

// Process is one verification inside a dossier.
type Process struct {
	ProcessID        string         `json:"processId"`
	DossierID        string         `json:"dossierId,omitempty"`
	Provider         string         `json:"provider"`
	ProcessType      string         `json:"processType,omitempty"`
	DocumentType     string         `json:"documentType,omitempty"`
	Status           Status         `json:"status"`
	CreatedAt        time.Time      `json:"createdAt"`
	UpdatedAt        time.Time      `json:"updatedAt"`
	NotificationURL  string         `json:"notificationUrl,omitempty"`
	ProviderSpecific map[string]any `json:"providerSpecific,omitempty"`
	FinalResult      *FinalResult   `json:"finalResult,omitempty"`
	FailReason       string         `json:"failReason,omitempty"`
	// AuthorizationToken is for the provider's own SDK (create process only).
	AuthorizationToken string `json:"authorizationToken,omitempty"`
}

// FinalResult is the normalised identity a finished process read from the document. Dates YYYY-MM-DD,
// countries ISO 3166 alpha-3.
type FinalResult struct {
	FirstName                    string `json:"firstName,omitempty"`
	LastName                     string `json:"lastName,omitempty"`
	DateOfBirth                  string `json:"dateOfBirth,omitempty"`
	DocumentNumber               string `json:"documentNumber,omitempty"`
	DocumentType                 string `json:"documentType,omitempty"`
	PersonalIdentificationNumber string `json:"personalIdentificationNumber,omitempty"`
	DateOfExpiry                 string `json:"dateOfExpiry,omitempty"`
	IssuingCountry               string `json:"issuingCountry,omitempty"`
	Nationality                  string `json:"nationality,omitempty"`
}

// CaptureProvider names a provider and process type the capture flow offers.
type CaptureProvider struct {
	Provider    string `json:"provider"`
	ProcessType string `json:"processType,omitempty"`
}

// StartCapture is the body of POST /assure/dossiers/{dossierId}/capture. The person is sent to the URL of
// the answer and, when done, redirected to RedirectURL with dossierId, processId and status appended.
type StartCapture struct {
	Providers           []CaptureProvider `json:"providers"`
	RedirectURL         string            `json:"redirectUrl"`
	NotificationURL     string            `json:"notificationUrl,omitempty"`
	AuthorizationHeader string            `json:"authorizationHeader,omitempty"`
}

// Capture is the answer of start capture flow [I]: the URL to send the person to. The process it creates
// is named by the redirect, the callback, or the dossier's processes.
type Capture struct {
	ID  string `json:"id,omitempty"`
	URL string `json:"url"`
	// ProcessID is the process the capture flow created, when the answer names it [I] (the simulator does).
	ProcessID string `json:"processId,omitempty"`
}

// Images is the body of POST .../processes/{processId}/images: PNG or JPEG data URLs. A kind uploaded
// again replaces the earlier one; front and selfie are needed, back for two-sided documents.
type Images struct {
	Front  string `json:"front,omitempty"`
	Back   string `json:"back,omitempty"`
	Selfie string `json:"selfie,omitempty"`
}

// Notification is what Assure POSTs to a notificationUrl when a verification ends.
type Notification struct {
	DossierID string `json:"dossierId"`
	ProcessID string `json:"processId"`
	Status    Status `json:"status"`
}

// Problem is an Assure error answer (application/problem+json).
type Problem struct {
	Instance string `json:"instance,omitempty"`
	Method   string `json:"method,omitempty"`
	Status   int    `json:"status"`
	Type     string `json:"type,omitempty"` // e.g. "base:client-problem"
	Title    string `json:"title,omitempty"`
	Detail   string `json:"detail,omitempty"`
	TraceID  string `json:"traceId,omitempty"`
}

// TokenResponse is the token endpoint's answer.
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

// Path helpers: every process path hangs off its dossier.
func DossierPath(dossierID string) string   { return DossiersPath + "/" + dossierID }
func ProcessesPath(dossierID string) string { return DossierPath(dossierID) + "/processes" }
func ProcessPath(dossierID, processID string) string {
	return ProcessesPath(dossierID) + "/" + processID
}
func CapturePath(dossierID string) string { return DossierPath(dossierID) + "/capture" }
func ImagesPath(dossierID, processID string) string {
	return ProcessPath(dossierID, processID) + "/images"
}

// VerifyPath starts verification: POST on the process itself (seed 001).
func VerifyPath(dossierID, processID string) string { return ProcessPath(dossierID, processID) }
func DownloadPath(dossierID, processID string) string {
	return ProcessPath(dossierID, processID) + "/download"
}
func DocumentTypesPath(provider string) string { return "/assure/" + provider + "/document-types" }
