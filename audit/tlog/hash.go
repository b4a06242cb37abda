package tlog

import "github.com/transparency-dev/merkle/rfc6962"

// HashSize is the length in bytes of every hash in the tree (SHA-256).
const HashSize = 32

// hasher is the RFC 6962 hasher with SHA-256.
var hasher = rfc6962.DefaultHasher

// LeafHash returns the RFC 6962 leaf hash of an entry's canonical bytes: SHA-256(0x00 || entry).
func LeafHash(entry []byte) []byte {
	return hasher.HashLeaf(entry)
}

// EmptyRoot returns the root hash of the empty tree: SHA-256 of the empty string.
func EmptyRoot() []byte {
	return hasher.EmptyRoot()
}

// hashChildren returns the hash of an interior node: SHA-256(0x01 || left || right).
func hashChildren(left, right []byte) []byte {
	return hasher.HashChildren(left, right)
}
