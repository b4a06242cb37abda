package audit_test

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/audit"
)

// Checkpoint extends every sink: a SIEM that is down fails it, retryably (not a ChainError), after the
// witness file after it took its checkpoint; the next run gives the SIEM what it missed, once.
func TestCheckpointSIEMDownDoesNotHoldBackTheWitnessFile(t *testing.T) {
	e := setup(t)
	e.write(t, 4)
	if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	file := audit.FileSink{Path: filepath.Join(dir, "witness.jsonl")}
	r := newHECReceiver(t, "tok")
	splunk, err := audit.NewSplunkHECSink(r.URL, "tok", filepath.Join(dir, "splunk-state.json"))
	if err != nil {
		t.Fatal(err)
	}
	splunk.Host = "worker-1"
	witnessed := func() []int64 {
		t.Helper()
		cps, problem, err := audit.ReadWitnessFile(file.Path)
		if err != nil || problem != nil {
			t.Fatal(problem, err)
		}
		return seqs(cps)
	}

	r.answer("busy")
	res, err := audit.Checkpoint(e.ctx, e.db, e.keys, splunk, file)
	var broken *audit.ChainError
	if err == nil || errors.As(err, &broken) || !strings.Contains(err.Error(), "503") || res.TreeSize == 0 || res.Witnessed != 1 {
		t.Fatalf("Splunk busy: %+v, %v", res, err)
	}
	size := int64(res.TreeSize)
	if got := witnessed(); !slices.Equal(got, []int64{size}) {
		t.Fatalf("the witness file behind a SIEM that is down: %v", got)
	}
	if res, err = audit.Checkpoint(e.ctx, e.db, e.keys, splunk, file); err != nil || res.Witnessed != 1 {
		t.Fatalf("Splunk back: %+v, %v", res, err)
	}
	if res, err = audit.Checkpoint(e.ctx, e.db, e.keys, splunk, file); err != nil || res.Witnessed != 0 {
		t.Fatalf("nothing new: %+v, %v", res, err)
	}
	e.write(t, 2)
	if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
		t.Fatal(err)
	}
	if res, err = audit.Checkpoint(e.ctx, e.db, e.keys, splunk, file); err != nil || res.Witnessed != 2 || int64(res.TreeSize) <= size {
		t.Fatalf("a new checkpoint: %+v, %v", res, err)
	}
	newer := int64(res.TreeSize)
	attempts, taken := r.state()
	if !slices.Equal(attempts, []int64{size, size, newer}) || len(taken) != 2 ||
		!slices.Equal(witnessed(), []int64{size, newer}) {
		t.Fatalf("Splunk: posted %v, took %d; the file: %v", attempts, len(taken), witnessed())
	}
}
