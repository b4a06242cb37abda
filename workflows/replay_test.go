package workflows_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/tracing"
	"github.com/signetassure/signetassure/workflows"
)

// The replay test. Every workflow's recorded histories (testdata/histories/<WorkflowType>/
// <scenario>.<commit>.json, recorded from a real Temporal server by the code of <commit>, see
// testenv.RecordHistory) must replay against today's workflow code: a change that would break a running
// workflow fails here. Each GetVersion patch must be covered on both sides: its new side by a history
// holding its marker, its old side by a history of that workflow recorded by code from before the patch.

// history is one recorded history file.
type history struct {
	path, typ, scenario, commit string
	changeIDs                   []string // the GetVersion change ids its markers record
}

var historyName = regexp.MustCompile(`^([a-z0-9_]+(?:-[0-9]+)?)\.([0-9a-f]{7,40})\.json$`)

func histories(t *testing.T) []history {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*"))
	if err != nil {
		t.Fatal(err)
	}
	var hs []history
	for _, f := range files {
		m := historyName.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			t.Errorf("%s: want a history named <scenario>.<commit>.json", f)
			continue
		}
		h := history{path: f, typ: filepath.Base(filepath.Dir(f)), scenario: m[1], commit: m[2]}
		typ, ids, err := readHistory(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if typ != h.typ {
			t.Errorf("%s is a history of %s, filed under %s", f, typ, h.typ)
		}
		h.changeIDs = ids
		hs = append(hs, h)
	}
	return hs
}

