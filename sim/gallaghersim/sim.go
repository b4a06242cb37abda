// Package gallaghersim simulates an access control system shaped like Gallagher Command Centre's REST API,
// in memory, so the configuration-driven connector (restacs) and everything above it can be tried and
// tested without one: cardholders with hrefs, access group memberships with from/until that must carry a
// zone designator, next-link paging, an event feed, events pushed as Standard Webhooks, and fault switches
// (latency, 429/503/dropped answers, duplicate webhooks, a record held by an operator).
//
// The API lives under /api and needs "Authorization: GGL-API-KEY <key>". The control API under /sim (and a
// small page at /) needs no key: bind the simulator to a private address. Everything the control API does
// has a Go method for tests.
package gallaghersim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/signetassure/signetassure/sim/kit"
)

// DefaultAPIKey is the key when Options.APIKey is empty.
const DefaultAPIKey = "sim-api-key"

// Options configure a simulator.
type Options struct {
	APIKey        string           // "Authorization: GGL-API-KEY <APIKey>"; default DefaultAPIKey
	WebhookURL    string           // when set, every new event is POSTed here
	WebhookSecret string           // Standard Webhooks secret ("whsec_<base64>") signing deliveries
	Seed          bool             // start with sample cardholders and events
	Now           func() time.Time // the clock for events and validity; default time.Now
	BaseURL       string           // optional: the address hrefs start with; default the address each request came to
}

// Division is a Gallagher division; access groups and cardholders belong to one.
type Division struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AccessGroup is a Gallagher access group (an access level).
type AccessGroup struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	DivisionID string `json:"divisionId"`
}

// Door opens for the holders of one access group.
type Door struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	AccessGroupID string `json:"accessGroupId"`
}

// Membership is one access group on a cardholder; zero From or Until is unbounded.
type Membership struct {
	ID            string    `json:"id"`
	AccessGroupID string    `json:"accessGroupId"`
	From          time.Time `json:"from,omitzero"`
	Until         time.Time `json:"until,omitzero"`
	ByOperator    bool      `json:"byOperator,omitempty"` // added by hand at the simulator
}

// Cardholder is a person in the simulator.
type Cardholder struct {
	ID                 string            `json:"id"`
	FirstName          string            `json:"firstName"`
	LastName           string            `json:"lastName"`
	Authorised         bool              `json:"authorised"`
	DivisionID         string            `json:"divisionId"`
	PersonalDataFields map[string]string `json:"personalDataFields"` // externalId, employeeNumber, email; "@<name>" at the cardholder's root on the wire
	AccessGroups       []Membership      `json:"accessGroups"`
}

func (c *Cardholder) clone() *Cardholder {
	n := *c
	n.PersonalDataFields = maps.Clone(c.PersonalDataFields)
	n.AccessGroups = slices.Clone(c.AccessGroups)
	return &n
}

// Event is a badge swipe.
type Event struct {
	ID           string    `json:"id"`
	Time         time.Time `json:"time"`
	Type         string    `json:"type"` // "Access granted" or "Access denied"
	CardholderID string    `json:"cardholderId,omitempty"`
	Door         string    `json:"door"`
	DivisionID   string    `json:"divisionId,omitempty"`
}

// Faults are the switches that make the simulator misbehave.
type Faults struct {
	LatencyMs         int      `json:"latencyMs"`         // added to every API call
	FailRate          float64  `json:"failRate"`          // share of API calls that fail: a third each 429, 503 (both with Retry-After: 1, the call not done) and a dropped connection after the call was done
	DuplicateWebhooks bool     `json:"duplicateWebhooks"` // deliver every event twice
	HeldCardholders   []string `json:"heldCardholders"`   // ids an operator holds open: changes answer 409
}

// Stats count the API calls (not the control API).
type Stats struct {
	Calls          int            `json:"calls"`
	Writes         int            `json:"writes"`  // POST, PATCH, PUT, DELETE
	ByRoute        map[string]int `json:"byRoute"` // e.g. "PATCH /api/cardholders/{id}"
	WebhooksSent   int            `json:"webhooksSent"`
	WebhooksFailed int            `json:"webhooksFailed"` // deliveries given up after every attempt, or dropped from a full queue
}

// State is everything the simulator holds.
type State struct {
	Cardholders  []Cardholder  `json:"cardholders"`
	AccessGroups []AccessGroup `json:"accessGroups"`
	Divisions    []Division    `json:"divisions"`
	Doors        []Door        `json:"doors"`
	Events       []Event       `json:"events"`
	Faults       Faults        `json:"faults"`
}

// The reference data never changes.
var (
	divisions    = []Division{{"2", "Root Division"}, {"3", "Site A"}, {"4", "Site B"}}
	accessGroups = []AccessGroup{{"5", "Lab A", "3"}, {"6", "Lab B", "3"}, {"7", "Reception", "4"}, {"8", "Server Room", "4"}}
	doors        = []Door{{"101", "Lab A In", "5"}, {"102", "Lab B In", "6"}, {"103", "Reception Turnstile", "7"}, {"104", "Server Room", "8"}}
)

