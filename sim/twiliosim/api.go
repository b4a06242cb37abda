package twiliosim

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/signetassure/signetassure/sim/kit"
)

const apiVersion = "2010-04-01"

// routes builds the mux: the Twilio API, the control API and the page.
func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	const messages = "/2010-04-01/Accounts/{AccountSid}/Messages"
	mux.HandleFunc("POST "+messages+".json", s.api(true, s.createMessage))
	mux.HandleFunc("GET "+messages+".json", s.api(false, s.listMessages))
	mux.HandleFunc("GET "+messages+"/{file}", s.api(false, s.fetchMessage))
	mux.HandleFunc("/2010-04-01/", s.api(false, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
	}))
	s.controlRoutes(mux)
	return mux
}

// apiError is Twilio's error JSON.
type apiError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	kit.WriteJSON(w, status, apiError{Code: code, Message: msg, MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), Status: status})
}

// reject refuses a send and counts it.
func (s *Sim) reject(w http.ResponseWriter, status, code int, msg string) {
	s.mu.Lock()
	s.stats.Rejected[code]++
	s.mu.Unlock()
	writeError(w, status, code, msg)
}

// api wraps a Twilio API route: the latency fault, then HTTP basic auth for the account in the path.
func (s *Sim) api(send bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		latency := time.Duration(s.faults.LatencyMs) * time.Millisecond
		s.mu.Unlock()
		if !kit.SleepRequest(r, s.ctx, latency) {
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.AccountSID)) != 1 ||
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.opts.AuthToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
			if send {
				s.reject(w, http.StatusUnauthorized, CodeAuthenticate, "Authenticate")
			} else {
				writeError(w, http.StatusUnauthorized, CodeAuthenticate, "Authenticate")
			}
			return
		}
		if acct := r.PathValue("AccountSid"); acct != "" && acct != s.opts.AccountSID {
			writeError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
			return
		}
		h(w, r)
	}
}

// createMessage serves POST Messages.json.
func (s *Sim) createMessage(w http.ResponseWriter, r *http.Request) {
	if l := s.limiter.Load(); l != nil && !l.Allow() {
		s.reject(w, http.StatusTooManyRequests, CodeTooManyRequests, "Too Many Requests")
		return
	}
	s.mu.Lock()
	fail := 0
	switch f := &s.faults; {
	case f.FailNext > 0:
		f.FailNext--
		fail = f.FailStatus
	case s.chance(f.FailRate):
		fail = f.FailStatus
	}
	s.mu.Unlock()
	switch fail {
	case http.StatusInternalServerError:
		s.reject(w, fail, CodeInternal, "An internal server error has occurred")
		return
	case http.StatusServiceUnavailable:
		s.reject(w, fail, CodeUnavailable, "Service unavailable")
		return
	}
	if err := r.ParseForm(); err != nil {
		s.reject(w, http.StatusBadRequest, 20001, "The request could not be read")
		return
	}
	m, aerr := s.newMessage(r.PostForm)
	if aerr != nil {
		s.reject(w, aerr.Status, aerr.Code, aerr.Message)
		return
	}

	now := time.Now().UTC()
	s.mu.Lock()
	if m.Channel == "sms" && s.optOut[m.number()] {
		s.mu.Unlock()
		s.reject(w, http.StatusBadRequest, CodeOptedOut, "Attempt to send to unsubscribed recipient")
		return
	}
	f := &s.faults
	hang := false
	switch {
	case f.TimeoutAfterSaveNext > 0:
		f.TimeoutAfterSaveNext--
		hang = true
	case s.chance(f.TimeoutAfterSaveRate):
		hang = true
	}
	hangFor := time.Duration(f.TimeoutMs) * time.Millisecond
	if hangFor <= 0 {
		hangFor = defaultHangMs * time.Millisecond
	}
	switch {
	case slices.Contains(f.Unreachable, m.number()):
		m.outcome, m.outcomeCode, m.outcomeReason = "undelivered", CodeUnreachable, "Unreachable destination handset"
	case s.chance(f.DeliveryFailRate):
		m.outcome, m.outcomeCode, m.outcomeReason = "failed", CodeUnknown, "Unknown error"
	case f.WhatsAppSession && m.Channel == "whatsapp" && m.ContentSid == "" &&
		now.Sub(s.lastInbound[m.number()]) > 24*time.Hour:
		m.outcome, m.outcomeCode = "failed", CodeOutsideSession
		m.outcomeReason = "Message failed to send because more than 24 hours have passed since the customer last replied to this number"
	}
	s.seq++
	m.seq = s.seq
	m.Created, m.Updated = now, now
	s.setStatus(m, "queued", now)
	s.msgs[m.Sid] = m
	s.order = append(s.order, m)
	s.byTo[m.To] = append(s.byTo[m.To], m)
	from := strings.TrimPrefix(m.From, "whatsapp:")
	s.lastSender[m.number()] = from
	if s.firstFrom == "" {
		s.firstFrom = from
	}
	s.stats.Accepted++
	s.stats.PerRecipient[m.To]++
	key := m.To + "\x00" + m.ContentSid + "\x00" + m.Body
	s.pairs[key]++
	if n := s.pairs[key]; n > 1 {
		s.stats.DuplicateSends++
		if n == 2 {
			s.stats.Duplicates++
		}
	}
	if hang {
		s.stats.TimedOutAfterSave++
	}
	body := s.wire(m)
	posts := s.statusPosts(m)
	delay := time.Duration(f.DeliveryDelayMs) * time.Millisecond
	s.mu.Unlock()

	if len(posts) > 0 {
		s.queue.Schedule(now, &job{kind: jobPosts, posts: posts})
	}
	s.queue.Schedule(now.Add(delay), &job{kind: jobAdvance, sid: m.Sid})
	if hang {
		// The message is saved; the answer waits until the client gives up.
		kit.SleepRequest(r, s.ctx, hangFor)
	}
	kit.WriteJSON(w, http.StatusCreated, body)
}

