package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signetassure/signetassure/internal/testenv"
)

// The README's case and access walk-throughs, run as written (bash, curl and jq) against `signetassure
// dev`, as a newcomer runs them after `make run`: a person is added, a case opened, its identity checked
// through the Signicat simulator's capture page, the case cleared and the clearance shown; then a grant,
// a level an operator adds by hand in CredoID, and the sync that removes it and reports it. Only the
// tokens, which the README leaves to the reader, and the addresses, which here are free ports, are filled
// in; and the live event stream, which runs until it is stopped, is left out.
func TestReadmeWalkThroughs(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("jq is not installed: the README's walk-throughs use it (.ci/run installs it)")
	}
	caseBlock := readmeBlocks(t, "### A case from start to finish with curl")
	var access []string
	for _, line := range strings.Split(strings.Join(readmeBlocks(t, "### Access follows clearance, with curl"), ""), "\n") {
		if !strings.Contains(line, "/events/stream") {
			access = append(access, line)
		}
	}
	dev := startDev(t, testenv.BuildSignetAssure(t), t.TempDir(), testenv.EmptyDatabaseURL(t), nil)
	answers := func(script string) []json.RawMessage {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", dev.fill(t, script)).CombinedOutput()
		if err != nil {
			t.Fatalf("the walk-through failed: %v\n%s", err, out)
		}
		// The commands answer JSON one after another.
		var all []json.RawMessage
		for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("the walk-through's answers are not JSON: %v\n%s", err, out)
			}
			all = append(all, v)
		}
		return all
	}

	// The case: the last answer lists Jane's clearances, the SC clearance the case granted, active.
	got := answers(caseBlock[0])
	var clearances []struct{ Level, Status string }
	_ = json.Unmarshal(got[len(got)-1], &clearances)
	if len(clearances) != 1 || clearances[0].Level != "SC" || clearances[0].Status != "active" {
		t.Fatalf("want one active SC clearance last, got %s", got[len(got)-1])
	}

	// Access, after the case (the README's variables carry on): the last answer is the findings, among
	// them the level added by hand to Jane's record, removed.
	got = answers(caseBlock[0] + strings.Join(access, "\n"))
	var findings struct {
		Items []struct{ Kind, Action, ACSUserID string }
	}
	_ = json.Unmarshal(got[len(got)-1], &findings)
	removed := slices.ContainsFunc(findings.Items, func(f struct{ Kind, Action, ACSUserID string }) bool {
		return f.Kind == "unapproved_level" && f.Action == "removed"
	})
	if !removed {
		t.Fatalf("want the level added by hand among the findings, removed; got %s", got[len(got)-1])
	}
}

// readmeBlocks are the ```sh blocks between the README heading and the next heading.
func readmeBlocks(t *testing.T, heading string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no heading %q", heading)
	}
	var blocks []string
	for {
		var block string
		before, after, ok := strings.Cut(section, "```sh\n")
		if !ok || strings.Contains(before, "\n#") {
			break
		}
		block, section, _ = strings.Cut(after, "```")
		blocks = append(blocks, block)
	}
	if len(blocks) == 0 {
		t.Fatalf("no ```sh block under %q", heading)
	}
	return blocks
}

// devProc is a running `signetassure dev` on ports of its own.
type devProc struct {
	*proc
	ports  map[string]string // environment variable → port
	tokens map[string]string // role → demo token
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
	"ENTRA_SIM_ADDR":    "127.0.0.1:8096",
	"LDAP_SIM_ADDR":     "127.0.0.1:8636",
}