const rootDivision = "2"

// personalDataFields are the personal data fields the site defines; others are refused.
var personalDataFields = []string{"externalId", "employeeNumber", "email"}

func group(id string) (AccessGroup, bool) {
	i := slices.IndexFunc(accessGroups, func(g AccessGroup) bool { return g.ID == id })
	if i < 0 {
		return AccessGroup{}, false
	}
	return accessGroups[i], true
}

func division(id string) (Division, bool) {
	i := slices.IndexFunc(divisions, func(d Division) bool { return d.ID == id })
	if i < 0 {
		return Division{}, false
	}
	return divisions[i], true
}

func door(name string) (Door, bool) {
	i := slices.IndexFunc(doors, func(d Door) bool { return d.Name == name })
	if i < 0 {
		return Door{}, false
	}
	return doors[i], true
}

func knownDivision(id string) bool {
	return slices.ContainsFunc(divisions, func(d Division) bool { return d.ID == id })
}

// Sim is a simulated Gallagher Command Centre. It is safe for concurrent use.
type Sim struct {
	opts Options
	hook *standardwebhooks.Webhook
	mux  *http.ServeMux

	mu          sync.Mutex
	cardholders map[string]*Cardholder
	order       []string // cardholder ids in creation order
	lastID      int      // of cardholders, memberships and events
	events      []Event
	faults      Faults
	held        map[string]bool
	stats       Stats
	base        string // the last address a request came to, for webhook payloads

	outbox chan Event // events waiting for webhook delivery
	ctx    context.Context
	cancel context.CancelFunc // stops delivery
	done   sync.WaitGroup
	keeper *kit.Keeper // the state file's, if KeepState was called
}

// ErrNotFound and ErrInvalid are what the Go methods answer for an unknown id or bad input.
var (
	ErrNotFound = errors.New("gallaghersim: not found")
	ErrInvalid  = errors.New("gallaghersim: invalid")
)

// New makes a simulator. With Options.WebhookURL it starts a delivery goroutine: call Close when done.
func New(o Options) *Sim {
	if o.APIKey == "" {
		o.APIKey = DefaultAPIKey
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Sim{opts: o, base: o.BaseURL}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.base == "" {
		s.base = "http://gallagher.invalid"
	}
	if o.WebhookURL != "" {
		hook, err := standardwebhooks.NewWebhook(o.WebhookSecret)
		if err != nil || o.WebhookSecret == "" {
			panic("gallaghersim: Options.WebhookSecret must be a Standard Webhooks secret \"whsec_<base64>\"")
		}
		s.hook = hook
		s.outbox = make(chan Event, 4096)
		s.done.Add(1)
		go s.deliver()
	}
	s.Reset()
	s.routes()
	return s
}

// Handler serves the API, the control API and the state page.
func (s *Sim) Handler() http.Handler { return s.mux }

// Close stops webhook delivery (events still queued are dropped) and writes the state file a last time.
func (s *Sim) Close() {
	s.cancel()
	s.done.Wait()
	s.keeper.Close()
}

// Reset empties the simulator (and seeds it again with Options.Seed), clears the faults and the stats.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cardholders, s.order, s.lastID, s.events = map[string]*Cardholder{}, nil, 100, nil
	s.faults, s.held = Faults{HeldCardholders: []string{}}, map[string]bool{}
	s.stats = Stats{ByRoute: map[string]int{}}
	if !s.opts.Seed {
		return
	}
	now := s.opts.Now().UTC()
	for _, c := range []Cardholder{
		{FirstName: "Grace", LastName: "Hopper", Authorised: true, DivisionID: "3", PersonalDataFields: map[string]string{"employeeNumber": "E1001"},
			AccessGroups: []Membership{{AccessGroupID: "5", ByOperator: true}}},
		{FirstName: "Alan", LastName: "Turing", Authorised: true, DivisionID: "4", PersonalDataFields: map[string]string{"employeeNumber": "E1002"},
			AccessGroups: []Membership{{AccessGroupID: "7", From: now.AddDate(0, 0, -30), Until: now.AddDate(0, 3, 0), ByOperator: true}}},
		{FirstName: "Katherine", LastName: "Johnson", Authorised: false, DivisionID: "3", PersonalDataFields: map[string]string{}},
	} {
		s.insert(c.clone())
	}
	first := s.order[0]
	s.swipe(first, "Lab A In", false)
	s.swipe(first, "Server Room", false)
}

// nextID hands out ids; callers hold mu.
func (s *Sim) nextID() string {
	s.lastID++
	return strconv.Itoa(s.lastID)
}

