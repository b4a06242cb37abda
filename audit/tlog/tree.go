package tlog

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
)

// Visitor receives a node of a perfect subtree when a [Tree] first completes it: a leaf (level 0) as it
// is appended, an interior node when its last leaf arrives. The node (level, index) covers the leaves
// [index·2^level, (index+1)·2^level). Each node is reported once and its hash never changes, so a
// caller can store it, keyed by (level, index), for [InclusionProof] and [ConsistencyProof].
// The hash must not be modified.
type Visitor func(level uint, index uint64, hash []byte)

var rangeFactory = compact.RangeFactory{Hash: hashChildren}

// Tree is the state of an append-only Merkle tree held without its leaves: the size and the roots of
// the perfect subtrees that make it up (its compact range). A Tree is not safe for concurrent use.
type Tree struct {
	rng   *compact.Range
	visit compact.VisitFn
}

// NewTree returns an empty tree. visit, if not nil, receives every node the tree completes.
func NewTree(visit Visitor) *Tree {
	return &Tree{rng: rangeFactory.NewEmptyRange(0), visit: visitFn(visit)}
}

// RestoreTree rebuilds a tree from its size and the hashes [Tree.Hashes] returned for that size.
// visit, if not nil, receives every node the tree completes from now on. RestoreTree can only check
// that the number of hashes fits the size; a caller should compare [Tree.Root] with the root of its
// newest signed checkpoint of that size before appending.
func RestoreTree(size uint64, hashes [][]byte, visit Visitor) (*Tree, error) {
	cp := make([][]byte, len(hashes))
	for i, h := range hashes {
		if len(h) != HashSize {
			return nil, fmt.Errorf("tlog: restore tree of size %d: hash %d is %d bytes, want %d", size, i, len(h), HashSize)
		}
		cp[i] = append([]byte(nil), h...)
	}
	rng, err := rangeFactory.NewRange(0, size, cp)
	if err != nil {
		return nil, fmt.Errorf("tlog: restore tree of size %d: %w", size, err)
	}
	return &Tree{rng: rng, visit: visitFn(visit)}, nil
}

func visitFn(visit Visitor) compact.VisitFn {
	if visit == nil {
		return nil
	}
	return func(id compact.NodeID, hash []byte) { visit(id.Level, id.Index, hash) }
}

// Append appends leaf hashes (see [LeafHash]) to the tree in order, reporting completed nodes to the
// tree's visitor. If a hash has the wrong length Append appends none of them.
func (t *Tree) Append(leafHashes ...[]byte) error {
	for i, h := range leafHashes {
		if len(h) != HashSize {
			return fmt.Errorf("tlog: append: leaf hash %d is %d bytes, want %d", i, len(h), HashSize)
		}
	}
	for _, h := range leafHashes {
		if err := t.rng.Append(append([]byte(nil), h...), t.visit); err != nil {
			return fmt.Errorf("tlog: append leaf %d: %w", t.rng.End(), err)
		}
	}
	return nil
}

// Size returns the number of leaves in the tree.
func (t *Tree) Size() uint64 {
	return t.rng.End()
}

// Root returns the RFC 6962 root hash of the tree; for the empty tree, [EmptyRoot].
func (t *Tree) Root() []byte {
	if t.rng.End() == 0 {
		return EmptyRoot()
	}
	// Ephemeral nodes on the right edge are not reported: they change as the tree grows.
	root, err := t.rng.GetRootHash(nil)
	if err != nil {
		// Unreachable: the range always begins at 0.
		panic(fmt.Sprintf("tlog: root of tree of size %d: %v", t.rng.End(), err))
	}
	return root
}

// Hashes returns the roots of the tree's perfect subtrees from left to right, largest first: the state
// to persist with [Tree.Size] and give back to [RestoreTree]. The result is a copy.
func (t *Tree) Hashes() [][]byte {
	hs := t.rng.Hashes()
	out := make([][]byte, len(hs))
	for i, h := range hs {
		out[i] = append([]byte(nil), h...)
	}
	return out
}
