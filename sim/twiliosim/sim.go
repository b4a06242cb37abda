// Package twiliosim is a local, in-memory Twilio for SMS and WhatsApp: it serves the part of Twilio's
// Programmable Messaging REST API that package messaging speaks through the twilio-go SDK, moves each
// accepted message along queued → sent → delivered in the background with signed status callbacks,
// delivers people's replies as signed inbound webhooks, and lets a test or a person break it on purpose.
// People trying SignetAssure see the messages it "sent" on its page; tests and benchmarks drive it.
//
// # The Twilio API (HTTP basic auth AccountSid:AuthToken; JSON shaped as Twilio's)
//
//	POST /2010-04-01/Accounts/{AccountSid}/Messages.json        form: To, From | MessagingServiceSid,
//	                                                            Body | ContentSid (+ ContentVariables),
//	                                                            StatusCallback; 201 with the message, queued
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  the message
//	GET  /2010-04-01/Accounts/{AccountSid}/Messages.json        To, From, DateSent, DateSent<, DateSent>
//	                                                            (by UTC calendar date, as Twilio), PageSize
//	                                                            (default 50, at most 1000), Page, PageToken;
//	                                                            newest first; next_page_uri
//
// Errors are Twilio's error JSON {code, message, more_info, status}: 401/20003 for wrong credentials,
// 400/21211 for a To that is not a valid number (libphonenumber), 21603 without a sender, 21602 without a
// body or template, 21610 for a recipient who opted out (SMS), 63007 for a WhatsApp To with a non-WhatsApp
// From, 429/20429 above the rate, 503/20503 or 500/20500 for injected failures.
//
// Only outgoing messages are listed; replies are kept apart (see /sim/state).
//
// # What happens to a message
//
// A message is accepted as queued. After DeliveryDelay it is sent (price set: -0.04000 GBP per SMS
// segment, -0.00500 for WhatsApp), after another it is delivered, undelivered (error 30003, numbers listed
// in Faults.Unreachable) or failed (error 30008, a Faults.DeliveryFailRate fraction, straight from
// queued; 63016 for a free-form WhatsApp message outside the session when Faults.WhatsAppSession); a
// WhatsApp message delivered is read after a third delay. Every status, queued included, is POSTed as a
// status callback (MessageSid, SmsSid, MessageStatus, SmsStatus, AccountSid, From, To, ApiVersion,
// MessagingServiceSid and ErrorCode when set) to the message's StatusCallback, with X-Twilio-Signature
// over that exact URL and I-Twilio-Idempotency-Token; a callback answered other than 2xx, or not at all,
// is retried three times (after 0.1, 0.4 and 1.6 s). Callbacks about one message may arrive out of order,
// as Twilio's do. A time-ordered queue and a bounded pool of workers (Options.Workers) do all of it: no
// goroutine per message, and sending never waits for callbacks.
//
// Callback faults (Faults.Callbacks): duplicate posts each callback twice; outOfOrder posts the final
// status before "sent"; dropRate drops a fraction; badSignatureRate signs a fraction with a wrong key.
//
// # Replies and opt-outs
//
// A reply (POST /sim/reply, or an automatic one) is recorded and POSTed, signed, to Options.InboundURL
// as Twilio's inbound message webhook. On SMS, a reply whose whole body is STOP, STOPALL, UNSUBSCRIBE,
// CANCEL, END, QUIT, REVOKE or OPTOUT opts the number out (sends to it answer 21610) and START, YES or
// UNSTOP opts it back in, as Twilio's default opt-out handling does; the webhook is delivered either way.
// WhatsApp has no such filtering.
//
// # Control API (/sim, JSON, no authentication)
//
//	GET  /  or  /sim          an HTML page: messages newest first, replies, a reply form per recipient,
//	                          opt-outs, faults and counts
//	GET  /sim/state           {"messages","inbound","optOuts","faults","stats"}; ?limit=N messages (all)
//	GET  /sim/stats           Stats
//	GET  /sim/faults          Faults
//	POST /sim/faults          Faults fields to change (the others keep their values); PUT replaces all
//	POST /sim/reply           {"from","to"?,"body","channel":"sms"|"whatsapp","profileName"?}, or the
//	                          page's form; "to" defaults to the sender that last messaged "from"
//	POST /sim/reset           back to a fresh start: messages, replies, opt-outs, stats, and the faults
//	                          the Options gave
//
// Every control endpoint has a Go method (Sim.Reply, Sim.SetFaults, Sim.UpdateFaults, Sim.State, ...).
package twiliosim

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/signetassure/signetassure/sim/kit"
)

