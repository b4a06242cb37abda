package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/events"
)

// leafVersion starts every leaf's data, so that a later format can never be taken for this one.
const leafVersion = "signetassure-audit-leaf-v1"

// LeafData is an entry's data in the Merkle tree (schema/014_audit_tree.sql): leafVersion, then the
// netstrings of its id, time (µs since the epoch), actor id, action, entity type, entity id, detail and
// dedup key. It leaves the hash chain out, so that it outlives it.
func (e entry) LeafData() []byte {
	b := []byte(leafVersion)
	for _, f := range []string{strconv.FormatInt(e.id, 10), strconv.FormatInt(e.atMicros, 10), e.actor, e.action,
		e.entityType, e.entityID, e.detail, e.dedupKey} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
		b = append(b, ',')
	}
	return b
}

// SequenceResult is what one Sequence did.
type SequenceResult struct {
	// Busy: another sequencer was running; this one did nothing.
	Busy bool
	// Added is how many entries became leaves; Size is the tree's size after.
	Added int
	Size  uint64
	// Checkpoint is the signed checkpoint of Size (nil without a signing key).
	Checkpoint []byte
}

// sequencerLock is the advisory lock one sequencer holds at a time.
const sequencerLock = `SELECT pg_try_advisory_xact_lock(hashtext('signetassure.audit-sequencer'))`

// Sequence integrates up to batch committed entries not yet in the Merkle tree (audit_pending), in the
// order they are queued, stores the nodes they complete and the tree's new state, and signs a checkpoint
// of the new size with keys.Signing (when set) for origin, all in one transaction. One sequencer runs at a
// time: another finds it busy and does nothing. Run it until Added is below batch to catch up.
func Sequence(ctx context.Context, db DB, keys Keys, origin string, batch int) (SequenceResult, error) {
	var res SequenceResult
	tx, err := db.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return res, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var locked bool
	if err := tx.QueryRow(ctx, sequencerLock).Scan(&locked); err != nil || !locked {
		res.Busy = err == nil
		return res, err
	}
	var size int64
	var hashes [][]byte
	if err := tx.QueryRow(ctx, `SELECT size, hashes FROM audit_tree WHERE id = 1 FOR UPDATE`).Scan(&size, &hashes); err != nil {
		return res, fmt.Errorf("read the audit tree: %w", err)
	}
	var levels []int16
	var indexes []int64
	var nodeHashes [][]byte
	tree, err := tlog.RestoreTree(uint64(size), hashes, func(level uint, index uint64, hash []byte) {
		levels, indexes, nodeHashes = append(levels, int16(level)), append(indexes, int64(index)), append(nodeHashes, hash)
	})
	if err != nil {
		return res, fmt.Errorf("restore the audit tree: %w", err)
	}
	// An entry and its queue row commit together, so one statement sees both or neither.
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM audit_pending p JOIN audit_log ON id = p.entry_id
		ORDER BY p.entry_id LIMIT $1`, batch)
	if err != nil {
		return res, err
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (entry, error) { return scanEntry(r.(pgx.Rows)) })
	if err != nil {
		return res, err
	}
	var leafIndexes, entryIDs []int64
	var leaves [][]byte
	for i, e := range entries {
		leafIndexes, entryIDs = append(leafIndexes, size+int64(i)), append(entryIDs, e.id)
		leaves = append(leaves, tlog.LeafHash(e.LeafData()))
	}
	if err := tree.Append(leaves...); err != nil {
		return res, err
	}
	if len(entries) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO audit_leaves (leaf_index, entry_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])`,
			leafIndexes, entryIDs); err != nil {
			return res, err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM audit_pending WHERE entry_id = ANY($1)`, entryIDs); err != nil {
			return res, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_tree_nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`,
			levels, indexes, nodeHashes); err != nil {
			return res, err
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_tree SET size = $1, hashes = $2 WHERE id = 1`, int64(tree.Size()), tree.Hashes()); err != nil {
			return res, err
		}
	}
	res.Added, res.Size = len(entries), tree.Size()
	if keys.Signing != nil {
		if res.Checkpoint, err = signTree(ctx, tx, keys, origin, tree); err != nil {
			return res, err
		}
	}
	return res, tx.Commit(ctx)
}

// signTree signs a checkpoint of the tree as it is, unless one of its size is stored already (then it
// returns that one).
func signTree(ctx context.Context, tx pgx.Tx, keys Keys, origin string, tree *tlog.Tree) ([]byte, error) {
	var stored string
	err := tx.QueryRow(ctx, `SELECT note FROM audit_tree_checkpoints WHERE size = $1`, int64(tree.Size())).Scan(&stored)
	if err == nil {
		return []byte(stored), nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	note, err := tlog.Sign(tlog.Checkpoint{Origin: origin, Size: tree.Size(), Root: tree.Root()}, keys.KeyID, keys.Signing)
	if err != nil {
		return nil, fmt.Errorf("sign the audit tree: %w", err)
	}
	if _, err = tx.Exec(ctx, `INSERT INTO audit_tree_checkpoints (size, root, note) VALUES ($1, $2, $3)`, int64(tree.Size()),
		tree.Root(), string(note)); err != nil {
		return nil, err
	}
	// The lifecycle event, in the checkpoint's transaction (the outbox: schema/018_events.sql).
	ev := events.CheckpointDraft(origin, tree.Size(), tree.Root(), keys.KeyID, string(note))
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `SELECT events_append(NULL, NULL, $1, $2, $3, $4::jsonb, NULL)`, ev.Type, ev.Version, ev.Subject, data)
	return note, err
}

// Reader reads the database: a pool, a connection or a transaction. Proofs need no snapshot: a node's
// hash never changes once stored, and a proof of a size reads only nodes inside it.
type Reader interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// TreeCheckpoint is a signed checkpoint of the audit tree, with the key that verifies it.
type TreeCheckpoint struct {
	Size uint64 `json:"size"`
	Root []byte `json:"rootHash"`
	// Note is the C2SP tlog-checkpoint signed note.
	Note string `json:"checkpoint"`
}

// LatestTreeCheckpoint is the newest signed checkpoint of the audit tree (pgx.ErrNoRows: none yet).
func LatestTreeCheckpoint(ctx context.Context, db Reader) (TreeCheckpoint, error) {
	var c TreeCheckpoint
	var size int64
	err := db.QueryRow(ctx, `SELECT size, root, note FROM audit_tree_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &c.Root, &c.Note)
	c.Size = uint64(size)
	return c, err
}

