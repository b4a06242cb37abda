package evidence

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit/tlog"
)

// ProblemKind classifies what is wrong with a pack.
type ProblemKind string

// The problems Verify names.
const (
	// NotAPack: the zip has no readable manifest.json or manifest.sig, or they are malformed.
	NotAPack ProblemKind = "not-a-pack"
	// BadManifestSignature: manifest.sig does not verify, or signs another manifest (manifest.json edited).
	BadManifestSignature ProblemKind = "bad-manifest-signature"
	// UnknownKey: manifest.sig or the checkpoint is signed by none of the keys given.
	UnknownKey ProblemKind = "unknown-key"
	// TamperedFile: a file's size or SHA-256 differs from the manifest's.
	TamperedFile ProblemKind = "tampered-file"
	// MissingFile: a file the manifest lists is not in the zip.
	MissingFile ProblemKind = "missing-file"
	// ExtraFile: the zip holds a file the manifest does not list, or holds a name twice.
	ExtraFile ProblemKind = "extra-file"
	// BadCheckpoint: audit/checkpoint does not open (bad signature, malformed) or disagrees with the manifest.
	BadCheckpoint ProblemKind = "bad-checkpoint"
	// WrongOrigin: the checkpoint or manifest is for another audit log.
	WrongOrigin ProblemKind = "wrong-origin"
	// BadEntry: a line of audit/entries.jsonl is malformed, or its decoded view disagrees with its leaf data.
	BadEntry ProblemKind = "bad-entry"
	// ForgedProof: an entry's inclusion proof does not verify against the checkpoint's root.
	ForgedProof ProblemKind = "forged-proof"
	// RemovedEntry: audit/entries.jsonl holds fewer entries than the manifest counts.
	RemovedEntry ProblemKind = "removed-entry"
	// AddedEntry: audit/entries.jsonl holds more entries than the manifest counts, or one twice.
	AddedEntry ProblemKind = "added-entry"
	// WitnessMismatch: the witness's checkpoint of the same size has another root (a fork), or does not open.
	WitnessMismatch ProblemKind = "witness-mismatch"
)

// Problem is one thing wrong with a pack. Path names the file, EntryID and LeafIndex the audit entry
// (when Kind concerns one).
type Problem struct {
	Kind      ProblemKind `json:"kind"`
	Path      string      `json:"path,omitempty"`
	EntryID   int64       `json:"entryId,omitempty"`
	LeafIndex *uint64     `json:"leafIndex,omitempty"`
	Detail    string      `json:"detail"`
}

// String is the problem on one line.
func (p Problem) String() string {
	s := string(p.Kind)
	if p.Path != "" {
		s += " " + p.Path
	}
	if p.LeafIndex != nil {
		s += fmt.Sprintf(" entry %d (leaf %d)", p.EntryID, *p.LeafIndex)
	}
	return s + ": " + p.Detail
}

// WitnessResult compares the pack's checkpoint with a witness's.
type WitnessResult struct {
	PackSize    uint64 `json:"packSize"`
	WitnessSize uint64 `json:"witnessSize"`
	// Equal: same size and same root. With different sizes nothing is proven either way: a consistency
	// proof between the two is needed, and the pack does not carry one (get it from the log's API).
	Equal bool `json:"equal"`
}

// Report is what Verify found. A pack verifies when Problems is empty.
type Report struct {
	PackID   string   `json:"packId,omitempty"`
	Subject  *Subject `json:"subject,omitempty"`
	Origin   string   `json:"origin,omitempty"`
	KeyName  string   `json:"keyName,omitempty"`
	TreeSize uint64   `json:"treeSize"`
	TreeRoot []byte   `json:"treeRoot,omitempty"`
	// Files is the number of files checked against the manifest; Entries the number of audit entries
	// whose inclusion proof verified.
	Files    int            `json:"files"`
	Entries  int64          `json:"entries"`
	Witness  *WitnessResult `json:"witness,omitempty"`
	Problems []Problem      `json:"problems"`
}