// startDev runs `signetassure dev` with its data in dataDir and its database at dbURL, on the ports
// given (free ones when nil), and waits until it has printed its welcome (the demo data loaded). It is
// stopped when the test ends.
func startDev(t *testing.T, bin, dataDir, dbURL string, ports map[string]string) *devProc {
	t.Helper()
	d := &devProc{ports: ports}
	if d.ports == nil {
		d.ports = map[string]string{}
		for name := range devPortVars {
			d.ports[name] = testenv.FreePort(t)
		}
	}
	set := map[string]string{"DATABASE_URL": dbURL, "SIGNETASSURE_DATA_DIR": dataDir,
		"TEMPORAL_CLI": filepath.Join(testenv.RepoRoot(), "bin", "temporal")}
	for name := range devPortVars {
		set[name] = "127.0.0.1:" + d.ports[name]
	}
	for _, bare := range []string{"TEMPORAL_DEV_PORT", "TEMPORAL_UI_PORT"} {
		set[bare] = d.ports[bare]
	}
	d.proc = startProc(t, bin, workerEnv(set), "dev")
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
			t.Fatalf("signetassure dev ended before it was ready:\n%s\n%s\nthe Temporal dev server's log:\n%s", d.out.String(),
				tail(filepath.Join(dataDir, "signetassure.log"), 40), tail(filepath.Join(dataDir, "temporal.log"), 40))
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
func (d *devProc) stop() { d.proc.stop(syscall.SIGINT, 30*time.Second) }

// tail is the last n lines of a file, or what went wrong reading it.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// A second `make run` keeps working: the links the first run gave out still lead where they did. The
// capture link of every identity check still pending answers, and every badge system record still
// belongs to the person linked to it (the simulators keep their state in the data folder).
func TestDevTwiceKeepsCaptureAndBadgeLinks(t *testing.T) {
	bin, dataDir, dbURL := testenv.BuildSignetAssure(t), t.TempDir(), testenv.EmptyDatabaseURL(t)
	first := startDev(t, bin, dataDir, dbURL, nil)
	captures, badges := first.links(t)
	if len(captures) == 0 || len(badges) == 0 {
		t.Fatalf("the demo data should give pending capture links and badge records: %v, %v", captures, badges)
	}
	first.stop()

	second := startDev(t, bin, dataDir, dbURL, first.ports) // as `make run` does, on the same ports
	for _, link := range captures {
		if status := httpStatus(t, link); status != http.StatusOK {
			t.Errorf("after a restart the capture link %s answers %d", link, status)
		}
	}
	_, after := second.links(t)
	for user, person := range badges {
		if after[user] != person {
			t.Errorf("after a restart badge record %s belongs to %q, not %q", user, after[user], person)
		}
	}
}

// links are the capture links of the identity checks still pending (each answering 200 now), and the
// badge system's records by id, each with the person SignetAssure links to it and the simulator holds it
// for.
func (d *devProc) links(t *testing.T) (captures []string, badges map[string]string) {
	t.Helper()
	api := "http://127.0.0.1:" + d.ports["HTTP_ADDR"] + "/api/v1"
	var cases struct{ Items []struct{ CaseRef string } }
	d.get(t, api+"/cases?status=identity_check", &cases)
	for _, c := range cases.Items {
		var checks struct {
			Items []struct{ Status, CaptureURL string }
		}
		d.get(t, api+"/cases/"+c.CaseRef+"/identity-checks", &checks)
		if len(checks.Items) > 0 && checks.Items[0].Status == "pending" && checks.Items[0].CaptureURL != "" {
			if status := httpStatus(t, checks.Items[0].CaptureURL); status != http.StatusOK {
				t.Fatalf("a pending check's capture link %s answers %d", checks.Items[0].CaptureURL, status)
			}
			captures = append(captures, checks.Items[0].CaptureURL)
		}
	}
	var sim struct {
		Users []struct {
			ID          int
			Additional1 string
		}
	}
	d.get(t, "http://127.0.0.1:"+d.ports["CREDOID_SIM_ADDR"]+"/sim/state", &sim)
	badges = map[string]string{}
	for _, u := range sim.Users {
		person, ok := strings.CutPrefix(u.Additional1, "sa:")
		if !ok {
			continue
		}
		var access struct {
			Link *struct{ ACSUserID *string }
		}
		d.get(t, api+"/persons/"+person+"/access", &access)
		if access.Link == nil || access.Link.ACSUserID == nil || *access.Link.ACSUserID != fmt.Sprint(u.ID) {
			t.Fatalf("badge record %d holds person %s, whose link in SignetAssure is %+v", u.ID, person, access.Link)
		}
		badges[fmt.Sprint(u.ID)] = person
	}
	return captures, badges
}

// get reads a JSON answer with the case worker's demo token.
func (d *devProc) get(t *testing.T, url string, into any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+d.tokens["case_worker"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
