package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/internal/splunkhec"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/webhooks"
	"github.com/signetassure/signetassure/workflows"
)

// Webhook subscriptions (issue 16): administrators subscribe receivers to lifecycle events, delivered
// signed (Standard Webhooks) by one workflow per subscription.

// WebhookSettings are the API's webhook settings.
type WebhookSettings struct {
	// Policy is how the delivery workflows deliver (zero fields: workflows.DefaultWebhookPolicy).
	Policy workflows.WebhookPolicy
	// SecretOverlap is how long the previous secret keeps signing after a rotation (default 24 h).
	SecretOverlap time.Duration
	// Timeout bounds a ping or a redelivery sent from the API (default webhooks.DefaultTimeout).
	Timeout time.Duration
}

// DefaultSecretOverlap is how long a rotated-out secret keeps signing unless set otherwise.
const DefaultSecretOverlap = 24 * time.Hour

type (
	// WebhookInput subscribes a receiver.
	WebhookInput struct {
		URL          *string  `json:"url" required:"true" maxLength:"2000" format:"uri" description:"https://... (no user name, query or fragment; not an internal address)"`
		Description  *string  `json:"description,omitempty" maxLength:"500"`
		EventTypes   []string `json:"eventTypes,omitempty" description:"catalogue types (README, Lifecycle events), e.g. case.opened; none: every type"`
		IncludeNames *bool    `json:"includeNames,omitempty" description:"add the display names events concern as data.names (default false)"`
		Format       *string  `json:"format,omitempty" enum:"cloudevents,splunk-hec" description:"cloudevents (default): the CloudEvents envelope as the body; splunk-hec: a Splunk HTTP Event Collector JSON event holding the envelope as its event, sent with splunkToken (a URL without a path gets /services/collector/event)"`
		SplunkToken  *string  `json:"splunkToken,omitempty" maxLength:"200" description:"splunk-hec only, and required there: the HEC token (no whitespace); sealed at rest and never shown"`
	}
	// RotateSecretInput rotates the signing secret and, for splunk-hec, may replace the HEC token.
	RotateSecretInput struct {
		idPath
		SplunkToken *string `json:"splunkToken,omitempty" maxLength:"200" description:"splunk-hec only: a new HEC token (no whitespace) in place of the current one, from now on; sealed at rest and never shown"`
	}
	// WebhookWithSecret is a subscription with its signing secret, shown this once.
	WebhookWithSecret struct {
		store.WebhookSubscription
		Secret string `json:"secret" description:"the signing secret (whsec_...): shown once, sealed at rest"`
	}
	// RedeliverInput sends one event again.
	RedeliverInput struct {
		idPath
		EventID *string `json:"eventId" required:"true" format:"uuid" description:"the event's id (its CloudEvents id)"`
	}
	// ReplayInput sends again every event since a time or after an event.
	ReplayInput struct {
		idPath
		Since        *string `json:"since,omitempty" format:"date-time" description:"every event that occurred at or after this time"`
		AfterEventID *string `json:"afterEventId,omitempty" format:"uuid" description:"instead of since: every event after this one (its CloudEvents id)"`
	}
	webhookAttemptsQuery struct {
		idPath
		EventID string `query:"eventId" format:"uuid" description:"only this event's attempts"`
		Limit   *int   `query:"limit" description:"rows at most, 1 to 500 (default 100)"`
	}
)

var webhookAdmins = []domain.Role{domain.RoleAdmin}