// OK reports whether the pack verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// Has reports whether a problem of kind was found.
func (r *Report) Has(kind ProblemKind) bool {
	for _, p := range r.Problems {
		if p.Kind == kind {
			return true
		}
	}
	return false
}

func (r *Report) add(kind ProblemKind, path, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Kind: kind, Path: path, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) addEntry(kind ProblemKind, e EntryLine, format string, args ...any) {
	i := e.LeafIndex
	r.Problems = append(r.Problems, Problem{Kind: kind, Path: EntriesPath, EntryID: e.EntryID, LeafIndex: &i,
		Detail: fmt.Sprintf(format, args...)})
}

// ErrNotVerified: the pack has problems; the Report names them.
var ErrNotVerified = errors.New("evidence: the pack does not verify")

// VerifyOptions are what a pack is verified against.
type VerifyOptions struct {
	// Origin is the audit log the pack must come from.
	Origin string
	// Verifiers are the deployment's keys (see tlog.NewVerifier): the manifest and checkpoint must be
	// signed by one of them.
	Verifiers []note.Verifier
	// Witness, if set, is a signed checkpoint of the same log the caller trusts (a witness's copy); it
	// is opened with WitnessVerifiers, or Verifiers if none.
	Witness          []byte
	WitnessVerifiers []note.Verifier
}

// Verify checks a pack offline against the deployment's keys: see [VerifyWith].
func Verify(r io.ReaderAt, size int64, origin string, verifiers ...note.Verifier) (Report, error) {
	return VerifyWith(r, size, VerifyOptions{Origin: origin, Verifiers: verifiers})
}

// limits on what Verify reads into memory.
const (
	maxManifest  = 64 << 20
	maxSmallFile = 64 << 10
	maxEntryLine = 16 << 20
)

