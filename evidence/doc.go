// Package evidence writes and verifies SignetAssure evidence packs: zip files a third party checks
// offline with nothing but the deployment's public key (issue 14).
//
// # Format (signetassure-evidence-pack-v1)
//
// A pack is a zip holding, in this order:
//
//   - records/...json: the machine-readable records, as indented JSON (e.g. records/person.json,
//     records/cases/<ref>.json). Names are safe relative paths: no leading "/", no backslash, no
//     empty, "." or ".." segment, no control characters.
//   - audit/checkpoint: the signed C2SP tlog-checkpoint (a signed note) every proof is against.
//   - audit/entries.jsonl: one JSON object per line per audit entry ([EntryLine]): entryId,
//     leafIndex, treeSize, leafData (base64 of the leaf bytes, see [ParseLeafData]), hashes (base64
//     of each inclusion proof hash) and entry, the fields decoded from the leaf data for people to
//     read. The leaf data is what the proof covers; the verifier checks the decoded view matches it.
//   - summary.pdf: a human-readable summary: the pack's particulars, the checkpoint's size and root,
//     the counts, every file above with its size and SHA-256, and a table of the audit entries.
//   - manifest.json: the [Manifest]: format, packId, subject (kind case|person|supplier with id, or
//     range with from and to), generatedAt, origin (the audit log), keyName (the key that signs the
//     checkpoint and the manifest), treeSize, entries (the number of lines of audit/entries.jsonl),
//     records, and files: path, size and sha256 of every file but manifest.json and manifest.sig.
//   - manifest.sig: a signed note (golang.org/x/mod/sumdb/note, Ed25519, the deployment's checkpoint
//     key under the same name) whose text is three lines: "signetassure-evidence-manifest-v1", the
//     pack id, and the hex SHA-256 of manifest.json.
//
// The signature is over the manifest's digest, not its bytes, so that manifest.json stays a plain
// file checked like any other, the note stays small whatever the pack holds, and its first line
// separates it from checkpoints signed by the same key: neither can be passed off as the other.
//
// # Writing and verifying
//
// A [Writer] streams a pack to an io.Writer: records go into the zip as they are added, audit entries
// are spooled to a temporary file one line at a time, and every file is hashed as it is written, so
// neither records nor entries are held in memory (fpdf keeps the laid-out pages of the summary until
// it is written). Finish checks every proof against the checkpoint before writing it.
//
// [Verify] checks the manifest's signature, every file's size and SHA-256, that no file is missing or
// extra, that the checkpoint opens with the keys for the origin, that every entry's inclusion proof
// verifies against the checkpoint's root and its decoded view matches its leaf data, and that the
// number of entries is the manifest's. Its [Report] names each problem: the file, or the entry id and
// leaf index. A witness's checkpoint can be given: of the same size it must have the same root (else
// the log forked); of another size nothing is proven, because a consistency proof between the two is
// needed and the pack does not carry one (the log's API serves it). [VerifyFile] is the CLI's entry.
package evidence
