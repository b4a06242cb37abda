package sendgridsim

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// maxMailBody is the largest Mail Send body SendGrid takes (30 MB).
const maxMailBody = 30 << 20

// message is one recipient of an accepted Mail Send request.
type message struct {
	xid, msgID, smtpID string
	accepted           time.Time
	from, fromName, to string
	subject            string
	text, html         string
	content            []ContentPart // as given, in order
	templateID         string
	templateData       string
	customArgs         map[string]string
	categories         []string
	status             string // processed, deferred, delivered, bounce, dropped
	events             []EventRecord
	opens, clicks      int
	lastEvent          time.Time
}

func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.api(mux, "POST /v3/mail/send", s.mailSend)
	s.api(mux, "GET /v3/messages", s.listMessages)
	s.api(mux, "GET /v3/messages/{msg_id}", s.getMessage)
	s.control(mux)
	return mux
}

// apiError is one entry of SendGrid's {"errors": [...]}.
type apiError struct {
	Message string  `json:"message"`
	Field   *string `json:"field"`
	Help    *string `json:"help"`
}

// errorsHelp is the page SendGrid's Mail Send errors link to; a field's error links to its anchor.
const errorsHelp = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"

// fieldError is an error without a help link (help null), as SendGrid answers a refused key, a limit or
// a failure of its own.
func fieldError(field, msg string) apiError {
	e := apiError{Message: msg}
	if field != "" {
		e.Field = &field
	}
	return e
}

// mailError is a Mail Send validation error: it carries a help link (a string), as documented.
func mailError(field, msg string) apiError {
	e := fieldError(field, msg)
	help := errorsHelp + "#message." + field
	e.Help = &help
	return e
}

func writeErrors(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// api registers a /v3 route behind the faults and the API key.
func (s *Sim) api(mux *http.ServeMux, route string, h http.HandlerFunc) {
	mailSend := strings.HasSuffix(route, "/mail/send")
	mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		latency, fail := s.roll()
		if !kit.SleepRequest(r, s.ctx, latency) {
			return
		}
		switch fail {
		case "429":
			w.Header().Set("X-RateLimit-Limit", "600")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
			writeErrors(w, http.StatusTooManyRequests, fieldError("", "too many requests"))
			return
		case "500":
			writeErrors(w, http.StatusInternalServerError, fieldError("", "internal error"))
			return
		case "503":
			w.Header().Set("Retry-After", "1")
			writeErrors(w, http.StatusServiceUnavailable, fieldError("", "service unavailable"))
			return
		}
		if msg := s.unauthorised(r); msg != "" {
			if mailSend {
				s.count(func(st *Stats) { st.Rejected++ })
			}
			writeErrors(w, http.StatusUnauthorized, fieldError("", msg))
			return
		}
		h(w, r)
	})
}

// roll counts an API call and throws the dice for it.
func (s *Sim) roll() (latency time.Duration, fail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	f := &s.faults
	latency = time.Duration(f.LatencyMs) * time.Millisecond
	switch {
	case f.FailNext > 0:
		f.FailNext--
		fail = s.failKind()
	case f.FailRate > 0 && s.rng.Float64() < f.FailRate:
		fail = s.failKind()
	}
	if fail != "" {
		s.stats.Faulted++
	}
	return latency, fail
}

// failKind picks how a call fails. Called with mu held.
func (s *Sim) failKind() string {
	kinds := s.faults.FailKinds
	if len(kinds) == 0 {
		kinds = []string{"500", "503"}
	}
	return kinds[s.rng.IntN(len(kinds))]
}

func (s *Sim) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

// unauthorised says why the request's API key is refused, or "".
func (s *Sim) unauthorised(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "authorization required"
	}
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" || (s.opts.APIKey != "" && key != s.opts.APIKey) {
		return "The provided authorization grant is invalid, expired, or revoked"
	}
	return ""
}

