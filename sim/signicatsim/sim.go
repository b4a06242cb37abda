// Package signicatsim is a local, in-memory Signicat Assure API (electronic identity-document
// verification): the OAuth2 token endpoint, dossiers, processes with their status machine, image upload,
// the hosted capture flow (a plain HTML page a person clicks through), callbacks, result zips and
// deletion, with fault switches to break it on purpose. People trying SignetAssure click through its
// pages; tests drive it. It speaks Signicat's documented contract with its own wire types (wire.go),
// not the client's.
//
// # The token endpoint
//
//	POST /auth/open/connect/token   form grant_type=client_credentials, scope=signicat-api (optional);
//	                                the client authenticates by HTTP Basic (client_secret_basic; the id
//	                                and secret may be form-urlencoded first, as RFC 6749 says) or by
//	                                client_id and client_secret in the form (client_secret_post)
//
// It answers {access_token, token_type, expires_in, scope}: a random opaque Bearer token valid for Options.TokenTTL. Wrong
// credentials answer 401 {"error":"invalid_client"}, another grant 400 {"error":"unsupported_grant_type"},
// a scope without signicat-api 400 {"error":"invalid_scope"}.
//
// # The Assure API (Bearer token on every call; errors are application/problem+json)
//
//	POST   /assure/dossiers                                    {} → 201 Dossier
//	GET    /assure/dossiers/{d}                                Dossier with its processes
//	DELETE /assure/dossiers/{d}                                204; its processes go too
//	GET    /assure/{provider}/document-types                   DocumentTypes (Options.DocumentTypes)
//	POST   /assure/dossiers/{d}/processes                      CreateProcess → 201 Process (pending, with
//	                                                           an authorizationToken for the provider SDK)
//	GET    /assure/dossiers/{d}/processes/{p}                  Process
//	DELETE /assure/dossiers/{d}/processes/{p}                  204
//	POST   /assure/dossiers/{d}/processes/{p}/images           Images (PNG or JPEG data URLs) → Process;
//	                                                           while pending; a kind sent again replaces it
//	GET    /assure/dossiers/{d}/processes/{p}/images/{kind}    the image (front, back or selfie)
//	POST   /assure/dossiers/{d}/processes/{p}  (or .../verify) start verification → Process (processing);
//	                                                           needs front and selfie, and back for a
//	                                                           two-sided document type
//	GET    /assure/dossiers/{d}/processes/{p}/download         a zip of result.json and the images; final
//	                                                           processes only (409 before)
//	POST   /assure/dossiers/{d}/capture                        StartCapture → 201 Capture{id, url,
//	                                                           processId}: a pending process, and the URL
//	                                                           of its capture page
//
// A process without a token, or with an unknown or expired one, answers 401 problem+json "Unauthorized".
// Problems are {"instance","method","status","type","title","detail","traceId"}: type base:client-problem
// for 4xx (404 unknown dossier or process, 400 a bad body naming the field, 409 an operation the
// process's status does not allow), base:server-problem for the injected 5xx.
//
// # What happens to a process
//
// pending → processing → accepted | rejected | inconclusive | failed | canceled. A processing process
// stays processing until someone picks its outcome: the person on the capture page, POST
// /sim/processes/{processId}/decide, the decide form on the state page, or Sim.Decide. Options.DecisionDelay
// later it becomes final; then, when it has a notificationUrl, the simulator POSTs
// notification {dossierId, processId, status} there after Options.CallbackDelay, with the
// process's authorizationHeader as the Authorization header, verbatim. A callback answered other than 2xx,
// or not at all, is tried again three times (after 0.1, 0.4 and 1.6 s). A time-ordered queue and a bounded
// pool of workers (Options.Workers) do the background work: no goroutine per process.
//
// # The capture flow
//
// GET /capture/{id} is a page that says it is a simulator, with the fields a document would give (name,
// date of birth, document type and number, expiry, issuing country, nationality) and a button for each
// outcome. Posting it moves the process to processing, schedules the outcome picked, and redirects (303)
// to the capture's redirectUrl with dossierId, processId and status=processing appended. A capture can be
// used once.
//
// # Faults (Faults; POST /sim/faults)
//
// LatencyMs delays every API call; Unauthorized401Once answers the next API call made with a valid token
// 401 and revokes that token (a client that fetches a new token and retries once succeeds); Always401
// answers every API call 401; FailNext answers the next so many API calls FailStatus (503 by default).
// Callbacks: "drop" never sends them, "duplicate" sends each twice, "late" sends them after
// Options.LateCallbackDelay instead of Options.CallbackDelay.
//
// # Control API (/sim, JSON, no authentication)
//
//	GET  /  or  /sim                     the state page: dossiers, processes, decide forms, faults, counts
//	GET  /sim/state                      State: {"dossiers","faults","stats"}
//	GET  /sim/stats                      Stats
//	GET  /sim/faults                     Faults
//	POST /sim/faults                     the Faults fields to change (JSON; the others keep their values),
//	                                     or the page's form (replaces all); PUT replaces all
//	POST /sim/reset                      no dossiers, processes or stats; no faults (tokens stay valid)
//	POST /sim/processes/{processId}/decide  {"status":"accepted","finalResult":{...},"failReason":"..."}
//	                                     (or the page's form): the outcome of a processing process
//	POST /sim/try                        creates a dossier and a capture returning to the state page, and
//	                                     redirects to the capture page (a person trying the simulator alone)
//
// Every control endpoint has a Go method (Sim.State, Sim.SetFaults, Sim.UpdateFaults, Sim.Reset,
// Sim.Decide).
package signicatsim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// Defaults of Options.
const (
	DefaultClientID      = "sandbox-sim-client"
	DefaultClientSecret  = "sim-client-secret"
	DefaultTokenTTL      = 600 * time.Second
	DefaultDecisionDelay = time.Second
	DefaultCallbackDelay = 200 * time.Millisecond
	DefaultLateDelay     = 10 * time.Second
	DefaultMaxImageBytes = 10 << 20
	defaultWorkers       = 16
)

