package partners

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func b64(n int, fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, n))
}

func mustKeyring(t *testing.T, keys, active string) *Keyring {
	t.Helper()
	k, err := ParseKeyring(keys, active)
	if err != nil {
		t.Fatalf("ParseKeyring: %v", err)
	}
	return k
}

func TestKeyringRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1:"+GenerateKey(), "")
	aad := CredentialAAD("site-1", "cred-1")
	id, sealed, err := k.Seal([]byte(testSecret), aad)
	if err != nil || id != "k1" {
		t.Fatalf("Seal = %q, %v", id, err)
	}
	if len(sealed) != 12+len(testSecret)+16 || bytes.Contains(sealed, []byte(testSecret)) {
		t.Errorf("sealed is %d bytes: %x", len(sealed), sealed)
	}
	plain, err := k.Open(id, sealed, aad)
	if err != nil || string(plain) != testSecret {
		t.Fatalf("Open = %q, %v", plain, err)
	}
	// A fresh nonce each time.
	_, again, _ := k.Seal([]byte(testSecret), aad)
	if bytes.Equal(again[:12], sealed[:12]) || bytes.Equal(again, sealed) {
		t.Error("two seals share a nonce")
	}
	// Empty plaintext and nil AAD work too.
	id, s, err := k.Seal(nil, nil)
	if p, err2 := k.Open(id, s, nil); err != nil || err2 != nil || len(p) != 0 {
		t.Errorf("empty round trip: %q, %v, %v", p, err, err2)
	}
}

func TestKeyringWrongAADFails(t *testing.T) {
	k := mustKeyring(t, "k1:"+GenerateKey(), "")
	id, sealed, _ := k.Seal([]byte(testSecret), CredentialAAD("site-1", "cred-1"))
	for _, aad := range [][]byte{nil, CredentialAAD("site-1", "cred-2"), CredentialAAD("site-2", "cred-1"), CredentialAAD("site-1cred-1", "")} {
		if p, err := k.Open(id, sealed, aad); !errors.Is(err, ErrOpen) || p != nil {
			t.Errorf("Open with AAD %q = %q, %v", aad, p, err)
		}
	}
}

func TestKeyringTamperedCiphertextFails(t *testing.T) {
	k := mustKeyring(t, "k1:"+GenerateKey(), "")
	aad := []byte("row")
	id, sealed, _ := k.Seal([]byte(testSecret), aad)
	for i := range sealed { // nonce, ciphertext and tag
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := k.Open(id, bad, aad); !errors.Is(err, ErrOpen) {
			t.Fatalf("byte %d flipped: err = %v", i, err)
		}
	}
	for _, bad := range [][]byte{nil, sealed[:11], sealed[:27], sealed[:len(sealed)-1], append(bytes.Clone(sealed), 0)} {
		if _, err := k.Open(id, bad, aad); !errors.Is(err, ErrOpen) {
			t.Errorf("%d bytes: err = %v", len(bad), err)
		}
	}
	// Another key with the same id does not open it.
	other := mustKeyring(t, "k1:"+GenerateKey(), "")
	if _, err := other.Open(id, sealed, aad); !errors.Is(err, ErrOpen) {
		t.Errorf("another key: err = %v", err)
	}
}

func TestKeyringRotation(t *testing.T) {
	k1, k2 := GenerateKey(), GenerateKey()
	before := mustKeyring(t, "k1:"+k1, "")
	aad := CredentialAAD("s", "c")
	oldID, oldSealed, err := before.Seal([]byte("old secret"), aad)
	if err != nil || oldID != "k1" {
		t.Fatal(oldID, err)
	}

	for _, after := range []*Keyring{
		mustKeyring(t, "k1:"+k1+",k2:"+k2, ""),   // the last listed is active
		mustKeyring(t, "k2:"+k2+",k1:"+k1, "k2"), // or the one named
	} {
		if after.ActiveKeyID() != "k2" {
			t.Fatalf("active = %q", after.ActiveKeyID())
		}
		if p, err := after.Open(oldID, oldSealed, aad); err != nil || string(p) != "old secret" {
			t.Errorf("k1's credential after rotation: %q, %v", p, err)
		}
		newID, newSealed, err := after.Seal([]byte("new secret"), aad)
		if err != nil || newID != "k2" {
			t.Fatalf("new seal under %q, %v", newID, err)
		}
		if p, err := after.Open(newID, newSealed, aad); err != nil || string(p) != "new secret" {
			t.Errorf("k2's credential: %q, %v", p, err)
		}
		// Opening under the wrong named key fails.
		if _, err := after.Open("k1", newSealed, aad); !errors.Is(err, ErrOpen) {
			t.Errorf("k2's credential opened with k1: %v", err)
		}
	}

	// Once k1 is dropped, its credentials say which key is missing.
	dropped := mustKeyring(t, "k2:"+k2, "")
	if _, err := dropped.Open(oldID, oldSealed, aad); !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("dropped key: err = %v", err)
	}
	// Choosing k1 as active again is allowed.
	if k := mustKeyring(t, "k1:"+k1+",k2:"+k2, "k1"); k.ActiveKeyID() != "k1" || strings.Join(k.KeyIDs(), ",") != "k1,k2" {
		t.Errorf("active %q, ids %v", k.ActiveKeyID(), k.KeyIDs())
	}
}

