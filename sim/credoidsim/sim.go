// Package credoidsim is a local, in-memory CredoID: it serves CredoID's REST contract as the vendor notes
// describe it (shared/reference/credoid.md; its own wire types in wire.go, not the client's) for
// `make run`, tests and benchmarks,
// and lets a test or a person break it on purpose: faults, an operator's manual changes, the hourly
// clean-up, badge swipes.
//
// # The CredoID API (/api, bearer token from POST /api/login)
//
//	POST   /api/login                      {"username","password"} -> {"token","access_token","expiresIn"}
//	GET    /api/users?search=&skip=&take=  bare array, ordered by id, total in X-Total-Count; search matches
//	                                       names, employee number and additional1, case-insensitively
//	POST   /api/users                      201 with the record; duplicate employee number 409
//	GET    /api/users/{id}                 full record; PUT replaces the whole record; DELETE 204
//	GET    /api/access-levels | /api/access-profiles | /api/companies | /api/locations
//	GET    /api/events?from=&to=&userId=&afterId=&take=   oldest (lowest id) first
//
// Errors are ASP.NET ProblemDetails. Date-times are read and written as wall-clock time in
// Options.TimeZone without an offset. The simulator is lenient about what it reads, as ASP.NET's binder
// is: a value carrying "Z" or an offset is converted to local time, and a date alone is local midnight.
//
// # Control API (/sim, JSON, no authentication)
//
//	GET  /                              an HTML page: "the badge system" as an operator would see it
//	GET  /sim/state                     users with their access, catalogue, counts, recent events, faults
//	GET  /sim/stats                     {"calls","writes","byRoute":{"GET /api/users":n,...}}
//	POST /sim/stats/reset
//	GET  /sim/faults, PUT /sim/faults   Faults as JSON (see the type); PUT replaces them all
//	POST /sim/operator/users            an operator creates a user by hand: any fields, no additional1
//	                                    needed, employee numbers not checked for duplicates
//	POST /sim/operator/users/{id}/levels {"levelId","validFrom","validTo"}: adds a level by hand (or changes
//	                                    its validity when the user has it)
//	POST   /sim/operator/levels         {"name","locationId"}: a new custom level
//	PATCH  /sim/operator/levels/{id}    {"name"}: renames a level
//	DELETE /sim/operator/levels/{id}    deletes a level from the catalogue, every profile and every user
//	POST /sim/operator/cleanup          the hourly clean-up, now: deletes users whose expirationDate passed
//	POST /sim/operator/renumber         a restore that renumbers: the users get the same ids in reverse
//	                                    order, so an id names another person's record; {"moved":{old:new}}
//	POST /sim/events                    a badge swipe {"userId","doorName","locationId","time"?,"type"?,
//	                                    "duplicate"?}
//	POST /sim/reset                     back to a fresh start (data, tokens, faults, stats)
//
// Every control endpoint has a Go method (Sim.AddEvent, Sim.AddLevelByHand, ...) for tests.
//
// # Duplicate events
//
// A database-backed feed cannot hold two events with one id, so a swipe with "duplicate": true is stored
// once and instead served again: the first GET /api/events whose afterId is at or past it is rewound to
// start just before it, re-serving that event and what follows it, as an overlapping backfill after a
// reconnect would. The rewind happens once per duplicate.
package credoidsim

import (
	"encoding/json"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"time"
	_ "time/tzdata" // the default zone must load on hosts without a zone database

	"github.com/signetassure/signetassure/sim/kit"
)

// Options configure a Sim. Zero values take the defaults.
type Options struct {
	Username, Password string         // the operator the API accepts; default "admin" / "admin"
	TimeZone           *time.Location // the server's zone for every date-time on the wire; default Europe/London
	TokenTTL           time.Duration  // how long a token lasts; default 1 h (Faults.TokenTTLSeconds overrides)
	Seed               bool           // load the demo catalogue (the Company*, Location*, Level* and Profile* constants)
	Now                func() time.Time
}

// Ids of the demo catalogue that Options.Seed loads.
const (
	CompanyOwn       = 1 // "SignetAssure Demo"
	CompanySupplier1 = 2 // "Acme Facilities Ltd"
	CompanySupplier2 = 3 // "Northgate Engineering"
	CompanySupplier3 = 4 // "Brightline Security"

	LocationSiteA = 1
	LocationSiteB = 2
	LocationSiteC = 3

	LevelAlways          = 1
	LevelNever           = 2
	LevelSiteAGeneral    = 3
	LevelSiteALab        = 4
	LevelSiteBGeneral    = 5
	LevelSiteBServerRoom = 6
	LevelSiteCGeneral    = 7

	ProfileVisitor      = 1 // Site A General
	ProfileContractorSC = 2 // Site A General, Site B General
	ProfileStaffDV      = 3 // every General level, the Site A Lab and the Site B Server Room
)