// DefaultDocumentTypes are the document types the simulator knows unless Options say otherwise.
func DefaultDocumentTypes() []DocumentType {
	return []DocumentType{
		{DocumentType: "passport", Name: "Passport", TwoSided: false},
		{DocumentType: "driving_license", Name: "Driving licence", TwoSided: true},
		{DocumentType: "identity_card", Name: "Identity card", TwoSided: true},
		{DocumentType: "residence_permit", Name: "Residence permit", TwoSided: true},
	}
}

// Options configure a Sim. Zero values take the defaults; a negative delay means none.
type Options struct {
	// ClientID and ClientSecret are the API client the token endpoint accepts; default DefaultClientID,
	// DefaultClientSecret.
	ClientID, ClientSecret string
	// TokenTTL is how long a token is valid (expires_in); default 600 s.
	TokenTTL time.Duration
	// PublicURL is the base of capture URLs (e.g. "http://localhost:8095"); default the scheme and Host of
	// the start-capture request.
	PublicURL string
	// DecisionDelay is how long a process stays processing after its outcome was picked; default 1 s.
	DecisionDelay time.Duration
	// CallbackDelay is how long after a process became final its callback is posted; default 200 ms.
	// LateCallbackDelay replaces it when Faults.Callbacks is "late"; default 10 s.
	CallbackDelay, LateCallbackDelay time.Duration
	// MaxImageBytes bounds one decoded image; default 10 MiB.
	MaxImageBytes int
	// DocumentTypes are what GET /assure/{provider}/document-types answers and what documentType may be;
	// default DefaultDocumentTypes().
	DocumentTypes []DocumentType
	// Workers is how many callbacks are in flight at once; default 16.
	Workers int
	// HTTPClient posts the callbacks; default a client with a 10 s timeout.
	HTTPClient *http.Client
}

// CallbackMode changes how callbacks are delivered.
type CallbackMode string

// Callback modes of Faults.Callbacks.
const (
	CallbacksNormal    CallbackMode = ""
	CallbacksDrop      CallbackMode = "drop"      // never sent (counted in Stats.CallbacksDropped)
	CallbacksDuplicate CallbackMode = "duplicate" // each sent twice
	CallbacksLate      CallbackMode = "late"      // sent after Options.LateCallbackDelay
)

