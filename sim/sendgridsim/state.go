package sendgridsim

import (
	"encoding/json"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// The state file (KeepState): messages with their events, suppressions and counts, so that the message
// ids SignetAssure stored still answer after a restart. The faults start empty again.

type savedState struct {
	Requests     int64                   `json:"requests"`
	EventSeq     int64                   `json:"eventSeq"`
	Messages     []savedMessage          `json:"messages"` // in the order accepted
	Suppressions map[string]*Suppression `json:"suppressions"`
	Seen         map[string]bool         `json:"seen"`
	Stats        Stats                   `json:"stats"`
}

// savedMessage is a message as the control API shows it, with what it leaves out.
type savedMessage struct {
	Message
	SMTPID    string    `json:"smtpId"`
	LastEvent time.Time `json:"lastEvent"`
}

// snapshot is the state as the file holds it, marshalled under mu.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{Requests: s.requests, EventSeq: s.eventSeq, Suppressions: s.suppressions, Seen: s.seen, Stats: s.stats}
	for _, m := range s.messages {
		st.Messages = append(st.Messages, savedMessage{Message: m.view(), SMTPID: m.smtpID, LastEvent: m.lastEvent})
	}
	return json.Marshal(st)
}

// restore takes the state of the file. A message not yet delivered, deferred or not, is delivered now:
// the events it was waiting for were not kept.
func (s *Sim) restore(st *savedState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.requests, s.eventSeq, s.stats = st.Requests, st.EventSeq, st.Stats
	for _, sm := range st.Messages {
		m := &message{xid: sm.MessageID, msgID: sm.MsgID, smtpID: sm.SMTPID, accepted: sm.Accepted, from: sm.From,
			fromName: sm.FromName, to: sm.To, subject: sm.Subject, text: sm.Text, html: sm.HTML, content: sm.Content,
			templateID: sm.TemplateID, templateData: sm.TemplateData, customArgs: sm.CustomArgs,
			categories: sm.Categories, status: sm.Status, events: sm.Events, opens: sm.Opens, clicks: sm.Clicks,
			lastEvent: sm.LastEvent}
		s.messages = append(s.messages, m)
		s.byMsgID[m.msgID] = m
		if _, ok := s.byXID[m.xid]; !ok {
			s.byXID[m.xid] = m
		}
		if m.status == "processed" || m.status == "deferred" {
			s.events.Schedule(now, &scheduled{m: m, event: "delivered", at: now})
		}
	}
	for k, v := range st.Suppressions {
		s.suppressions[k] = v
	}
	for k, v := range st.Seen {
		s.seen[k] = v
	}
}

// KeepState loads the state kept at path (a JSON file; none yet: the simulator stays empty) and keeps it
// there from now on: within a second of a change, and at Close. Call it after New, before serving.
// onError (nil: ignore) hears of writes that failed.
func (s *Sim) KeepState(path string, onError func(error)) (err error) {
	s.keeper, err = kit.Resume(path, s.restore, s.snapshot, onError)
	return err
}
