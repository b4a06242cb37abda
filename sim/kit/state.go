package kit

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// A simulator that runs for a person (`signetassure dev`) keeps its state in a file, so that what
// SignetAssure stored about the simulated vendor (capture links, user ids, message ids) still points at
// something after both restart. Tests leave the file out and get a simulator that starts empty.

// LoadState reads the state file at path into v. It reports false, with no error, when there is no file
// yet (a first start).
func LoadState(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, errors.New(path + ": " + err.Error())
	}
	return true, nil
}

// writeFile writes b to path atomically: a reader (or a crash) sees the old file or the new, never half
// of one.
func writeFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Keeper writes a simulator's state to its file whenever it has changed, looking every SaveInterval, and
// a last time at Close.
type Keeper struct {
	path     string
	snapshot func() ([]byte, error)
	onError  func(error)
	done     chan struct{}
	once     sync.Once
	wg       sync.WaitGroup

	mu   sync.Mutex // serialises writes; guards last
	last []byte
}

// SaveInterval is how often a Keeper looks for a change: at most this much is lost if the process dies
// without closing the simulator.
const SaveInterval = time.Second

// Keep starts a Keeper for path. snapshot returns the state to write as JSON (marshalled under the
// simulator's lock, so it is one moment's state). onError (nil: ignore) hears of failed writes.
func Keep(path string, snapshot func() ([]byte, error), onError func(error)) *Keeper {
	k := &Keeper{path: path, snapshot: snapshot, onError: onError, done: make(chan struct{})}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		t := time.NewTicker(SaveInterval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				k.report(k.Save())
			case <-k.done:
				return
			}
		}
	}()
	return k
}

// Save writes the state now if it changed since the last write.
func (k *Keeper) Save() error {
	b, err := k.snapshot()
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if bytes.Equal(b, k.last) {
		return nil
	}
	if err := writeFile(k.path, b); err != nil {
		return err
	}
	k.last = b
	return nil
}

// Close stops the Keeper after a last write. A nil Keeper (no state file) does nothing.
func (k *Keeper) Close() error {
	if k == nil {
		return nil
	}
	k.once.Do(func() { close(k.done) })
	k.wg.Wait()
	err := k.Save()
	k.report(err)
	return err
}

func (k *Keeper) report(err error) {
	if err != nil && k.onError != nil {
		k.onError(err)
	}
}

// Resume is how a simulator keeps its state in the file at path: the state there, if any (a first start
// has none), is decoded into a T and handed to restore; from then on a Keeper writes snapshot there.
func Resume[T any](path string, restore func(*T), snapshot func() ([]byte, error), onError func(error)) (*Keeper, error) {
	var st T
	found, err := LoadState(path, &st)
	if err != nil {
		return nil, err
	}
	if found {
		restore(&st)
	}
	return Keep(path, snapshot, onError), nil
}
