package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
)

// treeOrigin names the tests' audit log.
const treeOrigin = "api.test/audit"

// treeKeys are signing keys for the audit tree's checkpoints and the note verifier of their public key.
func treeKeys(t *testing.T) (audit.Keys, note.Verifier) {
	t.Helper()
	keys := signingKeys(t)
	vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return keys, verifier
}

// An auditor reads the audit log's newest signed checkpoint and an entry's inclusion proof and checks
// them with the deployment's public key alone; a later checkpoint proves it extends the earlier one.
// Other roles are refused, and bad sizes are named.
func TestAuditTreeProofs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keys, verifier := treeKeys(t)
	if r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit/checkpoint", nil); r.status != 404 {
		t.Fatalf("a checkpoint before any was signed: %d", r.status)
	}
	e.createPerson("Ada", "Lovelace", "1975-12-10")
	if _, err := e.st.SequenceAudit(context.Background(), keys, treeOrigin); err != nil {
		t.Fatal(err)
	}
	checkpoint := func() tlog.Checkpoint {
		t.Helper()
		r := e.call(domain.RoleAuditor, "GET", "/api/v1/audit/checkpoint", nil)
		var got audit.TreeCheckpoint
		if r.status != 200 || json.Unmarshal(r.body, &got) != nil {
			t.Fatalf("checkpoint: %d %s", r.status, r.body)
		}
		cp, err := tlog.Open([]byte(got.Note), treeOrigin, verifier)
		if err != nil {
			t.Fatalf("the checkpoint does not open with the public key: %v", err)
		}
		return cp
	}
	first := checkpoint()
	var id int64
	if err := e.st.AuditTree().QueryRow(context.Background(), `SELECT id FROM audit_log WHERE action = 'person.create' LIMIT 1`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	r := e.call(domain.RoleAuditor, "GET", fmt.Sprintf("/api/v1/audit/entries/%d/inclusion", id), nil)
	var p audit.Inclusion
	if r.status != 200 || json.Unmarshal(r.body, &p) != nil {
		t.Fatalf("inclusion: %d %s", r.status, r.body)
	}
	if err := tlog.VerifyInclusion(tlog.LeafHash(p.LeafData), p.LeafIndex, first.Size, first.Root, p.Hashes); err != nil {
		t.Fatalf("the person's creation does not prove its inclusion: %v", err)
	}

	e.createPerson("Grace", "Hopper", "1976-12-09")
	if _, err := e.st.SequenceAudit(context.Background(), keys, treeOrigin); err != nil {
		t.Fatal(err)
	}
	second := checkpoint()
	r = e.call(domain.RoleAuditor, "GET", fmt.Sprintf("/api/v1/audit/consistency?from=%d&to=%d", first.Size, second.Size), nil)
	var c struct{ Hashes []string }
	if r.status != 200 || json.Unmarshal(r.body, &c) != nil {
		t.Fatalf("consistency: %d %s", r.status, r.body)
	}
	var hashes [][]byte
	for _, h := range c.Hashes {
		b, _ := base64.StdEncoding.DecodeString(h)
		hashes = append(hashes, b)
	}
	if err := tlog.CheckExtends(first, second, hashes); err != nil {
		t.Fatalf("the newer checkpoint does not extend the older: %v", err)
	}

	if r := e.call(domain.RoleCaseWorker, "GET", "/api/v1/audit/checkpoint", nil); r.status != 403 {
		t.Errorf("a case worker reading the checkpoint: %d", r.status)
	}
	wantField(t, e.call(domain.RoleAuditor, "GET", "/api/v1/audit/consistency?from=9&to=2", nil), 400, "from", "from after to")
	wantField(t, e.call(domain.RoleAuditor, "GET", "/api/v1/audit/consistency?from=x&to=2", nil), 400, "from", "a size that is not a number")
	if r := e.call(domain.RoleAuditor, "GET", fmt.Sprintf("/api/v1/audit/consistency?from=1&to=%d", second.Size+100), nil); r.status != 404 {
		t.Errorf("a consistency proof past the tree: %d", r.status)
	}
	if p.LeafIndex == 0 {
		t.Fatal("the person's creation is the first leaf: the users' creation came before it")
	}
	if r := e.call(domain.RoleAuditor, "GET", fmt.Sprintf("/api/v1/audit/entries/%d/inclusion?size=1", id), nil); r.status != 404 {
		t.Errorf("an inclusion proof in a tree too small for the entry: %d", r.status)
	}
}