// v3Mail is the part of a Mail Send body the simulator reads.
type v3Mail struct {
	From             *v3Address          `json:"from"`
	Subject          string              `json:"subject"`
	Personalizations []v3Personalization `json:"personalizations"`
	Content          []ContentPart       `json:"content"`
	TemplateID       string              `json:"template_id"`
	CustomArgs       map[string]string   `json:"custom_args"`
	Categories       []string            `json:"categories"`
}

type v3Address struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

type v3Personalization struct {
	To                  []v3Address       `json:"to"`
	CC                  []v3Address       `json:"cc"`
	BCC                 []v3Address       `json:"bcc"`
	Subject             string            `json:"subject"`
	CustomArgs          map[string]string `json:"custom_args"`
	DynamicTemplateData map[string]any    `json:"dynamic_template_data"`
}

// validAddress is a bare e-mail address, as SendGrid wants it in an email field.
func validAddress(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	_, domain, _ := strings.Cut(s, "@")
	return domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// validate checks a Mail Send body as SendGrid does, naming each field in error.
func (m *v3Mail) validate() []apiError {
	var errs []apiError
	if m.From == nil || !validAddress(m.From.Email) {
		errs = append(errs, mailError("from.email", "The from email does not contain a valid address."))
	}
	if len(m.Personalizations) == 0 {
		errs = append(errs, mailError("personalizations",
			"The personalizations field is required and must have at least one personalization."))
	}
	recipients, everySubject := 0, true
	for i, p := range m.Personalizations {
		if len(p.To) == 0 {
			errs = append(errs, mailError(fmt.Sprintf("personalizations.%d.to", i),
				"The to array is required for all personalization objects, and must have at least one email object with a valid email address."))
		}
		for kind, list := range map[string][]v3Address{"to": p.To, "cc": p.CC, "bcc": p.BCC} {
			for j, a := range list {
				if !validAddress(a.Email) {
					errs = append(errs, mailError(fmt.Sprintf("personalizations.%d.%s.%d.email", i, kind, j),
						"Does not contain a valid address."))
				}
			}
		}
		recipients += len(p.To) + len(p.CC) + len(p.BCC)
		everySubject = everySubject && p.Subject != ""
	}
	if recipients > 1000 {
		errs = append(errs, mailError("personalizations", "The total number of recipients must be 1000 or fewer."))
	}
	if m.TemplateID == "" && m.Subject == "" && !(everySubject && len(m.Personalizations) > 0) {
		errs = append(errs, mailError("subject",
			"The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined."))
	}
	if m.TemplateID == "" && len(m.Content) == 0 {
		errs = append(errs, mailError("content",
			"Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required."))
	}
	for i, c := range m.Content {
		if c.Type == "" {
			errs = append(errs, mailError(fmt.Sprintf("content.%d.type", i), "The content type cannot be empty."))
		}
		// SendGrid takes text/plain first, then text/html, then anything else.
		if rank := contentRank(c.Type); i > 0 && rank < contentRank(m.Content[i-1].Type) {
			errs = append(errs, mailError(fmt.Sprintf("content.%d.type", i),
				"If present, text/plain and text/html may only be provided in this order, before any other content."))
		}
		if c.Value == "" {
			errs = append(errs, mailError(fmt.Sprintf("content.%d.value", i),
				"The content value must be a string at least one character in length."))
		}
	}
	slices.SortStableFunc(errs, func(a, b apiError) int { return cmp.Compare(deref(a.Field), deref(b.Field)) })
	return errs
}

// contentRank orders content parts as SendGrid wants them: text/plain, text/html, the rest.
func contentRank(typ string) int {
	switch strings.ToLower(typ) {
	case "text/plain":
		return 0
	case "text/html":
		return 1
	}
	return 2
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// mailSend is POST /v3/mail/send.
func (s *Sim) mailSend(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxMailBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.count(func(st *Stats) { st.Rejected++ })
			writeErrors(w, http.StatusRequestEntityTooLarge, fieldError("", "Payload Too Large"))
		}
		return
	}
	var m v3Mail
	if err := json.Unmarshal(raw, &m); err != nil {
		s.count(func(st *Stats) { st.Rejected++ })
		writeErrors(w, http.StatusBadRequest, fieldError("", "Bad Request: the body is not valid JSON for a mail send ("+err.Error()+")."))
		return
	}
	if errs := m.validate(); len(errs) > 0 {
		s.count(func(st *Stats) { st.Rejected++ })
		writeErrors(w, http.StatusBadRequest, errs...)
		return
	}
	xid, hang := s.accept(&m)
	w.Header().Set("X-Message-Id", xid)
	if hang {
		// Stored; the answer is held back until the client gives up: an ambiguous failure.
		kit.SleepRequest(r, s.ctx, s.hangTime())
	}
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) hangTime() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Duration(cmp.Or(s.faults.TimeoutMs, 30_000)) * time.Millisecond
}

