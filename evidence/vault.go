package evidence

import (
	"bufio"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
)

// Vault keeps built packs: each in one file under Dir, encrypted with age to the X25519 key
// (EVIDENCE_ENCRYPTION_KEY), and signs the expiring links they are downloaded by.
type Vault struct {
	// Dir holds the packs (EVIDENCE_DIR), one <pack id>.zip.age each; the API and the worker share it.
	Dir string
	// Identity decrypts the packs; its recipient encrypts them.
	Identity *age.X25519Identity
	// LinkKey signs download links (HMAC-SHA256).
	LinkKey []byte
	// LinkLifetime is how long a link lasts unless the pack asks for another lifetime.
	LinkLifetime time.Duration
}

// DefaultLinkLifetime is EVIDENCE_LINK_LIFETIME's default.
const DefaultLinkLifetime = 24 * time.Hour

// DeriveLinkKey derives the link-signing key from the encryption key, for deployments that set no
// EVIDENCE_LINK_KEY: HMAC-SHA256 of a fixed label under the key's text.
func DeriveLinkKey(id *age.X25519Identity) []byte {
	m := hmac.New(sha256.New, []byte(id.String()))
	m.Write([]byte("signetassure-evidence-link-key-v1"))
	return m.Sum(nil)
}

// Path is where pack id is kept.
func (v *Vault) Path(id uuid.UUID) string { return filepath.Join(v.Dir, id.String()+".zip.age") }

// Sealed is a pack being written: an encrypted temporary file that becomes the pack's file at Commit,
// so that a build cut short leaves no pack, and a retried build writes the one pack again whole.
type Sealed struct {
	io.Writer
	v    *Vault
	id   uuid.UUID
	tmp  *os.File
	buf  *bufio.Writer
	enc  io.WriteCloser
	sum  hash.Hash
	size int64
}

// Create starts writing pack id. Write the zip to it, then Commit (or Abort).
func (v *Vault) Create(id uuid.UUID) (*Sealed, error) {
	if v == nil || v.Identity == nil {
		return nil, errors.New("evidence: no encryption key (EVIDENCE_ENCRYPTION_KEY)")
	}
	if err := os.MkdirAll(v.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	tmp, err := os.CreateTemp(v.Dir, "."+id.String()+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("evidence: %w", err)
	}
	s := &Sealed{v: v, id: id, tmp: tmp, sum: sha256.New()}
	s.buf = bufio.NewWriterSize(io.MultiWriter(tmp, s.sum, (*counter)(&s.size)), 256<<10)
	if s.enc, err = age.Encrypt(s.buf, v.Identity.Recipient()); err != nil {
		s.Abort()
		return nil, fmt.Errorf("evidence: %w", err)
	}
	s.Writer = s.enc
	return s, nil
}

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

// Commit finishes the encryption, syncs the file and renames it to the pack's path (replacing one a
// previous attempt may have left). It returns the stored file's size and SHA-256.
func (s *Sealed) Commit() (int64, []byte, error) {
	err := s.enc.Close()
	if err == nil {
		err = s.buf.Flush()
	}
	if err == nil {
		err = s.tmp.Sync()
	}
	if cerr := s.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(s.tmp.Name(), s.v.Path(s.id))
	}
	if err != nil {
		_ = os.Remove(s.tmp.Name())
		return 0, nil, fmt.Errorf("evidence: store the pack: %w", err)
	}
	if d, err := os.Open(s.v.Dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return s.size, s.sum.Sum(nil), nil
}

// Abort drops the temporary file.
func (s *Sealed) Abort() {
	_ = s.tmp.Close()
	_ = os.Remove(s.tmp.Name())
}

// Open reads pack id decrypted, after checking the stored file's SHA-256 is want (the digest recorded
// when it was built): a file changed at rest is refused.
func (v *Vault) Open(id uuid.UUID, want []byte) (io.ReadCloser, error) {
	f, err := os.Open(v.Path(id))
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, err
	}
	if !hmac.Equal(h.Sum(nil), want) {
		f.Close()
		return nil, errors.New("evidence: the stored pack's digest is not the one recorded")
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	r, err := age.Decrypt(bufio.NewReaderSize(f, 256<<10), v.Identity)
	if err != nil {
		f.Close()
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, f}, nil
}

// Link is a signed download link's query: the pack, when it expires and a nonce, under an HMAC-SHA256
// signature.
type Link struct {
	PackID  uuid.UUID
	Expires time.Time
	Nonce   string
	Sig     string
}

// Query is the link's query string.
func (l Link) Query() string {
	return "expires=" + strconv.FormatInt(l.Expires.Unix(), 10) + "&nonce=" + l.Nonce + "&sig=" + l.Sig
}

// SignLink makes a link to pack id that expires at expires.
func (v *Vault) SignLink(id uuid.UUID, expires time.Time) Link {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	l := Link{PackID: id, Expires: expires.UTC().Truncate(time.Second), Nonce: base64.RawURLEncoding.EncodeToString(b)}
	l.Sig = v.linkMAC(l)
	return l
}

func (v *Vault) linkMAC(l Link) string {
	m := hmac.New(sha256.New, v.LinkKey)
	m.Write([]byte("signetassure-evidence-link-v1\n" + l.PackID.String() + "\n" + strconv.FormatInt(l.Expires.Unix(), 10) +
		"\n" + l.Nonce + "\n"))
	return hex.EncodeToString(m.Sum(nil))
}

// Link refusals.
var (
	ErrLinkSignature = errors.New("the link's signature is not valid")
	ErrLinkExpired   = errors.New("the link has expired")
)

// CheckLink checks a link's signature, then its expiry, at now.
func (v *Vault) CheckLink(id uuid.UUID, expires, nonce, sig string, now time.Time) (Link, error) {
	secs, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || nonce == "" || len(nonce) > 64 || strings.ContainsAny(nonce, "\n&") || len(v.LinkKey) == 0 {
		return Link{}, ErrLinkSignature
	}
	l := Link{PackID: id, Expires: time.Unix(secs, 0).UTC(), Nonce: nonce, Sig: sig}
	if !hmac.Equal([]byte(v.linkMAC(l)), []byte(strings.ToLower(sig))) {
		return l, ErrLinkSignature
	}
	if !now.Before(l.Expires) {
		return l, ErrLinkExpired
	}
	return l, nil
}
