// Package deploy_test holds the deployment descriptions (../docker-compose.yml, kubernetes/) to the
// binary they run: no registry or cluster can be reached where the tests run, so they are decoded strictly
// into the types their tools read and checked against the configuration the code knows.
package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/internal/testenv"
)

// knownVariables are the variables of README.md's configuration table: the ones the api and worker read.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "\n## Configuration\n")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	table, _, _ = strings.Cut(table, "\n\n`signetassure dev`") // the api's and worker's table ends there
	name := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	known := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			known[m[1]] = true
		}
	}
	if !known["DATABASE_URL"] || !known["TEMPORAL_ADDRESS"] || known["SIGNETASSURE_DATA_DIR"] {
		t.Fatalf("README's configuration table not read as expected: %v", known)
	}
	return known
}

// pinned: an image with a version tag or a digest, never latest or none.
func pinned(image string) bool {
	if _, digest, ok := strings.Cut(image, "@sha256:"); ok {
		return digest != ""
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return false
	}
	tag := image[i+1:]
	return tag != "" && tag != "latest"
}

func TestPinned(t *testing.T) {
	for image, want := range map[string]bool{"postgres:16": true, "temporalio/server:1.29.1": true,
		"registry:5000/app": false, "app:latest": false, "app": false, "app@sha256:abc": true} {
		if pinned(image) != want {
			t.Errorf("pinned(%q) = %v", image, !want)
		}
	}
}
