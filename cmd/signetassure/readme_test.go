package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// The README's case walk-through, run as written (bash, curl and jq) against `signetassure dev`, as a
// newcomer runs it after `make run`: a person is added, a case opened, its identity checked through the
// Signicat simulator's capture page, the case cleared and the clearance shown. Only the tokens, which
// the README leaves to the reader, and the addresses, which here are free ports, are filled in.
func TestReadmeCaseWalkThrough(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("jq is not installed: the README's walk-throughs use it (.ci/run installs it)")
	}
	script := readmeBlock(t, "### A case from start to finish with curl")
	dev := startDev(t, buildBinary(t), t.TempDir(), testenv.EmptyDatabaseURL(t))
	script = dev.fill(t, script)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	// The commands answer JSON one after another; the last lists Jane's clearances: the SC clearance the
	// case granted, active.
	var clearances []struct{ Level, Status string }
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var last json.RawMessage
		if err := dec.Decode(&last); err != nil {
			t.Fatalf("the walk-through's answers are not JSON: %v\n%s", err, out)
		}
		clearances = nil
		_ = json.Unmarshal(last, &clearances)
	}
	if len(clearances) != 1 || clearances[0].Level != "SC" || clearances[0].Status != "active" {
		t.Fatalf("want one active SC clearance last, got %+v\n%s", clearances, out)
	}
}

// readmeBlock is the first ```sh block after the README heading.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatalf("no ```sh block after %q", heading)
	}
	block, _, _ = strings.Cut(block, "```")
	return block
}

// devProc is a running `signetassure dev` on ports of its own.
type devProc struct {
	ports  map[string]string // environment variable → port
	tokens map[string]string // role → demo token
	cmd    *exec.Cmd
	out    *lockedBuffer
	done   chan struct{}
}

// devPortVars are the environment variables naming the addresses `dev` listens on, with the address
// each has in the README.
var devPortVars = map[string]string{
	"HTTP_ADDR":         "localhost:8080",
	"TEMPORAL_DEV_PORT": "127.0.0.1:7233",
	"TEMPORAL_UI_PORT":  "localhost:8233",
	"CREDOID_SIM_ADDR":  "127.0.0.1:8090",
	"TWILIO_SIM_ADDR":   "127.0.0.1:8093",
	"SENDGRID_SIM_ADDR": "127.0.0.1:8094",
	"SIGNICAT_SIM_ADDR": "127.0.0.1:8095",
}

// startDev runs `signetassure dev` with its data in dataDir and its database at dbURL, on free ports,
// and waits until it has printed its welcome (the demo data loaded). It is stopped when the test ends.
func startDev(t *testing.T, bin, dataDir, dbURL string) *devProc {
	t.Helper()
	d := &devProc{ports: map[string]string{}}
	set := map[string]string{"DATABASE_URL": dbURL, "SIGNETASSURE_DATA_DIR": dataDir,
		"TEMPORAL_CLI": filepath.Join(testenv.RepoRoot(), "bin", "temporal")}
	for name := range devPortVars {
		d.ports[name] = freePort(t)
		set[name] = "127.0.0.1:" + d.ports[name]
	}
	for _, bare := range []string{"TEMPORAL_DEV_PORT", "TEMPORAL_UI_PORT"} {
		set[bare] = d.ports[bare]
	}
	d.out = &lockedBuffer{}
	d.cmd = exec.Command(bin, "dev")
	d.cmd.Env = workerEnv(set)
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			t.Logf("signetassure dev printed:\n%s\nits log:\n%s", d.out.String(), tail(filepath.Join(dataDir, "signetassure.log"), 40))
		}
	})
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(d.out.String(), "Demo tokens") {
		select {
		case <-d.done:
			t.Fatalf("signetassure dev ended before it was ready:\n%s\n%s", d.out.String(),
				tail(filepath.Join(dataDir, "signetassure.log"), 40))
		case <-deadline:
			t.Fatalf("signetassure dev not ready within 3 minutes:\n%s", d.out.String())
		case <-time.After(200 * time.Millisecond):
		}
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "demo-tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	var users []struct{ Role, Token string }
	if err := json.Unmarshal(b, &users); err != nil {
		t.Fatalf("demo-tokens.json: %v", err)
	}
	d.tokens = map[string]string{}
	for _, u := range users {
		d.tokens[u.Role] = u.Token
	}
	return d
}

// fill puts the demo tokens in for the README's placeholders, and this run's ports for the README's.
func (d *devProc) fill(t *testing.T, script string) string {
	t.Helper()
	for role, token := range d.tokens {
		script = strings.ReplaceAll(script, "<"+role+" token>", token)
	}
	if i := strings.Index(script, " token>"); i >= 0 {
		t.Fatalf("a token placeholder the demo has no user for: %q", script[max(0, i-30):i+7])
	}
	for name, addr := range devPortVars {
		host, _, _ := strings.Cut(addr, ":")
		script = strings.ReplaceAll(script, addr, host+":"+d.ports[name])
	}
	return script
}

// stop interrupts `dev`, as Ctrl-C does, and waits for it to end.
func (d *devProc) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// tail is the last n lines of a file, or what went wrong reading it.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
