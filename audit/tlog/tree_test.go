package tlog

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"testing"
)

// refRoot is an independent, naive RFC 6962 §2.1 Merkle Tree Hash of the given leaf hashes.
func refRoot(leaves [][]byte) []byte {
	n := len(leaves)
	switch n {
	case 0:
		h := sha256.Sum256(nil)
		return h[:]
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < n {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(refRoot(leaves[:k]))
	h.Write(refRoot(leaves[k:]))
	return h.Sum(nil)
}

// refLeaf is an independent RFC 6962 leaf hash.
func refLeaf(entry []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, entry...))
	return h[:]
}

func entry(i int) []byte { return fmt.Appendf(nil, "audit entry %d", i) }

func leafHashes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = LeafHash(entry(i))
	}
	return out
}

// nodeStore keeps every node a Tree's visitor reports, as the database will.
type nodeStore map[[2]uint64][]byte

func (s nodeStore) visit(t *testing.T) Visitor {
	return func(level uint, index uint64, hash []byte) {
		k := [2]uint64{uint64(level), index}
		if _, dup := s[k]; dup {
			t.Errorf("node (%d, %d) reported twice", level, index)
		}
		s[k] = append([]byte(nil), hash...)
	}
}

// node returns a NodeFunc over the store that fails the test if a proof for a tree of the given size
// asks for a node covering leaves at or beyond size (a node the database would not have then).
func (s nodeStore) node(t *testing.T, size uint64) NodeFunc {
	return func(level uint, index uint64) ([]byte, error) {
		if end := (index + 1) << level; end > size {
			t.Errorf("proof for size %d asked for node (%d, %d) covering up to leaf %d", size, level, index, end)
		}
		h, ok := s[[2]uint64{uint64(level), index}]
		if !ok {
			return nil, fmt.Errorf("node (%d, %d) not stored", level, index)
		}
		return h, nil
	}
}

func TestLeafHash(t *testing.T) {
	for i := range 5 {
		if got, want := LeafHash(entry(i)), refLeaf(entry(i)); !bytes.Equal(got, want) {
			t.Errorf("LeafHash(%q) = %x, want %x", entry(i), got, want)
		}
	}
	// RFC 6962 empty tree root.
	if got := fmt.Sprintf("%x", EmptyRoot()); got != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("EmptyRoot = %s", got)
	}
	if got := fmt.Sprintf("%x", NewTree(nil).Root()); got != fmt.Sprintf("%x", EmptyRoot()) {
		t.Errorf("empty tree root = %s", got)
	}
}

func TestRootsMatchReference(t *testing.T) {
	const max = 70
	leaves := leafHashes(max)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= max; n++ {
		store := nodeStore{}
		tree := NewTree(store.visit(t))
		restoreAt := rng.IntN(n + 1)
		restored := false
		for tree.Size() < uint64(n) {
			size := int(tree.Size())
			if !restored && size >= restoreAt {
				restored = true
				var err error
				tree, err = RestoreTree(tree.Size(), tree.Hashes(), store.visit(t))
				if err != nil {
					t.Fatalf("n=%d: restore at %d: %v", n, size, err)
				}
			}
			batch := min(1+rng.IntN(9), n-size)
			if err := tree.Append(leaves[size : size+batch]...); err != nil {
				t.Fatal(err)
			}
			if got, want := tree.Root(), refRoot(leaves[:tree.Size()]); !bytes.Equal(got, want) {
				t.Fatalf("n=%d: root at size %d = %x, want %x", n, tree.Size(), got, want)
			}
		}
		if tree.Size() != uint64(n) {
			t.Fatalf("size = %d, want %d", tree.Size(), n)
		}
		if got, want := tree.Root(), refRoot(leaves[:n]); !bytes.Equal(got, want) {
			t.Fatalf("root of %d = %x, want %x", n, got, want)
		}
		// Every stored node is the reference hash of the perfect subtree it names, and every
		// perfect subtree of the tree was stored: 2n - popcount(n) nodes.
		want := 0
		for level := uint(0); uint64(1)<<level <= uint64(n); level++ {
			for index := uint64(0); (index+1)<<level <= uint64(n); index++ {
				want++
				h, ok := store[[2]uint64{uint64(level), index}]
				begin, end := index<<level, (index+1)<<level
				if !ok {
					t.Fatalf("n=%d: node (%d, %d) not visited", n, level, index)
				}
				if ref := refRoot(leaves[begin:end]); !bytes.Equal(h, ref) {
					t.Fatalf("n=%d: node (%d, %d) = %x, want %x", n, level, index, h, ref)
				}
			}
		}
		if len(store) != want {
			t.Fatalf("n=%d: %d nodes stored, want %d", n, len(store), want)
		}
	}
}

func TestTreeRejectsBadInput(t *testing.T) {
	tree := NewTree(nil)
	if err := tree.Append(LeafHash(nil), []byte("short")); err == nil {
		t.Error("Append took a short hash")
	}
	if tree.Size() != 0 {
		t.Errorf("a failed Append changed the size to %d", tree.Size())
	}
	if err := tree.Append(leafHashes(5)...); err != nil {
		t.Fatal(err)
	}
	hs := tree.Hashes()
	if len(hs) != 2 { // perfect subtrees of 4 and 1
		t.Fatalf("%d hashes for size 5, want 2", len(hs))
	}
	if _, err := RestoreTree(7, hs, nil); err == nil {
		t.Error("RestoreTree took 2 hashes for size 7")
	}
	if _, err := RestoreTree(5, [][]byte{hs[0], hs[1][:5]}, nil); err == nil {
		t.Error("RestoreTree took a short hash")
	}
	// Hashes is a copy: changing it does not change the tree.
	hs[0][0] ^= 1
	if got, want := tree.Root(), refRoot(leafHashes(5)); !bytes.Equal(got, want) {
		t.Error("changing Hashes' result changed the tree")
	}
}
