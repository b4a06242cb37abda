package tlog

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

const testOrigin = "signetassure.example/audit"

// testKey returns a deterministic Ed25519 key derived from a label.
func testKey(label string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("signetassure tlog test key: " + label))
	return ed25519.NewKeyFromSeed(seed[:])
}

func testVerifier(t *testing.T, name string, key ed25519.PrivateKey) note.Verifier {
	t.Helper()
	vkey, err := VerifierKey(name, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testCheckpoint(t *testing.T, size int) Checkpoint {
	t.Helper()
	tree, _, _ := builtTree(t, size)
	return Checkpoint{Origin: testOrigin, Size: tree.Size(), Root: tree.Root()}
}

func TestSignFormat(t *testing.T) {
	cp := testCheckpoint(t, 13)
	signed, err := Sign(cp, "signetassure.example/audit-2026", testKey("a"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(signed)
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("signed checkpoint does not end in a newline: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("signed checkpoint has %d lines, want 5:\n%s", len(lines), text)
	}
	if lines[0] != testOrigin {
		t.Errorf("origin line = %q", lines[0])
	}
	if lines[1] != strconv.FormatUint(cp.Size, 10) {
		t.Errorf("size line = %q", lines[1])
	}
	if lines[2] != base64.StdEncoding.EncodeToString(cp.Root) {
		t.Errorf("root line = %q", lines[2])
	}
	if lines[3] != "" {
		t.Errorf("line 4 = %q, want blank", lines[3])
	}
	prefix := "— signetassure.example/audit-2026 "
	if !strings.HasPrefix(lines[4], prefix) {
		t.Fatalf("signature line = %q, want prefix %q", lines[4], prefix)
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(lines[4], prefix))
	if err != nil || len(sig) != 4+ed25519.SignatureSize {
		t.Fatalf("signature is not base64 of 4+64 bytes: %v, %d bytes", err, len(sig))
	}
	// The signature is Ed25519 over the body (with its final newline) under the key.
	body := strings.Join(lines[:3], "\n") + "\n"
	if !ed25519.Verify(testKey("a").Public().(ed25519.PublicKey), []byte(body), sig[4:]) {
		t.Error("signature does not verify over the body with crypto/ed25519")
	}
	again, _ := Sign(cp, "signetassure.example/audit-2026", testKey("a"))
	if !bytes.Equal(again, signed) {
		t.Error("signing twice gave different bytes")
	}
}

func TestSignRejects(t *testing.T) {
	cp := testCheckpoint(t, 3)
	for name, c := range map[string]struct {
		cp      Checkpoint
		keyName string
		key     ed25519.PrivateKey
	}{
		"empty origin":    {Checkpoint{Size: 3, Root: cp.Root}, "k", testKey("a")},
		"two-line origin": {Checkpoint{Origin: "a\nb", Size: 3, Root: cp.Root}, "k", testKey("a")},
		"short root":      {Checkpoint{Origin: testOrigin, Size: 3, Root: cp.Root[:8]}, "k", testKey("a")},
		"key name space":  {cp, "bad name", testKey("a")},
		"key name plus":   {cp, "bad+name", testKey("a")},
		"empty key name":  {cp, "", testKey("a")},
		"short key":       {cp, "k", testKey("a")[:10]},
	} {
		if _, err := Sign(c.cp, c.keyName, c.key); err == nil {
			t.Errorf("%s: Sign succeeded", name)
		}
	}
}

func TestOpen(t *testing.T) {
	cp := testCheckpoint(t, 21)
	key := testKey("a")
	signed, err := Sign(cp, testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	v := testVerifier(t, testOrigin, key)

	got, err := Open(signed, testOrigin, v)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if got.Origin != cp.Origin || got.Size != cp.Size || !bytes.Equal(got.Root, cp.Root) {
		t.Errorf("Open = %+v, want %+v", got, cp)
	}

	// An unknown key, even under the same name.
	if _, err := Open(signed, testOrigin, testVerifier(t, testOrigin, testKey("b"))); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open with an unknown key: %v, want ErrUnknownKey", err)
	}
	if _, err := Open(signed, testOrigin, testVerifier(t, "other", key)); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open with the key under another name: %v, want ErrUnknownKey", err)
	}
	if _, err := Open(signed, testOrigin); err == nil {
		t.Error("Open with no verifiers succeeded")
	}

	// A tampered body: another size, another root.
	tampered := bytes.Replace(signed, []byte("\n21\n"), []byte("\n22\n"), 1)
	if _, err := Open(tampered, testOrigin, v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Open of a checkpoint with its size changed: %v, want ErrBadSignature", err)
	}
	other := testCheckpoint(t, 20)
	tampered = bytes.Replace(signed, []byte(base64.StdEncoding.EncodeToString(cp.Root)),
		[]byte(base64.StdEncoding.EncodeToString(other.Root)), 1)
	if _, err := Open(tampered, testOrigin, v); !errors.Is(err, ErrBadSignature) {
		t.Errorf("Open of a checkpoint with its root changed: %v, want ErrBadSignature", err)
	}
	// A tampered signature.
	i := bytes.LastIndexByte(signed, ' ') + 10
	tampered = append([]byte(nil), signed...)
	tampered[i] ^= 1
	if _, err := Open(tampered, testOrigin, v); err == nil {
		t.Error("Open of a checkpoint with its signature changed succeeded")
	}
	// Not a note at all.
	if _, err := Open([]byte("hello\n"), testOrigin, v); !errors.Is(err, ErrMalformed) {
		t.Errorf("Open of a non-note: %v, want ErrMalformed", err)
	}

	// Another log's checkpoint signed with the same key.
	otherLog, _ := Sign(Checkpoint{Origin: "elsewhere/audit", Size: cp.Size, Root: cp.Root}, testOrigin, key)
	if _, err := Open(otherLog, testOrigin, v); err == nil {
		t.Error("Open accepted a checkpoint of another origin")
	}

	// A note by our key whose body is not a checkpoint, or carries extension lines.
	signer, _ := NewSigner(testOrigin, key)
	for _, text := range []string{
		"not a checkpoint\n",
		testOrigin + "\n21\n" + base64.StdEncoding.EncodeToString(cp.Root) + "\nextension\n",
		testOrigin + "\n021\n" + base64.StdEncoding.EncodeToString(cp.Root) + "\n",
	} {
		msg, err := note.Sign(&note.Note{Text: text}, signer)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Open(msg, testOrigin, v); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open of %q: %v, want ErrMalformed", text, err)
		}
	}

	// A witness's cosignature by a key we do not know does not stop Open.
	witness, _ := NewSigner("witness.example", testKey("w"))
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(n, witness)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(cosigned, testOrigin, v); err != nil {
		t.Errorf("Open of a cosigned checkpoint: %v", err)
	}
	// ... and a checkpoint signed only by the witness is refused, naming the key.
	witnessOnly, _ := Sign(cp, "witness.example", testKey("w"))
	if _, err := Open(witnessOnly, testOrigin, v); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), "witness.example+") {
		t.Errorf("Open of a checkpoint signed only by a witness: %v", err)
	}
}

