package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/signetassure/signetassure/config"
)

// `secrets init` generates every key a deployment makes for itself, private to its owner, keeps them
// across starts, and what it writes is a configuration that turns on what the keys are for
// (partner credentials, signed audit checkpoints, identity evidence, evidence packs) through SECRETS_DIR.
func TestSecretsInitMakesAWorkingConfigurationOnce(t *testing.T) {
	dir := t.TempDir()
	if err := runSecrets([]string{"init", dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	first := map[string]string{}
	for _, s := range generatedSecrets {
		path := filepath.Join(dir, s.name)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", s.name, info.Mode().Perm())
		}
		b, _ := os.ReadFile(path)
		first[s.name] = string(b)
		t.Setenv(s.name, "") // what the files say, and restored after the test
	}
	if err := runSecrets([]string{"init", dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	for name, was := range first {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != was {
			t.Errorf("a second init changed %s", name)
		}
	}

	t.Setenv(config.EnvSecretsDir, dir)
	t.Setenv(config.EnvEvidenceDir, t.TempDir())
	t.Setenv("SIGNICAT_CLIENT_ID", "")
	cfg, err := config.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Keyring.KeyIDs()) != 1 || cfg.Audit.Keys.Signing == nil || cfg.Evidence == nil ||
		len(cfg.Identity.Evidence.KeyIDs()) != 1 {
		t.Fatalf("the generated keys did not configure everything: keyring %v, signing key %v, evidence packs %v, evidence key %v",
			cfg.Keyring.KeyIDs(), cfg.Audit.Keys.Signing != nil, cfg.Evidence != nil, cfg.Identity.Evidence.KeyIDs())
	}
	if err := runSecrets([]string{"init"}, io.Discard); err != errSecretsUsage {
		t.Fatalf("init without a folder: %v", err)
	}
}
