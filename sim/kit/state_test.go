package kit

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestResumeLoadsWhatTheKeeperWrote(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "x.json")
	type state struct{ Next int }
	var mu sync.Mutex
	live := state{}
	snapshot := func() ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return json.Marshal(live)
	}
	restored := false
	k, err := Resume(path, func(*state) { restored = true }, snapshot, func(err error) { t.Error(err) })
	if err != nil || restored {
		t.Fatalf("first start: restored %v, err %v", restored, err)
	}
	mu.Lock()
	live.Next = 42
	mu.Unlock()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}

	var got state
	k, err = Resume(path, func(st *state) { got = *st }, snapshot, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if got.Next != 42 {
		t.Fatalf("restored %+v, want Next 42", got)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".x.json.*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
}

func TestResumeRefusesABrokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Resume(path, func(*struct{}) {}, func() ([]byte, error) { return []byte("{}"), nil }, nil)
	if err == nil {
		t.Fatal("a broken state file was taken as empty")
	}
}

func TestNilKeeperCloses(t *testing.T) {
	var k *Keeper
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
}
