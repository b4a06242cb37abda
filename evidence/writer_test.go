package evidence

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWriterRefusesUnsafeNames(t *testing.T) {
	w, err := NewWriter(io.Discard, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, name := range []string{
		"", "/records/a.json", "records/../manifest.json", "records/./a.json", "records//a.json", `records\a.json`,
		"records/a\x00.json", "records/a\n.json", "records/..", "records/a.txt", "person.json", "manifest.json",
		"audit/entries.jsonl", "records/\xff.json", "records/" + strings.Repeat("a", 600) + ".json",
	} {
		if err := w.AddRecord(name, map[string]int{"a": 1}); err == nil {
			t.Errorf("AddRecord(%q) accepted", name)
		}
	}
	if err := w.AddRecord("records/bad.json", make(chan int)); err == nil {
		t.Error("AddRecord of a channel accepted")
	}
	if err := w.AddRecord("records/cases/C-1.json", 1); err != nil {
		t.Fatal(err)
	}
	if err := w.AddRecord("records/cases/C-1.json", 2); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate AddRecord: %v", err)
	}
}

func TestWriterRefusesBadOptions(t *testing.T) {
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	good := testOptions()
	for name, edit := range map[string]func(*Options){
		"no pack id":        func(o *Options) { o.PackID = "" },
		"pack id spaces":    func(o *Options) { o.PackID = "a b" },
		"no origin":         func(o *Options) { o.Origin = "" },
		"two-line origin":   func(o *Options) { o.Origin = "a\nb" },
		"unknown kind":      func(o *Options) { o.Subject = Subject{Kind: "planet", ID: "x"} },
		"person without id": func(o *Options) { o.Subject = Subject{Kind: SubjectPerson} },
		"range backwards":   func(o *Options) { o.Subject = Subject{Kind: SubjectRange, From: &to, To: &from} },
	} {
		o := good
		edit(&o)
		if _, err := NewWriter(io.Discard, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	o := good
	o.Subject = Subject{Kind: SubjectRange, From: &from, To: &to}
	if _, err := NewWriter(io.Discard, o); err != nil {
		t.Errorf("range subject: %v", err)
	}
}

func TestWriterRefusesBadEntriesAndCheckpoints(t *testing.T) {
	l := newTestLog(t, testOrigin, 20)
	k := newKey(t, "k1")
	newW := func() *Writer {
		w, err := NewWriter(io.Discard, testOptions())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { w.Close() })
		return w
	}

	w := newW()
	p := l.inclusion(t, 3)
	p.EntryID = 99
	if err := w.AddAuditEntry(p); err == nil {
		t.Error("accepted an entry whose leaf data is another entry's")
	}
	p = l.inclusion(t, 3)
	p.LeafData = append([]byte(nil), p.LeafData[1:]...)
	if err := w.AddAuditEntry(p); err == nil {
		t.Error("accepted malformed leaf data")
	}
	if err := w.AddAuditEntry(l.inclusion(t, 3)); err != nil {
		t.Fatal(err)
	}
	p = l.inclusion(t, 4)
	p.TreeSize = 19
	if err := w.AddAuditEntry(p); err == nil {
		t.Error("accepted proofs for two tree sizes")
	}

	// A checkpoint of another origin, another size, or one the proofs do not verify against.
	other := newTestLog(t, "other/audit", 20)
	if err := w.Finish(other.checkpoint(t, k), k.signer); err == nil || !strings.Contains(err.Error(), "other/audit") {
		t.Errorf("Finish with another origin's checkpoint: %v", err)
	}
	if err := w.AddAuditEntry(l.inclusion(t, 5)); err == nil {
		t.Error("a failed writer went on")
	}
	w = newW()
	if err := w.AddAuditEntry(l.inclusion(t, 3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(newTestLog(t, testOrigin, 21).checkpoint(t, k), k.signer); err == nil {
		t.Error("Finish with a checkpoint of another size")
	}
	w = newW()
	p = l.inclusion(t, 3)
	p.Hashes[0] = bytes.Repeat([]byte{1}, 32)
	if err := w.AddAuditEntry(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Finish(l.checkpoint(t, k), k.signer); err == nil || !strings.Contains(err.Error(), "entry 1003") {
		t.Errorf("Finish with a forged proof: %v", err)
	}
	if err := w.Finish(l.checkpoint(t, k), k.signer); err == nil {
		t.Error("Finish twice")
	}
}

func TestWriterRemovesItsSpool(t *testing.T) {
	dir := t.TempDir()
	l := newTestLog(t, testOrigin, 10)
	k := newKey(t, "k1")
	opts := testOptions()
	opts.TempDir = dir
	for _, finish := range []bool{true, false} {
		w, err := NewWriter(io.Discard, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddAuditEntry(l.inclusion(t, 1)); err != nil {
			t.Fatal(err)
		}
		if spooled, _ := filepath.Glob(filepath.Join(dir, "*")); len(spooled) != 1 {
			t.Fatalf("spool files %v", spooled)
		}
		if finish {
			if err := w.Finish(l.checkpoint(t, k), k.signer); err != nil {
				t.Fatal(err)
			}
		} else if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("finish %v: left %v", finish, left)
		}
	}
}

// TestWriterHoldsNoEntries writes 10,000 entries one by one and checks the heap does not grow with
// them (each line is about 1 KB, so holding them would take some 10 MB).
func TestWriterHoldsNoEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 entries")
	}
	const n = 10000
	l := newTestLog(t, testOrigin, n)
	k := newKey(t, "k1")
	cp := l.checkpoint(t, k)
	zipFile, err := os.Create(filepath.Join(t.TempDir(), "pack.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zipFile.Close()
	start := time.Now()
	w, err := NewWriter(zipFile, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	heap := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var before uint64
	for i := range n {
		if i == 1000 {
			before = heap()
		}
		if err := w.AddAuditEntry(l.inclusion(t, i)); err != nil {
			t.Fatal(err)
		}
	}
	after := heap()
	if after > before+2<<20 {
		t.Errorf("heap grew from %d to %d bytes over 9,000 entries", before, after)
	}
	if err := w.Finish(cp, k.signer); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	st, err := zipFile.Stat()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 entries: written in %v, zip %d bytes, heap %d -> %d bytes over 9,000 entries", elapsed.Round(time.Millisecond),
		st.Size(), before, after)
	start = time.Now()
	rep, err := Verify(zipFile, st.Size(), testOrigin, k.verifier)
	if err != nil || rep.Entries != n {
		t.Fatalf("Verify: %v, %d entries, %v", err, rep.Entries, rep.Problems[:min(3, len(rep.Problems))])
	}
	t.Logf("10,000 entries: verified in %v", time.Since(start).Round(time.Millisecond))
}
