package audit_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/signetassure/signetassure/audit"
)

// The worker makes its witness file when it starts: absent, it is made empty; present, it is kept as it
// is. Read back, an empty file holds no checkpoint, and a file not there is a WitnessMissing problem.
func TestWitnessFileCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "witness.jsonl")
	if _, problem, err := audit.ReadWitnessFile(path); err != nil || problem == nil || problem.Kind != audit.WitnessMissing {
		t.Fatalf("a witness file not there: %v %v", problem, err)
	}
	if err := (audit.FileSink{Path: path}).Create(); err != nil {
		t.Fatal(err)
	}
	if cps, problem, err := audit.ReadWitnessFile(path); err != nil || problem != nil || len(cps) != 0 {
		t.Fatalf("an empty witness file: %v %v %v", cps, problem, err)
	}
	line := []byte(`{"v":3}` + "\n")
	if err := os.WriteFile(path, line, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := (audit.FileSink{Path: path}).Create(); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != string(line) {
		t.Fatalf("a witness file made again: %q %v", got, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the witness file's mode: %v %v", fi.Mode(), err)
	}
}
