package credoidsim

import (
	"encoding/json"
	"fmt"
	"time"
)

// The CredoID contract as the simulator speaks it, written from the vendor notes
// (shared/reference/credoid.md: [R] vendor documentation, [M] public sample code, [I] inferred) and not
// from SignetAssure's client, so that a field the client names wrongly fails the client's tests instead
// of passing them on both sides.

// totalCountHeader carries the number of matches of GET /api/users [M, I].
const totalCountHeader = "X-Total-Count"

// eventAccessGranted is the typeId of an "Access granted" event [I].
const eventAccessGranted = 1

// wireLayout is a .NET DateTime of kind Unspecified as System.Text.Json writes it: local wall-clock time,
// no offset, fractional seconds (up to 7 digits) only when not zero [I].
const wireLayout = "2006-01-02T15:04:05.9999999"

// wireTime writes t as the server does: null for the zero time (unbounded), else wall-clock time in loc.
func wireTime(t time.Time, loc *time.Location) *string {
	if t.IsZero() {
		return nil
	}
	s := t.In(loc).Format(wireLayout)
	return &s
}

// parseWireTime reads a date-time as an ASP.NET model binder does, in UTC: null or "" is the zero time;
// a value with "Z" or an offset is that instant; one without is wall-clock time in loc (a date alone its
// midnight), and a wall-clock time of the autumn hour that happens twice is the later (standard-time)
// one, as TimeZoneInfo takes it.
func parseWireTime(s *string, loc *time.Location) (time.Time, error) {
	if s == nil || *s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, *s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		t, err := time.ParseInLocation(layout, *s, loc)
		if err != nil {
			continue
		}
		if later := t.Add(time.Hour); later.In(loc).Format(layout) == *s || later.In(loc).Format(wireLayout) == *s {
			t = later
		}
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("not a date-time: %q", *s)
}

// loginRequest is the body of POST /api/login [R].
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// userSummary is an item of GET /api/users: the bare fields the real server lists [M].
type userSummary struct {
	ID          int    `json:"id"`
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Additional1 string `json:"additional1"`
	Additional2 string `json:"additional2"`
	Additional3 string `json:"additional3"`
}

// UserRecord is a full user: GET /api/users/{id} answers it, POST /api/users and PUT /api/users/{id}
// take it [M, I]. Dates are wall-clock times in the server's zone, null for none.
type UserRecord struct {
	ID              int               `json:"id,omitempty"`
	FirstName       string            `json:"firstName"`
	LastName        string            `json:"lastName"`
	EmployeeNumber  string            `json:"employeeNumber"`
	Email           string            `json:"email"`
	Company         *RefRecord        `json:"company"`
	Department      *string           `json:"department"`
	Title           *string           `json:"title"`
	Additional1     string            `json:"additional1"`
	Additional2     string            `json:"additional2"`
	Additional3     string            `json:"additional3"`
	IsActive        bool              `json:"isActive"`
	ActivationDate  *string           `json:"activationDate"`
	ExpirationDate  *string           `json:"expirationDate"`
	Locations       []RefRecord       `json:"locations"` // the first is the default location [R]
	AccessLevels    []LevelAssignment `json:"accessLevels"`
	AccessProfiles  []RefRecord       `json:"accessProfiles"`
	Identifications []json.RawMessage `json:"identifications"`
}

// RefRecord is a company, location or profile by id (and name, when the server writes it).
type RefRecord struct {
	ID   int    `json:"id"`
	Name string `json:"name,omitempty"`
}

// LevelAssignment is an access level on a user with its own validity [I].
type LevelAssignment struct {
	ID         int     `json:"id"`
	Name       string  `json:"name,omitempty"`
	LocationID int     `json:"locationId,omitempty"`
	ValidFrom  *string `json:"validFrom"`
	ValidTo    *string `json:"validTo"`
}

// LevelRecord is an item of GET /api/access-levels [I].
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

// EventRecord is an item of GET /api/events [I; localizedTypeName M].
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