// Defaults of Options.
const (
	DefaultAccountSID = "AC00000000000000000000000000000000"
	DefaultAuthToken  = "simulatorauthtoken"
	// DefaultFrom is the sender a Messaging Service uses when a message names none.
	DefaultFrom          = "+447400000000"
	defaultDeliveryDelay = 200 * time.Millisecond
	defaultWorkers       = 32
	defaultHangMs        = 120_000
)

// Prices per message (SMS: per segment), in PriceUnit.
const (
	PriceSMS      = 0.04
	PriceWhatsApp = 0.005
	PriceUnit     = "GBP"
)

// Twilio error codes the simulator answers with.
const (
	CodeAuthenticate      = 20003
	CodeNotFound          = 20404
	CodeTooManyRequests   = 20429
	CodeInternal          = 20500
	CodeUnavailable       = 20503
	CodeInvalidTo         = 21211
	CodeBodyRequired      = 21602
	CodeFromRequired      = 21603
	CodeToRequired        = 21604
	CodeOptedOut          = 21610
	CodeBodyTooLong       = 21617
	CodeInvalidContentSid = 21655
	CodeInvalidVariables  = 21656
	CodeNoChannel         = 63007
	CodeOutsideSession    = 63016
	CodeUnreachable       = 30003
	CodeUnknown           = 30008
)

// Options configure a Sim. Zero values take the defaults.
type Options struct {
	AccountSID, AuthToken string // the account the API accepts; default DefaultAccountSID, DefaultAuthToken
	// InboundURL is where replies are POSTed, signed over this URL; empty: replies are only recorded.
	InboundURL string
	// Rate is how many messages a second are accepted; above it the answer is 429 (20429). 0: unlimited.
	Rate float64
	// Seed seeds the dice of the fault fractions and picks the auto-replying recipients.
	Seed int64
	// DeliveryDelay paces each step queued → sent → delivered (→ read); default 200 ms, negative: none.
	DeliveryDelay time.Duration
	// AutoReply, when set, is what an AutoReplyRate fraction of SMS recipients reply, after delivery, to
	// every message delivered to them (the same recipients every run with one Seed).
	AutoReply     string
	AutoReplyRate float64
	// DefaultFrom is the sender of messages sent through a Messaging Service; default DefaultFrom.
	DefaultFrom string
	// Templates render WhatsApp templates: ContentSid → text with {{1}}, {{2}}... placeholders. A
	// ContentSid not listed renders as "[template HX...] value value...".
	Templates map[string]string
	// Workers is how many status callbacks and replies are in flight at once; default 32.
	Workers int
	// HTTPClient posts the webhooks; default a client with a 10 s timeout.
	HTTPClient *http.Client
}

// Faults break the simulator on purpose, or change how it behaves; see the fields. The faults at the
// start (and after a reset) come from the Options.
type Faults struct {
	LatencyMs int `json:"latencyMs"` // added to every API call
	// FailRate is the fraction of sends answered FailStatus before anything is saved; FailNext fails the
	// next so many whatever FailRate says (it counts down).
	FailRate   float64 `json:"failRate"`
	FailStatus int     `json:"failStatus"` // 503 (default, code 20503) or 500 (20500)
	FailNext   int     `json:"failNext"`
	// TimeoutAfterSaveRate is the fraction of sends that are accepted and stored, whose answer is then
	// held back until the client gives up (at most TimeoutMs): an ambiguous failure. TimeoutAfterSaveNext
	// does it to the next so many sends.
	TimeoutAfterSaveRate float64 `json:"timeoutAfterSaveRate"`
	TimeoutAfterSaveNext int     `json:"timeoutAfterSaveNext"`
	TimeoutMs            int     `json:"timeoutMs"` // bound on a held answer; default 120000
	// Rate is how many sends a second are accepted (429, 20429 above it); 0: unlimited.
	Rate            float64 `json:"rate"`
	DeliveryDelayMs int     `json:"deliveryDelayMs"` // pacing of each step
	// DeliveryFailRate is the fraction of accepted messages that end failed (30008) instead of sent.
	DeliveryFailRate float64 `json:"deliveryFailRate"`
	// Unreachable numbers (E.164, without whatsapp:) end undelivered (30003) after being sent.
	Unreachable []string `json:"unreachable"`
	// Unpriceable numbers' messages are never priced: their price stays null. Fetching a message to a
	// Lost number answers 404 (20404), as for a message Twilio no longer holds (E.164, without whatsapp:).
	Unpriceable []string `json:"unpriceable"`
	Lost        []string `json:"lost"`
	// WhatsAppSession enforces WhatsApp's 24-hour rule: a free-form WhatsApp message (no ContentSid) to
	// a number that has not written in the last 24 hours ends failed (63016).
	WhatsAppSession bool           `json:"whatsAppSession"`
	Callbacks       CallbackFaults `json:"callbacks"`
	AutoReply       string         `json:"autoReply"`
	AutoReplyRate   float64        `json:"autoReplyRate"`
}

