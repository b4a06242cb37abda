package twiliosim

import (
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// The state file (KeepState): messages, replies, opt-outs and counts, so that the message sids
// SignetAssure stored still answer after a restart. The faults go back to the Options'.

type savedState struct {
	Messages    []savedMessage       `json:"messages"` // ascending creation
	Inbound     []*Inbound           `json:"inbound"`  // ascending
	OptOut      []string             `json:"optOut"`
	LastSender  map[string]string    `json:"lastSender"`
	LastInbound map[string]time.Time `json:"lastInbound"`
	FirstFrom   string               `json:"firstFrom"`
	Pairs       map[string]int       `json:"pairs"`
	Seq         uint64               `json:"seq"`
	Stats       Stats                `json:"stats"`
}

type savedMessage struct {
	Message
	Seq           uint64 `json:"simSeq"`
	Outcome       string `json:"simOutcome,omitempty"`
	OutcomeCode   int    `json:"simOutcomeCode,omitempty"`
	OutcomeReason string `json:"simOutcomeReason,omitempty"`
}

// snapshot is the state as the file holds it, marshalled under mu.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{Inbound: s.inbound, OptOut: slices.Sorted(maps.Keys(s.optOut)), LastSender: s.lastSender,
		LastInbound: s.lastInbound, FirstFrom: s.firstFrom, Pairs: s.pairs, Seq: s.seq, Stats: s.stats}
	for _, m := range s.order {
		st.Messages = append(st.Messages, savedMessage{Message: *m, Seq: m.seq, Outcome: m.outcome,
			OutcomeCode: m.outcomeCode, OutcomeReason: m.outcomeReason})
	}
	return json.Marshal(st)
}

// restore takes the state of the file; messages still on their way move on.
func (s *Sim) restore(st *savedState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, sm := range st.Messages {
		m := new(Message)
		*m = sm.Message
		m.seq, m.outcome, m.outcomeCode, m.outcomeReason = sm.Seq, sm.Outcome, sm.OutcomeCode, sm.OutcomeReason
		s.msgs[m.Sid] = m
		s.order = append(s.order, m)
		s.byTo[m.To] = append(s.byTo[m.To], m)
		if m.Status == "queued" || m.Status == "sent" || (m.Status == "delivered" && m.Channel == "whatsapp") {
			s.queue.Schedule(now, &job{kind: jobAdvance, sid: m.Sid})
		}
	}
	s.inbound = st.Inbound
	for _, n := range st.OptOut {
		s.optOut[n] = true
	}
	maps.Copy(s.lastSender, st.LastSender)
	maps.Copy(s.lastInbound, st.LastInbound)
	maps.Copy(s.pairs, st.Pairs)
	s.firstFrom, s.seq = st.FirstFrom, st.Seq
	s.stats = st.Stats
	for _, m := range []*map[int]int{&s.stats.Rejected} {
		if *m == nil {
			*m = map[int]int{}
		}
	}
	for _, m := range []*map[string]int{&s.stats.ByStatus, &s.stats.PerRecipient} {
		if *m == nil {
			*m = map[string]int{}
		}
	}
}

// KeepState loads the state kept at path (a JSON file; none yet: the simulator stays empty) and keeps it
// there from now on: within a second of a change, and at Close. Call it after New, before serving.
// onError (nil: ignore) hears of writes that failed.
func (s *Sim) KeepState(path string, onError func(error)) (err error) {
	s.keeper, err = kit.Resume(path, s.restore, s.snapshot, onError)
	return err
}
