// Package audit makes the audit log tamper-evident and checks it. The database chains every audit_log
// entry to the one before it (schema/003_audit_chain.sql: each entry's hash covers its content and the
// previous entry's hash); Checkpoint signs the chain head with an Ed25519 key from configuration; Verify
// recomputes the whole chain and every checkpoint and names the first entry that was altered, removed or
// reordered.
//
// A superuser can rewrite the whole chain consistently after altering an entry; the signed checkpoints
// catch that, for every entry up to the newest checkpoint, as long as the signing key stays out of the
// database.
package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// DB is a database connection or pool: *pgx.Conn and *pgxpool.Pool both are.
type DB interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// genesis is the first entry's prev_hash.
var genesis = make([]byte, sha256.Size)

// entry is one audit_log row as the hash covers it.
type entry struct {
	id         int64
	seq        *int64
	prevHash   []byte
	hash       []byte
	atMicros   int64
	actor      string
	action     string
	entityType string
	entityID   string
	detail     string
	dedupKey   string
}

// entryColumns reads an entry's hashed fields as text formatted by the database, exactly as the trigger
// hashes them.
const entryColumns = `id, seq, prev_hash, hash, (extract(epoch FROM at) * 1000000)::bigint,
	coalesce(actor_id::text, ''), action, entity_type, entity_id, detail::text, coalesce(dedup_key, '')`

func scanEntry(rows pgx.Rows) (entry, error) {
	var e entry
	err := rows.Scan(&e.id, &e.seq, &e.prevHash, &e.hash, &e.atMicros, &e.actor, &e.action, &e.entityType,
		&e.entityID, &e.detail, &e.dedupKey)
	return e, err
}

// entryHash is the trigger's formula: sha256(prev_hash || netstrings of seq, at (µs since the epoch),
// actor id, action, entity type, entity id, detail::text, dedup key).
func entryHash(prev []byte, seq int64, e entry) []byte {
	h := sha256.New()
	h.Write(prev)
	for _, f := range []string{strconv.FormatInt(seq, 10), strconv.FormatInt(e.atMicros, 10), e.actor, e.action,
		e.entityType, e.entityID, e.detail, e.dedupKey} {
		netstring(h, f)
	}
	return h.Sum(nil)
}

// netstring writes s as "<byte length>:<bytes>,".
func netstring(h hash.Hash, s string) {
	h.Write(strconv.AppendInt(nil, int64(len(s)), 10))
	h.Write([]byte{':'})
	h.Write([]byte(s))
	h.Write([]byte{','})
}

// CheckpointMessage is what a version 1 checkpoint's signature signs (checkpoints made before they were
// chained to each other).
func CheckpointMessage(seq int64, hash []byte) []byte {
	return []byte("signetassure-audit-v1\n" + strconv.FormatInt(seq, 10) + "\n" + hex.EncodeToString(hash))
}

// signedAtLayout writes a checkpoint's time into its version 2 message: UTC, microseconds (PostgreSQL's
// precision, so the stored time gives back the same text).
const signedAtLayout = "2006-01-02T15:04:05.000000Z"

// SignedCheckpoint is one signed checkpoint: an audit_checkpoints row, and a line of a witness file.
type SignedCheckpoint struct {
	// Version is 1 for checkpoints signed before checkpoints were chained (their signature covers only Seq
	// and Hash), 2 after.
	Version int `json:"v"`
	// Seq and Hash are the chain head signed: the entry at Seq has Hash.
	Seq  int64  `json:"seq"`
	Hash []byte `json:"hash"`
	// SignedAt is when it was signed (signed in version 2).
	SignedAt time.Time `json:"signedAt"`
	// PrevSeq and PrevHash are the previous checkpoint's (0 and 32 zero bytes for the first); version 2.
	PrevSeq  int64  `json:"prevSeq"`
	PrevHash []byte `json:"prevHash,omitempty"`
	KeyID    string `json:"keyId"`
	// Signature is Ed25519 over Message() with the key KeyID.
	Signature []byte `json:"signature"`
	// Note is a TreeVersion line's signed checkpoint of the Merkle tree.
	Note string `json:"checkpoint,omitempty"`
}

