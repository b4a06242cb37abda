package evidence

import (
	"strings"
	"testing"
	"time"
)

func TestParseLeafData(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC)
	cases := []Entry{
		{ID: 42, At: at, Actor: "u-1", Action: "case.opened", EntityType: "case", EntityID: "C-9", Detail: `{"a":1}`, DedupKey: "d-1"},
		{ID: 1, At: time.UnixMicro(0).UTC(), Detail: "{}"},
		{ID: 7, At: at, Actor: "", Action: "x,y:z", EntityType: "12:ab,", EntityID: "Zoë ✓", Detail: `{"s":"a,b:c\n"}`, DedupKey: ""},
		{ID: -3, At: time.UnixMicro(-5).UTC(), Detail: strings.Repeat("x", 5000)},
	}
	for _, want := range cases {
		b := leafData(want.ID, want.At.UnixMicro(), want.Actor, want.Action, want.EntityType, want.EntityID, want.Detail, want.DedupKey)
		got, err := ParseLeafData(b)
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if !got.equal(want) {
			t.Errorf("ParseLeafData(%q) = %+v, want %+v", b, got, want)
		}
	}
}

func TestParseLeafDataRefusesMalformed(t *testing.T) {
	good := string(leafData(1, 2, "a", "b", "c", "d", "{}", "e"))
	for _, b := range []string{
		"",
		"signetassure-audit-leaf-v2" + strings.TrimPrefix(good, LeafVersion),
		good + "1:x,",                 // a ninth field
		strings.TrimSuffix(good, ","), // last netstring unclosed
		good[:len(good)-4],            // truncated
		LeafVersion + "01:1,1:2,1:a,1:b,1:c,1:d,2:{},1:e,", // non-canonical length
		LeafVersion + "1:x,1:2,1:a,1:b,1:c,1:d,2:{},1:e,",  // id not a number
		LeafVersion + "1:1,2:+2,1:a,1:b,1:c,1:d,2:{},1:e,", // time not canonical
		LeafVersion + "1:1,1:2,1:a,1:b,1:c,1:d,9:{},1:e,",  // length past the end
		LeafVersion + "1:1,1:2,1:a,1:b,1:c,1:d,2:{};1:e,",  // wrong terminator
		LeafVersion + "-1:1,",
	} {
		if e, err := ParseLeafData([]byte(b)); err == nil {
			t.Errorf("ParseLeafData(%q) = %+v, want an error", b, e)
		}
	}
}