// CallbackFaults change how status callbacks are delivered.
type CallbackFaults struct {
	Duplicate  bool `json:"duplicate"`  // every callback is posted twice
	OutOfOrder bool `json:"outOfOrder"` // the final status is posted before "sent"
	// DropRate is the fraction of callbacks never posted; BadSignatureRate the fraction signed with a
	// wrong key.
	DropRate         float64 `json:"dropRate"`
	BadSignatureRate float64 `json:"badSignatureRate"`
}

// Step is one status a message went through.
type Step struct {
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

// Message is an outgoing message as the simulator holds it.
type Message struct {
	Sid                 string            `json:"sid"`
	Channel             string            `json:"channel"` // sms or whatsapp
	To                  string            `json:"to"`      // as Twilio writes it: whatsapp:+44... on WhatsApp
	From                string            `json:"from"`
	MessagingServiceSid string            `json:"messagingServiceSid,omitempty"`
	Body                string            `json:"body"` // a template's rendered text
	ContentSid          string            `json:"contentSid,omitempty"`
	ContentVariables    map[string]string `json:"contentVariables,omitempty"`
	Status              string            `json:"status"`
	Segments            int               `json:"segments"`
	Price               string            `json:"price,omitempty"` // e.g. "-0.04000", once sent
	PriceUnit           string            `json:"priceUnit"`
	ErrorCode           int               `json:"errorCode,omitempty"`
	ErrorMessage        string            `json:"errorMessage,omitempty"`
	StatusCallback      string            `json:"statusCallback,omitempty"`
	Created             time.Time         `json:"created"`
	Sent                time.Time         `json:"sent,omitzero"`
	Updated             time.Time         `json:"updated"`
	History             []Step            `json:"history"`

	seq           uint64
	outcome       string // the final status it is bound for: delivered, undelivered, failed
	outcomeCode   int
	outcomeReason string
	held          []*post // callbacks held back to be posted after the final one (out of order)
}

func (m *Message) clone() Message {
	c := *m
	c.ContentVariables = maps.Clone(m.ContentVariables)
	c.History = slices.Clone(m.History)
	c.held = nil
	return c
}

// number is the recipient without the whatsapp: prefix.
func (m *Message) number() string { return strings.TrimPrefix(m.To, "whatsapp:") }

// Inbound is a reply as the simulator holds it.
type Inbound struct {
	Sid         string    `json:"sid"`
	Channel     string    `json:"channel"`
	From        string    `json:"from"` // E.164, without whatsapp:
	To          string    `json:"to"`
	Body        string    `json:"body"`
	ProfileName string    `json:"profileName,omitempty"`
	At          time.Time `json:"at"`
	// OptOut is "stop" or "start" when the reply opted the number out or back in.
	OptOut string `json:"optOut,omitempty"`
	Auto   bool   `json:"auto,omitempty"` // sent by AutoReply
	// Webhook is what became of the inbound webhook: "not configured", "pending", "delivered (200)",
	// "failed (500), retrying", "failed: ..." .
	Webhook string `json:"webhook"`
}

// Stats count what the simulator did since the start or the last reset.
type Stats struct {
	Accepted int `json:"accepted"`
	// Rejected counts refused sends by Twilio error code (20429, 21211, 21610, 20503, ...).
	Rejected              map[int]int    `json:"rejected"`
	TimedOutAfterSave     int            `json:"timedOutAfterSave"`
	CallbacksSent         int            `json:"callbacksSent"`   // answered 2xx
	CallbacksFailed       int            `json:"callbacksFailed"` // attempts answered otherwise or not at all
	CallbacksGivenUp      int            `json:"callbacksGivenUp"`
	CallbacksDropped      int            `json:"callbacksDropped"`
	CallbacksBadSignature int            `json:"callbacksBadSignature"`
	Inbound               int            `json:"inbound"`
	AutoReplies           int            `json:"autoReplies"` // automatic replies decided on (sent after a delay)
	InboundWebhooksSent   int            `json:"inboundWebhooksSent"`
	InboundWebhooksFailed int            `json:"inboundWebhooksFailed"`
	ByStatus              map[string]int `json:"byStatus"`
	// PerRecipient counts accepted messages by To.
	PerRecipient map[string]int `json:"perRecipient"`
	// Duplicates is how many (recipient, body) pairs were accepted more than once; DuplicateSends how
	// many sends repeated a pair already accepted.
	Duplicates     int `json:"duplicates"`
	DuplicateSends int `json:"duplicateSends"`
}

func (st Stats) clone() Stats {
	st.Rejected = maps.Clone(st.Rejected)
	st.ByStatus = maps.Clone(st.ByStatus)
	st.PerRecipient = maps.Clone(st.PerRecipient)
	return st
}

// Sim is a simulated Twilio. It is safe for concurrent use.
type Sim struct {
	opts          Options
	mux           *http.ServeMux
	client        *http.Client
	releaseClient func()
	ctx           context.Context // ends at Close: in-flight webhooks stop
	cancel        context.CancelFunc
	limiter       atomic.Pointer[rate.Limiter]

	mu          sync.Mutex // guards everything below
	msgs        map[string]*Message
	order       []*Message            // ascending creation
	byTo        map[string][]*Message // To → its messages, ascending creation
	inbound     []*Inbound            // ascending
	optOut      map[string]bool       // E.164 numbers opted out of SMS
	lastSender  map[string]string     // recipient number → the sender number that last messaged it
	lastInbound map[string]time.Time  // number → when it last wrote (WhatsApp sessions)
	firstFrom   string
	pairs       map[string]int // To + body → accepted count
	seq         uint64
	faults      Faults
	stats       Stats
	rng         *rand.Rand

	queue  *kit.Queue[*job]
	keeper *kit.Keeper // the state file's, if KeepState was called
}

// New starts a simulator with its workers; Close stops them.
func New(o Options) *Sim {
	if o.AccountSID == "" {
		o.AccountSID = DefaultAccountSID
	}
	if o.AuthToken == "" {
		o.AuthToken = DefaultAuthToken
	}
	if o.DefaultFrom == "" {
		o.DefaultFrom = DefaultFrom
	}
	if o.DeliveryDelay == 0 {
		o.DeliveryDelay = defaultDeliveryDelay
	}
	if o.Workers <= 0 {
		o.Workers = defaultWorkers
	}
	o.Templates = maps.Clone(o.Templates)
	s := &Sim{opts: o}
	s.client, s.releaseClient = kit.WebhookClient(o.HTTPClient, o.Workers)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.queue = kit.NewQueue(o.Workers, s.run)
	s.reset()
	s.mux = s.routes()
	return s
}

// Handler serves the Twilio API, the control API and the page.
func (s *Sim) Handler() http.Handler { return s.mux }

// Options returns the options in force (with defaults filled in).
func (s *Sim) Options() Options { return s.opts }

// Close stops the workers (callbacks not yet posted are dropped, held answers released) and writes the
// state file a last time.
func (s *Sim) Close() {
	s.cancel()
	s.queue.Close()
	s.keeper.Close()
	s.releaseClient()
}

// Reset empties the simulator: messages, replies, opt-outs and stats; the faults go back to the
// Options'. Callbacks not yet posted are dropped.
func (s *Sim) Reset() { s.reset() }

func (s *Sim) reset() {
	s.limiter.Store(nil)
	s.queue.Clear()
	f := s.initialFaults()
	s.mu.Lock()
	s.msgs = map[string]*Message{}
	s.order = nil
	s.byTo = map[string][]*Message{}
	s.inbound = nil
	s.optOut = map[string]bool{}
	s.lastSender = map[string]string{}
	s.lastInbound = map[string]time.Time{}
	s.firstFrom = ""
	s.pairs = map[string]int{}
	s.stats = Stats{Rejected: map[int]int{}, ByStatus: map[string]int{}, PerRecipient: map[string]int{}}
	seed := uint64(s.opts.Seed)
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.setFaultsLocked(f)
	s.mu.Unlock()
}

func (s *Sim) initialFaults() Faults {
	delay := s.opts.DeliveryDelay
	if delay < 0 {
		delay = 0
	}
	return Faults{
		Rate:            s.opts.Rate,
		DeliveryDelayMs: int((delay + time.Millisecond - 1) / time.Millisecond),
		AutoReply:       s.opts.AutoReply,
		AutoReplyRate:   s.opts.AutoReplyRate,
	}
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faultsLocked()
}

func (s *Sim) faultsLocked() Faults {
	f := s.faults
	f.Unreachable = slices.Clone(f.Unreachable)
	f.Unpriceable, f.Lost = slices.Clone(f.Unpriceable), slices.Clone(f.Lost)
	return f
}

// SetFaults replaces the faults, all of them: a zero DeliveryDelayMs means no delay and a zero Rate no
// limit, whatever the Options said (UpdateFaults changes only what it names).
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(f)
}

