package messaging

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sendgrid/rest"
	sendgrid "github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	"github.com/sendgrid/sendgrid-go/helpers/mail"

	"github.com/signetassure/signetassure/tracing"
)

// SendGrid's webhook headers.
const (
	SendGridSignatureHeader = eventwebhook.VerificationHTTPHeader // X-Twilio-Email-Event-Webhook-Signature
	SendGridTimestampHeader = eventwebhook.TimestampHTTPHeader    // X-Twilio-Email-Event-Webhook-Timestamp
)

// SendGridMessageIDArg is the custom argument that carries our message id to SendGrid and back on every
// event (a top-level key of each event, and unique_args in the Email Activity API).
const SendGridMessageIDArg = "sa_message_id"

// SendGridWebhookMaxSkew is how far from now SendGridTimestampFresh lets a webhook's timestamp be.
const SendGridWebhookMaxSkew = 10 * time.Minute

// SendGridConfig configures the SendGrid provider.
type SendGridConfig struct {
	APIKey   string
	From     string // the sender's e-mail address (a verified sender or domain in SendGrid)
	FromName string
	// BaseURL is "" for https://api.sendgrid.com, or another server speaking the same API (the
	// simulator, e.g. http://127.0.0.1:8094; https://api.eu.sendgrid.com for EU data residency).
	BaseURL string
}

// SendGrid is the e-mail provider. It sends through SendGrid's v3 Mail Send API with the sendgrid-go
// SDK, carrying our message id as the custom argument sa_message_id.
//
// Find uses the Email Activity API, which SendGrid serves only to accounts with the Email Activity
// add-on (and API keys with the Email Activity scope); without it Find answers ok=false, so a send whose
// answer was lost cannot be told from one that never arrived. The activity feed also lags the send by a
// few seconds or more: look some time after the failed attempt, not at once.
type SendGrid struct {
	cfg    SendGridConfig
	base   string
	client *rest.Client
}

// NewSendGrid returns the provider. hc carries every request and bounds it by its Timeout; nil means a
// client with a 30 s timeout. The caller's context deadline applies too.
func NewSendGrid(cfg SendGridConfig, hc *http.Client) *SendGrid {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	traced := *hc
	traced.Transport = tracing.Transport(hc.Transport)
	hc = &traced
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = "https://api.sendgrid.com"
	}
	return &SendGrid{cfg: cfg, base: base, client: &rest.Client{HTTPClient: hc}}
}

var _ Provider = (*SendGrid)(nil)

// Send hands m over to SendGrid's Mail Send API: from the configured sender, to m.To, with m.Subject,
// m.Body as text/plain and m.HTML as text/html when set, and m.ID as the custom argument sa_message_id.
// SendGrid answers 202 with the X-Message-Id, the receipt's ProviderID (each event's sg_message_id
// starts with it).
func (s *SendGrid) Send(ctx context.Context, m Outgoing) (Receipt, error) {
	if m.Channel != Email {
		return Receipt{}, &Error{Kind: Invalid, Message: fmt.Sprintf("sendgrid sends e-mail, not %s", m.Channel)}
	}
	msg := mail.NewV3Mail()
	msg.SetFrom(mail.NewEmail(s.cfg.FromName, s.cfg.From))
	msg.Subject = m.Subject
	p := mail.NewPersonalization()
	p.AddTos(mail.NewEmail("", m.To))
	p.SetCustomArg(SendGridMessageIDArg, m.ID)
	msg.AddPersonalizations(p)
	if m.Body != "" {
		msg.AddContent(mail.NewContent("text/plain", m.Body))
	}
	if m.HTML != "" {
		msg.AddContent(mail.NewContent("text/html", m.HTML))
	}

	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/mail/send", s.base)
	req.Method = rest.Post
	req.Body = mail.GetRequestBody(msg)
	resp, err := s.do(ctx, req)
	if err != nil {
		return Receipt{}, err
	}
	if resp.StatusCode/100 != 2 {
		return Receipt{}, sendGridError(resp)
	}
	// 202 is the answer; 200 comes only in sandbox mode, where nothing is sent and there is no id.
	return Receipt{ProviderID: header(resp, "X-Message-Id"), Status: StatusQueued}, nil
}

