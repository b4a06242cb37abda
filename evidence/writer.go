package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
)

// Options describe the pack a [Writer] writes.
type Options struct {
	// PackID names the pack (one line, no spaces); it is in the manifest and its signature.
	PackID  string
	Subject Subject
	// Origin is the audit log's origin; the checkpoint given to Finish must be for it.
	Origin string
	// GeneratedAt is when the pack was made (default: now); it also dates every file in the zip.
	GeneratedAt time.Time
	// TempDir holds the spool of audit entries until Finish (default: os.TempDir()).
	TempDir string
}

// Writer writes an evidence pack to an io.Writer as a zip, one file at a time. Records go into the zip
// as they are added; audit entries are spooled to a temporary file (one JSON line each) and written at
// Finish, so neither is held in memory. Every file is hashed as it is written. A Writer is not safe for
// concurrent use; call Close if Finish is not reached.
type Writer struct {
	zw       *zip.Writer
	opts     Options
	names    map[string]bool
	files    []File
	records  int
	spool    *os.File
	spoolBuf *bufio.Writer
	entries  int64
	treeSize uint64
	err      error
	done     bool
	notes    []string
}

// Note adds a line the summary shows under the pack's particulars (what the records withhold, entries
// left for a later pack). Add notes before Finish.
func (w *Writer) Note(text string) { w.notes = append(w.notes, text) }

// NewWriter starts a pack on w.
func NewWriter(w io.Writer, opts Options) (*Writer, error) {
	if err := checkPackID(opts.PackID); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if err := opts.Subject.validate(); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	if opts.Origin == "" || strings.ContainsRune(opts.Origin, '\n') {
		return nil, errors.New("evidence: the origin is one non-empty line")
	}
	if opts.GeneratedAt.IsZero() {
		opts.GeneratedAt = time.Now()
	}
	opts.GeneratedAt = opts.GeneratedAt.UTC().Truncate(time.Second)
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, pooledDeflate)
	return &Writer{zw: zw, opts: opts, names: map[string]bool{}}, nil
}

// deflaters are reused across a pack's files: a pack of thousands of records would otherwise make (and
// drop) a compressor of about a megabyte each.
var deflaters sync.Pool

type pooledWriter struct{ *flate.Writer }

func (p pooledWriter) Close() error {
	err := p.Writer.Close()
	deflaters.Put(p.Writer)
	return err
}

func pooledDeflate(out io.Writer) (io.WriteCloser, error) {
	if fw, ok := deflaters.Get().(*flate.Writer); ok {
		fw.Reset(out)
		return pooledWriter{fw}, nil
	}
	fw, err := flate.NewWriter(out, flate.DefaultCompression)
	if err != nil {
		return nil, err
	}
	return pooledWriter{fw}, nil
}

// AddRecord writes v as indented JSON to the pack under name, which must be a safe path under
// "records/" ending in ".json" and not used before.
func (w *Writer) AddRecord(name string, v any) error {
	if err := w.usable(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return fmt.Errorf("evidence: record %q: %w", name, err)
	}
	if !strings.HasPrefix(name, RecordsDir) || !strings.HasSuffix(name, ".json") {
		return fmt.Errorf("evidence: record %q: want records/<name>.json", name)
	}
	if w.names[name] {
		return fmt.Errorf("evidence: record %q: added twice", name)
	}
	// Encoded before the file is created, so a value that does not encode leaves the pack usable. (A
	// json.Encoder would hold the whole encoding in memory before writing it too.)
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence: record %q: %w", name, err)
	}
	err = w.writeFile(name, func(out io.Writer) error { _, err := out.Write(append(b, '\n')); return err })
	if err == nil {
		w.records++
	}
	return err
}

