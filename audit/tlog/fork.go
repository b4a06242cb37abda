package tlog

import (
	"bytes"
	"errors"
	"fmt"
)

var (
	// ErrFork: two checkpoints of one log cannot both be true: the same size with different roots, or
	// a newer tree that does not contain the older one.
	ErrFork = errors.New("tlog: log forked")
	// ErrRollback: a newer checkpoint has a smaller tree than an older one.
	ErrRollback = errors.New("tlog: log rolled back")
)

// CheckExtends checks that newer extends older: same origin, newer.Size >= older.Size, and consistency
// is a valid consistency proof from older to newer (empty when the sizes are equal or older is
// empty). A smaller newer tree is [ErrRollback]; the same size with a different root, or a proof that
// does not verify, is [ErrFork]: a log that cannot prove newer extends older must be treated as having
// forked, whatever the cause. Both checkpoints should first have been verified with [Open].
func CheckExtends(older, newer Checkpoint, consistency [][]byte) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("tlog: checkpoints are of different logs %q and %q", older.Origin, newer.Origin)
	}
	switch {
	case newer.Size < older.Size:
		return fmt.Errorf("%w: size %d after size %d", ErrRollback, newer.Size, older.Size)
	case newer.Size == older.Size:
		if !bytes.Equal(older.Root, newer.Root) {
			return fmt.Errorf("%w: two roots for size %d", ErrFork, older.Size)
		}
		if len(consistency) != 0 {
			return fmt.Errorf("tlog: consistency proof between equal sizes %d must be empty", older.Size)
		}
		return nil
	case older.Size == 0:
		if !bytes.Equal(older.Root, EmptyRoot()) {
			return fmt.Errorf("%w: root of the empty tree is not the empty root", ErrFork)
		}
	}
	if err := VerifyConsistency(older.Size, newer.Size, older.Root, newer.Root, consistency); err != nil {
		return fmt.Errorf("%w: size %d is not consistent with size %d: %v", ErrFork, newer.Size, older.Size, err)
	}
	return nil
}
