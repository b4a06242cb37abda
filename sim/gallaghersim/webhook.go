package gallaghersim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/signetassure/signetassure/sim/kit"
)

// webhookAttempts is how often one delivery is tried before it is given up.
const webhookAttempts = 4

// deliver posts queued events to Options.WebhookURL, in order, until Close.
func (s *Sim) deliver() {
	defer s.done.Done()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		select {
		case <-s.ctx.Done():
			return
		case e := <-s.outbox:
			s.mu.Lock()
			copies := 1
			if s.faults.DuplicateWebhooks {
				copies = 2
			}
			payload := map[string]any{"type": "event.created", "timestamp": wireTime(e.Time), "data": s.eventJSON(s.base, e)}
			s.mu.Unlock()
			body, _ := json.Marshal(payload)
			for range copies {
				ok := s.post(client, "msg_"+e.ID, body)
				s.mu.Lock()
				if ok {
					s.stats.WebhooksSent++
				} else {
					s.stats.WebhooksFailed++
				}
				s.mu.Unlock()
			}
		}
	}
}

// post delivers one message, signed afresh on every attempt (the signature covers the attempt's time,
// taken from the wall clock, not Options.Now, so receivers can check it is recent). A duplicate keeps the
// message id, as Standard Webhooks asks, so a receiver can tell.
func (s *Sim) post(client *http.Client, id string, body []byte) bool {
	wait := 100 * time.Millisecond
	for attempt := range webhookAttempts {
		if attempt > 0 {
			if !kit.Sleep(s.ctx, wait) {
				return false
			}
			wait *= 2
		}
		now := time.Now()
		sig, err := s.hook.Sign(id, now, body)
		if err != nil {
			return false
		}
		req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.opts.WebhookURL, bytes.NewReader(body))
		if err != nil {
			return false
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(standardwebhooks.HeaderWebhookID, id)
		req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
			resp.Body.Close()
			if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
				return true
			}
		}
	}
	return false
}
