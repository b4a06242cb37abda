package sendgridsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// webhookAttempts is how often one POST is tried before its events are given up.
const webhookAttempts = 4

// Reasons and responses the events carry.
const (
	reasonUnsubscribed = "Unsubscribed Address"
	reasonBounced      = "Bounced Address"
	reasonSpam         = "Spam Reporting Address"
	bounceReason       = "550 5.1.1 The email account that you tried to reach does not exist."
)

// scheduled is an event to happen; at is the time it states (it may differ from when it happens, under
// OutOfOrder).
type scheduled struct {
	m      *message
	event  string
	at     time.Time
	reason string
}

type step struct {
	after  time.Duration
	event  string
	reason string
}

// plan schedules a newly accepted message's events. Called with mu held.
func (s *Sim) plan(m *message, now time.Time) {
	d := s.opts.DeliveryDelay
	steps := []step{{0, "processed", ""}}
	addr := strings.ToLower(m.to)
	switch sup := s.suppressions[addr]; {
	case sup != nil:
		steps = append(steps, step{0, "dropped", sup.Reason})
	case containsFold(s.faults.Bouncing, addr):
		steps = append(steps, step{d, "bounce", bounceReason})
	case containsFold(s.faults.Deferring, addr) || (s.faults.DeferRate > 0 && s.rng.Float64() < s.faults.DeferRate):
		steps = append(steps, step{d, "deferred", ""}, step{2 * d, "delivered", ""})
	default:
		steps = append(steps, step{d, "delivered", ""})
	}
	// Out of order: the events keep their times but happen, and are posted, last first.
	reversed := s.faults.OutOfOrder
	last := len(steps) - 1
	for i, st := range steps {
		fire := st.after
		if reversed {
			fire = steps[last-i].after + time.Duration(last-i)*time.Millisecond
		}
		s.events.Schedule(now.Add(fire), &scheduled{m: m, event: st.event, at: now.Add(st.after), reason: st.reason})
	}
}

func containsFold(list []string, addr string) bool {
	return slices.ContainsFunc(list, func(a string) bool { return strings.EqualFold(strings.TrimSpace(a), addr) })
}

// happen makes a scheduled event happen when it is due, and wakes the workers to post it.
func (s *Sim) happen(it *scheduled) {
	s.mu.Lock()
	s.fire(it.m, it.event, it.at, it.reason)
	pending := len(s.pending) > 0
	s.mu.Unlock()
	if pending {
		s.kickWorkers()
	}
}

// fire makes an event happen: the message records it, and it waits to be posted unless the faults drop
// it. Called with mu held.
func (s *Sim) fire(m *message, event string, at time.Time, reason string) {
	m.events = append(m.events, EventRecord{Event: event, At: at, Reason: reason})
	if rank(event) > rank(m.status) {
		m.status = event
	}
	if at.After(m.lastEvent) {
		m.lastEvent = at
	}
	switch event {
	case "open":
		m.opens++
	case "click":
		m.clicks++
	case "bounce":
		s.suppress(m.to, reasonBounced, at)
	}
	s.stats.Events++
	if s.opts.EventsURL == "" {
		return
	}
	if f := s.faults.DropRate; f > 0 && s.rng.Float64() < f {
		s.stats.EventsDropped++
		return
	}
	s.eventSeq++
	e := map[string]any{
		"email":         m.to,
		"timestamp":     at.Unix(),
		"event":         event,
		"sg_event_id":   base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%s-%d-%s", event, s.eventSeq, m.xid)),
		"sg_message_id": m.msgID,
		"smtp-id":       m.smtpID,
	}
	switch event {
	case "delivered":
		e["response"] = "250 2.0.0 OK"
	case "deferred":
		e["response"], e["attempt"] = "451 4.7.1 Please try again later", "1"
	case "bounce":
		e["reason"], e["status"], e["type"] = reason, "5.1.1", "bounce"
	case "dropped":
		e["reason"], e["status"] = reason, "5.0.0"
	case "open":
		e["useragent"], e["ip"], e["sg_machine_open"] = engageUserAgent, engageIP, false
	case "click":
		e["useragent"], e["ip"], e["url"] = engageUserAgent, engageIP, engageURL
	case "group_unsubscribe":
		e["useragent"], e["ip"], e["url"], e["asm_group_id"] = engageUserAgent, engageIP, engageURL, 1
	}
	if len(m.categories) > 0 {
		e["category"] = m.categories
	}
	for k, v := range m.customArgs {
		if _, reserved := e[k]; !reserved {
			e[k] = v
		}
	}
	s.pending = append(s.pending, e)
	if s.faults.DuplicateEvents {
		s.pending = append(s.pending, e)
		s.stats.EventsDuplicated++
	}
}

