package access

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/domain"
)

// Security controllers are told of every kind of finding in words: each FindingKind has a notification
// title of its own (domain's vocabulary), not its code words.
func TestEveryFindingKindIsNotifiedInWords(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "plan.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	ast.Inspect(f, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok && len(v.Values) == 1 {
			if id, ok := v.Type.(*ast.Ident); ok && id.Name == "FindingKind" {
				kinds = append(kinds, strings.Trim(v.Values[0].(*ast.BasicLit).Value, `"`))
			}
		}
		return true
	})
	if len(kinds) < 7 {
		t.Fatalf("found %d finding kinds in plan.go: %v", len(kinds), kinds)
	}
	for _, k := range kinds {
		if n := domain.AccessFindingNotification(k); !n.HasTitle() {
			t.Errorf("finding %s is notified as %q", k, n.Title())
		}
	}
}