// UpdateFaults changes the faults that the JSON object names, leaving the others as they are.
func (s *Sim) UpdateFaults(patch []byte) (Faults, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faultsLocked()
	if err := json.Unmarshal(patch, &f); err != nil {
		return s.faultsLocked(), err
	}
	s.setFaultsLocked(f)
	return s.faultsLocked(), nil
}

func (s *Sim) setFaultsLocked(f Faults) {
	for _, list := range []*[]string{&f.Unreachable, &f.Unpriceable, &f.Lost} {
		*list = slices.Clone(*list)
		for i, n := range *list {
			if e, ok := e164(n); ok {
				(*list)[i] = e
			}
		}
	}
	if f.FailStatus != http.StatusInternalServerError {
		f.FailStatus = http.StatusServiceUnavailable
	}
	f.DeliveryDelayMs = max(f.DeliveryDelayMs, 0)
	old := s.faults.Rate
	s.faults = f
	if l := s.limiter.Load(); f.Rate <= 0 {
		s.limiter.Store(nil)
	} else if l == nil || old != f.Rate {
		s.limiter.Store(rate.NewLimiter(rate.Limit(f.Rate), max(1, int(f.Rate))))
	}
}

// Stats returns the counts since the start or the last reset.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

// State is everything the simulator holds.
type State struct {
	Messages []Message `json:"messages"` // newest first
	Inbound  []Inbound `json:"inbound"`  // newest first
	OptOuts  []string  `json:"optOuts"`
	Faults   Faults    `json:"faults"`
	Stats    Stats     `json:"stats"`
}

