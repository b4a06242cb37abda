package credoid_test

import (
	"testing"
	"time"

	"github.com/signetassure/signetassure/credoid"
)

func TestDateTimeOnTheWire(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ in, want string }{
		{"2025-07-01T08:00:00", "2025-07-01T07:00:00Z"}, // BST
		{"2025-12-01T08:00:00", "2025-12-01T08:00:00Z"}, // GMT
		{"2025-07-01T08:00:00.1234567", "2025-07-01T07:00:00.1234567Z"},
		{"2025-07-01T08:00", "2025-07-01T07:00:00Z"},
		{"2025-07-01", "2025-06-30T23:00:00Z"},           // a date alone is local midnight
		{"2025-07-01T08:00:00Z", "2025-07-01T08:00:00Z"}, // an offset is honoured
		{"2025-07-01T08:00:00+02:00", "2025-07-01T06:00:00Z"},
		{"2025-03-30T01:30:00", "2025-03-30T01:30:00Z"}, // skipped by the spring change: moves on
		{"2025-10-26T01:30:00", "2025-10-26T01:30:00Z"}, // the autumn hour twice: the GMT one, as .NET takes it
	} {
		got, err := credoid.ParseDateTime(&c.in, london)
		if err != nil || !got.Equal(utc(c.want)) || got.Location() != time.UTC {
			t.Errorf("%s: %v %v, want %s", c.in, got, err, c.want)
		}
	}
	// time.Date alone would take the daylight-time instant here: the standard-time one is chosen anyway.
	ny := "2025-11-02T01:30:00"
	if got, _ := credoid.ParseDateTime(&ny, mustZone("America/New_York")); !got.Equal(utc("2025-11-02T06:30:00Z")) {
		t.Errorf("New York autumn hour: %v", got)
	}
	for _, bad := range []string{"01/07/2025", "2025-07-01 08:00:00", "tomorrow"} {
		if _, err := credoid.ParseDateTime(&bad, london); err == nil {
			t.Errorf("%s read", bad)
		}
	}
	if got, err := credoid.ParseDateTime(nil, london); err != nil || !got.IsZero() {
		t.Error("null is not the zero time")
	}

	if credoid.DateTime(time.Time{}, london) != nil {
		t.Error("the zero time is not null")
	}
	for in, want := range map[string]string{
		"2025-07-01T07:00:00Z":           "2025-07-01T08:00:00",
		"2025-12-01T17:30:00Z":           "2025-12-01T17:30:00",
		"2025-12-01T17:30:00.25Z":        "2025-12-01T17:30:00.25",
		"2025-12-01T17:30:00.123456789Z": "2025-12-01T17:30:00.1234567",
	} {
		if got := *credoid.DateTime(utc(in), london); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}
