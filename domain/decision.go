package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The bounds of a decision, written once: the officer's route, the case workflow's validators and a
// partner's /return all check an outcome with ValidityPolicy.CheckDecision.

// MaxBackdateYears is how far before today a clearance's validFrom may lie (and, the other way, how far
// after today): a decision recorded late (paperwork, a partner's return after its deadline) fits in a
// year; anything further is a slip or an attempt to rewrite the record.
const MaxBackdateYears = 1

// DefaultMaxValidity is the longest each level's clearance may be valid for, unless configured
// (CLEARANCE_MAX_VALIDITY): the published review periods for SC (10 years) and DV (7 years); eSC and eDV
// as SC and DV; CTC 5 years; BPSS, which has no formal review period, 3 years (the usual re-verification
// interval).
const DefaultMaxValidity = "BPSS=3y,CTC=5y,SC=10y,eSC=10y,DV=7y,eDV=7y"

// Period is a span of calendar years, months and days, added to a date as the calendar does.
type Period struct {
	Years  int `json:"years,omitempty"`
	Months int `json:"months,omitempty"`
	Days   int `json:"days,omitempty"`
}

// After returns the date the period ends when it starts on d.
func (p Period) After(d Date) Date { return Date{d.t.AddDate(p.Years, p.Months, p.Days)} }

func (p Period) String() string {
	var parts []string
	for _, u := range []struct {
		n    int
		unit string
	}{{p.Years, "year"}, {p.Months, "month"}, {p.Days, "day"}} {
		switch {
		case u.n == 1:
			parts = append(parts, "1 "+u.unit)
		case u.n > 1:
			parts = append(parts, strconv.Itoa(u.n)+" "+u.unit+"s")
		}
	}
	return strings.Join(parts, " ")
}

// ParsePeriod reads "10y", "18m" or "90d".
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return Period{}, fmt.Errorf("%q is not a period such as 10y, 18m or 90d", s)
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n <= 0 || n > 100*366 {
		return Period{}, fmt.Errorf("%q is not a period such as 10y, 18m or 90d", s)
	}
	switch s[len(s)-1] {
	case 'y':
		if n <= 100 {
			return Period{Years: n}, nil
		}
	case 'm':
		if n <= 1200 {
			return Period{Months: n}, nil
		}
	case 'd':
		return Period{Days: n}, nil
	}
	return Period{}, fmt.Errorf("%q is not a period such as 10y, 18m or 90d (at most 100 years)", s)
}

// ValidityPolicy is the longest a clearance of each level may be valid for.
type ValidityPolicy map[Level]Period

// DefaultValidityPolicy is DefaultMaxValidity.
func DefaultValidityPolicy() ValidityPolicy {
	p, err := ParseValidityPolicy("")
	if err != nil {
		panic(err)
	}
	return p
}

// ParseValidityPolicy reads "SC=10y,DV=7y,...": each level named gets its period, every other level
// keeps DefaultMaxValidity's.
func ParseValidityPolicy(s string) (ValidityPolicy, error) {
	p := ValidityPolicy{}
	for i, spec := range []string{DefaultMaxValidity, s} {
		for item := range strings.SplitSeq(spec, ",") {
			if item = strings.TrimSpace(item); item == "" {
				continue
			}
			name, period, ok := strings.Cut(item, "=")
			level := Level(strings.TrimSpace(name))
			if !ok || !level.Valid() {
				return nil, fmt.Errorf("%q: want LEVEL=period (levels %s)", item, OneOf(Levels))
			}
			d, err := ParsePeriod(period)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", level, err)
			}
			if i == 1 || p[level] == (Period{}) {
				p[level] = d
			}
		}
	}
	return p, nil
}

// Max is the longest a clearance of level may be valid for (DefaultMaxValidity's when the policy does
// not name the level).
func (p ValidityPolicy) Max(level Level) Period {
	if d, ok := p[level]; ok && d != (Period{}) {
		return d
	}
	return DefaultValidityPolicy()[level]
}

// Decision is an outcome on a case: a level and validity when it grants a clearance.
type Decision struct {
	Outcome   Outcome
	Level     Level
	ValidFrom Date
	ValidTo   Date
}

// LevelRank is a level's place in Levels, lowest first (-1 for none).
func LevelRank(l Level) int { return slices.Index(Levels, l) }

// CheckDecision checks a decision on a case opened at level requested, today being today: the outcome
// is one of Outcomes; one that grants a clearance has a level no higher than the one requested, a
// validFrom within MaxBackdateYears of today, a validTo after it and no further from it than the
// level's maximum validity, all dates from MinDate to MaxDate. It returns a *Rejection naming the field ("outcome", "level", "validFrom", "validTo") or nil.
func (p ValidityPolicy) CheckDecision(requested Level, d Decision, today Date) error {
	bad := func(field, format string, args ...any) error {
		return &Rejection{Field: field, Detail: fmt.Sprintf(format, args...)}
	}
	if !d.Outcome.Valid() {
		return bad("outcome", "must be one of %s", OneOf(Outcomes))
	}
	if !d.Outcome.GrantsClearance() {
		return nil
	}
	if !d.Level.Valid() {
		return bad("level", "must be one of %s", OneOf(Levels))
	}
	if requested.Valid() && LevelRank(d.Level) > LevelRank(requested) {
		return bad("level", "must be the level the case was opened at (%s) or lower", requested)
	}
	if d.ValidFrom.IsZero() {
		return bad("validFrom", "is required for a %s outcome", d.Outcome)
	}
	if d.ValidTo.IsZero() {
		return bad("validTo", "is required for a %s outcome", d.Outcome)
	}
	for _, f := range []struct {
		name string
		date Date
	}{{"validFrom", d.ValidFrom}, {"validTo", d.ValidTo}} {
		if !f.date.InRange() {
			return bad(f.name, "must be a date from %s to %s", MinDate, MaxDate)
		}
	}
	if earliest := today.AddYears(-MaxBackdateYears); d.ValidFrom.Before(earliest) {
		return bad("validFrom", "must be no earlier than %s (%d year before today)", earliest, MaxBackdateYears)
	}
	if latest := today.AddYears(MaxBackdateYears); d.ValidFrom.After(latest) {
		return bad("validFrom", "must be no later than %s (%d year after today)", latest, MaxBackdateYears)
	}
	if !d.ValidTo.After(d.ValidFrom) {
		return bad("validTo", "must be after validFrom")
	}
	longest := p.Max(d.Level)
	if last := longest.After(d.ValidFrom); d.ValidTo.After(last) {
		return bad("validTo", "must be no later than %s: a %s clearance is valid for at most %s", last, d.Level, longest)
	}
	return nil
}
