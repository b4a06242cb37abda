package credoidsim

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// The state file (KeepState): users under their ids, the catalogue, the event feed and the tokens, so
// that the user ids SignetAssure stored (and links to badges) name the same people after a restart.

type savedState struct {
	Next      savedCounters        `json:"next"`
	Users     []savedUser          `json:"users"` // ascending id
	Companies map[int]string       `json:"companies"`
	Locations map[int]string       `json:"locations"`
	Levels    []savedLevel         `json:"levels"`
	Profiles  []savedProfile       `json:"profiles"`
	Events    []savedEvent         `json:"events"`
	Doors     map[string]int       `json:"doors"`
	Tokens    map[string]time.Time `json:"tokens"`
}

type savedCounters struct {
	User, Company, Location, Level, Profile, Door int
	Event                                         int64
}

type savedUser struct {
	ID              int               `json:"id"`
	First           string            `json:"first"`
	Last            string            `json:"last"`
	Employee        string            `json:"employee"`
	Email           string            `json:"email"`
	Department      *string           `json:"department,omitempty"`
	Title           *string           `json:"title,omitempty"`
	Additional      [3]string         `json:"additional"`
	Company         int               `json:"company"`
	Active          bool              `json:"active"`
	Activation      time.Time         `json:"activation"`
	Expiration      time.Time         `json:"expiration"`
	Locations       []int             `json:"locations"`
	Grants          []savedGrant      `json:"grants"`
	Profiles        []int             `json:"profiles"`
	Identifications []json.RawMessage `json:"identifications"`
}

type savedGrant struct {
	Level int       `json:"level"`
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
}

type savedLevel struct {
	ID       int    `json:"id"`
	Name     string `json:"name"`
	Location int    `json:"location"`
}

type savedProfile struct {
	ID     int    `json:"id"`
	Name   string `json:"name"`
	Levels []int  `json:"levels"`
}

type savedEvent struct {
	At     time.Time   `json:"at"`
	Record EventRecord `json:"record"`
}

// snapshot is the state as the file holds it, marshalled under the locks.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.ctl.Lock()
	defer s.ctl.Unlock()
	n := s.next
	st := savedState{Next: savedCounters{User: n.user, Company: n.company, Location: n.location, Level: n.level,
		Profile: n.profile, Door: n.door, Event: n.event},
		Companies: s.companies, Locations: s.locations, Doors: s.doors, Tokens: s.tokens}
	for _, id := range s.order {
		u := s.users[id]
		su := savedUser{ID: u.id, First: u.first, Last: u.last, Employee: u.employee, Email: u.email,
			Department: u.department, Title: u.title,
			Additional: u.additional, Company: u.company, Active: u.active, Activation: u.activation,
			Expiration: u.expiration, Locations: u.locations, Profiles: u.profiles, Identifications: u.identifications}
		for _, g := range u.grants {
			su.Grants = append(su.Grants, savedGrant{Level: g.level, From: g.from, To: g.to})
		}
		st.Users = append(st.Users, su)
	}
	for _, id := range slices.Sorted(maps.Keys(s.levels)) {
		st.Levels = append(st.Levels, savedLevel{ID: id, Name: s.levels[id].name, Location: s.levels[id].location})
	}
	for _, id := range slices.Sorted(maps.Keys(s.profiles)) {
		st.Profiles = append(st.Profiles, savedProfile{ID: id, Name: s.profiles[id].name, Levels: s.profiles[id].levels})
	}
	for _, e := range s.events {
		st.Events = append(st.Events, savedEvent{At: e.at, Record: e.rec})
	}
	return json.Marshal(st)
}

// restore takes the state of the file, in place of the seeded catalogue.
func (s *Sim) restore(st *savedState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := st.Next
	s.next = counters{user: n.User, company: n.Company, location: n.Location, level: n.Level, profile: n.Profile,
		door: n.Door, event: n.Event}
	s.users, s.order = map[int]*user{}, nil
	s.byExt, s.byEmp, s.search = map[string][]int{}, map[string][]int{}, trigrams{}
	for _, su := range st.Users {
		u := &user{id: su.ID, first: su.First, last: su.Last, employee: su.Employee, email: su.Email,
			department: su.Department, title: su.Title,
			additional: su.Additional, company: su.Company, active: su.Active, activation: su.Activation,
			expiration: su.Expiration, locations: su.Locations, profiles: su.Profiles, identifications: su.Identifications}
		for _, g := range su.Grants {
			u.grants = append(u.grants, grant{level: g.Level, from: g.From, to: g.To})
		}
		u.setHaystack()
		s.users[u.id] = u
		s.order = append(s.order, u.id)
		s.index(u, true)
	}
	slices.Sort(s.order)
	s.companies, s.locations = orEmpty(st.Companies), orEmpty(st.Locations)
	s.levels, s.profiles = map[int]*level{}, map[int]*profile{}
	for _, l := range st.Levels {
		s.levels[l.ID] = &level{name: l.Name, location: l.Location}
	}
	for _, p := range st.Profiles {
		s.profiles[p.ID] = &profile{name: p.Name, levels: p.Levels}
	}
	s.events = nil
	for _, e := range st.Events {
		s.events = append(s.events, storedEvent{at: e.At, rec: e.Record})
	}
	s.doors = orEmpty(st.Doors)
	if st.Tokens != nil {
		s.ctl.Lock()
		s.tokens = st.Tokens
		s.ctl.Unlock()
	}
}

func orEmpty[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// KeepState loads the state kept at path (a JSON file; none yet: the simulator keeps what New made) and
// keeps it there from now on: within a second of a change, and at Close. Call it after New, before
// serving. onError (nil: ignore) hears of writes that failed.
func (s *Sim) KeepState(path string, onError func(error)) (err error) {
	s.keeper, err = kit.Resume(path, s.restore, s.snapshot, onError)
	return err
}

// Close writes the state file a last time and stops keeping it. A simulator without one needs no Close.
func (s *Sim) Close() { s.keeper.Close() }