// Message is what the checkpoint's signature signs.
func (c SignedCheckpoint) Message() []byte {
	if c.Version != 2 {
		return CheckpointMessage(c.Seq, c.Hash)
	}
	return []byte("signetassure-audit-v2\n" + strconv.FormatInt(c.Seq, 10) + "\n" + hex.EncodeToString(c.Hash) + "\n" +
		c.SignedAt.UTC().Format(signedAtLayout) + "\n" + strconv.FormatInt(c.PrevSeq, 10) + "\n" + hex.EncodeToString(c.PrevHash))
}

// Equal reports whether c and o are the same signed checkpoint.
func (c SignedCheckpoint) Equal(o SignedCheckpoint) bool {
	return c.Version == o.Version && c.Seq == o.Seq && bytes.Equal(c.Hash, o.Hash) && c.SignedAt.Equal(o.SignedAt) &&
		c.PrevSeq == o.PrevSeq && bytes.Equal(c.PrevHash, o.PrevHash) && c.KeyID == o.KeyID &&
		bytes.Equal(c.Signature, o.Signature) && c.Note == o.Note
}

func (c SignedCheckpoint) describe() string {
	if c.Version == TreeVersion {
		return describeTree(uint64(c.Seq))
	}
	return "checkpoint at seq " + strconv.FormatInt(c.Seq, 10) + " signed " + c.SignedAt.UTC().Format(time.RFC3339) +
		" by key " + strconv.Quote(c.KeyID)
}

// signatureProblem checks c's signature with keys; nil when it verifies.
func signatureProblem(keys PublicKeys, c SignedCheckpoint, auditID int64) *Problem {
	pub, ok := keys[c.KeyID]
	if !ok {
		return &Problem{Kind: CheckpointUnknownKey, Seq: c.Seq, AuditID: auditID, KeyID: c.KeyID,
			Message: c.describe() + ": no configured key has this id (AUDIT_SIGNING_KEY_ID, AUDIT_VERIFY_KEYS)"}
	}
	if !ed25519.Verify(pub, c.Message(), c.Signature) {
		return &Problem{Kind: CheckpointSignatureInvalid, Seq: c.Seq, AuditID: auditID, KeyID: c.KeyID,
			Message: c.describe() + ": the signature does not verify"}
	}
	return nil
}

// linkProblem checks that a (signature-verified) checkpoint c chains to prev, the checkpoint before it (nil:
// none); nil when it does. A version 1 checkpoint names no previous one; a version 2 checkpoint after a
// version 2 one must name it.
func linkProblem(prev *SignedCheckpoint, c SignedCheckpoint) *Problem {
	if c.Version != 2 {
		if prev != nil && prev.Version == 2 {
			return &Problem{Kind: CheckpointRemoved, Seq: c.Seq, KeyID: c.KeyID,
				Message: "the " + c.describe() + " is an unchained (version 1) checkpoint after a chained one"}
		}
		return nil
	}
	wantSeq, wantHash := int64(0), genesis
	if prev != nil {
		wantSeq, wantHash = prev.Seq, prev.Hash
	}
	switch {
	case c.PrevSeq > wantSeq:
		before := "no checkpoint before it is left"
		if prev != nil {
			before = "the checkpoint before it is at seq " + strconv.FormatInt(prev.Seq, 10)
		}
		return &Problem{Kind: CheckpointRemoved, Seq: c.PrevSeq, KeyID: c.KeyID,
			Message: fmt.Sprintf("the %s follows a checkpoint at seq %d, which is missing (%s): it was deleted",
				c.describe(), c.PrevSeq, before)}
	case c.PrevSeq < wantSeq || !bytes.Equal(c.PrevHash, wantHash):
		return &Problem{Kind: CheckpointRemoved, Seq: c.Seq, KeyID: c.KeyID,
			Message: fmt.Sprintf("the %s follows a checkpoint at seq %d, not the one before it at seq %d: the "+
				"checkpoints do not form one chain", c.describe(), c.PrevSeq, wantSeq)}
	}
	return nil
}

