package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/signetassure/signetassure/internal/testenv"
)

// `signetassure help` lists every command and subcommand there is, and answers even when the
// environment's configuration is not valid (help is what a person reaches for then).
func TestHelpListsEveryCommandWithoutConfiguration(t *testing.T) {
	bin := testenv.BuildSignetAssure(t)
	cmd := exec.Command(bin, "help")
	cmd.Env = append(os.Environ(), "LOG_LEVEL=chatty", "CASE_SLA=SC=25d")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("help with a bad configuration: %v\n%s", err, out)
	}
	for _, want := range []string{"dev ", "api ", "worker ", "migrate ", "sim credoid|gallagher|twilio|sendgrid|signicat",
		"audit verify [--witness FILE]", "audit checkpoint", "audit public-key", "admin bootstrap --email EMAIL",
		"evidence verify PACK.zip", "secrets init DIR", "help "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("help does not list %q:\n%s", want, out)
		}
	}
}
