package activities_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/activities"
)

// No activity takes or returns a store type: what rides in a workflow's history is the activities' or the
// domain's own, converted at the store boundary, so a change to the store cannot change a history.
func TestActivityPayloadsHoldNoStoreType(t *testing.T) {
	const storePkg = "github.com/signetassure/signetassure/store"
	seen := map[reflect.Type]bool{}
	var walk func(where string, ty reflect.Type)
	walk = func(where string, ty reflect.Type) {
		if seen[ty] {
			return
		}
		seen[ty] = true
		if ty.PkgPath() == storePkg {
			t.Errorf("%s is %s", where, ty)
			return
		}
		switch ty.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
			if ty.Kind() == reflect.Map {
				walk(where, ty.Key())
			}
			walk(where, ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if f := ty.Field(i); f.IsExported() {
					walk(where+"."+f.Name, f.Type)
				}
			}
		}
	}
	act := reflect.TypeOf(&activities.Activities{})
	for i := range act.NumMethod() {
		m := act.Method(i)
		for j := 2; j < m.Type.NumIn(); j++ { // the receiver and the context are not payloads
			walk(m.Name+" input", m.Type.In(j))
		}
		for j := range m.Type.NumOut() {
			if out := m.Type.Out(j); !strings.Contains(out.String(), "error") {
				walk(m.Name+" result", out)
			}
		}
	}
}

// GrantCheck, in access grants' histories, keeps the JSON of the store's Eligibility it once was.
func TestGrantCheckJSON(t *testing.T) {
	got, err := json.Marshal(activities.GrantCheck{Eligible: true, Reason: "r", ValidUntil: time.Date(2030, 1, 31, 23, 59, 59, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"eligible":true,"reason":"r","validUntil":"2030-01-31T23:59:59Z"}`; string(got) != want {
		t.Errorf("GrantCheck JSON %s, want %s", got, want)
	}
}
