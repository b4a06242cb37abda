package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/note"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/config"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

func TestAuditCommand(t *testing.T) {
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{audit.EnvSigningKey: seed, audit.EnvSigningKeyID: "k7"}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := auditCommand(ctx, url, args, func(k string) string { return env[k] }, &out)
		return out.String(), err
	}
	exec := func(sqls ...string) {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		for _, sql := range sqls {
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		}
	}

	exec(chainEntries)
	if out, err := run("checkpoint"); err != nil || !strings.Contains(out, "audit log is empty") {
		t.Errorf("checkpoint on an empty log: %q, %v", out, err)
	}
	exec(`INSERT INTO audit_log (action, entity_type, entity_id) SELECT 'a', 'b', i::text FROM generate_series(1, 5) i`)
	if out, err := run("checkpoint"); err != nil || out != "signed audit checkpoint at seq 5 with key k7\n" {
		t.Errorf("checkpoint: %q, %v", out, err)
	}
	if out, err := run("checkpoint"); err != nil || !strings.Contains(out, "nothing to sign") {
		t.Errorf("checkpoint again: %q, %v", out, err)
	}
	out, err := run("verify")
	if err != nil || strings.Count(out, "\n") != 1 || !strings.Contains(out, "hash chain before the tree: 5 entries, 1 checkpoints verified") {
		t.Errorf("verify: %q, %v; want a one-line intact summary", out, err)
	}
	pub, err := run("public-key")
	if err != nil || !strings.HasPrefix(pub, "k7:") {
		t.Errorf("public-key: %q, %v", pub, err)
	}
	// The same key as a note verifier, which opens the audit tree's checkpoints.
	vkey, err := run("public-key", "--note")
	if v, verr := note.NewVerifier(strings.TrimSpace(vkey)); err != nil || verr != nil || v.Name() != "k7" {
		t.Errorf("public-key --note: %q, %v, %v", vkey, err, verr)
	}

	// Another signing key, the old one kept for verifying.
	seed2, _ := audit.GenerateKey()
	env = map[string]string{audit.EnvSigningKey: seed2, audit.EnvSigningKeyID: "k8", audit.EnvVerifyKeys: strings.TrimSpace(pub)}
	if out, err := run("verify"); err != nil {
		t.Errorf("verify after replacing the key: %q, %v", out, err)
	}

	exec(`SET session_replication_role = replica`, `UPDATE audit_log SET entity_id = 'x' WHERE seq = 2`)
	out, err = run("verify")
	if !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, "altered at seq 2 (audit id 2)") {
		t.Errorf("verify after tampering: %q, %v; want the altered entry named", out, err)
	}

	for _, args := range [][]string{nil, {"nonsense"}, {"verify", "extra"}} {
		if _, err := run(args...); !errors.Is(err, errAuditUsage) {
			t.Errorf("audit %q: %v, want a usage error", args, err)
		}
	}
	env = map[string]string{audit.EnvSigningKey: "short"}
	if _, err := run("verify"); err == nil || !strings.Contains(err.Error(), audit.EnvSigningKey) {
		t.Errorf("bad key: %v, want an error naming %s", err, audit.EnvSigningKey)
	}
	env = nil
	if _, err := run("checkpoint"); !errors.Is(err, audit.ErrNoSigningKey) {
		t.Errorf("checkpoint without a key: %v", err)
	}
}

// auditCLI runs audit subcommands on a fresh database with the variables in env.
type auditCLI struct {
	t   *testing.T
	ctx context.Context
	url string
	env map[string]string
}

// newAuditCLI's database numbers and chains each entry, as before the Merkle tree took over
// (schema/015_audit_unlocked.sql), for the chain's checks, which keep checking the entries written then.
func newAuditCLI(t *testing.T, env map[string]string) *auditCLI {
	a := newTreeCLI(t, env)
	a.sql(chainEntries)
	return a
}

// newTreeCLI's database is as migrated: entries become leaves of the Merkle tree alone.
func newTreeCLI(t *testing.T, env map[string]string) *auditCLI {
	return &auditCLI{t: t, ctx: context.Background(), url: testenv.DatabaseURL(t), env: env}
}

