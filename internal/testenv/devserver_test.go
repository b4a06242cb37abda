package testenv_test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// childEnv marks the test binary run by TestTemporalDiesWithTheTestBinary as the one to kill.
const childEnv = "SA_TESTENV_KILLED_CHILD"

// A test binary that dies without reaching testenv.Main's end (at its -timeout, say) takes its Temporal dev
// server with it: none is left running for the next run to meet.
func TestTemporalDiesWithTheTestBinary(t *testing.T) {
	if os.Getenv(childEnv) != "" {
		os.Stdout.WriteString("temporal at " + testenv.TemporalAddress(t) + "\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the timeout ends the binary
		return
	}
	child := exec.Command(os.Args[0], "-test.run=^TestTemporalDiesWithTheTestBinary$", "-test.count=1",
		"-test.timeout=5s")
	child.Env = append(os.Environ(), childEnv+"=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	addr := ""
	for addr == "" && lines.Scan() {
		addr, _ = strings.CutPrefix(lines.Text(), "temporal at ")
	}
	if addr == "" {
		child.Process.Kill()
		t.Fatalf("the child test binary started no Temporal dev server: %v", child.Wait())
	}
	if c, err := net.Dial("tcp", addr); err != nil {
		t.Fatalf("the child's dev server at %s does not answer: %v", addr, err)
	} else {
		c.Close()
	}
	if err := child.Wait(); err == nil {
		t.Fatal("the child test binary ended well, not at its timeout")
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the dev server at %s still listens 15 s after its test binary died", addr)
		}
	}
}
