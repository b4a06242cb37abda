// Package contracttest compares JSON against vendor fixtures: the fixtures under each provider package's
// testdata/vendor/ are written by hand from the vendor's documented examples, and both the client tests
// and the simulator tests hold our code to them with the one helper here. It is for tests only.
package contracttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Load reads a fixture, testdata/vendor/<name>, of the calling test's package, and checks it is JSON.
func Load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vendor", name))
	if err != nil {
		t.Fatalf("contracttest: %v", err)
	}
	if !json.Valid(b) {
		t.Fatalf("contracttest: %s is not valid JSON", name)
	}
	return b
}

// Fixture reads <module root>/<pkg>/testdata/vendor/<name>, e.g. Fixture(t, "signicat",
// "notification.json"): a simulator's tests read its provider's fixtures through it, wherever the
// simulator's package lives (the module root is the nearest directory above with a go.mod).
func Fixture(t testing.TB, pkg, name string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("contracttest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("contracttest: no go.mod above the test's directory")
		}
		dir = parent
	}
	b, err := os.ReadFile(filepath.Join(dir, pkg, "testdata", "vendor", name))
	if err != nil {
		t.Fatalf("contracttest: %v", err)
	}
	if !json.Valid(b) {
		t.Fatalf("contracttest: %s/%s is not valid JSON", pkg, name)
	}
	return b
}

// JSON types as Shape names them.
const (
	Object = "object"
	Array  = "array"
	String = "string"
	Number = "number"
	Bool   = "boolean"
	Null   = "null"
)

// Shape maps every key path of a JSON document to its JSON type. Object keys are joined with dots, array
// elements are "[]" (all elements of an array share that path; a path whose elements differ in type has
// their types joined with "|", sorted). The document itself is the path "".
func Shape(doc []byte) (map[string]string, error) {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return nil, err
	}
	out := map[string]string{}
	walk(out, "", v)
	return out, nil
}

func walk(out map[string]string, path string, v any) {
	add(out, path, typeOf(v))
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			walk(out, join(path, k), c)
		}
	case []any:
		for _, c := range x {
			walk(out, path+"[]", c)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func add(out map[string]string, path, typ string) {
	old, ok := out[path]
	if !ok {
		out[path] = typ
		return
	}
	types := strings.Split(old, "|")
	if slices.Contains(types, typ) {
		return
	}
	types = append(types, typ)
	sort.Strings(types)
	out[path] = strings.Join(types, "|")
}

func typeOf(v any) string {
	switch v.(type) {
	case map[string]any:
		return Object
	case []any:
		return Array
	case string:
		return String
	case float64:
		return Number
	case bool:
		return Bool
	default:
		return Null
	}
}

// Options loosen a comparison, each for a reason the fixture's README gives.
type Options struct {
	// Skip leaves out these paths and everything under them (e.g. a provider-specific block whose content
	// the vendor documents per provider).
	Skip []string
	// Known are documented paths a simulator is known not to answer as documented yet: findings waiting
	// for a fix, each with the finding as its value. AssertShape logs them instead of failing, and fails
	// once one no longer mismatches, so that the entry is removed with the fix.
	Known map[string]string
}

func (o Options) skipped(path string) bool {
	for _, s := range o.Skip {
		if path == s || strings.HasPrefix(path, s+".") || strings.HasPrefix(path, s+"[]") {
			return true
		}
	}
	return false
}

// known finds the entry of Known that covers path: the path itself or an ancestor (a missing object's
// keys are missing too).
func (o Options) known(path string) (string, string, bool) {
	for k, finding := range o.Known {
		if path == k || strings.HasPrefix(path, k+".") || strings.HasPrefix(path, k+"[]") {
			return k, finding, true
		}
	}
	return "", "", false
}

// Mismatches lists where got differs from the fixture's shape: every path of the fixture must be in got
// with the same JSON type. A fixture's null only asks that the key be present (the vendor documents it
// nullable, its type unknown); got may carry more keys than the fixture.
func Mismatches(fixture, got []byte, o Options) ([]string, error) {
	want, err := Shape(fixture)
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	have, err := Shape(got)
	if err != nil {
		return nil, fmt.Errorf("answer: %w", err)
	}
	var out []string
	for path, wt := range want {
		if o.skipped(path) {
			continue
		}
		ht, ok := have[path]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: missing (documented %s)", show(path), wt))
		case wt == Null:
		case !sameTypes(wt, ht):
			out = append(out, fmt.Sprintf("%s: %s, documented %s", show(path), ht, wt))
		}
	}
	sort.Strings(out)
	return out, nil
}

// sameTypes: every type the fixture shows at a path is one got shows there, and got shows no other
// (got's null is allowed where the fixture shows null among its types).
func sameTypes(want, have string) bool {
	w, h := strings.Split(want, "|"), strings.Split(have, "|")
	for _, t := range h {
		if !slices.Contains(w, t) {
			return false
		}
	}
	for _, t := range w {
		if t != Null && !slices.Contains(h, t) {
			return false
		}
	}
	return true
}

func show(path string) string {
	if path == "" {
		return "(document)"
	}
	return path
}

// AssertShape fails t with every mismatch between got and the fixture's shape (see Mismatches).
func AssertShape(t testing.TB, fixture, got []byte, o Options) {
	t.Helper()
	m, err := Mismatches(fixture, got, o)
	if err != nil {
		t.Fatalf("contracttest: %v", err)
	}
	seen := map[string]bool{}
	failed := false
	for _, s := range m {
		path, _, _ := strings.Cut(s, ": ")
		if path == "(document)" {
			path = ""
		}
		if k, finding, ok := o.known(path); ok {
			seen[k] = true
			t.Logf("known mismatch, %s: %s", s, finding)
			continue
		}
		t.Errorf("not the documented shape: %s", s)
		failed = true
	}
	for path, finding := range o.Known {
		if !seen[path] {
			t.Errorf("known mismatch at %s (%s) is gone: remove it from Known", show(path), finding)
		}
	}
	if failed {
		t.Logf("answer: %s", got)
	}
}

// FormFields reads a fixture of form fields (a JSON object of field name to string value, the vendor's
// documented application/x-www-form-urlencoded body) as url.Values.
func FormFields(t testing.TB, fixture []byte) url.Values {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal(fixture, &m); err != nil {
		t.Fatalf("contracttest: a form fixture is an object of strings: %v", err)
	}
	form := url.Values{}
	for k, v := range m {
		form.Set(k, v)
	}
	return form
}

// MissingFormFields lists the fixture's fields that got lacks, sorted.
func MissingFormFields(fixture, got url.Values) []string {
	var out []string
	for k := range fixture {
		if _, ok := got[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Call sends a request to a simulator with the Authorization given (none when "") and, when body is not
// nil, the body as JSON; it returns the answer's status, header and body.
func Call(t testing.TB, method, url, authorization string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}
