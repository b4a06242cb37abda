package credoid

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/signetassure/signetassure/access"
)

// EventAccessGranted is the typeId of CredoID's "Access granted" event [I]: the one event type that says a
// door let the badge through, so the only one that counts as a person's activity. The type id, not the
// localized name, is compared: the name follows the operator's language.
const EventAccessGranted = 1

// Events reads the event feed, GET /api/events?from=&afterId=&take= [I], for backfill: the live feed is
// a SignalR hub that does not replay what a client missed [M]. It returns events at or after since (the
// zero time: from the start), oldest first, at most limit (none when limit <= 0), paging on the event id.
// An event the server serves twice within one call is returned once.
func (c *Client) Events(ctx context.Context, since time.Time, limit int) ([]access.Event, error) {
	var (
		out   []access.Event
		after int64
		seen  = map[int64]bool{}
	)
	for len(out) < limit {
		take := min(limit-len(out), pageSize)
		q := url.Values{"take": {itoa(take)}}
		if !since.IsZero() {
			q.Set("from", *DateTime(since, c.loc))
		}
		if after > 0 {
			q.Set("afterId", strconv.FormatInt(after, 10))
		}
		var page []EventRecord
		if _, err := c.call(ctx, "GET /api/events", http.MethodGet, "/api/events", q, nil, &page); err != nil {
			return nil, err
		}
		for _, e := range page {
			after = max(after, e.ID)
			if seen[e.ID] || len(out) == limit {
				continue
			}
			seen[e.ID] = true
			at, err := ParseDateTime(&e.Time, c.loc)
			if err != nil {
				return nil, fmt.Errorf("credoid: event %d: %w", e.ID, err)
			}
			out = append(out, access.Event{
				ID:         strconv.FormatInt(e.ID, 10),
				At:         at,
				UserID:     optID(e.UserID),
				Type:       e.LocalizedTypeName,
				Door:       e.DoorName,
				LocationID: optID(e.LocationID),
				Granted:    e.TypeID == EventAccessGranted,
			})
		}
		if len(page) < take {
			break
		}
	}
	return out, nil
}
