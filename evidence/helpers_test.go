package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
)

const testOrigin = "test.signetassure/audit"

// leafData builds leaf bytes the way audit's entry.LeafData does (audit/tree.go).
func leafData(id, atMicros int64, actor, action, entityType, entityID, detail, dedupKey string) []byte {
	b := []byte("signetassure-audit-leaf-v1")
	for _, f := range []string{strconv.FormatInt(id, 10), strconv.FormatInt(atMicros, 10), actor, action,
		entityType, entityID, detail, dedupKey} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, ',')
	}
	return b
}

// key is a deployment key under a name.
type key struct {
	name     string
	priv     ed25519.PrivateKey
	signer   note.Signer
	vkey     string
	verifier note.Verifier
}

func newKey(t testing.TB, name string) key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := key{name: name, priv: priv}
	if k.signer, err = tlog.NewSigner(name, priv); err != nil {
		t.Fatal(err)
	}
	if k.vkey, err = tlog.VerifierKey(name, priv.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if k.verifier, err = tlog.NewVerifier(k.vkey); err != nil {
		t.Fatal(err)
	}
	return k
}

// testLog is an audit tree of n leaves held in memory with every node its visitor stored.
type testLog struct {
	origin string
	leaves [][]byte
	nodes  map[[2]uint64][]byte
	tree   *tlog.Tree
}

func newTestLog(t testing.TB, origin string, n int) *testLog {
	t.Helper()
	l := &testLog{origin: origin, nodes: map[[2]uint64][]byte{}}
	l.tree = tlog.NewTree(func(level uint, index uint64, hash []byte) { l.nodes[[2]uint64{uint64(level), index}] = hash })
	base := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC).UnixMicro()
	for i := range n {
		id := int64(1000 + i)
		d := leafData(id, base+int64(i)*1_000_000, "user-"+strconv.Itoa(i%7), []string{"case.opened", "person.updated",
			"clearance.granted", "disclosure.recorded"}[i%4], "case", fmt.Sprintf("C-%d", i%5),
			fmt.Sprintf(`{"n": %d, "note": "a, b: c"}`, i), "")
		l.leaves = append(l.leaves, d)
		if err := l.tree.Append(tlog.LeafHash(d)); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// checkpoint signs the tree's checkpoint with k.
func (l *testLog) checkpoint(t testing.TB, k key) []byte {
	t.Helper()
	cp, err := tlog.Sign(tlog.Checkpoint{Origin: l.origin, Size: l.tree.Size(), Root: l.tree.Root()}, k.name, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// inclusion is leaf i with its proof against the whole tree.
func (l *testLog) inclusion(t testing.TB, i int) audit.Inclusion {
	t.Helper()
	hashes, err := tlog.InclusionProof(uint64(i), l.tree.Size(), func(level uint, index uint64) ([]byte, error) {
		h, ok := l.nodes[[2]uint64{uint64(level), index}]
		if !ok {
			return nil, fmt.Errorf("no node (%d, %d)", level, index)
		}
		return h, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return audit.Inclusion{EntryID: int64(1000 + i), LeafIndex: uint64(i), TreeSize: l.tree.Size(), LeafData: l.leaves[i], Hashes: hashes}
}

// person and caseRecord are sample records.
type person struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type caseRecord struct {
	Ref      string   `json:"ref"`
	Status   string   `json:"status"`
	Timeline []string `json:"timeline"`
}

var samplePerson = person{ID: "P-1", Name: "Zoë Ångström", Email: "zoe@example.test"}

func testOptions() Options {
	return Options{PackID: "pack-0001", Subject: Subject{Kind: SubjectPerson, ID: "P-1"}, Origin: testOrigin,
		GeneratedAt: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), TempDir: ""}
}

// buildPack writes a pack of two records and the leaves of l at indexes, signed by k.
func buildPack(t testing.TB, l *testLog, k key, indexes []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	opts := testOptions()
	opts.Origin = l.origin
	w, err := NewWriter(&buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.AddRecord("records/person.json", samplePerson); err != nil {
		t.Fatal(err)
	}
	for _, i := range indexes {
		if err := w.AddAuditEntry(l.inclusion(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.AddRecord("records/cases/C-1.json", caseRecord{Ref: "C-1", Status: "open", Timeline: []string{"opened"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(l.checkpoint(t, k), k.signer); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zfile is one file of a zip, in order.
type zfile struct {
	name string
	data []byte
}

func readZip(t testing.TB, b []byte) []zfile {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out []zfile
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, zfile{f.Name, data})
	}
	return out
}

func writeZip(t testing.TB, files []zfile) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(f.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// file returns the named file's data (nil if absent).
func file(files []zfile, name string) []byte {
	for _, f := range files {
		if f.name == name {
			return f.data
		}
	}
	return nil
}

// replace sets the named file's data, adding it if absent.
func replace(files []zfile, name string, data []byte) []zfile {
	out := append([]zfile(nil), files...)
	for i := range out {
		if out[i].name == name {
			out[i].data = data
			return out
		}
	}
	return append(out, zfile{name, data})
}

// resign rewrites manifest.json with edit and signs it again with k, as an insider or forger would.
func resign(t testing.TB, files []zfile, k key, edit func(*Manifest)) []zfile {
	t.Helper()
	var m Manifest
	if err := json.Unmarshal(file(files, ManifestPath), &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	sig, err := note.Sign(&note.Note{Text: manifestSigText(m.PackID, b)}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return replace(replace(files, ManifestPath, b), ManifestSigPath, sig)
}

// rehash sets the manifest's size and digest of path to data's, and the entry count (when entries >= 0).
func rehash(path string, data []byte, entries int64) func(*Manifest) {
	return func(m *Manifest) {
		for i := range m.Files {
			if m.Files[i].Path == path {
				m.Files[i].Size = int64(len(data))
				m.Files[i].SHA256 = sha256Hex(data)
			}
		}
		if entries >= 0 {
			m.Entries = entries
		}
	}
}

// verify runs Verify on b with the given keys for testOrigin.
func verify(b []byte, origin string, keys ...key) (Report, error) {
	var vs []note.Verifier
	for _, k := range keys {
		vs = append(vs, k.verifier)
	}
	return Verify(bytes.NewReader(b), int64(len(b)), origin, vs...)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
