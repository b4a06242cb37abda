package audit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/schema"
)

// Audited writes do not wait for one another: an entry written in a transaction that has not ended holds
// up no other writer (before the tree took over, the chain's head row lock held every other audited write
// until it ended). Entries become leaves in the order they commit, none is lost, and the log verifies.
func TestWritersDoNotWaitForEachOther(t *testing.T) {
	e := setup(t)
	slow, err := e.db.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(e.ctx)
	var slowID int64
	if err := slow.QueryRow(e.ctx, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('slow', 't', '1') RETURNING id`).Scan(&slowID); err != nil {
		t.Fatal(err)
	}
	// Another writer, with a lock timeout: before, it waited for the slow transaction and gave up.
	quick, err := e.db.Begin(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer quick.Rollback(e.ctx)
	var quickID int64
	if _, err := quick.Exec(e.ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
		t.Fatal(err)
	}
	if err := quick.QueryRow(e.ctx, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('quick', 't', '2') RETURNING id`).Scan(&quickID); err != nil {
		t.Fatalf("a second audited write while the first is open: %v; want it not to wait", err)
	}
	if err := quick.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil || res.Size != 1 {
		t.Fatalf("sequence with the slow entry uncommitted: %+v, %v; want the quick one alone", res, err)
	}
	if err := slow.Commit(e.ctx); err != nil {
		t.Fatal(err)
	}
	res, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100)
	if err != nil || res.Size != 2 {
		t.Fatalf("sequence after the slow commit: %+v, %v", res, err)
	}
	if leaf := e.count(t, `SELECT leaf_index FROM audit_leaves WHERE entry_id = $1`, slowID); leaf != 1 || slowID > quickID {
		t.Errorf("the entry committed last (id %d, written first) is leaf %d, want 1", slowID, leaf)
	}

	// Many writers at once, the sequencer running beside them: every entry once.
	const writers, each = 8, 25
	stop := make(chan struct{})
	var seqWG sync.WaitGroup
	seqWG.Go(func() {
		for {
			if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 7); err != nil {
				t.Error(err)
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { e.write(t, each) })
	}
	wg.Wait()
	close(stop)
	seqWG.Wait()
	for {
		res, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100)
		if err != nil {
			t.Fatal(err)
		}
		if res.Added == 0 {
			break
		}
	}
	r := e.verify(t, e.keys.Verify)
	if total := e.count(t, `SELECT count(*) FROM audit_log`); !r.OK() || r.TreeSize != uint64(total) || total != 2+writers*each || r.Pending != 0 {
		t.Fatalf("report %s: want all %d entries leaves, intact", r, 2+writers*each)
	}
}