// AddAuditEntry adds an audit entry with its inclusion proof. Every entry's proof must be for the same
// tree size, the size of the checkpoint given to Finish; Finish checks each proof against it.
func (w *Writer) AddAuditEntry(p audit.Inclusion) error {
	if err := w.usable(); err != nil {
		return err
	}
	e, err := ParseLeafData(p.LeafData)
	if err != nil {
		return fmt.Errorf("evidence: audit entry %d: %w", p.EntryID, err)
	}
	switch {
	case e.ID != p.EntryID:
		return fmt.Errorf("evidence: audit entry %d: its leaf data is entry %d's", p.EntryID, e.ID)
	case p.LeafIndex >= p.TreeSize:
		return fmt.Errorf("evidence: audit entry %d: leaf %d is outside a tree of %d", p.EntryID, p.LeafIndex, p.TreeSize)
	case w.entries > 0 && p.TreeSize != w.treeSize:
		return fmt.Errorf("evidence: audit entry %d: proof for tree size %d, the others for %d", p.EntryID, p.TreeSize, w.treeSize)
	}
	if w.spool == nil {
		if w.spool, err = os.CreateTemp(w.opts.TempDir, "evidence-entries-*.jsonl"); err != nil {
			return w.fail(fmt.Errorf("evidence: spool audit entries: %w", err))
		}
		w.spoolBuf = bufio.NewWriterSize(w.spool, 64<<10)
	}
	line, err := json.Marshal(EntryLine{Inclusion: p, Entry: e})
	if err != nil {
		return fmt.Errorf("evidence: audit entry %d: %w", p.EntryID, err)
	}
	if _, err := w.spoolBuf.Write(append(line, '\n')); err != nil {
		return w.fail(fmt.Errorf("evidence: spool audit entries: %w", err))
	}
	w.entries++
	w.treeSize = p.TreeSize
	return nil
}

// Finish writes audit/checkpoint (the signed checkpoint every proof is against), audit/entries.jsonl,
// summary.pdf, manifest.json and manifest.sig signed by signer, then closes the zip (not the
// underlying writer). It refuses a checkpoint for another origin or size, or one that an entry's proof
// does not verify against. signer should be the deployment's checkpoint key.
func (w *Writer) Finish(checkpoint []byte, signer note.Signer) (err error) {
	if err := w.usable(); err != nil {
		return err
	}
	defer w.Close()
	defer func() {
		if err != nil {
			w.err = err
		}
	}()
	cp, err := parseCheckpoint(checkpoint)
	if err != nil {
		return fmt.Errorf("evidence: checkpoint: %w", err)
	}
	if cp.Origin != w.opts.Origin {
		return fmt.Errorf("evidence: checkpoint is for log %q, want %q", cp.Origin, w.opts.Origin)
	}
	if w.entries > 0 && cp.Size != w.treeSize {
		return fmt.Errorf("evidence: checkpoint of size %d, proofs for %d", cp.Size, w.treeSize)
	}
	if err := w.writeFile(CheckpointPath, func(out io.Writer) error { _, err := out.Write(checkpoint); return err }); err != nil {
		return err
	}
	if err := w.writeFile(EntriesPath, func(out io.Writer) error { return w.copyEntries(out, cp) }); err != nil {
		return err
	}
	if err := w.writeFile(SummaryPath, func(out io.Writer) error { return w.writeSummary(out, cp) }); err != nil {
		return err
	}
	m := Manifest{Format: Format, PackID: w.opts.PackID, Subject: w.opts.Subject, GeneratedAt: w.opts.GeneratedAt,
		Origin: w.opts.Origin, KeyName: signer.Name(), TreeSize: cp.Size, Entries: w.entries, Records: w.records, Files: w.files}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	manifest = append(manifest, '\n')
	sig, err := note.Sign(&note.Note{Text: manifestSigText(w.opts.PackID, manifest)}, signer)
	if err != nil {
		return fmt.Errorf("evidence: sign the manifest: %w", err)
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{ManifestPath, manifest}, {ManifestSigPath, sig}} {
		if err := w.create(f.name, func(out io.Writer) error { _, err := out.Write(f.b); return err }); err != nil {
			return err
		}
	}
	if err := w.zw.Close(); err != nil {
		return fmt.Errorf("evidence: close the zip: %w", err)
	}
	w.done = true
	return nil
}