func TestKeyRotation(t *testing.T) {
	oldKey, newKey := testKey("2025"), testKey("2026")
	cpOld, cpNew := testCheckpoint(t, 10), testCheckpoint(t, 30)
	// The key name may stay the same across a rotation: the key hash tells the keys apart.
	signedOld, err := Sign(cpOld, testOrigin, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	signedNew, err := Sign(cpNew, testOrigin, newKey)
	if err != nil {
		t.Fatal(err)
	}
	vOld, vNew := testVerifier(t, testOrigin, oldKey), testVerifier(t, testOrigin, newKey)
	for _, signed := range [][]byte{signedOld, signedNew} {
		if _, err := Open(signed, testOrigin, vOld, vNew); err != nil {
			t.Errorf("Open with old and new keys: %v", err)
		}
	}
	if _, err := Open(signedOld, testOrigin, vNew); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open of an old checkpoint with only the new key: %v, want ErrUnknownKey", err)
	}
	if _, err := Open(signedNew, testOrigin, vOld); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Open of a new checkpoint with only the old key: %v, want ErrUnknownKey", err)
	}
}

// TestThirdPartyVerification: a verifier key string alone, with the note package and the
// transparency-dev checkpoint parser and no code of ours, verifies a checkpoint.
func TestThirdPartyVerification(t *testing.T) {
	key := testKey("a")
	cp := testCheckpoint(t, 7)
	signed, err := Sign(cp, testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	vkey, err := VerifierKey(testOrigin, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(vkey, testOrigin+"+") || strings.Count(vkey, "+") != 2 {
		t.Errorf("verifier key %q is not name+hash+key", vkey)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatalf("note.NewVerifier(%q): %v", vkey, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	if len(n.Sigs) != 1 || n.Sigs[0].Name != testOrigin {
		t.Errorf("note.Open signatures = %+v", n.Sigs)
	}
	lc, _, _, err := log.ParseCheckpoint(signed, testOrigin, v)
	if err != nil {
		t.Fatalf("log.ParseCheckpoint: %v", err)
	}
	if lc.Size != cp.Size || !bytes.Equal(lc.Hash, cp.Root) {
		t.Errorf("log.ParseCheckpoint = %+v, want %+v", lc, cp)
	}
	if _, err := VerifierKey("bad name", key.Public().(ed25519.PublicKey)); err == nil {
		t.Error("VerifierKey took a name with a space")
	}
}

// TestGoldenCheckpoint pins the exact bytes of one signed checkpoint, so the format cannot drift
// silently. Run with -update to rewrite testdata/checkpoint.golden after a deliberate change.
func TestGoldenCheckpoint(t *testing.T) {
	leaves := make([][]byte, 7)
	for i := range leaves {
		leaves[i] = LeafHash(entry(i))
	}
	tree := NewTree(nil)
	if err := tree.Append(leaves...); err != nil {
		t.Fatal(err)
	}
	key := testKey("golden")
	signed, err := Sign(Checkpoint{Origin: testOrigin, Size: tree.Size(), Root: tree.Root()}, testOrigin, key)
	if err != nil {
		t.Fatal(err)
	}
	vkey, _ := VerifierKey(testOrigin, key.Public().(ed25519.PublicKey))
	got := append([]byte("# verifier key: "+vkey+"\n"), signed...)
	path := filepath.Join("testdata", "checkpoint.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("signed checkpoint changed:\ngot:\n%s\nwant:\n%s", got, want)
	}
	// The golden file verifies with the verifier key it names.
	first, rest, _ := bytes.Cut(want, []byte("\n"))
	v, err := NewVerifier(strings.TrimPrefix(string(first), "# verifier key: "))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := Open(rest, testOrigin, v)
	if err != nil {
		t.Fatalf("golden checkpoint does not open: %v", err)
	}
	if cp.Size != 7 || !bytes.Equal(cp.Root, refRoot(leaves)) {
		t.Errorf("golden checkpoint = %+v, want size 7 and root %x", cp, refRoot(leaves))
	}
}
