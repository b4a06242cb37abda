package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signetassure/signetassure/audit"
)

// The fixed paths of a pack and the format's names.
const (
	// Format names this format in the manifest.
	Format = "signetassure-evidence-pack-v1"
	// ManifestPath holds the manifest; ManifestSigPath its signed note.
	ManifestPath    = "manifest.json"
	ManifestSigPath = "manifest.sig"
	// EntriesPath holds one audit entry with its inclusion proof per line.
	EntriesPath = "audit/entries.jsonl"
	// CheckpointPath holds the signed checkpoint every proof is against.
	CheckpointPath = "audit/checkpoint"
	// SummaryPath holds the human-readable PDF summary.
	SummaryPath = "summary.pdf"
	// RecordsDir is the folder of the machine-readable records.
	RecordsDir = "records/"
	// manifestSigHeader is the first line of the manifest's signed note.
	manifestSigHeader = "signetassure-evidence-manifest-v1"
)

// The subject kinds.
const (
	SubjectCase     = "case"
	SubjectPerson   = "person"
	SubjectSupplier = "supplier"
	SubjectRange    = "range"
)

// Subject is what a pack is about: a case, person or supplier by id, or a date range of the whole
// organisation (From inclusive, To exclusive).
type Subject struct {
	Kind string     `json:"kind"`
	ID   string     `json:"id,omitempty"`
	From *time.Time `json:"from,omitempty"`
	To   *time.Time `json:"to,omitempty"`
}

func (s Subject) validate() error {
	switch s.Kind {
	case SubjectCase, SubjectPerson, SubjectSupplier:
		if s.ID == "" || s.From != nil || s.To != nil {
			return fmt.Errorf("a %s subject has an id and no range", s.Kind)
		}
	case SubjectRange:
		if s.ID != "" || s.From == nil || s.To == nil || !s.From.Before(*s.To) {
			return errors.New("a range subject has from before to and no id")
		}
	default:
		return fmt.Errorf("subject kind %q: want case, person, supplier or range", s.Kind)
	}
	return nil
}

// String is the subject as a person reads it.
func (s Subject) String() string {
	if s.Kind == SubjectRange && s.From != nil && s.To != nil {
		return fmt.Sprintf("range %s to %s", s.From.UTC().Format(time.RFC3339), s.To.UTC().Format(time.RFC3339))
	}
	return s.Kind + " " + s.ID
}

// Manifest lists every file of a pack but manifest.json and manifest.sig, with its size and SHA-256.
type Manifest struct {
	Format      string    `json:"format"`
	PackID      string    `json:"packId"`
	Subject     Subject   `json:"subject"`
	GeneratedAt time.Time `json:"generatedAt"`
	// Origin is the audit log's origin, the first line of the checkpoint.
	Origin string `json:"origin"`
	// KeyName is the name of the key that signed the checkpoint and manifest.sig.
	KeyName string `json:"keyName"`
	// TreeSize is the size of the checkpoint in audit/checkpoint.
	TreeSize uint64 `json:"treeSize"`
	// Entries is the number of lines of audit/entries.jsonl; Records the number of files in records/.
	Entries int64  `json:"entries"`
	Records int    `json:"records"`
	Files   []File `json:"files"`
}

// File is a file of the pack: its path, size in bytes and lowercase hex SHA-256.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// EntryLine is one line of audit/entries.jsonl: an audit entry's leaf data (base64 in JSON), its leaf
// index, the tree size and hashes of its inclusion proof, and its fields decoded from the leaf data.
type EntryLine struct {
	audit.Inclusion
	Entry Entry `json:"entry"`
}

// manifestSigText is the text the manifest's signed note carries: the header line, the pack id and
// the hex SHA-256 of manifest.json.
func manifestSigText(packID string, manifest []byte) string {
	sum := sha256.Sum256(manifest)
	return manifestSigHeader + "\n" + packID + "\n" + hex.EncodeToString(sum[:]) + "\n"
}

// checkPackID: a pack id is one line of printable UTF-8 without spaces, so it fits in a note.
func checkPackID(id string) error {
	if id == "" || len(id) > 128 || !utf8.ValidString(id) ||
		strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) {
		return errors.New("a pack id is 1 to 128 bytes of printable UTF-8 without spaces")
	}
	return nil
}

// checkName refuses a file name that is not a safe relative path inside the zip: empty, absolute,
// with a backslash, a control character, an empty, "." or ".." segment, or invalid UTF-8.
func checkName(name string) error {
	switch {
	case name == "" || len(name) > 512:
		return errors.New("a file name is 1 to 512 bytes")
	case !utf8.ValidString(name):
		return errors.New("a file name is UTF-8")
	case strings.HasPrefix(name, "/"):
		return errors.New("a file name is relative")
	case strings.ContainsRune(name, '\\'):
		return errors.New("a file name has no backslash")
	case strings.ContainsFunc(name, unicode.IsControl):
		return errors.New("a file name has no control characters")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return errors.New(`a file name has no empty, "." or ".." segment`)
		}
	}
	return nil
}
