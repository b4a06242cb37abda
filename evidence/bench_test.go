package evidence

import (
	"bytes"
	"io"
	"strconv"
	"testing"

	"github.com/signetassure/signetassure/audit"
)

// benchPack holds a 10,000-leaf log, every entry's proof and the checkpoint, made once.
type benchPack struct {
	proofs []audit.Inclusion
	cp     []byte
	k      key
}

func newBenchPack(b *testing.B, n int) benchPack {
	l := newTestLog(b, testOrigin, n)
	k := newKey(b, "k1")
	bp := benchPack{cp: l.checkpoint(b, k), k: k}
	for i := range n {
		bp.proofs = append(bp.proofs, l.inclusion(b, i))
	}
	return bp
}

func (bp benchPack) write(b *testing.B, out io.Writer) {
	w, err := NewWriter(out, testOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for i := range 1000 {
		if err := w.AddRecord("records/persons/P-"+strconv.Itoa(i)+".json", samplePerson); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range bp.proofs {
		if err := w.AddAuditEntry(p); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Finish(bp.cp, bp.k.signer); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWritePack writes a pack of 1,000 person records and 10,000 audit entries.
func BenchmarkWritePack(b *testing.B) {
	bp := newBenchPack(b, 10000)
	var size int
	for b.Loop() {
		var cw countWriter
		bp.write(b, &cw)
		size = int(cw)
	}
	b.ReportMetric(float64(size), "zip-bytes")
}

// BenchmarkVerifyPack verifies that pack.
func BenchmarkVerifyPack(b *testing.B) {
	bp := newBenchPack(b, 10000)
	var buf bytes.Buffer
	bp.write(b, &buf)
	pack := buf.Bytes()
	for b.Loop() {
		if rep, err := Verify(bytes.NewReader(pack), int64(len(pack)), testOrigin, bp.k.verifier); err != nil || rep.Entries != 10000 {
			b.Fatal(err, rep.Entries)
		}
	}
	b.ReportMetric(float64(len(pack)), "zip-bytes")
}
