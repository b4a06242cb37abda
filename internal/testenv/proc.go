package testenv

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BuildSignetAssure builds the signetassure binary into the test's temporary folder, for tests that run
// its processes.
func BuildSignetAssure(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "signetassure")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/signetassure")
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// FreePort is a port on 127.0.0.1 nobody listens on now, below Linux's ephemeral range (32768 and up).
// The Temporal CLI picks its own HTTP API and metrics ports from that range as free ports; a port of ours
// in it could be picked while our server is stopped (a restart) and taken from under it ("bind: address
// already in use", seen in TestDevTwiceKeepsCaptureAndBadgeLinks).
func FreePort(t testing.TB) string {
	t.Helper()
	for range 200 {
		port := 20000 + rand.IntN(12000)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return fmt.Sprint(port)
	}
	t.Fatal("no free port below the ephemeral range")
	return ""
}

// AwaitHTTP gets url until it answers 200 with a body holding want ("" for any), within the time given,
// and returns that body: a process a test started is polled until it serves.
func AwaitHTTP(t testing.TB, url, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if resp.StatusCode == http.StatusOK && strings.Contains(last, want) {
				return last
			}
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond) // polling a process that is starting: the condition is checked above
	}
	t.Fatalf("%s never answered 200 with %q within %s; last:\n%s", url, want, within, last)
	return ""
}
