package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// A SIEM (SyslogSink, SplunkHECSink) keeps every checkpoint it is sent but cannot tell us which it holds:
// it is written to, never read. Such a sink keeps, in a small local state file, the newest checkpoint the
// SIEM acknowledged, and that is the newest checkpoint its Extend hands to next: Checkpoint checks it
// against the database as it checks a witness file's newest line, and sends only what comes after it.
//
// The state file is one line of a witness file (a SignedCheckpoint in JSON), so `audit verify --witness`
// reads it too. It is replaced (written aside, synced, renamed) only after the SIEM acknowledged the
// checkpoint it names, under an flock on a lock file beside it, so delivery is at least once, in order,
// and never skips a checkpoint: a send that fails leaves the state where it was, and the next Extend
// sends from there again; a crash between the SIEM's acknowledgment and the rename sends that checkpoint
// once more. A state file removed makes the next Extend send every checkpoint again (once).
type sentState struct {
	// Path is the state file; Path+".lock" serialises the processes that share it.
	Path string
}

// sendFunc delivers checkpoints, in order, and says how many of them the receiver acknowledged.
type sendFunc func(ctx context.Context, cps []SignedCheckpoint) (acknowledged int, err error)

// extend implements Sink.Extend for a write-only receiver that send delivers to.
func (s sentState) extend(ctx context.Context, next func(newest *SignedCheckpoint) ([]SignedCheckpoint, error), send sendFunc) error {
	lock, err := os.OpenFile(s.Path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("state file: lock: %w", err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	newest, err := s.read()
	if err != nil {
		return err
	}
	add, err := next(newest)
	if err != nil || len(add) == 0 {
		return err
	}
	n, sendErr := send(ctx, add)
	if n > len(add) {
		n = len(add)
	}
	if n > 0 {
		if err := s.write(add[n-1]); err != nil {
			return errors.Join(sendErr, err)
		}
	}
	return sendErr
}

// maxStateFile bounds the state file (one checkpoint line, about 500 bytes).
const maxStateFile = 64 << 10

// read is the newest checkpoint sent (nil: none, no state file).
func (s sentState) read() (*SignedCheckpoint, error) {
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("state file: %w", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var c SignedCheckpoint
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if len(data) > maxStateFile || dec.Decode(&c) != nil || dec.More() || c.Version < 1 || c.Version > TreeVersion || c.Seq < 1 {
		return nil, fmt.Errorf("state file %s is not one checkpoint (remove it to send every checkpoint again)", s.Path)
	}
	return &c, nil
}

// write makes c the newest checkpoint sent: written aside, synced, renamed over the state file.
func (s sentState) write(c SignedCheckpoint) error {
	line, err := json.Marshal(c)
	if err != nil {
		return err
	}
	tmp := s.Path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	_, err = f.Write(append(line, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.Path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(s.Path))
	}
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// siemCheckpoint is what a SIEM is sent of a checkpoint: the fields to search on, and the signed
// checkpoint itself, which anyone holding the public key opens.
type siemCheckpoint struct {
	// Kind is "tree" (a C2SP tlog-checkpoint of the Merkle tree) or "chain" (a checkpoint of the hash
	// chain the tree took over from).
	Kind string `json:"kind"`
	// Origin is the tree checkpoint's origin line (AUDIT_LOG_ORIGIN); empty for the chain.
	Origin string `json:"origin,omitempty"`
	// Size is the tree's size, or the chain checkpoint's seq.
	Size int64 `json:"size"`
	// RootHash is the tree's root, or the chain head's hash, in base64.
	RootHash string `json:"rootHash"`
	// KeyID names the signing key (the note's key name for the tree).
	KeyID string `json:"keyId"`
	// Checkpoint is the signed note (tree); WitnessLine the checkpoint as a witness file holds it (chain).
	Checkpoint  string          `json:"checkpoint,omitempty"`
	WitnessLine json.RawMessage `json:"witnessLine,omitempty"`
}

func newSIEMCheckpoint(c SignedCheckpoint) (siemCheckpoint, error) {
	e := siemCheckpoint{Kind: "chain", Size: c.Seq, RootHash: base64.StdEncoding.EncodeToString(c.Hash), KeyID: c.KeyID}
	if c.Version == TreeVersion {
		e.Kind, e.Checkpoint = "tree", c.Note
		origin, _, _ := bytes.Cut([]byte(c.Note), []byte("\n"))
		e.Origin = string(origin)
		return e, nil
	}
	line, err := json.Marshal(c)
	if err != nil {
		return e, err
	}
	e.WitnessLine = line
	return e, nil
}

// message is the signed checkpoint a SIEM keeps as the message: the note, or the chain checkpoint's
// witness line.
func (e siemCheckpoint) message() string {
	if e.Kind == "tree" {
		return e.Checkpoint
	}
	return string(e.WitnessLine)
}
