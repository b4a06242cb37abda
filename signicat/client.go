package signicat

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/signetassure/signetassure/tracing"
)

// AuthStyle is how the Client proves its identity to the token endpoint.
type AuthStyle string

const (
	AuthBasic AuthStyle = "basic" // client_secret_basic: HTTP Basic with the id and secret
	AuthPost  AuthStyle = "post"  // client_secret_post: the id and secret in the form body
)

// Config says where Assure is and how to authenticate to it.
type Config struct {
	BaseURL          string            // e.g. https://api.signicat.com (a trailing slash is fine)
	TokenURL         string            // default BaseURL + TokenPath
	ClientID         string            // the API client's id, e.g. sandbox-round-apple-123
	ClientSecret     string            // never logged, never in error strings
	AuthStyle        AuthStyle         // default AuthBasic
	Timeout          time.Duration     // per call, token wait and 401 retry included; default 20s
	DocumentTypesTTL time.Duration     // how long a provider's document types are kept; default 1h
	Transport        http.RoundTripper // optional (tests); default http.DefaultTransport

	// Capture is the provider and process type of the hosted capture flow StartCaptureFlow starts;
	// default DefaultCaptureProvider with DefaultCaptureProcessType. Attended is the provider that verifies
	// images uploaded through the API (NewAttendedProcess, AttendedDocumentTypes); default DefaultAttended.
	Capture  CaptureProvider
	Attended string
}

// Defaults of Config.
const (
	DefaultTimeout          = 20 * time.Second
	DefaultDocumentTypesTTL = time.Hour

	DefaultCaptureProvider    = "onfido"
	DefaultCaptureProcessType = "documentSelfie"
	DefaultAttended           = "onfido"
)

// renewBefore is how long before its expiry a token is renewed: the library's default margin, made
// explicit. Tokens last 600 s unless the API client is configured otherwise.
const renewBefore = 10 * time.Second

// Limits on what is read of an answer.
const (
	maxAnswer      = 32 << 20 // a JSON answer (a dossier with its processes)
	maxErrorAnswer = 64 << 10 // an error answer
)

// Client calls the Assure API. It is safe for concurrent use, and meant to be built once per process and
// shared: it holds the one access token of its API client.
type Client struct {
	base    string
	http    *http.Client
	timeout time.Duration
	tokens  *tokens
	redact  func(string) string // scrubs the secret and any token from error messages

	capture  CaptureProvider // the identity.Provider's capture flow
	attended string          // the identity.Provider's provider of staff-attended checks

	docTTL   time.Duration
	docMu    sync.Mutex
	docTypes map[string]*docTypesEntry // by provider
}

// New checks cfg and makes a Client. It fetches its first token on its first call.
func New(cfg Config) (*Client, error) {
	base, err := checkURL("BaseURL", cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	tokenURL := base + TokenPath
	if cfg.TokenURL != "" {
		if tokenURL, err = checkURL("TokenURL", cfg.TokenURL); err != nil {
			return nil, err
		}
	}
	if cfg.ClientID == "" {
		return nil, errors.New("signicat: ClientID is empty")
	}
	if cfg.ClientSecret == "" {
		return nil, errors.New("signicat: ClientSecret is empty")
	}
	var style oauth2.AuthStyle
	switch cfg.AuthStyle {
	case AuthBasic, "":
		style = oauth2.AuthStyleInHeader
	case AuthPost:
		style = oauth2.AuthStyleInParams
	default:
		return nil, fmt.Errorf("signicat: AuthStyle %q is neither %q nor %q", cfg.AuthStyle, AuthBasic, AuthPost)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.DocumentTypesTTL <= 0 {
		cfg.DocumentTypesTTL = DefaultDocumentTypesTTL
	}
	cfg.Transport = tracing.Transport(cfg.Transport)
	if cfg.Capture.Provider == "" {
		cfg.Capture = CaptureProvider{Provider: DefaultCaptureProvider, ProcessType: DefaultCaptureProcessType}
	}
	if cfg.Attended == "" {
		cfg.Attended = DefaultAttended
	}

	redact := redactor(cfg.ClientID, cfg.ClientSecret)
	// The token source outlives every call, so it gets a context of its own, carrying the HTTP client it
	// uses; that client's timeout bounds a fetch, since no caller's context does.
	tokenCtx := context.WithValue(context.Background(), oauth2.HTTPClient,
		&http.Client{Transport: cfg.Transport, Timeout: cfg.Timeout})
	t := &tokens{
		conf: clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     tokenURL,
			Scopes:       []string{Scope},
			AuthStyle:    style,
		},
		ctx:    tokenCtx,
		redact: redact,
	}
	t.src = t.newSource()
	return &Client{
		base:     base,
		http:     &http.Client{Transport: cfg.Transport}, // calls are bounded by their context
		timeout:  cfg.Timeout,
		tokens:   t,
		redact:   redact,
		capture:  cfg.Capture,
		attended: cfg.Attended,
		docTTL:   cfg.DocumentTypesTTL,
		docTypes: map[string]*docTypesEntry{},
	}, nil
}

// checkURL accepts an absolute http or https URL and returns it without a trailing slash.
func checkURL(name, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("signicat: %s %q is not an absolute http(s) URL", name, raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("signicat: %s must have no user info, query or fragment", name)
	}
	return strings.TrimRight(raw, "/"), nil
}

// redactor returns a function that scrubs the client secret (as given, as the token request's form writes
// it, and as Basic credentials) and the given tokens out of a message.
func redactor(clientID, secret string) func(string) string {
	hide := []string{
		secret,
		url.QueryEscape(secret),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(clientID) + ":" + url.QueryEscape(secret))),
	}
	return func(s string) string {
		for _, h := range hide {
			s = strings.ReplaceAll(s, h, "[redacted]")
		}
		return s
	}
}