// accept stores one message per recipient and schedules their events; hang says the answer is to be
// held back (Faults.SaveThenTimeout).
func (s *Sim) accept(m *v3Mail) (xid string, hang bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	xid = s.newID()
	smtpID := "<" + xid + "@ismtpd-sim.sendgrid.net>"
	text, html := "", ""
	for _, c := range m.Content {
		switch c.Type {
		case "text/plain":
			text = c.Value
		case "text/html":
			html = c.Value
		}
	}
	n := 0
	for _, p := range m.Personalizations {
		args := maps.Clone(m.CustomArgs)
		if args == nil {
			args = map[string]string{}
		}
		maps.Copy(args, p.CustomArgs)
		subject := cmp.Or(p.Subject, m.Subject)
		data := ""
		if len(p.DynamicTemplateData) > 0 {
			b, _ := json.MarshalIndent(p.DynamicTemplateData, "", "  ")
			data = string(b)
		}
		for _, list := range [][]v3Address{p.To, p.CC, p.BCC} {
			for _, a := range list {
				msg := &message{
					xid:          xid,
					msgID:        fmt.Sprintf("%s.filterdrecv-sim-%08x-%d.0", xid, s.requests, n),
					smtpID:       smtpID,
					accepted:     now,
					from:         m.From.Email,
					fromName:     m.From.Name,
					to:           a.Email,
					subject:      subject,
					text:         text,
					html:         html,
					content:      slices.Clone(m.Content),
					templateID:   m.TemplateID,
					templateData: data,
					customArgs:   args,
					categories:   slices.Clone(m.Categories),
					status:       "processed",
					lastEvent:    now,
				}
				n++
				s.messages = append(s.messages, msg)
				s.byMsgID[msg.msgID] = msg
				if _, ok := s.byXID[xid]; !ok {
					s.byXID[xid] = msg
				}
				s.stats.Recipients++
				if id := args["sa_message_id"]; id != "" {
					key := strings.ToLower(a.Email) + "\x00" + subject + "\x00" + id
					if s.seen[key] {
						s.stats.Duplicates++
					}
					s.seen[key] = true
				}
				s.plan(msg, now)
			}
		}
	}
	s.stats.Accepted++
	if f := s.faults.SaveThenTimeout; f > 0 && s.rng.Float64() < f {
		s.stats.TimedOut++
		hang = true
	}
	return xid, hang
}

// activityMessage is a message as the Email Activity API shows it.
type activityMessage struct {
	FromEmail     string           `json:"from_email"`
	MsgID         string           `json:"msg_id"`
	Subject       string           `json:"subject"`
	ToEmail       string           `json:"to_email"`
	Status        string           `json:"status"` // processed, delivered, not_delivered
	OpensCount    int              `json:"opens_count"`
	ClicksCount   int              `json:"clicks_count"`
	LastEventTime string           `json:"last_event_time"`
	TemplateID    string           `json:"template_id,omitempty"`
	Events        *[]activityEvent `json:"events,omitempty"` // GET /v3/messages/{msg_id} only: a list, empty before the first event
}

