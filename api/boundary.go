package api

import (
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/swaggest/jsonschema-go"

	"github.com/signetassure/signetassure/domain"
)

// The request boundary: every string a request body carries passes domain.CleanText, in place, before a
// handler sees it; every date lies from domain.MinDate to domain.MaxDate. A struct field says what it
// holds with two tags:
//
//	text:"free"       free text (newlines and tabs kept; at most domain.MaxFree characters unless
//	                  maxLength says otherwise); one-line text when absent or text:"line"
//	maxLength:"200"   the most characters it takes (also in the OpenAPI document); default
//	                  domain.MaxLine, or domain.MaxFree for free text. On a list or a map it bounds
//	                  each element.

var (
	dateType = reflect.TypeFor[domain.Date]()
	timeType = reflect.TypeFor[time.Time]()
)

// textRule is how one string is checked.
type textRule struct {
	kind domain.TextKind
	max  int
}

// ruleOf reads a struct field's text rule from its tags.
func ruleOf(f reflect.StructField) textRule {
	r := textRule{kind: domain.TextLine}
	if strings.TrimSpace(f.Tag.Get("text")) == "free" {
		r.kind = domain.TextFree
	}
	if n, err := strconv.Atoi(f.Tag.Get("maxLength")); err == nil && n > 0 {
		r.max = n
	}
	return r
}

// cleanRequest walks a decoded request value (a pointer to it) and replaces each string by its
// domain.CleanText form, collecting every field at fault by its JSON path (e.g. "vars.FirstName",
// "companies[2].acsCompanyId").
func cleanRequest(dst any) fields {
	var errs fields
	v := reflect.ValueOf(dst)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return nil
	}
	cleanValue(v.Elem(), "", textRule{kind: domain.TextLine}, &errs)
	return errs
}

func cleanValue(v reflect.Value, path string, rule textRule, errs *fields) {
	switch v.Kind() {
	case reflect.String:
		clean, err := domain.CleanText(v.String(), rule.kind, rule.max)
		if err != nil {
			errs.add(fieldName(path), "%s", err.Error())
			return
		}
		if clean != v.String() && v.CanSet() {
			v.SetString(clean)
		}
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if t := v.Elem().Type(); t == dateType || t == timeType {
			// Present: even the zero value (0001-01-01) was written by the caller.
			checkDate(v.Elem(), path, true, errs)
			return
		}
		cleanValue(v.Elem(), path, rule, errs)
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		cp := reflect.New(v.Elem().Type()).Elem()
		cp.Set(v.Elem())
		cleanValue(cp, path, rule, errs)
		if v.CanSet() {
			v.Set(cp)
		}
	case reflect.Struct:
		if v.Type() == dateType || v.Type() == timeType {
			checkDate(v, path, false, errs)
			return
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
				cleanValue(v.Field(i), path, rule, errs) // embedded: its fields are the parent's
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			cleanValue(v.Field(i), joinPath(path, name), ruleOf(f), errs)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return // bytes (an id, raw JSON): not text
		}
		for i := range v.Len() {
			cleanValue(v.Index(i), path+"["+strconv.Itoa(i)+"]", rule, errs)
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		keyed := v.Type().Key().Kind() == reflect.String
		for _, k := range v.MapKeys() {
			key := k
			if keyed {
				clean, err := domain.CleanText(k.String(), domain.TextLine, domain.MaxLine)
				if err != nil {
					// The key itself is at fault: name the map, never echo the key.
					errs.add(fieldName(path), "a key %s", err.Error())
					continue
				}
				key = reflect.New(k.Type()).Elem()
				key.SetString(clean)
			}
			val := reflect.New(v.Type().Elem()).Elem()
			val.Set(v.MapIndex(k))
			elemPath := path
			if keyed {
				elemPath = joinPath(path, key.String())
			}
			cleanValue(val, elemPath, rule, errs)
			if key.Interface() != k.Interface() {
				v.SetMapIndex(k, reflect.Value{})
			}
			v.SetMapIndex(key, val)
		}
	}
}

// checkDate refuses a date outside domain.MinDate..MaxDate; an absent (zero) value date is left to the
// handler's required check, a present one is checked even when zero.
func checkDate(v reflect.Value, path string, present bool, errs *fields) {
	var d domain.Date
	switch t := v.Interface().(type) {
	case domain.Date:
		if t.IsZero() && !present {
			return
		}
		d = t
	case time.Time:
		if t.IsZero() && !present {
			return
		}
		d = domain.DateOf(t.UTC())
	}
	if !d.InRange() {
		errs.add(fieldName(path), "must be a date from %s to %s", domain.MinDate, domain.MaxDate)
	}
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func fieldName(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// cleanParams reports whether every path parameter is clean one-line text (a reference, an id, a code),
// which a path that names something always is; the others name nothing, and never reach the store.
func cleanParams(c *gin.Context) bool {
	for _, p := range c.Params {
		if clean, err := domain.CleanText(p.Value, domain.TextLine, domain.MaxLine); err != nil || clean != p.Value {
			return false
		}
	}
	return true
}

// textQuery reads a free-string query parameter through the same boundary as a body's strings.
func (q *query) text(name string) string {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return ""
	}
	clean, err := domain.CleanText(v, domain.TextLine, domain.MaxLine)
	if err != nil {
		q.errs.add(name, "%s", err.Error())
		return ""
	}
	return clean
}

// documentTextLimits shows the boundary's rule for each request field in the OpenAPI document: a
// text:"free" string gets "x-text": "free" (newlines allowed) and the domain.MaxFree limit unless its
// maxLength says otherwise; a maxLength on a map or a list is moved onto its values, which it bounds.
func documentTextLimits(p jsonschema.InterceptPropParams) error {
	ps := p.PropertySchema
	if !p.Processed || ps == nil {
		return nil
	}
	if ps.MaxLength != nil && !ps.HasType(jsonschema.String) {
		var elem *jsonschema.Schema
		switch {
		case ps.AdditionalProperties != nil && ps.AdditionalProperties.TypeObject != nil:
			elem = ps.AdditionalProperties.TypeObject
		case ps.Items != nil && ps.Items.SchemaOrBool != nil && ps.Items.SchemaOrBool.TypeObject != nil:
			elem = ps.Items.SchemaOrBool.TypeObject
		}
		if elem != nil && elem.HasType(jsonschema.String) {
			elem.MaxLength, ps.MaxLength = ps.MaxLength, nil
		}
	}
	if ruleOf(p.Field).kind != domain.TextFree {
		return nil
	}
	if ps.ExtraProperties == nil {
		ps.ExtraProperties = map[string]any{}
	}
	ps.ExtraProperties["x-text"] = "free"
	if ps.MaxLength == nil && ps.HasType(jsonschema.String) {
		ps.WithMaxLength(domain.MaxFree)
	}
	return nil
}
