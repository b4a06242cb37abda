// Package tlog is the self-contained core of SignetAssure's verifiable audit log: a Merkle tree over
// audit entries in the manner of RFC 6962 / RFC 9162 (Certificate Transparency), with signed
// checkpoints in the C2SP tlog-checkpoint format (https://c2sp.org/tlog-checkpoint) as the Go checksum
// database publishes them. It holds no database code: callers give it bytes and node hashes, and get
// hashes, proofs and signed notes back.
//
// # Hashing (RFC 6962 §2.1, RFC 9162 §2.1.1)
//
// The hash is SHA-256. A leaf's hash is SHA-256(0x00 || entry), see [LeafHash]; an interior node's
// hash is SHA-256(0x01 || left || right). The root of the empty tree is SHA-256 of the empty string.
// The root of n > 1 leaves splits them at k, the largest power of two below n: the left subtree is
// always perfect.
//
// # Tree state and node storage
//
// A sequencer keeps a [Tree]: the size and the compact range of the tree, that is the roots of its
// perfect subtrees from left to right (at most log2(size)+1 hashes, [Tree.Hashes]). That is all it
// needs to append further leaves and compute the root; [RestoreTree] rebuilds the state from a
// stored size and hashes, so the sequencer can persist it in the same transaction as each batch.
//
// Every node of a perfect subtree is fixed for ever once its last leaf is appended. [Tree] reports
// each such node, leaves included, through its [Visitor] exactly once, with its id (level, index):
// level 0 holds the leaves, level L the nodes over 2^L leaves, and the node (L, i) covers the leaves
// [i·2^L, (i+1)·2^L). This is the scheme of compact.NodeID in github.com/transparency-dev/merkle:
//
//	L3:     ┌───0───┐       ┌───1───┐
//	L2:   ┌─0─┐   ┌─1─┐   ┌─2─┐   ┌─3─┐
//	L1:  ┌0┐ ┌1┐ ┌2┐ ┌3┐ ┌4┐ ┌5┐ ┌6┐ ┌7┐
//	L0:  0 1 2 3 4 5 6 7 8 9 ...
//
// A database stores those nodes keyed by (level, index), about two per leaf. Nodes that root an
// imperfect subtree on the right edge of a tree ("ephemeral" nodes) are never stored: they change as
// the tree grows. [InclusionProof] and [ConsistencyProof] read only stored nodes and recompute the one
// ephemeral node a proof may need, so any tree size up to the stored one can be proved.
//
// # Proofs (RFC 6962 §2.1.1–2.1.2, RFC 9162 §2.1.3–2.1.4)
//
// An inclusion proof shows a leaf is at an index of a tree of a given size and root; a consistency
// proof shows a tree of size1 is a prefix of a tree of size2. Both are lists of node hashes in the
// RFC's order, checked by [VerifyInclusion] and [VerifyConsistency].
//
// # Checkpoints (C2SP tlog-checkpoint, signed-note)
//
// A [Checkpoint] is the body
//
//	<origin>\n<decimal tree size>\n<base64 root hash>\n
//
// signed as a note (golang.org/x/mod/sumdb/note, C2SP signed-note): a blank line, then one line per
// signature, "— <key name> <base64(4-byte key hash || Ed25519 signature)>". The origin names the log,
// e.g. "<deployment>/audit". A third party verifies a checkpoint with only a verifier key string
// "<name>+<hex key hash>+<base64(0x01 || public key)>" ([VerifierKey]). [Open] accepts a set of
// verifiers, so after a key rotation the old and new keys both verify their checkpoints.
// [CheckExtends] tells whether a newer checkpoint extends an older one, or whether the log forked or
// was rolled back.
package tlog