func (m CallbackMode) valid() bool {
	return m == CallbacksNormal || m == CallbacksDrop || m == CallbacksDuplicate || m == CallbacksLate
}

// Faults break the simulator on purpose. They start empty (and are emptied by a reset).
type Faults struct {
	LatencyMs int `json:"latencyMs"` // added to every API call
	// Unauthorized401Once answers the next API call that comes with a valid token 401, and revokes that
	// token; it then clears itself.
	Unauthorized401Once bool `json:"unauthorized401Once"`
	Always401           bool `json:"always401"` // every API call answers 401
	// FailNext answers the next so many API calls (after authentication) FailStatus; it counts down.
	FailNext   int `json:"failNext"`
	FailStatus int `json:"failStatus"` // 400-599; default 503
	// Callbacks is "", "drop", "duplicate" or "late", taken when a process becomes final.
	Callbacks CallbackMode `json:"callbacks"`
}

// Stats count what the simulator did since the start or the last reset.
type Stats struct {
	TokensBasic      int `json:"tokensBasic"`      // tokens issued to client_secret_basic
	TokensPost       int `json:"tokensPost"`       // tokens issued to client_secret_post
	TokenRejections  int `json:"tokenRejections"`  // token requests refused
	APICalls         int `json:"apiCalls"`         // /assure calls, answered or not
	Unauthorized     int `json:"unauthorized"`     // /assure calls answered 401
	InjectedFailures int `json:"injectedFailures"` // /assure calls answered FailStatus
	DossiersCreated  int `json:"dossiersCreated"`
	DossiersDeleted  int `json:"dossiersDeleted"`
	ProcessesCreated int `json:"processesCreated"` // through create process or start capture
	// ProcessesDeleted counts processes deleted, one by one or with their dossier.
	ProcessesDeleted  int `json:"processesDeleted"`
	CapturesStarted   int `json:"capturesStarted"`
	CapturesCompleted int `json:"capturesCompleted"` // capture pages submitted
	Decisions         int `json:"decisions"`         // outcomes picked, by any means
	Downloads         int `json:"downloads"`         // result zips served
	CallbacksSent     int `json:"callbacksSent"`     // posts answered 2xx
	CallbacksFailed   int `json:"callbacksFailed"`   // attempts answered otherwise or not at all
	CallbacksGivenUp  int `json:"callbacksGivenUp"`  // callbacks that failed every attempt
	CallbacksDropped  int `json:"callbacksDropped"`  // not sent: the drop fault
	// CallbacksDuplicated counts callbacks sent twice on purpose (the duplicate fault).
	CallbacksDuplicated int `json:"callbacksDuplicated"`
}

// Errors of Decide.
var (
	ErrNoProcess      = errors.New("signicatsim: no such process")
	ErrNotProcessing  = errors.New("signicatsim: the process is not processing")
	ErrAlreadyDecided = errors.New("signicatsim: the process's outcome was already picked")
	ErrNotFinal       = errors.New("signicatsim: the status is not a final status")
)

// Sim is a simulated Signicat Assure API. It is safe for concurrent use.
type Sim struct {
	opts          Options
	docTypes      map[string]DocumentType
	mux           *http.ServeMux
	client        *http.Client
	releaseClient func()
	ctx           context.Context // ends at Close: in-flight callbacks stop
	cancel        context.CancelFunc

	mu       sync.Mutex // guards everything below
	tokens   map[string]time.Time
	dossiers map[string]*dossier
	order    []*dossier // ascending creation
	procs    map[string]*process
	captures map[string]*capture
	faults   Faults
	stats    Stats
	// served holds the last result zip served for each process (by process id), for tests to compare
	// with what the client kept.
	served map[string][]byte

	queue  *kit.Queue[*job]
	keeper *kit.Keeper // the state file's, if KeepState was called
}

type dossier struct {
	d     Dossier    // without processes
	procs []*process // ascending creation
}

type process struct {
	p          Process
	authHeader string
	images     map[string]image // front, back, selfie
	captureID  string
	decision   *decision // the outcome picked, waiting for DecisionDelay
	callback   string    // what became of the callback, for people
}

