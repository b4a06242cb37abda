package sendgridsim

import (
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// Faults break the simulator on purpose; the zero value is a healthy SendGrid.
type Faults struct {
	// LatencyMs is added to every /v3 call.
	LatencyMs int `json:"latencyMs"`
	// FailRate is the fraction of /v3 calls that fail before they are looked at (nothing is stored),
	// each with one of FailKinds; FailNext makes the next so many calls fail (it counts down).
	FailRate float64 `json:"failRate"`
	FailNext int     `json:"failNext"`
	// FailKinds: "500", "503" (Retry-After: 1) and "429" (X-RateLimit-Reset). Empty: 500 and 503.
	FailKinds []string `json:"failKinds,omitempty"`
	// SaveThenTimeout is the fraction of mail sends that are accepted and stored, and whose answer is then
	// held back until the client gives up (at most TimeoutMs, default 30000): the client cannot know.
	SaveThenTimeout float64 `json:"saveThenTimeout"`
	TimeoutMs       int     `json:"timeoutMs"`
	// ActivityUnavailable answers the Email Activity API with 403, as for an account without the add-on;
	// ActivityLagMs keeps a message out of it for so long after it was accepted.
	ActivityUnavailable bool `json:"activityUnavailable"`
	ActivityLagMs       int  `json:"activityLagMs"`
	// DuplicateEvents posts every event twice (with the same sg_event_id); OutOfOrder makes each
	// message's events happen, and be posted, last first (their timestamps unchanged); DropRate is the
	// fraction of events never posted; BadSignature signs the webhook over other bytes.
	DuplicateEvents bool    `json:"duplicateEvents"`
	OutOfOrder      bool    `json:"outOfOrder"`
	DropRate        float64 `json:"dropRate"`
	BadSignature    bool    `json:"badSignature"`
	// Bouncing addresses bounce (and are then suppressed: later sends to them are dropped); Deferring
	// addresses, and DeferRate of the others, are deferred once and then delivered.
	Bouncing  []string `json:"bouncing,omitempty"`
	Deferring []string `json:"deferring,omitempty"`
	DeferRate float64  `json:"deferRate"`
}

func (f Faults) clone() Faults {
	f.FailKinds, f.Bouncing, f.Deferring = slices.Clone(f.FailKinds), slices.Clone(f.Bouncing), slices.Clone(f.Deferring)
	return f
}

// Stats count what the simulator was asked and did.
type Stats struct {
	Requests int `json:"requests"` // /v3 calls
	Faulted  int `json:"faulted"`  // /v3 calls failed on purpose (FailRate, FailNext)
	// Accepted are mail sends stored (202, or no answer under SaveThenTimeout, counted in TimedOut too);
	// Rejected are mail sends refused (400, 401, 413).
	Accepted int `json:"accepted"`
	Rejected int `json:"rejected"`
	TimedOut int `json:"timedOut"`
	// Recipients are the messages stored, one per recipient; Duplicates those accepted again with the
	// same recipient, subject and custom argument sa_message_id.
	Recipients int `json:"recipients"`
	Duplicates int `json:"duplicates"`
	// Events happened; EventsSent were posted and answered 2xx, EventsFailed given up after every
	// attempt, EventsDropped and EventsDuplicated by the faults.
	Events           int `json:"events"`
	EventsSent       int `json:"eventsSent"`
	EventsFailed     int `json:"eventsFailed"`
	EventsDropped    int `json:"eventsDropped"`
	EventsDuplicated int `json:"eventsDuplicated"`
	// WebhookPosts were answered 2xx; WebhookFailures are attempts that were not.
	WebhookPosts    int `json:"webhookPosts"`
	WebhookFailures int `json:"webhookFailures"`
}

// Message is one recipient's copy of an accepted e-mail.
type Message struct {
	MessageID string    `json:"messageId"` // the X-Message-Id
	MsgID     string    `json:"msgId"`     // the sg_message_id (Email Activity msg_id)
	Accepted  time.Time `json:"accepted"`
	From      string    `json:"from"`
	FromName  string    `json:"fromName,omitempty"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text,omitempty"`
	HTML      string    `json:"html,omitempty"`
	// Content is the mail's content parts as they were sent, in order (type and value).
	Content      []ContentPart     `json:"content,omitempty"`
	TemplateID   string            `json:"templateId,omitempty"`
	TemplateData string            `json:"templateData,omitempty"`
	CustomArgs   map[string]string `json:"customArgs,omitempty"`
	Categories   []string          `json:"categories,omitempty"`
	Status       string            `json:"status"` // processed, deferred, delivered, bounce, dropped
	Opens        int               `json:"opens"`
	Clicks       int               `json:"clicks"`
	Events       []EventRecord     `json:"events"`
}

// ContentPart is one entry of a mail's content: its MIME type and value.
type ContentPart struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// EventRecord is an event that happened to a message.
type EventRecord struct {
	Event  string    `json:"event"`
	At     time.Time `json:"at"`
	Reason string    `json:"reason,omitempty"`
}

// Suppression is an address SendGrid no longer sends to.
type Suppression struct {
	Email  string    `json:"email"`
	Reason string    `json:"reason"` // Unsubscribed Address, Bounced Address, Spam Reporting Address
	At     time.Time `json:"at"`
}

// State is what GET /sim/state shows.
type State struct {
	Messages     []Message     `json:"messages"` // newest first
	Total        int           `json:"total"`    // messages held, shown or not
	Suppressions []Suppression `json:"suppressions"`
	Pending      int           `json:"pendingEvents"`   // waiting to be posted
	Scheduled    int           `json:"scheduledEvents"` // yet to happen
	Faults       Faults        `json:"faults"`
	Stats        Stats         `json:"stats"`
	PublicKey    string        `json:"publicKey"`
	EventsURL    string        `json:"eventsUrl"`
}

func (m *message) view() Message {
	return Message{
		MessageID: m.xid, MsgID: m.msgID, Accepted: m.accepted, From: m.from, FromName: m.fromName, To: m.to,
		Subject: m.subject, Text: m.text, HTML: m.html, Content: slices.Clone(m.content), TemplateID: m.templateID, TemplateData: m.templateData,
		CustomArgs: maps.Clone(m.customArgs), Categories: slices.Clone(m.categories), Status: m.status,
		Opens: m.opens, Clicks: m.clicks, Events: slices.Clone(m.events),
	}
}

// Messages returns every message held, newest first.
func (s *Sim) Messages() []Message { return s.State(-1).Messages }

// Message returns a message by its sg_message_id, or by X-Message-Id (the request's first recipient).
func (s *Sim) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byMsgID[id]
	if m == nil {
		m = s.byXID[id]
	}
	if m == nil {
		return Message{}, false
	}
	return m.view(), true
}

