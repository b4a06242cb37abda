package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// What callers use of a workflow (its ids, inputs, states, update, signal and query names and their
// arguments, and the functions that start or drive it) lives in its <workflow>_api.go; the other files
// of a workflow export only the workflow functions themselves. A few files serve every workflow alike.
func TestWorkflowContractsLiveInTheirAPIFiles(t *testing.T) {
	shared := map[string]bool{"client.go": true, "doc.go": true, "registry.go": true, "rejection.go": true,
		"search_attributes.go": true, "heartbeat.go": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || strings.HasSuffix(f, "_api.go") || shared[f] {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		workflowsHere := 0
		for _, d := range file.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || d.Recv != nil {
					continue
				}
				if isWorkflowFunc(d) {
					workflowsHere++
					continue
				}
				t.Errorf("%s: %s is exported but not a workflow: it belongs in an _api.go file", fset.Position(d.Pos()), d.Name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					for _, name := range specNames(s) {
						if name.IsExported() {
							t.Errorf("%s: %s is exported: it belongs in an _api.go file", fset.Position(name.Pos()), name)
						}
					}
				}
			}
		}
		if workflowsHere > 0 {
			api := strings.TrimSuffix(f, ".go") + "_api.go"
			if _, err := parser.ParseFile(token.NewFileSet(), api, nil, parser.PackageClauseOnly); err != nil {
				t.Errorf("%s holds workflows but there is no %s for their contract", f, api)
			}
		}
	}
}

func isWorkflowFunc(d *ast.FuncDecl) bool {
	params := d.Type.Params.List
	if len(params) == 0 {
		return false
	}
	sel, ok := params[0].Type.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Context" && sel.X.(*ast.Ident).Name == "workflow"
}

func specNames(s ast.Spec) []*ast.Ident {
	switch s := s.(type) {
	case *ast.TypeSpec:
		return []*ast.Ident{s.Name}
	case *ast.ValueSpec:
		return s.Names
	}
	return nil
}
