package audit

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit/tlog"
)

// The audit tree's problems (verifyTree).
const (
	// TreeLeafMissing: a leaf of the tree is gone, or entries a signed tree checkpoint counts are.
	TreeLeafMissing ProblemKind = "tree_leaf_missing"
	// TreeLeafMismatch: an entry no longer hashes to its leaf in the tree (altered after it was
	// sequenced), or the stored leaf was rewritten.
	TreeLeafMismatch ProblemKind = "tree_leaf_mismatch"
	// TreeCheckpointInvalid: a tree checkpoint's signature does not verify with any key given, or it
	// does not say what its row says.
	TreeCheckpointInvalid ProblemKind = "tree_checkpoint_invalid"
	// TreeRootMismatch: the tree rebuilt from the entries has another root than a signed checkpoint of
	// its size: the log was rewritten after it was signed.
	TreeRootMismatch ProblemKind = "tree_root_mismatch"
	// Unsequenced: an entry is neither a leaf of the tree nor queued for it (audit_pending): it was
	// written around the log's triggers, or its queue row was deleted.
	Unsequenced ProblemKind = "unsequenced"
)

type treeCheckpoint struct {
	size uint64
	root []byte
	note string
}

// verifyTree rebuilds the audit log's Merkle tree from its entries in leaf order, in tx, and checks each
// leaf against the stored one, each signed checkpoint (opened with opts.Keys) and each witnessed tree
// checkpoint against the tree of its size; then that every other entry waits in the sequencer's queue,
// for no longer than opts.Cadence (when set) before now. It counts what verified in rep and returns the
// first problem.
func verifyTree(ctx context.Context, tx pgx.Tx, opts VerifyOptions, witness []SignedCheckpoint, now time.Time, rep *Report) (*Problem, error) {
	rows, _ := tx.Query(ctx, `SELECT size, root, note FROM audit_tree_checkpoints ORDER BY size`)
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (treeCheckpoint, error) {
		var c treeCheckpoint
		var size int64
		err := r.Scan(&size, &c.root, &c.note)
		c.size = uint64(size)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the audit tree's checkpoints: %w", err)
	}
	for _, c := range cps {
		opened, p := openTree(opts.Keys, c.note)
		if p != nil {
			p.Seq, p.Message = int64(c.size), "the "+describeTree(c.size)+": "+p.Message
			return p, nil
		}
		if opened.Size != c.size || !bytes.Equal(opened.Root, c.root) {
			return &Problem{Kind: TreeCheckpointInvalid, Message: fmt.Sprintf("the checkpoint of size %d signs size %d and another root", c.size, opened.Size)}, nil
		}
	}
	for i, c := range witness {
		if c.Seq == 0 && c.Hash == nil { // a bare signed note: it says its own size and root
			cp, p := openTree(opts.Keys, c.Note)
			if p != nil {
				p.Message = "witness: " + p.Message
				return p, nil
			}
			witness[i] = treeLine(TreeCheckpoint{Size: cp.Size, Root: cp.Root, Note: c.Note})
		} else if _, p := openTreeLine(opts.Keys, c); p != nil {
			return p, nil
		}
	}
	slices.SortFunc(witness, func(a, b SignedCheckpoint) int { return cmp.Compare(a.Seq, b.Seq) })

	tree := tlog.NewTree(nil)
	next, nextWitness := 0, 0 // the next checkpoint and witnessed checkpoint to meet
	if _, err := tx.Exec(ctx, `DECLARE audit_leaves_cursor NO SCROLL CURSOR FOR SELECT l.leaf_index, n.hash, a.*
		FROM audit_leaves l JOIN LATERAL (SELECT `+entryColumns+` FROM audit_log WHERE audit_log.id = l.entry_id) a ON true
		LEFT JOIN audit_tree_nodes n ON n.level = 0 AND n.idx = l.leaf_index ORDER BY l.leaf_index`); err != nil {
		return nil, fmt.Errorf("read the audit tree: %w", err)
	}
	for {
		rows, err := tx.Query(ctx, `FETCH `+strconv.Itoa(batch)+` FROM audit_leaves_cursor`)
		if err != nil {
			return nil, fmt.Errorf("read the audit tree: %w", err)
		}
		n := 0
		for rows.Next() {
			n++
			var index int64
			var stored []byte
			var e entry
			if err := rows.Scan(&index, &stored, &e.id, &e.seq, &e.prevHash, &e.hash, &e.atMicros, &e.actor, &e.action,
				&e.entityType, &e.entityID, &e.detail, &e.dedupKey); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read the audit tree: %w", err)
			}
			seq := int64(0)
			if e.seq != nil {
				seq = *e.seq
			}
			if uint64(index) != tree.Size() {
				rows.Close()
				return &Problem{Kind: TreeLeafMissing, Seq: seq, AuditID: e.id,
					Message: fmt.Sprintf("leaf %d is missing (the next leaf is %d)", tree.Size(), index)}, nil
			}
			leaf := tlog.LeafHash(e.LeafData())
			if !bytes.Equal(leaf, stored) {
				rows.Close()
				return &Problem{Kind: TreeLeafMismatch, Seq: seq, AuditID: e.id,
					Message: fmt.Sprintf("the entry does not hash to leaf %d of the tree", index)}, nil
			}
			if err := tree.Append(leaf); err != nil {
				rows.Close()
				return nil, err
			}
			for ; nextWitness < len(witness) && uint64(witness[nextWitness].Seq) == tree.Size(); nextWitness++ {
				if !bytes.Equal(witness[nextWitness].Hash, tree.Root()) {
					rows.Close()
					return &Problem{Kind: WitnessMismatch, Seq: seq, AuditID: e.id, KeyID: witness[nextWitness].KeyID,
						Message: fmt.Sprintf("the tree rebuilt from the log has another root at size %d than the witnessed "+
							"checkpoint: the log was rewritten after it was witnessed (a fork)", tree.Size())}, nil
				}
				rep.Witnessed++
			}
			for next < len(cps) && cps[next].size == tree.Size() {
				if !bytes.Equal(cps[next].root, tree.Root()) {
					rows.Close()
					return &Problem{Kind: TreeRootMismatch, Seq: seq, AuditID: e.id,
						Message: fmt.Sprintf("the tree of size %d has another root than its signed checkpoint", tree.Size())}, nil
				}
				next++
				rep.TreeCheckpoints++
			}
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read the audit tree: %w", err)
		}
		if n < batch {
			break
		}
	}
	if _, err := tx.Exec(ctx, `CLOSE audit_leaves_cursor`); err != nil {
		return nil, err
	}
	for ; next < len(cps); next++ {
		if cps[next].size == 0 && bytes.Equal(cps[next].root, tlog.EmptyRoot()) {
			rep.TreeCheckpoints++
			continue
		}
		return &Problem{Kind: TreeLeafMissing, Message: fmt.Sprintf("a signed checkpoint counts %d leaves, the tree has %d",
			cps[next].size, tree.Size())}, nil
	}
	if nextWitness < len(witness) {
		c := witness[nextWitness]
		return &Problem{Kind: WitnessMismatch, Seq: c.Seq, KeyID: c.KeyID, Message: fmt.Sprintf("the witnessed %s "+
			"counts more leaves than the tree rebuilt from the log has (%d): entries were removed after it was witnessed",
			c.describe(), tree.Size())}, nil
	}
	rep.TreeSize = tree.Size()
	return queueProblem(ctx, tx, opts.Cadence, now, rep)
}