// A repeated write (same dedup_key), sequential or at once, adds one entry and queues it once.
func TestDuplicateDedupKeyUnlocked(t *testing.T) {
	e := setup(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := e.db.Exec(e.ctx, `INSERT INTO audit_log (action, entity_type, entity_id, dedup_key)
				VALUES ('once', 't', '1', 'k') ON CONFLICT (dedup_key) DO NOTHING`); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if tag, err := e.db.Exec(e.ctx, `INSERT INTO audit_log (action, entity_type, entity_id, dedup_key) VALUES ('again', 't', '1', 'k')`); err != nil || tag.RowsAffected() != 0 {
		t.Errorf("a plain insert of a logged dedup key: %v, %d rows; want it skipped", err, tag.RowsAffected())
	}
	if n, q := e.count(t, `SELECT count(*) FROM audit_log`), e.count(t, `SELECT count(*) FROM audit_pending`); n != 1 || q != 1 {
		t.Fatalf("%d entries and %d queued, want 1 and 1", n, q)
	}
	// An insert cannot put itself into the chain.
	var seq *int64
	if err := e.db.QueryRow(e.ctx, `INSERT INTO audit_log (seq, prev_hash, hash, action, entity_type, entity_id)
		VALUES (100, '\x00', '\x00', 'a', 'b', 'c') RETURNING seq`).Scan(&seq); err != nil || seq != nil {
		t.Errorf("insert naming its own seq: %v, %v; want no seq", seq, err)
	}
	for _, sql := range []string{`UPDATE audit_log SET action = 'x'`, `DELETE FROM audit_log`, `TRUNCATE audit_log`} {
		if _, err := e.db.Exec(e.ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only error", sql, err)
		}
	}
}

// The migration that ends the chain queues the entries the sequencer had not reached, in chain order; the
// chain's entries and checkpoints keep verifying; new entries are unchained and become leaves after them;
// the scheduled checkpoint signs the chain's last head once and then witnesses the tree. It goes down and
// up again.
func TestMigrationEndsTheChain(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, m := testenv.MigratedBefore(t, "audit_unlocked")
	keys := newKeys(t, "k1", "")
	for i := range 5 {
		if _, err := conn.Exec(ctx, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('old', 't', $1)`, fmt.Sprint(i)); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if _, err := audit.Checkpoint(ctx, conn, keys); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := schema.Migrate(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	e := migrateRest(t, dbURL, keys)
	if n := e.count(t, `SELECT count(*) FROM audit_pending p JOIN audit_log a ON a.id = p.entry_id WHERE a.seq IS NOT NULL`); n != 5 {
		t.Fatalf("%d chained entries queued, want 5", n)
	}
	insert := func(n int) {
		if _, err := e.db.Exec(ctx, `INSERT INTO audit_log (action, entity_type, entity_id) SELECT 'new', 't', i::text FROM generate_series(1, $1) i`, n); err != nil {
			t.Fatal(err)
		}
	}
	insert(4)
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE seq IS NULL AND hash IS NULL`); n != 4 {
		t.Errorf("%d new entries unchained, want 4", n)
	}
	if _, err := audit.Sequence(ctx, e.db, keys, testOrigin, 100); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_leaves l JOIN audit_log a ON a.id = l.entry_id WHERE a.seq = l.leaf_index + 1`); n != 5 {
		t.Errorf("%d chained entries are leaves in chain order, want 5", n)
	}
	witness := t.TempDir() + "/witness.jsonl"
	res, err := audit.Checkpoint(ctx, e.db, keys, audit.FileSink{Path: witness})
	if err != nil || !res.Signed || res.Seq != 5 || res.TreeSize != 9 || res.Witnessed != 3 {
		t.Fatalf("checkpoint after the cut: %+v, %v; want the chain's last head (seq 5) signed, and both chain checkpoints and the tree of 9 witnessed", res, err)
	}
	insert(1)
	if res, err := audit.Checkpoint(ctx, e.db, keys, audit.FileSink{Path: witness}); err != nil || res.Signed || res.Witnessed != 0 {
		t.Fatalf("checkpoint with the chain ended and the tree unchanged: %+v, %v; want nothing signed or witnessed", res, err)
	}
	r, err := audit.VerifyWith(ctx, e.db, audit.VerifyOptions{Keys: publicOnly(t, keys), WitnessFile: witness})
	if err != nil || !r.OK() || r.Entries != 5 || r.Checkpoints != 2 || r.TreeSize != 9 || r.Pending != 1 || r.Witnessed != 3 {
		t.Fatalf("verify: %s, %v; want 5 chain entries and 2 checkpoints, a tree of 9, 1 waiting, 3 witnessed", r, err)
	}

	if err := m.MigrateTo(ctx, 14); err != nil {
		t.Fatalf("down: %v", err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE seq IS NULL`); n != 0 {
		t.Errorf("%d entries left unchained going down", n)
	}
	if err := schema.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("up again: %v", err)
	}
}

