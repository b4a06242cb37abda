package twiliosim

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Reply is a message a person sends: POST /sim/reply, or Sim.Reply.
type Reply struct {
	From string `json:"from"` // E.164 (a whatsapp: prefix makes it WhatsApp)
	// To is the number written to; default the sender that last messaged From (or the first sender the
	// simulator saw, or Options.DefaultFrom).
	To          string `json:"to,omitempty"`
	Body        string `json:"body"`
	Channel     string `json:"channel,omitempty"` // sms (default) or whatsapp
	ProfileName string `json:"profileName,omitempty"`
}

// Twilio's default opt-out keywords on SMS (the whole body, case-insensitive).
var (
	stopWords  = map[string]bool{"STOP": true, "STOPALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true, "REVOKE": true, "OPTOUT": true}
	startWords = map[string]bool{"START": true, "YES": true, "UNSTOP": true}
)

// Reply records a reply, applies the SMS opt-out keywords and POSTs the signed inbound webhook to
// Options.InboundURL (one try within ctx; a failure is retried in the background). The Inbound says
// what became of the webhook.
func (s *Sim) Reply(ctx context.Context, r Reply) (Inbound, error) { return s.receive(ctx, r, false) }

// receive is the one path of every reply; auto marks the automatic ones.
func (s *Sim) receive(ctx context.Context, r Reply, auto bool) (Inbound, error) {
	from, wa := strings.CutPrefix(strings.TrimSpace(r.From), "whatsapp:")
	ch := strings.ToLower(strings.TrimSpace(r.Channel))
	switch {
	case ch == "" && wa:
		ch = "whatsapp"
	case ch == "":
		ch = "sms"
	case ch != "sms" && ch != "whatsapp":
		return Inbound{}, errors.New("channel must be sms or whatsapp")
	}
	num, ok := e164(from)
	if !ok {
		return Inbound{}, errors.New("from is not a valid international (E.164) number")
	}
	to := strings.TrimPrefix(strings.TrimSpace(r.To), "whatsapp:")
	if e, ok := e164(to); ok {
		to = e
	}
	if r.Body == "" {
		return Inbound{}, errors.New("body is required")
	}

	now := time.Now().UTC()
	s.mu.Lock()
	if to == "" {
		to = s.lastSender[num]
	}
	if to == "" {
		to = s.firstFrom
	}
	if to == "" {
		to = s.opts.DefaultFrom
	}
	in := &Inbound{Sid: newSid("SM"), Channel: ch, From: num, To: to, Body: r.Body, ProfileName: r.ProfileName, At: now, Auto: auto}
	if ch == "whatsapp" && in.ProfileName == "" {
		in.ProfileName = "Sim " + num[max(len(num)-4, 0):]
	}
	if ch == "sms" {
		switch kw := strings.ToUpper(strings.TrimSpace(r.Body)); {
		case stopWords[kw]:
			s.optOut[num] = true
			in.OptOut = "stop"
		case startWords[kw]:
			delete(s.optOut, num)
			in.OptOut = "start"
		}
	}
	s.lastInbound[num] = now
	s.inbound = append(s.inbound, in)
	s.stats.Inbound++
	var p *post
	if u := s.opts.InboundURL; u != "" {
		form := url.Values{
			"MessageSid":    {in.Sid},
			"SmsMessageSid": {in.Sid},
			"SmsSid":        {in.Sid},
			"AccountSid":    {s.opts.AccountSID},
			"From":          {address(ch, num)},
			"To":            {address(ch, to)},
			"Body":          {in.Body},
			"NumMedia":      {"0"},
			"NumSegments":   {strconv.Itoa(segments(in.Body))},
			"SmsStatus":     {"received"},
			"ApiVersion":    {apiVersion},
		}
		if ch == "whatsapp" {
			form.Set("NumSegments", "1")
			form.Set("ProfileName", in.ProfileName)
			form.Set("WaId", strings.TrimPrefix(num, "+"))
			form.Set("MessageType", "text")
		}
		p = &post{url: u, form: form, sig: signature(s.opts.AuthToken, u, form), inbound: in, idem: in.Sid}
		in.Webhook = "pending"
	} else {
		in.Webhook = "not configured"
	}
	s.mu.Unlock()

	if p != nil {
		if ctx == nil {
			ctx = s.ctx
		}
		s.deliver(ctx, p, true)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return *in, nil
}
