package signicatsim

import (
	"slices"
	"time"
)

// The Assure contract as the simulator speaks it, written from Signicat's documentation
// (shared/reference/signicat-assure.md: [R] documented, [R3] seen in working third-party code, [I]
// inferred) and not from SignetAssure's client, so that a field the client names wrongly fails the
// client's tests instead of passing them on both sides.

// Paths and scope [R].
const (
	tokenPath    = "/auth/open/connect/token"
	dossiersPath = "/assure/dossiers"
	apiScope     = "signicat-api"
)

// Status is where a process stands: pending, processing, then one of the final five [R, R3].
type Status string

// The statuses of a process.
const (
	StatusPending      Status = "pending"
	StatusProcessing   Status = "processing"
	StatusAccepted     Status = "accepted"
	StatusRejected     Status = "rejected"
	StatusInconclusive Status = "inconclusive"
	StatusFailed       Status = "failed"   // [R, VideoID]
	StatusCanceled     Status = "canceled" // [R3]
)

// FinalStatuses are the five a process ends in.
var FinalStatuses = []Status{StatusAccepted, StatusRejected, StatusInconclusive, StatusFailed, StatusCanceled}

// Final says whether a process in this status has ended.
func (st Status) Final() bool { return slices.Contains(FinalStatuses, st) }

// stampNow is the time for a createdAt or updatedAt: in UTC to the second, so that time.Time writes it
// as Signicat documents timestamps, YYYY-MM-DDThh:mm:ssZ (Key concepts > Normalisation), and not with
// its nanoseconds.
func stampNow() time.Time { return stamp(time.Now()) }

// stamp is t in UTC to the second (the documented timestamp form once written as JSON).
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

// Dossier is what create dossier answers {dossierId, createdAt, updatedAt}; get dossier adds the
// processes [R].
type Dossier struct {
	DossierID string    `json:"dossierId"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	Processes []Process `json:"processes,omitempty"`
}

// Process is a verification as get process answers it [R / R3]; create process adds the token for the
// provider's SDK [R].
type Process struct {
	ProcessID          string         `json:"processId"`
	DossierID          string         `json:"dossierId,omitempty"`
	Provider           string         `json:"provider"`
	ProcessType        string         `json:"processType,omitempty"`
	DocumentType       string         `json:"documentType,omitempty"`
	Status             Status         `json:"status"`
	CreatedAt          time.Time      `json:"createdAt"`
	UpdatedAt          time.Time      `json:"updatedAt"`
	NotificationURL    string         `json:"notificationUrl,omitempty"`
	ProviderSpecific   map[string]any `json:"providerSpecific,omitempty"`
	FinalResult        *FinalResult   `json:"finalResult,omitempty"`
	FailReason         string         `json:"failReason,omitempty"`
	AuthorizationToken string         `json:"authorizationToken,omitempty"`
}

// FinalResult is the identity read from the document: dates YYYY-MM-DD, countries ISO 3166 alpha-3 [R].
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
	Gender                       string `json:"gender,omitempty"`
}

// DocumentType is one entry of GET /assure/{provider}/document-types [R3].
type DocumentType struct {
	DocumentType string   `json:"documentType"`
	Name         string   `json:"name,omitempty"`
	TwoSided     bool     `json:"twoSided"`
	Countries    []string `json:"countries,omitempty"`
}

// createProcessBody is what create process reads {provider, processType or documentType,
// notificationUrl?, authorizationHeader?} [R].
type createProcessBody struct {
	Provider            string `json:"provider"`
	ProcessType         string `json:"processType"`
	DocumentType        string `json:"documentType"`
	NotificationURL     string `json:"notificationUrl"`
	AuthorizationHeader string `json:"authorizationHeader"`
}

// captureProvider is one provider the capture flow offers [R].
type captureProvider struct {
	Provider    string `json:"provider"`
	ProcessType string `json:"processType"`
}

// startCaptureBody is what start capture flow reads [R].
type startCaptureBody struct {
	Providers           []captureProvider `json:"providers"`
	RedirectURL         string            `json:"redirectUrl"`
	NotificationURL     string            `json:"notificationUrl"`
	AuthorizationHeader string            `json:"authorizationHeader"`
}

// imagesBody is what set images reads: data URLs [R semantics].
type imagesBody struct {
	Front  string `json:"front"`
	Back   string `json:"back"`
	Selfie string `json:"selfie"`
}

// notification is what a notificationUrl is POSTed when a verification ends [R].
type notification struct {
	DossierID string `json:"dossierId"`
	ProcessID string `json:"processId"`
	Status    Status `json:"status"`
}
