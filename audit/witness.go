package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// A Sink keeps a copy of every signed checkpoint outside the database (a witness), so that deleting or
// rewriting checkpoints in the database shows: `audit verify --witness` compares, and Checkpoint refuses to
// sign a head that does not extend the sink's newest checkpoint. FileSink is an append-only file;
// SyslogSink and SplunkHECSink send to a SIEM, which cannot be read back, and keep the newest checkpoint
// it took in a local state file instead.
type Sink interface {
	// Extend calls next with the newest checkpoint the sink holds (nil: none) and appends, in order, the
	// checkpoints next returns, durably; nothing when next fails. Concurrent Extends of one sink are
	// serialised, so a checkpoint is never appended twice.
	Extend(ctx context.Context, next func(newest *SignedCheckpoint) ([]SignedCheckpoint, error)) error
}

// FileSink appends each checkpoint as one JSON line (SignedCheckpoint) to the file at Path, opened with
// O_APPEND and synced before Extend returns; an flock serialises the processes that share the file. A
// last line without its newline (a write cut short) is not a checkpoint: readers skip it and the next
// append replaces it.
type FileSink struct{ Path string }

// Create makes the witness file, empty, unless it exists: the worker does so at start, so that from then
// on a missing file is a witness removed (WitnessMissing), not one not yet written.
func (s FileSink) Create() error {
	_, statErr := os.Stat(s.Path)
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit witness file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("audit witness file: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(filepath.Dir(s.Path)); err != nil {
			return fmt.Errorf("audit witness file: %w", err)
		}
	}
	return nil
}

// maxWitnessLine bounds a witness file's line (a checkpoint line is about 400 bytes).
const maxWitnessLine = 64 << 10

// Extend implements Sink.
func (s FileSink) Extend(ctx context.Context, next func(newest *SignedCheckpoint) ([]SignedCheckpoint, error)) error {
	_, statErr := os.Stat(s.Path)
	f, err := os.OpenFile(s.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit witness file: %w", err)
	}
	defer f.Close()
	if errors.Is(statErr, os.ErrNotExist) {
		if err := syncDir(filepath.Dir(s.Path)); err != nil {
			return fmt.Errorf("audit witness file: %w", err)
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("audit witness file: lock: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	newest, complete, err := lastWitnessLine(f)
	if err != nil {
		return fmt.Errorf("audit witness file %s: %w", s.Path, err)
	}
	add, err := next(newest)
	if err != nil || len(add) == 0 {
		return err
	}
	var buf bytes.Buffer
	for _, c := range add {
		line, err := json.Marshal(c)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if err := f.Truncate(complete); err != nil {
		return fmt.Errorf("audit witness file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("audit witness file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("audit witness file: %w", err)
	}
	return nil
}

// lastWitnessLine reads the newest checkpoint of a witness file (nil: none) and where its complete lines
// end.
func lastWitnessLine(f *os.File) (*SignedCheckpoint, int64, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	size := st.Size()
	from := max(0, size-2*maxWitnessLine)
	tail := make([]byte, size-from)
	if _, err := f.ReadAt(tail, from); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	end := bytes.LastIndexByte(tail, '\n') + 1 // complete lines end here
	complete := from + int64(end)
	if end == 0 {
		if from > 0 {
			return nil, 0, errors.New("the last line is too long")
		}
		return nil, 0, nil
	}
	lines := tail[:end-1]
	start := bytes.LastIndexByte(lines, '\n') + 1
	if start == 0 && from > 0 {
		return nil, 0, errors.New("the last line is too long")
	}
	var c SignedCheckpoint
	if err := json.Unmarshal(lines[start:], &c); err != nil {
		return nil, 0, fmt.Errorf("the last line is not a checkpoint: %w", err)
	}
	return &c, complete, nil
}

// ReadWitnessFile reads every checkpoint of a witness file, chain checkpoints in seq order and tree
// checkpoints (TreeVersion) in size order. The file is a FileSink's JSON lines, or one signed tree
// checkpoint as the audit API serves it (a C2SP tlog-checkpoint note, saved by a partner or an auditor).
// A line that is not a checkpoint, or out of order, is a WitnessMalformed problem, and a file that is not
// there a WitnessMissing one; the error is only for failing to read.
func ReadWitnessFile(path string) ([]SignedCheckpoint, *Problem, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &Problem{Kind: WitnessMissing, Message: fmt.Sprintf("the witness file %s is not there: it was removed, "+
			"or is not the one the worker writes (the worker makes it when it starts)", path)}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("audit witness file: %w", err)
	}
	if len(data) > 0 && data[0] != '{' {
		return []SignedCheckpoint{{Version: TreeVersion, Note: string(data)}}, nil, nil // opened and checked by Verify
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		data = data[:i+1] // a last line cut short is not a checkpoint yet
	}
	var cps []SignedCheckpoint
	last := map[bool]int64{} // the last seq of chain (false) and tree (true) lines
	for n, line := range bytes.Split(bytes.TrimSuffix(data, []byte{'\n'}), []byte{'\n'}) {
		if len(data) == 0 {
			break
		}
		var c SignedCheckpoint
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil || c.Version < 1 || c.Version > TreeVersion || c.Seq < 1 ||
			(c.Version == TreeVersion) != (c.Note != "") {
			return nil, &Problem{Kind: WitnessMalformed, Message: fmt.Sprintf("witness file %s line %d is not a checkpoint", path, n+1)}, nil
		}
		tree := c.Version == TreeVersion
		if prev, ok := last[tree]; ok && c.Seq <= prev {
			return nil, &Problem{Kind: WitnessMalformed, Seq: c.Seq, Message: fmt.Sprintf("witness file %s line %d: "+
				"%s does not come after the one before it (%d)", path, n+1, c.describe(), prev)}, nil
		}
		last[tree] = c.Seq
		cps = append(cps, c)
	}
	return cps, nil, nil
}

// syncDir makes a new file's directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