func TestKeyringWithoutKeys(t *testing.T) {
	empty := mustKeyring(t, "", "")
	var nilRing *Keyring
	for _, k := range []*Keyring{empty, nilRing} {
		_, _, err := k.Seal([]byte("x"), nil)
		if !errors.Is(err, ErrNoKeys) || !strings.Contains(err.Error(), "PARTNER_CREDENTIAL_KEYS is not configured") {
			t.Errorf("Seal: err = %v", err)
		}
		if _, err := k.Open("k1", make([]byte, 40), nil); !errors.Is(err, ErrNoKeys) {
			t.Errorf("Open: err = %v", err)
		}
		if k.ActiveKeyID() != "" || len(k.KeyIDs()) != 0 {
			t.Errorf("active %q, ids %v", k.ActiveKeyID(), k.KeyIDs())
		}
	}
	if _, err := ParseKeyring("  ", "k1"); err == nil {
		t.Error("an active id without keys is accepted")
	}
}

func TestParseKeyringAcceptsSpacingAndBase64Variants(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32) // encodes with '+' and '/' (or '-' and '_')
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		keys := " a.b_c-1 : " + enc.EncodeToString(raw) + " ,  k2:" + GenerateKey() + "\n"
		k := mustKeyring(t, keys, " a.b_c-1 ")
		if k.ActiveKeyID() != "a.b_c-1" || strings.Join(k.KeyIDs(), ",") != "a.b_c-1,k2" {
			t.Errorf("%q: active %q, ids %v", keys, k.ActiveKeyID(), k.KeyIDs())
		}
	}
}

func TestParseKeyringRejectsMalformed(t *testing.T) {
	good, other := b64(32, 7), b64(32, 9)
	for _, tc := range []struct{ keys, active, want string }{
		{"k1:" + b64(32, 7)[:40] + "!!!!", "", "not valid base64"},
		{"k1:not base64 at all", "", "not valid base64"},
		{"k1:" + b64(16, 7), "", "16 bytes"},
		{"k1:" + b64(31, 7), "", "31 bytes"},
		{"k1:" + b64(33, 7), "", "33 bytes"},
		{"k1:" + good + ",k1:" + other, "", `"k1" is listed twice`},
		{"k1:" + good + ",k2:" + other, "k3", `"k3"`},
		{"k1:" + good, "K1", `"K1"`},
		{good, "", "entry 1 is not in the form id:base64key"},
		{"k1:" + good + ",", "", "entry 2"},
		{"k1:" + good + ",,k2:" + other, "", "entry 2"},
		{":" + good, "", "entry 1"},
		{"k1:", "", "entry 1"},
		{"k 1:" + good, "", "key id"},
		{"k/1:" + good, "", "key id"},
		{strings.Repeat("k", 65) + ":" + good, "", "key id"},
	} {
		k, err := ParseKeyring(tc.keys, tc.active)
		if err == nil || k != nil {
			t.Errorf("ParseKeyring(%q, %q) accepted", tc.keys, tc.active)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) {
			t.Errorf("ParseKeyring(%q, %q) = %q, want it to say %q", tc.keys, tc.active, msg, tc.want)
		}
		// Errors never repeat key material.
		for _, secret := range []string{good, other, good[:16], other[:16], b64(16, 7)[:16], "not base64"} {
			if strings.Contains(msg, secret) {
				t.Errorf("error %q repeats key material", msg)
			}
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	raw, err := base64.StdEncoding.DecodeString(a)
	if err != nil || len(raw) != 32 || a == b {
		t.Fatalf("GenerateKey = %q, %q (%v)", a, b, err)
	}
	mustKeyring(t, "dev:"+a, "")
}
