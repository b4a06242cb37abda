package audit_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/audit"
)

// splunkDocs is testdata/splunk_hec_docs.json: Splunk's documented requests and answers.
type splunkDocs struct {
	Endpoint      string                       `json:"endpoint"`
	Authorization string                       `json:"authorization"`
	Requests      []map[string]json.RawMessage `json:"requests"`
	Answers       map[string]struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"answers"`
}

func loadSplunkDocs(t *testing.T) splunkDocs {
	t.Helper()
	data, err := os.ReadFile("testdata/splunk_hec_docs.json")
	if err != nil {
		t.Fatal(err)
	}
	var d splunkDocs
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// jsonKind is a JSON value's type: number, string, object, ...
func jsonKind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return ""
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "null"
	}
	return "number"
}

// hecReceiver is a Splunk HTTP Event Collector on loopback: it checks each request against Splunk's
// documented format and answers with the documented answers, as scripted (then success).
type hecReceiver struct {
	t     *testing.T
	docs  splunkDocs
	token string
	srv   *httptest.Server

	mu       sync.Mutex
	script   []string // the answers to give next
	attempts []int64  // the size of every event posted
	taken    []map[string]any
}

func newHECReceiver(t *testing.T, token string) *hecReceiver {
	r := &hecReceiver{t: t, docs: loadSplunkDocs(t), token: token}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hecReceiver) serve(w http.ResponseWriter, req *http.Request) {
	t := r.t
	answer := func(name string) {
		a := r.docs.Answers[name]
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.Status)
		w.Write(a.Body)
	}
	documented := strings.Fields(r.docs.Authorization)
	if got := strings.Fields(req.Header.Get("Authorization")); len(got) != 2 || got[0] != documented[0] || got[1] != r.token {
		answer("invalidToken")
		return
	}
	if req.Method != http.MethodPost || req.URL.Path != r.docs.Endpoint || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %s", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Error(err)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Errorf("body %q: %v", body, err)
		return
	}
	// Every field is one Splunk documents, of the type its examples give it (event: the object form).
	kinds := map[string]string{}
	for _, ex := range r.docs.Requests {
		for k, v := range ex {
			if kinds[k] == "" || jsonKind(v) == "object" {
				kinds[k] = jsonKind(v)
			}
		}
	}
	for k, v := range fields {
		if kinds[k] == "" || jsonKind(v) != kinds[k] {
			t.Errorf("field %q (%s): Splunk documents %q", k, v, kinds[k])
		}
	}
	var e struct {
		Time       float64        `json:"time"`
		Host       string         `json:"host"`
		Source     string         `json:"source"`
		SourceType string         `json:"sourcetype"`
		Event      map[string]any `json:"event"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Error(err)
		return
	}
	if e.Source != "signetassure" || e.SourceType != "signetassure:audit:checkpoint" || e.Host != "worker-1" ||
		e.Time < float64(time.Now().Add(-time.Minute).Unix()) || e.Time > float64(time.Now().Unix()+1) {
		t.Errorf("event metadata: %s", body)
	}
	size, _ := e.Event["size"].(float64)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, int64(size))
	name := "success"
	if len(r.script) > 0 {
		name, r.script = r.script[0], r.script[1:]
	}
	if name == "success" {
		r.taken = append(r.taken, e.Event)
	}
	answer(name)
}

func (r *hecReceiver) answer(names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = names
}

func (r *hecReceiver) state() (attempts []int64, taken []map[string]any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.attempts), slices.Clone(r.taken)
}

// The Splunk HEC sink posts each checkpoint as one event in Splunk's documented format; after Splunk
// answers 503 (server busy) it posts from that checkpoint on, none skipped, none taken twice, and nothing
// is posted again once taken.
func TestSplunkHECSinkDeliversEachCheckpointOnce(t *testing.T) {
	keys := newKeys(t, "k1", "")
	const token = "CF179AE4-3C99-45F5-A7CC-3284AA91CF67"
	r := newHECReceiver(t, token)
	state := filepath.Join(t.TempDir(), "splunk-state.json")
	sink, err := audit.NewSplunkHECSink(r.srv.URL, token, state)
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
	sink, err := audit.NewSplunkHECSink(r.srv.URL+"/", token, state)
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
