package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"golang.org/x/mod/sumdb/note"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/workflows"
)

// witnessLog is one site's signed audit tree: its keys, origin and verifier key.
type witnessLog struct {
	e      *env
	keys   audit.Keys
	origin string
	vkey   string
}

func newWitnessLog(t *testing.T, e *env, origin string) *witnessLog {
	t.Helper()
	keys := signingKeys(t)
	vkey, err := tlog.VerifierKey(keys.KeyID, keys.Verify[keys.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	return &witnessLog{e: e, keys: keys, origin: origin, vkey: vkey}
}

// sequence makes the site's new audit entries leaves and signs a checkpoint, which it returns opened.
func (l *witnessLog) sequence(t *testing.T) tlog.Checkpoint {
	t.Helper()
	res, err := l.e.st.SequenceAudit(context.Background(), l.keys, l.origin)
	if err != nil {
		t.Fatal(err)
	}
	return l.open(t, res.Checkpoint)
}

func (l *witnessLog) open(t *testing.T, signed []byte) tlog.Checkpoint {
	t.Helper()
	v, err := note.NewVerifier(l.vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := tlog.Open(signed, l.origin, v)
	if err != nil {
		t.Fatalf("the checkpoint does not open with %s's key: %v", l.origin, err)
	}
	return cp
}

// tamper runs sql on e's database as a superuser with the append-only triggers switched off: the
// operator rewriting its own log.
func (e *env) tamper(sqls ...string) {
	e.t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.database)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range append([]string{`SET session_replication_role = replica`}, sqls...) {
		if _, err := conn.Exec(ctx, sql); err != nil {
			e.t.Fatalf("%s: %v", sql, err)
		}
	}
}

// resetTree forgets e's Merkle tree, so the next sequencing builds it again from the entries as they
// now are (and signs its checkpoints again, with the same key).
func (e *env) resetTree() {
	e.t.Helper()
	e.tamper(`DELETE FROM audit_leaves`, `DELETE FROM audit_tree_nodes`, `DELETE FROM audit_tree_checkpoints`,
		`UPDATE audit_tree SET size = 0, hashes = '{}'`, `DELETE FROM audit_pending`, `INSERT INTO audit_pending SELECT id FROM audit_log`)
}

// witnessedRows is what Acme holds of Beacon's log: "size:base64(root)" per checkpoint, oldest first.
func (e *env) witnessedRows(site string) []string {
	e.t.Helper()
	conn, err := pgx.Connect(context.Background(), e.database)
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, _ := conn.Query(context.Background(), `SELECT size, root FROM partner_audit_checkpoints WHERE site_id = $1 ORDER BY size`, site)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var size int64
		var root []byte
		err := r.Scan(&size, &root)
		return fmt.Sprintf("%d:%s", size, base64.StdEncoding.EncodeToString(root)), err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

func cpRow(cp tlog.Checkpoint) string {
	return fmt.Sprintf("%d:%s", cp.Size, base64.StdEncoding.EncodeToString(cp.Root))
}

// auditDetails are the details of e's audit entries of an action, oldest first.
func (e *env) auditDetails(action string) []map[string]any {
	e.t.Helper()
	raw := e.text(`SELECT coalesce(json_agg(detail ORDER BY seq), '[]')::text FROM audit_log WHERE action = $1`, action)
	var ds []map[string]any
	if err := json.Unmarshal([]byte(raw), &ds); err != nil {
		e.t.Fatal(err)
	}
	return ds
}

// Acme and Beacon witness each other's audit logs. Acme fetches Beacon's checkpoints as Beacon's log
// grows, each proved to extend the one before, and stores them; Beacon reads what Acme holds of its log.
// Beacon reads the inclusion proofs of Acme's entries that concern it, and no others. Then Beacon's
// operator rewrites its log (a fork), rolls it back, and Acme is given a wrong key: each time Acme
// stores nothing, records the refusal once and tells its security controllers and administrators once.
func TestPartnersWitnessEachOther(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := newPair(t)
	acme, beacon := p.acme, p.beacon
	acmeLog, beaconLog := newWitnessLog(t, acme, "acme.test/audit"), newWitnessLog(t, beacon, "beacon.test/audit")

	// Each issues the other a key that may witness, and each stores the one it was issued (the newest
	// credential is the one used).
	scopes := []string{"vetting:read", "vetting:return", "audit:witness"}
	acmeWitnessKey := acme.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.beaconAtAcme+"/keys",
		map[string]any{"name": "witness", "scopes": scopes})["key"].(string)
	beaconWitnessKey := beacon.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.acmeAtBeacon+"/keys",
		map[string]any{"name": "witness", "scopes": scopes})["key"].(string)
	acme.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.beaconAtAcme+"/credentials",
		map[string]any{"name": "witness", "secret": beaconWitnessKey})
	beacon.must(201, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.acmeAtBeacon+"/credentials",
		map[string]any{"name": "witness", "secret": acmeWitnessKey})
	beaconAtAcme := partners.New(acme.url, acmeWitnessKey, partners.HTTPClient(true)) // Beacon calling Acme

	// The partner-site admin API takes Beacon's audit log, checked.
	auditLog := "/api/v1/partners/" + p.beaconAtAcme + "/audit-log"
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"origin": beaconLog.origin, "verifierKey": "not-a-key", "witness": true}, "verifierKey"},
		{map[string]any{"origin": beaconLog.origin, "verifierKey": beaconLog.vkey + "x", "witness": true}, "verifierKey"},
		{map[string]any{"origin": "", "verifierKey": "", "witness": true}, "witness"},
		{map[string]any{"origin": beaconLog.origin, "witness": false}, "verifierKey"},
		{map[string]any{"verifierKey": beaconLog.vkey, "witness": false}, "origin"},
		{map[string]any{"origin": "two\nlines", "verifierKey": beaconLog.vkey, "witness": true}, "origin"},
		{map[string]any{"origin": beaconLog.origin, "verifierKey": beaconLog.vkey}, "witness"},
	} {
		r := acme.call(domain.RoleAdmin, "PUT", auditLog, c.body)
		if r.status != 400 {
			t.Fatalf("audit log %v: %d %s", c.body, r.status, r.body)
		}
		if f := problemField(t, r); f != c.field {
			t.Fatalf("audit log %v: the refusal names %q, want %q", c.body, f, c.field)
		}
	}
	if r := acme.call(domain.RoleSecurityController, "PUT", auditLog, map[string]any{"origin": beaconLog.origin,
		"verifierKey": beaconLog.vkey, "witness": true}); r.status != 403 {
		t.Fatalf("a security controller setting a partner's audit log: %d", r.status)
	}
	site := acme.must(200, domain.RoleAdmin, "PUT", auditLog, map[string]any{"origin": beaconLog.origin,
		"verifierKey": beaconLog.vkey, "witness": true})
	if site["auditOrigin"] != beaconLog.origin || site["auditVerifierKey"] != beaconLog.vkey || site["auditWitness"] != true {
		t.Fatalf("the site's audit log: %v", site)
	}
	if set := acme.auditDetails("partner.audit_log.set"); len(set) != 1 || set[0]["verifierKey"] != beaconLog.vkey {
		t.Fatalf("setting the audit log is audited: %v", set)
	}

	acmeActs := &activities.Activities{Store: acme.st, Partners: partners.Directory{Store: acme.st, Keyring: testenv.Keyring(),
		AllowLoopback: true}}
	witness := func() {
		t.Helper()
		if _, err := acmeActs.CheckPartnerHealth(ctx); err != nil {
			t.Fatalf("witnessing: %v", err)
		}
	}
	siteProblem := func() string {
		t.Helper()
		s := acme.must(200, domain.RoleAdmin, "GET", "/api/v1/partners/"+p.beaconAtAcme, nil)
		if s["auditCheckedAt"] == nil {
			t.Fatalf("the site does not say when its log was last witnessed: %v", s)
		}
		problem, _ := s["auditProblem"].(string)
		return problem
	}
	lastCheckpointCall := func() map[string]any { return beacon.lastExternalAudit("audit.checkpoint") }

	// Beacon has signed nothing yet: nothing is stored, and the site says why.
	witness()
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 0 {
		t.Fatalf("witnessed before Beacon signed anything: %v", rows)
	}
	if problem := siteProblem(); !strings.Contains(problem, "404") {
		t.Fatalf("the site's witnessing problem: %q", problem)
	}

	// Beacon signs its first checkpoint: Acme takes it (trust on first use), asking for no proof.
	first := beaconLog.sequence(t)
	witness()
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 1 || rows[0] != cpRow(first) {
		t.Fatalf("Acme holds %v of Beacon's log, want [%s]", rows, cpRow(first))
	}
	if got := lastCheckpointCall(); got["status"] != float64(200) || got["from"] != nil || got["partnerOrg"] != "Acme Defence Ltd" {
		t.Fatalf("what Beacon received first: %v", got)
	}
	if problem := siteProblem(); problem != "" {
		t.Fatalf("the site's witnessing problem after a good witnessing: %q", problem)
	}

	// Beacon's log grows: Acme asks from the size it holds and stores the newer checkpoint; run by the
	// PartnerHealth workflow, on Acme's worker.
	beacon.createPerson("Grace", "Hopper", "1976-12-09")
	second := beaconLog.sequence(t)
	if second.Size <= first.Size {
		t.Fatalf("Beacon's log did not grow: %d then %d", first.Size, second.Size)
	}
	run, err := acme.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "partner-health-" + acme.queue, TaskQueue: acme.queue},
		workflows.PartnerHealth)
	if err != nil {
		t.Fatal(err)
	}
	var healthy int
	if err := run.Get(ctx, &healthy); err != nil || healthy != 1 {
		t.Fatalf("PartnerHealth: %d healthy, %v", healthy, err)
	}
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 2 || rows[1] != cpRow(second) {
		t.Fatalf("Acme holds %v of Beacon's log, want its second checkpoint %s last", rows, cpRow(second))
	}
	if got := lastCheckpointCall(); got["status"] != float64(200) || got["from"] != float64(first.Size) {
		t.Fatalf("Beacon was not asked for the proof from the size Acme held: %v", got)
	}
	// Again with nothing new: nothing more is stored (the same checkpoint, asked from its own size).
	witness()
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 2 {
		t.Fatalf("witnessing an unchanged log stored %v", rows)
	}
	if got := lastCheckpointCall(); got["from"] != float64(second.Size) {
		t.Fatalf("what Beacon received last: %v", got)
	}

	// Beacon reads what Acme holds of its log, and holds itself to it: the note is Beacon's own.
	held, err := beaconAtAcme.AuditWitnessed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp := beaconLog.open(t, []byte(held.Note)); cp.Size != second.Size || !bytes.Equal(cp.Root, second.Root) ||
		held.Size != second.Size || held.Origin != beaconLog.origin || held.FetchedAt.IsZero() {
		t.Fatalf("what Acme witnessed of Beacon: %+v", held)
	}
	// Acme's log is witnessed by nobody: Beacon has no audit log configured for Acme.
	r := beacon.partnerCall(beaconWitnessKey, "GET", partners.PathAuditWitnessed, nil)
	if r.status != 404 || !strings.Contains(string(r.body), "not-witnessed") || !strings.Contains(string(r.body), "no audit log") {
		t.Fatalf("witnessed, for a partner Beacon does not witness: %d %s", r.status, r.body)
	}
	// A key without audit:witness reads none of it.
	if r := acme.partnerCall(p.keyForBeacon, "GET", partners.PathAuditCheckpoint, nil); r.status != 403 {
		t.Fatalf("a key without audit:witness: %d %s", r.status, r.body)
	}

	// Inclusion: Beacon proves entries of Acme's log that concern it, and only those.
	cobalt, cobaltKey := trust(acme, "https://cobalt.invalid", "Cobalt Systems")
	acme.partnerCall(cobaltKey, "GET", partners.PathWhoAmI, nil)
	acme.createPerson("Jane", "Davies", "1985-04-12")
	lookup, err := partners.New(acme.url, p.keyForBeacon, partners.HTTPClient(true)).Lookup(ctx,
		partners.LookupRequest{FirstName: "Jane", LastName: "Davies", DOB: mustDate(t, "1985-04-12"), Reason: "Site access"})
	if err != nil || !lookup.Found {
		t.Fatalf("lookup: %+v %v", lookup, err)
	}
	acmeCP := acmeLog.sequence(t)
	entry := func(where string, args ...any) int64 {
		t.Helper()
		return int64(acme.count(`SELECT id::int FROM audit_log WHERE `+where+` ORDER BY seq LIMIT 1`, args...))
	}
	ours := entry(`action = 'outbound./api/external/audit/checkpoint' AND entity_id = $1`, p.beaconAtAcme)
	theirs := entry(`action = 'external.audit.witnessed' AND entity_id = $1`, p.beaconAtAcme)
	got, err := beaconAtAcme.AuditCheckpoint(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cp := acmeLog.open(t, []byte(got.Note)); cp.Size != acmeCP.Size {
		t.Fatalf("Acme's checkpoint: size %d, want %d", cp.Size, acmeCP.Size)
	}
	for name, id := range map[string]int64{"Acme's call to Beacon": ours, "Beacon's call to Acme": theirs} {
		proof, err := beaconAtAcme.AuditInclusion(ctx, id, 0)
		if err != nil {
			t.Fatalf("%s (entry %d): %v", name, id, err)
		}
		if err := tlog.VerifyInclusion(tlog.LeafHash(proof.LeafData), proof.LeafIndex, acmeCP.Size, acmeCP.Root, proof.Hashes); err != nil {
			t.Fatalf("%s: the proof does not verify against Acme's checkpoint: %v", name, err)
		}
		if inc := acme.lastExternalAudit("audit.inclusion"); inc["subject"] != fmt.Sprint(id) || inc["status"] != float64(200) {
			t.Fatalf("%s: Acme's record of the call: %v", name, inc)
		}
	}
	for name, id := range map[string]int64{
		"a person's creation":              entry(`action = 'person.create'`),
		"staff setting Beacon's audit log": entry(`action = 'partner.audit_log.set'`),
		"a lookup that disclosed a person": entry(`action = 'external.lookup' AND entity_id = $1`, p.beaconAtAcme),
		"another partner's call":           entry(`action = 'external.whoami' AND entity_id = $1`, cobalt),
		"an entry that does not exist":     1 << 40,
		"staff issuing Beacon a key":       entry(`action = 'partner.key.issue' AND entity_id = $1`, p.beaconAtAcme),
		"staff adding a partner":           entry(`action = 'partner.create'`),
	} {
		r := acme.partnerCall(acmeWitnessKey, "GET", fmt.Sprintf("/api/external/audit/entries/%d/inclusion", id), nil)
		if r.status != 404 {
			t.Fatalf("inclusion of %s (entry %d): %d %s", name, id, r.status, r.body)
		}
		if bytes.Contains(r.body, []byte("leafData")) {
			t.Fatalf("inclusion of %s: the answer holds leaf data", name)
		}
	}
	// Bad sizes are named: not a number 400, out of range 422.
	for _, c := range []struct {
		path   string
		status int
		field  string
	}{
		{partners.PathAuditCheckpoint + "?from=abc", 400, "from"},
		{partners.PathAuditCheckpoint + "?from=-1", 400, "from"},
		{partners.PathAuditCheckpoint + fmt.Sprintf("?from=%d", acmeCP.Size+1), 422, "from"},
		{fmt.Sprintf("/api/external/audit/entries/%d/inclusion?size=x", ours), 400, "size"},
		{fmt.Sprintf("/api/external/audit/entries/%d/inclusion?size=0", ours), 422, "size"},
		{fmt.Sprintf("/api/external/audit/entries/%d/inclusion?size=%d", ours, acmeCP.Size+1), 422, "size"},
		{fmt.Sprintf("/api/external/audit/entries/%d/inclusion?size=1", ours), 422, "size"},
	} {
		before := acme.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'external.audit.%'`)
		r := acme.partnerCall(acmeWitnessKey, "GET", c.path, nil)
		if r.status != c.status {
			t.Fatalf("%s: %d %s, want %d", c.path, r.status, r.body, c.status)
		}
		if f := problemField(t, r); f != c.field {
			t.Fatalf("%s: the refusal names %q, want %q", c.path, f, c.field)
		}
		if after := acme.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'external.audit.%'`); after != before+1 {
			t.Fatalf("%s: %d audit entries", c.path, after-before)
		}
	}
	// With from: the proof that the newest extends the size asked from.
	older := acmeCP
	acme.createPerson("Ada", "Lovelace", "1975-12-10")
	newer := acmeLog.sequence(t)
	got, err = beaconAtAcme.AuditCheckpoint(ctx, &older.Size)
	if err != nil || got.Consistency == nil || got.Consistency.From != int64(older.Size) {
		t.Fatalf("checkpoint from %d: %+v %v", older.Size, got, err)
	}
	if err := tlog.CheckExtends(older, acmeLog.open(t, []byte(got.Note)), got.Consistency.Hashes); err != nil || got.Size != newer.Size {
		t.Fatalf("Acme's newest checkpoint does not extend the older: %v", err)
	}

	notifications := func(kind string) int {
		return acme.count(`SELECT count(*) FROM staff_notifications WHERE kind = $1`, kind)
	}
	const controllers = 2 // newEnv's security controller and administrator

	// A wrong key: Beacon's checkpoint does not open; nothing is stored.
	acme.must(200, domain.RoleAdmin, "PUT", auditLog, map[string]any{"origin": beaconLog.origin, "verifierKey": acmeLog.vkey, "witness": true})
	witness()
	witness()
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 2 {
		t.Fatalf("a checkpoint that does not open was stored: %v", rows)
	}
	if inv := acme.auditDetails("partner.audit_invalid"); len(inv) != 1 || inv[0]["heldSize"] != float64(second.Size) {
		t.Fatalf("the refused checkpoint's audit entries: %v", inv)
	}
	if n := notifications("partner_audit_invalid"); n != controllers {
		t.Fatalf("%d notifications of the checkpoint that does not open, want %d", n, controllers)
	}
	if problem := siteProblem(); !strings.Contains(problem, "does not open") {
		t.Fatalf("the site's witnessing problem: %q", problem)
	}
	acme.must(200, domain.RoleAdmin, "PUT", auditLog, map[string]any{"origin": beaconLog.origin, "verifierKey": beaconLog.vkey, "witness": true})

	// Beacon's operator rewrites an entry of its log and signs the rebuilt tree with its key: a fork.
	beacon.createPerson("Alan", "Turing", "1972-06-23")
	beacon.tamper(fmt.Sprintf(`UPDATE audit_log SET detail = detail || '{"rewritten": true}'
		WHERE id = (SELECT entry_id FROM audit_leaves WHERE leaf_index = %d)`, first.Size-1))
	beacon.resetTree()
	forked := beaconLog.sequence(t)
	if forked.Size < second.Size {
		t.Fatalf("the rewritten log is smaller (%d) than the one witnessed (%d)", forked.Size, second.Size)
	}
	witness()
	witness() // seen again (and a retry): recorded once
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 2 || rows[1] != cpRow(second) {
		t.Fatalf("Acme stored a checkpoint of the forked log: %v", rows)
	}
	forks := acme.auditDetails("partner.audit_fork")
	if len(forks) != 1 {
		t.Fatalf("%d fork entries, want 1: %v", len(forks), forks)
	}
	f := forks[0]
	if f["heldSize"] != float64(second.Size) || f["heldRoot"] != base64.StdEncoding.EncodeToString(second.Root) ||
		f["size"] != float64(forked.Size) || f["root"] != base64.StdEncoding.EncodeToString(forked.Root) ||
		f["origin"] != beaconLog.origin || beaconLog.open(t, []byte(f["checkpoint"].(string))).Size != forked.Size {
		t.Fatalf("the fork's audit entry: %v", f)
	}
	if got := lastCheckpointCall(); got["from"] != float64(second.Size) || got["status"] != float64(200) {
		t.Fatalf("what Beacon received when its fork was found: %v", got)
	}
	if n := notifications("partner_audit_fork"); n != controllers {
		t.Fatalf("%d notifications of the fork, want %d", n, controllers)
	}
	if problem := siteProblem(); !strings.Contains(problem, "forked") {
		t.Fatalf("the site's witnessing problem: %q", problem)
	}
	// Beacon may read the fork entry's proof: it concerns its own log.
	forkID := entry(`action = 'partner.audit_fork'`)
	acmeLog.sequence(t)
	if _, err := beaconAtAcme.AuditInclusion(ctx, forkID, 0); err != nil {
		t.Fatalf("the fork entry's inclusion, for Beacon: %v", err)
	}

	// Beacon's operator rolls its log back to before the second checkpoint (the entries after it deleted)
	// and signs the smaller tree: a rollback. Acme's from is past Beacon's tree (422), so Acme fetches the
	// newest without a proof and finds it smaller.
	beacon.tamper(fmt.Sprintf(`DELETE FROM audit_log WHERE id NOT IN (SELECT entry_id FROM audit_leaves WHERE leaf_index < %d)`, first.Size))
	beacon.resetTree()
	rolled := beaconLog.sequence(t)
	if rolled.Size >= second.Size {
		t.Fatalf("the rolled-back log (%d) is not smaller than the one witnessed (%d)", rolled.Size, second.Size)
	}
	before := beacon.count(`SELECT count(*) FROM audit_log WHERE action = 'external.audit.checkpoint'`)
	witness()
	witness()
	if rows := acme.witnessedRows(p.beaconAtAcme); len(rows) != 2 || rows[1] != cpRow(second) {
		t.Fatalf("Acme stored a checkpoint of the rolled-back log: %v", rows)
	}
	rollbacks := acme.auditDetails("partner.audit_rollback")
	if len(rollbacks) != 1 || rollbacks[0]["heldSize"] != float64(second.Size) || rollbacks[0]["size"] != float64(rolled.Size) ||
		rollbacks[0]["root"] != base64.StdEncoding.EncodeToString(rolled.Root) {
		t.Fatalf("the rollback's audit entries: %v", rollbacks)
	}
	if n := notifications("partner_audit_rollback"); n != controllers {
		t.Fatalf("%d notifications of the rollback, want %d", n, controllers)
	}
	// What Beacon received: from the size Acme held, refused (422), then without from.
	calls := beacon.auditDetails("external.audit.checkpoint")[before:]
	if len(calls) != 4 || calls[0]["from"] != float64(second.Size) || calls[0]["status"] != float64(422) || calls[1]["from"] != nil ||
		calls[1]["status"] != float64(200) {
		t.Fatalf("what Beacon received during the rollback: %v", calls)
	}
	// An auditor reads what Acme holds of Beacon's log: the two checkpoints, newest first, as signed.
	list := acme.must(200, domain.RoleAuditor, "GET", "/api/v1/partners/"+p.beaconAtAcme+"/audit-checkpoints", nil)
	var kept []partners.WitnessedCheckpoint
	raw, _ := json.Marshal(list["items"])
	if err := json.Unmarshal(raw, &kept); err != nil || list["total"] != float64(2) || len(kept) != 2 ||
		kept[0].Size != second.Size || kept[1].Size != first.Size || beaconLog.open(t, []byte(kept[0].Note)).Size != second.Size {
		t.Fatalf("the checkpoints Acme holds, for an auditor: %v", list)
	}
	if r := acme.call(domain.RoleCaseWorker, "GET", "/api/v1/partners/"+p.beaconAtAcme+"/audit-checkpoints", nil); r.status != 403 {
		t.Fatalf("a case worker reading the witnessed checkpoints: %d", r.status)
	}
	if n := acme.count(`SELECT count(*) FROM audit_log WHERE action LIKE 'partner.audit_%' AND detail::text LIKE '%' || $1 || '%'`,
		beaconWitnessKey[13:]); n != 0 {
		t.Fatal("a key's secret is in a witnessing audit entry")
	}

	// A revoked site is witnessed no more, and its audit log is not set again.
	acme.must(200, domain.RoleAdmin, "POST", "/api/v1/partners/"+p.beaconAtAcme+"/revoke", nil)
	asked := beacon.count(`SELECT count(*) FROM audit_log WHERE action = 'external.audit.checkpoint'`)
	witness()
	if n := beacon.count(`SELECT count(*) FROM audit_log WHERE action = 'external.audit.checkpoint'`); n != asked {
		t.Fatalf("a revoked site was asked for its checkpoint %d times", n-asked)
	}
	if r := acme.call(domain.RoleAdmin, "PUT", auditLog, map[string]any{"origin": beaconLog.origin, "verifierKey": beaconLog.vkey,
		"witness": true}); r.status != 409 {
		t.Fatalf("setting a revoked site's audit log: %d %s", r.status, r.body)
	}
}

func mustDate(t *testing.T, s string) domain.Date {
	t.Helper()
	d, err := domain.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