// What the simulator reports of the person's mail client on open, click and group_unsubscribe (SendGrid
// documents useragent and ip on each, and the link's url on click and group_unsubscribe).
const (
	engageUserAgent = "Mozilla/5.0 (SendGrid simulator)"
	engageIP        = "192.0.2.10" // TEST-NET-1 (RFC 5737)
	engageURL       = "https://example.com/"
)

// rank orders a message's statuses so a late event never moves it back.
func rank(event string) int {
	switch event {
	case "processed":
		return 1
	case "deferred":
		return 2
	case "delivered", "bounce", "dropped":
		return 3
	}
	return 0 // engagement: no status
}

func (s *Sim) kickWorkers() {
	for range Workers {
		select {
		case s.kick <- struct{}{}:
		default:
			return
		}
	}
}

// worker posts pending events, up to BatchMax in one POST.
func (s *Sim) worker() {
	defer s.done.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		}
		for s.ctx.Err() == nil {
			batch, epoch := s.take()
			if batch == nil {
				break
			}
			s.post(batch, epoch)
		}
	}
}

// take removes the next batch from the pending events, with the epoch it was taken in.
func (s *Sim) take() ([]map[string]any, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := min(len(s.pending), BatchMax)
	if n == 0 {
		return nil, s.epoch
	}
	batch := slices.Clone(s.pending[:n])
	s.pending = s.pending[n:]
	if len(s.pending) == 0 {
		s.pending = nil
	}
	return batch, s.epoch
}

// post delivers one batch, signed afresh on every attempt with the time of the attempt. Its counts go to
// the epoch it was taken in: a reset while it is on its way starts the counts afresh without it.
func (s *Sim) post(batch []map[string]any, epoch uint64) {
	count := func(f func(*Stats)) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.epoch == epoch {
			f(&s.stats)
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(batch); err != nil {
		count(func(st *Stats) { st.EventsFailed += len(batch) })
		return
	}
	// SendGrid's bodies end with CRLF; receivers must verify the raw bytes.
	body := append(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), '\r', '\n')
	wait := 100 * time.Millisecond
	for attempt := range webhookAttempts {
		if attempt > 0 {
			if !kit.Sleep(s.ctx, wait) {
				count(func(st *Stats) { st.EventsFailed += len(batch) })
				return
			}
			wait *= 2
		}
		if s.postOnce(body) {
			count(func(st *Stats) { st.WebhookPosts++; st.EventsSent += len(batch) })
			return
		}
		count(func(st *Stats) { st.WebhookFailures++ })
	}
	count(func(st *Stats) { st.EventsFailed += len(batch) })
}

func (s *Sim) postOnce(body []byte) bool {
	s.mu.Lock()
	bad := s.faults.BadSignature
	s.mu.Unlock()
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	signed := body
	if bad {
		signed = append(slices.Clip(body), ' ') // a signature over other bytes
	}
	sig, err := sign(s.opts.SigningKey, signed, ts)
	if err != nil {
		return false
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.opts.EventsURL, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "SendGrid Event API")
	req.Header.Set(signatureHeader, sig)
	req.Header.Set(timestampHeader, ts)
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode/100 == 2
}