// redactWith extends c.redact to tokens too.
func (c *Client) redactWith(tokens ...string) func(string) string {
	return func(s string) string {
		for _, t := range tokens {
			if t != "" {
				s = strings.ReplaceAll(s, t, "[redacted]")
			}
		}
		return c.redact(s)
	}
}

// CreateDossier creates an empty dossier, one per person verified.
func (c *Client) CreateDossier(ctx context.Context) (Dossier, error) {
	var d Dossier
	err := c.do(ctx, "create dossier", http.MethodPost, DossiersPath, struct{}{}, &d)
	return d, err
}

// GetDossier returns a dossier with its processes.
func (c *Client) GetDossier(ctx context.Context, dossierID string) (Dossier, error) {
	const op = "get dossier"
	var d Dossier
	id, err := escape(op, dossierID)
	if err != nil {
		return d, err
	}
	err = c.do(ctx, op, http.MethodGet, DossierPath(id), nil, &d)
	return d, err
}

// DeleteDossier deletes a dossier and everything in it. A dossier already gone (404) is not an error.
func (c *Client) DeleteDossier(ctx context.Context, dossierID string) error {
	const op = "delete dossier"
	id, err := escape(op, dossierID)
	if err != nil {
		return err
	}
	if err := c.do(ctx, op, http.MethodDelete, DossierPath(id), nil, nil); err != nil && !NotFound(err) {
		return err
	}
	return nil
}

// docTypesEntry is one provider's document types, or the fetch of them in progress.
type docTypesEntry struct {
	done    chan struct{} // closed when the fetch ends; types and err are set then
	types   []DocumentType
	err     error
	fetched time.Time // set under docMu when the fetch succeeded; zero while in flight
}

// DocumentTypes returns the identity documents a provider verifies. The answer is kept for
// DocumentTypesTTL; callers asking while it is being fetched wait for that one fetch. Failures are not
// kept. The fetch is detached from the caller's cancellation, so one caller giving up fails nobody else.
func (c *Client) DocumentTypes(ctx context.Context, provider string) ([]DocumentType, error) {
	const op = "document types"
	p, err := escape(op, provider)
	if err != nil {
		return nil, err
	}
	c.docMu.Lock()
	e := c.docTypes[provider]
	if e == nil || (!e.fetched.IsZero() && time.Since(e.fetched) >= c.docTTL) {
		e = &docTypesEntry{done: make(chan struct{})}
		c.docTypes[provider] = e
		go c.fetchDocumentTypes(context.WithoutCancel(ctx), op, provider, p, e)
	}
	c.docMu.Unlock()
	select {
	case <-e.done:
		if e.err != nil {
			return nil, e.err
		}
		return slices.Clone(e.types), nil
	case <-ctx.Done():
		return nil, &Error{Op: op, Err: ctx.Err()}
	}
}

// fetchDocumentTypes fills e, then keeps it (on success) or forgets it (on failure).
func (c *Client) fetchDocumentTypes(ctx context.Context, op, provider, escaped string, e *docTypesEntry) {
	var raw json.RawMessage
	err := c.do(ctx, op, http.MethodGet, DocumentTypesPath(escaped), nil, &raw)
	var types []DocumentType
	if err == nil {
		// The contract is {"documentTypes": [...]}; a bare array is taken too.
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			err = json.Unmarshal(t, &types)
		} else {
			var dt DocumentTypes
			err = json.Unmarshal(t, &dt)
			types = dt.DocumentTypes
		}
		if err != nil {
			err = &Error{Op: op, StatusCode: http.StatusOK, Err: fmt.Errorf("unreadable answer: %w", err)}
		}
	}
	c.docMu.Lock()
	e.types, e.err = types, err
	if err == nil {
		e.fetched = time.Now()
	} else if c.docTypes[provider] == e {
		delete(c.docTypes, provider)
	}
	c.docMu.Unlock()
	close(e.done)
}

