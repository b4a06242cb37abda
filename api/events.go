package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/store"
)

type lifecycleEventsQuery struct {
	After *int64 `query:"after" description:"the position (id) of the last event read: the answer starts with the event after it (default: the first)"`
	Since string `query:"since" format:"date-time" description:"instead of after: events that occurred at or after this time (RFC 3339), oldest first"`
	Limit *int   `query:"limit" description:"events at most, 1 to 500 (default 100)"`
	Names *bool  `query:"names" description:"add the display names the events concern as data.names (default false)"`
}

// EventPage is a page of lifecycle events and the cursor to read on from.
type EventPage struct {
	Items []events.Envelope `json:"items" description:"CloudEvents 1.0 envelopes (structured JSON), in the outbox's order"`
	// Next is the after of the next page: the last item's position, or after itself when none came.
	Next int64 `json:"next" description:"pass as after to read on; the same after when no newer event is settled yet"`
}

// eventRoutes: administrators read the lifecycle events outbox, to replay what a subscriber missed.
func (s *Server) eventRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/events", summary: "Lifecycle events (CloudEvents 1.0) after a cursor or since a time, for replay",
			roles: adminOnly, req: new(lifecycleEventsQuery), resp: new(EventPage), handle: s.listEvents},
	}
}

func (s *Server) listEvents(c *gin.Context) error {
	q := query{c: c}
	after := q.int64("after")
	limit := 100
	if v, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			q.errs.add("limit", "must be a whole number from 1 to 500")
		}
		limit = n
	}
	since := q.instant("since", time.UTC, false)
	if since != nil && c.Query("after") != "" {
		q.errs.add("since", "must not be given with after")
	}
	withNames := q.bool("names")
	if err := q.errs.err(); err != nil {
		return err
	}
	var recs []events.Record
	var err error
	if since != nil {
		recs, err = s.Store.EventsSince(c, *since, limit)
	} else {
		recs, err = s.Store.EventsAfter(c, after, limit)
	}
	if errors.Is(err, store.ErrNotFound) {
		q.errs.add("after", "is not the position of an event")
		return q.errs.err()
	}
	if err != nil {
		return err
	}
	page := EventPage{Items: make([]events.Envelope, 0, len(recs)), Next: after}
	for _, r := range recs {
		env, err := r.Envelope(withNames != nil && *withNames)
		if err != nil {
			return err
		}
		page.Items = append(page.Items, env)
		page.Next = r.ID
	}
	c.JSON(http.StatusOK, page)
	return nil
}
