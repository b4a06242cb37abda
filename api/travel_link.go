package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// The traveller's own link (sent on their preferred channel with the briefing request and the debrief
// request): no staff account, the link is the credential, for one trip, one purpose, until it expires,
// once. Like an evidence pack's link, a refused link is audited and counts against the caller's address.
func (s *Server) travelLinkRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/travel/link/:token", summary: "What a traveller's link is for, and their trip (no token: the link is the credential)",
			public: true, req: new(tripLinkPath), resp: new(TripLinkView), handle: s.getTripLink},
		{method: http.MethodPost, path: "/api/v1/travel/link/:token", summary: "The traveller acknowledges the briefing or gives the debrief through their link (used once)",
			public: true, req: new(TripLinkAnswer), resp: new(TripLinkView), handle: s.answerTripLink},
	}
}

type tripLinkPath struct {
	Token string `path:"token"`
}

// TripLinkView is what the traveller sees through their link: their trip, and what the link is for.
type TripLinkView struct {
	Purpose   string            `json:"purpose" enum:"briefing,debrief"`
	ExpiresAt time.Time         `json:"expiresAt"`
	Countries []string          `json:"countries"`
	DepartsOn domain.Date       `json:"departsOn"`
	ReturnsOn domain.Date       `json:"returnsOn"`
	Status    domain.TripStatus `json:"status"`
	// Done is true once the link's purpose is met (answered through it, or by staff).
	Done bool `json:"done"`
}

// TripLinkAnswer is the traveller's answer: acknowledged (a briefing link), or the debrief's answers.
type TripLinkAnswer struct {
	tripLinkPath
	Acknowledged *bool `json:"acknowledged,omitempty" description:"a briefing link: true"`
	DebriefAnswers
}

// tripOfLink reads the trip a token's link is for, or refuses the link (403, audited).
func (s *Server) tripOfLink(c *gin.Context) (domain.Trip, store.TripLink, error) {
	ip, now := c.ClientIP(), time.Now()
	if wait, blocked := s.authFailures.blocked(callerKey(ip), now); blocked {
		retryAfter(c, wait)
		return domain.Trip{}, store.TripLink{}, problem(http.StatusTooManyRequests, "rate-limited", "too many refused links from this address")
	}
	refuse := func(entity, reason string) error {
		s.authFailures.take(callerKey(ip), now)
		if err := s.Store.Audit(c, store.AuditEntry{Action: "travel.link_refused", EntityType: "travel_trip",
			EntityID: entity, Detail: map[string]any{"reason": reason, "address": ip}}); err != nil {
			return err
		}
		return problem(http.StatusForbidden, "link-refused", "this link is not valid: "+reason)
	}
	token := c.Param("token")
	if !strings.HasPrefix(token, "stl_") || len(token) > 100 {
		return domain.Trip{}, store.TripLink{}, refuse("unknown", "unknown")
	}
	l, err := s.Store.TripLinkOf(c, token)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return domain.Trip{}, l, refuse("unknown", "unknown")
	case err != nil:
		return domain.Trip{}, l, err
	case l.UsedAt != nil:
		return domain.Trip{}, l, refuse(l.TripID.String(), "used")
	case !now.Before(l.ExpiresAt):
		return domain.Trip{}, l, refuse(l.TripID.String(), "expired")
	}
	t, err := s.Store.Trip(c, l.TripID)
	return t, l, err
}

func tripLinkView(t domain.Trip, l store.TripLink) TripLinkView {
	done := t.Status.Final() || (l.Purpose == domain.TripLinkBriefing && (t.BriefedAt != nil || !t.Status.BeforeDeparture()))
	return TripLinkView{Purpose: l.Purpose, ExpiresAt: l.ExpiresAt, Countries: t.Countries, DepartsOn: t.DepartsOn,
		ReturnsOn: t.ReturnsOn, Status: t.Status, Done: done}
}

func (s *Server) getTripLink(c *gin.Context) error {
	t, l, err := s.tripOfLink(c)
	if err != nil {
		return err
	}
	return respond(c, tripLinkView(t, l), nil)
}

func (s *Server) answerTripLink(c *gin.Context) error {
	t, l, err := s.tripOfLink(c)
	if err != nil {
		return err
	}
	var in TripLinkAnswer
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	update, action := workflows.UpdateTripBriefed, workflows.TripAction{}
	switch l.Purpose {
	case domain.TripLinkBriefing:
		if in.Acknowledged == nil || !*in.Acknowledged {
			errs.add("acknowledged", "must be true: the briefing was given and understood")
		}
	default:
		d := in.debrief(&errs)
		update, action.Debrief = workflows.UpdateTripDebrief, &d
	}
	if err := errs.err(); err != nil {
		return err
	}
	// The update's id is the link's (its token's hash): the same link answered twice is applied once.
	sum := sha256.Sum256([]byte(c.Param("token")))
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if _, err := workflows.UpdateTrip(ctx, s.Temporal, t.ID, update, "trip-link/"+hex.EncodeToString(sum[:]), action); err != nil {
		if ctx.Err() != nil {
			return problem(http.StatusServiceUnavailable, "unavailable", "your answer could not be recorded just now: try again")
		}
		return err
	}
	if err := s.Store.UseTripLink(c, c.Param("token"), l); err != nil {
		return err
	}
	t, err = s.Store.Trip(c, t.ID)
	if err != nil {
		return err
	}
	return respond(c, tripLinkView(t, l), nil)
}