// Sim is a simulated CredoID server. It is safe for concurrent use.
type Sim struct {
	opts   Options
	keeper *kit.Keeper // the state file's, if KeepState was called
	loc    *time.Location
	mux    *http.ServeMux

	mu          sync.RWMutex // guards the data; may be held while taking ctl, never the other way round
	next        counters
	users       map[int]*user
	order       []int            // user ids, ascending, for paging
	byExt       map[string][]int // additional1 -> user ids
	byEmp       map[string][]int // employee number -> user ids
	search      trigrams         // what ?search= looks in
	companies   map[int]string
	locations   map[int]string
	levels      map[int]*level
	profiles    map[int]*profile
	events      []storedEvent // ascending id
	replay      []int64       // ids of duplicate swipes not yet served again
	doors       map[string]int
	lastCleanup time.Time // the hour the hourly clean-up last ran

	ctl     sync.Mutex // guards faults, stats, tokens and the dice
	faults  Faults
	stats   Stats
	tokens  map[string]time.Time // token -> issued at
	rng     *rand.Rand
	traceID uint64
}

type counters struct {
	user, company, location, level, profile, door int
	event                                         int64
}

type user struct {
	id                     int
	first, last            string
	employee, email        string
	department, title      *string // nil: null, as the reference's record shows them
	additional             [3]string
	company                int
	active                 bool
	activation, expiration time.Time // zero: none
	locations              []int     // the first is the default
	grants                 []grant
	profiles               []int
	identifications        []json.RawMessage
	haystack               string // lower-cased text ?search= looks in
}

type grant struct {
	level    int
	from, to time.Time // zero: unbounded
}

type level struct {
	name     string
	location int
}

type profile struct {
	name   string
	levels []int
}

// New starts a Sim.
func New(o Options) *Sim {
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "admin"
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Sim{opts: o, loc: o.TimeZone}
	if s.loc == nil {
		var err error
		if s.loc, err = time.LoadLocation("Europe/London"); err != nil {
			panic(err) // time/tzdata is embedded
		}
	}
	s.Reset()
	s.mux = s.routes()
	return s
}

// Handler serves the CredoID API under /api, the control API under /sim and the HTML page at /.
func (s *Sim) Handler() http.Handler { return s.mux }

// Now is the server's clock: Options.Now plus the clock-skew fault.
func (s *Sim) Now() time.Time {
	s.ctl.Lock()
	skew := time.Duration(s.faults.ClockSkewSeconds) * time.Second
	s.ctl.Unlock()
	return s.opts.Now().Add(skew)
}

// Reset empties the server (users, events, tokens), clears faults and stats, and seeds the demo
// catalogue again when Options.Seed.
func (s *Sim) Reset() {
	s.mu.Lock()
	s.next = counters{}
	s.users, s.order = map[int]*user{}, nil
	s.byExt, s.byEmp, s.search = map[string][]int{}, map[string][]int{}, trigrams{}
	s.companies, s.locations = map[int]string{}, map[int]string{}
	s.levels, s.profiles = map[int]*level{}, map[int]*profile{}
	s.events, s.replay, s.doors = nil, nil, map[string]int{}
	s.lastCleanup = time.Time{}
	if s.opts.Seed {
		s.seed()
	}
	s.mu.Unlock()

	s.ctl.Lock()
	s.faults, s.stats, s.tokens = Faults{}, Stats{ByRoute: map[string]int{}}, map[string]time.Time{}
	s.rng = rand.New(rand.NewPCG(1, 2))
	s.ctl.Unlock()
}

