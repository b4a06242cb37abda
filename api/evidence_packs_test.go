package api_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/google/uuid"
	"go.temporal.io/sdk/testsuite"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/sim/signicatsim"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

const evidenceOrigin = "api.test/audit"

// withEvidence keeps evidence packs in a test directory, encrypted with a new age key, and signs them
// (and the audit tree's checkpoints) with a new audit key.
func withEvidence(t testing.TB) envOption {
	return func(e *env) {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		e.auditKeys = signingKeys(t)
		e.evidence = activities.EvidenceSettings{Origin: evidenceOrigin, Vault: &evidence.Vault{Dir: t.TempDir(), Identity: id,
			LinkKey: evidence.DeriveLinkKey(id), LinkLifetime: time.Hour}}
	}
}

// sequence makes every audit entry so far a leaf of the tree and signs a checkpoint of it.
func (e *env) sequence() {
	e.t.Helper()
	if _, err := e.st.SequenceAudit(context.Background(), e.auditKeys, evidenceOrigin); err != nil {
		e.t.Fatal(err)
	}
}

// waitPack polls a pack until it is ready (or failed) and returns it.
func (e *env) waitPack(id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		p := e.must(200, domain.RoleAuditor, "GET", "/api/v1/evidence/packs/"+id, nil)
		switch p["status"] {
		case "ready":
			return p
		case "failed":
			e.t.Fatalf("pack %s failed: %v", id, p["error"])
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("pack %s not ready: %v", id, p)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// get fetches a link (a path on the API, no token).
func (e *env) get(path string) resp {
	e.t.Helper()
	return e.call("", "GET", path, nil)
}

func (e *env) verifyPack(t *testing.T, zipBytes []byte) evidence.Report {
	t.Helper()
	vkey, err := tlog.VerifierKey(e.auditKeys.KeyID, e.auditKeys.Verify[e.auditKeys.KeyID])
	if err != nil {
		t.Fatal(err)
	}
	v, err := tlog.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := evidence.Verify(bytes.NewReader(zipBytes), int64(len(zipBytes)), evidenceOrigin, v)
	if err != nil || !rep.OK() {
		t.Fatalf("the pack does not verify: %v %+v", err, rep.Problems)
	}
	return rep
}

func zipFiles(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return out
}

// TestEvidencePackPersonEndToEnd: an auditor asks for a person's pack; the workflow builds it; the
// pack's link downloads it (audited) and it verifies offline with the deployment's key: the records are
// the person as an auditor sees them (no sensitive field, no identity evidence), the case with its
// timeline, and every audit entry of theirs with its proof. An altered or expired link is refused with 403
// and an audit entry; a single-use pack's second download too.
func TestEvidencePackPersonEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEvidence(t))
	person := e.createPerson("Jane", "Davies", "1985-04-12")
	ref := e.openCase(person, "new", "SC")
	e.sequence()

	r := e.callWith(domain.RoleAuditor, "POST", "/api/v1/evidence/packs", map[string]any{"kind": "person", "id": person},
		map[string]string{"Idempotency-Key": "pack-1"})
	if r.status != 202 {
		t.Fatalf("request: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	again := e.callWith(domain.RoleAuditor, "POST", "/api/v1/evidence/packs", map[string]any{"kind": "person", "id": person},
		map[string]string{"Idempotency-Key": "pack-1"})
	if again.status != 202 || again.json(t)["id"] != id {
		t.Fatalf("repeated request: %d %s, want the same pack", again.status, again.body)
	}
	p := e.waitPack(id)
	if p["percent"].(float64) != 100 || p["entries"].(float64) < 2 || p["records"].(float64) < 3 || p["sha256"] == "" {
		t.Fatalf("ready pack: %v", p)
	}
	if n := e.count(`SELECT count(*) FROM evidence_packs`); n != 1 {
		t.Fatalf("%d packs, want 1", n)
	}
	list := e.must(200, domain.RoleSecurityController, "GET", "/api/v1/evidence/packs", nil)
	if list["total"].(float64) != 1 {
		t.Fatalf("list: %v", list)
	}
	if os.Getenv("SA_RECORD_HISTORY") != "" {
		e.recordWorkflowHistory(workflows.EvidencePackWorkflowID(uuid.MustParse(id)), "person_built")
	}

	link := e.must(201, domain.RoleAuditor, "POST", "/api/v1/evidence/packs/"+id+"/link", nil)
	u := link["url"].(string)
	dl := e.get(u)
	if dl.status != 200 || dl.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("download: %d %s", dl.status, dl.body)
	}
	rep := e.verifyPack(t, dl.body)
	if rep.Entries != int64(p["entries"].(float64)) || rep.PackID != id {
		t.Fatalf("verified %d entries of pack %s, want %v of %s", rep.Entries, rep.PackID, p["entries"], id)
	}
	files := zipFiles(t, dl.body)
	var personRec map[string]any
	if err := json.Unmarshal(files["records/person.json"], &personRec); err != nil || personRec["firstName"] != "Jane" {
		t.Fatalf("records/person.json: %v %s", err, files["records/person.json"])
	}
	for name, b := range files {
		for _, secret := range []string{"1 Test Street", "AB123456C", "M. Manager"} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s discloses a sensitive field to an auditor", name)
			}
		}
		if strings.Contains(name, "identity-evidence") {
			t.Errorf("%s: identity evidence in an auditor's pack", name)
		}
	}
	if _, ok := files["records/cases/"+ref+".json"]; !ok {
		t.Errorf("no record of the case %s", ref)
	}
	if !bytes.Contains(files["records/pack.json"], []byte("withheld")) {
		t.Errorf("records/pack.json says nothing of what was withheld: %s", files["records/pack.json"])
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'evidence.downloaded' AND entity_id = $1`, id); n != 1 {
		t.Fatalf("%d download entries, want 1", n)
	}

	// An altered signature, an altered pack id, an expired link: 403 and an audit entry each.
	refused := func() int {
		return e.count(`SELECT count(*) FROM audit_log WHERE action = 'evidence.link_refused'`)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	sig := q.Get("sig")
	q.Set("sig", strings.Repeat("0", len(sig)))
	for _, bad := range []string{pu.Path + "?" + q.Encode(),
		"/evidence/download/" + uuid.NewString() + "?" + pu.RawQuery,
		"/evidence/download/" + id + "?" + e.evidence.Vault.SignLink(uuid.MustParse(id), time.Now().Add(-time.Minute)).Query()} {
		before := refused()
		r := e.get(bad)
		if r.status != 403 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s: %d %s, want 403 problem+json", bad, r.status, r.body)
		}
		if refused() != before+1 {
			t.Errorf("%s: no evidence.link_refused entry", bad)
		}
	}

	// A single-use pack of the case: downloaded once.
	r = e.call(domain.RoleAuditor, "POST", "/api/v1/evidence/packs", map[string]any{"kind": "case", "id": ref, "singleUse": true,
		"linkLifetime": "10m"})
	if r.status != 202 {
		t.Fatalf("single-use request: %d %s", r.status, r.body)
	}
	single := r.json(t)["id"].(string)
	e.waitPack(single)
	su := e.must(201, domain.RoleAuditor, "POST", "/api/v1/evidence/packs/"+single+"/link", nil)
	if exp, _ := time.Parse(time.RFC3339, su["expiresAt"].(string)); time.Until(exp) > 11*time.Minute {
		t.Errorf("link expires at %v, want within the pack's 10 minutes", exp)
	}
	first := e.get(su["url"].(string))
	if first.status != 200 {
		t.Fatalf("single-use download: %d %s", first.status, first.body)
	}
	e.verifyPack(t, first.body)
	before := refused()
	if second := e.get(su["url"].(string)); second.status != 403 || refused() != before+1 {
		t.Fatalf("second use of a single-use link: %d %s", second.status, second.body)
	}
	e.must(409, domain.RoleAuditor, "POST", "/api/v1/evidence/packs/"+single+"/link", nil)
}

// TestEvidencePackRefusals: bad input, a range too large, an unknown subject and a role without access
// get 4xx problems naming what is wrong, and nothing is made (no pack row, so no workflow: a pack's
// workflow is started only for its row).
func TestEvidencePackRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEvidence(t))
	person := e.createPerson("Ann", "Example", "1990-01-01")
	for _, c := range []struct {
		role   domain.Role
		body   map[string]any
		status int
		field  string
	}{
		{domain.RoleAuditor, map[string]any{"kind": "range", "from": "2025-01-01", "to": "2026-01-02"}, 422, "to"},
		{domain.RoleAuditor, map[string]any{"kind": "range", "from": "2026-02-01", "to": "2026-01-01"}, 422, "to"},
		{domain.RoleAuditor, map[string]any{"kind": "range", "to": "2026-01-01"}, 422, "from"},
		{domain.RoleAuditor, map[string]any{"kind": "planet", "id": person}, 422, "kind"},
		{domain.RoleAuditor, map[string]any{"kind": "person", "id": "not-a-uuid"}, 422, "id"},
		{domain.RoleAuditor, map[string]any{"kind": "person"}, 422, "id"},
		{domain.RoleAuditor, map[string]any{"kind": "case", "id": "x"}, 422, "id"},
		{domain.RoleAuditor, map[string]any{"kind": "person", "id": person, "from": "2026-01-01"}, 422, "from"},
		{domain.RoleAuditor, map[string]any{"kind": "person", "id": person, "linkLifetime": "90d"}, 422, "linkLifetime"},
		{domain.RoleAuditor, map[string]any{"kind": "person", "id": uuid.NewString()}, 404, ""},
		{domain.RoleAuditor, map[string]any{"kind": "supplier", "id": uuid.NewString()}, 404, ""},
		{domain.RoleAuditor, map[string]any{"kind": "case", "id": "v_00000000000000000000"}, 404, ""},
		{domain.RoleCaseWorker, map[string]any{"kind": "person", "id": person}, 403, ""},
		{domain.RoleVettingOfficer, map[string]any{"kind": "person", "id": person}, 403, ""},
		{domain.RoleAdmin, map[string]any{"kind": "person", "id": person}, 403, ""},
	} {
		r := e.call(c.role, "POST", "/api/v1/evidence/packs", c.body)
		if r.status != c.status {
			t.Errorf("%s %v: %d %s, want %d", c.role, c.body, r.status, r.body, c.status)
			continue
		}
		if c.field != "" {
			if f := problemField(t, r); f != c.field {
				t.Errorf("%v: names %q, want %q", c.body, f, c.field)
			}
		} else if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%v: not problem+json", c.body)
		}
	}
	if n := e.count(`SELECT count(*) FROM evidence_packs`); n != 0 {
		t.Fatalf("%d packs made by refused requests", n)
	}
	e.must(404, domain.RoleAuditor, "GET", "/api/v1/evidence/packs/"+uuid.NewString(), nil)
	e.must(403, domain.RoleCaseWorker, "GET", "/api/v1/evidence/packs", nil)
}

// TestEvidencePackBuildRetried: a build killed midway (its temporary file left behind, the row
// "building" with some progress) is retried and leaves exactly one pack file, which verifies; a retry
// after the build finished (its completion lost) builds nothing again.
func TestEvidencePackBuildRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEvidence(t))
	person := e.createPerson("Kim", "Retry", "1979-03-03")
	e.openCase(person, "new", "BPSS")
	e.sequence()
	ctx := context.Background()
	id := uuid.New()
	if _, err := e.st.CreateEvidencePack(ctx, store.EvidencePack{ID: id, Subject: store.PackSubject{Kind: "person", ID: person},
		RequestedBy: e.users[domain.RoleAuditor].ID, RequesterRole: "auditor", LinkSeconds: 3600}); err != nil {
		t.Fatal(err)
	}
	if err := e.st.EvidencePackBuilding(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := e.st.EvidencePackProgress(ctx, id, 2, 1, 5); err != nil {
		t.Fatal(err)
	}
	// The progress a build records is what the API shows.
	building := e.must(200, domain.RoleAuditor, "GET", "/api/v1/evidence/packs/"+id.String(), nil)
	if building["status"] != "building" || building["percent"].(float64) != 20 || building["records"].(float64) != 2 ||
		building["entries"].(float64) != 1 || building["total"].(float64) != 5 {
		t.Fatalf("a pack mid-build: %v", building)
	}
	dir := e.evidence.Vault.Dir
	if err := os.WriteFile(filepath.Join(dir, "."+id.String()+"-killed.tmp"), []byte("half a pack"), 0o600); err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Store: e.st, AuditKeys: e.auditKeys, Evidence: e.evidence}
	var suite testsuite.WorkflowTestSuite
	run := func() activities.EvidencePackResult {
		env := suite.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		v, err := env.ExecuteActivity(acts.BuildEvidencePack, id)
		if err != nil {
			t.Fatal(err)
		}
		var res activities.EvidencePackResult
		if err := v.Get(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := run()
	second := run()
	if first.SHA256 != second.SHA256 || first.Entries == 0 {
		t.Fatalf("retry after the build: %+v then %+v", first, second)
	}
	names, _ := os.ReadDir(dir)
	if len(names) != 1 || names[0].Name() != id.String()+".zip.age" {
		var got []string
		for _, n := range names {
			got = append(got, n.Name())
		}
		t.Fatalf("evidence directory holds %v, want the one pack", got)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'evidence.built' AND entity_id = $1`, id.String()); n != 1 {
		t.Fatalf("%d evidence.built entries", n)
	}
	p, err := e.st.EvidencePack(ctx, id)
	if err != nil || p.Status != store.PackReady || p.Entries != first.Entries {
		t.Fatalf("pack row: %+v %v", p, err)
	}
	rc, err := e.evidence.Vault.Open(id, p.SHA256Bytes)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	e.verifyPack(t, b)
}

