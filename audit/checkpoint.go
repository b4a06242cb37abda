package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// CheckpointResult is the newest checkpoint after Checkpoint.
type CheckpointResult struct {
	Seq   int64
	Hash  []byte
	KeyID string
	// Signed: Checkpoint signed this one now. False when the head had not moved since the newest checkpoint
	// (the result is that checkpoint) or there are no entries yet (Seq 0).
	Signed bool
	// Witnessed is how many checkpoints Checkpoint appended to its sinks (the new one, and any a sink
	// missed before, and the newest checkpoint of the Merkle tree).
	Witnessed int `json:",omitempty"`
	// TreeSize is the size of the newest checkpoint of the Merkle tree, which the sinks hold.
	TreeSize uint64 `json:",omitempty"`
}

// ChainError: Checkpoint found the entries since the newest checkpoint do not verify, or the database no
// longer holds a checkpoint a sink witnessed, and signed nothing.
type ChainError struct{ Problem Problem }

func (e *ChainError) Error() string {
	return "not signing the audit chain's head: " + e.Problem.String()
}

// Database is what Checkpoint needs of the database: transactions, and reads of the Merkle tree.
type Database interface {
	DB
	Reader
}

// Checkpoint signs the chain head with keys.Signing when it has moved since the newest checkpoint, chaining
// the new checkpoint to that one, stores it, and appends to each sink every chain checkpoint it does not
// hold yet and then the newest signed checkpoint of the Merkle tree (TreeVersion), when the sink holds an
// older one. It is idempotent: with no new entries it signs nothing, and a sink gets each checkpoint once.
// It first checks each sink's newest checkpoint against the database (a chain checkpoint must be stored
// unchanged; the tree must extend a tree checkpoint, by a consistency proof), that the newest checkpoint
// verifies with keys.Verify, and that the entries since it chain from it to the head; otherwise it signs
// and appends nothing (ChainError). A sink that fails to take its checkpoints (unreachable) fails
// Checkpoint, after the other sinks were extended; it gets them on the next run. Run it periodically.
//
// The chain ended when the Merkle tree took over (schema/015_audit_unlocked.sql): its head moves no more,
// so Checkpoint signs it at most once more, and from then on witnesses the tree.
func Checkpoint(ctx context.Context, db Database, keys Keys, sinks ...Sink) (CheckpointResult, error) {
	if keys.Signing == nil {
		return CheckpointResult{}, ErrNoSigningKey
	}
	for _, s := range sinks {
		if err := s.Extend(ctx, func(newest *SignedCheckpoint) ([]SignedCheckpoint, error) {
			return nil, checkWitnessed(ctx, db, keys.Verify, newest)
		}); err != nil {
			return CheckpointResult{}, err
		}
	}
	res, err := sign(ctx, db, keys)
	if err != nil {
		return res, err
	}
	tree, _, haveTree, err := latestTree(ctx, db, keys.Verify)
	if err != nil {
		return res, err
	}
	if haveTree {
		res.TreeSize = tree.Size
	}
	// A sink that fails to take its checkpoints (a SIEM down) does not hold the others back: each is
	// extended, and the error names every sink that failed. A ChainError stops here, as before signing.
	var failed []error
	for _, s := range sinks {
		added := 0
		if err := s.Extend(ctx, func(newest *SignedCheckpoint) ([]SignedCheckpoint, error) {
			var add []SignedCheckpoint
			if newest == nil || newest.Version != TreeVersion {
				chain, err := unwitnessed(ctx, db, keys.Verify, newest)
				if err != nil {
					return nil, err
				}
				add = chain
			} else if err := checkWitnessed(ctx, db, keys.Verify, newest); err != nil {
				return nil, err
			}
			if haveTree && (newest == nil || newest.Version != TreeVersion || uint64(newest.Seq) < tree.Size) {
				add = append(add, treeLine(tree))
			}
			added = len(add)
			return add, nil
		}); err != nil {
			var broken *ChainError
			if errors.As(err, &broken) {
				return res, fmt.Errorf("witness audit checkpoint: %w", err)
			}
			failed = append(failed, fmt.Errorf("witness audit checkpoint: %w", err))
			continue
		}
		res.Witnessed += added
	}
	return res, errors.Join(failed...)
}

// checkWitnessed checks a sink's newest checkpoint (nil: none) against the database; a ChainError when the
// database no longer agrees with it.
func checkWitnessed(ctx context.Context, db Database, keys PublicKeys, newest *SignedCheckpoint) error {
	if newest != nil && newest.Version == TreeVersion {
		return treeExtendsWitnessed(ctx, db, keys, *newest)
	}
	return witnessedInDB(ctx, db, keys, newest)
}