// Close removes the spool of audit entries. It does not close the zip: an unfinished pack is not a pack.
func (w *Writer) Close() error {
	if w.spool == nil {
		return nil
	}
	name := w.spool.Name()
	err := errors.Join(w.spool.Close(), os.Remove(name))
	w.spool, w.spoolBuf = nil, nil
	if w.err == nil && !w.done {
		w.err = errors.New("evidence: writer closed")
	}
	return err
}

// usable refuses use after a failure or after Finish.
func (w *Writer) usable() error {
	if w.done {
		return errors.New("evidence: pack already finished")
	}
	return w.err
}

// fail makes err sticky: the zip may hold a partial file.
func (w *Writer) fail(err error) error {
	w.err = err
	return err
}

// writeFile writes one listed file, hashing and counting it as it goes, and records it for the manifest.
func (w *Writer) writeFile(name string, write func(io.Writer) error) error {
	h := sha256.New()
	var n countWriter
	err := w.create(name, func(out io.Writer) error { return write(io.MultiWriter(out, h, &n)) })
	if err != nil {
		return err
	}
	w.files = append(w.files, File{Path: name, Size: int64(n), SHA256: hex.EncodeToString(h.Sum(nil))})
	return nil
}

// create writes one file into the zip.
func (w *Writer) create(name string, write func(io.Writer) error) error {
	if w.names[name] {
		return fmt.Errorf("evidence: %q written twice", name)
	}
	out, err := w.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: w.opts.GeneratedAt})
	if err != nil {
		return w.fail(fmt.Errorf("evidence: %s: %w", name, err))
	}
	w.names[name] = true
	if err := write(out); err != nil {
		return w.fail(fmt.Errorf("evidence: %s: %w", name, err))
	}
	return nil
}

// copyEntries copies the spool to out, checking each entry's proof against cp on the way.
func (w *Writer) copyEntries(out io.Writer, cp tlog.Checkpoint) error {
	return w.eachEntry(func(line []byte, e EntryLine) error {
		if err := tlog.VerifyInclusion(tlog.LeafHash(e.LeafData), e.LeafIndex, cp.Size, cp.Root, e.Hashes); err != nil {
			return fmt.Errorf("audit entry %d (leaf %d): proof does not verify against the checkpoint: %w", e.EntryID, e.LeafIndex, err)
		}
		_, err := out.Write(line)
		return err
	})
}

// eachEntry reads the spool from the start, one line (with its newline) at a time.
func (w *Writer) eachEntry(f func(line []byte, e EntryLine) error) error {
	if w.spool == nil {
		return nil
	}
	if err := w.spoolBuf.Flush(); err != nil {
		return err
	}
	if _, err := w.spool.Seek(0, io.SeekStart); err != nil {
		return err
	}
	r := bufio.NewReaderSize(w.spool, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var e EntryLine
			if err := json.Unmarshal(line, &e); err != nil {
				return fmt.Errorf("spooled audit entry: %w", err)
			}
			if err := f(line, e); err != nil {
				return err
			}
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// parseCheckpoint reads a signed checkpoint's body without checking its signature (the writer holds
// the signer, not a verifier; the verifier checks it).
func parseCheckpoint(signed []byte) (tlog.Checkpoint, error) {
	body, _, ok := bytes.Cut(signed, []byte("\n\n"))
	if !ok {
		return tlog.Checkpoint{}, errors.New("not a signed note")
	}
	var lc log.Checkpoint
	rest, err := lc.Unmarshal(append(body, '\n'))
	if err != nil {
		return tlog.Checkpoint{}, err
	}
	if len(rest) != 0 || len(lc.Hash) != tlog.HashSize {
		return tlog.Checkpoint{}, errors.New("not a checkpoint of this log's format")
	}
	return tlog.Checkpoint{Origin: lc.Origin, Size: lc.Size, Root: lc.Hash}, nil
}

// countWriter counts the bytes written through it.
type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}