// signingKeys are audit keys with a fresh signing key (id k1), as AUDIT_SIGNING_KEY gives them.
func signingKeys(t testing.TB) audit.Keys {
	t.Helper()
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := audit.ParseKeys(func(k string) string { return map[string]string{audit.EnvSigningKey: seed}[k] })
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// A witness follows the checkpoint stream: the newest signed checkpoint at once, then each newer one as the
// sequencer signs it, each with the proof that it extends the one before; a reconnect with Last-Event-ID
// resumes from the size it holds; a size past the log is refused, naming the field; other roles are refused.
func TestCheckpointStream(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keys, verifier := treeKeys(t)
	const path = "/api/v1/audit/checkpoints/stream"
	next := func(events <-chan sseEvent) (tlog.Checkpoint, CheckpointEventView) {
		t.Helper()
		select {
		case ev, ok := <-events:
			var got CheckpointEventView
			if !ok || ev.event != "checkpoint" || json.Unmarshal([]byte(ev.data), &got) != nil {
				t.Fatalf("not a checkpoint event: %+v", ev)
			}
			cp, err := tlog.Open([]byte(got.Checkpoint), treeOrigin, verifier)
			if err != nil || fmt.Sprint(cp.Size) != ev.id {
				t.Fatalf("event %s: the checkpoint does not open, or is of another size: %v", ev.id, err)
			}
			return cp, got
		case <-time.After(10 * time.Second):
			t.Fatal("no checkpoint on the stream within 10 s")
		}
		panic("unreachable")
	}
	sequence := func() {
		t.Helper()
		if _, err := e.st.SequenceAudit(context.Background(), keys, treeOrigin); err != nil {
			t.Fatal(err)
		}
	}
	if r := e.call(domain.RoleAuditor, "GET", path+"?after=3", nil); r.status != 400 || !strings.Contains(string(r.body), `"after"`) {
		t.Fatalf("a size past the log: %d %s; want 400 naming after", r.status, r.body)
	}
	if r := e.call(domain.RoleCaseWorker, "GET", path, nil); r.status != 403 {
		t.Fatalf("a case worker: %d", r.status)
	}
	e.createPerson("Ada", "Lovelace", "1975-12-10")
	sequence()
	events, stop := e.openSSE(domain.RoleAuditor, path, "")
	first, ev := next(events)
	if ev.Consistency.From != 0 || ev.Consistency.To != int64(first.Size) || first.Size == 0 {
		t.Fatalf("first event: %+v", ev)
	}
	e.createPerson("Grace", "Hopper", "1976-12-09")
	sequence()
	second, ev := next(events)
	if err := tlog.CheckExtends(first, second, ev.Consistency.Hashes); err != nil || ev.Consistency.From != int64(first.Size) {
		t.Fatalf("the second checkpoint does not prove it extends the first: %v (%+v)", err, ev.Consistency)
	}
	stop()
	// Reconnecting holding the first: the newest, proved from the first.
	events, _ = e.openSSE(domain.RoleAuditor, path, fmt.Sprint(first.Size))
	again, ev := next(events)
	if again.Size != second.Size || tlog.CheckExtends(first, again, ev.Consistency.Hashes) != nil {
		t.Fatalf("after a reconnect from %d: %d, %+v", first.Size, again.Size, ev.Consistency)
	}
}

// CheckpointEventView is a checkpoint stream event as a client reads it.
type CheckpointEventView struct {
	Checkpoint  string            `json:"checkpoint"`
	Consistency audit.Consistency `json:"consistency"`
}
