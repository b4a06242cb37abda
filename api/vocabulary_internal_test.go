package api

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// openAPIDoc builds the server's OpenAPI document (no database needed) and decodes it into v.
func openAPIDoc(t *testing.T, v any) {
	t.Helper()
	s, err := New(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(s.OpenAPI(), v); err != nil {
		t.Fatal(err)
	}
}

type specSchema struct {
	Ref        string                `json:"$ref"`
	Enum       []any                 `json:"enum"`
	Pattern    string                `json:"pattern"`
	MaxLength  *int                  `json:"maxLength"`
	Properties map[string]specSchema `json:"properties"`
	Items      *specSchema           `json:"items"`
}

type specDoc struct {
	Paths map[string]map[string]struct {
		Parameters []struct {
			Name   string     `json:"name"`
			In     string     `json:"in"`
			Schema specSchema `json:"schema"`
		} `json:"parameters"`
		RequestBody struct {
			Content map[string]struct {
				Schema specSchema `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]struct {
			Content map[string]struct {
				Schema specSchema `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]specSchema `json:"schemas"`
	} `json:"components"`
}

// A request accepted but not yet taken up by a worker (a case, a grant, a message) is answered with one
// "pending" answer, documented once.
func TestPendingIsOneAnswer(t *testing.T) {
	var doc specDoc
	openAPIDoc(t, &doc)
	refs := map[string]bool{}
	for _, p := range []string{"/api/v1/cases", "/api/v1/persons/{id}/access/grants", "/api/v1/messages"} {
		ref := doc.Paths[p]["post"].Responses["202"].Content["application/json"].Schema.Ref
		if ref == "" {
			t.Fatalf("POST %s documents no 202 answer", p)
		}
		refs[ref] = true
		status := doc.Components.Schemas[ref[len("#/components/schemas/"):]].Properties["status"]
		if len(status.Enum) != 1 || status.Enum[0] != "pending" {
			t.Errorf("POST %s: 202 %s status enum %v, want [pending]", p, ref, status.Enum)
		}
	}
	if len(refs) != 1 {
		t.Errorf("the 202 answers are %d types, want one: %v", len(refs), refs)
	}
}

// domainEnums are the domain's lists of allowed values, by the request fields that take one.
func domainEnums() map[string][]string {
	list := func(vs []any) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.(string)
		}
		return out
	}
	levels := list(domain.Level("").Enum())
	return map[string][]string{"level": levels, "clearanceLevel": levels, "requiredLevel": levels,
		"type": list(domain.CaseType("").Enum()), "outcome": list(domain.Outcome("").Enum()),
		"channel": list(domain.Channel("").Enum()), "preferredChannel": list(domain.Channel("").Enum()),
		"role": list(domain.Role("").Enum())}
}

// The OpenAPI document's enums of levels, case types, outcomes, channels and roles are the domain's lists,
// read from the domain's types; no request type in the API spells a list out again in a tag.
func TestEnumsComeFromTheDomain(t *testing.T) {
	enums := domainEnums()
	var doc specDoc
	openAPIDoc(t, &doc)
	checked := 0
	check := func(where, name string, s specSchema) {
		want, ok := enums[name]
		if !ok || !strings.HasPrefix(s.Ref, "#/components/schemas/Domain") {
			return // a list of the API's own (the inbox's two channels), or no list
		}
		s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		checked++
		var got []string
		for _, v := range s.Enum {
			got = append(got, fmt.Sprint(v))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s %s: enum %v, want the domain's %v", where, name, got, want)
		}
	}
	for name, s := range doc.Components.Schemas {
		for prop, ps := range s.Properties {
			check(name, prop, ps)
		}
	}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for _, p := range op.Parameters {
				check(method+" "+path, p.Name, p.Schema)
			}
		}
	}
	if checked < 10 {
		t.Errorf("only %d fields checked", checked)
	}
	lists := map[string]string{}
	for _, vs := range enums {
		lists[strings.Join(vs, ",")] = strings.Join(vs, ",")
	}
	fset := token.NewFileSet()
	pkgs, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range pkgs {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			field, ok := n.(*ast.Field)
			if !ok || field.Tag == nil {
				return true
			}
			tag, _ := strconv.Unquote(field.Tag.Value)
			if enum := reflect.StructTag(tag).Get("enum"); lists[enum] != "" {
				t.Errorf("%s: a tag spells out the domain's list %q", fset.Position(field.Pos()), enum)
			}
			return true
		})
	}
}