// sign signs and stores the head when it moved since the newest checkpoint. Signers are serialised by a
// lock on audit_checkpoints taken before the transaction's snapshot, so each checkpoint chains to the one
// stored last; readers and audit writers do not wait for it.
func sign(ctx context.Context, db DB, keys Keys) (res CheckpointResult, err error) {
	err = pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("lock audit checkpoints: %w", err)
		}
		var prev SignedCheckpoint
		var now time.Time
		if res, prev, now, err = headToSign(ctx, tx, keys.Verify); err != nil || !res.Signed {
			return err
		}
		c := SignedCheckpoint{Version: 2, Seq: res.Seq, Hash: res.Hash, SignedAt: now.Truncate(time.Microsecond),
			PrevSeq: prev.Seq, PrevHash: prev.Hash, KeyID: keys.KeyID}
		c.Signature = ed25519.Sign(keys.Signing, c.Message())
		if _, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (version, seq, hash, signed_at, prev_seq, prev_hash, key_id, signature)
			VALUES (2, $1, $2, $3, $4, $5, $6, $7)`, c.Seq, c.Hash, c.SignedAt, c.PrevSeq, c.PrevHash, c.KeyID, c.Signature); err != nil {
			return fmt.Errorf("store audit checkpoint: %w", err)
		}
		res.KeyID = keys.KeyID
		return nil
	})
	if err != nil {
		return CheckpointResult{}, err
	}
	return res, nil
}

// headToSign reads, in tx's snapshot, the chain head, the newest checkpoint and the database's time, and
// checks the entries between them. Signed is true when the head is to be signed; prev is the newest
// checkpoint (seq 0 and the genesis hash when there is none).
func headToSign(ctx context.Context, tx pgx.Tx, keys PublicKeys) (res CheckpointResult, prev SignedCheckpoint, now time.Time, err error) {
	prev = SignedCheckpoint{Hash: genesis}
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRow(ctx, `SELECT seq, hash, clock_timestamp() FROM audit_chain WHERE id = 1`).Scan(&headSeq, &headHash, &now); err != nil {
		return res, prev, now, fmt.Errorf("read audit chain head: %w", err)
	}
	newest, err := readCheckpoints(ctx, tx, `ORDER BY seq DESC LIMIT 1`)
	if err != nil {
		return res, prev, now, err
	}
	if len(newest) == 1 {
		prev = newest[0]
		if p := signatureProblem(keys, prev, 0); p != nil {
			return res, prev, now, &ChainError{*p}
		}
	}
	last := CheckpointResult{Seq: prev.Seq, Hash: prev.Hash, KeyID: prev.KeyID}
	if headSeq == 0 && last.Seq == 0 {
		return CheckpointResult{}, prev, now, nil
	}
	if headSeq <= last.Seq {
		if headSeq == last.Seq && bytes.Equal(headHash, last.Hash) {
			return last, prev, now, nil
		}
		return res, prev, now, &ChainError{Problem{Kind: Removed, Seq: headSeq + 1,
			Message: fmt.Sprintf("the chain head (seq %d) is not the newest checkpoint's (seq %d) or after it", headSeq, last.Seq)}}
	}
	w := &walker{next: last.Seq + 1, prev: last.Hash}
	ok, err := w.walk(ctx, tx, last.Seq)
	if err != nil {
		return res, prev, now, err
	}
	if ok {
		w.end(headSeq, headHash, true)
	}
	if w.report.Problem != nil {
		return res, prev, now, &ChainError{*w.report.Problem}
	}
	return CheckpointResult{Seq: headSeq, Hash: headHash, Signed: true}, prev, now, nil
}

// witnessedInDB checks that a sink's newest checkpoint (nil: none) verifies, is in the database unchanged,
// and that the log still has its hash at its seq; a ChainError when not.
func witnessedInDB(ctx context.Context, db DB, keys PublicKeys, newest *SignedCheckpoint) error {
	if newest == nil {
		return nil
	}
	if p := signatureProblem(keys, *newest, 0); p != nil {
		p.Message = "witness: " + p.Message
		return &ChainError{*p}
	}
	var stored []SignedCheckpoint
	var logHash []byte
	err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if stored, err = readCheckpoints(ctx, tx, `WHERE seq = $1`, newest.Seq); err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `SELECT hash FROM audit_log WHERE seq = $1`, newest.Seq).Scan(&logHash)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("read the witnessed audit checkpoint: %w", err)
	}
	switch {
	case len(stored) == 0:
		return &ChainError{Problem{Kind: WitnessMismatch, Seq: newest.Seq, KeyID: newest.KeyID,
			Message: "the witnessed " + newest.describe() + " is missing from the database: it was deleted"}}
	case !stored[0].Equal(*newest):
		return &ChainError{Problem{Kind: WitnessMismatch, Seq: newest.Seq, KeyID: newest.KeyID,
			Message: "the database's checkpoint at this seq differs from the witnessed " + newest.describe()}}
	case !bytes.Equal(logHash, newest.Hash):
		return &ChainError{Problem{Kind: WitnessMismatch, Seq: newest.Seq, KeyID: newest.KeyID,
			Message: "the log's hash here differs from the witnessed " + newest.describe() + ": the log was rewritten after it was witnessed"}}
	}
	return nil
}

// unwitnessed are the database's checkpoints after a sink's newest (nil: all of them), in seq order, each
// verified and chained to the one before; a ChainError when one is not.
func unwitnessed(ctx context.Context, db DB, keys PublicKeys, newest *SignedCheckpoint) ([]SignedCheckpoint, error) {
	if err := witnessedInDB(ctx, db, keys, newest); err != nil {
		return nil, err
	}
	var after int64
	if newest != nil {
		after = newest.Seq
	}
	var add []SignedCheckpoint
	err := pgx.BeginTxFunc(ctx, db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		add, err = readCheckpoints(ctx, tx, `WHERE seq > $1 ORDER BY seq`, after)
		return err
	})
	if err != nil {
		return nil, err
	}
	prev := newest
	for i, c := range add {
		p := signatureProblem(keys, c, 0)
		if p == nil {
			p = linkProblem(prev, c)
		}
		if p != nil {
			return nil, &ChainError{*p}
		}
		prev = &add[i]
	}
	return add, nil
}