// The stored identity evidence is in a security controller's pack (who may download it anyway), byte for
// byte with its digest, and not in an auditor's pack of the same case.
func TestEvidencePackIdentityEvidenceByRole(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim), withEvidence(t))
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "accepted", "1985-12-10")
	e.waitStatus(ref, "with_officer")
	zipWant, ok := sim.ServedZip(check["processId"].(string))
	if !ok {
		t.Fatal("Signicat served no result zip")
	}
	e.sequence()
	packOf := func(role domain.Role) map[string][]byte {
		r := e.call(role, "POST", "/api/v1/evidence/packs", map[string]any{"kind": "case", "id": ref})
		if r.status != 202 {
			t.Fatalf("%s: %d %s", role, r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		p := e.waitPack(id)
		if p["requesterRole"] != string(role) {
			t.Fatalf("pack for %v, want %s", p["requesterRole"], role)
		}
		link := e.must(201, role, "POST", "/api/v1/evidence/packs/"+id+"/link", nil)
		dl := e.get(link["url"].(string))
		if dl.status != 200 {
			t.Fatalf("%s download: %d %s", role, dl.status, dl.body)
		}
		e.verifyPack(t, dl.body)
		return zipFiles(t, dl.body)
	}
	evidenceIn := func(files map[string][]byte) []byte {
		for name, b := range files {
			if strings.HasSuffix(name, "/identity-evidence/"+ref+"-1.json") {
				var rec struct {
					Archive []byte `json:"archive"`
					SHA256  string `json:"sha256"`
				}
				if err := json.Unmarshal(b, &rec); err != nil {
					t.Fatal(err)
				}
				return rec.Archive
			}
		}
		return nil
	}
	if got := evidenceIn(packOf(domain.RoleSecurityController)); !bytes.Equal(got, zipWant) {
		t.Fatalf("the security controller's pack holds %d bytes of identity evidence, want the %d Signicat served", len(got), len(zipWant))
	}
	if got := evidenceIn(packOf(domain.RoleAuditor)); got != nil {
		t.Fatal("the auditor's pack holds identity evidence")
	}
}

// A supplier's pack holds the supplier and each of its persons' records (and no one else's), with the
// audit entries of both; a range pack holds the persons who changed in it and every audit entry in it.
// Both verify.
func TestEvidencePackSupplierAndRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withEvidence(t))
	sup := e.must(201, domain.RoleAdmin, "POST", "/api/v1/suppliers", map[string]any{"name": "Acme Pack", "tier": 1})["id"].(string)
	staff := e.must(201, domain.RoleCaseWorker, "POST", "/api/v1/persons", map[string]any{"firstName": "Sam", "lastName": "Supplied",
		"dateOfBirth": "1990-02-02", "supplierId": sup})["id"].(string)
	other := e.createPerson("Olga", "Other", "1970-07-07")
	e.sequence()
	download := func(body map[string]any) (map[string][]byte, evidence.Report) {
		r := e.call(domain.RoleSecurityController, "POST", "/api/v1/evidence/packs", body)
		if r.status != 202 {
			t.Fatalf("%v: %d %s", body, r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		e.waitPack(id)
		link := e.must(201, domain.RoleSecurityController, "POST", "/api/v1/evidence/packs/"+id+"/link", nil)
		dl := e.get(link["url"].(string))
		if dl.status != 200 {
			t.Fatalf("download: %d %s", dl.status, dl.body)
		}
		return zipFiles(t, dl.body), e.verifyPack(t, dl.body)
	}
	files, rep := download(map[string]any{"kind": "supplier", "id": sup})
	if _, ok := files["records/supplier.json"]; !ok {
		t.Error("no records/supplier.json")
	}
	if _, ok := files["records/persons/"+staff+"/person.json"]; !ok {
		t.Error("the supplier's person is not in its pack")
	}
	for name := range files {
		if strings.Contains(name, other) {
			t.Errorf("%s: another supplier's person in the pack", name)
		}
	}
	if rep.Entries < 2 {
		t.Errorf("%d audit entries, want the supplier's and its person's", rep.Entries)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	files, rep = download(map[string]any{"kind": "range", "from": today, "to": today})
	for _, p := range []string{staff, other} {
		if _, ok := files["records/persons/"+p+"/person.json"]; !ok {
			t.Errorf("person %s, created today, is not in today's range pack", p)
		}
	}
	if inTree := e.count(`SELECT count(*) FROM audit_leaves`); rep.Entries < int64(inTree)-2 {
		t.Errorf("today's range pack proves %d entries; the tree held %d at its checkpoint", rep.Entries, inTree)
	}
}
