package audit

import (
	"bytes"
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

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
)

type treeCheckpoint struct {
	size uint64
	root []byte
	note string
}

// verifyTree rebuilds the audit log's Merkle tree from its entries in leaf order, in tx, and checks each
// leaf against the stored one and each signed checkpoint (opened with keys) against the tree of its size.
// It counts what verified in rep and returns the first problem.
func verifyTree(ctx context.Context, tx pgx.Tx, keys PublicKeys, rep *Report) (*Problem, error) {
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
	var verifiers []note.Verifier
	for id, pub := range keys {
		vkey, err := tlog.VerifierKey(id, pub)
		if err != nil {
			return nil, err
		}
		v, err := tlog.NewVerifier(vkey)
		if err != nil {
			return nil, err
		}
		verifiers = append(verifiers, v)
	}
	for _, c := range cps {
		origin, _, _ := bytes.Cut([]byte(c.note), []byte("\n"))
		opened, err := tlog.Open([]byte(c.note), string(origin), verifiers...)
		if err != nil {
			return &Problem{Kind: TreeCheckpointInvalid, Message: fmt.Sprintf("the checkpoint of size %d: %v", c.size, err)}, nil
		}
		if opened.Size != c.size || !bytes.Equal(opened.Root, c.root) {
			return &Problem{Kind: TreeCheckpointInvalid, Message: fmt.Sprintf("the checkpoint of size %d signs size %d and another root", c.size, opened.Size)}, nil
		}
	}

	tree := tlog.NewTree(nil)
	next := 0 // the next checkpoint to meet
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
	rep.TreeSize = tree.Size()
	return nil, nil
}
