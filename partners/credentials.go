package partners

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Environment variables configuring the Keyring.
const (
	// EnvCredentialKeys lists the keys: "k1:<base64 of 32 bytes>,k2:<base64 of 32 bytes>".
	EnvCredentialKeys = "PARTNER_CREDENTIAL_KEYS"
	// EnvCredentialKeyID names the key new credentials are sealed with (default: the last listed).
	EnvCredentialKeyID = "PARTNER_CREDENTIAL_KEY_ID"
)

const (
	keySize   = 32 // AES-256
	nonceSize = 12 // GCM's standard nonce
	maxIDLen  = 64
)

var (
	// ErrNoKeys is returned by Seal and Open when no key is configured.
	ErrNoKeys = errors.New("partners: cannot seal or open partner credentials: " + EnvCredentialKeys + " is not configured")
	// ErrUnknownKey is returned by Open for a credential sealed under a key no longer configured.
	ErrUnknownKey = errors.New("partners: the credential was sealed under a key not in " + EnvCredentialKeys)
	// ErrOpen is returned by Open when the sealed credential does not authenticate: wrong key, wrong
	// associated data, or altered.
	ErrOpen = errors.New("partners: the sealed credential does not open: wrong key or associated data, or altered")
)

// Keyring seals the bearer secrets partners issued to us with AES-256-GCM under named keys. New secrets are
// sealed with the active key; any configured key opens what it sealed, so credentials sealed before a
// rotation stay readable while their key stays listed. A nil or empty Keyring refuses to seal or open. It is
// safe for concurrent use.
type Keyring struct {
	ids    []string // as listed
	aeads  map[string]cipher.AEAD
	active string
}

// ParseKeyring reads PARTNER_CREDENTIAL_KEYS ("k1:<base64>,k2:<base64>": ids of letters, digits, '.', '_'
// and '-'; keys of exactly 32 bytes in standard or URL-safe base64, padded or not) and
// PARTNER_CREDENTIAL_KEY_ID (the active id; empty: the last listed). Empty keys give an empty Keyring, which
// fails only when used. Errors name ids and positions, never key material.
func ParseKeyring(keys, active string) (*Keyring, error) {
	keys, active = strings.TrimSpace(keys), strings.TrimSpace(active)
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	if keys == "" {
		if active != "" {
			return nil, fmt.Errorf("%s is %q but %s lists no keys", EnvCredentialKeyID, active, EnvCredentialKeys)
		}
		return k, nil
	}
	for i, entry := range strings.Split(keys, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(entry), ":")
		id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
		if !ok || id == "" || enc == "" {
			return nil, fmt.Errorf("%s: entry %d is not in the form id:base64key", EnvCredentialKeys, i+1)
		}
		if !validID(id) {
			return nil, fmt.Errorf("%s: entry %d: a key id is 1 to %d letters, digits, '.', '_' or '-'", EnvCredentialKeys, i+1, maxIDLen)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%s: key id %q is listed twice", EnvCredentialKeys, id)
		}
		key, err := decodeKey(enc)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", EnvCredentialKeys, id, err)
		}
		aead, err := newAEAD(key)
		clear(key)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", EnvCredentialKeys, id, err)
		}
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	k.active = k.ids[len(k.ids)-1]
	if active != "" {
		if _, ok := k.aeads[active]; !ok {
			return nil, fmt.Errorf("%s is %q, which %s does not list", EnvCredentialKeyID, active, EnvCredentialKeys)
		}
		k.active = active
	}
	return k, nil
}

// GenerateKey returns a new random 32-byte key in standard base64, for PARTNER_CREDENTIAL_KEYS.
func GenerateKey() string {
	b := make([]byte, keySize)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.StdEncoding.EncodeToString(b)
}

// ActiveKeyID is the id Seal uses ("" when no key is configured).
func (k *Keyring) ActiveKeyID() string {
	if k == nil {
		return ""
	}
	return k.active
}

// KeyIDs lists the configured key ids in the order given.
func (k *Keyring) KeyIDs() []string {
	if k == nil {
		return nil
	}
	return slices.Clone(k.ids)
}

// Seal encrypts plaintext under the active key, binding aad (which Open must be given again: use
// CredentialAAD). sealed is a random 12-byte nonce followed by the ciphertext and its tag; store it with
// keyID.
func (k *Keyring) Seal(plaintext, aad []byte) (keyID string, sealed []byte, err error) {
	if k == nil || k.active == "" {
		return "", nil, ErrNoKeys
	}
	aead := k.aeads[k.active]
	nonce := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("partners: sealing a credential: %w", err)
	}
	return k.active, aead.Seal(nonce, nonce, plaintext, aad), nil
}

// Open decrypts what Seal sealed under keyID with the same aad.
func (k *Keyring) Open(keyID string, sealed, aad []byte) ([]byte, error) {
	if k == nil || len(k.aeads) == 0 {
		return nil, ErrNoKeys
	}
	aead, ok := k.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("%w (key id %q)", ErrUnknownKey, keyID)
	}
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// CredentialAAD is the associated data to seal a partner credential with: it binds the sealed secret to its
// row (site and credential ids), so a sealed value copied to another row does not open.
func CredentialAAD(siteID, credentialID string) []byte {
	return []byte("signetassure/partner_credential/v1\x00" + siteID + "\x00" + credentialID)
}

func validID(id string) bool {
	if len(id) == 0 || len(id) > maxIDLen {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// decodeKey reads a base64 key of exactly 32 bytes; its errors never repeat the input.
func decodeKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(b) != keySize {
			clear(b)
			return nil, fmt.Errorf("the key is %d bytes, want %d (base64 of 32 random bytes)", len(b), keySize)
		}
		return b, nil
	}
	return nil, errors.New("the key is not valid base64")
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errors.New("the key is not a valid AES key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, errors.New("the key cannot be used with GCM")
	}
	return aead, nil
}
