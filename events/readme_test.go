package events

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// README's "Lifecycle events" section lists exactly the catalogue's types, with their versions.
func TestReadmeListsTheCatalogue(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Lifecycle events\n")
	if !ok {
		t.Fatal("README.md has no Lifecycle events section")
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z._]+)` \\| (\\d+) \\|").FindAllStringSubmatch(section, -1) {
		listed[m[1]+" v"+m[2]] = true
	}
	want := map[string]bool{}
	for _, s := range Catalogue() {
		key := fmt.Sprintf("%s v%d", s.Type, s.Version)
		want[key] = true
		if !listed[key] {
			t.Errorf("README does not list %s v%d", s.Type, s.Version)
		}
	}
	for l := range listed {
		if !want[l] {
			t.Errorf("README lists %s, which is not in the catalogue", l)
		}
	}
}