func (s *Server) webhookRoutes() []op {
	const base = "/api/v1/webhooks"
	return []op{
		{method: http.MethodPost, path: base, summary: "Subscribe a receiver to lifecycle events (signing secret shown once)",
			roles: webhookAdmins, req: new(WebhookInput), resp: new(WebhookWithSecret), status: http.StatusCreated,
			handle: s.createWebhook, secret: true},
		{method: http.MethodGet, path: base, summary: "Webhook subscriptions", roles: webhookAdmins,
			resp: new([]store.WebhookSubscription), handle: s.listWebhooks},
		{method: http.MethodGet, path: base + "/:id", summary: "A webhook subscription", roles: webhookAdmins,
			req: new(idPath), resp: new(store.WebhookSubscription), handle: s.getWebhook},
		{method: http.MethodDelete, path: base + "/:id", summary: "Delete a subscription and its delivery log",
			roles: webhookAdmins, req: new(idPath), resp: new(struct{}), status: http.StatusNoContent, handle: s.deleteWebhook},
		{method: http.MethodPost, path: base + "/:id/pause", summary: "Pause deliveries (events wait at the cursor)",
			roles: webhookAdmins, req: new(idPath), resp: new(store.WebhookSubscription), handle: s.pauseWebhook},
		{method: http.MethodPost, path: base + "/:id/resume", summary: "Resume a paused or disabled subscription from its cursor",
			roles: webhookAdmins, req: new(idPath), resp: new(store.WebhookSubscription), handle: s.resumeWebhook},
		{method: http.MethodPost, path: base + "/:id/rotate-secret",
			summary: "A new signing secret (shown once); the previous one keeps signing too for an overlap; a splunk-hec subscription's HEC token replaced when given",
			roles:   webhookAdmins, req: new(RotateSecretInput), resp: new(WebhookWithSecret), handle: s.rotateWebhookSecret, secret: true},
		{method: http.MethodPost, path: base + "/:id/ping", summary: "Send a test event (webhook.ping) now, once, and log it",
			roles: webhookAdmins, req: new(idPath), resp: new(store.WebhookAttempt), handle: s.pingWebhook},
		{method: http.MethodGet, path: base + "/:id/attempts", summary: "The delivery log, newest first",
			roles: webhookAdmins, req: new(webhookAttemptsQuery), resp: new([]store.WebhookAttempt), handle: s.webhookAttempts},
		{method: http.MethodPost, path: base + "/:id/redeliver", summary: "Send one event again now, once (same webhook-id), and log it",
			roles: webhookAdmins, req: new(RedeliverInput), resp: new(store.WebhookAttempt), handle: s.redeliverWebhook},
		{method: http.MethodPost, path: base + "/:id/replay",
			summary: "Move the cursor back: every event since a time, or after an event, is delivered again in order",
			roles:   webhookAdmins, req: new(ReplayInput), resp: new(store.WebhookSubscription), handle: s.replayWebhook},
	}
}

// noWebhookKeys answers a request that needs the keyring when none is configured.
func noWebhookKeys(err error) error {
	if errors.Is(err, partners.ErrNoKeys) || errors.Is(err, partners.ErrUnknownKey) || errors.Is(err, partners.ErrOpen) {
		return problem(http.StatusServiceUnavailable, "webhook-keys",
			"webhook secrets cannot be sealed or opened: "+partners.EnvCredentialKeys+" is not configured, or lacks the key")
	}
	return err
}

func (s *Server) sealWebhookSecret(secret string) store.WebhookSeal {
	return func(id uuid.UUID, version int) (string, []byte, error) {
		return s.Keyring.Seal([]byte(secret), store.WebhookSecretAAD(id, version))
	}
}

// sealSplunkToken seals a splunk-hec subscription's HEC token (nil for none).
func (s *Server) sealSplunkToken(token *string) store.WebhookSeal {
	if token == nil {
		return nil
	}
	return func(id uuid.UUID, version int) (string, []byte, error) {
		return s.Keyring.Seal([]byte(*token), store.WebhookSplunkTokenAAD(id, version))
	}
}

// checkSplunkToken checks a HEC token given (nil: none) for a subscription of format: required for
// splunk-hec, refused for any other. The token is never echoed.
func checkSplunkToken(errs *fields, format string, token *string, required bool) {
	switch {
	case format != store.WebhookSplunkHEC && token != nil:
		errs.add("splunkToken", "is only for the splunk-hec format")
	case format != store.WebhookSplunkHEC:
	case token == nil || *token == "":
		if required || token != nil {
			errs.add("splunkToken", "is required for the splunk-hec format")
		}
	case !splunkhec.ValidToken(*token):
		errs.add("splunkToken", "must not hold whitespace")
	}
}

func (s *Server) deliverer() webhooks.Deliverer {
	return webhooks.Deliverer{Store: s.Store, Keyring: s.Keyring, AllowLoopback: s.AllowLoopbackPartners, Timeout: s.Webhooks.Timeout}
}

// wakeWebhook wakes (starting if need be) the subscription's delivery workflow. The change is saved either
// way: a workflow not woken reads it at its next poll.
func (s *Server) wakeWebhook(c *gin.Context, id uuid.UUID, start bool) {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	var err error
	if start {
		err = workflows.WakeWebhook(ctx, s.Temporal, s.TaskQueue, id, s.Webhooks.Policy)
	} else {
		err = workflows.NudgeWebhook(ctx, s.Temporal, id)
	}
	if err != nil {
		s.Log.Warn("webhook workflow not woken", "subscription", id, "error", err)
	}
}

