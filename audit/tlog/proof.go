package tlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/proof"
)

// NodeFunc returns the stored hash of the node (level, index), as a [Visitor] received it.
type NodeFunc func(level uint, index uint64) ([]byte, error)

// InclusionProof returns the RFC 6962 inclusion proof of the leaf at index in the tree of the given
// size, built from stored nodes. It requires index < size, and node must know every node of the tree
// of that size's perfect subtrees.
func InclusionProof(index, size uint64, node NodeFunc) ([][]byte, error) {
	if index >= size {
		return nil, fmt.Errorf("tlog: inclusion proof: index %d is not below tree size %d", index, size)
	}
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		return nil, fmt.Errorf("tlog: inclusion proof of %d in %d: %w", index, size, err)
	}
	p, err := build(nodes, node)
	if err != nil {
		return nil, fmt.Errorf("tlog: inclusion proof of %d in %d: %w", index, size, err)
	}
	return p, nil
}

// ConsistencyProof returns the RFC 6962 consistency proof between the trees of size1 and size2,
// built from stored nodes. It requires size1 <= size2; the proof is empty when size1 is 0 or equal to
// size2.
func ConsistencyProof(size1, size2 uint64, node NodeFunc) ([][]byte, error) {
	if size1 > size2 {
		return nil, fmt.Errorf("tlog: consistency proof: size %d is larger than size %d", size1, size2)
	}
	nodes, err := proof.Consistency(size1, size2)
	if err != nil {
		return nil, fmt.Errorf("tlog: consistency proof from %d to %d: %w", size1, size2, err)
	}
	p, err := build(nodes, node)
	if err != nil {
		return nil, fmt.Errorf("tlog: consistency proof from %d to %d: %w", size1, size2, err)
	}
	return p, nil
}

// build fetches the stored nodes a proof needs and folds the ones under its ephemeral node, if any.
func build(nodes proof.Nodes, node NodeFunc) ([][]byte, error) {
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		h, err := node(id.Level, id.Index)
		if err != nil {
			return nil, fmt.Errorf("node (%d, %d): %w", id.Level, id.Index, err)
		}
		if len(h) != HashSize {
			return nil, fmt.Errorf("node (%d, %d) is %d bytes, want %d", id.Level, id.Index, len(h), HashSize)
		}
		hashes[i] = append([]byte(nil), h...)
	}
	return nodes.Rehash(hashes, hashChildren)
}

// VerifyInclusion checks that proof shows the leaf with leafHash at index in the tree of the given
// size and root.
func VerifyInclusion(leafHash []byte, index, size uint64, root []byte, p [][]byte) error {
	if err := proof.VerifyInclusion(hasher, index, size, leafHash, p, root); err != nil {
		return fmt.Errorf("tlog: inclusion of leaf %d in tree of size %d: %w", index, size, err)
	}
	return nil
}

// VerifyConsistency checks that proof shows the tree of size1 and root1 is a prefix of the tree of
// size2 and root2.
func VerifyConsistency(size1, size2 uint64, root1, root2 []byte, p [][]byte) error {
	if err := proof.VerifyConsistency(hasher, size1, size2, p, root1, root2); err != nil {
		return fmt.Errorf("tlog: consistency of tree size %d with size %d: %w", size1, size2, err)
	}
	return nil
}
