package tlog

import (
	"testing"
)

// builtTree returns a tree of n leaves, its leaf hashes, and the nodes its visitor stored.
func builtTree(t *testing.T, n int) (*Tree, [][]byte, nodeStore) {
	t.Helper()
	leaves := leafHashes(n)
	store := nodeStore{}
	tree := NewTree(store.visit(t))
	for i := 0; i < n; i += 3 {
		if err := tree.Append(leaves[i:min(i+3, n)]...); err != nil {
			t.Fatal(err)
		}
	}
	return tree, leaves, store
}

func flipped(p [][]byte, i int) [][]byte {
	out := make([][]byte, len(p))
	for j := range p {
		out[j] = append([]byte(nil), p[j]...)
	}
	out[i][len(out[i])/2] ^= 0x40
	return out
}

func TestInclusionProofs(t *testing.T) {
	const max = 70
	_, leaves, store := builtTree(t, max)
	for size := uint64(1); size <= max; size++ {
		root := refRoot(leaves[:size])
		for index := range size {
			p, err := InclusionProof(index, size, store.node(t, size))
			if err != nil {
				t.Fatalf("InclusionProof(%d, %d): %v", index, size, err)
			}
			if err := VerifyInclusion(leaves[index], index, size, root, p); err != nil {
				t.Fatalf("proof of %d in %d: %v", index, size, err)
			}
			for i := range p {
				if VerifyInclusion(leaves[index], index, size, root, flipped(p, i)) == nil {
					t.Fatalf("proof of %d in %d verified with hash %d flipped", index, size, i)
				}
			}
			if size > 1 {
				other := (index + 1) % size
				if VerifyInclusion(leaves[index], other, size, root, p) == nil {
					t.Fatalf("proof of %d in %d verified at index %d", index, size, other)
				}
				if VerifyInclusion(leaves[other], index, size, root, p) == nil {
					t.Fatalf("proof of %d in %d verified leaf %d", index, size, other)
				}
			}
			// A wrong size: the claim "in the tree of size+1 (with that tree's root)", and the
			// original root with a size whose proof shape differs, both fail.
			if size < max && VerifyInclusion(leaves[index], index, size+1, refRoot(leaves[:size+1]), p) == nil {
				t.Fatalf("proof of %d in %d verified for size %d", index, size, size+1)
			}
			if VerifyInclusion(leaves[index], index, 2*size, root, p) == nil {
				t.Fatalf("proof of %d in %d verified for size %d", index, size, 2*size)
			}
			if len(p) > 0 && VerifyInclusion(leaves[index], index, size, root, p[:len(p)-1]) == nil {
				t.Fatalf("truncated proof of %d in %d verified", index, size)
			}
		}
	}
	if _, err := InclusionProof(5, 5, store.node(t, 5)); err == nil {
		t.Error("InclusionProof(5, 5) gave a proof")
	}
}

func TestConsistencyProofs(t *testing.T) {
	const max = 40
	_, leaves, store := builtTree(t, max)
	for size2 := uint64(0); size2 <= max; size2++ {
		root2 := refRoot(leaves[:size2])
		for size1 := uint64(0); size1 <= size2; size1++ {
			root1 := refRoot(leaves[:size1])
			p, err := ConsistencyProof(size1, size2, store.node(t, size2))
			if err != nil {
				t.Fatalf("ConsistencyProof(%d, %d): %v", size1, size2, err)
			}
			if err := VerifyConsistency(size1, size2, root1, root2, p); err != nil {
				t.Fatalf("proof from %d to %d: %v", size1, size2, err)
			}
			for i := range p {
				if VerifyConsistency(size1, size2, root1, root2, flipped(p, i)) == nil {
					t.Fatalf("proof from %d to %d verified with hash %d flipped", size1, size2, i)
				}
			}
			if size1 > 0 && size1 < size2 {
				if VerifyConsistency(size1, size2, refRoot(leaves[:size1-1]), root2, p) == nil {
					t.Fatalf("proof from %d to %d verified a wrong old root", size1, size2)
				}
				if VerifyConsistency(size1, size2, root1, refRoot(leaves[:size2-1]), p) == nil {
					t.Fatalf("proof from %d to %d verified a wrong new root", size1, size2)
				}
				if size1+1 < size2 && VerifyConsistency(size1+1, size2, refRoot(leaves[:size1+1]), root2, p) == nil {
					t.Fatalf("proof from %d to %d verified from %d", size1, size2, size1+1)
				}
				if VerifyConsistency(size1, size2, root1, root2, p[:len(p)-1]) == nil {
					t.Fatalf("truncated proof from %d to %d verified", size1, size2)
				}
			}
			if size1 == size2 && size1 > 0 && VerifyConsistency(size1, size2, root1, refRoot(leaves[:size1-1]), p) == nil {
				t.Fatalf("equal sizes %d verified with different roots", size1)
			}
		}
	}
	if _, err := ConsistencyProof(5, 4, store.node(t, 5)); err == nil {
		t.Error("ConsistencyProof(5, 4) gave a proof")
	}
}

func TestProofFromMissingNode(t *testing.T) {
	_, _, store := builtTree(t, 9)
	delete(store, [2]uint64{2, 0}) // the root of leaves 0..3
	if _, err := InclusionProof(5, 9, store.node(t, 9)); err == nil {
		t.Error("InclusionProof succeeded without a node it needs")
	}
	store[[2]uint64{2, 0}] = []byte("short")
	if _, err := ConsistencyProof(5, 9, store.node(t, 9)); err == nil {
		t.Error("ConsistencyProof took a short node hash")
	}
}