// activityDetail is a message as GET /v3/messages/{msg_id} shows it: the list's fields and events, and
// the documented rest of the record. template_id is there even when empty (mail without a template).
type activityDetail struct {
	activityMessage
	TemplateID     string   `json:"template_id"`
	AsmGroupID     int      `json:"asm_group_id"` // 0: the simulator's mail has no unsubscribe group
	Teammate       string   `json:"teammate"`     // "": not sent by a teammate
	APIKeyID       string   `json:"api_key_id"`
	OriginatingIP  string   `json:"originating_ip"`
	Categories     []string `json:"categories"`
	UniqueArgs     string   `json:"unique_args"` // the custom arguments as a JSON object, in a string
	OutboundIP     string   `json:"outbound_ip"`
	OutboundIPType string   `json:"outbound_ip_type"`
}

// The simulator's fixed values for what it does not track per message: the key and the addresses.
const (
	simAPIKeyID       = "SGsimulatorKeyId000001"
	simOriginatingIP  = "192.0.2.1"    // TEST-NET-1 (RFC 5737)
	simOutboundIP     = "198.51.100.7" // TEST-NET-2
	simOutboundIPType = "shared"
)

func (m *message) detail() activityDetail {
	args := "{}"
	if len(m.customArgs) > 0 {
		b, _ := json.Marshal(m.customArgs)
		args = string(b)
	}
	return activityDetail{activityMessage: m.activity(true), TemplateID: m.templateID, APIKeyID: simAPIKeyID,
		OriginatingIP: simOriginatingIP, Categories: append([]string{}, m.categories...), UniqueArgs: args,
		OutboundIP: simOutboundIP, OutboundIPType: simOutboundIPType}
}

type activityEvent struct {
	EventName string `json:"event_name"`
	Processed string `json:"processed"`
	Reason    string `json:"reason,omitempty"`
}

// activityStatus is the Email Activity status of a message.
func (m *message) activityStatus() string {
	switch m.status {
	case "delivered":
		return "delivered"
	case "bounce", "dropped":
		return "not_delivered"
	}
	return "processed"
}

func (m *message) activity(withEvents bool) activityMessage {
	a := activityMessage{
		FromEmail: m.from, MsgID: m.msgID, Subject: m.subject, ToEmail: m.to, Status: m.activityStatus(),
		OpensCount: m.opens, ClicksCount: m.clicks, LastEventTime: m.lastEvent.UTC().Format(time.RFC3339),
		TemplateID: m.templateID,
	}
	if withEvents {
		events := []activityEvent{}
		for _, e := range m.events {
			events = append(events, activityEvent{EventName: e.Event, Processed: e.At.UTC().Format(time.RFC3339), Reason: e.Reason})
		}
		a.Events = &events
	}
	return a
}

// activityVisible says whether a message is in the Email Activity feed yet (Faults.ActivityLagMs).
// Called with mu held.
func (s *Sim) activityVisible(now time.Time) func(*message) bool {
	lag := time.Duration(s.faults.ActivityLagMs) * time.Millisecond
	return func(m *message) bool { return !m.accepted.Add(lag).After(now) }
}

// activityOff answers 403, as for an account without the Email Activity add-on, when the faults say so.
func (s *Sim) activityOff(w http.ResponseWriter) bool {
	s.mu.Lock()
	off := s.faults.ActivityUnavailable
	s.mu.Unlock()
	if off {
		writeErrors(w, http.StatusForbidden, fieldError("", "access forbidden"))
	}
	return off
}

