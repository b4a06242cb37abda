package evidence

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit/tlog"
)

// VerifyFile verifies the pack at path against the verifier keys vkeys (note verifier key strings, see
// tlog.VerifierKey) for the audit log origin, and writes a report for a person to out: the pack's
// particulars, then OK or each problem on a line. It returns ErrNotVerified (wrapped) when the pack
// has problems. It is what `signetassure evidence verify pack.zip --key <vkey> [--origin ...]` runs.
func VerifyFile(path, origin string, vkeys []string, out io.Writer) error {
	return VerifyFileWith(path, origin, vkeys, nil, out)
}

// VerifyFileWith is VerifyFile with a witness's signed checkpoint (nil for none), opened with the same
// keys.
func VerifyFileWith(path, origin string, vkeys []string, witness []byte, out io.Writer) error {
	if len(vkeys) == 0 {
		return errors.New("evidence: verify: give the deployment's verifier key (--key)")
	}
	var verifiers []note.Verifier
	for _, k := range vkeys {
		v, err := tlog.NewVerifier(k)
		if err != nil {
			return err
		}
		verifiers = append(verifiers, v)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	rep, err := VerifyWith(f, st.Size(), VerifyOptions{Origin: origin, Verifiers: verifiers, Witness: witness})
	if err != nil && !errors.Is(err, ErrNotVerified) {
		return fmt.Errorf("%s: %w", path, err)
	}
	writeReport(out, path, &rep)
	if err != nil {
		return fmt.Errorf("%s: %w (%d problems)", path, err, len(rep.Problems))
	}
	return nil
}

// writeReport prints rep for a person.
func writeReport(out io.Writer, path string, rep *Report) {
	fmt.Fprintf(out, "pack %s (%s)\n", rep.PackID, path)
	if rep.Subject != nil {
		fmt.Fprintf(out, "  subject:    %s\n", rep.Subject)
	}
	fmt.Fprintf(out, "  audit log:  %s, key %s\n", rep.Origin, rep.KeyName)
	fmt.Fprintf(out, "  checkpoint: size %d, root %s\n", rep.TreeSize, base64.StdEncoding.EncodeToString(rep.TreeRoot))
	fmt.Fprintf(out, "  files:      %d checked\n", rep.Files)
	fmt.Fprintf(out, "  entries:    %d inclusion proofs verified\n", rep.Entries)
	if w := rep.Witness; w != nil {
		switch {
		case w.Equal:
			fmt.Fprintf(out, "  witness:    same checkpoint (size %d)\n", w.WitnessSize)
		case w.PackSize != w.WitnessSize:
			fmt.Fprintf(out, "  witness:    size %d, the pack's %d: not compared (a consistency proof is needed; the pack carries none)\n",
				w.WitnessSize, w.PackSize)
		}
	}
	if rep.OK() {
		fmt.Fprintln(out, "OK")
		return
	}
	fmt.Fprintf(out, "FAILED: %d problems\n", len(rep.Problems))
	for _, p := range rep.Problems {
		fmt.Fprintf(out, "  %s\n", p)
	}
}