// State returns the newest limit messages (all when limit < 0) and everything else.
func (s *Sim) State(limit int) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{
		Total: len(s.messages), Pending: len(s.pending), Scheduled: s.events.Len(), Faults: s.faults.clone(),
		Stats: s.stats, PublicKey: s.pub, EventsURL: s.opts.EventsURL, Messages: []Message{}, Suppressions: []Suppression{},
	}
	for i := len(s.messages) - 1; i >= 0 && (limit < 0 || len(st.Messages) < limit); i-- {
		st.Messages = append(st.Messages, s.messages[i].view())
	}
	for _, sup := range s.suppressions {
		st.Suppressions = append(st.Suppressions, *sup)
	}
	slices.SortFunc(st.Suppressions, func(a, b Suppression) int { return b.At.Compare(a.At) })
	return st
}

// Stats returns the counts.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults.clone()
}

// SetFaults replaces the faults.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f.clone()
}

// suppress adds an address to the suppressions, keeping an earlier entry. Called with mu held.
func (s *Sim) suppress(addr, reason string, at time.Time) {
	key := strings.ToLower(addr)
	if _, ok := s.suppressions[key]; !ok {
		s.suppressions[key] = &Suppression{Email: addr, Reason: reason, At: at}
	}
}

// Opt-out kinds for Unsubscribe.
const (
	KindUnsubscribe      = "unsubscribe"
	KindGroupUnsubscribe = "group_unsubscribe"
	KindSpamReport       = "spamreport"
)

var errNotFound = errors.New("no such message")

// Unsubscribe is the recipient at addr opting out (kind unsubscribe, group_unsubscribe or spamreport,
// default unsubscribe): an event for the latest message to the address, and the address suppressed
// (later sends to it are accepted and dropped). It says whether there was a message to carry the event.
func (s *Sim) Unsubscribe(addr, kind string) (bool, error) {
	addr = strings.TrimSpace(addr)
	if !validAddress(addr) {
		return false, errors.New("email: not an e-mail address")
	}
	reason := reasonUnsubscribed
	switch kind {
	case "":
		kind = KindUnsubscribe
	case KindUnsubscribe, KindGroupUnsubscribe:
	case KindSpamReport:
		reason = reasonSpam
	default:
		return false, errors.New("kind: one of unsubscribe, group_unsubscribe, spamreport")
	}
	now := time.Now()
	s.mu.Lock()
	var latest *message
	for i := len(s.messages) - 1; i >= 0; i-- {
		if strings.EqualFold(s.messages[i].to, addr) {
			latest = s.messages[i]
			break
		}
	}
	s.suppress(addr, reason, now)
	if latest != nil {
		s.fire(latest, kind, now, "")
	}
	s.mu.Unlock()
	s.kickWorkers()
	return latest != nil, nil
}