// ProblemKind is what is wrong with the audit log.
type ProblemKind string

const (
	// Altered: an entry's content no longer matches its hash.
	Altered ProblemKind = "altered"
	// Removed: an entry is missing (a gap in seq, or entries a checkpoint or the chain head counts are gone).
	Removed ProblemKind = "removed"
	// Reordered: an entry does not link to the entry before it (moved, renumbered, or one before it was
	// removed and the rest renumbered).
	Reordered ProblemKind = "reordered"
	// CheckpointSignatureInvalid: a checkpoint's signature does not verify with its key.
	CheckpointSignatureInvalid ProblemKind = "checkpoint_signature_invalid"
	// CheckpointUnknownKey: a checkpoint is signed by a key id no configured key has.
	CheckpointUnknownKey ProblemKind = "checkpoint_unknown_key"
	// CheckpointHashMismatch: the chain's hash at a checkpoint differs from the signed one: entries up to
	// it were altered and the chain rehashed to hide it.
	CheckpointHashMismatch ProblemKind = "checkpoint_hash_mismatch"
	// HeadMismatch: the chain head (audit_chain) disagrees with the newest entry.
	HeadMismatch ProblemKind = "head_mismatch"
	// CheckpointRemoved: a checkpoint names a previous checkpoint that is missing (deleted), or the
	// checkpoints do not form one chain.
	CheckpointRemoved ProblemKind = "checkpoint_removed"
	// CadenceGap: entries went uncovered by any checkpoint for longer than the checkpoint interval and its
	// grace allow: checkpoints were deleted, or the checkpoint schedule stopped.
	CadenceGap ProblemKind = "cadence_gap"
	// WitnessMismatch: a checkpoint in the witness file is missing from the database or differs from it,
	// or the log's hash at its seq differs (the log was rewritten after it was witnessed: a fork).
	WitnessMismatch ProblemKind = "witness_mismatch"
	// WitnessMalformed: a line of the witness file is not a checkpoint, or the lines are out of order.
	WitnessMalformed ProblemKind = "witness_malformed"
	// WitnessMissing: the witness file is not there.
	WitnessMissing ProblemKind = "witness_missing"
)