// Find looks m up in the Email Activity API by its custom argument:
// GET /v3/messages?limit=1&query=unique_args['sa_message_id']="<m.ID>". Without the Email Activity
// add-on SendGrid answers 403 (or 404): Find then says ok=false with no error.
func (s *SendGrid) Find(ctx context.Context, m Outgoing) (Receipt, bool, error) {
	if strings.ContainsAny(m.ID, "\"\\'\r\n") || m.ID == "" {
		return Receipt{}, false, &Error{Kind: Invalid, Message: "sendgrid: message id cannot be searched for"}
	}
	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/messages", s.base)
	req.Method = rest.Get
	req.QueryParams = map[string]string{
		"limit": "1",
		"query": fmt.Sprintf(`unique_args['%s']="%s"`, SendGridMessageIDArg, m.ID),
	}
	resp, err := s.do(ctx, req)
	if err != nil {
		return Receipt{}, false, err
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		return Receipt{}, false, nil // no Email Activity add-on
	case resp.StatusCode != http.StatusOK:
		return Receipt{}, false, sendGridError(resp)
	}
	var out struct {
		Messages []sendGridActivity `json:"messages"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil {
		return Receipt{}, false, &Error{Kind: Transient, Code: resp.StatusCode, Message: "sendgrid: unreadable Email Activity answer: " + err.Error()}
	}
	if len(out.Messages) == 0 {
		return Receipt{}, false, nil
	}
	return out.Messages[0].receipt(), true, nil
}

// Fetch reads a message from the Email Activity API (GET /v3/messages/{msg_id}). SendGrid states no
// price, so the receipt never has one. Without the Email Activity add-on, or when SendGrid does not
// know the id (the API is keyed by the full sg_message_id, of which X-Message-Id is the prefix), Fetch
// answers Receipt{ProviderID} with no status and no error: the events tell the status instead.
func (s *SendGrid) Fetch(ctx context.Context, providerID string) (Receipt, error) {
	if providerID == "" {
		return Receipt{}, &Error{Kind: Invalid, Message: "sendgrid: no message id"}
	}
	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/messages/"+url.PathEscape(providerID), s.base)
	req.Method = rest.Get
	resp, err := s.do(ctx, req)
	if err != nil {
		return Receipt{}, err
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound:
		return Receipt{ProviderID: providerID}, nil
	case resp.StatusCode != http.StatusOK:
		return Receipt{}, sendGridError(resp)
	}
	var a sendGridActivity
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		return Receipt{}, &Error{Kind: Transient, Code: resp.StatusCode, Message: "sendgrid: unreadable Email Activity answer: " + err.Error()}
	}
	r := a.receipt()
	if r.ProviderID == "" {
		r.ProviderID = providerID
	}
	return r, nil
}

// do sends one request with the caller's context. A failure without an answer is Transient, and
// Ambiguous once the request was written out in full: SendGrid may have taken it.
func (s *SendGrid) do(ctx context.Context, req rest.Request) (*rest.Response, error) {
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
		},
	})
	resp, err := s.client.SendWithContext(ctx, req)
	if resp != nil && resp.StatusCode != 0 {
		return resp, nil // an answer, even if its body was cut short
	}
	if err == nil {
		err = fmt.Errorf("no answer")
	}
	return nil, &Error{Kind: Transient, Message: "sendgrid: " + err.Error(), Ambiguous: wrote.Load()}
}

// sendGridError maps an answer other than 2xx onto an Error, with SendGrid's errors[] messages.
func sendGridError(resp *rest.Response) *Error {
	e := &Error{Code: resp.StatusCode, Message: sendGridErrorMessage(resp)}
	switch st := resp.StatusCode; {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		e.Kind = Refused
	case st == http.StatusTooManyRequests:
		e.Kind = RateLimited
	case st >= 400 && st < 500:
		e.Kind = Invalid
	case st == http.StatusGatewayTimeout:
		// A gateway gave up waiting for SendGrid, which may still have taken the message.
		e.Kind, e.Ambiguous = Transient, true
	default:
		e.Kind = Transient
	}
	return e
}

// sendGridErrorMessage joins the body's errors[] as "field: message; ...".
func sendGridErrorMessage(resp *rest.Response) string {
	var body struct {
		Errors []struct {
			Message string `json:"message"`
			Field   any    `json:"field"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(resp.Body), &body) != nil || len(body.Errors) == 0 {
		return fmt.Sprintf("sendgrid answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	parts := make([]string, 0, len(body.Errors))
	for _, e := range body.Errors {
		if f, ok := e.Field.(string); ok && f != "" {
			parts = append(parts, f+": "+e.Message)
		} else {
			parts = append(parts, e.Message)
		}
	}
	return strings.Join(parts, "; ")
}

func header(resp *rest.Response, name string) string {
	return http.Header(resp.Headers).Get(name)
}

// sendGridActivity is one message in the Email Activity API.
type sendGridActivity struct {
	MsgID       string `json:"msg_id"`
	Status      string `json:"status"`
	OpensCount  int    `json:"opens_count"`
	ClicksCount int    `json:"clicks_count"`
}

func (a sendGridActivity) receipt() Receipt {
	r := Receipt{ProviderID: SendGridProviderID(a.MsgID)}
	switch a.Status {
	case "processed":
		r.Status = StatusQueued
	case "deferred":
		r.Status = StatusSent
	case "delivered":
		r.Status = StatusDelivered
		if a.OpensCount > 0 {
			r.Status = StatusRead
		}
	case "not_delivered", "bounce", "bounced", "dropped", "blocked":
		r.Status = StatusFailed
	default:
		r.Status = StatusQueued // it is known, so it was accepted
	}
	return r
}

// SendGridProviderID is the X-Message-Id within an sg_message_id (or an Email Activity msg_id): the part
// before the first '.'.
func SendGridProviderID(sgMessageID string) string {
	id, _, _ := strings.Cut(sgMessageID, ".")
	return id
}

// VerifySendGrid checks a signed Event Webhook request: the ECDSA signature (header
// X-Twilio-Email-Event-Webhook-Signature) over the timestamp (header
// X-Twilio-Email-Event-Webhook-Timestamp) followed by the raw body, with the verification key SendGrid's
// console shows (base64 of the DER public key). It does not look at the time: see SendGridTimestampFresh.
func VerifySendGrid(publicKeyBase64 string, body []byte, signature, timestamp string) bool {
	if signature == "" || timestamp == "" {
		return false
	}
	pub, err := eventwebhook.ConvertPublicKeyBase64ToECDSA(publicKeyBase64)
	if err != nil || pub == nil {
		return false
	}
	ok, err := eventwebhook.VerifySignature(pub, body, signature, timestamp)
	return err == nil && ok
}

// SendGridTimestampFresh reports whether a webhook's timestamp (unix seconds) is within
// SendGridWebhookMaxSkew of now. A replayed batch is harmless when events are deduplicated on their
// EventID, so this is a second line; keep in mind that SendGrid retries deliveries that failed, and it
// is not documented whether a retry is signed afresh.
func SendGridTimestampFresh(timestamp string, now time.Time) bool {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d <= SendGridWebhookMaxSkew && d >= -SendGridWebhookMaxSkew
}

// SignSendGrid signs an Event Webhook body as SendGrid does: ECDSA P-256 over SHA-256(timestamp ||
// body), ASN.1 DER, base64. For the simulator and tests.
func SignSendGrid(priv *ecdsa.PrivateKey, body []byte, timestamp string) (string, error) {
	h := sha256.New()
	h.Write([]byte(timestamp))
	h.Write(body)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, h.Sum(nil))
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// NewSendGridWebhookKey makes a new Event Webhook signing key and its public key as SendGrid's console
// shows it (base64 of the PKIX DER).
func NewSendGridWebhookKey() (*ecdsa.PrivateKey, string, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	pub, err := SendGridPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, "", err
	}
	return priv, pub, nil
}

// SendGridWebhookKeyFromSeed derives a signing key from a secret seed, the same key for the same seed
// (HKDF-SHA-256), and its base64 public key. The seed should be at least 32 random bytes kept secret.
func SendGridWebhookKeyFromSeed(seed []byte) (*ecdsa.PrivateKey, string) {
	for i := 0; ; i++ {
		// A candidate falls outside [1, n-1] with a chance of about 2^-32; then the next one is tried.
		raw, err := hkdf.Key(sha256.New, seed, nil, "signetassure sendgrid webhook key "+strconv.Itoa(i), 32)
		if err != nil {
			panic(err) // only for lengths HKDF cannot make
		}
		priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
		if err != nil {
			continue
		}
		pub, err := SendGridPublicKey(&priv.PublicKey)
		if err != nil {
			panic(err) // a valid P-256 key always marshals
		}
		return priv, pub
	}
}

// SendGridPublicKey encodes a verification key as SendGrid's console shows it: base64 of the PKIX DER.
func SendGridPublicKey(pub *ecdsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// sendGridEvent is one Event Webhook event: the fields read here, the custom arguments beside them.
type sendGridEvent struct {
	Email       string      `json:"email"`
	Timestamp   json.Number `json:"timestamp"`
	Event       string      `json:"event"`
	SGEventID   string      `json:"sg_event_id"`
	SGMessageID string      `json:"sg_message_id"`
	Reason      string      `json:"reason"`
	MessageID   any         `json:"sa_message_id"`
}

// ParseSendGridEvents reads an Event Webhook body (a JSON array of events) into Events: MessageID from
// the custom argument sa_message_id, ProviderID the sg_message_id's X-Message-Id part, EventID the
// sg_event_id (repeats of an event share it), Raw the event's name, Recipient the address, At its time.
// Statuses: processed → queued; deferred → sent (SendGrid keeps trying); delivered → delivered;
// open → read; bounce, dropped → failed with the reason. click, spamreport, unsubscribe and
// group_unsubscribe are no status; the last three set OptOut.
func ParseSendGridEvents(body []byte) ([]Event, error) {
	var raw []sendGridEvent
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("sendgrid events: %w", err)
	}
	out := make([]Event, 0, len(raw))
	for _, r := range raw {
		e := Event{
			ProviderID: SendGridProviderID(r.SGMessageID),
			EventID:    r.SGEventID,
			Raw:        r.Event,
			Recipient:  r.Email,
		}
		if s, ok := r.MessageID.(string); ok {
			e.MessageID = s
		}
		if r.Timestamp != "" {
			if sec, err := r.Timestamp.Int64(); err == nil {
				e.At = time.Unix(sec, 0).UTC()
			} else if f, err := r.Timestamp.Float64(); err == nil {
				e.At = time.Unix(0, int64(f*1e9)).UTC()
			}
		}
		switch r.Event {
		case "processed":
			e.Status = StatusQueued
		case "deferred":
			e.Status = StatusSent
		case "delivered":
			e.Status = StatusDelivered
		case "open":
			e.Status = StatusRead
		case "bounce", "dropped":
			e.Status, e.Reason = StatusFailed, r.Reason
		case "unsubscribe", "group_unsubscribe", "spamreport":
			e.OptOut = true
		}
		out = append(out, e)
	}
	return out, nil
}