// chainEntries switches the log back to chaining each new entry (the trigger migration 015 took off).
const chainEntries = `ALTER TABLE audit_log DISABLE TRIGGER audit_log_entry;
	CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain()`

func (a *auditCLI) run(args ...string) (string, error) {
	a.sequence()
	var out bytes.Buffer
	err := auditCommand(a.ctx, a.url, args, func(k string) string { return a.env[k] }, &out)
	return out.String(), err
}

// sequence makes every queued entry a leaf of the Merkle tree, as the worker's sequencer does all along
// (signing no checkpoint of the tree: the chain's tests count the chain's).
func (a *auditCLI) sequence() { a.sequenceWith(audit.Keys{}) }

// sequenceWith sequences and signs a checkpoint of the tree with keys.
func (a *auditCLI) sequenceWith(keys audit.Keys) {
	a.t.Helper()
	st, err := store.Open(a.ctx, a.url)
	if err != nil {
		a.t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.SequenceAudit(a.ctx, keys, "example.org/audit"); err != nil {
		a.t.Fatal(err)
	}
}

// The forgery against the tree: someone in control of the database rewrites an entry, rebuilds
// the tree over it, deletes every checkpoint and signs afresh (a stolen key is the worst case). Nothing
// in the database shows it; verify --witness names the fork, and checkpoint refuses to witness the
// rewritten tree.
func TestAuditTreeForgeryAgainstWitness(t *testing.T) {
	witness := filepath.Join(t.TempDir(), "witness.jsonl")
	a := newTreeCLI(t, auditKeyEnv(t, map[string]string{"AUDIT_WITNESS_FILE": witness}))
	keys, err := audit.ParseKeys(func(k string) string { return a.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a.entries(5, time.Minute)
	a.sequenceWith(keys)
	if out := a.must("checkpoint"); !strings.Contains(out, "of 5 leaves, is witnessed (1 checkpoints appended)") {
		t.Fatalf("checkpoint: %q", out)
	}
	a.entries(2, 0)
	a.sequenceWith(keys)
	a.must("checkpoint")
	a.sql(`SET session_replication_role = replica`,
		`UPDATE audit_log SET entity_id = 'forged' WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 1)`,
		`DELETE FROM audit_tree_checkpoints`, `DELETE FROM audit_tree_nodes`, `DELETE FROM audit_leaves`,
		`INSERT INTO audit_pending SELECT id FROM audit_log`, `UPDATE audit_tree SET size = 0, hashes = '{}'`)
	a.sequenceWith(keys)
	public := a.publicOnly()
	delete(public, "AUDIT_WITNESS_FILE")
	if out, err := run(a, public, "verify"); err != nil {
		t.Fatalf("verify without the witness: %q, %v; the rewritten tree is consistent in itself", out, err)
	}
	out, err := run(a, public, "verify", "--witness", witness)
	if !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, "witness_mismatch") || !strings.Contains(out, "fork") {
		t.Fatalf("verify --witness: %q, %v; want the fork named", out, err)
	}
	var ce *audit.ChainError
	if _, err := a.run("checkpoint"); !errors.As(err, &ce) || ce.Problem.Kind != audit.WitnessMismatch {
		t.Fatalf("checkpoint over the rewritten tree: %v; want it refused", err)
	}
	if lines := readWitness(t, witness); len(lines) != 2 || lines[1].Version != audit.TreeVersion || lines[1].Seq != 7 {
		t.Errorf("witness file %+v: want the two tree checkpoints from before the rewrite", lines)
	}
}

// must runs a command that must succeed.
func (a *auditCLI) must(args ...string) string {
	a.t.Helper()
	out, err := a.run(args...)
	if err != nil {
		a.t.Fatalf("audit %q: %q, %v", args, out, err)
	}
	return out
}

// wantNotIntact runs verify and wants it to name kind at seq.
func (a *auditCLI) wantNotIntact(kind audit.ProblemKind, seq int64, args ...string) string {
	a.t.Helper()
	out, err := a.run(append([]string{"verify"}, args...)...)
	want := fmt.Sprintf("%s at seq %d", kind, seq)
	if seq == 0 {
		want = string(kind) + ":"
	}
	if !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, want) {
		a.t.Fatalf("verify %q: %q, %v; want %q", args, out, err, want)
	}
	return out
}

// sql runs statements; a superuser's tampering switches the append-only triggers off first.
func (a *auditCLI) sql(sqls ...string) {
	a.t.Helper()
	conn, err := pgx.Connect(a.ctx, a.url)
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close(a.ctx)
	for _, sql := range sqls {
		if _, err := conn.Exec(a.ctx, sql); err != nil {
			a.t.Fatalf("%s: %v", sql, err)
		}
	}
}

// entries writes n entries written ago before now.
func (a *auditCLI) entries(n int, ago time.Duration) {
	a.t.Helper()
	a.sql(fmt.Sprintf(`INSERT INTO audit_log (at, action, entity_type, entity_id)
		SELECT now() - make_interval(secs => %f), 'a', 'b', i::text FROM generate_series(1, %d) i`, ago.Seconds(), n))
}

func auditKeyEnv(t *testing.T, extra map[string]string) map[string]string {
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{audit.EnvSigningKey: seed, "AUDIT_CHECKPOINT_INTERVAL": "5m", "AUDIT_CHECKPOINT_GRACE": "10m"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// publicOnly is env without the signing key, its public key in AUDIT_VERIFY_KEYS instead.
func (a *auditCLI) publicOnly() map[string]string {
	pub := strings.TrimSpace(a.must("public-key"))
	env := map[string]string{audit.EnvVerifyKeys: pub}
	for k, v := range a.env {
		if k != audit.EnvSigningKey && k != audit.EnvVerifyKeys {
			env[k] = v
		}
	}
	return env
}

// Entries left without a checkpoint longer than the interval and its grace are a cadence gap: checkpoints
// deleted, or the schedule stopped; a quiet log between timely checkpoints is not.
func TestAuditVerifyCadence(t *testing.T) {
	t.Run("checkpoints all deleted", func(t *testing.T) {
		a := newAuditCLI(t, auditKeyEnv(t, nil))
		a.entries(3, 3*time.Hour)
		a.must("checkpoint")
		a.entries(2, 2*time.Hour)
		a.sql(`SET session_replication_role = replica`, `DELETE FROM audit_checkpoints`)
		out := a.wantNotIntact(audit.CadenceGap, 1)
		if !strings.Contains(out, "no checkpoint at all is left") || !strings.Contains(out, "15m0s") {
			t.Errorf("verify: %q: want it to say no checkpoint is left and the allowed delay", out)
		}
	})
	t.Run("uncovered too long", func(t *testing.T) {
		a := newAuditCLI(t, auditKeyEnv(t, nil))
		a.entries(2, 10*time.Minute)
		a.must("checkpoint")
		a.entries(1, 16*time.Minute)
		a.entries(1, 10*time.Minute)
		a.wantNotIntact(audit.CadenceGap, 3)
	})
	t.Run("covered too late", func(t *testing.T) {
		a := newAuditCLI(t, auditKeyEnv(t, nil))
		a.entries(2, 10*time.Minute)
		a.must("checkpoint")
		a.entries(2, time.Hour)
		a.must("checkpoint")
		a.wantNotIntact(audit.CadenceGap, 3)
	})
	t.Run("within the cadence", func(t *testing.T) {
		a := newAuditCLI(t, auditKeyEnv(t, map[string]string{"AUDIT_CHECKPOINT_GRACE": "1h"}))
		a.entries(2, time.Hour)
		a.must("checkpoint")
		a.entries(2, 50*time.Minute)
		out := a.must("verify")
		if !strings.Contains(out, "hash chain before the tree: 4 entries, 1 checkpoints verified") {
			t.Errorf("verify: %q", out)
		}
	})
	t.Run("quiet log between checkpoints", func(t *testing.T) {
		a := newAuditCLI(t, auditKeyEnv(t, nil))
		a.entries(2, 3*time.Hour)
		a.pastCheckpoint(3*time.Hour - time.Minute)
		a.entries(1, time.Minute)
		a.must("checkpoint")
		out, err := run(a, a.publicOnly(), "verify")
		if err != nil || !strings.Contains(out, "hash chain before the tree: 3 entries, 2 checkpoints verified") {
			t.Errorf("verify: %q, %v: three quiet hours between two checkpoints are no gap", out, err)
		}
		// Its time cannot be moved to hide a gap.
		a.sql(`SET session_replication_role = replica`, `UPDATE audit_checkpoints SET signed_at = signed_at - interval '1 hour' WHERE seq = 2`)
		a.wantNotIntact(audit.CheckpointSignatureInvalid, 2)
	})
	t.Run("checkpoints far apart with entries between", func(t *testing.T) {
		a := newAuditCLI(t, auditKeyEnv(t, nil))
		a.entries(2, 3*time.Hour)
		a.pastCheckpoint(3*time.Hour - time.Minute)
		a.entries(1, 2*time.Hour)
		a.entries(1, time.Minute)
		a.must("checkpoint")
		a.wantNotIntact(audit.CadenceGap, 3)
	})
}

// pastCheckpoint stores a checkpoint of the chain head as the schedule would have signed it ago before
// now (its time is signed, so only the key's holder can make one).
func (a *auditCLI) pastCheckpoint(ago time.Duration) {
	a.t.Helper()
	keys, err := audit.ParseKeys(func(k string) string { return a.env[k] })
	if err != nil {
		a.t.Fatal(err)
	}
	conn, err := pgx.Connect(a.ctx, a.url)
	if err != nil {
		a.t.Fatal(err)
	}
	defer conn.Close(a.ctx)
	c := audit.SignedCheckpoint{Version: 2, SignedAt: time.Now().Add(-ago).Truncate(time.Microsecond), KeyID: keys.KeyID}
	if err := conn.QueryRow(a.ctx, `SELECT c.seq, c.hash, coalesce(p.seq, 0), coalesce(p.hash, decode(repeat('00', 32), 'hex'))
		FROM audit_chain c LEFT JOIN (SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1) p ON true`).
		Scan(&c.Seq, &c.Hash, &c.PrevSeq, &c.PrevHash); err != nil {
		a.t.Fatal(err)
	}
	c.Signature = ed25519.Sign(keys.Signing, c.Message())
	if _, err := conn.Exec(a.ctx, `INSERT INTO audit_checkpoints (version, seq, hash, signed_at, prev_seq, prev_hash, key_id, signature)
		VALUES (2, $1, $2, $3, $4, $5, $6, $7)`, c.Seq, c.Hash, c.SignedAt, c.PrevSeq, c.PrevHash, c.KeyID, c.Signature); err != nil {
		a.t.Fatal(err)
	}
}

// run runs an audit command with other variables.
func run(a *auditCLI, env map[string]string, args ...string) (string, error) {
	saved := a.env
	defer func() { a.env = saved }()
	a.env = env
	return a.run(args...)
}

// readWitness reads a witness file's lines.
func readWitness(t *testing.T, path string) []audit.SignedCheckpoint {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cps []audit.SignedCheckpoint
	for line := range strings.Lines(string(data)) {
		var c audit.SignedCheckpoint
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("witness line %q: %v", line, err)
		}
		cps = append(cps, c)
	}
	return cps
}

// Every signed checkpoint is appended to the witness file once, even after a run that stored it but did
// not write it; verify compares the file with the database, with the public keys alone.
func TestAuditWitnessFile(t *testing.T) {
	dir := t.TempDir()
	witness := filepath.Join(dir, "witness.jsonl")
	a := newAuditCLI(t, auditKeyEnv(t, map[string]string{"AUDIT_WITNESS_FILE": witness}))
	a.entries(3, time.Minute)
	a.must("checkpoint")
	a.entries(2, 0)
	a.must("checkpoint")
	a.must("checkpoint")
	// A run that stored its checkpoint and stopped before writing it out (a crash): the next run writes it.
	keys, err := audit.ParseKeys(func(k string) string { return a.env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a.entries(1, 0)
	conn, err := pgx.Connect(a.ctx, a.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(a.ctx)
	if res, err := audit.Checkpoint(a.ctx, conn, keys); err != nil || !res.Signed {
		t.Fatalf("checkpoint without the sink: %+v, %v", res, err)
	}
	if out := a.must("checkpoint"); !strings.Contains(out, "nothing to sign") {
		t.Errorf("checkpoint: %q", out)
	}
	lines := readWitness(t, witness)
	var seqs []int64
	for _, c := range lines {
		seqs = append(seqs, c.Seq)
	}
	if fmt.Sprint(seqs) != "[3 5 6]" {
		t.Fatalf("witness file seqs %v, want [3 5 6], each once", seqs)
	}
	rows, _ := conn.Query(a.ctx, `SELECT seq, hash, key_id, signature, signed_at, prev_seq FROM audit_checkpoints ORDER BY seq`)
	i := 0
	for rows.Next() {
		var c audit.SignedCheckpoint
		if err := rows.Scan(&c.Seq, &c.Hash, &c.KeyID, &c.Signature, &c.SignedAt, &c.PrevSeq); err != nil {
			t.Fatal(err)
		}
		w := lines[i]
		if w.Seq != c.Seq || !bytes.Equal(w.Hash, c.Hash) || !bytes.Equal(w.Signature, c.Signature) || !w.SignedAt.Equal(c.SignedAt) ||
			w.PrevSeq != c.PrevSeq || w.KeyID != c.KeyID || !ed25519.Verify(keys.Verify[c.KeyID], w.Message(), w.Signature) {
			t.Errorf("witness line %d %+v differs from the database's %+v or does not verify", i+1, w, c)
		}
		i++
	}
	if i != 3 {
		t.Errorf("%d checkpoints in the database, want 3", i)
	}
	if info, err := os.Stat(witness); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("witness file: %v, %v: want mode 0600", info, err)
	}

	public := a.publicOnly()
	out, err := run(a, public, "verify")
	if err != nil || !strings.Contains(out, "hash chain before the tree: 6 entries, 3 checkpoints verified") || !strings.Contains(out, "3 witnessed checkpoints match") {
		t.Fatalf("verify with the public key and the witness: %q, %v", out, err)
	}
	other := filepath.Join(dir, "copy.jsonl")
	data, _ := os.ReadFile(witness)
	write := func(b []byte) {
		if err := os.WriteFile(other, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(data)
	if out, err := run(a, public, "verify", "--witness", other); err != nil || !strings.Contains(out, "3 witnessed checkpoints match") {
		t.Errorf("verify --witness copy: %q, %v", out, err)
	}
	// A last line cut short (a write that did not finish) is not a checkpoint yet.
	write(append(bytes.Clone(data), `{"v":2,"seq":9`...))
	if out, err := run(a, public, "verify", "--witness", other); err != nil || !strings.Contains(out, "3 witnessed checkpoints match") {
		t.Errorf("verify with a torn last line: %q, %v", out, err)
	}

	lineWith := func(n int, edit func(*audit.SignedCheckpoint)) []byte {
		var b bytes.Buffer
		for i, c := range readWitness(t, witness) {
			if i == n {
				edit(&c)
			}
			line, _ := json.Marshal(c)
			b.Write(append(line, '\n'))
		}
		return b.Bytes()
	}
	for name, tc := range map[string]struct {
		file []byte
		kind audit.ProblemKind
		seq  int64
	}{
		"hash changed":       {lineWith(1, func(c *audit.SignedCheckpoint) { c.Hash[0] ^= 1 }), audit.CheckpointSignatureInvalid, 5},
		"time changed":       {lineWith(0, func(c *audit.SignedCheckpoint) { c.SignedAt = c.SignedAt.Add(time.Second) }), audit.CheckpointSignatureInvalid, 3},
		"beyond the log":     {lineWith(2, func(c *audit.SignedCheckpoint) { c.Seq = 9 }), audit.CheckpointSignatureInvalid, 9},
		"not a checkpoint":   {append(bytes.Clone(data), "hello\n"...), audit.WitnessMalformed, 0},
		"out of order":       {append(bytes.Clone(data), strings.SplitAfter(string(data), "\n")[0]...), audit.WitnessMalformed, 3},
		"signed by intruder": {lineWith(0, func(c *audit.SignedCheckpoint) { c.KeyID = "intruder" }), audit.CheckpointUnknownKey, 3},
	} {
		write(tc.file)
		out, err := run(a, public, "verify", "--witness", other)
		want := fmt.Sprintf("%s at seq %d", tc.kind, tc.seq)
		if tc.seq == 0 {
			want = string(tc.kind) + ":"
		}
		if !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, want) {
			t.Errorf("%s: verify: %q, %v; want %q", name, out, err, want)
		}
	}
	// A witness file not there was removed (the worker makes it when it starts): the log is not held to it.
	if out, err := run(a, public, "verify", "--witness", filepath.Join(dir, "missing")); !errors.Is(err, errAuditNotIntact) ||
		!strings.Contains(out, string(audit.WitnessMissing)) {
		t.Errorf("verify with a missing witness file: %q, %v; want %s", out, err, audit.WitnessMissing)
	}
	for _, args := range [][]string{{"verify", "--witness"}, {"verify", "--nonsense"}, {"checkpoint", "--witness", other}} {
		if _, err := run(a, public, args...); !errors.Is(err, errAuditUsage) {
			t.Errorf("audit %q: %v, want a usage error", args, err)
		}
	}
}

// The finding's forgery: a superuser rewrites an entry, rehashes the chain and deletes the checkpoints.
// The checkpoint refuses to sign a head that does not extend the witnessed checkpoint; one signed without
// the witness is caught by verify with the witness file, which names the fork, and by the Merkle tree.
func TestAuditForgeryAgainstWitness(t *testing.T) {
	witness := filepath.Join(t.TempDir(), "witness.jsonl")
	a := newAuditCLI(t, auditKeyEnv(t, map[string]string{"AUDIT_WITNESS_FILE": witness}))
	a.entries(4, 2*time.Minute)
	a.must("checkpoint")
	a.entries(2, time.Minute)
	a.must("checkpoint")
	a.entries(1, 0)
	a.sql(`SET session_replication_role = replica`, `UPDATE audit_log SET entity_id = 'forged' WHERE seq = 2`, auditRehash,
		`DELETE FROM audit_checkpoints`)

	_, err := a.run("checkpoint")
	var ce *audit.ChainError
	if !errors.As(err, &ce) || ce.Problem.Kind != audit.WitnessMismatch || ce.Problem.Seq != 6 {
		t.Fatalf("checkpoint after the forgery: %v; want it refused, naming the witnessed checkpoint at seq 6", err)
	}
	if n := testenv.Count(t, a.url, `SELECT count(*) FROM audit_checkpoints`); n != 0 {
		t.Fatalf("%d checkpoints signed over the forgery", n)
	}
	// A signer without the witness file signs the forged head.
	noWitness := maps.Clone(a.env)
	delete(noWitness, "AUDIT_WITNESS_FILE")
	if out, err := run(a, noWitness, "checkpoint"); err != nil || !strings.Contains(out, "signed audit checkpoint at seq 7") {
		t.Fatalf("checkpoint without the witness: %q, %v", out, err)
	}
	public := a.publicOnly()
	delete(public, "AUDIT_WITNESS_FILE")
	// The chain is rewritten consistently and freshly signed, but the Merkle tree, which took in the
	// entry before, names it.
	if out, err := run(a, public, "verify"); !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, "tree_leaf_mismatch at seq 2") {
		t.Fatalf("verify without the witness: %q, %v; want the tree to name the rewritten entry", out, err)
	}
	out, err := run(a, public, "verify", "--witness", witness)
	if !errors.Is(err, errAuditNotIntact) || !strings.Contains(out, "witness_mismatch at seq 4") || !strings.Contains(out, "fork") {
		t.Errorf("verify --witness: %q, %v; want the fork named at the first witnessed checkpoint, seq 4", out, err)
	}
	// The signer with the witness still refuses, and writes nothing.
	if _, err := a.run("checkpoint"); !errors.As(err, &ce) || ce.Problem.Kind != audit.WitnessMismatch {
		t.Errorf("checkpoint with the witness after the forged checkpoint: %v", err)
	}
	if n := len(readWitness(t, witness)); n != 2 {
		t.Errorf("%d witness lines, want the 2 from before the forgery", n)
	}
}

// auditRehash recomputes every hash in seq order and moves the head, as an attacker who knows the formula
// would.
const auditRehash = `DO $$
DECLARE r record; h bytea := decode(repeat('00', 32), 'hex');
BEGIN
	FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
		UPDATE audit_log SET prev_hash = h,
			hash = audit_entry_hash(h, r.seq, r.at, r.actor_id, r.action, r.entity_type, r.entity_id, r.detail, r.dedup_key)
			WHERE id = r.id RETURNING hash INTO h;
	END LOOP;
	UPDATE audit_chain SET hash = h;
END $$`

// The scheduled checkpoint (the AuditCheckpoint workflow and its activity, on a real Temporal server)
// writes the audit tree's newest signed checkpoint to the witness file once, and after a forgery (an entry
// rewritten, the tree rebuilt and signed afresh, every checkpoint deleted) refuses, without retrying, to
// witness a tree that does not extend the witnessed one.
func TestScheduledCheckpointWitnessed(t *testing.T) {
	ctx := context.Background()
	c := testenv.Temporal(t)
	url := testenv.DatabaseURL(t)
	st := testenv.StoreAt(t, url)
	witness := filepath.Join(t.TempDir(), "witness.jsonl")
	settings, err := config.LoadAudit(func(k string) string { return auditKeyEnv(t, nil)[k] })
	if err != nil {
		t.Fatal(err)
	}
	settings.WitnessFile = witness
	queue := testenv.WorkerWith(t, c, &activities.Activities{Store: st, AuditKeys: settings.Keys, AuditSinks: settings.Sinks()})
	checkpoint := func() (audit.CheckpointResult, error) {
		t.Helper()
		run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "audit-checkpoint-" + rand.Text()[:8], TaskQueue: queue},
			workflows.AuditCheckpoint)
		if err != nil {
			t.Fatal(err)
		}
		var res audit.CheckpointResult
		err = run.Get(ctx, &res)
		return res, err
	}
	sequence := func() {
		t.Helper()
		if _, err := st.SequenceAudit(ctx, settings.Keys, "example.org/audit"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if _, err := st.CreateSupplier(ctx, nil, domain.Supplier{Name: fmt.Sprint("Supplier ", i), Tier: 1}); err != nil {
			t.Fatal(err)
		}
	}
	sequence()
	if res, err := checkpoint(); err != nil || res.TreeSize != 3 || res.Witnessed != 1 {
		t.Fatalf("scheduled checkpoint: %+v, %v; want the tree of 3 witnessed", res, err)
	}
	if res, err := checkpoint(); err != nil || res.Witnessed != 0 {
		t.Fatalf("scheduled checkpoint again: %+v, %v; want nothing written", res, err)
	}
	if lines := readWitness(t, witness); len(lines) != 1 || lines[0].Seq != 3 || lines[0].Version != audit.TreeVersion {
		t.Fatalf("witness file %+v, want the tree of 3 once", lines)
	}

	testenv.Exec(t, url, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('a', 'b', 'c')`)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{`SET session_replication_role = replica`,
		`UPDATE audit_log SET action = 'forged' WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = 0)`,
		`DELETE FROM audit_tree_checkpoints`, `DELETE FROM audit_tree_nodes`, `DELETE FROM audit_leaves`,
		`INSERT INTO audit_pending SELECT id FROM audit_log ON CONFLICT DO NOTHING`, `UPDATE audit_tree SET size = 0, hashes = '{}'`} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	sequence()
	_, err = checkpoint()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "AuditChainBroken" || !strings.Contains(appErr.Error(), "witness_mismatch at seq 3") {
		t.Fatalf("scheduled checkpoint after the forgery: %v; want it refused as AuditChainBroken naming the witnessed tree of 3", err)
	}
	if lines := readWitness(t, witness); len(lines) != 1 {
		t.Errorf("%d witness lines, want 1", len(lines))
	}
}
