package evidence

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// LeafVersion starts the data of every audit leaf (audit/tree.go, entry.LeafData).
const LeafVersion = "signetassure-audit-leaf-v1"

// Entry is an audit entry decoded from its leaf data: the human view entries.jsonl carries beside the
// leaf bytes. The leaf bytes are what the proof covers; the verifier checks this view matches them.
type Entry struct {
	ID         int64     `json:"id"`
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Action     string    `json:"action"`
	EntityType string    `json:"entityType"`
	EntityID   string    `json:"entityId"`
	// Detail is the entry's detail, JSON text exactly as it was hashed.
	Detail   string `json:"detail"`
	DedupKey string `json:"dedupKey"`
}

// leafFields is the number of netstrings after LeafVersion.
const leafFields = 8

// ParseLeafData decodes leaf data in the "signetassure-audit-leaf-v1" format: the version, then the
// netstrings ("<decimal length>:<bytes>,") of id, time (µs since the epoch), actor, action, entity
// type, entity id, detail and dedup key, and nothing after them.
func ParseLeafData(b []byte) (Entry, error) {
	rest, ok := bytes.CutPrefix(b, []byte(LeafVersion))
	if !ok {
		return Entry{}, errors.New("leaf data: not " + LeafVersion)
	}
	var f [leafFields]string
	for i := range f {
		colon := bytes.IndexByte(rest, ':')
		if colon < 1 || colon > 10 {
			return Entry{}, fmt.Errorf("leaf data: field %d: no netstring length", i+1)
		}
		digits := string(rest[:colon])
		n, err := strconv.Atoi(digits)
		if err != nil || n < 0 || strconv.Itoa(n) != digits || n > len(rest)-colon-2 {
			return Entry{}, fmt.Errorf("leaf data: field %d: bad netstring length %q", i+1, digits)
		}
		if rest[colon+1+n] != ',' {
			return Entry{}, fmt.Errorf("leaf data: field %d: netstring not closed by ','", i+1)
		}
		f[i] = string(rest[colon+1 : colon+1+n])
		rest = rest[colon+2+n:]
	}
	if len(rest) != 0 {
		return Entry{}, fmt.Errorf("leaf data: %d bytes after the last field", len(rest))
	}
	id, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || strconv.FormatInt(id, 10) != f[0] {
		return Entry{}, fmt.Errorf("leaf data: id %q is not a decimal integer", f[0])
	}
	us, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || strconv.FormatInt(us, 10) != f[1] {
		return Entry{}, fmt.Errorf("leaf data: time %q is not decimal microseconds", f[1])
	}
	return Entry{ID: id, At: time.UnixMicro(us).UTC(), Actor: f[2], Action: f[3], EntityType: f[4], EntityID: f[5],
		Detail: f[6], DedupKey: f[7]}, nil
}

// equal reports whether two views hold the same fields (times compared as instants).
func (e Entry) equal(o Entry) bool {
	a, b := e, o
	a.At, b.At = time.Time{}, time.Time{}
	return a == b && e.At.Equal(o.At)
}
