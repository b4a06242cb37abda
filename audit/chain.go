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

// CheckpointMessage is what a checkpoint's signature signs.
func CheckpointMessage(seq int64, hash []byte) []byte {
	return []byte("signetassure-audit-v1\n" + strconv.FormatInt(seq, 10) + "\n" + hex.EncodeToString(hash))
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
	s := string(p.Kind) + " at seq " + strconv.FormatInt(p.Seq, 10)
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
	// Problem is the first thing wrong; nil when the log is intact.
	Problem *Problem `json:"problem,omitempty"`
}

// OK reports whether the log is intact.
func (r Report) OK() bool { return r.Problem == nil }

// String is a one-line summary.
func (r Report) String() string {
	if r.Problem != nil {
		return fmt.Sprintf("audit log NOT intact: %s (%d entries and %d checkpoints verified before it)",
			r.Problem, r.Entries, r.Checkpoints)
	}
	s := fmt.Sprintf("audit log intact: %d entries, %d checkpoints verified", r.Entries, r.Checkpoints)
	if r.Checkpoints > 0 {
		s += fmt.Sprintf("; newest checkpoint at seq %d, %d entries since", r.LastCheckpointSeq, r.HeadSeq-r.LastCheckpointSeq)
	} else if r.Entries > 0 {
		s += "; no checkpoint signed yet"
	}
	return s
}

// checkpoint is one audit_checkpoints row.
type checkpoint struct {
	seq       int64
	hash      []byte
	keyID     string
	signature []byte
	signedAt  time.Time
}

func (c checkpoint) describe() string {
	return "checkpoint signed " + c.signedAt.UTC().Format(time.RFC3339) + " by key " + strconv.Quote(c.keyID)
}

// walker checks entries in seq order, and the checkpoints among them.
type walker struct {
	next        int64  // the seq the next entry must have
	prev        []byte // the hash the next entry must link to
	checkpoints []checkpoint
	keys        PublicKeys
	report      Report
	// lastGood is the seq of the newest checkpoint that matched, for messages.
	lastGood int64
}

func (w *walker) fail(p Problem) bool {
	w.report.Problem = &p
	return false
}

// entry checks one entry, and then the checkpoints at its seq; false once there is a problem.
func (w *walker) entry(e entry) bool {
	if e.seq == nil {
		return w.fail(Problem{Kind: Altered, Seq: w.next, AuditID: e.id, Message: "the entry has no seq"})
	}
	seq := *e.seq
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
	for len(w.checkpoints) > 0 && w.checkpoints[0].seq <= seq {
		c := w.checkpoints[0]
		w.checkpoints = w.checkpoints[1:]
		if c.seq < seq { // only a checkpoint below seq 1 can be passed over
			return w.fail(Problem{Kind: CheckpointHashMismatch, Seq: c.seq, KeyID: c.keyID,
				Message: c.describe() + " names no entry"})
		}
		if !w.checkpointSigned(c, e.id) {
			return false
		}
		if !bytes.Equal(c.hash, e.hash) {
			return w.fail(Problem{Kind: CheckpointHashMismatch, Seq: seq, AuditID: e.id, KeyID: c.keyID,
				Message: fmt.Sprintf("the chain's hash here differs from the one in the %s: an entry after seq %d "+
					"and up to this one was altered and the chain rehashed", c.describe(), w.lastGood)})
		}
		w.lastGood = seq
		w.report.Checkpoints++
		w.report.LastCheckpointSeq = seq
	}
	return true
}

// checkpointSigned checks c's signature.
func (w *walker) checkpointSigned(c checkpoint, auditID int64) bool {
	pub, ok := w.keys[c.keyID]
	if !ok {
		return w.fail(Problem{Kind: CheckpointUnknownKey, Seq: c.seq, AuditID: auditID, KeyID: c.keyID,
			Message: c.describe() + ": no configured key has this id (AUDIT_SIGNING_KEY_ID, AUDIT_VERIFY_KEYS)"})
	}
	if !ed25519.Verify(pub, CheckpointMessage(c.seq, c.hash), c.signature) {
		return w.fail(Problem{Kind: CheckpointSignatureInvalid, Seq: c.seq, AuditID: auditID, KeyID: c.keyID,
			Message: c.describe() + ": the signature does not verify"})
	}
	return true
}

// end checks what is left after the last entry: checkpoints beyond it, and the chain head.
func (w *walker) end(headSeq int64, headHash []byte, haveHead bool) {
	last := w.next - 1
	if len(w.checkpoints) > 0 {
		c := w.checkpoints[0]
		if !w.checkpointSigned(c, 0) {
			return
		}
		w.fail(Problem{Kind: Removed, Seq: w.next, Message: fmt.Sprintf("the %s covers entries up to seq %d, "+
			"but the log ends at seq %d", c.describe(), c.seq, last)})
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
	}
}

// Verify checks the whole audit log in one consistent snapshot: every entry's hash and link in seq order,
// every checkpoint's signature (with keys) and hash, and the chain head. It streams the log. The report
// names the first problem; the error is only for failing to read.
func Verify(ctx context.Context, db DB, keys PublicKeys) (Report, error) {
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Report{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))

	rows, _ := tx.Query(ctx, `SELECT seq, hash, key_id, signature, signed_at FROM audit_checkpoints ORDER BY seq`)
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (checkpoint, error) {
		var c checkpoint
		err := r.Scan(&c.seq, &c.hash, &c.keyID, &c.signature, &c.signedAt)
		return c, err
	})
	if err != nil {
		return Report{}, fmt.Errorf("read audit checkpoints: %w", err)
	}
	var headSeq int64
	var headHash []byte
	haveHead := true
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_chain WHERE id = 1`).Scan(&headSeq, &headHash); errors.Is(err, pgx.ErrNoRows) {
		haveHead = false
	} else if err != nil {
		return Report{}, fmt.Errorf("read audit chain head: %w", err)
	}

	w := &walker{next: 1, prev: genesis, checkpoints: cps, keys: keys}
	w.report.HeadSeq = headSeq
	ok, err := w.walk(ctx, tx, 0)
	if err != nil {
		return Report{}, err
	}
	if ok {
		w.end(headSeq, headHash, haveHead)
	}
	return w.report, nil
}

// batch is how many entries walk reads at a time.
const batch = 1000

// walk streams the entries after seq from, in seq order, through a cursor, and checks each; false once
// there is a problem.
func (w *walker) walk(ctx context.Context, tx pgx.Tx, from int64) (bool, error) {
	if _, err := tx.Exec(ctx, `DECLARE audit_entries NO SCROLL CURSOR FOR SELECT `+entryColumns+`
		FROM audit_log WHERE seq > `+strconv.FormatInt(from, 10)+` OR seq IS NULL ORDER BY seq NULLS LAST`); err != nil {
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