// The case reference a path takes is documented with the shape domain.IsCaseRef accepts: every reference
// one accepts the other does, and every one it refuses the other refuses.
func TestCaseRefPathPatternIsIsCaseRef(t *testing.T) {
	var doc specDoc
	openAPIDoc(t, &doc)
	refs := []string{domain.NewCaseRef(), "v_" + strings.Repeat("a", 20), "v_" + strings.Repeat("9", 62),
		"v_abc", "v_" + strings.Repeat("a", 19), "v_" + strings.Repeat("a", 63), "V_ABCDEFGHIJKLMNOPQRSTUVWXYZ",
		"v_ABCDEFGHIJKLMNOPQRSTUVWXYZ", "g_abcdefghijklmnopqrstuvwxyz", "v_abcdefghijklm-nopqrstuvwxyz", ""}
	documented := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			for _, p := range op.Parameters {
				if p.Name != "caseRef" || p.In != "path" {
					continue
				}
				s := p.Schema
				if s.Ref != "" {
					s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
				}
				documented++
				re, err := regexp.Compile(s.Pattern)
				if s.Pattern == "" || err != nil {
					t.Errorf("%s %s: caseRef pattern %q (%v)", method, path, s.Pattern, err)
					continue
				}
				for _, ref := range refs {
					if re.MatchString(ref) != domain.IsCaseRef(ref) {
						t.Errorf("%s %s: pattern %s says %v to %q, IsCaseRef %v", method, path, s.Pattern,
							re.MatchString(ref), ref, domain.IsCaseRef(ref))
					}
				}
			}
		}
	}
	if documented < 5 {
		t.Errorf("only %d caseRef path parameters documented", documented)
	}
}

// A case opened under an idempotency key keeps the reference it always got, so a retry across an upgrade
// finds its case.
func TestKeyedCaseRefUnchanged(t *testing.T) {
	if got := keyedCaseRef(uuid.MustParse("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b"), "open-1"); got != "v_zzkkkqaiw277jrwm4kctlabv2q" {
		t.Errorf("keyedCaseRef = %q", got)
	}
}

// The scopes a partner key may be issued are documented from the domain's one list.
func TestKeyScopesComeFromTheDomain(t *testing.T) {
	var doc specDoc
	openAPIDoc(t, &doc)
	items := doc.Components.Schemas["ApiKeyInput"].Properties["scopes"].Items
	if items == nil {
		t.Fatal("ApiKeyInput.scopes has no items")
	}
	s := *items
	if s.Ref != "" {
		s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	var got []string
	for _, v := range s.Enum {
		got = append(got, fmt.Sprint(v))
	}
	if want := []string{"vetting:read", "vetting:return", "audit:witness"}; !slices.Equal(got, want) {
		t.Errorf("scopes enum %v, want %v", got, want)
	}
}

// The webhook formats the OpenAPI document lists (the subscription's and the input's) are the store's.
func TestWebhookFormatsAreTheStores(t *testing.T) {
	var doc specDoc
	openAPIDoc(t, &doc)
	found := 0
	for name, s := range doc.Components.Schemas {
		if !strings.Contains(name, "Webhook") {
			continue
		}
		if f, ok := s.Properties["format"]; ok {
			found++
			var got []string
			for _, v := range f.Enum {
				got = append(got, fmt.Sprint(v))
			}
			if !slices.Equal(got, store.WebhookFormats) {
				t.Errorf("%s.format: enum %v, want %v", name, got, store.WebhookFormats)
			}
		}
	}
	if found < 2 {
		t.Errorf("format documented on %d webhook schemas, want the input and the subscription", found)
	}
}
