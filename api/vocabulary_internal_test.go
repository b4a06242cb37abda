package api

import (
	"encoding/json"
	"testing"
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