// newMessage reads and checks a send's form.
func (s *Sim) newMessage(form url.Values) (*Message, *apiError) {
	bad := func(code int, msg string) (*Message, *apiError) {
		return nil, &apiError{Status: http.StatusBadRequest, Code: code, Message: msg}
	}
	to := strings.TrimSpace(form.Get("To"))
	if to == "" {
		return bad(CodeToRequired, "A 'To' phone number is required.")
	}
	m := &Message{Sid: newSid("SM"), Channel: "sms", PriceUnit: PriceUnit}
	number, wa := strings.CutPrefix(to, "whatsapp:")
	if wa {
		m.Channel = "whatsapp"
	}
	n, ok := e164(number)
	if !ok {
		return bad(CodeInvalidTo, "Invalid 'To' Phone Number: "+to)
	}
	m.To = address(m.Channel, n)

	from, svc := strings.TrimSpace(form.Get("From")), strings.TrimSpace(form.Get("MessagingServiceSid"))
	if from == "" && svc == "" {
		return bad(CodeFromRequired, "A 'From' phone number is required.")
	}
	if svc != "" {
		if !validSid(svc, "MG") {
			return bad(21701, "The Messaging Service Sid "+svc+" is invalid.")
		}
		m.MessagingServiceSid = svc
		if from == "" {
			from = address(m.Channel, s.opts.DefaultFrom)
		}
	}
	fromNumber, fromWA := strings.CutPrefix(from, "whatsapp:")
	if fromWA != wa {
		return bad(21910, "Invalid From and To pair. From and To should be of the same channel")
	}
	if e, ok := e164(fromNumber); ok {
		fromNumber = e
	}
	m.From = address(m.Channel, fromNumber)

	if cb := form.Get("StatusCallback"); cb != "" {
		u, err := url.Parse(cb)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad(21609, "Invalid StatusCallback url")
		}
		m.StatusCallback = cb
	}

	if sid := strings.TrimSpace(form.Get("ContentSid")); sid != "" {
		if !validSid(sid, "HX") {
			return bad(CodeInvalidContentSid, "Invalid Content SID: "+sid)
		}
		m.ContentSid = sid
		if v := form.Get("ContentVariables"); v != "" {
			if err := json.Unmarshal([]byte(v), &m.ContentVariables); err != nil {
				return bad(CodeInvalidVariables, "Content Variables parameter is invalid")
			}
		}
		m.Body = s.render(sid, m.ContentVariables)
	} else {
		m.Body = form.Get("Body")
		if m.Body == "" {
			return bad(CodeBodyRequired, "Message body is required.")
		}
		if utf8.RuneCountInString(m.Body) > 1600 {
			return bad(CodeBodyTooLong, "The concatenated message body exceeds the 1600 character limit.")
		}
	}
	m.Segments = 1
	if m.Channel == "sms" {
		m.Segments = segments(m.Body)
	}
	return m, nil
}