// readHistory reads a history's workflow type and the change ids of its version markers.
func readHistory(path string) (string, []string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var h struct {
		Events []struct {
			Started *struct {
				WorkflowType struct{ Name string } `json:"workflowType"`
			} `json:"workflowExecutionStartedEventAttributes"`
			Marker *struct {
				MarkerName string `json:"markerName"`
				Details    map[string]struct {
					Payloads []struct{ Data string } `json:"payloads"`
				} `json:"details"`
			} `json:"markerRecordedEventAttributes"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return "", nil, err
	}
	if len(h.Events) == 0 || h.Events[0].Started == nil {
		return "", nil, errors.New("the history does not begin with its workflow's start")
	}
	var ids []string
	for _, ev := range h.Events {
		if ev.Marker == nil || ev.Marker.MarkerName != "Version" {
			continue
		}
		for _, p := range ev.Marker.Details["change-id"].Payloads {
			raw, err := base64.StdEncoding.DecodeString(p.Data)
			if err != nil {
				return "", nil, err
			}
			var id string
			if err := json.Unmarshal(raw, &id); err != nil {
				return "", nil, err
			}
			ids = append(ids, id)
		}
	}
	return h.Events[0].Started.WorkflowType.Name, ids, nil
}

// typeName is the name Temporal registers a workflow function under.
func typeName(fn any) string {
	name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}

// replay replays one history against every workflow the worker registers (workflows.All), with the
// interceptors given.
func replay(path string, interceptors ...interceptor.WorkerInterceptor) error {
	return replayWith(nil, path, interceptors...)
}

// replayWith is replay with a logger (nil: the SDK's default, which logs a failed replay's stack).
func replayWith(logger log.Logger, path string, interceptors ...interceptor.WorkerInterceptor) error {
	r, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{Interceptors: interceptors})
	if err != nil {
		return err
	}
	for _, wf := range workflows.All() {
		r.RegisterWorkflow(wf)
	}
	return r.ReplayWorkflowHistoryFromJSONFile(logger, path)
}

func TestRecordedHistoriesReplay(t *testing.T) {
	hs := histories(t)
	byType := map[string]int{}
	for _, h := range hs {
		byType[h.typ]++
	}
	registered := map[string]bool{}
	for _, wf := range workflows.All() {
		registered[typeName(wf)] = true
		if byType[typeName(wf)] == 0 {
			t.Errorf("no recorded history of %s: record one (README, \"Replaying recorded histories\")", typeName(wf))
		}
	}
	for typ := range byType {
		if !registered[typ] {
			t.Errorf("histories of %s, which no worker registers", typ)
		}
	}
	// The workers' client carries the tracing interceptor (temporalx.Instrument): replayed with it,
	// recording spans, so tracing never changes what a workflow does.
	tp := tracing.NewProvider(tracetest.NewInMemoryExporter())
	otel.SetTracerProvider(tp)
	defer tp.Shutdown(context.Background())
	traces, err := tracing.TemporalInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		t.Run(h.typ+"/"+h.scenario+"."+h.commit, func(t *testing.T) {
			if err := replay(h.path, traces); err != nil {
				t.Fatalf("replay %s: %v", h.path, err)
			}
		})
	}
}

// getVersion finds the GetVersion calls in the workflow code.
var getVersion = regexp.MustCompile(`GetVersion\(ctx, "([^"]+)"`)

// changeIDs is every GetVersion change id in the workflow code.
func changeIDs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		found := getVersion.FindAllStringSubmatch(string(b), -1)
		if calls := strings.Count(string(b), "GetVersion("); calls != len(found) {
			t.Fatalf("%s calls GetVersion %d times, %d of them as GetVersion(ctx, \"<change id>\": keep that form, the test reads it",
				f, calls, len(found))
		}
		for _, m := range found {
			ids = append(ids, m[1])
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		t.Fatal("no GetVersion in the workflow code")
	}
	return slices.Compact(ids)
}

// oldSideUnreachable are the patches whose old side no history can take: code from before them never
// reached their GetVersion call. Every other patch needs a history that reaches it without the marker.
var oldSideUnreachable = map[string]string{
	"broadcast-owns-row": "the call is made only for a broadcast to a group (GroupID), which broadcasts started before had no field for",
	"one-open-case":      "the call is made only when the first write is refused as CaseAlreadyOpen, which the same commit brought (with its unique index)",
}

func TestEveryPatchReplayedOnBothSides(t *testing.T) {
	hs := histories(t)
	// Only a history that replays as it is can show where a planted timer is (the others fail
	// TestRecordedHistoriesReplay).
	clean := map[string]bool{}
	replays := func(path string) bool {
		ok, done := clean[path]
		if !done {
			ok = replayWith(quiet, path) == nil
			clean[path] = ok
		}
		return ok
	}
	git := gitAvailable()
	for _, id := range changeIDs(t) {
		t.Run(id, func(t *testing.T) {
			// The new side: a history that holds the patch's marker.
			types := map[string]bool{}
			for _, h := range hs {
				if slices.Contains(h.changeIDs, id) {
					types[h.typ] = true
				}
			}
			if len(types) == 0 {
				t.Fatalf("no recorded history holds the marker of GetVersion %q: record one that goes through its new side", id)
			}
			// The old side taken: a history that reaches the GetVersion call without its marker, so gets
			// DefaultVersion. A timer planted on that side makes exactly those histories fail.
			var reached []string
			for _, h := range hs {
				if !types[h.typ] || slices.Contains(h.changeIDs, id) || !replays(h.path) {
					continue
				}
				if err := replayWith(quiet, h.path, &plantedTimer{changeID: id, oldSide: true}); err != nil {
					if !nonDeterminism(err) {
						t.Errorf("%s with a timer planted on the old side of %q: want a non-determinism error, got: %v", h.path, id, err)
					}
					reached = append(reached, filepath.Base(h.path))
				}
			}
			if why, ok := oldSideUnreachable[id]; ok {
				if len(reached) > 0 {
					t.Errorf("GetVersion %q is listed as having an old side no history takes (%s), yet %v take it", id, why, reached)
				}
			} else if len(reached) == 0 {
				t.Errorf("no recorded history reaches GetVersion %q without its marker: record one, with the code before the patch, that goes through the place it changed", id)
			}
			t.Logf("%q: old side taken by %v", id, reached)
			// The old side recorded: a history of the same workflow recorded by code without the patch.
			if !git {
				t.Skip("no git checkout: which histories predate the patch is not known")
			}
			patch := introducedIn(t, id)
			for typ := range types {
				var before []string
				for _, h := range hs {
					if h.typ == typ && predates(h.commit, patch) {
						before = append(before, filepath.Base(h.path))
					}
				}
				if len(before) == 0 {
					t.Errorf("no history of %s recorded before GetVersion %q (commit %s): record one with the code before it",
						typ, id, patch)
				}
				t.Logf("%s %q (%s): recorded before it: %v", typ, id, patch, before)
			}
		})
	}
}

func gitAvailable() bool {
	return exec.Command("git", "rev-parse", "--git-dir").Run() == nil
}

// introducedIn is the commit that added a change id's GetVersion, or HEAD's working tree ("") while it
// is not yet committed.
func introducedIn(t *testing.T, id string) string {
	t.Helper()
	out, err := exec.Command("git", "log", "--reverse", "--format=%H", "-G", `GetVersion\(ctx, "`+regexp.QuoteMeta(id)+`"`,
		"--", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(string(out), "\n"); first != "" {
		return first
	}
	return ""
}

// predates reports whether the code of commit came before the patch: commit does not hold it (the patch
// is neither commit nor one of its ancestors; a branch that had not merged it yet counts). Any commit
// this checkout has predates a patch not yet committed; a commit it does not have predates nothing.
func predates(commit, patch string) bool {
	if exec.Command("git", "rev-parse", "--verify", "--quiet", commit+"^{commit}").Run() != nil {
		return false
	}
	return patch == "" || exec.Command("git", "merge-base", "--is-ancestor", patch, commit).Run() != nil
}

// The replay test fails on a non-deterministic change. Planted here: a timer the workflow starts inside
// each patch's new branch, right after its GetVersion (clearance-lifecycle among them: a change in that
// branch once passed a replay of histories that never took it). Every history that went through the branch
// must fail to replay with a non-determinism error, and the other histories of that workflow must still
// replay. It fails if the replayer lets the change through.
func TestReplayFailsOnNonDeterministicChange(t *testing.T) {
	hs := histories(t)
	for _, id := range changeIDs(t) {
		t.Run(id, func(t *testing.T) {
			types := map[string]bool{}
			for _, h := range hs {
				if slices.Contains(h.changeIDs, id) {
					types[h.typ] = true
				}
			}
			var through int
			for _, h := range hs {
				if !types[h.typ] || replayWith(quiet, h.path) != nil { // those fail TestRecordedHistoriesReplay
					continue
				}
				err := replayWith(quiet, h.path, &plantedTimer{changeID: id})
				if !slices.Contains(h.changeIDs, id) {
					if err != nil {
						t.Errorf("%s never took the branch, yet fails to replay with the planted change: %v", h.path, err)
					}
					continue
				}
				through++
				if err == nil {
					t.Errorf("%s goes through the %s branch, yet replays with a timer planted in it", h.path, id)
				} else if !nonDeterminism(err) {
					t.Errorf("%s: want a non-determinism error, got: %v", h.path, err)
				}
			}
			if through == 0 {
				t.Fatalf("no recorded history goes through the %s branch", id)
			}
		})
	}
}

// quiet drops the replayer's logs of the failures the planted change is meant to cause.
var quiet = log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))

