package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SLA is the service target of one vetting case: when it is due after opening, and how long before
// that its owner is reminded.
type SLA struct {
	Due       time.Duration   `json:"due"`
	Reminders []time.Duration `json:"reminders"`
}

// SLATable gives each case its SLA by level, optionally refined by case type ("renewal:SC").
type SLATable struct {
	due       map[string]time.Duration
	reminders []time.Duration
}

// DefaultSLA is the UK vetting authority's published targets: CTC and SC in 25 days, DV in 95; BPSS in 10.
const DefaultSLA = "BPSS=10d,CTC=25d,SC=25d,eSC=25d,DV=95d,eDV=95d"

// DefaultSLAReminders: the owner is reminded a week and a day before a case is due.
const DefaultSLAReminders = "7d,1d"

// ParseSLATable reads due times ("CTC=25d,SC=25d,DV=95d,renewal:SC=20d") and reminder offsets ("7d,1d").
// Every level must have a due time.
func ParseSLATable(due, reminders string) (SLATable, error) {
	t := SLATable{due: map[string]time.Duration{}}
	for _, item := range splitList(due) {
		key, val, ok := strings.Cut(item, "=")
		if !ok {
			return t, fmt.Errorf("%q: want LEVEL=DURATION or TYPE:LEVEL=DURATION", item)
		}
		typ, level, hasType := strings.Cut(key, ":")
		if !hasType {
			typ, level = "", key
		}
		if !Level(level).Valid() || (hasType && !CaseType(typ).Valid()) {
			return t, fmt.Errorf("%q: unknown level or case type", item)
		}
		d, err := ParseDays(val)
		if err != nil {
			return t, err
		}
		t.due[key] = d
	}
	for _, l := range Levels {
		if _, ok := t.due[string(l)]; !ok {
			return t, fmt.Errorf("no SLA for level %s", l)
		}
	}
	for _, item := range splitList(reminders) {
		d, err := ParseDays(item)
		if err != nil {
			return t, err
		}
		t.reminders = append(t.reminders, d)
	}
	slices.SortFunc(t.reminders, func(a, b time.Duration) int { return int(b - a) }) // earliest reminder first
	return t, nil
}

// For returns the SLA of a case of type t at level l.
func (t SLATable) For(typ CaseType, l Level) SLA {
	due, ok := t.due[string(typ)+":"+string(l)]
	if !ok {
		due = t.due[string(l)]
	}
	return SLA{Due: due, Reminders: slices.Clone(t.reminders)}
}

// DurationText writes a duration for people: in days where it is whole days ("1 day", "90 days"), as Go
// writes it otherwise, without trailing zero seconds ("36h0m").
func DurationText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		if days := int(d / (24 * time.Hour)); days == 1 {
			return "1 day"
		} else {
			return fmt.Sprintf("%d days", days)
		}
	}
	return strings.TrimSuffix(d.String(), "0s")
}

// ParseDays reads a duration written in days ("25d") or as Go writes one ("36h", "90s").
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 {
			return 0, fmt.Errorf("%q: want a positive number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q: want a duration such as 25d or 36h", s)
	}
	return d, nil
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
