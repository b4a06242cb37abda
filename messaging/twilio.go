package messaging

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/signetassure/signetassure/tracing"
)

// TwilioSignatureHeader carries the signature of Twilio's webhooks (status callbacks and inbound
// messages).
const TwilioSignatureHeader = "X-Twilio-Signature"

// TwilioMessageIDParam is the query parameter of the status callback URL that carries our message id.
const TwilioMessageIDParam = "m"

// TwilioConfig configures the Twilio provider.
type TwilioConfig struct {
	AccountSID, AuthToken string
	// From is the SMS sender: an E.164 number (or alphanumeric sender id), or a Messaging Service SID
	// ("MG..."), which then also sends WhatsApp messages when WhatsAppFrom is empty.
	From string
	// WhatsAppFrom is the WhatsApp sender, an E.164 number without the whatsapp: prefix.
	WhatsAppFrom string
	// BaseURL is "" for https://api.twilio.com, or another server speaking the same API (the simulator,
	// e.g. http://127.0.0.1:8093). A path in it prefixes every request's path.
	BaseURL string
	// StatusCallback is the full public URL of our status webhook, e.g.
	// https://sa.example/api/v1/messaging/twilio/status; each message adds ?m=<message id>. Empty: no
	// status callbacks are asked for.
	StatusCallback string
}

// Twilio is the SMS and WhatsApp provider. It speaks Twilio's Programmable Messaging API through the
// twilio-go SDK. The SDK takes no context: every call runs on an HTTP client of its own whose transport
// carries the caller's context (cancellation and deadline), the configured timeout, and, when BaseURL is
// set, sends api.twilio.com's requests to that server instead.
type Twilio struct {
	cfg     TwilioConfig
	hc      *http.Client
	base    *url.URL // nil: the real api.twilio.com
	timeout time.Duration
}

var _ Provider = (*Twilio)(nil)

// NewTwilio returns the provider. hc's Transport carries every request and its Timeout bounds each call
// (requests of one Find included); nil means the default transport and a 30 s timeout. Redirects are
// never followed. The caller's context deadline applies too.
func NewTwilio(cfg TwilioConfig, hc *http.Client) *Twilio {
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	t := &Twilio{cfg: cfg, hc: hc, timeout: hc.Timeout}
	if b := strings.TrimRight(cfg.BaseURL, "/"); b != "" {
		if u, err := url.Parse(b); err == nil && u.Host != "" {
			t.base = u
		}
	}
	return t
}

// twilioCall is what the transport saw of one SDK call.
type twilioCall struct {
	wrote  atomic.Bool  // a request was written whole: the server may have acted on it
	status atomic.Int32 // the last answer's HTTP status
}

// twilioTransport carries one call's requests: with the call's context, traced, and rewritten to
// BaseURL.
type twilioTransport struct {
	ctx  context.Context
	next http.RoundTripper
	base *url.URL
	call *twilioCall
}

func (t *twilioTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			t.call.wrote.Store(true)
		}
	}}
	r := req.Clone(httptrace.WithClientTrace(t.ctx, trace))
	if t.base != nil && isTwilioHost(r.URL.Hostname()) {
		r.URL.Scheme, r.URL.Host = t.base.Scheme, t.base.Host
		if p := strings.TrimRight(t.base.Path, "/"); p != "" {
			r.URL.Path = p + r.URL.Path
			r.URL.RawPath = ""
		}
		r.Host = ""
	}
	resp, err := t.next.RoundTrip(r)
	if resp != nil {
		t.call.status.Store(int32(resp.StatusCode))
	}
	return resp, err
}

func isTwilioHost(h string) bool { return h == "twilio.com" || strings.HasSuffix(h, ".twilio.com") }

