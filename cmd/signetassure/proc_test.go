package main

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// proc is a signetassure command a test runs, with what it printed.
type proc struct {
	cmd  *exec.Cmd
	out  *testenv.Buffer
	done chan struct{} // closed once the process has ended
}

// startProc runs bin with args in env.
func startProc(t testing.TB, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &testenv.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p
}

// stop sends sig and waits for the process to end; past grace it is killed.
func (p *proc) stop(sig os.Signal, grace time.Duration) {
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// runToExit runs cmd to its end and returns what it printed and its exit code.
func runToExit(t *testing.T, cmd *exec.Cmd) (string, int) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}
