package api_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// maxConsoleScript is the most script the console's page may load (the limit: no page over
// 200 KB of script). The console has no build step: what is in api/ui is what is served.
const maxConsoleScript = 200 << 10

// The console's page loads every script in api/ui, each once, and no more than maxConsoleScript of them.
func TestConsoleScriptsWithinBudget(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(), "api", "ui")
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, m := range regexp.MustCompile(`<script src="/ui/([^"]+)"`).FindAllSubmatch(page, -1) {
		loaded = append(loaded, string(m[1]))
	}
	onDisk, err := filepath.Glob(filepath.Join(dir, "*.js"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, path := range onDisk {
		name := filepath.Base(path)
		if n := len(slices.DeleteFunc(slices.Clone(loaded), func(s string) bool { return s != name })); n != 1 {
			t.Errorf("index.html loads %s %d times", name, n)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		total += int(fi.Size())
	}
	if len(loaded) != len(onDisk) {
		t.Errorf("index.html loads %v; api/ui holds %d scripts", loaded, len(onDisk))
	}
	if total > maxConsoleScript {
		t.Errorf("the console loads %d KB of script, more than %d KB", total>>10, maxConsoleScript>>10)
	}
	t.Logf("the console loads %d scripts, %.1f KB", len(onDisk), float64(total)/1024)
}

// The console's one list of clearance levels is the domain's, in its order.
func TestConsoleLevelsAreTheDomains(t *testing.T) {
	app, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "api", "ui", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^const clearanceLevels = (\[[^\]]*\]);`).FindSubmatch(app)
	if m == nil {
		t.Fatal("app.js declares no clearanceLevels")
	}
	var got []domain.Level
	if err := json.Unmarshal(m[1], &got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, domain.Levels) {
		t.Fatalf("the console's levels %v, the domain's %v", got, domain.Levels)
	}
}
