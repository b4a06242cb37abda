package restacs

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/signetassure/signetassure/access"
)

// defaultEventLimit is used when Events is asked for no limit.
const defaultEventLimit = 1000

// eventFrom maps one ACS event with events.fields.
func (c *Connector) eventFrom(item any) (access.Event, error) {
	f := c.cfg.Events.Fields
	e := access.Event{ID: read(item, f, "id"), UserID: read(item, f, "userId"), Type: read(item, f, "type"),
		Door: read(item, f, "door"), LocationID: read(item, f, "locationId")}
	e.Granted = slices.Contains(c.cfg.Events.Granted, e.Type)
	if e.ID == "" {
		return e, fmt.Errorf("restacs: an event has no id at events.fields.id")
	}
	at, err := c.parseTime(read(item, f, "at"), false)
	if err != nil || at.IsZero() {
		return e, fmt.Errorf("restacs: event %s: events.fields.at: no time (%v)", e.ID, err)
	}
	e.At = at
	return e, nil
}

// Events returns events at or after since, oldest first, at most limit, following the feed's pages.
func (c *Connector) Events(ctx context.Context, since time.Time, limit int) ([]access.Event, error) {
	if limit <= 0 {
		limit = defaultEventLimit
	}
	var extra url.Values
	if !since.IsZero() {
		extra = url.Values{c.cfg.Events.Since: {text(c.formatTime(since))}}
	}
	var out []access.Event
	var bad error
	err := c.each(ctx, c.cfg.Events.Collection, extra, limit, func(item any) bool {
		e, err := c.eventFrom(item)
		if err != nil {
			bad = err
			return false
		}
		if !e.At.Before(since) { // the ACS may round since down to its precision
			out = append(out, e)
		}
		return len(out) < limit
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out, nil
}

// ParseWebhook verifies one delivery's Standard Webhooks signature (webhook-id, webhook-timestamp and
// webhook-signature headers; a timestamp more than five minutes off is refused) and maps the event or
// events at webhook.items with events.fields. A bad or stale signature is an access.KindAuth error and
// yields no events; a payload it cannot read is access.KindValidation.
func (c *Connector) ParseWebhook(r *http.Request, body []byte) ([]access.Event, error) {
	if c.hook == nil {
		return nil, &access.Error{Kind: access.KindForbidden, Op: "webhook", Detail: c.cfg.System + ": no webhook is configured"}
	}
	if err := c.hook.Verify(body, r.Header); err != nil {
		return nil, &access.Error{Kind: access.KindAuth, Op: "webhook", Detail: err.Error()}
	}
	doc, err := decode(body)
	if err != nil {
		return nil, &access.Error{Kind: access.KindValidation, Op: "webhook", Detail: "the payload is not JSON"}
	}
	var out []access.Event
	for _, item := range asArray(get(doc, c.cfg.Webhook.Items)) {
		e, err := c.eventFrom(item)
		if err != nil {
			return nil, &access.Error{Kind: access.KindValidation, Op: "webhook", Detail: err.Error()}
		}
		out = append(out, e)
	}
	return out, nil
}

// Catalogue reads the levels and whichever of profiles, companies and locations are configured.
func (c *Connector) Catalogue(ctx context.Context) (access.Catalogue, error) {
	cat := access.Catalogue{Levels: []access.Level{}, Profiles: []access.Profile{}, Companies: []access.Ref{}, Locations: []access.Ref{}}
	cc := c.cfg.Catalogue
	err := c.each(ctx, cc.Levels, nil, 0, func(item any) bool {
		f := cc.Levels.Fields
		cat.Levels = append(cat.Levels, access.Level{ID: read(item, f, "id"), Name: read(item, f, "name"), LocationID: read(item, f, "locationId")})
		return true
	})
	if err != nil {
		return access.Catalogue{}, err
	}
	if p := cc.Profiles; p != nil {
		err := c.each(ctx, *p, nil, 0, func(item any) bool {
			pr := access.Profile{ID: read(item, p.Fields, "id"), Name: read(item, p.Fields, "name"), LevelIDs: []string{}}
			if f, ok := p.Fields["levelIds"]; ok {
				for _, v := range lookup(item, f.Path) {
					for _, x := range asArray(v) { // the path may end at the array or walk it with "*"
						if id := extract(f.Pattern, text(x)); id != "" {
							pr.LevelIDs = append(pr.LevelIDs, id)
						}
					}
				}
			}
			cat.Profiles = append(cat.Profiles, pr)
			return true
		})
		if err != nil {
			return access.Catalogue{}, err
		}
	}
	for _, r := range []struct {
		col *Collection
		out *[]access.Ref
	}{{cc.Companies, &cat.Companies}, {cc.Locations, &cat.Locations}} {
		if r.col == nil {
			continue
		}
		err := c.each(ctx, *r.col, nil, 0, func(item any) bool {
			*r.out = append(*r.out, access.Ref{ID: read(item, r.col.Fields, "id"), Name: read(item, r.col.Fields, "name")})
			return true
		})
		if err != nil {
			return access.Catalogue{}, err
		}
	}
	return cat, nil
}
