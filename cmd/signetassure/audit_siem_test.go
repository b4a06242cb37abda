package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signetassure/signetassure/audit"
)

// `audit checkpoint` with AUDIT_SPLUNK_HEC_*: Splunk busy fails the run after the witness file took the
// tree's checkpoint; the next run posts it, once; and the checkpoint Splunk took holds the log to it, as
// the witness file does: a rewritten tree is not sent.
func TestAuditCheckpointToSplunk(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var events []map[string]any
	busy := true
	hec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Splunk tok-1" || r.URL.Path != "/services/collector/event" {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `{"text":"Invalid token","code":4}`)
			return
		}
		var body struct {
			Event map[string]any `json:"event"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if busy {
			busy = false
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"text":"Server is busy","code":9}`)
			return
		}
		events = append(events, body.Event)
		io.WriteString(w, `{"text":"Success","code":0}`)
	}))
	defer hec.Close()
	witness := filepath.Join(dir, "witness.jsonl")
	a := newTreeCLI(t, auditKeyEnv(t, map[string]string{"AUDIT_WITNESS_FILE": witness, "AUDIT_SPLUNK_HEC_URL": hec.URL,
		"AUDIT_SPLUNK_HEC_TOKEN": "tok-1", "AUDIT_SPLUNK_HEC_STATE": filepath.Join(dir, "splunk-state.json")}))
	keys, err := audit.ParseKeys(func(k string) string { return a.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a.entries(5, time.Minute)
	a.sequenceWith(keys)
	if out, err := a.run("checkpoint"); err == nil || !strings.Contains(err.Error(), "503") || strings.Contains(err.Error(), "tok-1") {
		t.Fatalf("checkpoint with Splunk busy: %q, %v", out, err)
	}
	if lines := readWitness(t, witness); len(lines) != 1 || lines[0].Seq != 5 {
		t.Fatalf("the witness file behind Splunk busy: %+v", lines)
	}
	if out := a.must("checkpoint"); !strings.Contains(out, "of 5 leaves, is witnessed (1 checkpoints appended)") {
		t.Fatalf("checkpoint: %q", out)
	}
	a.must("checkpoint")
	mu.Lock()
	if len(events) != 1 || events[0]["kind"] != "tree" || events[0]["size"] != float64(5) ||
		!strings.HasPrefix(events[0]["checkpoint"].(string), "example.org/audit\n5\n") {
		t.Fatalf("Splunk took %v", events)
	}
	mu.Unlock()

	// Without the witness file, the checkpoint Splunk took is what the rewritten tree must extend.
	delete(a.env, "AUDIT_WITNESS_FILE")
	a.sql(`SET session_replication_role = replica`,
		`UPDATE audit_log SET entity_id = 'forged' WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 1)`,
		`DELETE FROM audit_tree_checkpoints`, `DELETE FROM audit_tree_nodes`, `DELETE FROM audit_leaves`,
		`INSERT INTO audit_pending SELECT id FROM audit_log`, `UPDATE audit_tree SET size = 0, hashes = '{}'`)
	a.entries(1, 0)
	a.sequenceWith(keys)
	var ce *audit.ChainError
	if _, err := a.run("checkpoint"); !errors.As(err, &ce) || ce.Problem.Kind != audit.WitnessMismatch {
		t.Fatalf("checkpoint over the rewritten tree: %v; want it refused", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 1 {
		t.Fatalf("Splunk was sent the rewritten tree: %v", events)
	}
}
