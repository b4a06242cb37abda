package audit_test

import (
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
)

const testOrigin = "signetassure.test/audit"

// openWith opens a signed tree checkpoint with only the deployment's public key, as an outsider would.
func openWith(t *testing.T, keys audit.Keys, signed []byte) tlog.Checkpoint {
	t.Helper()
	vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.Open(signed, testOrigin, v)
	if err != nil {
		t.Fatalf("open the checkpoint %q: %v", signed, err)
	}
	return cp
}

// The sequencer makes every entry a leaf of the Merkle tree, in the order they were queued, and signs checkpoints an outsider verifies with the public key alone; every entry's
// inclusion proof and the consistency proof between two checkpoints verify against them. Sequencers run at
// once integrate each entry once.
func TestSequencerProvesEveryEntry(t *testing.T) {
	e := setup(t)
	e.write(t, 23)
	res, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 10)
	if err != nil || res.Added != 10 || res.Size != 10 {
		t.Fatalf("first batch: %+v %v", res, err)
	}
	for res.Added == 10 {
		if res, err = audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 10); err != nil {
			t.Fatal(err)
		}
	}
	var entries int
	if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM audit_log`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	first := openWith(t, e.keys, res.Checkpoint)
	if first.Size != uint64(entries) || res.Size != first.Size {
		t.Fatalf("checkpoint of size %d, %d entries", first.Size, entries)
	}
	proveAll := func(cp tlog.Checkpoint) {
		t.Helper()
		rows, err := e.db.Query(e.ctx, `SELECT id FROM audit_log ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		for i, id := range ids {
			if uint64(i) >= cp.Size {
				break
			}
			p, err := audit.InclusionProof(e.ctx, e.db, id, cp.Size)
			if err != nil {
				t.Fatalf("entry %d: %v", id, err)
			}
			if p.LeafIndex != uint64(i) {
				t.Fatalf("entry %d is leaf %d, want %d (queue order)", id, p.LeafIndex, i)
			}
			if err := tlog.VerifyInclusion(tlog.LeafHash(p.LeafData), p.LeafIndex, cp.Size, cp.Root, p.Hashes); err != nil {
				t.Fatalf("entry %d's inclusion in %d: %v", id, cp.Size, err)
			}
		}
	}
	proveAll(first)

	// More entries, sequenced by several sequencers at once: each entry once.
	e.write(t, 9)
	var wg sync.WaitGroup
	var mu sync.Mutex
	added := 0
	for range 4 {
		wg.Go(func() {
			r, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			added += r.Added
			mu.Unlock()
		})
	}
	wg.Wait()
	if res, err = audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
		t.Fatal(err)
	}
	if added+res.Added != 9 {
		t.Fatalf("%d entries added by sequencers at once, want 9", added+res.Added)
	}
	second := openWith(t, e.keys, res.Checkpoint)
	proveAll(second)
	proof, err := audit.ConsistencyProof(e.ctx, e.db, first.Size, second.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlog.CheckExtends(first, second, proof); err != nil {
		t.Fatalf("the second checkpoint does not extend the first: %v", err)
	}
	if _, err := audit.InclusionProof(e.ctx, e.db, 1<<40, second.Size); err == nil {
		t.Fatal("a proof for an entry that does not exist")
	}
	if _, err := audit.ConsistencyProof(e.ctx, e.db, second.Size, second.Size+1); err == nil {
		t.Fatal("a consistency proof past the tree")
	}
	// An entry altered after it was sequenced no longer proves against the signed checkpoint.
	e.tamper(t, `UPDATE audit_log SET detail = '{"changed": true}' WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 2)`)
	var altered int64
	if err := e.db.QueryRow(e.ctx, `SELECT entry_id FROM audit_leaves WHERE leaf_index = 2`).Scan(&altered); err != nil {
		t.Fatal(err)
	}
	p, err := audit.InclusionProof(e.ctx, e.db, altered, second.Size)
	if err != nil {
		t.Fatal(err)
	}
	if tlog.VerifyInclusion(tlog.LeafHash(p.LeafData), p.LeafIndex, second.Size, second.Root, p.Hashes) == nil {
		t.Fatal("an altered entry still proves its inclusion")
	}
	// Nothing new: no new checkpoint, the same one.
	again, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100)
	if err != nil || again.Added != 0 || string(again.Checkpoint) != string(res.Checkpoint) {
		t.Fatalf("a sequencer with nothing to do: %+v %v", again, err)
	}
}

