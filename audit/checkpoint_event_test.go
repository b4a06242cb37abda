package audit_test

import (
	"encoding/json"
	"testing"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/events"
)

// Each tree checkpoint the sequencer signs is an audit.checkpoint lifecycle event written in its
// transaction, carrying the signed note a subscriber can keep as a witness; a run that signs nothing new
// writes none.
func TestTreeCheckpointIsALifecycleEvent(t *testing.T) {
	e := setup(t)
	type row struct {
		Type, Subject string
		Seq           int64
		Data          struct {
			Size       uint64 `json:"size"`
			KeyID      string `json:"keyId"`
			Origin     string `json:"origin"`
			Checkpoint string `json:"checkpoint"`
			RootHash   []byte `json:"rootHash"`
		}
	}
	read := func() []row {
		t.Helper()
		rows, err := e.db.Query(e.ctx, `SELECT type, subject, seq, data FROM events WHERE type = $1 ORDER BY id`, events.AuditCheckpoint)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			var data []byte
			if err := rows.Scan(&r.Type, &r.Subject, &r.Seq, &data); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &r.Data); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	sequence := func() {
		t.Helper()
		if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
			t.Fatal(err)
		}
	}
	e.write(t, 4)
	sequence()
	sequence() // nothing new: nothing signed, no event
	e.write(t, 2)
	sequence()
	got := read()
	if len(got) != 2 {
		t.Fatalf("%d events, want one per signed checkpoint (2): %+v", len(got), got)
	}
	for i, size := range []uint64{4, 6} {
		r := got[i]
		if r.Type != string(events.AuditCheckpoint) || r.Subject != events.AuditSubject || r.Seq != int64(i+1) ||
			r.Data.Size != size || r.Data.Origin != testOrigin || r.Data.KeyID != e.keys.KeyID || len(r.Data.RootHash) != 32 {
			t.Errorf("event %d: %+v; want audit.checkpoint %d of the tree of %d", i, r, i+1, size)
		}
		var stored string
		if err := e.db.QueryRow(e.ctx, `SELECT note FROM audit_tree_checkpoints WHERE size = $1`, int64(size)).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if r.Data.Checkpoint != stored {
			t.Errorf("event %d holds %q, want the signed note stored %q", i, r.Data.Checkpoint, stored)
		}
	}
}
