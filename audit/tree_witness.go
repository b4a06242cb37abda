package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/audit/tlog"
)

// TreeVersion is the Version of a witness line holding a signed checkpoint of the Merkle tree: its Seq is
// the tree's size, Hash its root, KeyID the note's key name, and Note the C2SP tlog-checkpoint itself
// (its signature is the note's; Signature and the chain fields are empty).
const TreeVersion = 3

// treeLine is a signed tree checkpoint as a witness line.
func treeLine(c TreeCheckpoint) SignedCheckpoint {
	name := ""
	if _, sigs, ok := bytes.Cut([]byte(c.Note), []byte("\n\n")); ok {
		if f := bytes.Fields(sigs); len(f) >= 2 {
			name = string(f[1]) // "— <name> <signature>"
		}
	}
	return SignedCheckpoint{Version: TreeVersion, Seq: int64(c.Size), Hash: c.Root, KeyID: name, Note: c.Note}
}

// verifiers are the note verifiers of keys, for the tree's checkpoints.
func verifiers(keys PublicKeys) ([]note.Verifier, error) {
	var vs []note.Verifier
	for id, pub := range keys {
		vkey, err := tlog.VerifierKey(id, pub)
		if err != nil {
			return nil, err
		}
		v, err := tlog.NewVerifier(vkey)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// openTree opens a signed tree checkpoint with keys, for the origin its first line names; the problem
// says what is wrong with it.
func openTree(keys PublicKeys, signed string) (tlog.Checkpoint, *Problem) {
	vs, err := verifiers(keys)
	if err != nil {
		return tlog.Checkpoint{}, &Problem{Kind: TreeCheckpointInvalid, Message: err.Error()}
	}
	origin, _, _ := bytes.Cut([]byte(signed), []byte("\n"))
	cp, err := tlog.Open([]byte(signed), string(origin), vs...)
	if err != nil {
		kind := TreeCheckpointInvalid
		if errors.Is(err, tlog.ErrUnknownKey) {
			kind = CheckpointUnknownKey
		}
		return cp, &Problem{Kind: kind, Message: "the tree checkpoint does not open with the keys given: " + err.Error()}
	}
	return cp, nil
}

// openTreeLine opens a witness line of TreeVersion and checks it says what its note says.
func openTreeLine(keys PublicKeys, c SignedCheckpoint) (tlog.Checkpoint, *Problem) {
	cp, p := openTree(keys, c.Note)
	if p != nil {
		p.Seq, p.KeyID, p.Message = c.Seq, c.KeyID, "witness: "+p.Message
		return cp, p
	}
	if cp.Size != uint64(c.Seq) || !bytes.Equal(cp.Root, c.Hash) {
		return cp, &Problem{Kind: WitnessMalformed, Seq: c.Seq, KeyID: c.KeyID,
			Message: "witness: the line's size or root differs from its signed checkpoint's"}
	}
	return cp, nil
}

// describeTree names a tree checkpoint in messages.
func describeTree(size uint64) string {
	return "tree checkpoint of size " + strconv.FormatUint(size, 10)
}

// latestTree is the newest signed checkpoint of the tree, opened with keys (ok false: none yet).
func latestTree(ctx context.Context, db Reader, keys PublicKeys) (TreeCheckpoint, tlog.Checkpoint, bool, error) {
	c, err := LatestTreeCheckpoint(ctx, db)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, tlog.Checkpoint{}, false, nil
	} else if err != nil {
		return c, tlog.Checkpoint{}, false, fmt.Errorf("read the audit tree's checkpoint: %w", err)
	}
	cp, p := openTree(keys, c.Note)
	if p != nil {
		p.Seq, p.Message = int64(c.Size), "the database's newest "+describeTree(c.Size)+": "+p.Message
		return c, cp, false, &ChainError{*p}
	}
	return c, cp, true, nil
}

// treeExtendsWitnessed checks that the database's newest tree checkpoint extends the witnessed one w: a
// consistency proof from the stored nodes links them. A ChainError (WitnessMismatch) when it does not: the
// log was rewritten or cut back after it was witnessed.
func treeExtendsWitnessed(ctx context.Context, db Reader, keys PublicKeys, w SignedCheckpoint) error {
	witnessed, p := openTreeLine(keys, w)
	if p != nil {
		return &ChainError{*p}
	}
	_, latest, ok, err := latestTree(ctx, db, keys)
	if err != nil {
		return err
	}
	if !ok {
		return &ChainError{Problem{Kind: WitnessMismatch, Seq: w.Seq, KeyID: w.KeyID,
			Message: "the witnessed " + describeTree(witnessed.Size) + " is past the database's tree, which has no checkpoint: it was deleted"}}
	}
	var proof [][]byte
	if witnessed.Size <= latest.Size {
		if proof, err = ConsistencyProof(ctx, db, witnessed.Size, latest.Size); err != nil {
			return fmt.Errorf("prove the audit tree extends the witnessed checkpoint: %w", err)
		}
	}
	if err := tlog.CheckExtends(witnessed, latest, proof); err != nil {
		return &ChainError{Problem{Kind: WitnessMismatch, Seq: w.Seq, KeyID: w.KeyID,
			Message: fmt.Sprintf("the database's %s does not extend the witnessed %s (%v): the log was rewritten or cut back after it was witnessed",
				describeTree(latest.Size), describeTree(witnessed.Size), err)}}
	}
	return nil
}
