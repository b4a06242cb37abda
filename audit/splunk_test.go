package audit_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/internal/splunkhec/hectest"
)

// hecReceiver is the simulated Splunk HTTP Event Collector, its events read as checkpoints.
type hecReceiver struct {
	*hectest.Collector
	t *testing.T
}

func newHECReceiver(t *testing.T, token string) hecReceiver {
	return hecReceiver{hectest.New(t, token), t}
}

func (r hecReceiver) answer(names ...string) { r.Script(names...) }

// state is the size of every event posted with the right token, and the events Splunk took; every event
// has the sink's metadata.
func (r hecReceiver) state() (attempts []int64, taken []map[string]any) {
	for _, q := range r.Requests() {
		if !q.Authorized {
			continue
		}
		e := q.Event
		if e.Source != "signetassure" || e.SourceType != "signetassure:audit:checkpoint" || e.Host != "worker-1" ||
			e.Time < float64(time.Now().Add(-time.Minute).Unix()) || e.Time > float64(time.Now().Unix()+1) {
			r.t.Errorf("event metadata: %s", q.Body)
		}
		var ev map[string]any
		if err := json.Unmarshal(e.Event, &ev); err != nil {
			r.t.Errorf("event %s: %v", e.Event, err)
		}
		size, _ := ev["size"].(float64)
		attempts = append(attempts, int64(size))
		if q.Answer == hectest.Success {
			taken = append(taken, ev)
		}
	}
	return attempts, taken
}

// The Splunk HEC sink posts each checkpoint as one event in Splunk's documented format; after Splunk
// answers 503 (server busy) it posts from that checkpoint on, none skipped, none taken twice, and nothing
// is posted again once taken.
func TestSplunkHECSinkDeliversEachCheckpointOnce(t *testing.T) {
	keys := newKeys(t, "k1", "")
	const token = "CF179AE4-3C99-45F5-A7CC-3284AA91CF67"
	r := newHECReceiver(t, token)
	state := filepath.Join(t.TempDir(), "splunk-state.json")
	sink, err := audit.NewSplunkHECSink(r.URL, token, state)
	if err != nil {
		t.Fatal(err)
	}
	sink.Host = "worker-1"
	ctx := context.Background()
	f := &feed{}
	for _, size := range []uint64{3, 5, 8} {
		f.all = append(f.all, treeCheckpoint(t, keys, testOrigin, size))
	}

	r.answer("success", "busy")
	err = sink.Extend(ctx, f.next)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "Server is busy") ||
		!strings.Contains(err.Error(), "tree checkpoint of size 5") || strings.Contains(err.Error(), token) {
		t.Fatalf("Splunk busy: %v", err)
	}
	if cps, _, _ := audit.ReadWitnessFile(state); !slices.Equal(seqs(cps), []int64{3}) {
		t.Fatalf("state after the 503: %v", seqs(cps))
	}
	if err := sink.Extend(ctx, f.next); err != nil {
		t.Fatal(err)
	}
	if err := sink.Extend(ctx, f.next); err != nil { // nothing new
		t.Fatal(err)
	}
	attempts, taken := r.state()
	if !slices.Equal(attempts, []int64{3, 5, 5, 8}) || len(taken) != 3 {
		t.Fatalf("posted %v, %d taken; want 3, 5 (503), 5, 8", attempts, len(taken))
	}
	if !slices.Equal(f.handed, []int64{0, 3, 8}) {
		t.Fatalf("newest handed to next: %v", f.handed)
	}
	for i, ev := range taken {
		want := f.all[i]
		signed, _ := ev["checkpoint"].(string)
		cp := openNote(t, keys, testOrigin, signed)
		if ev["kind"] != "tree" || ev["origin"] != testOrigin || ev["size"] != float64(want.Seq) || cp.Size != uint64(want.Seq) ||
			ev["rootHash"] != base64.StdEncoding.EncodeToString(want.Hash) || ev["keyId"] != keys.KeyID || signed != want.Note {
			t.Errorf("event %d: %v", i, ev)
		}
	}
}

// A token Splunk does not know is an error without the token; the sink's String does not hold it either.
func TestSplunkHECSinkRefusedToken(t *testing.T) {
	keys := newKeys(t, "k1", "")
	r := newHECReceiver(t, "the-right-token")
	const token = "a-wrong-token-7f3a"
	state := filepath.Join(t.TempDir(), "state")
	sink, err := audit.NewSplunkHECSink(r.URL+"/", token, state)
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{all: []audit.SignedCheckpoint{treeCheckpoint(t, keys, testOrigin, 1)}}
	err = sink.Extend(context.Background(), f.next)
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "Invalid token") {
		t.Fatalf("wrong token: %v", err)
	}
	for _, s := range []string{err.Error(), fmt.Sprint(sink), fmt.Sprintf("%+v %#v", sink, sink)} {
		if strings.Contains(s, token) {
			t.Errorf("the token in %q", s)
		}
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state written: %v", err)
	}
}

// A collector is reached over https; http only on loopback. Redirects are not followed.
func TestSplunkHECSinkURL(t *testing.T) {
	for _, u := range []string{"http://splunk.example:8088", "ftp://127.0.0.1", "https://user:pw@splunk.example",
		"splunk.example:8088", "https://splunk.example/?token=x"} {
		if _, err := audit.NewSplunkHECSink(u, "t", "state"); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	for _, u := range []string{"https://splunk.example:8088", "http://127.0.0.1:8088", "http://[::1]:8088", "http://localhost:8088"} {
		s, err := audit.NewSplunkHECSink(u, "t", "state")
		if err != nil || !strings.HasSuffix(s.String(), ":8088/services/collector/event") {
			t.Errorf("%s: %v %v", u, s, err)
		}
	}
	if _, err := audit.NewSplunkHECSink("https://splunk.example", "t", ""); err == nil {
		t.Error("no state file accepted")
	}
	moved := httptest.NewServer(http.RedirectHandler("http://127.0.0.1:1/services/collector/event", http.StatusFound))
	defer moved.Close()
	sink, err := audit.NewSplunkHECSink(moved.URL, "t", filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	keys := newKeys(t, "k1", "")
	f := &feed{all: []audit.SignedCheckpoint{treeCheckpoint(t, keys, testOrigin, 1)}}
	if err := sink.Extend(context.Background(), f.next); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("redirect: %v", err)
	}
}
