// Package access makes door access follow clearance. It defines the small connector interface every access
// control system (ACS) is driven through (directory, grants, events), the typed errors connectors return, and
// the reconciler that converges an ACS to the state SignetAssure approves.
//
// Everything here is in SignetAssure's terms: times are UTC, ids are the ACS's own ids as strings, and a
// record SignetAssure manages carries ExternalID, our key for the person, so a record is never matched by
// name alone.
package access

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// ExternalIDPrefix starts the key SignetAssure writes on every record it manages: "sa:<person id>".
const ExternalIDPrefix = "sa:"

// ExternalID is the key SignetAssure stores in the ACS for a person.
func ExternalID(personID uuid.UUID) string { return ExternalIDPrefix + personID.String() }

// PersonOf reads a person id back from an ExternalID; ok is false for records SignetAssure did not create.
func PersonOf(externalID string) (uuid.UUID, bool) {
	if len(externalID) <= len(ExternalIDPrefix) || externalID[:len(ExternalIDPrefix)] != ExternalIDPrefix {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(externalID[len(ExternalIDPrefix):])
	return id, err == nil
}

// User is a cardholder as the ACS holds it.
type User struct {
	ID             string `json:"id"`         // the ACS's id; empty before creation
	ExternalID     string `json:"externalId"` // "sa:<person id>" on records SignetAssure manages
	EmployeeNumber string `json:"employeeNumber,omitempty"`
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName"`
	Email          string `json:"email,omitempty"`
	// CompanyID and LocationID are the ACS's ids; left empty in a desired record, they are the ACS's to
	// choose (SignetAssure maps only what a mapping names).
	CompanyID  string `json:"companyId,omitempty"`
	LocationID string `json:"locationId,omitempty"`
	Active     bool   `json:"active"`
	Access
}

// Access is what a user may open: direct levels, each with its validity, and access profiles.
type Access struct {
	Levels   []Assignment `json:"levels"`
	Profiles []string     `json:"profiles"` // ACS profile ids
}

// Assignment is one access level on a user. From and To are UTC; a zero time is unbounded.
type Assignment struct {
	LevelID string    `json:"levelId"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
}

// Level is an access level the ACS defines, scoped to a location.
type Level struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	LocationID string `json:"locationId,omitempty"`
}

// Profile is a named bundle of levels.
type Profile struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	LevelIDs []string `json:"levelIds"`
}

// Ref names a company or a location in the ACS.
type Ref struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Catalogue is the ACS's reference data, read afresh on every sync so a deleted or renamed level is noticed.
type Catalogue struct {
	Levels    []Level   `json:"levels"`
	Profiles  []Profile `json:"profiles"`
	Companies []Ref     `json:"companies"`
	Locations []Ref     `json:"locations"`
}

// Event is one access event (a door opened, a badge refused).
type Event struct {
	ID     string    `json:"id"` // unique within the ACS; events are de-duplicated on it
	At     time.Time `json:"at"`
	UserID string    `json:"userId,omitempty"`
	Type   string    `json:"type"` // the ACS's name for it, e.g. "Access granted"
	// Granted is true when the ACS let the badge through (the connector classifies its event types: see
	// each connector). Only granted events count as a person's activity: a refused swipe, a forced door or
	// an alarm naming a badge disabled for inactivity must not enable it again.
	Granted    bool   `json:"granted"`
	Door       string `json:"door,omitempty"`
	LocationID string `json:"locationId,omitempty"`
}

// Directory reads and writes cardholders.
type Directory interface {
	Catalogue(ctx context.Context) (Catalogue, error)
	// Users lists every user with its access.
	Users(ctx context.Context) ([]User, error)
	// FindUsers lists the users that carry externalID, usually none or one; more than one is a duplicate.
	FindUsers(ctx context.Context, externalID string) ([]User, error)
	// CreateUser creates u (its ID empty) with its access and returns it with its new ID.
	CreateUser(ctx context.Context, u User) (User, error)
	// UpdateUser writes desired's person fields and Active over current (desired.ID == current.ID); it
	// leaves access alone.
	UpdateUser(ctx context.Context, current, desired User) error
	// DeleteUser removes current's record; a user already gone is not an error.
	DeleteUser(ctx context.Context, current User) error
}

// Every write to an existing record (UpdateUser, SetAccess, DeleteUser) first reads the record at
// current.ID and checks with CheckRecord that it is still current's: an ACS restored from a backup or
// renumbered gives ids to other people, and an id alone must never decide whose badge is written. A record
// that is not is an KindWrongRecord error, and nothing is written.

// Grants writes a user's access.
type Grants interface {
	// SetAccess makes current's levels and profiles exactly a: levels and profiles not in a are removed.
	// current is the user as last read, so a connector can send only the difference.
	SetAccess(ctx context.Context, current User, a Access) error
}

// Events reads the ACS's event feed.
type Events interface {
	// Events returns events that happened at or after since, oldest first, at most limit. It may return an
	// event twice across calls; callers de-duplicate on Event.ID and ask again from a little before the
	// newest event they hold, so a late event is not missed.
	Events(ctx context.Context, since time.Time, limit int) ([]Event, error)
}

// Connector drives one ACS.
type Connector interface {
	Directory
	Grants
	Events
	// System names the ACS kind for audit entries and logs, e.g. "credoid".
	System() string
}

// WebhookReceiver is implemented by connectors whose ACS pushes events: it verifies and parses one delivery.
type WebhookReceiver interface {
	ParseWebhook(r *http.Request, body []byte) ([]Event, error)
}

// ErrorKind classifies what an ACS answered.
type ErrorKind string

const (
	KindAuth        ErrorKind = "auth"         // credentials refused, even after logging in again
	KindForbidden   ErrorKind = "forbidden"    // the operator lacks a permission or a licence: configuration
	KindNotFound    ErrorKind = "not_found"    // the record is not there (deleted, e.g. by CredoID's clean-up)
	KindConflict    ErrorKind = "conflict"     // a duplicate, or the record is held by an operator
	KindValidation  ErrorKind = "validation"   // the ACS refused the data; Fields says which
	KindRateLimited ErrorKind = "rate_limited" // 429, after the connector's own retries
	KindTransient   ErrorKind = "transient"    // 5xx, timeouts, connection failures, after the connector's retries
	// KindWrongRecord: the record at the id carries another key than the one it was planned from (the ACS was
	// restored or renumbered): nothing was written. Error.Found is the key it carries.
	KindWrongRecord ErrorKind = "wrong_record"
)

// Error is an ACS's refusal or failure.
type Error struct {
	Kind       ErrorKind
	Status     int                 // HTTP status; 0 when no answer came
	Op         string              // what was attempted, e.g. "PUT /api/users/{id}"
	Detail     string              // the ACS's message, never a secret
	Fields     map[string][]string // validation errors by field
	RetryAfter time.Duration       // what the ACS asked for, when it did
	Found      string              // KindWrongRecord: the external key the record carries ("" for none)
}

// CheckRecord says whether have, the record the ACS holds at current.ID now, is still the record current
// was read as: the same external key, and for a record without one (adopted by its employee number) the
// same employee number still. Otherwise it is an KindWrongRecord error naming op, and the caller writes
// nothing.
func CheckRecord(op string, current, have User) error {
	if have.ExternalID == current.ExternalID && (current.ExternalID != "" || have.EmployeeNumber == current.EmployeeNumber) {
		return nil
	}
	return &Error{Kind: KindWrongRecord, Op: op, Found: have.ExternalID,
		Detail: "record " + current.ID + " is not the record it was linked as (another key, or renumbered); nothing written"}
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s", e.Op, e.Kind)
	if e.Status != 0 {
		s += " (" + strconv.Itoa(e.Status) + ")"
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Retryable says whether trying again later may succeed. Auth, permission, validation and not-found
// answers are configuration or data problems: retrying them forever helps nobody. A wrong record is
// retried: the next attempt looks the person's record up by their key again.
func (e *Error) Retryable() bool {
	return e.Kind == KindRateLimited || e.Kind == KindTransient || e.Kind == KindWrongRecord
}

// KindOf is err's ErrorKind, or "" when err is not an *Error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// KindForStatus maps an HTTP status to an ErrorKind.
func KindForStatus(status int) ErrorKind {
	switch {
	case status == http.StatusUnauthorized:
		return KindAuth
	case status == http.StatusForbidden:
		return KindForbidden
	case status == http.StatusNotFound || status == http.StatusGone:
		return KindNotFound
	case status == http.StatusConflict || status == http.StatusPreconditionFailed || status == http.StatusLocked:
		return KindConflict
	case status == http.StatusTooManyRequests:
		return KindRateLimited
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		return KindValidation
	default:
		return KindTransient
	}
}