// VerifyWith checks a pack: manifest.sig signs manifest.json with a known key; every file the manifest
// lists is present with its size and SHA-256, and no other file is; audit/checkpoint opens with the
// keys for the origin and matches the manifest; every line of audit/entries.jsonl is well formed, its
// decoded view matches its leaf data, and its inclusion proof verifies against the checkpoint's root;
// the number of entries is the manifest's. It goes on past problems to name them all. The error is
// ErrNotVerified when the Report has problems, or another error when the pack cannot be read at all.
func VerifyWith(r io.ReaderAt, size int64, opts VerifyOptions) (Report, error) {
	var rep Report
	if len(opts.Verifiers) == 0 {
		return rep, errors.New("evidence: verify: no verifier keys given")
	}
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return rep, fmt.Errorf("evidence: not a zip: %w", err)
	}
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		if files[f.Name] != nil {
			rep.add(ExtraFile, f.Name, "the zip holds this name more than once")
			continue
		}
		files[f.Name] = f
	}
	manifestBytes, err1 := readSmall(files[ManifestPath], maxManifest)
	sigBytes, err2 := readSmall(files[ManifestSigPath], maxSmallFile)
	if err := errors.Join(err1, err2); err != nil {
		rep.add(NotAPack, "", "%v", err)
		return rep, ErrNotVerified
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(manifestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Format != Format {
		rep.add(NotAPack, ManifestPath, "not a %s manifest: %v", Format, err)
		return rep, ErrNotVerified
	}
	rep.PackID, rep.Subject, rep.Origin, rep.KeyName, rep.TreeSize = m.PackID, &m.Subject, m.Origin, m.KeyName, m.TreeSize
	verifyManifestSig(&rep, &m, manifestBytes, sigBytes, opts.Verifiers)
	if m.Origin != opts.Origin {
		rep.add(WrongOrigin, ManifestPath, "the pack is for log %q, want %q", m.Origin, opts.Origin)
	}

	listed := map[string]File{}
	for _, f := range m.Files {
		if f.Path == ManifestPath || f.Path == ManifestSigPath || listed[f.Path].Path != "" || checkName(f.Path) != nil {
			rep.add(NotAPack, ManifestPath, "lists %q twice, unsafely or as itself", f.Path)
			continue
		}
		listed[f.Path] = f
	}
	for _, f := range zr.File {
		if _, ok := listed[f.Name]; !ok && f.Name != ManifestPath && f.Name != ManifestSigPath {
			rep.add(ExtraFile, f.Name, "not listed in the manifest")
		}
	}
	cp, cpOK := openCheckpoint(&rep, &m, files[CheckpointPath], opts)
	for _, f := range m.Files {
		if listed[f.Path] != f {
			continue
		}
		zf := files[f.Path]
		if zf == nil {
			rep.add(MissingFile, f.Path, "listed in the manifest, not in the zip")
			continue
		}
		rep.Files++
		var err error
		if f.Path == EntriesPath {
			err = checkFile(zf, f, func(r io.Reader) error { return verifyEntries(&rep, &m, r, cp, cpOK) })
		} else {
			err = checkFile(zf, f, nil)
		}
		if err != nil {
			rep.add(TamperedFile, f.Path, "%v", err)
		}
	}
	records := 0
	for path := range listed {
		if strings.HasPrefix(path, RecordsDir) {
			records++
		}
	}
	if records != m.Records {
		rep.add(NotAPack, ManifestPath, "lists %d records, counts %d", records, m.Records)
	}
	for _, path := range []string{CheckpointPath, EntriesPath, SummaryPath} {
		if listed[path].Path == "" {
			rep.add(MissingFile, path, "every pack has it; the manifest does not list it")
		}
	}
	if opts.Witness != nil && cpOK {
		checkWitness(&rep, cp, opts)
	}
	if !rep.OK() {
		return rep, ErrNotVerified
	}
	return rep, nil
}

// verifyManifestSig checks manifest.sig: a note by a known key whose text names the pack and the
// manifest's SHA-256, signed under the manifest's key name.
func verifyManifestSig(rep *Report, m *Manifest, manifest, sig []byte, verifiers []note.Verifier) {
	n, err := note.Open(sig, note.VerifierList(verifiers...))
	if err != nil {
		var invalid *note.InvalidSignatureError
		switch signers, unknown := tlog.UnknownSigners(err); {
		case unknown:
			rep.add(UnknownKey, ManifestSigPath, "signed by %s, none of the keys given", signers)
		case errors.As(err, &invalid):
			rep.add(BadManifestSignature, ManifestSigPath, "the signature by %s+%08x does not verify", invalid.Name, invalid.Hash)
		default:
			rep.add(BadManifestSignature, ManifestSigPath, "malformed: %v", err)
		}
		return
	}
	if n.Text != manifestSigText(m.PackID, manifest) {
		rep.add(BadManifestSignature, ManifestPath, "manifest.json is not the manifest manifest.sig signs (edited)")
	}
	for _, s := range n.Sigs {
		if s.Name == m.KeyName {
			return
		}
	}
	rep.add(BadManifestSignature, ManifestSigPath, "not signed under the manifest's key name %q", m.KeyName)
}

// openCheckpoint opens audit/checkpoint with the keys and checks it against the manifest.
func openCheckpoint(rep *Report, m *Manifest, zf *zip.File, opts VerifyOptions) (tlog.Checkpoint, bool) {
	if zf == nil {
		return tlog.Checkpoint{}, false // reported as missing, or not listed
	}
	b, err := readSmall(zf, maxSmallFile)
	if err != nil {
		rep.add(BadCheckpoint, CheckpointPath, "%v", err)
		return tlog.Checkpoint{}, false
	}
	cp, err := tlog.Open(b, opts.Origin, opts.Verifiers...)
	switch {
	case errors.Is(err, tlog.ErrUnknownKey):
		rep.add(UnknownKey, CheckpointPath, "%v", err)
		return cp, false
	case err != nil && !errors.Is(err, tlog.ErrBadSignature) && !errors.Is(err, tlog.ErrMalformed):
		rep.add(WrongOrigin, CheckpointPath, "%v", err)
		return cp, false
	case err != nil:
		rep.add(BadCheckpoint, CheckpointPath, "%v", err)
		return cp, false
	}
	rep.TreeRoot = cp.Root
	if cp.Size != m.TreeSize {
		rep.add(BadCheckpoint, CheckpointPath, "a checkpoint of size %d, the manifest says %d", cp.Size, m.TreeSize)
	}
	return cp, true
}

// verifyEntries reads audit/entries.jsonl and checks every entry's proof against cp.
func verifyEntries(rep *Report, m *Manifest, r io.Reader, cp tlog.Checkpoint, cpOK bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEntryLine)
	var n int64
	seen := map[uint64]bool{}
	for sc.Scan() {
		n++
		var e EntryLine
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			rep.add(BadEntry, EntriesPath, "line %d: %v", n, err)
			continue
		}
		parsed, err := ParseLeafData(e.LeafData)
		switch {
		case err != nil:
			rep.addEntry(BadEntry, e, "line %d: %v", n, err)
		case parsed.ID != e.EntryID || !parsed.equal(e.Entry):
			rep.addEntry(BadEntry, e, "line %d: the decoded view or entry id disagrees with the leaf data", n)
		}
		if seen[e.LeafIndex] {
			rep.addEntry(AddedEntry, e, "line %d: leaf %d appears twice", n, e.LeafIndex)
		}
		seen[e.LeafIndex] = true
		if !cpOK {
			continue
		}
		if e.TreeSize != cp.Size {
			rep.addEntry(ForgedProof, e, "line %d: a proof for tree size %d, the checkpoint is of %d", n, e.TreeSize, cp.Size)
			continue
		}
		if err := tlog.VerifyInclusion(tlog.LeafHash(e.LeafData), e.LeafIndex, cp.Size, cp.Root, e.Hashes); err != nil {
			rep.addEntry(ForgedProof, e, "line %d: inclusion proof does not verify against the checkpoint: %v", n, err)
			continue
		}
		rep.Entries++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	switch {
	case n < m.Entries:
		rep.add(RemovedEntry, EntriesPath, "%d entries, the manifest counts %d: %d removed", n, m.Entries, m.Entries-n)
	case n > m.Entries:
		rep.add(AddedEntry, EntriesPath, "%d entries, the manifest counts %d", n, m.Entries)
	}
	return nil
}