// insert stores a new cardholder, giving it and its memberships ids; callers hold mu.
func (s *Sim) insert(c *Cardholder) {
	c.ID = s.nextID()
	for i := range c.AccessGroups {
		if c.AccessGroups[i].ID == "" {
			c.AccessGroups[i].ID = s.nextID()
		}
	}
	s.cardholders[c.ID] = c
	s.order = append(s.order, c.ID)
}

// Faults answers the fault switches.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.HeldCardholders = slices.Clone(f.HeldCardholders)
	return f
}

// SetFaults replaces the fault switches.
func (s *Sim) SetFaults(f Faults) error {
	if f.FailRate < 0 || f.FailRate > 1 || f.LatencyMs < 0 {
		return fmt.Errorf("%w: failRate must be within 0..1 and latencyMs not negative", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f.HeldCardholders = slices.Clone(f.HeldCardholders)
	if f.HeldCardholders == nil {
		f.HeldCardholders = []string{}
	}
	s.faults, s.held = f, map[string]bool{}
	for _, id := range f.HeldCardholders {
		s.held[id] = true
	}
	return nil
}

// Stats answers the call counts.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByRoute = maps.Clone(st.ByRoute)
	return st
}

// State answers a copy of everything the simulator holds.
func (s *Sim) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := State{Cardholders: make([]Cardholder, 0, len(s.order)), AccessGroups: accessGroups, Divisions: divisions, Doors: doors,
		Events: slices.Clone(s.events), Faults: s.faults}
	st.Faults.HeldCardholders = slices.Clone(st.Faults.HeldCardholders)
	for _, id := range s.order {
		st.Cardholders = append(st.Cardholders, *s.cardholders[id].clone())
	}
	return st
}

// OperatorAddAccessGroup adds an access group to a cardholder by hand, as an operator at the Command
// Centre client would (drift SignetAssure must notice and undo). Zero times are unbounded.
func (s *Sim) OperatorAddAccessGroup(cardholderID, accessGroupID string, from, until time.Time) error {
	if _, ok := group(accessGroupID); !ok {
		return fmt.Errorf("%w: access group %q", ErrNotFound, accessGroupID)
	}
	if !from.IsZero() && !until.IsZero() && until.Before(from) {
		return fmt.Errorf("%w: until is before from", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cardholders[cardholderID]
	if !ok {
		return fmt.Errorf("%w: cardholder %q", ErrNotFound, cardholderID)
	}
	c.AccessGroups = append(c.AccessGroups, Membership{ID: s.nextID(), AccessGroupID: accessGroupID, From: from.UTC(), Until: until.UTC(), ByOperator: true})
	return nil
}

// Swipe records a badge swipe at a door ("" cardholderID is an unknown card) and, with a webhook URL,
// pushes it. Access is granted to an authorised cardholder holding the door's access group now.
func (s *Sim) Swipe(cardholderID, door string) (Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.ContainsFunc(doors, func(d Door) bool { return d.Name == door }) {
		return Event{}, fmt.Errorf("%w: door %q", ErrNotFound, door)
	}
	if _, ok := s.cardholders[cardholderID]; cardholderID != "" && !ok {
		return Event{}, fmt.Errorf("%w: cardholder %q", ErrNotFound, cardholderID)
	}
	return s.swipe(cardholderID, door, true), nil
}

// swipe records an event; callers hold mu and have checked the door.
func (s *Sim) swipe(cardholderID, door string, push bool) Event {
	now := s.opts.Now().UTC()
	d := doors[slices.IndexFunc(doors, func(d Door) bool { return d.Name == door })]
	g, _ := group(d.AccessGroupID)
	e := Event{ID: "ev-" + s.nextID(), Time: now, Type: "Access denied", CardholderID: cardholderID, Door: door, DivisionID: g.DivisionID}
	if c, ok := s.cardholders[cardholderID]; ok && c.Authorised && slices.ContainsFunc(c.AccessGroups, func(m Membership) bool {
		return m.AccessGroupID == d.AccessGroupID && (m.From.IsZero() || !now.Before(m.From)) && (m.Until.IsZero() || !now.After(m.Until))
	}) {
		e.Type = "Access granted"
	}
	// Keep the events in time order (after those of the same time), whatever the clock did.
	at := sort.Search(len(s.events), func(i int) bool { return s.events[i].Time.After(now) })
	s.events = slices.Insert(s.events, at, e)
	if push && s.outbox != nil {
		select {
		case s.outbox <- e:
		default:
			s.stats.WebhooksFailed++
		}
	}
	return e
}

// failure is what a fault switch makes of one call.
type failure int

const (
	failNone failure = iota
	failRateLimited
	failUnavailable
	failDropped
)

// roll decides whether this call fails.
func roll(rate float64) failure {
	if rate <= 0 || rand.Float64() >= rate {
		return failNone
	}
	return failure(1 + rand.IntN(3))
}