type image struct {
	mediaType string
	data      []byte
}

type decision struct {
	status     Status
	result     *FinalResult
	failReason string
}

type capture struct {
	id, dossierID, processID string
	redirectURL              string
	used                     bool
}

// New starts a simulator with its workers; Close stops them.
func New(o Options) *Sim {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = DefaultTokenTTL
	}
	o.DecisionDelay = orDefault(o.DecisionDelay, DefaultDecisionDelay)
	o.CallbackDelay = orDefault(o.CallbackDelay, DefaultCallbackDelay)
	o.LateCallbackDelay = orDefault(o.LateCallbackDelay, DefaultLateDelay)
	if o.MaxImageBytes <= 0 {
		o.MaxImageBytes = DefaultMaxImageBytes
	}
	if len(o.DocumentTypes) == 0 {
		o.DocumentTypes = DefaultDocumentTypes()
	}
	o.DocumentTypes = slices.Clone(o.DocumentTypes)
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
	s := &Sim{opts: o,
		docTypes: map[string]DocumentType{}, tokens: map[string]time.Time{}}
	for _, dt := range o.DocumentTypes {
		s.docTypes[dt.DocumentType] = dt
	}
	s.client, s.releaseClient = kit.WebhookClient(o.HTTPClient, o.Workers)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.queue = kit.NewQueue(o.Workers, s.run)
	s.reset()
	s.mux = s.routes()
	return s
}

func orDefault(d, def time.Duration) time.Duration {
	switch {
	case d == 0:
		return def
	case d < 0:
		return 0
	}
	return d
}

// Handler serves the token endpoint, the Assure API, the capture pages, the control API and the page.
func (s *Sim) Handler() http.Handler { return s.mux }

// Options returns the options in force (with defaults filled in).
func (s *Sim) Options() Options { return s.opts }

// Close stops the workers (callbacks not yet posted are dropped) and writes the state file a last time.
func (s *Sim) Close() {
	s.cancel()
	s.queue.Close()
	s.keeper.Close()
	s.releaseClient()
}

// Reset empties the simulator: dossiers, processes, captures, stats and faults. Tokens already issued
// stay valid. Decisions and callbacks not yet done are dropped.
func (s *Sim) Reset() { s.reset() }

func (s *Sim) reset() {
	s.queue.Clear()
	s.mu.Lock()
	s.dossiers = map[string]*dossier{}
	s.order = nil
	s.procs = map[string]*process{}
	s.captures = map[string]*capture{}
	s.served = map[string][]byte{}
	s.stats = Stats{}
	s.setFaultsLocked(Faults{})
	s.mu.Unlock()
}

