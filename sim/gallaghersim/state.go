package gallaghersim

import (
	"encoding/json"

	"github.com/signetassure/signetassure/sim/kit"
)

// The state file (KeepState): cardholders under their ids and the events, so that the cardholder ids
// SignetAssure stored name the same people after a restart.

type savedState struct {
	LastID      int          `json:"lastId"`
	Cardholders []Cardholder `json:"cardholders"` // in creation order
	Events      []Event      `json:"events"`
}

// snapshot is the state as the file holds it, marshalled under mu.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{LastID: s.lastID, Events: s.events}
	for _, id := range s.order {
		st.Cardholders = append(st.Cardholders, *s.cardholders[id])
	}
	return json.Marshal(st)
}

// restore takes the state of the file in place of the seeded cardholders.
func (s *Sim) restore(st *savedState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cardholders, s.order, s.lastID, s.events = map[string]*Cardholder{}, nil, st.LastID, st.Events
	for _, c := range st.Cardholders {
		s.cardholders[c.ID] = c.clone()
		s.order = append(s.order, c.ID)
	}
}

// KeepState loads the state kept at path (a JSON file; none yet: the simulator keeps what New made) and
// keeps it there from now on: within a second of a change, and at Close. Call it after New, before
// serving. onError (nil: ignore) hears of writes that failed.
func (s *Sim) KeepState(path string, onError func(error)) (err error) {
	s.keeper, err = kit.Resume(path, s.restore, s.snapshot, onError)
	return err
}
