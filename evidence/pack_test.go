package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit/tlog"
)

// packIndexes are the leaves of the 50-leaf test log a pack carries: not all of them, not in a run.
var packIndexes = []int{0, 1, 2, 3, 7, 8, 13, 20, 21, 22, 30, 31, 32, 33, 40, 44, 47, 48, 49}

func goodPack(t *testing.T) (*testLog, key, []byte) {
	l := newTestLog(t, testOrigin, 50)
	k := newKey(t, "signetassure.test")
	return l, k, buildPack(t, l, k, packIndexes)
}

func TestGoodPackVerifies(t *testing.T) {
	l, k, b := goodPack(t)
	rep, err := verify(b, testOrigin, k)
	if err != nil {
		t.Fatalf("Verify: %v, problems %v", err, rep.Problems)
	}
	if rep.PackID != "pack-0001" || rep.Subject.Kind != SubjectPerson || rep.KeyName != k.name || rep.Origin != testOrigin {
		t.Errorf("report %+v", rep)
	}
	if rep.TreeSize != 50 || !bytes.Equal(rep.TreeRoot, l.tree.Root()) || rep.Entries != int64(len(packIndexes)) || rep.Files != 5 {
		t.Errorf("report: size %d, entries %d, files %d", rep.TreeSize, rep.Entries, rep.Files)
	}

	files := readZip(t, b)
	var names []string
	for _, f := range files {
		names = append(names, f.name)
	}
	want := "records/person.json records/cases/C-1.json audit/checkpoint audit/entries.jsonl summary.pdf manifest.json manifest.sig"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("files %s, want %s", got, want)
	}

	var p person
	if err := json.Unmarshal(file(files, "records/person.json"), &p); err != nil || p != samplePerson {
		t.Errorf("records/person.json = %+v, %v", p, err)
	}
	var c caseRecord
	if err := json.Unmarshal(file(files, "records/cases/C-1.json"), &c); err != nil || c.Ref != "C-1" || len(c.Timeline) != 1 {
		t.Errorf("records/cases/C-1.json = %+v, %v", c, err)
	}

	pdf := file(files, SummaryPath)
	if !bytes.HasPrefix(pdf, []byte("%PDF-1.")) || !bytes.HasSuffix(bytes.TrimRight(pdf, "\r\n"), []byte("%%EOF")) ||
		!bytes.Contains(pdf, []byte("startxref")) {
		t.Errorf("summary.pdf is not a PDF: %q ... %q", pdf[:min(20, len(pdf))], pdf[max(0, len(pdf)-20):])
	}

	lines := strings.Split(strings.TrimSuffix(string(file(files, EntriesPath)), "\n"), "\n")
	if len(lines) != len(packIndexes) {
		t.Fatalf("%d lines, want %d", len(lines), len(packIndexes))
	}
	var e EntryLine
	if err := json.Unmarshal([]byte(lines[4]), &e); err != nil {
		t.Fatal(err)
	}
	if e.EntryID != 1007 || e.LeafIndex != 7 || e.TreeSize != 50 || e.Entry.Action != "disclosure.recorded" || e.Entry.EntityID != "C-2" ||
		!bytes.Equal(e.LeafData, l.leaves[7]) {
		t.Errorf("line 5 = %+v", e)
	}

	var m Manifest
	if err := json.Unmarshal(file(files, ManifestPath), &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != Format || m.Entries != int64(len(packIndexes)) || m.Records != 2 || m.TreeSize != 50 || len(m.Files) != 5 {
		t.Errorf("manifest %+v", m)
	}
	for _, f := range m.Files {
		if sha256Hex(file(files, f.Path)) != f.SHA256 || int64(len(file(files, f.Path))) != f.Size {
			t.Errorf("manifest entry %+v does not match the file", f)
		}
	}
	if !strings.HasPrefix(string(file(files, ManifestSigPath)), manifestSigHeader+"\npack-0001\n"+sha256Hex(file(files, ManifestPath))+"\n\n— "+k.name+" ") {
		t.Errorf("manifest.sig = %q", file(files, ManifestSigPath))
	}

	// The same inputs give the same bytes.
	if again := buildPack(t, l, k, packIndexes); !bytes.Equal(again, b) {
		for j := range b {
			if b[j] != again[j] {
				t.Errorf("two packs of the same inputs differ at %d: %q vs %q", j, b[max(0, j-60):j+20], again[max(0, j-60):j+20])
				break
			}
		}
	}
}

