package evidence

import (
	"encoding/base64"
	"fmt"
	"io"
	"strconv"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"github.com/signetassure/signetassure/audit/tlog"
)

// writeSummary writes summary.pdf: the pack's particulars, the files written so far with their SHA-256,
// and a table of the audit entries read back from the spool one row at a time. fpdf keeps the pages it
// has laid out (compressed at output), never a list of entries.
func (w *Writer) writeSummary(out io.Writer, cp tlog.Checkpoint) error {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCatalogSort(true) // deterministic output: the same pack gives the same bytes
	pdf.SetCreationDate(w.opts.GeneratedAt)
	pdf.SetModificationDate(w.opts.GeneratedAt)
	pdf.SetTitle("SignetAssure evidence pack "+w.opts.PackID, true)
	pdf.SetCreator("SignetAssure", true)
	pdf.SetAutoPageBreak(true, 15)
	tr := pdf.UnicodeTranslatorFromDescriptor("")
	pdf.AddPage()

	pdf.SetFont("Helvetica", "B", 16)
	pdf.CellFormat(0, 10, "SignetAssure evidence pack", "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 10)
	field := func(label, value string) {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(40, 6, label, "", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.MultiCell(0, 6, tr(value), "", "L", false)
	}
	field("Pack", w.opts.PackID)
	field("Subject", w.opts.Subject.String())
	field("Generated at", w.opts.GeneratedAt.Format(time.RFC3339))
	field("Audit log", w.opts.Origin)
	field("Checkpoint size", strconv.FormatUint(cp.Size, 10))
	field("Checkpoint root", base64.StdEncoding.EncodeToString(cp.Root))
	field("Records", strconv.Itoa(w.records))
	field("Audit entries", strconv.FormatInt(w.entries, 10))
	for _, n := range w.notes {
		field("Note", n)
	}
	pdf.Ln(2)
	pdf.SetFont("Helvetica", "I", 9)
	pdf.MultiCell(0, 5, "Check this pack offline with the deployment's public key: signetassure evidence verify "+
		"<pack.zip> --key <verifier key>. manifest.json lists every file with its SHA-256; manifest.sig signs it. "+
		"The digests below are of the files as written; this summary and the manifest are not listed here.", "", "L", false)

	pdf.Ln(3)
	pdf.SetFont("Helvetica", "B", 12)
	pdf.CellFormat(0, 8, "Files", "", 1, "L", false, 0, "")
	for _, f := range w.files {
		pdf.SetFont("Helvetica", "", 9)
		pdf.CellFormat(150, 5, tr(f.Path), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 5, strconv.FormatInt(f.Size, 10)+" bytes", "", 1, "R", false, 0, "")
		pdf.SetFont("Courier", "", 8)
		pdf.CellFormat(0, 4, "sha256 "+f.SHA256, "", 1, "L", false, 0, "")
	}
	pdf.CellFormat(0, 5, "audit/entries.jsonl: "+strconv.FormatInt(w.entries, 10)+" lines", "", 1, "L", false, 0, "")

	pdf.Ln(3)
	pdf.SetFont("Helvetica", "B", 12)
	pdf.CellFormat(0, 8, "Audit entries", "", 1, "L", false, 0, "")
	header := func() {
		pdf.SetFont("Helvetica", "B", 9)
		for _, c := range []struct {
			w float64
			s string
		}{{18, "Leaf"}, {42, "Time (UTC)"}, {55, "Action"}, {0, "Entity"}} {
			ln := 0
			if c.w == 0 {
				ln = 1
			}
			pdf.CellFormat(c.w, 6, c.s, "B", ln, "L", false, 0, "")
		}
		pdf.SetFont("Helvetica", "", 8)
	}
	pdf.SetHeaderFuncMode(func() {}, false)
	header()
	_, pageH := pdf.GetPageSize()
	err := w.eachEntry(func(_ []byte, e EntryLine) error {
		if pdf.GetY() > pageH-25 {
			pdf.AddPage()
			header()
		}
		pdf.CellFormat(18, 5, strconv.FormatUint(e.LeafIndex, 10), "", 0, "L", false, 0, "")
		pdf.CellFormat(42, 5, e.Entry.At.UTC().Format("2006-01-02 15:04:05"), "", 0, "L", false, 0, "")
		pdf.CellFormat(55, 5, tr(clip(e.Entry.Action, 40)), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 5, tr(clip(e.Entry.EntityType+" "+e.Entry.EntityID, 60)), "", 1, "L", false, 0, "")
		return pdf.Error()
	})
	if err != nil {
		return err
	}
	if err := pdf.Output(out); err != nil {
		return fmt.Errorf("write the PDF: %w", err)
	}
	return nil
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