// Problem is the first thing wrong with the audit log, in seq order.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// Seq is the entry's place in the chain (for Removed, the first missing seq).
	Seq int64 `json:"seq"`
	// AuditID is the audit_log id of the entry at Seq; 0 when there is none (a removed entry).
	AuditID int64 `json:"auditId,omitempty"`
	// KeyID is the checkpoint's key, for checkpoint problems.
	KeyID   string `json:"keyId,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	s := string(p.Kind)
	if p.Seq != 0 {
		s += " at seq " + strconv.FormatInt(p.Seq, 10)
	}
	if p.AuditID != 0 {
		s += " (audit id " + strconv.FormatInt(p.AuditID, 10) + ")"
	}
	return s + ": " + p.Message
}

// Report is what Verify found.
type Report struct {
	// Entries is how many entries verified (before the problem, if any).
	Entries int64 `json:"entries"`
	// Checkpoints is how many checkpoints verified.
	Checkpoints int `json:"checkpoints"`
	// HeadSeq is the newest entry's seq according to the chain head.
	HeadSeq int64 `json:"headSeq"`
	// LastCheckpointSeq is the seq of the newest checkpoint that verified (0: none).
	LastCheckpointSeq int64 `json:"lastCheckpointSeq"`
	// Witnessed is how many checkpoints of the witness file matched the database and the log.
	Witnessed int `json:"witnessed,omitempty"`
	// TreeSize is how many leaves of the Merkle tree verified, and TreeCheckpoints how many of its
	// signed checkpoints.
	TreeSize        uint64 `json:"treeSize,omitempty"`
	TreeCheckpoints int    `json:"treeCheckpoints,omitempty"`
	// Pending is how many entries wait for the sequencer to make them leaves.
	Pending int64 `json:"pending,omitempty"`
	// Problem is the first thing wrong; nil when the log is intact.
	Problem *Problem `json:"problem,omitempty"`
}

// OK reports whether the log is intact.
func (r Report) OK() bool { return r.Problem == nil }

// String is a one-line summary.
func (r Report) String() string {
	if r.Problem != nil {
		return fmt.Sprintf("audit log NOT intact: %s (%d leaves, %d chain entries and %d checkpoints verified before it)",
			r.Problem, r.TreeSize, r.Entries, r.Checkpoints+r.TreeCheckpoints)
	}
	s := fmt.Sprintf("audit log intact: Merkle tree of %d leaves, %d signed checkpoints of it verified", r.TreeSize, r.TreeCheckpoints)
	if r.Pending > 0 {
		s += fmt.Sprintf("; %d entries waiting for the sequencer", r.Pending)
	}
	if r.Entries > 0 {
		s += fmt.Sprintf("; hash chain before the tree: %d entries, %d checkpoints verified", r.Entries, r.Checkpoints)
		if r.Checkpoints > 0 {
			s += fmt.Sprintf(", newest at seq %d, %d entries after it", r.LastCheckpointSeq, r.HeadSeq-r.LastCheckpointSeq)
		} else {
			s += ", no checkpoint signed yet"
		}
	}
	if r.Witnessed > 0 {
		s += fmt.Sprintf("; %d witnessed checkpoints match", r.Witnessed)
	}
	return s
}

// walker checks entries in seq order, and the checkpoints and witnessed checkpoints among them.
type walker struct {
	next        int64  // the seq the next entry must have
	prev        []byte // the hash the next entry must link to
	checkpoints []SignedCheckpoint
	keys        PublicKeys
	report      Report
	// lastGood is the newest checkpoint that matched (nil: none yet), which the next one must chain to.
	lastGood *SignedCheckpoint

	// cadence, when positive, is how long an entry may wait for a checkpoint to cover it; now is the
	// database's time of the snapshot.
	cadence time.Duration
	now     time.Time
	// uncovered is the oldest entry (by its time) since the last checkpoint, when open.
	uncovered struct {
		open    bool
		seq, id int64
		at      time.Time
	}

	// witness are the witness file's checkpoints not yet reached, in seq order; stored the database's
	// checkpoints by seq.
	witness []SignedCheckpoint
	stored  map[int64]SignedCheckpoint
}

func (w *walker) fail(p Problem) bool {
	w.report.Problem = &p
	return false
}

// entry checks one entry, and then the checkpoints at its seq; false once there is a problem.
func (w *walker) entry(e entry) bool {
	seq := *e.seq // walk reads chained entries only
	switch {
	case seq > w.next:
		msg := "entry missing"
		if seq > w.next+1 {
			msg = fmt.Sprintf("entries seq %d to %d missing", w.next, seq-1)
		}
		return w.fail(Problem{Kind: Removed, Seq: w.next,
			Message: fmt.Sprintf("%s; the next entry present is seq %d (audit id %d)", msg, seq, e.id)})
	case seq < w.next:
		return w.fail(Problem{Kind: Reordered, Seq: seq, AuditID: e.id, Message: "a second entry with this seq"})
	case !bytes.Equal(e.prevHash, w.prev):
		return w.fail(Problem{Kind: Reordered, Seq: seq, AuditID: e.id,
			Message: "the entry does not link to the entry before it (prev_hash differs): it was moved or renumbered, or an entry before it was removed or inserted"})
	case !bytes.Equal(entryHash(e.prevHash, seq, e), e.hash):
		return w.fail(Problem{Kind: Altered, Seq: seq, AuditID: e.id,
			Message: "the entry's content does not match its hash: it was changed after it was written"})
	}
	w.next, w.prev = seq+1, e.hash
	w.report.Entries++
	if at := time.UnixMicro(e.atMicros); !w.uncovered.open || at.Before(w.uncovered.at) {
		w.uncovered.open, w.uncovered.seq, w.uncovered.id, w.uncovered.at = true, seq, e.id, at
	}
	for len(w.witness) > 0 && w.witness[0].Seq <= seq {
		c := w.witness[0]
		w.witness = w.witness[1:]
		if !w.witnessed(c, seq, e) {
			return false
		}
	}
	for len(w.checkpoints) > 0 && w.checkpoints[0].Seq <= seq {
		c := w.checkpoints[0]
		w.checkpoints = w.checkpoints[1:]
		if c.Seq < seq { // only a checkpoint below seq 1 can be passed over
			return w.fail(Problem{Kind: CheckpointHashMismatch, Seq: c.Seq, KeyID: c.KeyID,
				Message: c.describe() + " names no entry"})
		}
		if p := signatureProblem(w.keys, c, e.id); p != nil {
			return w.fail(*p)
		}
		if !bytes.Equal(c.Hash, e.hash) {
			var after int64
			if w.lastGood != nil {
				after = w.lastGood.Seq
			}
			return w.fail(Problem{Kind: CheckpointHashMismatch, Seq: seq, AuditID: e.id, KeyID: c.KeyID,
				Message: fmt.Sprintf("the chain's hash here differs from the one in the %s: an entry after seq %d "+
					"and up to this one was altered and the chain rehashed", c.describe(), after)})
		}
		if p := linkProblem(w.lastGood, c); p != nil {
			return w.fail(*p)
		}
		if w.cadence > 0 && w.uncovered.open && c.SignedAt.Sub(w.uncovered.at) > w.cadence {
			return w.fail(Problem{Kind: CadenceGap, Seq: w.uncovered.seq, AuditID: w.uncovered.id,
				Message: fmt.Sprintf("the entry, written %s, was first covered by the %s, more than %s later "+
					"(AUDIT_CHECKPOINT_INTERVAL and AUDIT_CHECKPOINT_GRACE): checkpoints were deleted or the "+
					"checkpoint schedule stopped", w.uncovered.at.UTC().Format(time.RFC3339), c.describe(), w.cadence)})
		}
		w.uncovered.open = false
		w.lastGood = &c
		w.report.Checkpoints++
		w.report.LastCheckpointSeq = seq
	}
	return true
}

// witnessed checks a witness file's checkpoint c against the entry e at seq: its signature, the log's hash
// there, and the database's copy of it.
func (w *walker) witnessed(c SignedCheckpoint, seq int64, e entry) bool {
	if p := signatureProblem(w.keys, c, e.id); p != nil {
		p.Message = "witness file: " + p.Message
		return w.fail(*p)
	}
	if c.Seq < seq {
		return w.fail(Problem{Kind: WitnessMismatch, Seq: c.Seq, KeyID: c.KeyID,
			Message: "witness file: the " + c.describe() + " names no entry"})
	}
	if !bytes.Equal(c.Hash, e.hash) {
		return w.fail(Problem{Kind: WitnessMismatch, Seq: seq, AuditID: e.id, KeyID: c.KeyID,
			Message: "the log's hash here differs from the witnessed " + c.describe() + ": the log was rewritten " +
				"after it was witnessed (a fork), up to this entry"})
	}
	stored, ok := w.stored[c.Seq]
	switch {
	case !ok:
		return w.fail(Problem{Kind: WitnessMismatch, Seq: seq, AuditID: e.id, KeyID: c.KeyID,
			Message: "the witnessed " + c.describe() + " is missing from the database: it was deleted"})
	case !stored.Equal(c):
		return w.fail(Problem{Kind: WitnessMismatch, Seq: seq, AuditID: e.id, KeyID: c.KeyID,
			Message: "the database's checkpoint at this seq differs from the witnessed " + c.describe()})
	}
	w.report.Witnessed++
	return true
}

// end checks what is left after the last entry: checkpoints beyond it, the chain head, and how long the
// newest entries have waited for a checkpoint.
func (w *walker) end(headSeq int64, headHash []byte, haveHead bool) {
	last := w.next - 1
	if len(w.checkpoints) > 0 {
		c := w.checkpoints[0]
		if p := signatureProblem(w.keys, c, 0); p != nil {
			w.fail(*p)
			return
		}
		w.fail(Problem{Kind: Removed, Seq: w.next, Message: fmt.Sprintf("the %s covers entries up to seq %d, "+
			"but the log ends at seq %d", c.describe(), c.Seq, last)})
		return
	}
	if len(w.witness) > 0 {
		c := w.witness[0]
		if p := signatureProblem(w.keys, c, 0); p != nil {
			p.Message = "witness file: " + p.Message
			w.fail(*p)
			return
		}
		w.fail(Problem{Kind: WitnessMismatch, Seq: w.next, KeyID: c.KeyID, Message: fmt.Sprintf("the witnessed "+
			"%s covers entries up to seq %d, but the log ends at seq %d", c.describe(), c.Seq, last)})
		return
	}
	switch {
	case !haveHead:
		w.fail(Problem{Kind: HeadMismatch, Seq: last, Message: "the chain head (audit_chain) is missing"})
	case headSeq > last:
		w.fail(Problem{Kind: Removed, Seq: w.next, Message: fmt.Sprintf("the chain head counts entries up to "+
			"seq %d, but the log ends at seq %d", headSeq, last)})
	case headSeq < last:
		w.fail(Problem{Kind: HeadMismatch, Seq: headSeq + 1, Message: fmt.Sprintf("the chain head is at seq %d "+
			"but the log goes on to seq %d: entries were added around the chain", headSeq, last)})
	case !bytes.Equal(headHash, w.prev):
		w.fail(Problem{Kind: HeadMismatch, Seq: last, Message: "the newest entry's hash differs from the chain " +
			"head's: entries up to it were altered and the chain rehashed"})
	case w.cadence > 0 && w.uncovered.open && w.now.Sub(w.uncovered.at) > w.cadence:
		what := "no checkpoint covers it"
		if w.lastGood == nil {
			what = "no checkpoint at all is left"
		}
		w.fail(Problem{Kind: CadenceGap, Seq: w.uncovered.seq, AuditID: w.uncovered.id,
			Message: fmt.Sprintf("the entry was written %s and %s, more than %s later (AUDIT_CHECKPOINT_INTERVAL "+
				"and AUDIT_CHECKPOINT_GRACE): checkpoints were deleted or the checkpoint schedule stopped",
				w.uncovered.at.UTC().Format(time.RFC3339), what, w.cadence)})
	}
}

// VerifyOptions say what Verify checks beyond the hash chain.
type VerifyOptions struct {
	// Keys verify the checkpoints' signatures.
	Keys PublicKeys
	// Cadence, when positive, is how long an entry may go without a checkpoint covering it (the
	// checkpoint interval and its grace): an entry uncovered for longer, until the checkpoint after it or
	// until now, is a CadenceGap.
	Cadence time.Duration
	// WitnessFile, when set, is a witness file (FileSink) whose every checkpoint must be in the database,
	// unchanged, and on the log.
	WitnessFile string
}

// Verify checks the whole audit log in one consistent snapshot: every entry's hash and link in seq order,
// every checkpoint's signature (with keys), hash and link to the checkpoint before it, and the chain head.
// It streams the log. The report names the first problem; the error is only for failing to read.
func Verify(ctx context.Context, db DB, keys PublicKeys) (Report, error) {
	return VerifyWith(ctx, db, VerifyOptions{Keys: keys})
}

// VerifyWith is Verify, and checks the cadence of checkpoints and a witness file as opts say.
func VerifyWith(ctx context.Context, db DB, opts VerifyOptions) (Report, error) {
	var witness []SignedCheckpoint
	if opts.WitnessFile != "" {
		var problem *Problem
		var err error
		if witness, problem, err = ReadWitnessFile(opts.WitnessFile); err != nil {
			return Report{}, err
		} else if problem != nil {
			return Report{Problem: problem}, nil
		}
	}
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Report{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	cps, err := readCheckpoints(ctx, tx, `ORDER BY seq`)
	if err != nil {
		return Report{}, err
	}
	var headSeq int64
	var headHash []byte
	var now time.Time
	haveHead := true
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
		return Report{}, fmt.Errorf("read the database's time: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_chain WHERE id = 1`).Scan(&headSeq, &headHash); errors.Is(err, pgx.ErrNoRows) {
		haveHead = false
	} else if err != nil {
		return Report{}, fmt.Errorf("read audit chain head: %w", err)
	}

	var chainWitness, treeWitness []SignedCheckpoint
	for _, c := range witness {
		if c.Version == TreeVersion {
			treeWitness = append(treeWitness, c)
		} else {
			chainWitness = append(chainWitness, c)
		}
	}
	w := &walker{next: 1, prev: genesis, checkpoints: cps, keys: opts.Keys, cadence: opts.Cadence, now: now,
		witness: chainWitness, stored: make(map[int64]SignedCheckpoint, len(cps))}
	for _, c := range cps {
		w.stored[c.Seq] = c
	}
	w.report.HeadSeq = headSeq
	ok, err := w.walk(ctx, tx, 0)
	if err != nil {
		return Report{}, err
	}
	if ok {
		w.end(headSeq, headHash, haveHead)
	}
	if w.report.Problem == nil {
		if w.report.Problem, err = verifyTree(ctx, tx, opts, treeWitness, now, &w.report); err != nil {
			return Report{}, err
		}
	}
	return w.report, nil
}

