package restacs

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
)

// maxPages stops a list whose links go round in circles.
const maxPages = 100_000

// each pages through a collection, calling fn with every item until fn answers false. extra adds query
// parameters (a filter, a since); size, when above 0 and below the configured page size, asks for smaller pages.
func (c *Connector) each(ctx context.Context, col Collection, extra url.Values, size int, fn func(item any) bool) error {
	p := col.Paging
	if p.Size <= 0 {
		p.Size = 100
	}
	if size > 0 && size < p.Size {
		p.Size = size
	}
	r, err := parseRequest(col.List)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range extra {
		q[k] = v
	}
	if p.Limit != "" {
		q.Set(p.Limit, strconv.Itoa(p.Size))
	}
	if p.Style == "offset" {
		q.Set(p.Offset, "0")
	}
	u, err := c.url(r, "", q)
	if err != nil {
		return fmt.Errorf("restacs: %s: %v", col.List, err)
	}

	offset := 0
	for range maxPages {
		page, _, err := c.send(ctx, col.List, r.method, u, nil)
		if err != nil {
			return err
		}
		items := asArray(get(page, col.Items))
		for _, it := range items {
			if !fn(it) {
				return nil
			}
		}

		switch p.Style {
		case "next":
			link := text(get(page, p.Next))
			if link == "" {
				return nil
			}
			next, err := c.resolve(link)
			if err != nil {
				return err
			}
			if next.String() == u.String() {
				return fmt.Errorf("restacs: %s: the next link points at the same page", col.List)
			}
			u = next
		case "offset":
			offset += len(items)
			if len(items) == 0 {
				return nil
			}
			if p.Total != "" {
				total, err := strconv.Atoi(text(get(page, p.Total)))
				if err != nil || offset >= total {
					return nil
				}
			} else if len(items) < p.Size {
				return nil
			}
			u = withQuery(u, p.Offset, strconv.Itoa(offset))
		case "cursor":
			cur := text(get(page, p.Next))
			if cur == "" || cur == u.Query().Get(p.Cursor) {
				return nil
			}
			u = withQuery(u, p.Cursor, cur)
		default:
			return nil
		}
	}
	return fmt.Errorf("restacs: %s: more than %d pages", col.List, maxPages)
}

// withQuery is u with one query parameter set.
func withQuery(u *url.URL, key, value string) *url.URL {
	n := *u
	q := n.Query()
	q.Set(key, value)
	n.RawQuery = q.Encode()
	return &n
}

// asArray is v as a list: an array as it is, one object as a list of one, nothing as none.
func asArray(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	}
	return []any{v}
}
