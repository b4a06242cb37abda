package audit

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// The environment variables the keys come from.
const (
	// EnvSigningKey is the base64 of the 32-byte Ed25519 seed checkpoints are signed with.
	EnvSigningKey = "AUDIT_SIGNING_KEY"
	// EnvSigningKeyID names the signing key in each checkpoint (default DefaultKeyID).
	EnvSigningKeyID = "AUDIT_SIGNING_KEY_ID"
	// EnvVerifyKeys lists further public keys, "id:base64pub,id2:base64pub", that checkpoints signed by
	// earlier keys are verified with.
	EnvVerifyKeys = "AUDIT_VERIFY_KEYS"
	// DefaultKeyID is the signing key's id when AUDIT_SIGNING_KEY_ID is not set.
	DefaultKeyID = "k1"
)

// PublicKeys are the keys checkpoints are verified with, by key id.
type PublicKeys map[string]ed25519.PublicKey

// Keys are the checkpoint signing key and every key that verifies checkpoints.
type Keys struct {
	// KeyID names Signing; it is written into each checkpoint it signs.
	KeyID string
	// Signing signs checkpoints; nil when AUDIT_SIGNING_KEY is not set (verification only).
	Signing ed25519.PrivateKey
	// Verify holds Signing's public key under KeyID and the keys of AUDIT_VERIFY_KEYS.
	Verify PublicKeys
}

// ErrNoSigningKey: AUDIT_SIGNING_KEY is not set, so no checkpoint can be signed.
var ErrNoSigningKey = errors.New("no audit signing key: set " + EnvSigningKey)

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// LoadKeys reads the keys from the environment. None of them is required: without AUDIT_SIGNING_KEY the
// keys only verify.
func LoadKeys() (Keys, error) { return ParseKeys(os.Getenv) }

// ParseKeys reads the keys from the variables getenv gives. Errors name the variable, never a key.
func ParseKeys(getenv func(string) string) (Keys, error) {
	k := Keys{KeyID: strings.TrimSpace(getenv(EnvSigningKeyID)), Verify: PublicKeys{}}
	if k.KeyID == "" {
		k.KeyID = DefaultKeyID
	}
	if !keyIDPattern.MatchString(k.KeyID) {
		return Keys{}, fmt.Errorf("%s: a key id is 1 to 64 letters, digits, '.', '_' or '-'", EnvSigningKeyID)
	}
	if s := strings.TrimSpace(getenv(EnvSigningKey)); s != "" {
		seed, err := decodeBase64(s)
		if err != nil || len(seed) != ed25519.SeedSize {
			return Keys{}, fmt.Errorf("%s: want the base64 of a %d-byte Ed25519 seed", EnvSigningKey, ed25519.SeedSize)
		}
		k.Signing = ed25519.NewKeyFromSeed(seed)
		k.Verify[k.KeyID] = k.Signing.Public().(ed25519.PublicKey)
	}
	for item := range strings.SplitSeq(getenv(EnvVerifyKeys), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, b64, ok := strings.Cut(item, ":")
		id = strings.TrimSpace(id)
		if !ok || !keyIDPattern.MatchString(id) {
			return Keys{}, fmt.Errorf("%s: want id:base64-public-key items separated by commas", EnvVerifyKeys)
		}
		pub, err := decodeBase64(strings.TrimSpace(b64))
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return Keys{}, fmt.Errorf("%s: key %q: want the base64 of a %d-byte Ed25519 public key", EnvVerifyKeys,
				id, ed25519.PublicKeySize)
		}
		if have, dup := k.Verify[id]; dup && !have.Equal(ed25519.PublicKey(pub)) {
			return Keys{}, fmt.Errorf("%s: key id %q is given two different keys", EnvVerifyKeys, id)
		}
		k.Verify[id] = pub
	}
	return k, nil
}

// PublicKey is the signing key as an AUDIT_VERIFY_KEYS item ("id:base64pub"), to keep verifying its
// checkpoints after the signing key is replaced; "" without a signing key.
func (k Keys) PublicKey() string {
	if k.Signing == nil {
		return ""
	}
	return k.KeyID + ":" + base64.StdEncoding.EncodeToString(k.Signing.Public().(ed25519.PublicKey))
}

// GenerateKey makes a new signing key: the base64 of a random 32-byte Ed25519 seed, for AUDIT_SIGNING_KEY.
func GenerateKey() (string, error) {
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(seed), nil
}

// decodeBase64 accepts standard or URL-safe base64, padded or not.
func decodeBase64(s string) ([]byte, error) {
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		var b []byte
		if b, err = enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, err
}
