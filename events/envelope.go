package events

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// SpecVersion is the CloudEvents version of the envelope.
const SpecVersion = "1.0"

// Source is the envelope's source attribute: the context events happen in (a URI-reference).
const Source = "urn:signetassure"

// Record is an event as the outbox holds it.
type Record struct {
	// ID is the outbox's order and a reader's cursor.
	ID         int64
	EventID    uuid.UUID
	Type       Type
	Version    int
	Subject    string
	Seq        int64
	OccurredAt time.Time
	Data       json.RawMessage
	// Names are the display names the event concerns, kept apart from Data; nil when none.
	Names json.RawMessage
}

// Envelope is an event in the CloudEvents 1.0 JSON format (structured mode). Extensions: sequence (the
// CloudEvents sequence extension: the event's place among its subject's events, a zero-padded decimal
// string, so it orders lexicographically) and position (the outbox id, the cursor to replay after).
type Envelope struct {
	SpecVersion     string          `json:"specversion" description:"the CloudEvents version: 1.0"`
	ID              string          `json:"id" description:"the event's stable id (a uuid): a subscriber de-duplicates on it"`
	Source          string          `json:"source"`
	Type            string          `json:"type" description:"the catalogue type and its version, e.g. case.opened.v1"`
	Subject         string          `json:"subject" description:"what the event is about, by opaque id: case/<caseRef>, person/<id>, clearance/<id>, access-grant/<id>, access-finding/<id>, partner/<id>, message/<id>, broadcast/<id>"`
	Time            time.Time       `json:"time"`
	DataContentType string          `json:"datacontenttype"`
	Data            json.RawMessage `json:"data" description:"ids and states, never personal values; names only when asked for (data.names)"`
	Sequence        string          `json:"sequence" description:"the event's place among its subject's events (1, 2, 3... zero-padded to 20 digits)"`
	Position        int64           `json:"position" description:"the outbox's order: the cursor to read after"`
}

// SequenceString is seq as the sequence extension carries it.
func SequenceString(seq int64) string { return fmt.Sprintf("%020d", seq) }

// ParseSequence reads the sequence extension back.
func ParseSequence(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

// TypeAttribute is the envelope's type attribute of t at version v: case.opened.v1.
func TypeAttribute(t Type, v int) string { return string(t) + ".v" + strconv.Itoa(v) }

// Envelope wraps r. With withNames, r's names are added to the data as its "names" member.
func (r Record) Envelope(withNames bool) (Envelope, error) {
	data := r.Data
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	if withNames && len(r.Names) > 0 && string(r.Names) != "null" {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			return Envelope{}, fmt.Errorf("event %d: data: %w", r.ID, err)
		}
		m["names"] = r.Names
		var err error
		if data, err = json.Marshal(m); err != nil {
			return Envelope{}, err
		}
	}
	return Envelope{SpecVersion: SpecVersion, ID: r.EventID.String(), Source: Source,
		Type: TypeAttribute(r.Type, r.Version), Subject: r.Subject, Time: r.OccurredAt.UTC(),
		DataContentType: "application/json", Data: data, Sequence: SequenceString(r.Seq), Position: r.ID}, nil
}