// Inclusion is the proof that an audit entry is in the tree of a size: its leaf data (the verifier
// hashes it), its index, and the proof's hashes.
type Inclusion struct {
	EntryID   int64    `json:"entryId"`
	LeafIndex uint64   `json:"leafIndex"`
	TreeSize  uint64   `json:"treeSize"`
	LeafData  []byte   `json:"leafData"`
	Hashes    [][]byte `json:"hashes"`
}

// ErrNotInTree: the entry is not (yet) a leaf of the tree of the size asked for, or the size is larger
// than the tree.
var ErrNotInTree = errors.New("not in the audit tree of that size")

// InclusionProof proves entry entryID's inclusion in the tree of size (which must not exceed the tree's).
func InclusionProof(ctx context.Context, tx Reader, entryID int64, size uint64) (Inclusion, error) {
	p := Inclusion{EntryID: entryID, TreeSize: size}
	var treeSize, index int64
	err := tx.QueryRow(ctx, `SELECT t.size, l.leaf_index FROM audit_tree t, audit_leaves l WHERE l.entry_id = $1`, entryID).
		Scan(&treeSize, &index)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (uint64(index) >= size || size > uint64(treeSize))) {
		return p, ErrNotInTree
	} else if err != nil {
		return p, err
	}
	rows, err := tx.Query(ctx, `SELECT `+entryColumns+` FROM audit_log WHERE id = $1`, entryID)
	if err != nil {
		return p, err
	}
	e, err := pgx.CollectExactlyOneRow(rows, func(r pgx.CollectableRow) (entry, error) { return scanEntry(r.(pgx.Rows)) })
	if err != nil {
		return p, err
	}
	p.LeafIndex, p.LeafData = uint64(index), e.LeafData()
	p.Hashes, err = tlog.InclusionProof(p.LeafIndex, size, storedNode(ctx, tx))
	return p, err
}