// nonDeterminism reports whether a replay failed for non-determinism: the SDK's "nondeterministic
// workflow" error, or its TMPRL1100 panics (a command replayed where history has none).
func nonDeterminism(err error) bool {
	return strings.Contains(err.Error(), "nondeterministic") || strings.Contains(err.Error(), "[TMPRL1100]")
}

// plantedTimer is a workflow interceptor that starts a timer whenever the workflow takes the new side of
// a GetVersion patch (the old side, DefaultVersion, with oldSide): a command the recorded histories do not
// have.
type plantedTimer struct {
	interceptor.WorkerInterceptorBase
	changeID string
	oldSide  bool
}

func (p *plantedTimer) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &plantedInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, planted: p}
}

type plantedInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	planted *plantedTimer
}

func (i *plantedInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&plantedOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound},
		planted: i.planted})
}

type plantedOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	planted *plantedTimer
}

func (o *plantedOutbound) GetVersion(ctx workflow.Context, changeID string, minSupported, maxSupported workflow.Version) workflow.Version {
	v := o.Next.GetVersion(ctx, changeID, minSupported, maxSupported)
	if changeID == o.planted.changeID && (v == workflow.DefaultVersion) == o.planted.oldSide {
		o.Next.NewTimer(ctx, time.Hour)
	}
	return v
}