func TestEmptyPackVerifies(t *testing.T) {
	l := newTestLog(t, testOrigin, 3)
	k := newKey(t, "k1")
	b := buildPack(t, l, k, nil)
	if rep, err := verify(b, testOrigin, k); err != nil {
		t.Fatalf("Verify: %v, %v", err, rep.Problems)
	}
}

// problem returns the first problem of kind, failing the test if there is none.
func problem(t *testing.T, rep Report, err error, kind ProblemKind) Problem {
	t.Helper()
	if !errors.Is(err, ErrNotVerified) {
		t.Fatalf("Verify: %v, want ErrNotVerified", err)
	}
	for _, p := range rep.Problems {
		if p.Kind == kind {
			return p
		}
	}
	t.Fatalf("no %s problem in %v", kind, rep.Problems)
	return Problem{}
}

func TestTamperIsNamed(t *testing.T) {
	l, k, b := goodPack(t)
	other := newKey(t, "mallory")
	files := readZip(t, b)
	entries := file(files, EntriesPath)
	lines := strings.SplitAfter(string(entries), "\n")
	lines = lines[:len(lines)-1]

	// editLine rewrites line i of entries.jsonl with edit.
	editLine := func(i int, edit func(*EntryLine)) []byte {
		var e EntryLine
		if err := json.Unmarshal([]byte(lines[i]), &e); err != nil {
			t.Fatal(err)
		}
		edit(&e)
		nb, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out := append([]string(nil), lines...)
		out[i] = string(nb) + "\n"
		return []byte(strings.Join(out, ""))
	}

	t.Run("record byte changed", func(t *testing.T) {
		rec := bytes.Replace(file(files, "records/person.json"), []byte("P-1"), []byte("P-2"), 1)
		rep, err := verify(writeZip(t, replace(files, "records/person.json", rec)), testOrigin, k)
		if p := problem(t, rep, err, TamperedFile); p.Path != "records/person.json" || !strings.Contains(p.Detail, "SHA-256") {
			t.Errorf("problem %v", p)
		}
		if len(rep.Problems) != 1 {
			t.Errorf("problems %v, want only the tampered record", rep.Problems)
		}
	})
	t.Run("record length changed", func(t *testing.T) {
		rec := append(file(files, "records/person.json"), ' ')
		rep, err := verify(writeZip(t, replace(files, "records/person.json", rec)), testOrigin, k)
		if p := problem(t, rep, err, TamperedFile); p.Path != "records/person.json" {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("file removed", func(t *testing.T) {
		var kept []zfile
		for _, f := range files {
			if f.name != "records/cases/C-1.json" {
				kept = append(kept, f)
			}
		}
		rep, err := verify(writeZip(t, kept), testOrigin, k)
		if p := problem(t, rep, err, MissingFile); p.Path != "records/cases/C-1.json" {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("file added", func(t *testing.T) {
		rep, err := verify(writeZip(t, replace(files, "records/extra.json", []byte("{}"))), testOrigin, k)
		if p := problem(t, rep, err, ExtraFile); p.Path != "records/extra.json" {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("file added twice", func(t *testing.T) {
		dup := append(append([]zfile(nil), files...), zfile{"records/person.json", []byte(`{"id":"P-9"}`)})
		rep, err := verify(writeZip(t, dup), testOrigin, k)
		if p := problem(t, rep, err, ExtraFile); p.Path != "records/person.json" {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("manifest edited", func(t *testing.T) {
		m := bytes.Replace(file(files, ManifestPath), []byte(`"id": "P-1"`), []byte(`"id": "P-2"`), 1)
		if bytes.Equal(m, file(files, ManifestPath)) {
			t.Fatal("edit did not apply")
		}
		rep, err := verify(writeZip(t, replace(files, ManifestPath, m)), testOrigin, k)
		if p := problem(t, rep, err, BadManifestSignature); p.Path != ManifestPath {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("manifest signature altered", func(t *testing.T) {
		sig := file(files, ManifestSigPath)
		sig = bytes.Replace(sig, []byte("pack-0001"), []byte("pack-0002"), 1)
		rep, err := verify(writeZip(t, replace(files, ManifestSigPath, sig)), testOrigin, k)
		if p := problem(t, rep, err, BadManifestSignature); p.Path != ManifestSigPath {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("manifest re-signed by another key", func(t *testing.T) {
		forged := resign(t, files, other, func(m *Manifest) { m.Subject.ID = "P-2" })
		rep, err := verify(writeZip(t, forged), testOrigin, k)
		if p := problem(t, rep, err, UnknownKey); p.Path != ManifestSigPath || !strings.Contains(p.Detail, "mallory") {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("leaf data changed", func(t *testing.T) {
		// The forger changes entry 1013's action in both the leaf and its view, and fixes up the manifest
		// with the deployment's key (an insider): only the proof can tell.
		changed := editLine(6, func(e *EntryLine) {
			e.LeafData = bytes.Replace(e.LeafData, []byte("person.updated"), []byte("person.deleted"), 1)
			e.Entry.Action = "person.deleted"
		})
		forged := resign(t, replace(files, EntriesPath, changed), k, rehash(EntriesPath, changed, -1))
		rep, err := verify(writeZip(t, forged), testOrigin, k)
		p := problem(t, rep, err, ForgedProof)
		if p.EntryID != 1013 || p.LeafIndex == nil || *p.LeafIndex != 13 || len(rep.Problems) != 1 {
			t.Errorf("problems %v", rep.Problems)
		}
		if !strings.Contains(p.String(), "entry 1013 (leaf 13)") {
			t.Errorf("problem reads %q", p)
		}
	})
	t.Run("entry view changed", func(t *testing.T) {
		changed := editLine(2, func(e *EntryLine) { e.Entry.Actor = "someone-else" })
		rep, err := verify(writeZip(t, replace(files, EntriesPath, changed)), testOrigin, k)
		if p := problem(t, rep, err, BadEntry); p.EntryID != 1002 {
			t.Errorf("problem %v", p)
		}
		problem(t, rep, err, TamperedFile)
	})
	t.Run("entry removed", func(t *testing.T) {
		removed := []byte(strings.Join(append(append([]string(nil), lines[:3]...), lines[4:]...), ""))
		rep, err := verify(writeZip(t, replace(files, EntriesPath, removed)), testOrigin, k)
		if p := problem(t, rep, err, RemovedEntry); !strings.Contains(p.Detail, "1 removed") {
			t.Errorf("problem %v", p)
		}
		if p := problem(t, rep, err, TamperedFile); p.Path != EntriesPath {
			t.Errorf("problem %v", p)
		}
		// Even with the digest fixed up by an insider the count names the removal.
		forged := resign(t, replace(files, EntriesPath, removed), k, rehash(EntriesPath, removed, -1))
		rep, err = verify(writeZip(t, forged), testOrigin, k)
		problem(t, rep, err, RemovedEntry)
	})
	t.Run("entries file removed", func(t *testing.T) {
		var kept []zfile
		for _, f := range files {
			if f.name != EntriesPath {
				kept = append(kept, f)
			}
		}
		rep, err := verify(writeZip(t, kept), testOrigin, k)
		if p := problem(t, rep, err, MissingFile); p.Path != EntriesPath {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("proof hash forged", func(t *testing.T) {
		changed := editLine(10, func(e *EntryLine) { e.Hashes[1][0] ^= 1 })
		forged := resign(t, replace(files, EntriesPath, changed), k, rehash(EntriesPath, changed, -1))
		rep, err := verify(writeZip(t, forged), testOrigin, k)
		if p := problem(t, rep, err, ForgedProof); p.EntryID != 1030 || *p.LeafIndex != 30 {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("leaf index moved", func(t *testing.T) {
		changed := editLine(0, func(e *EntryLine) { e.LeafIndex = 5 })
		rep, err := verify(writeZip(t, replace(files, EntriesPath, changed)), testOrigin, k)
		if p := problem(t, rep, err, ForgedProof); p.EntryID != 1000 || *p.LeafIndex != 5 {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("checkpoint signed by another key", func(t *testing.T) {
		cp := l.checkpoint(t, other)
		rep, err := verify(writeZip(t, replace(files, CheckpointPath, cp)), testOrigin, k)
		if p := problem(t, rep, err, UnknownKey); p.Path != CheckpointPath {
			t.Errorf("problem %v", p)
		}
		problem(t, rep, err, TamperedFile)
	})
	t.Run("checkpoint of another tree", func(t *testing.T) {
		// A genuine checkpoint of a smaller tree: the proofs do not verify against it.
		small := newTestLog(t, testOrigin, 40)
		cp := small.checkpoint(t, k)
		forged := resign(t, replace(files, CheckpointPath, cp), k, rehash(CheckpointPath, cp, -1))
		rep, err := verify(writeZip(t, forged), testOrigin, k)
		problem(t, rep, err, BadCheckpoint)
	})
	t.Run("checkpoint for another origin", func(t *testing.T) {
		elsewhere := newTestLog(t, "elsewhere.example/audit", 50)
		pack := buildPack(t, elsewhere, k, packIndexes)
		rep, err := verify(pack, testOrigin, k)
		if p := problem(t, rep, err, WrongOrigin); p.Path != CheckpointPath && p.Path != ManifestPath {
			t.Errorf("problem %v", p)
		}
		for _, p := range rep.Problems {
			if p.Kind != WrongOrigin {
				t.Errorf("unexpected problem %v", p)
			}
		}
	})
	t.Run("checkpoint dropped from the zip and the manifest", func(t *testing.T) {
		var kept []zfile
		for _, f := range files {
			if f.name != CheckpointPath {
				kept = append(kept, f)
			}
		}
		forged := resign(t, kept, k, func(m *Manifest) {
			var fs []File
			for _, f := range m.Files {
				if f.Path != CheckpointPath {
					fs = append(fs, f)
				}
			}
			m.Files = fs
		})
		rep, err := verify(writeZip(t, forged), testOrigin, k)
		if p := problem(t, rep, err, MissingFile); p.Path != CheckpointPath {
			t.Errorf("problem %v", p)
		}
	})
	t.Run("not a pack", func(t *testing.T) {
		var kept []zfile
		for _, f := range files {
			if f.name != ManifestSigPath {
				kept = append(kept, f)
			}
		}
		rep, err := verify(writeZip(t, kept), testOrigin, k)
		problem(t, rep, err, NotAPack)
		if _, err := verify([]byte("not a zip"), testOrigin, k); err == nil || errors.Is(err, ErrNotVerified) {
			t.Errorf("Verify of garbage: %v", err)
		}
	})
	t.Run("good pack still verifies", func(t *testing.T) {
		if rep, err := verify(writeZip(t, files), testOrigin, k); err != nil {
			t.Errorf("Verify: %v %v", err, rep.Problems)
		}
	})
}

func TestKeyRotation(t *testing.T) {
	_, k, b := goodPack(t)
	newer := newKey(t, "k2")
	if rep, err := verify(b, testOrigin, newer, k); err != nil {
		t.Errorf("Verify with old and new keys: %v %v", err, rep.Problems)
	}
	rep, err := verify(b, testOrigin, newer)
	problem(t, rep, err, UnknownKey)
}

func TestWitness(t *testing.T) {
	l, k, b := goodPack(t)
	check := func(witness []byte) (Report, error) {
		return VerifyWith(bytes.NewReader(b), int64(len(b)), VerifyOptions{Origin: testOrigin, Verifiers: []note.Verifier{k.verifier}, Witness: witness})
	}
	rep, err := check(l.checkpoint(t, k))
	if err != nil || rep.Witness == nil || !rep.Witness.Equal {
		t.Errorf("same checkpoint: %v %+v", err, rep.Witness)
	}

	grown := newTestLog(t, testOrigin, 60)
	rep, err = check(grown.checkpoint(t, k))
	if err != nil || rep.Witness == nil || rep.Witness.Equal || rep.Witness.WitnessSize != 60 || rep.Witness.PackSize != 50 {
		t.Errorf("larger witness: %v %+v", err, rep.Witness)
	}

	// A fork: a tree of the same size with other leaves, signed by the same key.
	fork := newTestLog(t, testOrigin, 50)
	fork.leaves[0] = []byte("x")
	forkTree := tlog.NewTree(nil)
	for _, d := range fork.leaves {
		if err := forkTree.Append(tlog.LeafHash(d)); err != nil {
			t.Fatal(err)
		}
	}
	forked, err := tlog.Sign(tlog.Checkpoint{Origin: testOrigin, Size: 50, Root: forkTree.Root()}, k.name, k.priv)
	if err != nil {
		t.Fatal(err)
	}
	rep, err = check(forked)
	problem(t, rep, err, WitnessMismatch)
}

func TestVerifyFile(t *testing.T) {
	_, k, b := goodPack(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "pack.zip")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := VerifyFile(path, testOrigin, []string{k.vkey}, &out); err != nil || !strings.HasSuffix(out.String(), "OK\n") {
		t.Errorf("VerifyFile: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())

	files := readZip(t, b)
	rec := bytes.Replace(file(files, "records/person.json"), []byte("P-1"), []byte("P-2"), 1)
	if err := os.WriteFile(path, writeZip(t, replace(files, "records/person.json", rec)), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := VerifyFile(path, testOrigin, []string{k.vkey}, &out)
	if !errors.Is(err, ErrNotVerified) || !strings.Contains(out.String(), "tampered-file records/person.json") {
		t.Errorf("VerifyFile of a tampered pack: %v\n%s", err, out.String())
	}
	t.Logf("\n%s", out.String())
	if err := VerifyFile(path, testOrigin, []string{"not a key"}, &out); err == nil {
		t.Error("VerifyFile accepted a malformed key")
	}
}
