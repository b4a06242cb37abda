package tlog

import (
	"errors"
	"testing"
)

func TestCheckExtends(t *testing.T) {
	const n = 25
	_, leaves, store := builtTree(t, n)
	cp := func(size uint64) Checkpoint {
		return Checkpoint{Origin: testOrigin, Size: size, Root: refRoot(leaves[:size])}
	}
	proof := func(size1, size2 uint64) [][]byte {
		p, err := ConsistencyProof(size1, size2, store.node(t, size2))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	for _, s := range [][2]uint64{{0, 0}, {0, 5}, {1, 1}, {3, 17}, {8, 16}, {16, 25}, {25, 25}} {
		if err := CheckExtends(cp(s[0]), cp(s[1]), proof(s[0], s[1])); err != nil {
			t.Errorf("CheckExtends(%d, %d): %v", s[0], s[1], err)
		}
	}

	// Rollback: the newer checkpoint is smaller.
	if err := CheckExtends(cp(17), cp(3), nil); !errors.Is(err, ErrRollback) {
		t.Errorf("shrink: %v, want ErrRollback", err)
	}

	// A fork: another history from leaf 10 on, as someone rewriting the database would produce.
	forked := append([][]byte(nil), leaves...)
	forked[10] = LeafHash([]byte("rewritten entry"))
	forkStore := nodeStore{}
	forkTree := NewTree(forkStore.visit(t))
	if err := forkTree.Append(forked...); err != nil {
		t.Fatal(err)
	}
	forkCP := func(size uint64) Checkpoint {
		return Checkpoint{Origin: testOrigin, Size: size, Root: refRoot(forked[:size])}
	}
	if err := CheckExtends(cp(20), forkCP(20), nil); !errors.Is(err, ErrFork) {
		t.Errorf("same size, other root: %v, want ErrFork", err)
	}
	forkProof, err := ConsistencyProof(12, 25, forkStore.node(t, 25))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckExtends(cp(12), forkCP(25), forkProof); !errors.Is(err, ErrFork) {
		t.Errorf("forked growth with the fork's proof: %v, want ErrFork", err)
	}
	if err := CheckExtends(cp(12), forkCP(25), proof(12, 25)); !errors.Is(err, ErrFork) {
		t.Errorf("forked growth with the honest proof: %v, want ErrFork", err)
	}
	// The fork agrees with the honest log before leaf 10.
	forkPrefix, err := ConsistencyProof(9, 25, forkStore.node(t, 25))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckExtends(cp(9), forkCP(25), forkPrefix); err != nil {
		t.Errorf("fork extends the common prefix of 9: %v", err)
	}

	// A bogus empty tree root.
	if err := CheckExtends(Checkpoint{Origin: testOrigin, Root: leaves[0]}, cp(5), nil); !errors.Is(err, ErrFork) {
		t.Errorf("empty checkpoint with a non-empty root: %v, want ErrFork", err)
	}
	// Equal sizes take no proof; another log is not compared.
	if err := CheckExtends(cp(5), cp(5), proof(3, 5)); err == nil {
		t.Error("equal sizes with a non-empty proof accepted")
	}
	other := cp(20)
	other.Origin = "elsewhere/audit"
	if err := CheckExtends(cp(5), other, proof(5, 20)); err == nil || errors.Is(err, ErrFork) {
		t.Errorf("checkpoints of different logs: %v", err)
	}
}
