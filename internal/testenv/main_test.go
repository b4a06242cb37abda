package testenv_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/internal/testenv"
)

// shared are the testenv functions that start a server shared by a test binary (a Temporal dev server,
// OpenLDAP, Chromium), which only testenv.Main stops.
var shared = map[string]bool{"Temporal": true, "TemporalAddress": true, "Slapd": true, "Browser": true}

// Every test package that starts a shared server runs its tests through testenv.Main, so the server is
// stopped when the tests and benchmarks end and none is left running (make bench once left a Temporal dev
// server behind after the activities benchmarks).
func TestEveryPackageStopsWhatItStarts(t *testing.T) {
	type pkg struct {
		starts string // a shared server's starter called, "" none
		main   bool   // TestMain calls testenv.Main
	}
	pkgs := map[string]*pkg{}
	root := testenv.RepoRoot()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join(root, "internal", "testenv") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		p := pkgs[filepath.Dir(path)]
		if p == nil {
			p = &pkg{}
			pkgs[filepath.Dir(path)] = p
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Name.Name == "TestMain" && n.Recv == nil && n.Body != nil {
					ast.Inspect(n.Body, func(m ast.Node) bool {
						if s, ok := m.(*ast.SelectorExpr); ok && isTestenv(s, "Main") {
							p.main = true
						}
						return true
					})
				}
			case *ast.SelectorExpr:
				if isTestenv(n, n.Sel.Name) && shared[n.Sel.Name] {
					p.starts = "testenv." + n.Sel.Name
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for dir, p := range pkgs {
		if p.starts == "" {
			continue
		}
		checked++
		if !p.main {
			rel, _ := filepath.Rel(root, dir)
			t.Errorf("%s calls %s but has no TestMain calling testenv.Main: the server outlives its tests", rel, p.starts)
		}
	}
	if checked < 3 {
		t.Fatalf("only %d packages start a shared server: the walk missed them", checked)
	}
}

// isTestenv: s is testenv.<name>.
func isTestenv(s *ast.SelectorExpr, name string) bool {
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == "testenv" && s.Sel.Name == name
}