// checkpointColumns are an audit_checkpoints row as scanCheckpoint reads it.
const checkpointColumns = `version, seq, hash, signed_at, coalesce(prev_seq, 0), prev_hash, key_id, signature`

// readCheckpoints reads the checkpoints the query's tail (after FROM audit_checkpoints) selects.
func readCheckpoints(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, tail string, args ...any) ([]SignedCheckpoint, error) {
	rows, _ := q.Query(ctx, `SELECT `+checkpointColumns+` FROM audit_checkpoints `+tail, args...)
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SignedCheckpoint, error) {
		var c SignedCheckpoint
		var version int16
		err := r.Scan(&version, &c.Seq, &c.Hash, &c.SignedAt, &c.PrevSeq, &c.PrevHash, &c.KeyID, &c.Signature)
		c.Version = int(version)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", err)
	}
	return cps, nil
}

// batch is how many entries walk reads at a time.
const batch = 1000

// walk streams the entries after seq from, in seq order, through a cursor, and checks each; false once
// there is a problem.
func (w *walker) walk(ctx context.Context, tx pgx.Tx, from int64) (bool, error) {
	if _, err := tx.Exec(ctx, `DECLARE audit_entries NO SCROLL CURSOR FOR SELECT `+entryColumns+`
		FROM audit_log WHERE seq > `+strconv.FormatInt(from, 10)+` ORDER BY seq`); err != nil {
		return false, fmt.Errorf("read audit log: %w", err)
	}
	for {
		rows, err := tx.Query(ctx, `FETCH `+strconv.Itoa(batch)+` FROM audit_entries`)
		if err != nil {
			return false, fmt.Errorf("read audit log: %w", err)
		}
		n := 0
		for rows.Next() {
			n++
			e, err := scanEntry(rows)
			if err != nil {
				rows.Close()
				return false, fmt.Errorf("read audit log: %w", err)
			}
			if !w.entry(e) {
				rows.Close()
				return false, nil
			}
		}
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("read audit log: %w", err)
		}
		if n < batch {
			_, err := tx.Exec(ctx, `CLOSE audit_entries`)
			return true, err
		}
	}
}
