package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

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
}

// ChainError: Checkpoint found the entries since the newest checkpoint do not verify, and signed nothing.
type ChainError struct{ Problem Problem }

func (e *ChainError) Error() string {
	return "audit chain does not verify since the newest checkpoint, not signing it: " + e.Problem.String()
}

// Checkpoint signs the chain head with keys.Signing when it has moved since the newest checkpoint, and
// stores the checkpoint. It is idempotent: with no new entries it signs nothing. It first checks that the
// newest checkpoint verifies with keys.Verify and the entries since it chain from it to the head, so it
// never signs over a broken chain (ChainError). Run it periodically; each checkpoint fixes every entry up
// to it.
func Checkpoint(ctx context.Context, db DB, keys Keys) (CheckpointResult, error) {
	if keys.Signing == nil {
		return CheckpointResult{}, ErrNoSigningKey
	}
	res, err := headToSign(ctx, db, keys.Verify)
	if err != nil || !res.Signed {
		return res, err
	}
	res.KeyID = keys.KeyID
	sig := ed25519.Sign(keys.Signing, CheckpointMessage(res.Seq, res.Hash))
	// A concurrent Checkpoint may have stored this seq already (then Signed is false).
	err = pgx.BeginTxFunc(ctx, db, pgx.TxOptions{}, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, key_id, signature) VALUES ($1, $2, $3, $4)
			ON CONFLICT (seq) DO NOTHING`, res.Seq, res.Hash, res.KeyID, sig)
		res.Signed = tag.RowsAffected() == 1
		return err
	})
	if err != nil {
		return CheckpointResult{}, fmt.Errorf("store audit checkpoint: %w", err)
	}
	return res, nil
}

// headToSign reads, in one snapshot, the chain head and the newest checkpoint and checks the entries
// between them. Signed is true when the head is to be signed.
func headToSign(ctx context.Context, db DB, keys PublicKeys) (CheckpointResult, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return CheckpointResult{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var headSeq int64
	var headHash []byte
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_chain WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return CheckpointResult{}, fmt.Errorf("read audit chain head: %w", err)
	}
	last := CheckpointResult{Hash: genesis}
	var lastCP checkpoint
	err = tx.QueryRow(ctx, `SELECT seq, hash, key_id, signature, signed_at FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`).
		Scan(&lastCP.seq, &lastCP.hash, &lastCP.keyID, &lastCP.signature, &lastCP.signedAt)
	switch {
	case err == nil:
		last = CheckpointResult{Seq: lastCP.seq, Hash: lastCP.hash, KeyID: lastCP.keyID}
		if w := (&walker{keys: keys}); !w.checkpointSigned(lastCP, 0) {
			return CheckpointResult{}, &ChainError{*w.report.Problem}
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return CheckpointResult{}, fmt.Errorf("read audit checkpoints: %w", err)
	}
	if headSeq == 0 && last.Seq == 0 {
		return CheckpointResult{}, nil
	}
	if headSeq <= last.Seq {
		if headSeq == last.Seq && bytes.Equal(headHash, last.Hash) {
			return last, nil
		}
		return CheckpointResult{}, &ChainError{Problem{Kind: Removed, Seq: headSeq + 1,
			Message: fmt.Sprintf("the chain head (seq %d) is not the newest checkpoint's (seq %d) or after it", headSeq, last.Seq)}}
	}
	w := &walker{next: last.Seq + 1, prev: last.Hash}
	ok, err := w.walk(ctx, tx, last.Seq)
	if err != nil {
		return CheckpointResult{}, err
	}
	if ok {
		w.end(headSeq, headHash, true)
	}
	if w.report.Problem != nil {
		return CheckpointResult{}, &ChainError{*w.report.Problem}
	}
	return CheckpointResult{Seq: headSeq, Hash: headHash, Signed: true}, nil
}
