// Package sendgridsim is a local SendGrid: the v3 Mail Send API, the Email Activity API and the signed
// Event Webhook, with a page that shows every e-mail it was given. People trying SignetAssure read the
// e-mails here; tests drive it, and break it on purpose.
//
// The API, as SendGrid serves it:
//
//	POST /v3/mail/send                    Authorization: Bearer <APIKey>; 202 with X-Message-Id
//	GET  /v3/messages?query=...&limit=N   Email Activity: msg_id, to_email, from_email, subject, status,
//	                                      template_id and unique_args['name'] = "value", joined by AND;
//	                                      last_event_time BETWEEN TIMESTAMP "..." AND TIMESTAMP "..."
//	GET  /v3/messages/{msg_id}            one message (the full msg_id, or the X-Message-Id)
//
// Every accepted recipient gets events (processed, then delivered; bounce for addresses listed in
// Faults.Bouncing; deferred then delivered for Faults.Deferring; dropped for suppressed addresses),
// POSTed to Options.EventsURL as JSON arrays signed as SendGrid signs them (ECDSA P-256, headers
// X-Twilio-Email-Event-Webhook-Signature and -Timestamp), several events per POST when many are waiting,
// each POST tried up to four times. A fixed number of workers posts them whatever the volume.
//
// The control API:
//
//	GET  /                                the e-mails, newest first, with their bodies and events
//	GET  /sim/state?limit=N               messages (newest first, default 200), suppressions, faults, stats
//	GET  /sim/stats                       counts (see Stats)
//	GET  /sim/faults, PUT /sim/faults     the faults (PUT replaces them all)
//	POST /sim/faults                      changes the faults named in the body, keeps the others
//	POST /sim/reset                       forgets every message, suppression, fault and count
//	POST /sim/unsubscribe                 {"email", "kind"}: kind unsubscribe (default), group_unsubscribe
//	                                      or spamreport; an event for the latest message to the address,
//	                                      which stays suppressed: later sends to it are accepted and dropped
//	POST /sim/resubscribe                 {"email"}: lifts the suppression
//	POST /sim/messages/{msg_id}/open      an open event (the recipient read it); .../click a click
//
// The control API takes JSON, or a form (then it answers with a redirect to the page).
package sendgridsim

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/binary"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// Options configure a simulator.
type Options struct {
	// APIKey is the key the API demands as "Authorization: Bearer <APIKey>"; "" accepts any key.
	APIKey string
	// EventsURL is where the signed Event Webhook is POSTed; "" keeps the events in the simulator only.
	EventsURL string
	// SigningKey signs the Event Webhook; nil makes a new key (see PublicKey).
	SigningKey *ecdsa.PrivateKey
	// DeliveryDelay is how long after processed a message is delivered (or bounced, or deferred).
	DeliveryDelay time.Duration
	// Seed, when not 0, makes the ids and the dice repeat from run to run. Leave it 0 where the ids end up
	// in a database that outlives the simulator: the same seed gives the same X-Message-Ids again.
	Seed int64
}

// Workers post events to EventsURL; BatchMax is the most events in one POST.
const (
	Workers  = 4
	BatchMax = 100
)

// Sim is the simulator. Its methods may be called from any goroutine.
type Sim struct {
	opts   Options
	pub    string
	mux    *http.ServeMux
	client *http.Client

	ctx    context.Context
	cancel context.CancelFunc
	done   sync.WaitGroup
	kick   chan struct{}          // the workers: events are pending
	events *kit.Queue[*scheduled] // events to happen, one at a time in order
	keeper *kit.Keeper            // the state file's, if KeepState was called

	mu           sync.Mutex
	rng          *rand.Rand
	requests     int64 // mail sends accepted, for ids
	eventSeq     int64
	messages     []*message          // in the order accepted
	byMsgID      map[string]*message // by sg_message_id
	byXID        map[string]*message // by X-Message-Id: the request's first recipient
	suppressions map[string]*Suppression
	seen         map[string]bool // to, subject and sa_message_id of accepted messages
	faults       Faults
	stats        Stats
	pending      []map[string]any // events to post
	// epoch counts resets: a batch taken before a reset is posted, but not counted after it.
	epoch uint64
}

// New starts a simulator; Close stops it.
func New(o Options) *Sim {
	if o.SigningKey == nil {
		o.SigningKey = newSigningKey()
	}
	pub := verificationKey(&o.SigningKey.PublicKey)
	s := &Sim{
		opts:   o,
		pub:    pub,
		client: &http.Client{Timeout: 10 * time.Second},
		kick:   make(chan struct{}, Workers),
	}
	seed := uint64(o.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x5eed))
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.events = kit.NewQueue(1, s.happen)
	s.clear()
	s.mux = s.routes()
	s.done.Add(Workers)
	for range Workers {
		go s.worker()
	}
	return s
}

// Handler serves the API, the control API and the page.
func (s *Sim) Handler() http.Handler { return s.mux }

// PublicKey is the Event Webhook verification key as SendGrid's console shows it (base64 of the DER).
func (s *Sim) PublicKey() string { return s.pub }

// Close stops the event queue and the workers (events not yet posted are not) and writes the state file
// a last time.
func (s *Sim) Close() {
	s.cancel()
	s.events.Close()
	s.done.Wait()
	s.keeper.Close()
}

// Reset forgets every message, suppression, scheduled event, fault and count.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clear()
}

// clear empties the state. Called with mu held, or before the simulator is shared.
func (s *Sim) clear() {
	s.messages = nil
	s.byMsgID = map[string]*message{}
	s.byXID = map[string]*message{}
	s.suppressions = map[string]*Suppression{}
	s.seen = map[string]bool{}
	s.faults = Faults{}
	s.stats = Stats{}
	s.events.Clear()
	s.pending = nil
	s.epoch++
}

// newID is a random 22-character id, as SendGrid's X-Message-Id. Called with mu held.
func (s *Sim) newID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], s.rng.Uint64())
	binary.LittleEndian.PutUint64(b[8:], s.rng.Uint64())
	return base64.RawURLEncoding.EncodeToString(b[:])
}