// Consistency is the proof that the tree of size To extends the tree of size From (RFC 6962), as the API
// answers it.
type Consistency struct {
	From   int64    `json:"from"`
	To     int64    `json:"to"`
	Hashes [][]byte `json:"hashes"`
}

// ConsistencyProof proves the tree of size2 extends the tree of size1.
func ConsistencyProof(ctx context.Context, tx Reader, size1, size2 uint64) ([][]byte, error) {
	var treeSize int64
	if err := tx.QueryRow(ctx, `SELECT size FROM audit_tree WHERE id = 1`).Scan(&treeSize); err != nil {
		return nil, err
	}
	if size1 > size2 || size2 > uint64(treeSize) {
		return nil, ErrNotInTree
	}
	return tlog.ConsistencyProof(size1, size2, storedNode(ctx, tx))
}

// storedNode reads a node's hash from audit_tree_nodes.
func storedNode(ctx context.Context, tx Reader) tlog.NodeFunc {
	return func(level uint, index uint64) ([]byte, error) {
		var h []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM audit_tree_nodes WHERE level = $1 AND idx = $2`, int16(level), int64(index)).Scan(&h)
		if err != nil {
			return nil, fmt.Errorf("audit tree node (%d, %d): %w", level, index, err)
		}
		if len(h) != sha256.Size {
			return nil, fmt.Errorf("audit tree node (%d, %d): %d bytes", level, index, len(h))
		}
		return h, nil
	}
}

// Prover proves the inclusion of many entries in the tree of one size, reading their entries a batch at
// a time and keeping the nodes their proofs share (the upper levels) in memory, a bounded number of them.
type Prover struct {
	db    Reader
	size  uint64
	nodes map[[2]uint64][]byte
}

// maxCachedNodes bounds a Prover's cache (about 4 MB of hashes and keys).
const maxCachedNodes = 64 << 10

// NewProver proves inclusion in the tree of size, which must not exceed the tree's.
func NewProver(ctx context.Context, db Reader, size uint64) (*Prover, error) {
	var treeSize int64
	if err := db.QueryRow(ctx, `SELECT size FROM audit_tree WHERE id = 1`).Scan(&treeSize); err != nil {
		return nil, err
	}
	if size > uint64(treeSize) {
		return nil, ErrNotInTree
	}
	return &Prover{db: db, size: size, nodes: map[[2]uint64][]byte{}}, nil
}

// Prove proves the entries ids, in their order; an entry that is not a leaf of the tree of the
// Prover's size is ErrNotInTree.
func (p *Prover) Prove(ctx context.Context, ids []int64) ([]Inclusion, error) {
	rows, err := p.db.Query(ctx, `SELECT leaf_index, `+entryColumns+` FROM audit_leaves
		JOIN audit_log ON id = entry_id WHERE entry_id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	type leaf struct {
		index int64
		e     entry
	}
	found := map[int64]leaf{}
	for rows.Next() {
		var l leaf
		err := rows.Scan(&l.index, &l.e.id, &l.e.seq, &l.e.prevHash, &l.e.hash, &l.e.atMicros, &l.e.actor, &l.e.action,
			&l.e.entityType, &l.e.entityID, &l.e.detail, &l.e.dedupKey)
		if err != nil {
			rows.Close()
			return nil, err
		}
		found[l.e.id] = l
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	stored := storedNode(ctx, p.db)
	node := func(level uint, index uint64) ([]byte, error) {
		k := [2]uint64{uint64(level), index}
		if h, ok := p.nodes[k]; ok {
			return h, nil
		}
		h, err := stored(level, index)
		if err == nil {
			if len(p.nodes) >= maxCachedNodes {
				clear(p.nodes)
			}
			p.nodes[k] = h
		}
		return h, err
	}
	out := make([]Inclusion, 0, len(ids))
	for _, id := range ids {
		l, ok := found[id]
		if !ok || uint64(l.index) >= p.size {
			return nil, fmt.Errorf("audit entry %d: %w", id, ErrNotInTree)
		}
		in := Inclusion{EntryID: id, LeafIndex: uint64(l.index), TreeSize: p.size, LeafData: l.e.LeafData()}
		if in.Hashes, err = tlog.InclusionProof(in.LeafIndex, p.size, node); err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}