// listMessages is GET /v3/messages.
func (s *Sim) listMessages(w http.ResponseWriter, r *http.Request) {
	if s.activityOff(w) {
		return
	}
	q := r.URL.Query()
	limit := 10
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeErrors(w, http.StatusBadRequest, fieldError("limit", "limit must be a whole number from 1 to 1000"))
			return
		}
		limit = n
	}
	match, err := parseQuery(q.Get("query"))
	if err != nil {
		writeErrors(w, http.StatusBadRequest, fieldError("query", err.Error()))
		return
	}
	now := time.Now()
	s.mu.Lock()
	visible := s.activityVisible(now)
	out := []activityMessage{}
	for i := len(s.messages) - 1; i >= 0 && len(out) < limit; i-- {
		if m := s.messages[i]; visible(m) && match(m) {
			out = append(out, m.activity(false))
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
}

// getMessage is GET /v3/messages/{msg_id}: by the full msg_id, or by the X-Message-Id (the request's
// first recipient).
func (s *Sim) getMessage(w http.ResponseWriter, r *http.Request) {
	if s.activityOff(w) {
		return
	}
	id := r.PathValue("msg_id")
	s.mu.Lock()
	m := s.byMsgID[id]
	if m == nil {
		m = s.byXID[id]
	}
	var a activityDetail
	found := m != nil && s.activityVisible(time.Now())(m)
	if found {
		a = m.detail()
	}
	s.mu.Unlock()
	if !found {
		writeErrors(w, http.StatusNotFound, fieldError("", "Message not found"))
		return
	}
	writeJSON(w, http.StatusOK, a)
}

var (
	eqClause      = regexp.MustCompile(`^\s*(?:unique_args\['([^']+)'\]|([a-z_]+))\s*=\s*"([^"]*)"`)
	betweenClause = regexp.MustCompile(`^\s*last_event_time\s+BETWEEN\s+TIMESTAMP\s+"([^"]+)"\s+AND\s+TIMESTAMP\s+"([^"]+)"`)
	andJoin       = regexp.MustCompile(`^\s+AND\s+`)
)

// parseQuery reads an Email Activity query: clauses joined by AND, each field="value",
// unique_args['name']="value" or last_event_time BETWEEN TIMESTAMP "t1" AND TIMESTAMP "t2".
func parseQuery(q string) (func(*message) bool, error) {
	var preds []func(*message) bool
	rest := strings.TrimSpace(q)
	for rest != "" {
		if m := betweenClause.FindStringSubmatch(rest); m != nil {
			from, err1 := time.Parse(time.RFC3339, m[1])
			to, err2 := time.Parse(time.RFC3339, m[2])
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("invalid timestamp in query: %q", m[0])
			}
			preds = append(preds, func(msg *message) bool {
				t := msg.lastEvent.Truncate(time.Second)
				return !t.Before(from) && !t.After(to)
			})
			rest = rest[len(m[0]):]
		} else if m := eqClause.FindStringSubmatch(rest); m != nil {
			arg, field, value := m[1], m[2], m[3]
			var p func(*message) bool
			switch {
			case arg != "":
				p = func(msg *message) bool { v, ok := msg.customArgs[arg]; return ok && v == value }
			case field == "msg_id":
				p = func(msg *message) bool { return msg.msgID == value }
			case field == "to_email":
				p = func(msg *message) bool { return strings.EqualFold(msg.to, value) }
			case field == "from_email":
				p = func(msg *message) bool { return strings.EqualFold(msg.from, value) }
			case field == "subject":
				p = func(msg *message) bool { return msg.subject == value }
			case field == "status":
				p = func(msg *message) bool { return msg.activityStatus() == value }
			case field == "template_id":
				p = func(msg *message) bool { return msg.templateID == value }
			default:
				return nil, fmt.Errorf("unsupported query field %q", field)
			}
			preds = append(preds, p)
			rest = rest[len(m[0]):]
		} else {
			return nil, fmt.Errorf("invalid query near %q", rest)
		}
		if strings.TrimSpace(rest) == "" {
			break
		}
		a := andJoin.FindString(rest)
		if a == "" {
			return nil, fmt.Errorf("invalid query near %q: clauses are joined by AND", rest)
		}
		rest = rest[len(a):]
	}
	return func(m *message) bool {
		for _, p := range preds {
			if !p(m) {
				return false
			}
		}
		return true
	}, nil
}
