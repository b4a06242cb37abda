package config

import (
	"encoding/base64"
	"fmt"
	"strings"

	"filippo.io/age"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
)

// The variables that configure evidence packs.
const (
	EnvEvidenceDir           = "EVIDENCE_DIR"
	EnvEvidenceEncryptionKey = "EVIDENCE_ENCRYPTION_KEY"
	EnvEvidenceLinkLifetime  = "EVIDENCE_LINK_LIFETIME"
	EnvEvidenceLinkKey       = "EVIDENCE_LINK_KEY"
)

// LoadEvidencePacks reads where evidence packs are kept and how they are encrypted and linked to. Without
// EVIDENCE_ENCRYPTION_KEY it returns nil: evidence packs are off (requests for one get 503). Errors name
// the variable, never a key.
func LoadEvidencePacks(getenv func(string) string) (*evidence.Vault, error) {
	keyText := strings.TrimSpace(getenv(EnvEvidenceEncryptionKey))
	if keyText == "" {
		return nil, nil
	}
	id, err := age.ParseX25519Identity(keyText)
	if err != nil {
		return nil, fmt.Errorf("%s: want an age X25519 identity (AGE-SECRET-KEY-1...)", EnvEvidenceEncryptionKey)
	}
	v := &evidence.Vault{Dir: strings.TrimSpace(getenv(EnvEvidenceDir)), Identity: id, LinkLifetime: evidence.DefaultLinkLifetime}
	if v.Dir == "" {
		return nil, fmt.Errorf("%s: required with %s (a directory the API and the worker share)", EnvEvidenceDir,
			EnvEvidenceEncryptionKey)
	}
	if s := strings.TrimSpace(getenv(EnvEvidenceLinkLifetime)); s != "" {
		if v.LinkLifetime, err = domain.ParseDays(s); err != nil || v.LinkLifetime <= 0 {
			return nil, fmt.Errorf("%s: want a positive duration such as 24h or 7d", EnvEvidenceLinkLifetime)
		}
	}
	if s := strings.TrimSpace(getenv(EnvEvidenceLinkKey)); s != "" {
		if v.LinkKey, err = base64.StdEncoding.DecodeString(s); err != nil || len(v.LinkKey) < 32 {
			return nil, fmt.Errorf("%s: want the base64 of at least 32 random bytes", EnvEvidenceLinkKey)
		}
	} else {
		v.LinkKey = evidence.DeriveLinkKey(id)
	}
	return v, nil
}