// Resubscribe lifts an address's suppression.
func (s *Sim) Resubscribe(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.suppressions, strings.ToLower(strings.TrimSpace(addr)))
}

// Engage is the recipient opening (event "open") or clicking in (event "click") a message, named by
// its sg_message_id or X-Message-Id.
func (s *Sim) Engage(id, event string) error {
	if event != "open" && event != "click" {
		return errors.New("event: open or click")
	}
	s.mu.Lock()
	m := s.byMsgID[id]
	if m == nil {
		m = s.byXID[id]
	}
	if m != nil {
		s.fire(m, event, time.Now(), "")
	}
	s.mu.Unlock()
	if m == nil {
		return errNotFound
	}
	s.kickWorkers()
	return nil
}

// control registers the page and the /sim control API.
func (s *Sim) control(mux *http.ServeMux) {
	kit.Inspect(mux, s.page, func() any { return s.Stats() }, func() any { return s.Faults() })
	mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, r *http.Request) {
		limit := 200
		if l := r.URL.Query().Get("limit"); l != "" {
			n, err := strconv.Atoi(l)
			if err != nil {
				writeErrors(w, http.StatusBadRequest, fieldError("limit", "limit must be a whole number"))
				return
			}
			limit = n
		}
		writeJSON(w, http.StatusOK, s.State(limit))
	})
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if s.input(w, r, &f) {
			s.SetFaults(f)
			s.done200(w, r, s.Faults())
		}
	})
	mux.HandleFunc("POST /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		f := s.faults.clone() // the body's fields replace these; the others stay
		s.mu.Unlock()
		if s.input(w, r, &f) {
			s.SetFaults(f)
			s.done200(w, r, s.Faults())
		}
	})
	mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		s.done200(w, r, s.Stats())
	})
	mux.HandleFunc("POST /sim/unsubscribe", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Email string `json:"email"`
			Kind  string `json:"kind"`
		}
		if !s.input(w, r, &body) {
			return
		}
		event, err := s.Unsubscribe(body.Email, body.Kind)
		if err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			writeErrors(w, http.StatusBadRequest, fieldError(field, msg))
			return
		}
		s.done200(w, r, map[string]any{"email": body.Email, "suppressed": true, "event": event})
	})
	mux.HandleFunc("POST /sim/resubscribe", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Email string `json:"email"`
		}
		if s.input(w, r, &body) {
			s.Resubscribe(body.Email)
			s.done200(w, r, map[string]any{"email": body.Email, "suppressed": false})
		}
	})
	mux.HandleFunc("POST /sim/messages/{id}/{event}", func(w http.ResponseWriter, r *http.Request) {
		switch err := s.Engage(r.PathValue("id"), r.PathValue("event")); {
		case errors.Is(err, errNotFound):
			writeErrors(w, http.StatusNotFound, fieldError("", "Message not found"))
		case err != nil:
			writeErrors(w, http.StatusNotFound, fieldError("event", "open or click"))
		default:
			s.done200(w, r, map[string]any{"id": r.PathValue("id"), "event": r.PathValue("event")})
		}
	})
}

// input reads a control request's body, JSON or a form, into v; it answers 400 itself.
func (s *Sim) input(w http.ResponseWriter, r *http.Request, v any) bool {
	var raw []byte
	if kit.IsForm(r) {
		if err := r.ParseForm(); err != nil {
			writeErrors(w, http.StatusBadRequest, fieldError("", "unreadable form"))
			return false
		}
		fields := map[string]string{}
		for k := range r.PostForm {
			fields[k] = r.PostForm.Get(k)
		}
		raw, _ = json.Marshal(fields)
	} else {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return false
		}
		raw = b
	}
	if len(raw) == 0 {
		return true
	}
	if err := json.Unmarshal(raw, v); err != nil {
		writeErrors(w, http.StatusBadRequest, fieldError("", "unreadable body: "+err.Error()))
		return false
	}
	return true
}