// audit verify rebuilds the Merkle tree from the entries and checks every leaf and every signed tree
// checkpoint: a rewritten leaf, a removed one, a checkpoint row that says other than it signs, and a
// checkpoint no key given opens are each named.
func TestVerifyChecksTheTree(t *testing.T) {
	// releaf rewrites the stored leaf of the entry at leaf 2 to its content now, as someone who knows the
	// leaf format would after altering the entry.
	const releaf = `UPDATE audit_tree_nodes n SET hash = sha256('\x00'::bytea || convert_to('signetassure-audit-leaf-v1', 'UTF8')
		|| audit_netstring(a.id::text) || audit_netstring(((extract(epoch FROM a.at) * 1000000)::bigint)::text)
		|| audit_netstring(coalesce(a.actor_id::text, '')) || audit_netstring(a.action) || audit_netstring(a.entity_type)
		|| audit_netstring(a.entity_id) || audit_netstring(a.detail::text) || audit_netstring(coalesce(a.dedup_key, '')))
		FROM audit_leaves l JOIN audit_log a ON a.id = l.entry_id WHERE n.level = 0 AND n.idx = l.leaf_index AND l.leaf_index = 2`
	const alter = `UPDATE audit_log SET detail = '{"changed": true}' WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 2)`
	for _, c := range []struct {
		name   string
		tamper []string
		keys   func(e env) audit.PublicKeys
		want   audit.ProblemKind
	}{
		{"intact", nil, nil, ""},
		// the stored leaf rewritten to match, as the format gives it: nothing but the signed root tells
		{"the same leaf, as written", []string{releaf}, nil, ""},
		{"a leaf rewritten", []string{`UPDATE audit_tree_nodes SET hash = sha256(hash) WHERE level = 0 AND idx = 4`}, nil, audit.TreeLeafMismatch},
		{"an entry altered", []string{alter}, nil, audit.TreeLeafMismatch},
		{"an entry altered and its leaf rewritten", []string{alter, releaf}, nil, audit.TreeRootMismatch},
		{"an entry removed", []string{`DELETE FROM audit_log WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 5)`}, nil, audit.TreeLeafMissing},
		{"an entry written around the triggers", []string{`INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('x', 'y', 'z')`},
			nil, audit.Unsequenced},
		{"a queued entry taken off the queue", []string{`INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('x', 'y', 'z')`,
			`INSERT INTO audit_pending SELECT max(id) FROM audit_log`, `DELETE FROM audit_pending`}, nil, audit.Unsequenced},
		{"a queued entry removed", []string{`INSERT INTO audit_pending VALUES (1000000)`}, nil, audit.Removed},
		{"a leaf removed", []string{`DELETE FROM audit_leaves WHERE leaf_index = 3`}, nil, audit.TreeLeafMissing},
		{"a checkpoint's row changed", []string{`UPDATE audit_tree_checkpoints SET root = sha256(root)`}, nil, audit.TreeCheckpointInvalid},
		{"checkpoints signed by another key", nil, func(e env) audit.PublicKeys { return newKeys(t, "k1", "").Verify }, audit.CheckpointUnknownKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t)
			e.write(t, 12)
			if _, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil {
				t.Fatal(err)
			}
			if c.tamper != nil {
				e.tamper(t, c.tamper...)
			}
			keys := e.keys.Verify
			if c.keys != nil {
				keys = c.keys(e)
			}
			rep, err := audit.VerifyWith(e.ctx, e.db, audit.VerifyOptions{Keys: keys})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.want == "" && (!rep.OK() || rep.TreeSize != uint64(e.count(t, `SELECT count(*) FROM audit_log`)) || rep.TreeCheckpoints != 1):
				t.Fatalf("an intact log: %s", rep)
			case c.want != "" && (rep.OK() || rep.Problem.Kind != c.want):
				t.Fatalf("%s: %s, want %s", c.name, rep, c.want)
			}
		})
	}
}