// CreateProcess creates a verification process in a dossier. The answer carries the process id and, for
// the provider's own SDK, an authorization token.
func (c *Client) CreateProcess(ctx context.Context, dossierID string, p CreateProcess) (Process, error) {
	const op = "create process"
	var out Process
	id, err := escape(op, dossierID)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, op, http.MethodPost, ProcessesPath(id), p, &out)
	return out, err
}

// StartCapture starts the hosted capture flow in a dossier; send the person to the answer's URL.
func (c *Client) StartCapture(ctx context.Context, dossierID string, s StartCapture) (Capture, error) {
	const op = "start capture"
	var out Capture
	id, err := escape(op, dossierID)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, op, http.MethodPost, CapturePath(id), s, &out)
	return out, err
}

// SetImages uploads document and selfie images (data URLs) to a process; a kind sent again replaces the
// earlier one.
func (c *Client) SetImages(ctx context.Context, dossierID, processID string, im Images) error {
	const op = "set images"
	d, p, err := escape2(op, dossierID, processID)
	if err != nil {
		return err
	}
	return c.do(ctx, op, http.MethodPost, ImagesPath(d, p), im, nil)
}

// StartVerification asks the provider to verify the uploaded images. Not every provider needs it.
func (c *Client) StartVerification(ctx context.Context, dossierID, processID string) error {
	const op = "start verification"
	d, p, err := escape2(op, dossierID, processID)
	if err != nil {
		return err
	}
	return c.do(ctx, op, http.MethodPost, VerifyPath(d, p), struct{}{}, nil)
}

// GetProcess returns a process as it stands: its status and, once final, its result.
func (c *Client) GetProcess(ctx context.Context, dossierID, processID string) (Process, error) {
	const op = "get process"
	var out Process
	d, p, err := escape2(op, dossierID, processID)
	if err != nil {
		return out, err
	}
	err = c.do(ctx, op, http.MethodGet, ProcessPath(d, p), nil, &out)
	return out, err
}

// DownloadResult streams a finished process's result zip into w and returns the bytes written. The
// Client's Timeout bounds the whole download. On an error part of the zip may have been written: a
// caller retrying starts w afresh.
func (c *Client) DownloadResult(ctx context.Context, dossierID, processID string, w io.Writer) (int64, error) {
	const op = "download result"
	d, p, err := escape2(op, dossierID, processID)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, token, err := c.send(ctx, op, http.MethodGet, DownloadPath(d, p), nil, "application/zip, application/octet-stream;q=0.9, */*;q=0.8")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, &Error{Op: op, StatusCode: resp.StatusCode, Err: err, redact: c.redactWith(token)}
	}
	return n, nil
}

// DeleteProcess deletes a process. A process already gone (404) is not an error.
func (c *Client) DeleteProcess(ctx context.Context, dossierID, processID string) error {
	const op = "delete process"
	d, p, err := escape2(op, dossierID, processID)
	if err != nil {
		return err
	}
	if err := c.do(ctx, op, http.MethodDelete, ProcessPath(d, p), nil, nil); err != nil && !NotFound(err) {
		return err
	}
	return nil
}

// escape makes an id one path segment. An empty id, "." or ".." would name another resource (DELETE
// /assure/dossiers/ is not DELETE of one dossier), so they are refused before any request.
func escape(op, id string) (string, error) {
	if id == "" || id == "." || id == ".." {
		return "", &Error{Op: op, Err: fmt.Errorf("invalid id %q", id)}
	}
	return url.PathEscape(id), nil
}

func escape2(op, dossierID, processID string) (string, string, error) {
	d, err := escape(op, dossierID)
	if err != nil {
		return "", "", err
	}
	p, err := escape(op, processID)
	return d, p, err
}

// do makes one JSON call, bounded by the Client's Timeout: in (when not nil) is the body, a 2xx answer is
// decoded into out (when not nil). Every failure is an *Error.
func (c *Client) do(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return &Error{Op: op, Err: err}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, token, err := c.send(ctx, op, method, path, body, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorAnswer)) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAnswer)).Decode(out); err != nil {
		return &Error{Op: op, StatusCode: resp.StatusCode, Err: fmt.Errorf("unreadable answer: %w", err),
			redact: c.redactWith(token)}
	}
	return nil
}