// State returns the messages (the newest limit of them; all when limit <= 0), replies, opt-outs, faults
// and stats.
func (s *Sim) State(limit int) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.order)
	if limit > 0 {
		n = min(n, limit)
	}
	st := State{Messages: make([]Message, 0, n), Inbound: make([]Inbound, 0, len(s.inbound)),
		OptOuts: slices.Sorted(maps.Keys(s.optOut)), Faults: s.faultsLocked(), Stats: s.stats.clone()}
	for i := len(s.order) - 1; i >= 0 && len(st.Messages) < n; i-- {
		st.Messages = append(st.Messages, s.order[i].clone())
	}
	for i := len(s.inbound) - 1; i >= 0; i-- {
		st.Inbound = append(st.Inbound, *s.inbound[i])
	}
	return st
}

// Messages returns every outgoing message, oldest first.
func (s *Sim) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.order))
	for i, m := range s.order {
		out[i] = m.clone()
	}
	return out
}

// Message returns the message with the sid.
func (s *Sim) Message(sid string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.msgs[sid]
	if !ok {
		return Message{}, false
	}
	return m.clone(), true
}

// Replies returns the replies received, oldest first.
func (s *Sim) Replies() []Inbound {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Inbound, len(s.inbound))
	for i, in := range s.inbound {
		out[i] = *in
	}
	return out
}