// A witness holds the database to the tree it saw: verify --witness names a rewrite (a fork) or a cut
// (rollback) even after every checkpoint in the database is deleted, and Checkpoint refuses to witness a
// tree that does not extend the witnessed one. A checkpoint saved from the API as it was served is a
// witness file too.
func TestTreeWitness(t *testing.T) {
	witnessed := func(t *testing.T) (env, string) {
		e := setup(t)
		e.write(t, 6)
		if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
			t.Fatal(err)
		}
		path := t.TempDir() + "/witness.jsonl"
		if res, err := audit.Checkpoint(e.ctx, e.db, e.keys, audit.FileSink{Path: path}); err != nil || res.TreeSize != 6 || res.Witnessed != 1 {
			t.Fatalf("checkpoint: %+v, %v; want the tree of 6 witnessed", res, err)
		}
		e.write(t, 3)
		if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
			t.Fatal(err)
		}
		return e, path
	}
	verify := func(t *testing.T, e env, path string) audit.Report {
		t.Helper()
		r, err := audit.VerifyWith(e.ctx, e.db, audit.VerifyOptions{Keys: publicOnly(t, e.keys), WitnessFile: path})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("intact and extended", func(t *testing.T) {
		e, path := witnessed(t)
		if r := verify(t, e, path); !r.OK() || r.Witnessed != 1 {
			t.Fatalf("verify: %s; want the witnessed checkpoint matched", r)
		}
		if res, err := audit.Checkpoint(e.ctx, e.db, e.keys, audit.FileSink{Path: path}); err != nil || res.Witnessed != 1 || res.TreeSize != 9 {
			t.Fatalf("checkpoint: %+v, %v; want the tree of 9 witnessed after the one of 6", res, err)
		}
		lines, problem, err := audit.ReadWitnessFile(path)
		if err != nil || problem != nil || len(lines) != 2 || lines[1].Seq != 9 || lines[1].Version != audit.TreeVersion {
			t.Fatalf("witness file: %+v, %v, %v", lines, problem, err)
		}
		// The checkpoint as the API serves it, saved to a file, is a witness.
		note := t.TempDir() + "/checkpoint"
		if err := os.WriteFile(note, []byte(lines[0].Note), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := verify(t, e, note); !r.OK() || r.Witnessed != 1 {
			t.Fatalf("verify with a saved checkpoint: %s", r)
		}
	})
	rewrite := []string{`UPDATE audit_log SET detail = '{"forged": true}' WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 1)`,
		`DELETE FROM audit_tree_checkpoints`, `DELETE FROM audit_tree_nodes`, `DELETE FROM audit_leaves`,
		`INSERT INTO audit_pending SELECT id FROM audit_log`, `UPDATE audit_tree SET size = 0, hashes = '{}'`}
	t.Run("rewritten, every checkpoint deleted", func(t *testing.T) {
		e, path := witnessed(t)
		e.tamper(t, rewrite...)
		// The rewritten log is sequenced and signed afresh, consistent in itself.
		if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
			t.Fatal(err)
		}
		if r := e.verify(t, e.keys.Verify); !r.OK() {
			t.Fatalf("without the witness the rewrite is consistent: %s", r)
		}
		r := verify(t, e, path)
		if r.OK() || r.Problem.Kind != audit.WitnessMismatch || !strings.Contains(r.Problem.Message, "fork") {
			t.Fatalf("verify --witness: %s; want the fork named", r)
		}
		_, err := audit.Checkpoint(e.ctx, e.db, e.keys, audit.FileSink{Path: path})
		var chainErr *audit.ChainError
		if !errors.As(err, &chainErr) || chainErr.Problem.Kind != audit.WitnessMismatch {
			t.Fatalf("checkpoint after the rewrite: %v; want it refused", err)
		}
	})
	t.Run("cut back", func(t *testing.T) {
		e, path := witnessed(t)
		e.tamper(t, `DELETE FROM audit_log WHERE id IN (SELECT entry_id FROM audit_leaves WHERE leaf_index >= 4)`,
			`DELETE FROM audit_leaves WHERE leaf_index >= 4`, `DELETE FROM audit_tree_nodes`, `DELETE FROM audit_tree_checkpoints`,
			`DELETE FROM audit_leaves`, `INSERT INTO audit_pending SELECT id FROM audit_log`, `UPDATE audit_tree SET size = 0, hashes = '{}'`)
		if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
			t.Fatal(err)
		}
		r := verify(t, e, path)
		if r.OK() || r.Problem.Kind != audit.WitnessMismatch || !strings.Contains(r.Problem.Message, "removed") {
			t.Fatalf("verify --witness: %s; want the cut named", r)
		}
	})
}

// A replaced signing key keeps the tree's checkpoints it signed verifiable, from AUDIT_VERIFY_KEYS; without
// it they are named as signed by an unknown key.
func TestTreeKeyRotation(t *testing.T) {
	e := setup(t)
	e.write(t, 3)
	if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
		t.Fatal(err)
	}
	k2 := newKeys(t, "k2", e.keys.PublicKey())
	e.write(t, 2)
	res, err := audit.Sequence(e.ctx, e.db, k2, testOrigin, 100)
	if err != nil || openWith(t, k2, res.Checkpoint).Size != 5 {
		t.Fatalf("sequence with the new key: %+v, %v", res, err)
	}
	if r := e.verify(t, k2.Verify); !r.OK() || r.TreeCheckpoints != 2 || len(k2.Verify) != 2 {
		t.Fatalf("verify with both public keys: %s; want both checkpoints verified", r)
	}
	onlyNew := audit.PublicKeys{"k2": k2.Verify["k2"]}
	if r := e.verify(t, onlyNew); r.OK() || r.Problem.Kind != audit.CheckpointUnknownKey {
		t.Fatalf("verify without the old key: %s; want the old checkpoint's key named unknown", r)
	}
}
