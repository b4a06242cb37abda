package config

import (
	"os"
	"path/filepath"
	"testing"
)

// SECRETS_DIR's files set the variables they are named for, unless the environment sets them; files
// that are not variable names (a Kubernetes Secret mount's ..data) are not read.
func TestSecretsDirFillsWhatTheEnvironmentLeavesEmpty(t *testing.T) {
	dir := t.TempDir()
	for name, value := range map[string]string{"TEMPORAL_TASK_QUEUE": "from-file\n", "LOG_LEVEL": "debug\n", "..data": "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(EnvSecretsDir, dir)
	t.Setenv("TEMPORAL_TASK_QUEUE", "")
	t.Setenv("LOG_LEVEL", "warn")
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if c.TaskQueue != "from-file" || c.LogLevel.String() != "WARN" {
		t.Fatalf("task queue %q (want the file's), log level %v (want the environment's)", c.TaskQueue, c.LogLevel)
	}
	t.Setenv(EnvSecretsDir, filepath.Join(dir, "missing"))
	if _, err := Load(); err == nil {
		t.Fatal("a SECRETS_DIR that does not exist was accepted")
	}
}
