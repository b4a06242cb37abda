package testenv

import (
	"os/exec"
	"syscall"
)

// DieWithParent has the kernel kill cmd when the test binary dies, so no process a test started (slapd,
// the load harness's api and worker) outlives a crashed test.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