// OptedOut reports whether the number (E.164) has opted out of SMS.
func (s *Sim) OptedOut(number string) bool {
	if e, ok := e164(strings.TrimPrefix(number, "whatsapp:")); ok {
		number = e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.optOut[number]
}

// newSid is a Twilio-shaped SID: the prefix and 32 hex digits.
func newSid(prefix string) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], rand.Uint64())
	binary.BigEndian.PutUint64(b[8:], rand.Uint64())
	return prefix + hex.EncodeToString(b[:])
}

// chance throws the dice. Called with mu held.
func (s *Sim) chance(p float64) bool { return p > 0 && (p >= 1 || s.rng.Float64() < p) }

// picked says, the same way every run with one seed, whether number is among the fraction p.
func (s *Sim) picked(number string, p float64) bool {
	if p <= 0 {
		return false
	}
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(s.opts.Seed))
	h.Write(b[:])
	h.Write([]byte(number))
	x := h.Sum64() // FNV mixes its last bytes poorly into the high bits: finish with splitmix64's mixer
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11)/float64(1<<53) < p
}

// The background work: a time-ordered queue of jobs that one dispatcher hands to a fixed pool of
// workers, so any number of messages costs no goroutines and the send endpoint never waits.

type jobKind int

const (
	jobAdvance jobKind = iota // move a message one step on
	jobPosts                  // post webhooks, in order
	jobReply                  // an automatic reply
)

type job struct {
	kind  jobKind
	sid   string
	posts []*post
	reply Reply
}

// run does one job, on one of the queue's workers.
func (s *Sim) run(j *job) {
	switch j.kind {
	case jobAdvance:
		s.advance(j.sid)
	case jobPosts:
		for _, p := range j.posts {
			s.deliver(s.ctx, p, true)
		}
	case jobReply:
		s.receive(s.ctx, j.reply, true)
	}
}

// post is one webhook to POST.
type post struct {
	url     string
	form    url.Values
	sig     string
	attempt int
	inbound *Inbound // set for an inbound message webhook
	idem    string   // I-Twilio-Idempotency-Token
}

// advance moves a message one step on: queued → sent (or failed), sent → delivered (or undelivered or
// failed), WhatsApp delivered → read.
func (s *Sim) advance(sid string) {
	now := time.Now().UTC()
	s.mu.Lock()
	m, ok := s.msgs[sid]
	if !ok {
		s.mu.Unlock()
		return
	}
	var posts []*post
	var again bool
	var reply *Reply
	switch m.Status {
	case "queued":
		if m.outcome == "failed" && m.outcomeCode == CodeUnknown {
			s.setStatus(m, "failed", now)
			m.ErrorCode, m.ErrorMessage = m.outcomeCode, m.outcomeReason
			posts = s.statusPosts(m)
			break
		}
		s.setStatus(m, "sent", now)
		m.Sent = now
		if !slices.Contains(s.faults.Unpriceable, m.number()) {
			m.Price, m.PriceUnit = price(m), PriceUnit
		}
		posts = s.statusPosts(m)
		if s.faults.Callbacks.OutOfOrder {
			m.held, posts = posts, nil
		}
		again = true
	case "sent":
		final := m.outcome
		if final == "" {
			final = "delivered"
		}
		s.setStatus(m, final, now)
		if final != "delivered" {
			m.ErrorCode, m.ErrorMessage = m.outcomeCode, m.outcomeReason
		}
		posts = append(s.statusPosts(m), m.held...)
		m.held = nil
		if final == "delivered" && m.Channel == "whatsapp" {
			again = true
		}
		if final == "delivered" && m.Channel == "sms" && s.faults.AutoReply != "" &&
			s.picked(m.number(), s.faults.AutoReplyRate) {
			reply = &Reply{From: m.number(), To: m.From, Body: s.faults.AutoReply, Channel: "sms"}
			s.stats.AutoReplies++
		}
	case "delivered":
		s.setStatus(m, "read", now)
		posts = s.statusPosts(m)
	}
	delay := time.Duration(s.faults.DeliveryDelayMs) * time.Millisecond
	s.mu.Unlock()

	if len(posts) > 0 {
		s.queue.Schedule(now, &job{kind: jobPosts, posts: posts})
	}
	if again {
		s.queue.Schedule(now.Add(delay), &job{kind: jobAdvance, sid: sid})
	}
	if reply != nil {
		s.queue.Schedule(now.Add(delay), &job{kind: jobReply, reply: *reply})
	}
}

