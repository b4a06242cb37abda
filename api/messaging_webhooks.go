package api

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/store"
)

// messagingWebhookRoutes are the routes of the message providers' webhooks: Twilio's status callbacks and
// inbound messages, SendGrid's events, each with its signature checked.
func (s *Server) messagingWebhookRoutes() []op {
	return []op{
		{method: http.MethodPost, path: "/api/v1/messaging/twilio/status", summary: "Twilio's status callbacks (X-Twilio-Signature checked)",
			public: true, req: new(twilioStatusQuery), resp: new(struct{}), status: http.StatusNoContent,
			alt: map[int]any{http.StatusForbidden: new(Problem)}, handle: s.twilioStatus},
		{method: http.MethodPost, path: "/api/v1/messaging/twilio/inbound", summary: "Messages people send us through Twilio (X-Twilio-Signature checked); answers empty TwiML",
			public: true, resp: new(string), alt: map[int]any{http.StatusForbidden: new(Problem)}, handle: s.twilioInbound},
		{method: http.MethodPost, path: "/api/v1/messaging/sendgrid/events", summary: "SendGrid's Event Webhook (signature checked)",
			public: true, resp: new(struct{}), status: http.StatusNoContent,
			alt: map[int]any{http.StatusForbidden: new(Problem)}, handle: s.sendGridEvents},
	}
}

type twilioStatusQuery struct {
	M string `query:"m" description:"our message id, added to the status callback URL when the message was sent"`
}

// publicURL is the URL a provider called, as it knows it: our public base URL and the path and query as
// they arrived.
func (s *Server) publicURL(c *gin.Context) string {
	uri := c.Request.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = c.Request.URL.RequestURI()
	}
	return strings.TrimRight(s.Messaging.PublicURL, "/") + uri
}

// twilioForm reads and verifies a Twilio webhook's form. Nothing is done with a request whose signature
// does not verify.
func (s *Server) twilioForm(c *gin.Context) (url.Values, error) {
	if s.Messaging.TwilioAuthToken == "" {
		return nil, notFound("webhook")
	}
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid(FieldError{Field: "body", Message: "is not a form"})
	}
	if !messaging.VerifyTwilio(s.Messaging.TwilioAuthToken, s.publicURL(c), form, c.GetHeader(messaging.TwilioSignatureHeader)) {
		s.Log.Warn("messaging: Twilio webhook with a bad signature refused", "route", c.FullPath())
		return nil, badSignature()
	}
	return form, nil
}

func badSignature() *Problem {
	return problem(http.StatusForbidden, "bad-signature", "the request's signature does not verify")
}

func (s *Server) twilioStatus(c *gin.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	ev, err := messaging.ParseTwilioStatus(c.Query(messaging.TwilioMessageIDParam), form)
	if err != nil {
		return invalid(FieldError{Field: "body", Message: err.Error()})
	}
	if err := s.applyEvent(c, "twilio", ev); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// applyEvent applies a provider's receipt; one for a message we do not know is logged and dropped (the
// provider would otherwise retry it for ever).
func (s *Server) applyEvent(c *gin.Context, provider string, ev messaging.Event) error {
	_, applied, err := s.Store.ApplyMessageEvent(c, provider, ev)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.Log.Warn("messaging: receipt for an unknown message dropped", "provider", provider,
			"messageId", ev.MessageID, "providerId", ev.ProviderID, "event", ev.Raw)
		return nil
	case err != nil:
		return err
	}
	if !applied {
		s.Log.Debug("messaging: repeated receipt", "provider", provider, "eventId", ev.EventID)
	}
	return nil
}

// emptyTwiML answers an inbound message with nothing to send back.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

func (s *Server) twilioInbound(c *gin.Context) error {
	form, err := s.twilioForm(c)
	if err != nil {
		return err
	}
	in, err := messaging.ParseTwilioInbound(form)
	if err != nil {
		return invalid(FieldError{Field: "body", Message: err.Error()})
	}
	if _, _, err := s.Store.ReceiveInbound(c, in); err != nil {
		return err
	}
	c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
	return nil
}

// sendGridEvents applies a signed batch of SendGrid events. The signature covers the timestamp and the
// raw body; the timestamp's age is not checked, because SendGrid retries a failed delivery for up to a
// day and each event is applied once (by its sg_event_id) however often it arrives.
func (s *Server) sendGridEvents(c *gin.Context) error {
	if s.Messaging.SendGridWebhookKey == "" {
		return notFound("webhook")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	if !messaging.VerifySendGrid(s.Messaging.SendGridWebhookKey, body, c.GetHeader(messaging.SendGridSignatureHeader),
		c.GetHeader(messaging.SendGridTimestampHeader)) {
		s.Log.Warn("messaging: SendGrid webhook with a bad signature refused")
		return badSignature()
	}
	events, err := messaging.ParseSendGridEvents(body)
	if err != nil {
		return invalid(FieldError{Field: "body", Message: "is not a JSON array of events"})
	}
	for _, ev := range events {
		if ev.EventID == "" || (ev.MessageID == "" && ev.ProviderID == "") {
			s.Log.Warn("messaging: SendGrid event without an event or message id dropped", "event", ev.Raw)
			continue
		}
		if err := s.applyEvent(c, "sendgrid", ev); err != nil {
			return err
		}
	}
	c.Status(http.StatusNoContent)
	return nil
}
