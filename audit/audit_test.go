package audit_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/schema"
	"github.com/signetassure/signetassure/store"
)

// env is a store on a fresh database, a pool on the same database (a normal connection), and signing keys.
type env struct {
	ctx  context.Context
	url  string
	st   *store.Store
	db   *pgxpool.Pool
	keys audit.Keys
}

func setup(t *testing.T) env {
	t.Helper()
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	st, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return env{ctx, url, st, db, newKeys(t, "k1", "")}
}

// setupChain is setup on a database whose log still chains every entry, as before the Merkle tree took
// over (schema/015_audit_unlocked.sql): for the chain's verification, which keeps checking the entries
// written then. Entries are still queued for the tree too.
func setupChain(t *testing.T) env {
	t.Helper()
	e := setup(t)
	e.chainEntries(t)
	return e
}

// chainEntries switches the log back to numbering and chaining each new entry (the chain trigger of
// schema/003_audit_chain.sql, which migration 015 took off).
func (e env) chainEntries(t *testing.T) {
	t.Helper()
	if _, err := e.db.Exec(e.ctx, `ALTER TABLE audit_log DISABLE TRIGGER audit_log_entry;
		CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain()`); err != nil {
		t.Fatal(err)
	}
}

// newKeys makes keys with a fresh signing key named id, and verify (AUDIT_VERIFY_KEYS).
func newKeys(t *testing.T, id, verify string) audit.Keys {
	t.Helper()
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := audit.ParseKeys(vars(map[string]string{audit.EnvSigningKey: seed, audit.EnvSigningKeyID: id,
		audit.EnvVerifyKeys: verify}))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func vars(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// write makes n audit entries through the store, alternating persons and suppliers.
func (e env) write(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		var err error
		if i%2 == 0 {
			_, err = e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Ann", LastName: fmt.Sprint("Smith", i),
				DateOfBirth: domain.NewDate(1980, time.May, 17)})
		} else {
			_, err = e.st.CreateSupplier(e.ctx, nil, domain.Supplier{Name: "Supplier " + rand.Text(), Tier: 1})
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (e env) verify(t *testing.T, keys audit.PublicKeys) audit.Report {
	t.Helper()
	r, err := audit.Verify(e.ctx, e.db, keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e env) checkpoint(t *testing.T, keys audit.Keys) audit.CheckpointResult {
	t.Helper()
	res, err := audit.Checkpoint(e.ctx, e.db, keys)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (e env) count(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.db.QueryRow(e.ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// tamper runs sql as a superuser that has switched off the append-only triggers.
func (e env) tamper(t *testing.T, sqls ...string) {
	t.Helper()
	conn, err := pgx.Connect(e.ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(e.ctx)
	if _, err := conn.Exec(e.ctx, `SET session_replication_role = replica`); err != nil {
		t.Fatal(err)
	}
	for _, sql := range sqls {
		if _, err := conn.Exec(e.ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

func (e env) idAt(t *testing.T, seq int64) int64 {
	return e.count(t, `SELECT id FROM audit_log WHERE seq = $1`, seq)
}

func wantClean(t *testing.T, r audit.Report, entries int64, checkpoints int) {
	t.Helper()
	if !r.OK() || r.Entries != entries || r.Checkpoints != checkpoints || r.HeadSeq != entries {
		t.Fatalf("report %s (head %d): want intact with %d entries and %d checkpoints", r, r.HeadSeq, entries, checkpoints)
	}
}

func wantProblem(t *testing.T, r audit.Report, kind audit.ProblemKind, seq, auditID int64) {
	t.Helper()
	p := r.Problem
	if p == nil || p.Kind != kind || p.Seq != seq || p.AuditID != auditID {
		t.Fatalf("report %s: want %s at seq %d (audit id %d)", r, kind, seq, auditID)
	}
	if !strings.Contains(r.String(), "NOT intact") || !strings.Contains(r.String(), string(kind)+" at seq "+fmt.Sprint(seq)) {
		t.Errorf("summary %q does not name the problem", r)
	}
}

// Entries written through the store are chained in order, with the database's hash, and verify.
func TestStoreEntriesChainAndVerify(t *testing.T) {
	e := setupChain(t)
	if r := e.verify(t, e.keys.Verify); !r.OK() || r.Entries != 0 || !strings.Contains(r.String(), "intact: Merkle tree of 0 leaves") {
		t.Fatalf("empty log: %s", r)
	}
	officer, err := e.st.CreateUser(e.ctx, nil, domain.StaffUser{DisplayName: "Olive", Email: "olive@example.org",
		Roles: []domain.Role{domain.RoleCaseWorker}, Active: true})
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.st.CreatePerson(e.ctx, &officer.ID, domain.Person{FirstName: "José", LastName: "Ñúñez",
		DateOfBirth: domain.NewDate(1984, time.February, 29)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.UpdatePerson(e.ctx, &officer.ID, p.ID, []string{"email"}, func(p *domain.Person) {
		p.Email = "jose@example.org"
	}); err != nil {
		t.Fatal(err)
	}
	e.write(t, 4)
	// Awkward content: separators and digits in fields, non-ASCII and numbers in detail, a time before
	// 1970, an explicit time with microseconds, a dedup key.
	for _, sql := range []string{
		`INSERT INTO audit_log (action, entity_type, entity_id, detail, dedup_key)
			VALUES ('x', '3:ab,', '1,2:3', '{"b": 1.50, "a": "é ü \" \\ ,:", "n": null, "x": [1e3, -0.0, {}]}', 'k:1,')`,
		`INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id) VALUES
			('1969-12-31 23:59:59.999999+00', gen_random_uuid(), 'old', 't', ''),
			('2026-05-15 10:11:12.000001+01', NULL, 'µs', 't', 'e')`,
	} {
		if _, err := e.db.Exec(e.ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	n := e.count(t, `SELECT count(*) FROM audit_log`)
	if n != 10 {
		t.Fatalf("%d entries, want 10", n)
	}
	if got := e.count(t, `SELECT count(*) FROM audit_log WHERE seq BETWEEN 1 AND $1 AND length(hash) = 32
		AND prev_hash = coalesce((SELECT hash FROM audit_log p WHERE p.seq = audit_log.seq - 1), decode(repeat('00', 32), 'hex'))`, n); got != n {
		t.Errorf("%d of %d entries numbered 1..n and linked to the one before", got, n)
	}
	if got := e.count(t, `SELECT count(*) FROM audit_chain WHERE seq = $1 AND hash = (SELECT hash FROM audit_log WHERE seq = $1)`, n); got != 1 {
		t.Error("the chain head is not the newest entry")
	}
	wantClean(t, e.verify(t, e.keys.Verify), n, 0)
	if r := e.verify(t, e.keys.Verify); !strings.Contains(r.String(), "no checkpoint signed yet") {
		t.Errorf("summary %q: want it to say nothing is signed yet", r)
	}
}

// Verify reads the log in batches: a long log verifies, and a change deep in it is found.
func TestVerifyLongLog(t *testing.T) {
	e := setupChain(t)
	if _, err := e.db.Exec(e.ctx, `INSERT INTO audit_log (action, entity_type, entity_id, detail)
		SELECT 'bulk', 'thing', i::text, jsonb_build_object('i', i) FROM generate_series(1, 2600) i`); err != nil {
		t.Fatal(err)
	}
	e.checkpoint(t, e.keys)
	wantClean(t, e.verify(t, e.keys.Verify), 2600, 1)
	e.tamper(t, `UPDATE audit_log SET detail = '{"i": 0}' WHERE seq = 2001`)
	wantProblem(t, e.verify(t, e.keys.Verify), audit.Altered, 2001, e.idAt(t, 2001))
}

// Checkpoints sign the head when it moved, once; Verify checks them.
func TestCheckpoint(t *testing.T) {
	e := setupChain(t)
	if res := e.checkpoint(t, e.keys); res.Signed || res.Seq != 0 {
		t.Errorf("empty log: checkpoint %+v, want nothing signed", res)
	}
	if _, err := audit.Checkpoint(e.ctx, e.db, audit.Keys{KeyID: "k1", Verify: e.keys.Verify}); !errors.Is(err, audit.ErrNoSigningKey) {
		t.Errorf("no signing key: %v, want ErrNoSigningKey", err)
	}
	e.write(t, 3)
	first := e.checkpoint(t, e.keys)
	if !first.Signed || first.Seq != 3 || first.KeyID != "k1" {
		t.Fatalf("checkpoint %+v, want seq 3 signed by k1", first)
	}
	if again := e.checkpoint(t, e.keys); again.Signed || again.Seq != 3 || again.KeyID != "k1" {
		t.Errorf("checkpoint again: %+v, want the one at seq 3, not signed again", again)
	}
	var hash, sig, prevHash []byte
	var keyID string
	var prevSeq int64
	var signedAt time.Time
	if err := e.db.QueryRow(e.ctx, `SELECT c.hash, c.key_id, c.signature, c.signed_at, c.prev_seq, c.prev_hash
		FROM audit_checkpoints c JOIN audit_log l ON l.seq = c.seq AND l.hash = c.hash WHERE c.seq = 3 AND c.version = 2`).
		Scan(&hash, &keyID, &sig, &signedAt, &prevSeq, &prevHash); err != nil {
		t.Fatalf("checkpoint at seq 3 with the entry's hash: %v", err)
	}
	if prevSeq != 0 || string(prevHash) != string(make([]byte, 32)) || time.Since(signedAt) > time.Minute || time.Since(signedAt) < 0 {
		t.Errorf("first checkpoint: prev %d %x, signed %s: want prev 0 and zeros, signed just now", prevSeq, prevHash, signedAt)
	}
	msg := fmt.Sprintf("signetassure-audit-v2\n3\n%x\n%s\n0\n%x", hash, signedAt.UTC().Format("2006-01-02T15:04:05.000000Z"), prevHash)
	if !ed25519.Verify(e.keys.Verify["k1"], []byte(msg), sig) {
		t.Error("the signature does not verify over the documented message")
	}
	wantClean(t, e.verify(t, e.keys.Verify), 3, 1)

	e.write(t, 2)
	if res := e.checkpoint(t, e.keys); !res.Signed || res.Seq != 5 {
		t.Errorf("after 2 more entries: %+v, want seq 5 signed", res)
	}
	e.write(t, 1)
	r := e.verify(t, e.keys.Verify)
	wantClean(t, r, 6, 2)
	if r.LastCheckpointSeq != 5 || !strings.Contains(r.String(), "newest at seq 5, 1 entries after it") {
		t.Errorf("report %+v %q: want the newest checkpoint at seq 5", r, r)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_checkpoints c WHERE c.version = 2 AND c.prev_seq =
		coalesce((SELECT max(p.seq) FROM audit_checkpoints p WHERE p.seq < c.seq), 0)`); n != 2 {
		t.Errorf("%d checkpoints chained to the one before, want 2", n)
	}
}

// A replaced signing key keeps verifying through AUDIT_VERIFY_KEYS; without it, its checkpoints are unknown.
func TestKeyRotation(t *testing.T) {
	e := setupChain(t)
	e.write(t, 2)
	e.checkpoint(t, e.keys)
	k2 := newKeys(t, "k2", e.keys.PublicKey())
	e.write(t, 2)
	if res := e.checkpoint(t, k2); !res.Signed || res.KeyID != "k2" {
		t.Fatalf("checkpoint with k2: %+v", res)
	}
	wantClean(t, e.verify(t, k2.Verify), 4, 2)
	wantProblem(t, e.verify(t, newKeys(t, "k2", "").Verify), audit.CheckpointUnknownKey, 2, e.idAt(t, 2))
}

func TestParseKeys(t *testing.T) {
	seed, err := audit.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(seed)
	if len(raw) != ed25519.SeedSize {
		t.Fatalf("GenerateKey gave %d bytes", len(raw))
	}
	k, err := audit.ParseKeys(vars(map[string]string{audit.EnvSigningKey: seed}))
	if err != nil || k.KeyID != "k1" || k.Signing == nil || len(k.Verify) != 1 {
		t.Fatalf("ParseKeys = %+v, %v: want k1 signing and verifying", k, err)
	}
	if !k.Signing.Equal(ed25519.NewKeyFromSeed(raw)) {
		t.Error("the signing key is not the seed's")
	}
	pub := k.PublicKey()
	if !strings.HasPrefix(pub, "k1:") {
		t.Errorf("PublicKey = %q", pub)
	}
	other := newKeys(t, "old", "")
	both, err := audit.ParseKeys(vars(map[string]string{audit.EnvSigningKey: base64.RawURLEncoding.EncodeToString(raw),
		audit.EnvSigningKeyID: "k-2", audit.EnvVerifyKeys: " " + pub + " , " + other.PublicKey() + ","}))
	if err != nil || both.KeyID != "k-2" || len(both.Verify) != 3 || !both.Verify["k1"].Equal(both.Verify["k-2"]) {
		t.Errorf("ParseKeys with verify keys = %+v, %v", both, err)
	}
	none, err := audit.ParseKeys(vars(nil))
	if err != nil || none.Signing != nil || len(none.Verify) != 0 || none.PublicKey() != "" {
		t.Errorf("no variables: %+v, %v: want verification only, no keys", none, err)
	}
	for name, m := range map[string]map[string]string{
		"short seed":          {audit.EnvSigningKey: base64.StdEncoding.EncodeToString(raw[:16])},
		"not base64":          {audit.EnvSigningKey: "not base64!"},
		"bad key id":          {audit.EnvSigningKey: seed, audit.EnvSigningKeyID: "a:b"},
		"verify item no id":   {audit.EnvVerifyKeys: strings.TrimPrefix(pub, "k1:")},
		"verify key short":    {audit.EnvVerifyKeys: "k9:" + base64.StdEncoding.EncodeToString(raw[:8])},
		"same id, other key":  {audit.EnvSigningKey: seed, audit.EnvVerifyKeys: "k1:" + strings.TrimPrefix(other.PublicKey(), "old:")},
		"verify item empt id": {audit.EnvVerifyKeys: ":" + strings.TrimPrefix(pub, "k1:")},
	} {
		if _, err := audit.ParseKeys(vars(m)); err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), seed) || strings.Contains(err.Error(), strings.TrimPrefix(pub, "k1:")) {
			t.Errorf("%s: the error %q shows a key", name, err)
		}
	}
}

// Tampering by a superuser who switches the append-only triggers off is caught and the entry named.
func TestTamperingIsDetected(t *testing.T) {
	t.Run("altered", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 6)
		e.checkpoint(t, e.keys)
		e.tamper(t, `UPDATE audit_log SET detail = '{"changed": true}' WHERE seq = 3`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.Altered, 3, e.idAt(t, 3))
	})
	t.Run("altered time", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 3)
		e.tamper(t, `UPDATE audit_log SET at = at + interval '1 microsecond' WHERE seq = 2`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.Altered, 2, e.idAt(t, 2))
	})
	t.Run("removed", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 6)
		e.tamper(t, `DELETE FROM audit_log WHERE seq = 4`)
		r := e.verify(t, e.keys.Verify)
		wantProblem(t, r, audit.Removed, 4, 0)
		if r.Entries != 3 || !strings.Contains(r.Problem.Message, "next entry present is seq 5") {
			t.Errorf("report %s: want 3 entries verified and the next entry named", r)
		}
	})
	t.Run("removed newest", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 4)
		e.tamper(t, `DELETE FROM audit_log WHERE seq = 4`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.Removed, 4, 0)
	})
	t.Run("removed newest with the head put back", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 4)
		e.checkpoint(t, e.keys)
		e.tamper(t, `DELETE FROM audit_log WHERE seq >= 3`,
			`UPDATE audit_chain SET seq = 2, hash = (SELECT hash FROM audit_log WHERE seq = 2)`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.Removed, 3, 0)
	})
	t.Run("reordered", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 6)
		id5 := e.idAt(t, 5)
		e.tamper(t, `UPDATE audit_log SET seq = -2 WHERE seq = 2`, `UPDATE audit_log SET seq = 2 WHERE seq = 5`,
			`UPDATE audit_log SET seq = 5 WHERE seq = -2`)
		if e.idAt(t, 2) != id5 {
			t.Fatal("not swapped")
		}
		wantProblem(t, e.verify(t, e.keys.Verify), audit.Reordered, 2, id5)
	})
	t.Run("removed and renumbered", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 5)
		e.tamper(t, `DELETE FROM audit_log WHERE seq = 3`, `UPDATE audit_log SET seq = seq - 1 WHERE seq > 3`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.Reordered, 3, e.idAt(t, 3))
	})
	t.Run("rehashed after altering, caught by the checkpoint", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 6)
		e.checkpoint(t, e.keys)
		e.write(t, 2)
		e.tamper(t, `UPDATE audit_log SET detail = '{"changed": true}' WHERE seq = 3`, rehash)
		// Without a checkpoint covering it, the rewrite would be consistent: no entry is wrong in itself.
		r := e.verify(t, e.keys.Verify)
		wantProblem(t, r, audit.CheckpointHashMismatch, 6, e.idAt(t, 6))
		if r.Entries != 6 || !strings.Contains(r.Problem.Message, "after seq 0") {
			t.Errorf("report %s: want the 6 consistent entries counted and the range named", r)
		}
	})
	t.Run("rehashed after altering, between checkpoints", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 2)
		e.checkpoint(t, e.keys)
		e.write(t, 3)
		e.checkpoint(t, e.keys)
		e.tamper(t, `UPDATE audit_log SET action = 'nothing' WHERE seq = 4`, rehash)
		r := e.verify(t, e.keys.Verify)
		wantProblem(t, r, audit.CheckpointHashMismatch, 5, e.idAt(t, 5))
		if r.Checkpoints != 1 || !strings.Contains(r.Problem.Message, "after seq 2") {
			t.Errorf("report %s: want the first checkpoint verified and the range after it named", r)
		}
	})
	t.Run("rehashed newest entry, head left", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 3)
		e.tamper(t, `UPDATE audit_log SET action = 'nothing' WHERE seq = 3`,
			`UPDATE audit_log SET hash = audit_entry_hash(prev_hash, seq, at, actor_id, action, entity_type, entity_id,
				detail, dedup_key) WHERE seq = 3`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.HeadMismatch, 3, 0)
	})
	t.Run("checkpoint by an unknown key", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 3)
		e.checkpoint(t, newKeys(t, "intruder", ""))
		wantProblem(t, e.verify(t, e.keys.Verify), audit.CheckpointUnknownKey, 3, e.idAt(t, 3))
	})
	t.Run("checkpoint by another key with our id", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 3)
		e.checkpoint(t, newKeys(t, "k1", ""))
		r := e.verify(t, e.keys.Verify)
		wantProblem(t, r, audit.CheckpointSignatureInvalid, 3, e.idAt(t, 3))
		if r.Problem.KeyID != "k1" {
			t.Errorf("problem %+v: want key k1 named", r.Problem)
		}
	})
	t.Run("checkpoint rewritten", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 3)
		e.checkpoint(t, e.keys)
		e.tamper(t, `UPDATE audit_checkpoints SET hash = sha256(hash)`)
		wantProblem(t, e.verify(t, e.keys.Verify), audit.CheckpointSignatureInvalid, 3, e.idAt(t, 3))
	})
	t.Run("forged checkpoint beyond the log", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 3)
		e.checkpoint(t, e.keys)
		if _, err := e.db.Exec(e.ctx, `INSERT INTO audit_checkpoints (seq, hash, key_id, signature)
			VALUES (99, sha256('x'), 'k1', sha256('y'))`); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, e.verify(t, e.keys.Verify), audit.CheckpointSignatureInvalid, 99, 0)
		// Nor is the next checkpoint built on it.
		var ce *audit.ChainError
		if _, err := audit.Checkpoint(e.ctx, e.db, e.keys); !errors.As(err, &ce) || ce.Problem.Kind != audit.CheckpointSignatureInvalid {
			t.Errorf("Checkpoint after the forgery: %v, want a ChainError about its signature", err)
		}
	})
	t.Run("checkpoint refuses a broken chain", func(t *testing.T) {
		e := setupChain(t)
		e.write(t, 2)
		e.checkpoint(t, e.keys)
		e.write(t, 2)
		e.tamper(t, `UPDATE audit_log SET entity_id = 'other' WHERE seq = 3`)
		_, err := audit.Checkpoint(e.ctx, e.db, e.keys)
		var ce *audit.ChainError
		if !errors.As(err, &ce) || ce.Problem.Kind != audit.Altered || ce.Problem.Seq != 3 {
			t.Fatalf("Checkpoint = %v, want a ChainError naming seq 3 altered", err)
		}
		if n := e.count(t, `SELECT count(*) FROM audit_checkpoints`); n != 1 {
			t.Errorf("%d checkpoints, want only the first", n)
		}
	})
}

// rehash recomputes every hash in seq order and moves the head, as an attacker who knows the formula would.
const rehash = `DO $$
DECLARE r record; h bytea := decode(repeat('00', 32), 'hex');
BEGIN
	FOR r IN SELECT * FROM audit_log ORDER BY seq LOOP
		h := audit_entry_hash(h, r.seq, r.at, r.actor_id, r.action, r.entity_type, r.entity_id, r.detail, r.dedup_key);
		UPDATE audit_log SET prev_hash = coalesce((SELECT hash FROM audit_log WHERE seq = r.seq - 1),
			decode(repeat('00', 32), 'hex')), hash = h WHERE id = r.id;
	END LOOP;
	UPDATE audit_chain SET hash = h;
END $$`

// Many writers at once (and checkpoints among them) still make one unbroken chain.
func TestConcurrentWriters(t *testing.T) {
	e := setupChain(t)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := e.st.CreateSupplier(e.ctx, nil, domain.Supplier{Name: fmt.Sprintf("S%d-%d", w, i), Tier: 2}); err != nil {
					errs <- err
				}
				if i%4 == 0 {
					if _, err := audit.Checkpoint(e.ctx, e.db, e.keys); err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	e.checkpoint(t, e.keys)
	r := e.verify(t, e.keys.Verify)
	if !r.OK() || r.Entries != writers*each || r.LastCheckpointSeq != writers*each || r.Checkpoints < 2 {
		t.Fatalf("report %s: want %d entries intact, checkpointed to the end", r, writers*each)
	}
}

// A repeated workflow write (same dedup_key) adds no entry and leaves the head where it was.
func TestDuplicateDedupKey(t *testing.T) {
	e := setupChain(t)
	p, err := e.st.CreatePerson(e.ctx, nil, domain.Person{FirstName: "Ann", LastName: "Smith", DateOfBirth: domain.NewDate(1980, 1, 2)})
	if err != nil {
		t.Fatal(err)
	}
	ref := domain.NewCaseRef()
	now := time.Now()
	c := domain.Case{CaseRef: ref, PersonID: p.ID, Type: domain.CaseNew, RequestedLevel: domain.LevelSC,
		Status: domain.StatusOpened, IssuingAuthority: "SignetAssure", OpenedAt: now, DueAt: now.AddDate(0, 0, 25),
		Version: 1, UpdatedAt: now}
	ev := domain.CaseEvent{Seq: 1, At: now, Kind: "opened", Summary: "opened"}
	if err := e.st.ApplyCaseEvent(e.ctx, c, ev); err != nil {
		t.Fatal(err)
	}
	var seq int64
	var hash []byte
	head := func() { e.db.QueryRow(e.ctx, `SELECT seq, hash FROM audit_chain`).Scan(&seq, &hash) }
	head()
	before, beforeHash := seq, string(hash)
	if err := e.st.ApplyCaseEvent(e.ctx, c, ev); err != nil {
		t.Fatal(err)
	}
	// Many repeats at once, as retried activities might.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := e.st.ApplyCaseEvent(e.ctx, c, ev); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	tag, err := e.db.Exec(e.ctx, `INSERT INTO audit_log (action, entity_type, entity_id, dedup_key)
		VALUES ('again', 'vetting_case', $1, $2) ON CONFLICT (dedup_key) DO NOTHING`, ref, "case/"+ref+"/1")
	if err != nil || tag.RowsAffected() != 0 {
		t.Errorf("raw duplicate insert: %v, %d rows; want none", err, tag.RowsAffected())
	}
	head()
	if seq != before || string(hash) != beforeHash || before != 2 {
		t.Errorf("head moved from seq %d to %d (or changed hash), want it to stay at 2", before, seq)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE dedup_key = $1`, "case/"+ref+"/1"); n != 1 {
		t.Errorf("%d entries with the dedup key, want 1", n)
	}
	e.write(t, 1)
	wantClean(t, e.verify(t, e.keys.Verify), 3, 0)
}

// UPDATE, DELETE and TRUNCATE stay refused for a normal connection, on the log, its checkpoints and its head;
// an insert cannot choose its place in the chain.
func TestAppendOnly(t *testing.T) {
	e := setupChain(t)
	e.write(t, 3)
	e.checkpoint(t, e.keys)
	for _, sql := range []string{
		`UPDATE audit_log SET action = 'tampered'`,
		`UPDATE audit_log SET hash = sha256(hash) WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 3`,
		`TRUNCATE audit_log`,
		`UPDATE audit_checkpoints SET hash = sha256(hash)`,
		`DELETE FROM audit_checkpoints`,
		`TRUNCATE audit_checkpoints`,
	} {
		if _, err := e.db.Exec(e.ctx, sql); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want the append-only error", sql, err)
		}
	}
	for _, sql := range []string{
		`UPDATE audit_chain SET seq = seq + 5`,
		`UPDATE audit_chain SET hash = sha256(hash)`,
		`DELETE FROM audit_chain`,
		`TRUNCATE audit_chain`,
		`INSERT INTO audit_chain (id, seq, hash) VALUES (2, 0, '')`,
	} {
		if _, err := e.db.Exec(e.ctx, sql); err == nil || !strings.Contains(err.Error(), "audit_chain only moves forward") {
			t.Errorf("%s: %v, want it refused", sql, err)
		}
	}
	var seq int64
	if err := e.db.QueryRow(e.ctx, `INSERT INTO audit_log (seq, prev_hash, hash, action, entity_type, entity_id)
		VALUES (100, '\x00', '\x00', 'a', 'b', 'c') RETURNING seq`).Scan(&seq); err != nil || seq != 4 {
		t.Errorf("insert naming its own seq: seq %d, %v; want the next seq, 4", seq, err)
	}
	wantClean(t, e.verify(t, e.keys.Verify), 4, 1)
}

// migrateRest takes a database made by testenv.MigratedBefore the rest of the way, and opens it for the test.
func migrateRest(t *testing.T, dbURL string, keys audit.Keys) env {
	t.Helper()
	ctx := context.Background()
	if err := schema.Migrate(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	db, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return env{ctx: ctx, url: dbURL, db: db, keys: keys}
}

// Entries written before the chain existed are chained by the migration, in id order, and verify; the
// migration also goes down and up again.
func TestMigrationChainsExistingEntries(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, m := testenv.MigratedBefore(t, "audit_chain")
	if _, err := conn.Exec(ctx, `INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id, detail, dedup_key)
		SELECT now() - make_interval(secs => 10 - i), CASE WHEN i % 2 = 0 THEN gen_random_uuid() END, 'old.' || i,
			'thing', i::text, jsonb_build_object('i', i, 'name', 'é'), CASE WHEN i % 3 = 0 THEN 'd' || i END
		FROM generate_series(1, 7) i`); err != nil {
		t.Fatal(err)
	}
	e := migrateRest(t, dbURL, newKeys(t, "k1", ""))
	e.chainEntries(t)
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE seq = id AND entity_id = id::text`); n != 7 {
		t.Errorf("%d entries chained in id order, want 7", n)
	}
	wantClean(t, e.verify(t, e.keys.Verify), 7, 0)
	if _, err := e.db.Exec(ctx, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('new', 'thing', '8')`); err != nil {
		t.Fatal(err)
	}
	e.checkpoint(t, e.keys)
	wantClean(t, e.verify(t, e.keys.Verify), 8, 1)

	if err := m.MigrateTo(ctx, 2); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := schema.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("up again: %v", err)
	}
	wantClean(t, e.verify(t, e.keys.Verify), 8, 0)
}

// Each checkpoint commits to the one before it: a deleted checkpoint leaves a gap Verify names, with only
// the public keys.
func TestDeletedCheckpointIsDetected(t *testing.T) {
	setupThree := func(t *testing.T) env {
		e := setupChain(t)
		for range 3 {
			e.write(t, 2)
			e.checkpoint(t, e.keys)
		}
		wantClean(t, e.verify(t, e.keys.Verify), 6, 3)
		return e
	}
	t.Run("middle", func(t *testing.T) {
		e := setupThree(t)
		e.tamper(t, `DELETE FROM audit_checkpoints WHERE seq = 4`)
		r := e.verify(t, publicOnly(t, e.keys))
		wantProblem(t, r, audit.CheckpointRemoved, 4, 0)
		if r.Checkpoints != 1 || !strings.Contains(r.Problem.Message, "checkpoint at seq 6") {
			t.Errorf("report %s: want the first checkpoint verified and the one naming the missing one quoted", r)
		}
	})
	t.Run("first", func(t *testing.T) {
		e := setupThree(t)
		e.tamper(t, `DELETE FROM audit_checkpoints WHERE seq = 2`)
		wantProblem(t, e.verify(t, publicOnly(t, e.keys)), audit.CheckpointRemoved, 2, 0)
	})
	t.Run("all but the newest", func(t *testing.T) {
		e := setupThree(t)
		e.tamper(t, `DELETE FROM audit_checkpoints WHERE seq < 6`)
		wantProblem(t, e.verify(t, publicOnly(t, e.keys)), audit.CheckpointRemoved, 4, 0)
	})
	t.Run("the next checkpoint does not chain over the gap", func(t *testing.T) {
		e := setupThree(t)
		e.tamper(t, `DELETE FROM audit_checkpoints WHERE seq = 6`)
		e.write(t, 1)
		// The newest is gone: the next checkpoint chains to the one left, and the log verifies from it.
		if res := e.checkpoint(t, e.keys); !res.Signed || res.Seq != 7 {
			t.Fatalf("checkpoint %+v", res)
		}
		if n := e.count(t, `SELECT prev_seq FROM audit_checkpoints WHERE seq = 7`); n != 4 {
			t.Errorf("the new checkpoint follows seq %d, want 4 (the newest left)", n)
		}
	})
}

// Checkpoints signed before they were chained (version 1) verify as before, and the first chained one
// commits to the newest of them.
func TestUnchainedCheckpointsStillVerify(t *testing.T) {
	e := setupChain(t)
	for _, seq := range []int64{2, 4} {
		e.write(t, 2)
		var hash []byte
		if err := e.db.QueryRow(e.ctx, `SELECT hash FROM audit_chain`).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		if _, err := e.db.Exec(e.ctx, `INSERT INTO audit_checkpoints (seq, hash, key_id, signature) VALUES ($1, $2, 'k1', $3)`,
			seq, hash, ed25519.Sign(e.keys.Signing, audit.CheckpointMessage(seq, hash))); err != nil {
			t.Fatal(err)
		}
	}
	wantClean(t, e.verify(t, e.keys.Verify), 4, 2)
	e.write(t, 2)
	e.checkpoint(t, e.keys)
	var version, prevSeq int64
	var prevHash []byte
	if err := e.db.QueryRow(e.ctx, `SELECT version, prev_seq, prev_hash FROM audit_checkpoints WHERE seq = 6`).
		Scan(&version, &prevSeq, &prevHash); err != nil {
		t.Fatal(err)
	}
	if version != 2 || prevSeq != 4 || e.count(t, `SELECT count(*) FROM audit_log WHERE seq = 4 AND hash = $1`, prevHash) != 1 {
		t.Errorf("new checkpoint: version %d, prev seq %d: want version 2 chained to seq 4 and its hash", version, prevSeq)
	}
	wantClean(t, e.verify(t, publicOnly(t, e.keys)), 6, 3)
	e.tamper(t, `DELETE FROM audit_checkpoints WHERE seq = 4`)
	wantProblem(t, e.verify(t, e.keys.Verify), audit.CheckpointRemoved, 4, 0)
}

// publicOnly are keys' public keys as AUDIT_VERIFY_KEYS alone gives them, without the signing key.
func publicOnly(t *testing.T, keys audit.Keys) audit.PublicKeys {
	t.Helper()
	k, err := audit.ParseKeys(vars(map[string]string{audit.EnvVerifyKeys: keys.PublicKey()}))
	if err != nil || k.Signing != nil {
		t.Fatalf("public keys only: %+v, %v", k, err)
	}
	return k.Verify
}

// The signing key appears nowhere in the database after checkpoints of the chain and the tree are signed
// and witnessed.
func TestSigningKeyNeverInDatabase(t *testing.T) {
	e := setupChain(t)
	e.write(t, 3)
	e.checkpoint(t, e.keys)
	e.write(t, 1)
	if res, err := audit.Sequence(e.ctx, e.db, e.keys, testOrigin, 100); err != nil || res.Checkpoint == nil {
		t.Fatalf("sequence: %+v, %v", res, err)
	}
	if _, err := audit.Checkpoint(e.ctx, e.db, e.keys, audit.FileSink{Path: t.TempDir() + "/witness.jsonl"}); err != nil {
		t.Fatal(err)
	}
	seed := e.keys.Signing.Seed()
	forms := []string{base64.StdEncoding.EncodeToString(seed), base64.RawURLEncoding.EncodeToString(seed),
		fmt.Sprintf("%x", seed), base64.StdEncoding.EncodeToString(e.keys.Signing), fmt.Sprintf("%x", []byte(e.keys.Signing))}
	rows, err := e.db.Query(e.ctx, `SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables %v, %v", tables, err)
	}
	for _, table := range tables {
		for _, f := range forms {
			if n := e.count(t, `SELECT count(*) FROM `+table+` t WHERE strpos(t::text, $1) > 0`, f); n != 0 {
				t.Errorf("the signing key is in %s (%d rows)", table, n)
			}
		}
	}
	// The search does see bytea columns: it finds a checkpoint's signature.
	var sig []byte
	if err := e.db.QueryRow(e.ctx, `SELECT signature FROM audit_checkpoints LIMIT 1`).Scan(&sig); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_checkpoints t WHERE strpos(t::text, $1) > 0`, fmt.Sprintf("%x", sig)); n != 1 {
		t.Errorf("the search finds the signature in %d rows, want 1", n)
	}
}

// Checkpoints signed before checkpoints were chained keep verifying after the migration that chains them,
// and the first chained checkpoint follows the newest of them.
func TestMigrationKeepsUnchainedCheckpoints(t *testing.T) {
	ctx := context.Background()
	dbURL, conn, _ := testenv.MigratedBefore(t, "audit_checkpoint_chain")
	keys := newKeys(t, "k1", "")
	for i := range 2 {
		var seq int64
		var hash []byte
		if err := conn.QueryRow(ctx, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('old', 't', $1)
			RETURNING seq, hash`, fmt.Sprint(i)).Scan(&seq, &hash); err != nil {
			t.Fatal(err)
		}
		// As the code before the migration signed them.
		if _, err := conn.Exec(ctx, `INSERT INTO audit_checkpoints (seq, hash, key_id, signature) VALUES ($1, $2, 'k1', $3)`,
			seq, hash, ed25519.Sign(keys.Signing, audit.CheckpointMessage(seq, hash))); err != nil {
			t.Fatal(err)
		}
	}
	e := migrateRest(t, dbURL, keys)
	e.chainEntries(t)
	wantClean(t, e.verify(t, publicOnly(t, keys)), 2, 2)
	if _, err := e.db.Exec(ctx, `INSERT INTO audit_log (action, entity_type, entity_id) VALUES ('new', 't', '3')`); err != nil {
		t.Fatal(err)
	}
	e.checkpoint(t, keys)
	if n := e.count(t, `SELECT count(*) FROM audit_checkpoints WHERE seq = 3 AND version = 2 AND prev_seq = 2
		AND prev_hash = (SELECT hash FROM audit_log WHERE seq = 2)`); n != 1 {
		t.Error("the first chained checkpoint does not follow the newest unchained one")
	}
	wantClean(t, e.verify(t, publicOnly(t, keys)), 3, 3)
}