// send makes a request with the access token and returns a 2xx answer, body unread, and the token it
// used. When the answer is 401 it drops the token (unless another caller already has), gets a fresh one
// and sends the request once more: a request refused as unauthenticated was not acted on, so repeating
// even a POST cannot do it twice. A second 401 is returned like any other error answer, as an *Error.
func (c *Client) send(ctx context.Context, op, method, path string, body []byte, accept string) (*http.Response, string, error) {
	tok, err := c.tokens.get(ctx, op)
	if err != nil {
		return nil, "", err
	}
	for retried := false; ; retried = true {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body) // a fresh reader per attempt; it also lets net/http replay it
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
		if err != nil {
			return nil, "", &Error{Op: op, Err: err, redact: c.redact}
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Accept", accept)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, "", &Error{Op: op, Err: err, redact: c.redactWith(tok.AccessToken)}
		}
		if resp.StatusCode/100 == 2 {
			return resp, tok.AccessToken, nil
		}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorAnswer))
		resp.Body.Close()
		if resp.StatusCode == http.StatusUnauthorized && !retried {
			c.tokens.invalidate(tok.AccessToken)
			if tok, err = c.tokens.get(ctx, op); err != nil {
				return nil, "", err
			}
			continue
		}
		return nil, "", &Error{Op: op, StatusCode: resp.StatusCode,
			Problem: decodeProblem(resp.Header.Get("Content-Type"), data), redact: c.redactWith(tok.AccessToken)}
	}
}

// tokens hands out the Client's access token. The library's token source (clientcredentials, wrapped by
// ReuseTokenSourceWithExpiry) fetches it and stamps it with the renewal margin; tokens mirrors the token
// it last handed out and adds what the library lacks: dropping a token the API refused, and letting a
// caller give up waiting without failing the fetch the others wait for. One fetch runs at a time, and every
// caller needing a token meanwhile shares its outcome, success or failure, so a dead token endpoint costs
// one fetch per round of callers, not one per caller.
type tokens struct {
	conf   clientcredentials.Config
	ctx    context.Context // long-lived; carries the HTTP client for the token endpoint
	redact func(string) string

	mu     sync.Mutex
	src    oauth2.TokenSource // the library's cache; replaced, empty, to drop a refused token
	tok    *oauth2.Token      // what src last handed out, or nil
	flight *tokenFlight       // the fetch in progress, if any
}

type tokenFlight struct {
	done chan struct{}
	tok  *oauth2.Token
	err  error
}

func (t *tokens) newSource() oauth2.TokenSource {
	return oauth2.ReuseTokenSourceWithExpiry(nil, t.conf.TokenSource(t.ctx), renewBefore)
}

// get returns a token not yet due for renewal, fetching one if need be. Failures are *Error: with Op
// OpToken when the token endpoint failed, with op when ctx ended first.
func (t *tokens) get(ctx context.Context, op string) (*oauth2.Token, error) {
	t.mu.Lock()
	if t.tok.Valid() { // Valid applies the margin, and is false for nil
		tok := t.tok
		t.mu.Unlock()
		return tok, nil
	}
	f := t.flight
	if f == nil {
		f = &tokenFlight{done: make(chan struct{})}
		t.flight = f
		go t.fetch(t.src, f)
	}
	t.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, &Error{Op: op, Err: ctx.Err()}
	}
}

// fetch asks src for a token and ends the flight f with the outcome.
func (t *tokens) fetch(src oauth2.TokenSource, f *tokenFlight) {
	tok, err := src.Token()
	t.mu.Lock()
	if err == nil && t.src == src { // src was not dropped meanwhile
		t.tok = tok
	}
	t.flight = nil
	t.mu.Unlock()
	if err != nil {
		f.err = t.tokenError(err)
	} else {
		f.tok = tok
	}
	close(f.done)
}

// invalidate drops the cached token if it is the refused one. When it is not, another caller has already
// dropped it (and a fresh one may be cached), so twenty calls refused at once cause one new fetch.
func (t *tokens) invalidate(refused string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tok != nil && t.tok.AccessToken == refused {
		t.src = t.newSource()
		t.tok = nil
	}
}

// tokenError makes an *Error of a failed token fetch: the status and the OAuth2 error code when the
// endpoint answered, the network failure when it did not. The endpoint's body is not quoted.
func (t *tokens) tokenError(err error) *Error {
	e := &Error{Op: OpToken, Err: err, redact: t.redact}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		e.StatusCode = re.Response.StatusCode
		e.Problem = decodeProblem(re.Response.Header.Get("Content-Type"), re.Body)
	}
	return e
}
