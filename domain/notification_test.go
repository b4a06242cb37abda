package domain

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// Every kind of notification the code declares has a title of its own: a kind added without one would
// reach users as its own code words.
func TestEveryNotificationKindHasATitle(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "notification.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []NotificationKind
	ast.Inspect(f, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok && len(v.Values) == 1 {
			if lit, ok := v.Values[0].(*ast.BasicLit); ok && strings.HasPrefix(v.Names[0].Name, "Notify") {
				kinds = append(kinds, NotificationKind(strings.Trim(lit.Value, `"`)))
			}
		}
		return true
	})
	if len(kinds) < 14 {
		t.Fatalf("found %d kinds in notification.go: %v", len(kinds), kinds)
	}
	for _, k := range kinds {
		if !k.HasTitle() || strings.Contains(k.Title(), "_") {
			t.Errorf("%s has no title of its own (%q)", k, k.Title())
		}
	}
	if got := NotifyPartnerAuditInvalid.Title(); got != "Partner's audit checkpoint refused" {
		t.Errorf("partner_audit_invalid is titled %q", got)
	}
	if got := NotificationKind("some_new_kind").Title(); got != "Some new kind" {
		t.Errorf("a kind without a title reads %q", got)
	}
}