// ServedZip returns the last result zip served for a process: the bytes exactly as downloaded.
func (s *Sim) ServedZip(processID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.served[processID]
	return bytes.Clone(b), ok
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// SetFaults replaces the faults, all of them. An unknown callback mode counts as normal; a FailStatus
// outside 400-599 as 503.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

// UpdateFaults changes the faults that the JSON object names, leaving the others as they are.
func (s *Sim) UpdateFaults(patch []byte) (Faults, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if err := json.Unmarshal(patch, &f); err != nil {
		return s.faults, err
	}
	if !f.Callbacks.valid() {
		return s.faults, fmt.Errorf("callbacks: %q is not one of \"\", drop, duplicate, late", f.Callbacks)
	}
	s.setFaultsLocked(f)
	return s.faults, nil
}

func (s *Sim) setFaultsLocked(f Faults) {
	if f.FailStatus < 400 || f.FailStatus > 599 {
		f.FailStatus = http.StatusServiceUnavailable
	}
	if !f.Callbacks.valid() {
		f.Callbacks = CallbacksNormal
	}
	f.LatencyMs = max(f.LatencyMs, 0)
	f.FailNext = max(f.FailNext, 0)
	s.faults = f
}

// Stats returns the counts since the start or the last reset.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// State is everything the simulator holds.
type State struct {
	Dossiers []DossierState `json:"dossiers"` // newest first
	Faults   Faults         `json:"faults"`
	Stats    Stats          `json:"stats"`
}

// DossierState is a dossier with its processes as the simulator holds them.
type DossierState struct {
	DossierID string         `json:"dossierId"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	Processes []ProcessState `json:"processes"` // ascending creation
}

// ProcessState is a process (as GET process answers it) and what the simulator knows beside.
type ProcessState struct {
	Process
	// CapturePath is the capture page of a process started by the capture flow ("/capture/{id}").
	CapturePath string `json:"capturePath,omitempty"`
	CaptureUsed bool   `json:"captureUsed,omitempty"`
	// Images are the images uploaded, kind → decoded bytes.
	Images map[string]int `json:"images,omitempty"`
	// Decided is the outcome picked while the process is still processing.
	Decided Status `json:"decided,omitempty"`
	// Callback is what became of the callback: "pending", "delivered (200)", "failed (500), retrying", ...
	Callback string `json:"callback,omitempty"`
}

// State returns the dossiers (newest first) with their processes, the faults and the stats.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Dossiers: make([]DossierState, 0, len(s.order)), Faults: s.faults, Stats: s.stats}
	for i := len(s.order) - 1; i >= 0; i-- {
		d := s.order[i]
		ds := DossierState{DossierID: d.d.DossierID, CreatedAt: d.d.CreatedAt, UpdatedAt: d.d.UpdatedAt,
			Processes: make([]ProcessState, 0, len(d.procs))}
		for _, p := range d.procs {
			ps := ProcessState{Process: p.view(), Callback: p.callback}
			if p.captureID != "" {
				ps.CapturePath = "/capture/" + p.captureID
				if c := s.captures[p.captureID]; c != nil {
					ps.CaptureUsed = c.used
				}
			}
			for k, im := range p.images {
				if ps.Images == nil {
					ps.Images = map[string]int{}
				}
				ps.Images[k] = len(im.data)
			}
			if p.decision != nil {
				ps.Decided = p.decision.status
			}
			ds.Processes = append(ds.Processes, ps)
		}
		st.Dossiers = append(st.Dossiers, ds)
	}
	return st
}

// view is the process as GET process answers it: without the SDK token, with its own copies.
func (p *process) view() Process {
	v := p.p
	v.AuthorizationToken = ""
	if v.FinalResult != nil {
		r := *v.FinalResult
		v.FinalResult = &r
	}
	if v.ProviderSpecific != nil {
		v.ProviderSpecific = map[string]any{}
		for k, x := range p.p.ProviderSpecific {
			v.ProviderSpecific[k] = x
		}
	}
	return v
}

// Decide picks the outcome of a processing process, as the capture page, the state page and POST
// /sim/processes/{processId}/decide do: Options.DecisionDelay later the process becomes status with the
// final result r (none when r is zero), then its callback is posted.
func (s *Sim) Decide(processID string, status Status, r FinalResult) error {
	var res *FinalResult
	if r != (FinalResult{}) {
		res = &r
	}
	return s.decide(processID, status, res, "")
}

func (s *Sim) decide(processID string, status Status, r *FinalResult, failReason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[processID]
	if !ok {
		return ErrNoProcess
	}
	return s.decideLocked(p, status, r, failReason)
}

// decideLocked records the outcome of p and schedules it. Called with mu held.
func (s *Sim) decideLocked(p *process, status Status, r *FinalResult, failReason string) error {
	switch {
	case !status.Final():
		return fmt.Errorf("%w: %q (want accepted, rejected, inconclusive, failed or canceled)", ErrNotFinal, status)
	case p.decision != nil:
		return ErrAlreadyDecided
	case p.p.Status != StatusProcessing:
		return fmt.Errorf("%w: it is %s", ErrNotProcessing, p.p.Status)
	}
	if failReason == "" {
		failReason = defaultFailReason[status]
	}
	if r != nil {
		c := *r
		r = &c
	}
	p.decision = &decision{status: status, result: r, failReason: failReason}
	s.stats.Decisions++
	s.queue.Schedule(time.Now().Add(s.opts.DecisionDelay), &job{kind: jobFinalize, processID: p.p.ProcessID})
	return nil
}

var defaultFailReason = map[Status]string{
	StatusRejected: "the document was rejected (simulated)",
	StatusFailed:   "the provider failed to verify the document (simulated)",
	StatusCanceled: "the person canceled the verification (simulated)",
}

// finalize makes a decided process final and schedules its callback.
func (s *Sim) finalize(processID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.procs[processID]
	if !ok || p.decision == nil || p.p.Status != StatusProcessing {
		return
	}
	clock := time.Now()
	now := stamp(clock)
	dec := p.decision
	p.decision = nil
	p.p.Status, p.p.FinalResult, p.p.UpdatedAt = dec.status, dec.result, now
	if dec.status != StatusAccepted {
		p.p.FailReason = dec.failReason
	}
	if d := s.dossiers[p.p.DossierID]; d != nil {
		d.d.UpdatedAt = now
	}
	if p.p.NotificationURL == "" {
		return
	}
	body, _ := json.Marshal(notification{DossierID: p.p.DossierID, ProcessID: p.p.ProcessID, Status: p.p.Status})
	cb := &post{url: p.p.NotificationURL, auth: p.authHeader, body: body, processID: p.p.ProcessID}
	at := clock.Add(s.opts.CallbackDelay)
	posts := []*post{cb}
	switch s.faults.Callbacks {
	case CallbacksDrop:
		s.stats.CallbacksDropped++
		p.callback = "dropped (fault)"
		return
	case CallbacksDuplicate:
		s.stats.CallbacksDuplicated++
		dup := *cb
		posts = append(posts, &dup)
	case CallbacksLate:
		at = clock.Add(s.opts.LateCallbackDelay)
	}
	p.callback = "pending"
	for _, cb := range posts {
		s.queue.Schedule(at, &job{kind: jobCallback, post: cb})
	}
}

// newID is a random UUID (version 4), as Assure's ids are.
func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomHex is n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// The background work: a time-ordered queue of jobs that one dispatcher hands to a fixed pool of
// workers, so any number of processes costs no goroutines and no API call waits for a callback.

type jobKind int

const (
	jobFinalize jobKind = iota // a decided process becomes final
	jobCallback                // post a callback
)

type job struct {
	kind      jobKind
	processID string
	post      *post
}

// run does one job, on one of the queue's workers.
func (s *Sim) run(j *job) {
	switch j.kind {
	case jobFinalize:
		s.finalize(j.processID)
	case jobCallback:
		s.deliver(j.post)
	}
}

// post is one callback to POST.
type post struct {
	url, auth string
	body      []byte
	processID string
	attempt   int
}

// callbackRetries is how many times a callback that failed is tried again, after callbackBackoff, four
// times that, and so on (0.1, 0.4, 1.6 s).
const (
	callbackRetries = 3
	callbackBackoff = 100 * time.Millisecond
)

// deliver POSTs one callback and schedules another try if it failed.
func (s *Sim) deliver(p *post) {
	status, err := s.postJSON(p)
	ok := err == nil && status/100 == 2
	willRetry := !ok && p.attempt < callbackRetries && s.ctx.Err() == nil
	s.mu.Lock()
	var note string
	switch {
	case ok:
		s.stats.CallbacksSent++
		note = "delivered (" + strconv.Itoa(status) + ")"
	default:
		s.stats.CallbacksFailed++
		if err != nil {
			note = "failed: " + err.Error()
		} else {
			note = "failed (" + strconv.Itoa(status) + ")"
		}
		if willRetry {
			note += ", retrying"
		} else {
			s.stats.CallbacksGivenUp++
			note += ", given up"
		}
	}
	if pr := s.procs[p.processID]; pr != nil {
		if p.attempt > 0 {
			note += " (attempt " + strconv.Itoa(p.attempt+1) + ")"
		}
		pr.callback = note
	}
	s.mu.Unlock()
	if willRetry {
		next := *p
		next.attempt++
		s.queue.Schedule(time.Now().Add(callbackBackoff<<(2*p.attempt)), &job{kind: jobCallback, post: &next})
	}
}

func (s *Sim) postJSON(p *post) (int, error) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, p.url, bytes.NewReader(p.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "signicatsim/1 (Signicat Assure simulator)")
	if p.auth != "" {
		req.Header.Set("Authorization", p.auth)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode, nil
}
