package config

import (
	"strings"
	"testing"
	"time"

	"filippo.io/age"
)

func TestLoadEvidencePacks(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if v, err := LoadEvidencePacks(env(nil)); v != nil || err != nil {
		t.Fatalf("without a key: %v %v, want evidence packs off", v, err)
	}
	v, err := LoadEvidencePacks(env(map[string]string{EnvEvidenceEncryptionKey: id.String(), EnvEvidenceDir: "/srv/evidence"}))
	if err != nil || v.Dir != "/srv/evidence" || v.LinkLifetime != 24*time.Hour || len(v.LinkKey) != 32 {
		t.Fatalf("defaults: %+v %v", v, err)
	}
	v, err = LoadEvidencePacks(env(map[string]string{EnvEvidenceEncryptionKey: id.String(), EnvEvidenceDir: "/srv/evidence",
		EnvEvidenceLinkLifetime: "7d", EnvEvidenceLinkKey: "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}))
	if err != nil || v.LinkLifetime != 7*24*time.Hour || string(v.LinkKey) != "01234567890123456789012345678901" {
		t.Fatalf("set: %+v %v", v, err)
	}
	for _, bad := range []struct {
		env  map[string]string
		name string
	}{
		{map[string]string{EnvEvidenceEncryptionKey: "AGE-SECRET-KEY-1NOTAKEY", EnvEvidenceDir: "/x"}, EnvEvidenceEncryptionKey},
		{map[string]string{EnvEvidenceEncryptionKey: id.String()}, EnvEvidenceDir},
		{map[string]string{EnvEvidenceEncryptionKey: id.String(), EnvEvidenceDir: "/x", EnvEvidenceLinkLifetime: "soon"}, EnvEvidenceLinkLifetime},
		{map[string]string{EnvEvidenceEncryptionKey: id.String(), EnvEvidenceDir: "/x", EnvEvidenceLinkKey: "c2hvcnQ="}, EnvEvidenceLinkKey},
	} {
		_, err := LoadEvidencePacks(env(bad.env))
		if err == nil || !strings.HasPrefix(err.Error(), bad.name+": ") || strings.Contains(err.Error(), id.String()) {
			t.Errorf("%v: error %v, want one naming %s and never the key", bad.env, err, bad.name)
		}
	}
}
