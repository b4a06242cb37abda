package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/workflows"
)

// Every activity's HeartbeatTimeout is LongestHeartbeat, or bounded by it, or a literal duration no
// longer than it: deployments give a stopping worker longer than LongestHeartbeat (deploy/kubernetes), so a
// longer heartbeat written here would go unnoticed there.
func TestNoHeartbeatLongerThanLongestHeartbeat(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			kv, ok := n.(*ast.KeyValueExpr)
			if !ok {
				return true
			}
			if key, ok := kv.Key.(*ast.Ident); !ok || key.Name != "HeartbeatTimeout" {
				return true
			}
			seen++
			if mentions(kv.Value, "LongestHeartbeat") {
				return true
			}
			d, ok := literalDuration(kv.Value)
			if !ok || d > workflows.LongestHeartbeat {
				t.Errorf("%s: HeartbeatTimeout is neither LongestHeartbeat nor a literal duration within it", fset.Position(kv.Pos()))
			}
			return true
		})
	}
	if seen == 0 {
		t.Fatal("no HeartbeatTimeout found: the test reads the wrong files")
	}
}

func mentions(e ast.Expr, name string) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == name {
			found = true
		}
		return !found
	})
	return found
}

// literalDuration evaluates time.Second, time.Minute and N * either.
func literalDuration(e ast.Expr) (time.Duration, bool) {
	switch e := e.(type) {
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok && x.Name == "time" {
			switch e.Sel.Name {
			case "Second":
				return time.Second, true
			case "Minute":
				return time.Minute, true
			}
		}
	case *ast.BinaryExpr:
		lit, ok := e.X.(*ast.BasicLit)
		unit, unitOK := literalDuration(e.Y)
		if e.Op == token.MUL && ok && lit.Kind == token.INT && unitOK {
			n, err := strconv.Atoi(lit.Value)
			return time.Duration(n) * unit, err == nil
		}
	}
	return 0, false
}