// done200 answers a control request: JSON, or back to the page for a form.
func (s *Sim) done200(w http.ResponseWriter, r *http.Request, v any) {
	if kit.IsForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// page shows the e-mails, newest first, as a mailbox would.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	const shown = 200
	st := s.State(shown)
	data := struct {
		State
		Hidden int
	}{st, max(st.Total-len(st.Messages), 0)}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"when": func(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") },
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>SendGrid simulator</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;width:100%}
td,th{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top;font-size:90%}
th{background:#eee}pre{white-space:pre-wrap;margin:.3em 0}
iframe{width:100%;height:24em;border:1px solid #ccc;background:#fff}
.delivered{color:#070}.bounce,.dropped{color:#b00}.processed,.deferred{color:#a60}.fault{color:#b00}
form{display:inline}small{color:#666}
</style></head><body>
<h1>SendGrid simulator: the e-mails</h1>
<p>{{.Total}} e-mails. {{.Stats.Accepted}} sends accepted, {{.Stats.Rejected}} rejected,
{{.Stats.Duplicates}} duplicates; {{.Stats.EventsSent}} events posted, {{.Stats.EventsFailed}} failed,
{{.Pending}} waiting{{with .EventsURL}} (to {{.}}){{else}} (no events URL: events are kept here only){{end}}.
<a href="/">Reload</a></p>

{{with .Faults}}<ul class="fault">
{{if .LatencyMs}}<li>latency {{.LatencyMs}} ms</li>{{end}}
{{if .FailRate}}<li>{{.FailRate}} of API calls fail ({{if .FailKinds}}{{.FailKinds}}{{else}}500, 503{{end}})</li>{{end}}
{{if .FailNext}}<li>the next {{.FailNext}} API calls fail</li>{{end}}
{{if .SaveThenTimeout}}<li>{{.SaveThenTimeout}} of sends stored, then no answer</li>{{end}}
{{if .ActivityUnavailable}}<li>the Email Activity API is unavailable</li>{{end}}
{{if .ActivityLagMs}}<li>the Email Activity API lags {{.ActivityLagMs}} ms</li>{{end}}
{{if .DuplicateEvents}}<li>every event is posted twice</li>{{end}}
{{if .OutOfOrder}}<li>events are posted last first</li>{{end}}
{{if .DropRate}}<li>{{.DropRate}} of events are never posted</li>{{end}}
{{if .BadSignature}}<li>the webhook signature is wrong</li>{{end}}
{{if .Bouncing}}<li>bouncing: {{range .Bouncing}}{{.}} {{end}}</li>{{end}}
{{if .Deferring}}<li>deferred once: {{range .Deferring}}{{.}} {{end}}</li>{{end}}
{{if .DeferRate}}<li>{{.DeferRate}} of e-mails deferred once</li>{{end}}
</ul>{{end}}

<table><tr><th>Accepted</th><th>To</th><th>Subject and body</th><th>Status</th><th>Events</th><th></th></tr>
{{range .Messages}}<tr>
<td>{{when .Accepted}}<br><small>{{.MessageID}}</small></td>
<td>{{.To}}<br><small>from {{with .FromName}}{{.}} {{end}}&lt;{{.From}}&gt;</small></td>
<td><details><summary>{{if .Subject}}{{.Subject}}{{else}}(no subject){{end}}</summary>
{{with .Text}}<pre>{{.}}</pre>{{end}}
{{with .HTML}}<iframe sandbox="" srcdoc="{{.}}" title="HTML body"></iframe>{{end}}
{{with .TemplateID}}<p>Template {{.}}</p>{{end}}{{with .TemplateData}}<pre>{{.}}</pre>{{end}}
{{with .CustomArgs}}<small>{{range $k, $v := .}}{{$k}}={{$v}} {{end}}</small>{{end}}
</details></td>
<td class="{{.Status}}">{{.Status}}{{if .Opens}}, opened {{.Opens}}×{{end}}{{if .Clicks}}, clicked {{.Clicks}}×{{end}}</td>
<td>{{range .Events}}{{.Event}} <small>{{when .At}}{{with .Reason}} – {{.}}{{end}}</small><br>{{end}}</td>
<td><form method="post" action="/sim/messages/{{.MsgID}}/open"><button>Open</button></form>
<form method="post" action="/sim/unsubscribe"><input type="hidden" name="email" value="{{.To}}"><button>Unsubscribe</button></form></td>
</tr>
{{end}}</table>
{{if .Hidden}}<p>… and {{.Hidden}} older (see /sim/state?limit=-1).</p>{{end}}

<h2>Suppressed addresses</h2>
<table><tr><th>Address</th><th>Reason</th><th>Since</th><th></th></tr>
{{range .Suppressions}}<tr><td>{{.Email}}</td><td>{{.Reason}}</td><td>{{when .At}}</td>
<td><form method="post" action="/sim/resubscribe"><input type="hidden" name="email" value="{{.Email}}"><button>Lift</button></form></td></tr>
{{end}}</table>

<p><small>Event Webhook verification key: {{.PublicKey}}<br>
Control API: /sim/state, /sim/stats, /sim/faults, /sim/unsubscribe, /sim/reset (see the sendgridsim package documentation).</small></p>
</body></html>
`))