// seed loads the demo catalogue; the ids come out as the constants say. Called with mu held.
func (s *Sim) seed() {
	for _, n := range []string{"SignetAssure Demo", "Acme Facilities Ltd", "Northgate Engineering", "Brightline Security"} {
		s.addCompany(n)
	}
	for _, n := range []string{"Site A", "Site B", "Site C"} {
		s.addLocation(n)
	}
	s.addLevel("Always", 0)
	s.addLevel("Never", 0)
	s.addLevel("Site A General", LocationSiteA)
	s.addLevel("Site A Lab", LocationSiteA)
	s.addLevel("Site B General", LocationSiteB)
	s.addLevel("Site B Server Room", LocationSiteB)
	s.addLevel("Site C General", LocationSiteC)
	s.addProfile("Visitor", []int{LevelSiteAGeneral})
	s.addProfile("Contractor SC", []int{LevelSiteAGeneral, LevelSiteBGeneral})
	s.addProfile("Staff DV", []int{LevelSiteAGeneral, LevelSiteBGeneral, LevelSiteCGeneral, LevelSiteALab, LevelSiteBServerRoom})
}

func (s *Sim) addCompany(name string) int {
	s.next.company++
	s.companies[s.next.company] = name
	return s.next.company
}

func (s *Sim) addLocation(name string) int {
	s.next.location++
	s.locations[s.next.location] = name
	return s.next.location
}

func (s *Sim) addLevel(name string, location int) int {
	s.next.level++
	s.levels[s.next.level] = &level{name: name, location: location}
	return s.next.level
}

func (s *Sim) addProfile(name string, levels []int) int {
	s.next.profile++
	s.profiles[s.next.profile] = &profile{name: name, levels: slices.Clone(levels)}
	return s.next.profile
}

// AddCompany adds a company to the catalogue and returns its id.
func (s *Sim) AddCompany(name string) int { return locked(s, func() int { return s.addCompany(name) }) }

// AddLocation adds a location and returns its id.
func (s *Sim) AddLocation(name string) int {
	return locked(s, func() int { return s.addLocation(name) })
}

// AddLevel adds a custom access level at a location (0: none) and returns its id.
func (s *Sim) AddLevel(name string, locationID int) int {
	return locked(s, func() int { return s.addLevel(name, locationID) })
}

// AddProfile adds an access profile bundling levelIDs and returns its id.
func (s *Sim) AddProfile(name string, levelIDs ...int) int {
	return locked(s, func() int { return s.addProfile(name, levelIDs) })
}

func locked[T any](s *Sim, f func() T) T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f()
}

// RenameLevel renames an access level, as an operator may; users keep it under its new name.
func (s *Sim) RenameLevel(id int, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.levels[id]
	if !ok {
		return notFound("access level")
	}
	l.name = name
	return nil
}

// DeleteLevel deletes an access level from the catalogue, from every profile and from every user that
// has it, as an operator may, and says how many users lost it.
func (s *Sim) DeleteLevel(id int) (usersAffected int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.levels[id]; !ok {
		return 0, notFound("access level")
	}
	delete(s.levels, id)
	for _, p := range s.profiles {
		p.levels = slices.DeleteFunc(p.levels, func(l int) bool { return l == id })
	}
	for _, u := range s.users {
		n := len(u.grants)
		u.grants = slices.DeleteFunc(u.grants, func(g grant) bool { return g.level == id })
		if len(u.grants) != n {
			usersAffected++
		}
	}
	return usersAffected, nil
}

// Catalogue is the reference data, as the API serves it.
type Catalogue struct {
	Companies []RefRecord     `json:"companies"`
	Locations []RefRecord     `json:"locations"`
	Levels    []LevelRecord   `json:"levels"`
	Profiles  []ProfileRecord `json:"profiles"`
}

// Catalogue returns the reference data, each list by ascending id.
func (s *Sim) Catalogue() Catalogue {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.catalogue()
}

func (s *Sim) catalogue() Catalogue {
	refs := func(m map[int]string) []RefRecord {
		out := []RefRecord{}
		for _, id := range slices.Sorted(maps.Keys(m)) {
			out = append(out, RefRecord{ID: id, Name: m[id]})
		}
		return out
	}
	c := Catalogue{Companies: refs(s.companies), Locations: refs(s.locations),
		Levels: []LevelRecord{}, Profiles: []ProfileRecord{}}
	for _, id := range slices.Sorted(maps.Keys(s.levels)) {
		l := s.levels[id]
		c.Levels = append(c.Levels, LevelRecord{ID: id, Name: l.name, LocationID: l.location})
	}
	for _, id := range slices.Sorted(maps.Keys(s.profiles)) {
		p := s.profiles[id]
		c.Profiles = append(c.Profiles, ProfileRecord{ID: id, Name: p.name, AccessLevelIDs: append([]int{}, p.levels...)})
	}
	return c
}
