package evidence

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
)

func testVault(t *testing.T) *Vault {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return &Vault{Dir: t.TempDir(), Identity: id, LinkKey: DeriveLinkKey(id), LinkLifetime: time.Hour}
}

// A pack is stored encrypted, in one file that appears whole at Commit, and opens only while its digest
// is the one recorded.
func TestVaultStoresEncrypted(t *testing.T) {
	v := testVault(t)
	id := uuid.New()
	plain := bytes.Repeat([]byte("PK record "), 1000)
	s, err := v.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(plain); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(v.Path(id)); err == nil {
		t.Fatal("the pack's file exists before Commit")
	}
	size, sum, err := s.Commit()
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := os.ReadFile(v.Path(id))
	if int64(len(stored)) != size || bytes.Contains(stored, []byte("PK record")) {
		t.Fatalf("stored %d bytes (said %d), or in the clear", len(stored), size)
	}
	rc, err := v.Open(id, sum)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, plain) {
		t.Fatal("the pack does not decrypt to what was written")
	}
	stored[len(stored)-1] ^= 1
	if err := os.WriteFile(v.Path(id), stored, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Open(id, sum); err == nil {
		t.Fatal("an altered stored pack opens")
	}
	entries, _ := os.ReadDir(v.Dir)
	if len(entries) != 1 {
		t.Fatalf("%d files in the directory, want the pack alone", len(entries))
	}
}

// A link checks only with its own pack id, expiry, nonce and signature, and only before it expires.
func TestVaultLinks(t *testing.T) {
	v := testVault(t)
	id := uuid.New()
	now := time.Now()
	l := v.SignLink(id, now.Add(time.Hour))
	expires := strings.TrimPrefix(strings.Split(l.Query(), "&")[0], "expires=")
	if _, err := v.CheckLink(id, expires, l.Nonce, l.Sig, now); err != nil {
		t.Fatalf("a fresh link: %v", err)
	}
	later := strconv.FormatInt(l.Expires.Unix()+3600, 10)
	for _, c := range []struct {
		id                  uuid.UUID
		expires, nonce, sig string
		at                  time.Time
		want                error
	}{
		{uuid.New(), expires, l.Nonce, l.Sig, now, ErrLinkSignature},
		{id, later, l.Nonce, l.Sig, now, ErrLinkSignature},
		{id, expires, l.Nonce + "x", l.Sig, now, ErrLinkSignature},
		{id, expires, l.Nonce, strings.Repeat("0", 64), now, ErrLinkSignature},
		{id, "soon", l.Nonce, l.Sig, now, ErrLinkSignature},
		{id, expires, l.Nonce, l.Sig, now.Add(2 * time.Hour), ErrLinkExpired},
	} {
		if _, err := v.CheckLink(c.id, c.expires, c.nonce, c.sig, c.at); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c, err, c.want)
		}
	}
	other := testVault(t)
	if _, err := other.CheckLink(id, expires, l.Nonce, l.Sig, now); !errors.Is(err, ErrLinkSignature) {
		t.Errorf("a link checks under another deployment's key: %v", err)
	}
}