// queueProblem checks the entries that are not leaves: each must wait in audit_pending, for no longer than
// cadence (when set) before now, and every queued entry must exist. It counts them in rep.
func queueProblem(ctx context.Context, tx pgx.Tx, cadence time.Duration, now time.Time, rep *Report) (*Problem, error) {
	var unqueued, oldest, gone int64
	var oldestAt time.Time
	err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM audit_pending),
			coalesce((SELECT min(a.id) FROM audit_log a WHERE NOT EXISTS (SELECT 1 FROM audit_leaves l WHERE l.entry_id = a.id)
				AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.entry_id = a.id)), 0),
			coalesce((SELECT min(p.entry_id) FROM audit_pending p WHERE NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.id = p.entry_id)), 0),
			coalesce((SELECT a.id FROM audit_pending p JOIN audit_log a ON a.id = p.entry_id ORDER BY a.at LIMIT 1), 0),
			coalesce((SELECT min(a.at) FROM audit_pending p JOIN audit_log a ON a.id = p.entry_id), 'epoch')`).
		Scan(&rep.Pending, &unqueued, &gone, &oldest, &oldestAt)
	if err != nil {
		return nil, fmt.Errorf("read the audit sequencer's queue: %w", err)
	}
	switch {
	case unqueued != 0:
		return &Problem{Kind: Unsequenced, AuditID: unqueued, Message: "the entry is neither a leaf of the tree nor " +
			"queued for it: it was written around the log's triggers, or its place in the queue was deleted"}, nil
	case gone != 0:
		return &Problem{Kind: Removed, AuditID: gone, Message: "the entry was queued for the tree and is gone from the log"}, nil
	case cadence > 0 && oldest != 0 && now.Sub(oldestAt) > cadence:
		return &Problem{Kind: CadenceGap, AuditID: oldest, Message: fmt.Sprintf("the entry was written %s and is not "+
			"yet in the tree, more than %s later (AUDIT_CHECKPOINT_INTERVAL and AUDIT_CHECKPOINT_GRACE): the sequencer "+
			"stopped", oldestAt.UTC().Format(time.RFC3339), cadence)}, nil
	}
	return nil, nil
}
