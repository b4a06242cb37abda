package tlog

import (
	"bytes"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/merkle/testonly"
)

// TestRFC6962Vectors checks roots against the published RFC 6962 test vectors (the Certificate
// Transparency reference leaves and roots) that transparency-dev/merkle carries.
func TestRFC6962Vectors(t *testing.T) {
	inputs, roots := testonly.LeafInputs(), testonly.RootHashes()
	tree := NewTree(nil)
	if !bytes.Equal(tree.Root(), roots[0]) {
		t.Fatalf("empty root = %x, want %x", tree.Root(), roots[0])
	}
	for i, in := range inputs {
		if err := tree.Append(LeafHash(in)); err != nil {
			t.Fatal(err)
		}
		if got, want := tree.Root(), roots[i+1]; !bytes.Equal(got, want) {
			t.Fatalf("root of %d = %x, want %x", i+1, got, want)
		}
	}
}

// TestProofsMatchReference compares proofs built from stored nodes with those of merkle's in-memory
// reference tree, which holds every leaf.
func TestProofsMatchReference(t *testing.T) {
	const max = 40
	_, leaves, store := builtTree(t, max)
	ref := testonly.New(rfc6962.DefaultHasher)
	ref.Append(leaves...)
	for size2 := uint64(1); size2 <= max; size2++ {
		for index := range size2 {
			got, err := InclusionProof(index, size2, store.node(t, size2))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.InclusionProof(index, size2)
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(got, want) {
				t.Fatalf("inclusion proof of %d in %d differs from the reference", index, size2)
			}
		}
		for size1 := uint64(0); size1 <= size2; size1++ {
			got, err := ConsistencyProof(size1, size2, store.node(t, size2))
			if err != nil {
				t.Fatal(err)
			}
			want, err := ref.ConsistencyProof(size1, size2)
			if err != nil {
				t.Fatal(err)
			}
			if !equalProofs(got, want) {
				t.Fatalf("consistency proof from %d to %d differs from the reference", size1, size2)
			}
		}
	}
}

func equalProofs(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}