// validSid reports whether sid is the prefix and 32 hex digits.
func validSid(sid, prefix string) bool {
	rest, ok := strings.CutPrefix(sid, prefix)
	if !ok || len(rest) != 32 {
		return false
	}
	for _, c := range rest {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// render is a template's text with its variables filled in.
func (s *Sim) render(sid string, vars map[string]string) string {
	keys := slices.SortedFunc(func(yield func(string) bool) {
		for k := range vars {
			if !yield(k) {
				return
			}
		}
	}, func(a, b string) int {
		na, ea := strconv.Atoi(a)
		nb, eb := strconv.Atoi(b)
		if ea == nil && eb == nil {
			return na - nb
		}
		return strings.Compare(a, b)
	})
	if text, ok := s.opts.Templates[sid]; ok {
		for _, k := range keys {
			text = strings.ReplaceAll(text, "{{"+k+"}}", vars[k])
		}
		return text
	}
	var b strings.Builder
	b.WriteString("[template " + sid + "]")
	for _, k := range keys {
		b.WriteString(" " + vars[k])
	}
	return b.String()
}

// e164 parses an international number ("+44...") and reports whether it is valid. Answers are cached
// (libphonenumber takes tens of microseconds a number).
func e164(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return "", false
	}
	if v, ok := numberCache.Load(s); ok {
		e := v.(string)
		return e, e != ""
	}
	e := ""
	if n, err := phonenumbers.Parse(s, ""); err == nil && phonenumbers.IsValidNumber(n) {
		e = phonenumbers.Format(n, phonenumbers.E164)
	}
	if numberCacheSize.Add(1) > numberCacheMax {
		numberCache.Clear()
		numberCacheSize.Store(0)
	}
	numberCache.Store(s, e)
	return e, e != ""
}

// numberCache holds e164's answers: number as written → E.164, or "" when invalid.
var (
	numberCache     sync.Map
	numberCacheSize atomic.Int64
)

const numberCacheMax = 100_000

func channelOf(whatsapp bool) string {
	if whatsapp {
		return "whatsapp"
	}
	return "sms"
}

// address is a number as Twilio writes it on the channel.
func address(channel, number string) string {
	if channel == "whatsapp" {
		return "whatsapp:" + number
	}
	return number
}

// GSM 03.38: the basic set, and the extension characters that take two septets.
const (
	gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsmExt   = "^{}\\[~]|€\f"
)

// segments counts an SMS body's segments: 160 GSM-7 septets in one, 153 per segment of a longer one; 70
// UCS-2 units in one, 67 per segment otherwise.
func segments(body string) int {
	septets, gsm := 0, true
	for _, r := range body {
		switch {
		case strings.ContainsRune(gsmBasic, r):
			septets++
		case strings.ContainsRune(gsmExt, r):
			septets += 2
		default:
			gsm = false
		}
	}
	if gsm {
		if septets <= 160 {
			return 1
		}
		return (septets + 152) / 153
	}
	units := len(utf16.Encode([]rune(body)))
	if units <= 70 {
		return 1
	}
	return (units + 66) / 67
}

// wireMessage is Twilio's Message resource.
type wireMessage struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                string            `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceUris     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// twilioTime writes a time as Twilio does: RFC 2822 in GMT, "Thu, 15 May 2026 10:04:05 +0000".
func twilioTime(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

// wire is m as the API shows it. Called with mu held.
func (s *Sim) wire(m *Message) wireMessage {
	uri := "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages/" + m.Sid
	w := wireMessage{
		AccountSid: s.opts.AccountSID, APIVersion: apiVersion, Body: m.Body,
		DateCreated: twilioTime(m.Created), DateUpdated: twilioTime(m.Updated), Direction: "outbound-api",
		From: m.From, NumMedia: "0", NumSegments: strconv.Itoa(m.Segments), PriceUnit: m.PriceUnit,
		Sid: m.Sid, Status: m.Status, To: m.To, URI: uri + ".json",
		SubresourceUris: map[string]string{"media": uri + "/Media.json", "feedback": uri + "/Feedback.json"},
	}
	if !m.Sent.IsZero() {
		d := twilioTime(m.Sent)
		w.DateSent = &d
	}
	if m.ErrorCode != 0 {
		c, msg := m.ErrorCode, m.ErrorMessage
		w.ErrorCode, w.ErrorMessage = &c, &msg
	}
	if m.MessagingServiceSid != "" {
		v := m.MessagingServiceSid
		w.MessagingServiceSid = &v
	}
	if m.Price != "" {
		p := m.Price
		w.Price = &p
	}
	return w
}

// fetchMessage serves GET Messages/{Sid}.json.
func (s *Sim) fetchMessage(w http.ResponseWriter, r *http.Request) {
	sid, ok := strings.CutSuffix(r.PathValue("file"), ".json")
	s.mu.Lock()
	m, found := s.msgs[sid]
	var body wireMessage
	if found {
		body = s.wire(m)
		found = !slices.Contains(s.faults.Lost, m.number())
	}
	s.mu.Unlock()
	if !ok || !found {
		writeError(w, http.StatusNotFound, CodeNotFound, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	kit.WriteJSON(w, http.StatusOK, body)
}

// wirePage is a page of Twilio's message list.
type wirePage struct {
	FirstPageURI    string        `json:"first_page_uri"`
	End             int           `json:"end"`
	PreviousPageURI *string       `json:"previous_page_uri"`
	Messages        []wireMessage `json:"messages"`
	URI             string        `json:"uri"`
	PageSize        int           `json:"page_size"`
	Start           int           `json:"start"`
	NextPageURI     *string       `json:"next_page_uri"`
	Page            int           `json:"page"`
}

// day reads a DateSent filter, a date or a date-time, as its UTC calendar date.
func day(v string) (string, bool) {
	if v == "" {
		return "", false
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC().Format(time.DateOnly), true
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.Format(time.DateOnly), true
	}
	return "", false
}

// listMessages serves GET Messages.json: outgoing messages, newest first, filtered and paged.
func (s *Sim) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filters := url.Values{}
	to := q.Get("To")
	if to != "" {
		filters.Set("To", to)
		n, wa := strings.CutPrefix(to, "whatsapp:")
		if e, ok := e164(n); ok {
			to = address(channelOf(wa), e)
		}
	}
	from := q.Get("From")
	if from != "" {
		filters.Set("From", from)
		n, wa := strings.CutPrefix(from, "whatsapp:")
		if e, ok := e164(n); ok {
			from = address(channelOf(wa), e)
		}
	}
	var on, before, after string
	for _, f := range []struct {
		key string
		dst *string
	}{{"DateSent", &on}, {"DateSent<", &before}, {"DateSent>", &after}} {
		if v := q.Get(f.key); v != "" {
			d, ok := day(v)
			if !ok {
				writeError(w, http.StatusBadRequest, 20001, "Invalid "+f.key+" filter: "+v)
				return
			}
			*f.dst = d
			filters.Set(f.key, v)
		}
	}
	size := 50
	if v := q.Get("PageSize"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			size = min(n, 1000)
		}
	}
	page, _ := strconv.Atoi(q.Get("Page"))
	page = max(page, 0)
	token := strings.TrimPrefix(q.Get("PageToken"), "PA")

	s.mu.Lock()
	src := s.order
	if to != "" {
		src = s.byTo[to]
	}
	out := make([]wireMessage, 0, min(size, len(src)))
	skip := page * size
	skipping := token != ""
	more := false
	for i := len(src) - 1; i >= 0; i-- {
		m := src[i]
		if skipping {
			skipping = m.Sid != token
			continue
		}
		if (to != "" && m.To != to) || (from != "" && m.From != from) {
			continue
		}
		d := m.Created
		if !m.Sent.IsZero() {
			d = m.Sent
		}
		ds := d.UTC().Format(time.DateOnly)
		if (on != "" && ds != on) || (before != "" && ds > before) || (after != "" && ds < after) {
			continue
		}
		if token == "" && skip > 0 {
			skip--
			continue
		}
		if len(out) == size {
			more = true
			break
		}
		out = append(out, s.wire(m))
	}
	s.mu.Unlock()

	path := "/2010-04-01/Accounts/" + s.opts.AccountSID + "/Messages.json"
	uri := func(extra url.Values) string {
		v := url.Values{}
		for k, vs := range filters {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(size))
		for k, vs := range extra {
			v[k] = vs
		}
		return path + "?" + v.Encode()
	}
	resp := wirePage{
		FirstPageURI: uri(url.Values{"Page": {"0"}}),
		URI:          uri(url.Values{"Page": {strconv.Itoa(page)}}),
		Messages:     out,
		PageSize:     size,
		Page:         page,
		Start:        page * size,
		End:          page*size + max(len(out)-1, 0),
	}
	if more {
		next := uri(url.Values{"Page": {strconv.Itoa(page + 1)}, "PageToken": {"PA" + out[len(out)-1].Sid}})
		resp.NextPageURI = &next
	}
	kit.WriteJSON(w, http.StatusOK, resp)
}
