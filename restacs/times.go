package restacs

import (
	"fmt"
	"time"
)

// localLayouts are the times without offset an ACS may write, read in time.zone.
var localLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04"}

const dateOnly = "2006-01-02"

// formatTime writes t as the ACS wants it; a zero time (unbounded) is null, or "" with time.unbounded
// "empty".
func (c *Connector) formatTime(t time.Time) any {
	if t.IsZero() {
		if c.cfg.Time.Unbounded == "empty" {
			return ""
		}
		return nil
	}
	if c.cfg.Time.Format == "local" {
		return t.In(c.loc).Format("2006-01-02T15:04:05")
	}
	return t.UTC().Format(time.RFC3339)
}

// parseTime reads a time the ACS wrote, as UTC: RFC 3339 with its zone, a local time in time.zone, or a date
// alone, which is the start of that day or, for an end (until), its last second.
func (c *Connector) parseTime(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, c.loc); err == nil {
			return t.UTC(), nil
		}
	}
	if d, err := time.ParseInLocation(dateOnly, s, c.loc); err == nil {
		if end {
			d = time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 0, c.loc)
		}
		return d.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time", s)
}

// sameTime compares times at the precision they are written with (seconds).
func sameTime(a, b time.Time) bool {
	return a.Truncate(time.Second).Equal(b.Truncate(time.Second))
}