// api returns the SDK's API service for one call, bound to ctx, with what the call saw. Call done when
// the call has returned.
func (t *Twilio) api(ctx context.Context) (api *openapi.ApiService, call *twilioCall, cctx context.Context, done func()) {
	cctx, done = ctx, func() {}
	if t.timeout > 0 {
		cctx, done = context.WithTimeout(ctx, t.timeout)
	}
	next := tracing.Transport(t.hc.Transport)
	call = &twilioCall{}
	hc := &http.Client{
		Transport:     &twilioTransport{ctx: cctx, next: next, base: t.base, call: call},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Jar:           t.hc.Jar,
	}
	c := &client.Client{Credentials: client.NewCredentials(t.cfg.AccountSID, t.cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(t.cfg.AccountSID)
	return openapi.NewApiServiceWithClient(c), call, cctx, done
}

// twilioAddress is a number as Twilio addresses it on ch: whatsapp:+44... for WhatsApp.
func twilioAddress(ch Channel, number string) string {
	if ch == WhatsApp && !strings.HasPrefix(number, "whatsapp:") {
		return "whatsapp:" + number
	}
	return number
}

// sender is the From address, or the Messaging Service SID, that sends on ch.
func (t *Twilio) sender(ch Channel) (from, service string) {
	switch {
	case ch == WhatsApp && t.cfg.WhatsAppFrom != "":
		return twilioAddress(WhatsApp, t.cfg.WhatsAppFrom), ""
	case strings.HasPrefix(t.cfg.From, "MG"):
		return "", t.cfg.From
	case ch == WhatsApp:
		return "", ""
	}
	return t.cfg.From, ""
}

func (t *Twilio) checkChannel(m Outgoing) error {
	switch m.Channel {
	case SMS, WhatsApp:
	default:
		return &Error{Kind: Invalid, Message: fmt.Sprintf("twilio: channel %q is not served", m.Channel)}
	}
	if from, service := t.sender(m.Channel); from == "" && service == "" {
		return &Error{Kind: Invalid, Message: fmt.Sprintf("twilio: no sender configured for %s", m.Channel)}
	}
	return nil
}

// Send hands m over with CreateMessage: to m.To (whatsapp:-prefixed on WhatsApp), from the configured
// sender or Messaging Service, with m.Body, or m.ContentSID and m.ContentVariables (as JSON) for a
// template, and the status callback URL carrying m.ID.
func (t *Twilio) Send(ctx context.Context, m Outgoing) (Receipt, error) {
	if err := t.checkChannel(m); err != nil {
		return Receipt{}, err
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(twilioAddress(m.Channel, m.To))
	from, service := t.sender(m.Channel)
	if from != "" {
		p.SetFrom(from)
	}
	if service != "" {
		p.SetMessagingServiceSid(service)
	}
	if m.ContentSID != "" {
		p.SetContentSid(m.ContentSID)
		if len(m.ContentVariables) > 0 {
			b, err := json.Marshal(m.ContentVariables)
			if err != nil {
				return Receipt{}, &Error{Kind: Invalid, Message: "twilio: content variables: " + err.Error()}
			}
			p.SetContentVariables(string(b))
		}
	} else {
		p.SetBody(m.Body)
	}
	if cb := t.statusCallback(m.ID); cb != "" {
		p.SetStatusCallback(cb)
	}
	api, call, cctx, done := t.api(ctx)
	defer done()
	msg, err := api.CreateMessage(p)
	if err != nil {
		return Receipt{}, twilioError(cctx, call, err, true)
	}
	r := twilioReceipt(msg)
	if r.Status == "" {
		r.Status = StatusQueued
	}
	return r, nil
}

// statusCallback is the configured status callback URL with the message id added as m.
func (t *Twilio) statusCallback(id string) string {
	cb := t.cfg.StatusCallback
	if cb == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(cb, "?") {
		sep = "&"
	}
	return cb + sep + TwilioMessageIDParam + "=" + url.QueryEscape(id)
}

// twilioFindPageSize and twilioFindMaxPages bound the search of Find.
const (
	twilioFindPageSize = 100
	twilioFindMaxPages = 20
)

// Find lists the messages to m.To (with the whatsapp: prefix on WhatsApp) sent from one minute before
// m.FirstAttempt on (the last 24 hours when it is zero), newest first, and returns the newest from the
// configured sender (or Messaging Service) with m's body. Twilio filters DateSent by calendar date only,
// so the times are checked here, on date_created.
//
// A template's body is rendered by Twilio and cannot be compared: a template message matches when its
// body contains every value of m.ContentVariables (any message from the sender in the window, when it has
// none).
func (t *Twilio) Find(ctx context.Context, m Outgoing) (Receipt, bool, error) {
	if err := t.checkChannel(m); err != nil {
		return Receipt{}, false, err
	}
	since := m.FirstAttempt
	if since.IsZero() {
		since = time.Now().Add(-24 * time.Hour)
	}
	since = since.Add(-time.Minute).UTC()
	to := twilioAddress(m.Channel, m.To)
	from, service := t.sender(m.Channel)

	api, call, cctx, done := t.api(ctx)
	defer done()
	p := &openapi.ListMessageParams{}
	p.SetTo(to)
	if from != "" {
		p.SetFrom(from)
	}
	p.SetDateSentAfter(since)
	p.SetPageSize(twilioFindPageSize)

	var best *openapi.ApiV2010Message
	var bestAt time.Time
	pageToken, pageNumber := "", ""
	for range twilioFindMaxPages {
		page, err := api.PageMessage(p, pageToken, pageNumber)
		if err != nil {
			return Receipt{}, false, twilioError(cctx, call, err, false)
		}
		// The list is newest first: once a page ends before the window, the next ones hold nothing for us.
		older := false
		for i := range page.Messages {
			msg := &page.Messages[i]
			created, ok := twilioTime(msg.DateCreated)
			if ok && created.Before(since) {
				older = i == len(page.Messages)-1
				continue
			}
			if !t.matches(msg, m, to, from, service) {
				continue
			}
			if best == nil || (ok && created.After(bestAt)) {
				best, bestAt = msg, created
			}
		}
		if older || page.NextPageUri == nil || *page.NextPageUri == "" {
			break
		}
		next, err := url.Parse(*page.NextPageUri)
		if err != nil {
			break
		}
		q := next.Query()
		pageToken, pageNumber = q.Get("PageToken"), q.Get("Page")
		if pageToken == "" && pageNumber == "" {
			break
		}
	}
	if best == nil {
		return Receipt{}, false, nil
	}
	r := twilioReceipt(best)
	return r, true, nil
}

// matches reports whether msg is m as Send would have handed it over.
func (t *Twilio) matches(msg *openapi.ApiV2010Message, m Outgoing, to, from, service string) bool {
	if d := deref(msg.Direction); d != "" && !strings.HasPrefix(d, "outbound") {
		return false
	}
	if deref(msg.To) != to {
		return false
	}
	if from != "" && deref(msg.From) != from {
		return false
	}
	if service != "" && deref(msg.MessagingServiceSid) != service {
		return false
	}
	body := deref(msg.Body)
	if m.ContentSID == "" {
		return body == m.Body
	}
	for _, v := range m.ContentVariables {
		if !strings.Contains(body, v) {
			return false
		}
	}
	return true
}

// Fetch reads the message with FetchMessage; its price is known once it has been sent.
func (t *Twilio) Fetch(ctx context.Context, providerID string) (Receipt, error) {
	if providerID == "" {
		return Receipt{}, &Error{Kind: Invalid, Message: "twilio: no message sid"}
	}
	api, call, cctx, done := t.api(ctx)
	defer done()
	msg, err := api.FetchMessage(providerID, nil)
	if err != nil {
		return Receipt{}, twilioError(cctx, call, err, false)
	}
	return twilioReceipt(msg), nil
}

// twilioReceipt reads a Message resource.
func twilioReceipt(msg *openapi.ApiV2010Message) Receipt {
	r := Receipt{
		ProviderID: deref(msg.Sid),
		Status:     MapTwilioStatus(deref(msg.Status)),
		Price:      deref(msg.Price),
		PriceUnit:  strings.ToUpper(deref(msg.PriceUnit)),
		Error:      deref(msg.ErrorMessage),
	}
	if r.Price == "" {
		r.PriceUnit = ""
	}
	if n, err := strconv.Atoi(deref(msg.NumSegments)); err == nil {
		r.Segments = n
	}
	if msg.ErrorCode != nil {
		r.ErrorCode = *msg.ErrorCode
	}
	return r
}

// twilioTime reads Twilio's RFC 2822 date-times ("Thu, 15 May 2026 10:04:05 +0000").
func twilioTime(s *string) (time.Time, bool) {
	if s == nil || *s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC1123Z, time.RFC1123, time.RFC3339} {
		if t, err := time.Parse(layout, *s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Twilio error codes the provider distinguishes.
const (
	twilioCodeAuthenticate   = 20003 // 401: the credentials were refused
	twilioCodeTooMany        = 20429 // 429: too many requests
	twilioCodeInvalidTo      = 21211 // the To number is not a valid phone number
	twilioCodeBadUsername    = 21222 // the SDK refused the account sid (it never left)
	twilioCodeBadPassword    = 21224 // the SDK refused the auth token (it never left)
	twilioCodeNotAllowedTo   = 21408 // no permission to send to this region
	twilioCodeOptedOut       = 21610 // the recipient said STOP
	twilioCodeNotMobile      = 21614 // the To number is not a mobile number
	twilioCodeWhatsAppWindow = 63016 // WhatsApp free-form message outside the 24-hour session
)

// twilioError maps what a failed SDK call returned onto an *Error. send says the call was a
// CreateMessage, whose failure may be ambiguous.
func twilioError(ctx context.Context, call *twilioCall, err error, send bool) error {
	var re *client.TwilioRestError
	if errors.As(err, &re) {
		status := re.Status
		if status == 0 {
			status = int(call.status.Load())
		}
		if re.Code == twilioCodeBadUsername || re.Code == twilioCodeBadPassword {
			return &Error{Kind: Refused, Code: re.Code, Message: "twilio: " + re.Message}
		}
		return twilioRestError(status, re.Code, re.Message, send)
	}
	var v1 *client.RestErrorV1
	if errors.As(err, &v1) {
		return twilioRestError(v1.HttpStatusCode, v1.Code, v1.Message, send)
	}
	if st := int(call.status.Load()); st != 0 {
		if st >= 400 {
			// An error answer that was no Twilio error JSON (a proxy's page, say).
			return twilioRestError(st, 0, http.StatusText(st), send)
		}
		if ctx.Err() == nil {
			// A success (or a redirect) whose body could not be read: the call was carried out.
			return &Error{Kind: Transient, Code: st, Message: "twilio: unreadable answer: " + err.Error(), Ambiguous: send}
		}
	}
	return &Error{Kind: Transient, Message: "twilio: " + networkError(err), Ambiguous: send && call.wrote.Load()}
}

// twilioRestError maps Twilio's error answers: see the Kind constants.
func twilioRestError(status, code int, msg string, send bool) *Error {
	e := &Error{Code: code, Message: "twilio: " + twilioNumbers.ReplaceAllString(msg, "[number]")}
	if code == 0 {
		e.Code = status
	}
	switch {
	case code == twilioCodeOptedOut:
		e.Kind = OptedOut
	case status == http.StatusUnauthorized || status == http.StatusForbidden || code == twilioCodeAuthenticate:
		e.Kind = Refused
	case status == http.StatusTooManyRequests || code == twilioCodeTooMany:
		e.Kind = RateLimited
	case status >= 500:
		// A gateway that gave up waiting for Twilio leaves it unknown whether the message was taken.
		e.Kind, e.Ambiguous = Transient, send && status == http.StatusGatewayTimeout
	case code == twilioCodeInvalidTo, code == twilioCodeNotMobile, code == twilioCodeNotAllowedTo,
		code == twilioCodeWhatsAppWindow, status >= 400:
		e.Kind = Invalid
	default:
		e.Kind = Transient
	}
	return e
}

// twilioNumbers finds phone numbers in Twilio's error messages ("Invalid 'To' Phone Number: +4412..."),
// which are kept out of ours: they end up in logs.
var twilioNumbers = regexp.MustCompile(`\+\d[\d \-()]*\d|\d{6,}`)

// networkError describes a transport failure without the request's URL (which can carry a phone
// number in its query).
func networkError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout: " + err.Error()
	}
	return err.Error()
}

// MapTwilioStatus maps Twilio's MessageStatus onto ours; "" for words it does not know (receiving,
// received: inbound messages).
func MapTwilioStatus(s string) Status {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "accepted", "scheduled", "queued":
		return StatusQueued
	case "sending", "sent":
		return StatusSent
	case "delivered":
		return StatusDelivered
	case "read":
		return StatusRead
	case "undelivered":
		return StatusUndelivered
	case "failed", "canceled":
		return StatusFailed
	}
	return ""
}

// VerifyTwilio checks a Twilio webhook's X-Twilio-Signature: fullURL is the public URL Twilio called
// (scheme, host, path and query, as configured at Twilio), form the POSTed form fields.
func VerifyTwilio(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	params := make(map[string]string, len(form))
	multi := false
	for k, v := range form {
		if len(v) > 0 {
			params[k] = v[0]
		}
		multi = multi || len(v) > 1
	}
	v := client.NewRequestValidator(authToken)
	if v.Validate(fullURL, params, signature) {
		return true
	}
	// The library's validator takes one value per field; Twilio signs every value of a repeated field.
	return multi && hmac.Equal([]byte(SignTwilio(authToken, fullURL, form)), []byte(signature))
}

// SignTwilio signs a webhook as Twilio does: base64(HMAC-SHA1(auth token, fullURL followed by each form
// field's name and value, sorted by name, then value)).
func SignTwilio(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := hmac.New(sha1.New, []byte(authToken))
	h.Write([]byte(fullURL))
	for _, k := range keys {
		vals := slices.Clone(form[k])
		sort.Strings(vals)
		for _, v := range vals {
			h.Write([]byte(k))
			h.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// ParseTwilioStatus reads a status callback's form. messageID is our message id, from the m query
// parameter of the callback URL. The event id is MessageSid:MessageStatus(:ErrorCode), the same for every
// repeat of one callback.
func ParseTwilioStatus(messageID string, form url.Values) (Event, error) {
	sid := firstOf(form, "MessageSid", "SmsSid")
	raw := firstOf(form, "MessageStatus", "SmsStatus")
	if sid == "" || raw == "" {
		return Event{}, fmt.Errorf("twilio status callback: MessageSid and MessageStatus are required")
	}
	ev := Event{
		MessageID:  messageID,
		ProviderID: sid,
		EventID:    sid + ":" + raw,
		Status:     MapTwilioStatus(raw),
		Raw:        raw,
		Reason:     form.Get("ErrorMessage"),
		At:         time.Now().UTC(),
		Recipient:  strings.TrimPrefix(form.Get("To"), "whatsapp:"),
	}
	if c := strings.TrimSpace(form.Get("ErrorCode")); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil {
			return Event{}, fmt.Errorf("twilio status callback: ErrorCode %q is not a number", c)
		}
		if n != 0 {
			ev.ErrorCode = n
			ev.EventID += ":" + c
			ev.OptOut = n == twilioCodeOptedOut
		}
	}
	return ev, nil
}

// ParseTwilioInbound reads an incoming message's form: WhatsApp when From has the whatsapp: prefix
// (stripped from From and To).
func ParseTwilioInbound(form url.Values) (Inbound, error) {
	sid := firstOf(form, "MessageSid", "SmsMessageSid", "SmsSid")
	from := form.Get("From")
	if sid == "" || from == "" {
		return Inbound{}, fmt.Errorf("twilio inbound message: MessageSid and From are required")
	}
	in := Inbound{
		ProviderID:  sid,
		Channel:     SMS,
		From:        from,
		To:          strings.TrimPrefix(form.Get("To"), "whatsapp:"),
		Body:        form.Get("Body"),
		ProfileName: form.Get("ProfileName"),
		At:          time.Now().UTC(),
	}
	if f, ok := strings.CutPrefix(from, "whatsapp:"); ok {
		in.Channel, in.From = WhatsApp, f
	}
	return in, nil
}

func firstOf(form url.Values, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(form.Get(k)); v != "" {
			return v
		}
	}
	return ""
}
