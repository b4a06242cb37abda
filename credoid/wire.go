package credoid

import (
	"encoding/json"
	"fmt"
	"time"
)

// The CredoID JSON contract as the client reads it, kept in one place so that correcting it (against the
// swagger.json every CredoID install serves at /swagger/index.html) is one change. The simulator
// (sim/credoidsim) has its own types, so the two read the vendor notes independently. Tags as in
// the reference notes: [R] vendor documentation, [M] public sample code, [I] inferred. Nothing here leaks
// into SignetAssure: the Client speaks access types.

// DateTimeLayout is how CredoID writes a date-time [I]: .NET System.Text.Json serialises a DateTime of kind
// Unspecified as the server's local wall-clock time without an offset, with fractional seconds (at most 7
// digits, trailing zeros dropped) only when they are not zero, e.g. "2025-01-06T08:00:00".
const DateTimeLayout = "2006-01-02T15:04:05.9999999"

// TotalCountHeader carries the number of matches of a paged list [M, I].
const TotalCountHeader = "X-Total-Count"

// DateTime writes t for the wire: nil (JSON null, unbounded) for the zero time, else t as wall-clock time
// in loc, the server's zone. Sub-100ns precision is dropped.
func DateTime(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(loc).Format(DateTimeLayout)
	return &s
}

// ParseDateTime reads a wire date-time and returns it in UTC; nil or "" is the zero time (unbounded).
//
// It is lenient, as a server or client should be about what it receives: a value without an offset is
// wall-clock time in loc (the contract); a value carrying "Z" or an offset is taken as that instant and
// so converted (a .NET binder reads those as UTC or local kinds and converts too); a date alone is local
// midnight of that day. A wall-clock time that occurs twice (the autumn hour) is the later, standard-time
// instant, as .NET's TimeZoneInfo takes it; one that does not exist (skipped in spring) moves on by the
// gap. The wire cannot say better: a validity boundary in that hour is an hour off either way.
func ParseDateTime(s *string, loc *time.Location) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, *s); err == nil {
		return t.UTC(), nil
	}
	// Parsing accepts a fractional second after the seconds even where the layout has none.
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if w, err := time.Parse(layout, *s); err == nil {
			return wallTime(w, loc).UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time: %q", *s)
}

// wallTime is the instant that wall-clock time w (its fields, whatever its zone) names in loc.
func wallTime(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	// time.Date leaves the choice in a repeated hour open; take the later instant when it shows the same
	// wall clock.
	later := t.Add(time.Hour).In(loc)
	if y, mo, d := later.Date(); y == w.Year() && mo == w.Month() && d == w.Day() &&
		later.Hour() == w.Hour() && later.Minute() == w.Minute() && later.Second() == w.Second() {
		return later
	}
	return t
}

// LoginRequest is the body of POST /api/login [R].
type LoginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// LoginResponse is its answer: the JWT is in token [R] or access_token [M]; expiresIn (seconds) is [I].
type LoginResponse struct {
	Token       string `json:"token,omitempty"`
	AccessToken string `json:"access_token,omitempty"`
	ExpiresIn   int    `json:"expiresIn,omitempty"`
}

// UserSummary is an item of GET /api/users as the real CredoID lists it [M].
type UserSummary struct {
	ID          int    `json:"id"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Additional1 string `json:"additional1"`
	Additional2 string `json:"additional2"`
	Additional3 string `json:"additional3"`
}

// UserRecord is a full user (cardholder) record: GET /api/users/{id} answers it [M: its shape beyond the
// summary fields and identifications is I]; POST /api/users and PUT /api/users/{id} take it [I]. A list
// item decoded into it has AccessLevels nil when the server sent only the summary; a full record always
// carries the array, empty or not.
type UserRecord struct {
	ID             int        `json:"id,omitempty"`
	FirstName      string     `json:"firstName"`
	LastName       string     `json:"lastName"`
	EmployeeNumber string     `json:"employeeNumber"`
	Email          string     `json:"email"`
	Company        *RefRecord `json:"company"`
	// Additional1 holds SignetAssure's key, "sa:<person id>" [I: a free field SignetAssure claims].
	Additional1    string            `json:"additional1"`
	Additional2    string            `json:"additional2"`
	Additional3    string            `json:"additional3"`
	IsActive       bool              `json:"isActive"`
	ActivationDate *string           `json:"activationDate"`
	ExpirationDate *string           `json:"expirationDate"`
	Locations      []RefRecord       `json:"locations"` // the first is the default location [R: every user has one]
	AccessLevels   []LevelAssignment `json:"accessLevels"`
	AccessProfiles []RefRecord       `json:"accessProfiles"` // [I]
	// Identifications (cards, PINs, ...) are kept as they come: SignetAssure does not manage them.
	Identifications []json.RawMessage `json:"identifications"`
}

// RefRecord names a company, location or profile; writes need only the id.
type RefRecord struct {
	ID   int    `json:"id"`
	Name string `json:"name,omitempty"`
}

// LevelAssignment is an access level on a user with its validity in server-local time; null is unbounded
// [I: per-level validity]. Writes need only id and the validity.
type LevelAssignment struct {
	ID         int     `json:"id"`
	Name       string  `json:"name,omitempty"`
	LocationID int     `json:"locationId,omitempty"`
	ValidFrom  *string `json:"validFrom"`
	ValidTo    *string `json:"validTo"`
}

// LevelRecord is an item of GET /api/access-levels [I]; the defaults "Always" and "Never" [R] have no
// location.
type LevelRecord struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	LocationID int    `json:"locationId,omitempty"`
}

// ProfileRecord is an item of GET /api/access-profiles [I].
type ProfileRecord struct {
	ID             int    `json:"id"`
	Name           string `json:"name"`
	AccessLevelIDs []int  `json:"accessLevelIds"`
}

// EventRecord is an item of GET /api/events [I except localizedTypeName, M]; time is server-local.
type EventRecord struct {
	ID                int64  `json:"id"`
	Time              string `json:"time"`
	TypeID            int    `json:"typeId"`
	LocalizedTypeName string `json:"localizedTypeName"`
	UserID            int    `json:"userId,omitempty"`
	DoorID            int    `json:"doorId,omitempty"`
	DoorName          string `json:"doorName,omitempty"`
	LocationID        int    `json:"locationId,omitempty"`
}

// Problem is an ASP.NET ProblemDetails error body [I].
type Problem struct {
	Type    string              `json:"type,omitempty"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail,omitempty"`
	TraceID string              `json:"traceId,omitempty"`
	Errors  map[string][]string `json:"errors,omitempty"`
}
