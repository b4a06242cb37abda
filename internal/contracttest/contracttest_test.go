package contracttest

import (
	"testing"
)

func TestShape(t *testing.T) {
	s, err := Shape([]byte(`{"a":1,"b":{"c":"x","d":[{"e":true},{"e":null}]},"f":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"": Object, "a": Number, "b": Object, "b.c": String, "b.d": Array,
		"b.d[]": Object, "b.d[].e": "boolean|null", "f": Array}
	if len(s) != len(want) {
		t.Fatalf("got %v", s)
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("%q: got %q, want %q", k, s[k], v)
		}
	}
}

func TestMismatches(t *testing.T) {
	fixture := []byte(`{"id":"x","n":1,"opt":null,"inner":{"a":"b"},"list":[{"k":"v"}],"skip":{"deep":1}}`)
	for _, c := range []struct {
		name, got string
		want      []string
	}{
		{"same", `{"id":"y","n":2,"opt":"z","inner":{"a":"c"},"list":[{"k":"w"}],"skip":{},"extra":1}`, nil},
		{"renamed", `{"ID":"y","n":2,"opt":null,"inner":{"a":"c"},"list":[{"k":"w"}]}`,
			[]string{"id: missing (documented string)"}},
		{"retyped", `{"id":1,"n":"2","opt":1,"inner":{"a":"c"},"list":[{"k":"w"}]}`,
			[]string{"id: number, documented string", "n: string, documented number"}},
		{"empty list", `{"id":"y","n":2,"opt":1,"inner":{"a":"c"},"list":[]}`,
			[]string{"list[].k: missing (documented string)", "list[]: missing (documented object)"}},
		{"null for string", `{"id":null,"n":2,"opt":1,"inner":{"a":"c"},"list":[{"k":"w"}]}`,
			[]string{"id: null, documented string"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Mismatches(fixture, []byte(c.got), Options{Skip: []string{"skip"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("got %q, want %q", got[i], c.want[i])
				}
			}
		})
	}
}

func TestKnownCoversDescendants(t *testing.T) {
	o := Options{Known: map[string]string{"a.b": "gap"}}
	for path, want := range map[string]bool{"a.b": true, "a.b.c": true, "a.b[].c": true, "a.bc": false, "a": false} {
		if _, _, ok := o.known(path); ok != want {
			t.Errorf("%q: known %v, want %v", path, ok, want)
		}
	}
}

func TestFixtureFindsTheModuleRoot(t *testing.T) {
	b := Fixture(t, "signicat", "notification.json")
	if s, err := Shape(b); err != nil || s["status"] != String {
		t.Errorf("got %v %v", s, err)
	}
}
