package signicatsim

import (
	"encoding/json"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// The state file (KeepState): dossiers, processes with their images, captures, tokens and stats (the
// faults start empty again), so that capture links and process ids SignetAssure stored still answer
// after a restart.

type savedState struct {
	Tokens   map[string]time.Time `json:"tokens"`
	Dossiers []savedDossier       `json:"dossiers"` // ascending creation
	Captures []savedCapture       `json:"captures"`
	Stats    Stats                `json:"stats"`
}

type savedDossier struct {
	Dossier   Dossier        `json:"dossier"`
	Processes []savedProcess `json:"processes"` // ascending creation
}

type savedProcess struct {
	Process    Process               `json:"process"`
	AuthHeader string                `json:"authHeader,omitempty"`
	Images     map[string]savedImage `json:"images,omitempty"`
	CaptureID  string                `json:"captureId,omitempty"`
	Decision   *savedDecision        `json:"decision,omitempty"`
	Callback   string                `json:"callback,omitempty"`
}

type savedImage struct {
	MediaType string `json:"mediaType"`
	Data      []byte `json:"data"`
}

type savedDecision struct {
	Status     Status       `json:"status"`
	Result     *FinalResult `json:"result,omitempty"`
	FailReason string       `json:"failReason,omitempty"`
}

type savedCapture struct {
	ID          string `json:"id"`
	DossierID   string `json:"dossierId"`
	ProcessID   string `json:"processId"`
	RedirectURL string `json:"redirectUrl,omitempty"`
	Used        bool   `json:"used,omitempty"`
}

// snapshot is the state as the file holds it, marshalled under mu.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{Tokens: s.tokens, Stats: s.stats}
	for _, d := range s.order {
		sd := savedDossier{Dossier: d.d}
		for _, p := range d.procs {
			sp := savedProcess{Process: p.p, AuthHeader: p.authHeader, CaptureID: p.captureID, Callback: p.callback}
			for k, im := range p.images {
				if sp.Images == nil {
					sp.Images = map[string]savedImage{}
				}
				sp.Images[k] = savedImage{MediaType: im.mediaType, Data: im.data}
			}
			if dec := p.decision; dec != nil {
				sp.Decision = &savedDecision{Status: dec.status, Result: dec.result, FailReason: dec.failReason}
			}
			sd.Processes = append(sd.Processes, sp)
		}
		st.Dossiers = append(st.Dossiers, sd)
	}
	for _, c := range s.captures {
		st.Captures = append(st.Captures, savedCapture{ID: c.id, DossierID: c.dossierID, ProcessID: c.processID,
			RedirectURL: c.redirectURL, Used: c.used})
	}
	return json.Marshal(st)
}

// restore takes the state in the file, if there is one, and queues again what was waiting: decisions
// about to become final, and callbacks not yet delivered.
func (s *Sim) restore(st *savedState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if st.Tokens != nil {
		s.tokens = st.Tokens
	}
	s.stats = st.Stats
	for _, sd := range st.Dossiers {
		d := &dossier{d: sd.Dossier}
		// A state file written before the timestamps were kept to the second.
		d.d.CreatedAt, d.d.UpdatedAt = stamp(d.d.CreatedAt), stamp(d.d.UpdatedAt)
		s.dossiers[d.d.DossierID] = d
		s.order = append(s.order, d)
		for _, sp := range sd.Processes {
			p := &process{p: sp.Process, authHeader: sp.AuthHeader, captureID: sp.CaptureID, callback: sp.Callback,
				images: map[string]image{}}
			p.p.CreatedAt, p.p.UpdatedAt = stamp(p.p.CreatedAt), stamp(p.p.UpdatedAt)
			for k, im := range sp.Images {
				p.images[k] = image{mediaType: im.MediaType, data: im.Data}
			}
			if dec := sp.Decision; dec != nil {
				p.decision = &decision{status: dec.Status, result: dec.Result, failReason: dec.FailReason}
				s.queue.Schedule(now, &job{kind: jobFinalize, processID: p.p.ProcessID})
			}
			if p.callback == "pending" && p.p.NotificationURL != "" && p.p.Status.Final() {
				body, _ := json.Marshal(notification{DossierID: p.p.DossierID, ProcessID: p.p.ProcessID, Status: p.p.Status})
				s.queue.Schedule(now, &job{kind: jobCallback, post: &post{url: p.p.NotificationURL, auth: p.authHeader,
					body: body, processID: p.p.ProcessID}})
			}
			d.procs = append(d.procs, p)
			s.procs[p.p.ProcessID] = p
		}
	}
	for _, sc := range st.Captures {
		s.captures[sc.ID] = &capture{id: sc.ID, dossierID: sc.DossierID, processID: sc.ProcessID,
			redirectURL: sc.RedirectURL, used: sc.Used}
	}
}

// KeepState loads the state kept at path (a JSON file; none yet: the simulator stays empty) and keeps it
// there from now on: within a second of a change, and at Close. Call it after New, before serving.
// onError (nil: ignore) hears of writes that failed.
func (s *Sim) KeepState(path string, onError func(error)) (err error) {
	s.keeper, err = kit.Resume(path, s.restore, s.snapshot, onError)
	return err
}
