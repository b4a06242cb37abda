package config

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// EnvSecretsDir names a folder of secrets, one file per variable, named as the variable and holding its
// value: `signetassure secrets init` writes the generated keys there for docker-compose.yml, and a
// Kubernetes Secret can be mounted there. A variable set in the environment wins over its file.
const EnvSecretsDir = "SECRETS_DIR"

var variableName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// loadSecretsDir sets each variable the folder has a file for and the environment leaves empty; other files
// (a Kubernetes mount's ..data links) are ignored.
func loadSecretsDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", EnvSecretsDir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !variableName.MatchString(name) || e.IsDir() {
			continue
		}
		if strings.TrimSpace(os.Getenv(name)) != "" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("%s: %w", EnvSecretsDir, err)
		}
		if err := os.Setenv(name, strings.TrimRight(string(b), "\r\n")); err != nil {
			return err
		}
	}
	return nil
}
