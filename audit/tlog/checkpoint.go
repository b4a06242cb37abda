package tlog

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is the body of a C2SP tlog-checkpoint: the log's origin, its tree size and root hash.
type Checkpoint struct {
	// Origin names the log, e.g. "<deployment name>/audit": one line, not empty.
	Origin string
	// Size is the number of leaves in the tree.
	Size uint64
	// Root is the RFC 6962 root hash of the tree of Size leaves.
	Root []byte
}

var (
	// ErrUnknownKey: a signed checkpoint carries no signature by any of the keys it was opened with.
	ErrUnknownKey = errors.New("tlog: checkpoint is not signed by any known key")
	// ErrBadSignature: a signature by a known key does not verify (the checkpoint was altered).
	ErrBadSignature = errors.New("tlog: checkpoint signature does not verify")
	// ErrMalformed: a signed checkpoint is not a well-formed signed note or checkpoint body.
	ErrMalformed = errors.New("tlog: malformed checkpoint")
)

// validate reports whether cp can be written as a checkpoint body.
func (cp Checkpoint) validate() error {
	switch {
	case cp.Origin == "":
		return errors.New("origin is empty")
	case strings.ContainsAny(cp.Origin, "\n"):
		return errors.New("origin spans more than one line")
	case len(cp.Root) != HashSize:
		return fmt.Errorf("root hash is %d bytes, want %d", len(cp.Root), HashSize)
	}
	return nil
}

// Body returns the checkpoint body in the C2SP tlog-checkpoint format:
// "<origin>\n<decimal size>\n<base64 root>\n".
func (cp Checkpoint) Body() ([]byte, error) {
	if err := cp.validate(); err != nil {
		return nil, fmt.Errorf("tlog: checkpoint: %w", err)
	}
	return log.Checkpoint{Origin: cp.Origin, Size: cp.Size, Hash: cp.Root}.Marshal(), nil
}

// Sign returns cp as a signed note: the body, a blank line and the signature line
// "— <keyName> <base64(key hash || signature)>\n", signed with key under the name keyName.
// Ed25519 signatures are deterministic: the same checkpoint, name and key give the same bytes.
func Sign(cp Checkpoint, keyName string, key ed25519.PrivateKey) ([]byte, error) {
	body, err := cp.Body()
	if err != nil {
		return nil, err
	}
	signer, err := NewSigner(keyName, key)
	if err != nil {
		return nil, err
	}
	signed, err := note.Sign(&note.Note{Text: string(body)}, signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign checkpoint: %w", err)
	}
	return signed, nil
}

// NewSigner returns a note signer for an Ed25519 private key under the given key name.
func NewSigner(keyName string, key ed25519.PrivateKey) (note.Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("tlog: signer %q: private key is %d bytes, want %d", keyName, len(key), ed25519.PrivateKeySize)
	}
	vkey, err := VerifierKey(keyName, key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	// vkey is "<name>+<hash>+<base64(0x01 || public key)>"; the name has no '+'.
	parts := strings.Split(vkey, "+")
	skey := "PRIVATE+KEY+" + keyName + "+" + parts[1] + "+" +
		base64.StdEncoding.EncodeToString(append([]byte{1}, key.Seed()...))
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("tlog: signer %q: %w", keyName, err)
	}
	return signer, nil
}

// VerifierKey returns the note verifier key string for an Ed25519 public key under the given key
// name: "<name>+<hex key hash>+<base64(0x01 || public key)>". Anyone holding it can verify
// checkpoints with [NewVerifier] or golang.org/x/mod/sumdb/note.NewVerifier.
func VerifierKey(name string, pub ed25519.PublicKey) (string, error) {
	if err := checkKeyName(name); err != nil {
		return "", fmt.Errorf("tlog: verifier key %q: %w", name, err)
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return "", fmt.Errorf("tlog: verifier key %q: %w", name, err)
	}
	return vkey, nil
}

// checkKeyName applies the signed-note rule for key names: non-empty UTF-8 without Unicode spaces
// or '+'.
func checkKeyName(name string) error {
	if name == "" || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '+' }) {
		return errors.New("a key name must be non-empty UTF-8 without spaces or '+'")
	}
	return nil
}

// NewVerifier parses a verifier key string (see [VerifierKey]).
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("tlog: verifier key: %w", err)
	}
	return v, nil
}

// Open verifies a signed checkpoint and returns its body. At least one signature must be by one of
// verifiers (pass every key still trusted, e.g. the old and new ones after a rotation) and every
// signature by one of them must verify; signatures by other keys (a witness's cosignature) are
// ignored. The checkpoint's origin must be origin. Open refuses a checkpoint signed only by unknown
// keys with [ErrUnknownKey], an altered one with [ErrBadSignature], and a malformed one with
// [ErrMalformed]. Extension lines after the root hash are refused: this log writes none.
func Open(signed []byte, origin string, verifiers ...note.Verifier) (Checkpoint, error) {
	if len(verifiers) == 0 {
		return Checkpoint{}, errors.New("tlog: open checkpoint: no verifiers given")
	}
	n, err := note.Open(signed, note.VerifierList(verifiers...))
	if err != nil {
		var invalid *note.InvalidSignatureError
		switch signers, unknown := UnknownSigners(err); {
		case unknown:
			return Checkpoint{}, fmt.Errorf("%w (signed by %s)", ErrUnknownKey, signers)
		case errors.As(err, &invalid):
			return Checkpoint{}, fmt.Errorf("%w: key %s+%08x", ErrBadSignature, invalid.Name, invalid.Hash)
		default:
			return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
	}
	var lc log.Checkpoint
	rest, err := lc.Unmarshal([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(rest) != 0 {
		return Checkpoint{}, fmt.Errorf("%w: unexpected extension lines %q", ErrMalformed, rest)
	}
	cp := Checkpoint{Origin: lc.Origin, Size: lc.Size, Root: lc.Hash}
	if err := cp.validate(); err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if body, _ := cp.Body(); !bytes.Equal(body, []byte(n.Text)) {
		return Checkpoint{}, fmt.Errorf("%w: body is not in canonical form", ErrMalformed)
	}
	if cp.Origin != origin {
		return Checkpoint{}, fmt.Errorf("tlog: checkpoint is for log %q, want %q", cp.Origin, origin)
	}
	return cp, nil
}

// UnknownSigners names the keys (name+hash) that signed a note note.Open found signed by none of the keys
// it was given; unknown is false for any other error.
func UnknownSigners(err error) (signers string, unknown bool) {
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		return "", false
	}
	var names []string
	for _, s := range unverified.Note.UnverifiedSigs {
		names = append(names, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
	}
	return strings.Join(names, ", "), true
}
