package config

import (
	"strings"
	"testing"

	"github.com/signetassure/signetassure/partners"
)

func TestEvidenceKey(t *testing.T) {
	key := partners.GenerateKey()
	for _, v := range []string{key, "old:" + partners.GenerateKey() + ",new:" + key} {
		k, err := ParseEvidenceKey(v)
		if err != nil || len(k.KeyIDs()) == 0 {
			t.Fatalf("EVIDENCE_KEY refused: %v", err)
		}
		keyID, sealed, err := k.Seal([]byte("zip"), []byte("aad"))
		if err != nil || keyID == "" || strings.Contains(string(sealed), "zip") {
			t.Fatalf("sealing with the evidence key: %q %v", keyID, err)
		}
	}
	for _, bad := range []string{"not base64!", "c2hvcnQ=", "k1:" + key + ",k1:" + key} {
		_, err := ParseEvidenceKey(bad)
		if err == nil || !strings.HasPrefix(err.Error(), EnvEvidenceKey+": ") || strings.Contains(err.Error(), "PARTNER") ||
			strings.Contains(err.Error(), key) {
			t.Errorf("EVIDENCE_KEY %q: error %v, want one naming EVIDENCE_KEY and never the key", bad, err)
		}
	}
}

func TestEvidenceKeyRequiredWithSignicat(t *testing.T) {
	t.Setenv("SIGNICAT_CLIENT_ID", "client")
	t.Setenv("SIGNICAT_CLIENT_SECRET", "secret")
	t.Setenv(EnvEvidenceKey, "")
	if _, err := Load(); err == nil || !strings.Contains(err.Error(), EnvEvidenceKey) {
		t.Fatalf("identity checks without EVIDENCE_KEY: %v, want refused", err)
	}
	t.Setenv(EnvEvidenceKey, partners.GenerateKey())
	c, err := Load()
	if err != nil || len(c.Identity.Evidence.KeyIDs()) != 1 {
		t.Fatalf("with EVIDENCE_KEY: %v", err)
	}
}