func (s *Server) createWebhook(c *gin.Context) error {
	var in WebhookInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	w := store.WebhookSubscription{Description: optionalText(in.Description), EventTypes: []events.Type{},
		IncludeNames: in.IncludeNames != nil && *in.IncludeNames, Format: store.WebhookCloudEvents}
	if in.Format != nil {
		if !slices.Contains(store.WebhookFormats, *in.Format) {
			errs.add("format", "must be one of %s", strings.Join(store.WebhookFormats, ", "))
		}
		w.Format = *in.Format
	}
	checkSplunkToken(&errs, w.Format, in.SplunkToken, true)
	if in.URL == nil || *in.URL == "" {
		errs.add("url", "is required")
	} else if u, why := webhooks.CheckURL(*in.URL, s.AllowLoopbackPartners); why != "" {
		errs.add("url", "%s", why)
	} else if w.Format == store.WebhookSplunkHEC {
		w.URL = webhooks.SplunkURL(u)
	} else {
		w.URL = u
	}
	seen := map[events.Type]bool{}
	for _, t := range in.EventTypes {
		if _, ok := events.Lookup(events.Type(t)); !ok {
			errs.add("eventTypes", "%q is not an event type of the catalogue", t)
			continue
		}
		if !seen[events.Type(t)] {
			seen[events.Type(t)] = true
			w.EventTypes = append(w.EventTypes, events.Type(t))
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	secret := webhooks.NewSecret()
	w, err := s.Store.CreateWebhook(c, actor(c), w, s.sealWebhookSecret(secret), s.sealSplunkToken(in.SplunkToken))
	if err != nil {
		return noWebhookKeys(err)
	}
	s.wakeWebhook(c, w.ID, true)
	return created(c, "/api/v1/webhooks/"+w.ID.String(), WebhookWithSecret{WebhookSubscription: w, Secret: secret}, nil)
}

func (s *Server) listWebhooks(c *gin.Context) error {
	ws, err := s.Store.Webhooks(c)
	return respond(c, nonNil(ws), err)
}

func (s *Server) webhook(c *gin.Context) (store.WebhookSubscription, error) {
	id, err := pathID(c, "webhook subscription")
	if err != nil {
		return store.WebhookSubscription{}, err
	}
	w, err := s.Store.Webhook(c, id)
	return w, notFoundAs(err, "webhook subscription")
}

func (s *Server) getWebhook(c *gin.Context) error {
	w, err := s.webhook(c)
	return respond(c, w, err)
}

func (s *Server) deleteWebhook(c *gin.Context) error {
	id, err := pathID(c, "webhook subscription")
	if err != nil {
		return err
	}
	if err := s.Store.DeleteWebhook(c, actor(c), id); err != nil {
		return notFoundAs(err, "webhook subscription")
	}
	s.wakeWebhook(c, id, false)
	c.Status(http.StatusNoContent)
	return nil
}

// changeWebhook applies change to the subscription of the path and wakes its workflow (starting it when
// start is set).
func (s *Server) changeWebhook(c *gin.Context, start bool, wrongState string,
	change func(id uuid.UUID) (store.WebhookSubscription, error)) error {
	id, err := pathID(c, "webhook subscription")
	if err != nil {
		return err
	}
	w, err := change(id)
	if errors.Is(err, store.ErrWrongState) {
		return conflict(wrongState)
	}
	if err != nil {
		return notFoundAs(err, "webhook subscription")
	}
	s.wakeWebhook(c, id, start)
	return respond(c, w, nil)
}

func (s *Server) pauseWebhook(c *gin.Context) error {
	return s.changeWebhook(c, false, "the subscription is not active", func(id uuid.UUID) (store.WebhookSubscription, error) {
		return s.Store.PauseWebhook(c, actor(c), id)
	})
}

func (s *Server) resumeWebhook(c *gin.Context) error {
	return s.changeWebhook(c, true, "the subscription is already active", func(id uuid.UUID) (store.WebhookSubscription, error) {
		return s.Store.ResumeWebhook(c, actor(c), id)
	})
}

func (s *Server) rotateWebhookSecret(c *gin.Context) error {
	var in RotateSecretInput
	if err := decodeOptional(c, &in); err != nil {
		return err
	}
	id, err := pathID(c, "webhook subscription")
	if err != nil {
		return err
	}
	if in.SplunkToken != nil {
		cur, err := s.Store.Webhook(c, id)
		if err != nil {
			return notFoundAs(err, "webhook subscription")
		}
		var errs fields
		checkSplunkToken(&errs, cur.Format, in.SplunkToken, false)
		if err := errs.err(); err != nil {
			return err
		}
	}
	overlap := s.Webhooks.SecretOverlap
	if overlap <= 0 {
		overlap = DefaultSecretOverlap
	}
	secret := webhooks.NewSecret()
	w, err := s.Store.RotateWebhookSecret(c, actor(c), id, overlap, s.sealWebhookSecret(secret), s.sealSplunkToken(in.SplunkToken))
	if errors.Is(err, store.ErrWrongState) {
		return conflict("the secret was rotated at the same time: try again")
	}
	if err != nil {
		return noWebhookKeys(notFoundAs(err, "webhook subscription"))
	}
	return respond(c, WebhookWithSecret{WebhookSubscription: w, Secret: secret}, nil)
}

// sendOnce sends an event (position 0: a ping) to the subscription once, now, and answers the logged
// attempt.
func (s *Server) sendOnce(c *gin.Context, w store.WebhookSubscription, position int64) error {
	a, _, err := s.deliverer().Deliver(c, w, position, uuid.New())
	return respond(c, a, noWebhookKeys(err))
}

func (s *Server) pingWebhook(c *gin.Context) error {
	w, err := s.webhook(c)
	if err != nil {
		return err
	}
	return s.sendOnce(c, w, 0)
}

func (s *Server) redeliverWebhook(c *gin.Context) error {
	var in RedeliverInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	id := requiredID(&errs, "eventId", in.EventID)
	if err := errs.err(); err != nil {
		return err
	}
	w, err := s.webhook(c)
	if err != nil {
		return err
	}
	ev, err := s.Store.EventByID(c, *id)
	if errors.Is(err, store.ErrNotFound) {
		errs.add("eventId", "is not the id of an event")
		return errs.err()
	} else if err != nil {
		return err
	}
	return s.sendOnce(c, w, ev.ID)
}

func (s *Server) replayWebhook(c *gin.Context) error {
	id, err := pathID(c, "webhook subscription")
	if err != nil {
		return err
	}
	var in ReplayInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var after int64
	detail := map[string]any{}
	switch {
	case (in.Since == nil) == (in.AfterEventID == nil):
		errs.add("since", "give since or afterEventId, not both")
	case in.Since != nil:
		since, perr := time.Parse(time.RFC3339, *in.Since)
		if perr != nil {
			errs.add("since", "must be a date-time (RFC 3339)")
			break
		}
		if after, err = s.Store.EventPositionBefore(c, since); err != nil {
			return err
		}
		detail["since"] = since
	default:
		eventID := requiredID(&errs, "afterEventId", in.AfterEventID)
		if eventID == nil {
			break
		}
		ev, err := s.Store.EventByID(c, *eventID)
		if errors.Is(err, store.ErrNotFound) {
			errs.add("afterEventId", "is not the id of an event")
			break
		} else if err != nil {
			return err
		}
		after = ev.ID
		detail["afterEventId"] = eventID.String()
	}
	if err := errs.err(); err != nil {
		return err
	}
	w, err := s.Store.ReplayWebhook(c, actor(c), id, after, detail)
	if err != nil {
		return notFoundAs(err, "webhook subscription")
	}
	s.wakeWebhook(c, id, w.Status == store.WebhookActive)
	return respond(c, w, nil)
}

func (s *Server) webhookAttempts(c *gin.Context) error {
	w, err := s.webhook(c)
	if err != nil {
		return err
	}
	q := query{c: c}
	eventID := q.uuid("eventId")
	limit := 100
	if v := q.int64("limit"); v != 0 || c.Query("limit") != "" {
		if v < 1 || v > 500 {
			q.errs.add("limit", "must be a whole number from 1 to 500")
		}
		limit = int(v)
	}
	if err := q.errs.err(); err != nil {
		return err
	}
	as, err := s.Store.WebhookAttempts(c, w.ID, eventID, limit)
	return respond(c, nonNil(as), err)
}