// setStatus moves m to status. Called with mu held.
func (s *Sim) setStatus(m *Message, status string, now time.Time) {
	if m.Status != "" {
		s.stats.ByStatus[m.Status]--
	}
	s.stats.ByStatus[status]++
	m.Status, m.Updated = status, now
	m.History = append(m.History, Step{Status: status, At: now})
}

func price(m *Message) string {
	p := PriceSMS * float64(m.Segments)
	if m.Channel == "whatsapp" {
		p = PriceWhatsApp
	}
	return strconv.FormatFloat(-p, 'f', 5, 64)
}

// statusPosts builds the status callback of m's current status, as the callback faults have it: none
// (dropped), one, or two (duplicate). Called with mu held.
func (s *Sim) statusPosts(m *Message) []*post {
	if m.StatusCallback == "" {
		return nil
	}
	form := url.Values{
		"MessageSid":    {m.Sid},
		"SmsSid":        {m.Sid},
		"MessageStatus": {m.Status},
		"SmsStatus":     {m.Status},
		"AccountSid":    {s.opts.AccountSID},
		"From":          {m.From},
		"To":            {m.To},
		"ApiVersion":    {"2010-04-01"},
	}
	if m.MessagingServiceSid != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSid)
	}
	if m.ErrorCode != 0 {
		form.Set("ErrorCode", strconv.Itoa(m.ErrorCode))
	}
	cf := s.faults.Callbacks
	if s.chance(cf.DropRate) {
		s.stats.CallbacksDropped++
		return nil
	}
	key := s.opts.AuthToken
	if s.chance(cf.BadSignatureRate) {
		key += "-not-the-auth-token"
		s.stats.CallbacksBadSignature++
	}
	p := &post{url: m.StatusCallback, form: form, sig: signature(key, m.StatusCallback, form),
		idem: m.Sid + "-" + m.Status}
	if cf.Duplicate {
		dup := *p
		return []*post{p, &dup}
	}
	return []*post{p}
}

// callbackRetries is how many times a webhook that failed is tried again, after callbackBackoff,
// four times that, and so on.
const (
	callbackRetries = 3
	callbackBackoff = 100 * time.Millisecond
)

// deliver POSTs one webhook and, when retry, schedules another try if it failed. It reports the outcome.
func (s *Sim) deliver(ctx context.Context, p *post, retry bool) bool {
	status, err := s.postForm(ctx, p)
	ok := err == nil && status/100 == 2
	willRetry := !ok && retry && p.attempt < callbackRetries && ctx.Err() == nil
	s.mu.Lock()
	switch {
	case p.inbound != nil && ok:
		s.stats.InboundWebhooksSent++
		p.inbound.Webhook = "delivered (" + strconv.Itoa(status) + ")"
	case p.inbound != nil:
		s.stats.InboundWebhooksFailed++
		p.inbound.Webhook = failure(status, err, willRetry)
	case ok:
		s.stats.CallbacksSent++
	default:
		s.stats.CallbacksFailed++
		if !willRetry {
			s.stats.CallbacksGivenUp++
		}
	}
	s.mu.Unlock()
	if willRetry {
		next := *p
		next.attempt++
		backoff := callbackBackoff << (2 * p.attempt)
		s.queue.Schedule(time.Now().Add(backoff), &job{kind: jobPosts, posts: []*post{&next}})
	}
	return ok
}

func failure(status int, err error, retrying bool) string {
	var f string
	if err != nil {
		f = "failed: " + err.Error()
	} else {
		f = "failed (" + strconv.Itoa(status) + ")"
	}
	if retrying {
		f += ", retrying"
	}
	return f
}

func (s *Sim) postForm(ctx context.Context, p *post) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, strings.NewReader(p.form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", p.sig)
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	if p.idem != "" {
		req.Header.Set("I-Twilio-Idempotency-Token", p.idem)
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