// checkWitness compares the pack's checkpoint with the witness's.
func checkWitness(rep *Report, cp tlog.Checkpoint, opts VerifyOptions) {
	vs := opts.WitnessVerifiers
	if len(vs) == 0 {
		vs = opts.Verifiers
	}
	w, err := tlog.Open(opts.Witness, opts.Origin, vs...)
	if err != nil {
		rep.add(WitnessMismatch, "", "the witness checkpoint does not open: %v", err)
		return
	}
	rep.Witness = &WitnessResult{PackSize: cp.Size, WitnessSize: w.Size, Equal: w.Size == cp.Size && bytes.Equal(w.Root, cp.Root)}
	if w.Size == cp.Size && !rep.Witness.Equal {
		rep.add(WitnessMismatch, CheckpointPath, "the witness's checkpoint of size %d has another root: the log forked", w.Size)
	}
}

// readSmall reads a whole file of at most max bytes.
func readSmall(f *zip.File, max int64) ([]byte, error) {
	if f == nil {
		return nil, errors.New("file missing")
	}
	if f.UncompressedSize64 > uint64(max) {
		return nil, fmt.Errorf("%s: %d bytes, more than %d", f.Name, f.UncompressedSize64, max)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes", f.Name, max)
	}
	return b, nil
}

// checkFile hashes a file as it is read (by use, if given, which sees the file even when its size is
// wrong, so that entries can be named) and compares size and digest with want.
func checkFile(zf *zip.File, want File, use func(io.Reader) error) error {
	rc, err := zf.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	var n countWriter
	// The zip reader refuses to read past the size in the file's header, so a reader is bounded.
	r := io.TeeReader(rc, io.MultiWriter(h, &n))
	if use != nil {
		if err := use(r); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return compare(h, int64(n), want)
}

func compare(h hash.Hash, n int64, want File) error {
	if n != want.Size {
		return fmt.Errorf("%d bytes, the manifest says %d", n, want.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want.SHA256 {
		return fmt.Errorf("SHA-256 %s, the manifest says %s", got, want.SHA256)
	}
	return nil
}
