package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
)

// Recording reports whether this run records workflow histories for the replay test (SA_RECORD_HISTORY
// set). Recording tests skip without it.
func Recording() bool { return os.Getenv("SA_RECORD_HISTORY") != "" }

// HistoriesDir is where the replay test's recorded histories live, one folder per workflow type.
func HistoriesDir() string {
	return filepath.Join(RepoRoot(), "workflows", "testdata", "histories")
}

var scenarioName = regexp.MustCompile(`^[a-z0-9_]+(-[0-9]+)?$`)

// RecordHistory writes a workflow's event history (its latest run) to
// workflows/testdata/histories/<WorkflowType>/<scenario>.<commit>.json when Recording, where commit is
// the short hash of the HEAD the workflow code was built from. It refuses to record from a workflows
// folder with changes not committed (the name would not say which code ran), and never overwrites a
// file: a history once recorded stays as it was.
func RecordHistory(t testing.TB, c client.Client, workflowID, scenario string) {
	t.Helper()
	if !Recording() {
		return
	}
	h := history(t, c, workflowID, "")
	writeHistory(t, h, scenario)
}

// RecordQueue records (as RecordHistory) every workflow run on a task queue, so a test records all the
// workflows its scenario ran (cases, their children, the workflows they started). When one scenario ran
// several of one type, the second and later (by start time) are named <scenario>-2, -3, and so on, up to
// max per type.
func RecordQueue(t testing.TB, c client.Client, queue, scenario string, max int) {
	t.Helper()
	if !Recording() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	time.Sleep(2 * time.Second) // the server's visibility lists a workflow shortly after it is written
	var runs []*workflowpb.WorkflowExecutionInfo
	var token []byte
	for {
		r, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("TaskQueue = %q", queue), NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r.Executions...)
		if token = r.NextPageToken; len(token) == 0 {
			break
		}
	}
	slices.SortStableFunc(runs, func(a, b *workflowpb.WorkflowExecutionInfo) int {
		return a.GetStartTime().AsTime().Compare(b.GetStartTime().AsTime())
	})
	seen := map[string]int{}
	for _, run := range runs {
		typ := run.GetType().GetName()
		seen[typ]++
		if seen[typ] > max {
			continue
		}
		name := scenario
		if seen[typ] > 1 {
			name = fmt.Sprintf("%s-%d", scenario, seen[typ])
		}
		writeHistory(t, history(t, c, run.GetExecution().GetWorkflowId(), run.GetExecution().GetRunId()), name)
	}
}

// history is one run's history (runID "": the latest run's).
func history(t testing.TB, c client.Client, workflowID, runID string) *historypb.History {
	t.Helper()
	it := c.GetWorkflowHistory(context.Background(), workflowID, runID, false, 0)
	var h historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		h.Events = append(h.Events, ev)
	}
	if len(h.Events) == 0 {
		t.Fatalf("workflow %s has no history", workflowID)
	}
	return &h
}

func writeHistory(t testing.TB, h *historypb.History, scenario string) {
	t.Helper()
	if !scenarioName.MatchString(scenario) {
		t.Fatalf("scenario %q: want lower case letters, digits and underscores", scenario)
	}
	typ := h.Events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName()
	if typ == "" {
		t.Fatal("a history that does not begin with its workflow's start")
	}
	commit, err := recordingCommit()
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(HistoriesDir(), typ)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, scenario+"."+commit+".json")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if os.IsExist(err) {
		t.Errorf("%s is recorded already: not overwritten (a recorded history is never replaced)", path)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %s", path)
}

// recordingCommit is HEAD's short hash, refused while the workflow code differs from it.
func recordingCommit() (string, error) {
	root := RepoRoot()
	dirty, err := exec.Command("git", "-C", root, "status", "--porcelain", "--", "workflows",
		":(exclude)workflows/testdata").Output()
	if err != nil {
		return "", fmt.Errorf("recording a history needs the git checkout: %w", err)
	}
	if len(strings.TrimSpace(string(dirty))) > 0 {
		return "", fmt.Errorf("the workflow code has changes not committed; commit them first, so the history's name says which code recorded it:\n%s", dirty)
	}
	head, err := exec.Command("git", "-C", root, "rev-parse", "--short=7", "HEAD").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(head)), nil
}
