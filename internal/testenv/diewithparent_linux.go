package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// DieWithParent has the kernel kill cmd when the test binary dies, so no process a test started (slapd,
// the load harness's api and worker) outlives a crashed test.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// dyingWithParent is a program in dir that runs exe as DieWithParent would, for a starter that makes the
// exec.Cmd itself (testsuite.StartDevServer): a script exec'ing exe through util-linux's setpriv, which
// sets the death signal and keeps it across the exec. Without setpriv, exe itself.
func dyingWithParent(exe, dir string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		return exe, nil
	}
	script := filepath.Join(dir, filepath.Base(exe))
	body := "#!/bin/sh\nexec " + shellQuote(setpriv) + " --pdeathsig KILL -- " + shellQuote(exe) + ` "$@"` + "\n"
	return script, os.WriteFile(script, []byte(body), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
