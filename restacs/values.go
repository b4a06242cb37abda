package restacs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// This file holds the three small languages a configuration is written in: dotted JSON paths, id patterns
// and ${name} templates. They work on decoded JSON (map[string]any, []any, string, json.Number, bool, nil).

// lookup returns every value at a dotted path in doc. "" and "." name doc itself; a "*" segment stands for
// every element of an array ("accessGroups.*.href"). Keys never contain dots.
func lookup(doc any, path string) []any {
	if path == "" || path == "." {
		if doc == nil {
			return nil
		}
		return []any{doc}
	}
	cur := []any{doc}
	for _, seg := range strings.Split(path, ".") {
		var next []any
		for _, v := range cur {
			switch v := v.(type) {
			case map[string]any:
				if x, ok := v[seg]; ok && x != nil {
					next = append(next, x)
				}
			case []any:
				if seg == "*" {
					next = append(next, v...)
				} else if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(v) {
					next = append(next, v[i])
				}
			}
		}
		cur = next
	}
	return cur
}

// get is the first value at path, or nil.
func get(doc any, path string) any {
	if vs := lookup(doc, path); len(vs) > 0 {
		return vs[0]
	}
	return nil
}

// set stores v at a dotted path in doc, making the objects on the way.
func set(doc map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	for _, seg := range segs[:len(segs)-1] {
		next, ok := doc[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			doc[seg] = next
		}
		doc = next
	}
	doc[segs[len(segs)-1]] = v
}

// text is a scalar's text: "" for null, objects and arrays.
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int, int64, uint64:
		return fmt.Sprint(v)
	}
	return ""
}

// patterns caches compiled id patterns; Config.validate has compiled each once, so mustPattern never panics
// on a validated configuration.
var patterns sync.Map

func mustPattern(p string) *regexp.Regexp {
	if re, ok := patterns.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	re := regexp.MustCompile(p)
	patterns.Store(p, re)
	return re
}

// extract applies an id pattern to s: the first group's match, or the whole match when it has no group;
// "" when it does not match. An empty pattern keeps s.
func extract(pattern, s string) string {
	if pattern == "" || s == "" {
		return s
	}
	m := mustPattern(pattern).FindStringSubmatch(s)
	switch {
	case m == nil:
		return ""
	case len(m) > 1:
		return m[1]
	}
	return m[0]
}

// placeholder is ${name} in a template.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// vars answers a template's variables; ok is false for an unknown name.
type vars func(name string) (v any, ok bool)

// varMap is vars over a map.
func varMap(m map[string]any) vars {
	return func(name string) (any, bool) { v, ok := m[name]; return v, ok }
}

// render fills a template: a string that is exactly one placeholder becomes the variable's value as it is
// (a number, an array, null); placeholders inside a longer string are replaced by the value's text; objects
// and arrays are rendered member by member. Values are never expanded again, so a name that happens to
// contain "${X}" is sent as written and cannot pull in a secret.
func render(t any, vs vars) (any, error) {
	switch t := t.(type) {
	case string:
		if m := placeholder.FindStringSubmatch(t); m != nil && m[0] == t {
			v, ok := vs(m[1])
			if !ok {
				return nil, fmt.Errorf("unknown variable ${%s}", m[1])
			}
			return v, nil
		}
		return expand(t, vs)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			r, err := render(v, vs)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			r, err := render(v, vs)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return t, nil
}

// expand replaces every ${name} in s by its variable's text, in one pass.
func expand(s string, vs vars) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := vs(name)
		if !ok {
			err = fmt.Errorf("unknown variable ${%s}", name)
		}
		return text(v)
	})
	return out, err
}

// names lists the variables a template uses.
func names(t any) []string {
	var out []string
	switch t := t.(type) {
	case string:
		for _, m := range placeholder.FindAllStringSubmatch(t, -1) {
			out = append(out, m[1])
		}
	case map[string]any:
		for _, v := range t {
			out = append(out, names(v)...)
		}
	case []any:
		for _, v := range t {
			out = append(out, names(v)...)
		}
	}
	return out
}
