package domain

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// Date is a calendar date without a time zone (a date of birth, a clearance's validFrom and validTo),
// written "2006-01-02" in JSON and stored as a PostgreSQL date.
type Date struct{ t time.Time }

const dateLayout = "2006-01-02"

// NewDate returns the date y-m-d.
func NewDate(y int, m time.Month, d int) Date { return Date{time.Date(y, m, d, 0, 0, 0, 0, time.UTC)} }

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date { return NewDate(t.Date()) }

// The dates anything accepts: a date outside them is a typing slip or a probe, never a date of birth,
// a validity or a deadline.
var (
	MinDate = NewDate(1900, 1, 1)
	MaxDate = NewDate(2100, 12, 31)
)

// ParseDate reads "2006-01-02", a real calendar date from MinDate to MaxDate: the input boundary's
// parser.
func ParseDate(s string) (Date, error) {
	d, err := parseDate(s)
	if err != nil {
		return Date{}, err
	}
	if !d.InRange() {
		return Date{}, fmt.Errorf("%q is not a date from %s to %s", s, MinDate, MaxDate)
	}
	return d, nil
}

// parseDate reads "2006-01-02" without the range check: what was recorded (a workflow's history) is
// read back as it was written.
func parseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", s)
	}
	return Date{t}, nil
}

// InRange reports whether d is from MinDate to MaxDate.
func (d Date) InRange() bool { return !d.t.Before(MinDate.t) && !d.t.After(MaxDate.t) }

func (d Date) IsZero() bool                 { return d.t.IsZero() }
func (d Date) Time() time.Time              { return d.t }
func (d Date) Before(o Date) bool           { return d.t.Before(o.t) }
func (d Date) After(o Date) bool            { return d.t.After(o.t) }
func (d Date) AddDays(n int) Date           { return Date{d.t.AddDate(0, 0, n)} }
func (d Date) AddYears(n int) Date          { return Date{d.t.AddDate(n, 0, 0)} }
func (d Date) String() string               { return d.t.Format(dateLayout) }
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func (d *Date) UnmarshalText(b []byte) error {
	p, err := parseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

func (d Date) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(d.String())
}

// ScanDate and DateValue let pgx read and write a Date as a PostgreSQL date.
func (d *Date) ScanDate(v pgtype.Date) error {
	if !v.Valid {
		*d = Date{}
		return nil
	}
	*d = DateOf(v.Time)
	return nil
}

func (d Date) DateValue() (pgtype.Date, error) {
	return pgtype.Date{Time: d.t, Valid: !d.IsZero()}, nil
}
