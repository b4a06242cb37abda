package activities_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// witnessedPartner is a partner's audit log served as /api/external/audit/checkpoint: a tree of leaves
// signed under origin with key, answering as told (proofs left out or wrong, a failure status).
type witnessedPartner struct {
	t      *testing.T
	srv    *httptest.Server
	origin string
	key    ed25519.PrivateKey

	mu     sync.Mutex
	leaves [][]byte
	// noProof leaves the consistency proof out; wrongFrom proves from another size than asked.
	noProof, wrongFrom bool
	status             int
	froms              []string
}

func newWitnessedPartner(t *testing.T, origin string, leaves int) *witnessedPartner {
	t.Helper()
	_, key, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	p := &witnessedPartner{t: t, origin: origin, key: key}
	p.grow(leaves)
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *witnessedPartner) grow(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.leaves = append(p.leaves, tlog.LeafHash([]byte(fmt.Sprintf("%s entry %d", p.origin, len(p.leaves)))))
	}
}

func (p *witnessedPartner) vkey() string {
	vkey, err := tlog.VerifierKey("partner-key", p.key.Public().(ed25519.PublicKey))
	require.NoError(p.t, err)
	return vkey
}

// tree builds the tree of the first size leaves, with its stored nodes.
func (p *witnessedPartner) tree(size int) (*tlog.Tree, tlog.NodeFunc) {
	nodes := map[[2]uint64][]byte{}
	tree := tlog.NewTree(func(level uint, index uint64, hash []byte) { nodes[[2]uint64{uint64(level), index}] = hash })
	require.NoError(p.t, tree.Append(p.leaves[:size]...))
	return tree, func(level uint, index uint64) ([]byte, error) { return nodes[[2]uint64{uint64(level), index}], nil }
}

func (p *witnessedPartner) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.URL.Path != partners.PathAuditCheckpoint {
		http.NotFound(w, r)
		return
	}
	p.froms = append(p.froms, r.URL.Query().Get("from"))
	if p.status != 0 {
		w.WriteHeader(p.status)
		return
	}
	tree, node := p.tree(len(p.leaves))
	signed, err := tlog.Sign(tlog.Checkpoint{Origin: p.origin, Size: tree.Size(), Root: tree.Root()}, "partner-key", p.key)
	require.NoError(p.t, err)
	answer := partners.AuditCheckpoint{TreeCheckpoint: audit.TreeCheckpoint{Size: tree.Size(), Root: tree.Root(), Note: string(signed)}}
	if v := r.URL.Query().Get("from"); v != "" && !p.noProof {
		from, _ := strconv.ParseUint(v, 10, 64)
		if p.wrongFrom {
			from--
		}
		hashes, err := tlog.ConsistencyProof(from, tree.Size(), node)
		require.NoError(p.t, err)
		answer.Consistency = &audit.Consistency{From: int64(from), To: int64(tree.Size()), Hashes: hashes}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}

func (p *witnessedPartner) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.froms...)
}

// witnessedSite adds the partner as a site we witness, with the origin and key given.
func witnessedSite(t *testing.T, st *store.Store, org string, p *witnessedPartner, origin, vkey string) domain.PartnerSite {
	t.Helper()
	s := site(t, st, org, p.srv.URL, newSecret())
	s, err := st.SetSiteAuditLog(context.Background(), nil, s.ID, store.SiteAuditLog{Origin: origin, VerifierKey: vkey, Witness: true})
	require.NoError(t, err)
	return s
}

// held is the sizes of the checkpoints we hold of a site's log, oldest first.
func held(t *testing.T, st *store.Store, s domain.PartnerSite) []uint64 {
	t.Helper()
	rows, err := st.AuditTree().Query(context.Background(), `SELECT size FROM partner_audit_checkpoints WHERE site_id = $1
		ORDER BY size`, s.ID)
	require.NoError(t, err)
	var sizes []uint64
	for rows.Next() {
		var size int64
		require.NoError(t, rows.Scan(&size))
		sizes = append(sizes, uint64(size))
	}
	require.NoError(t, rows.Err())
	return sizes
}

func auditActions(t *testing.T, st *store.Store, s domain.PartnerSite, action string) []store.AuditRecord {
	t.Helper()
	trail, err := st.AuditTrail(context.Background(), "partner_site", s.ID.String())
	require.NoError(t, err)
	var out []store.AuditRecord
	for _, a := range trail {
		if a.Action == action {
			out = append(out, a)
		}
	}
	return out
}

// The witnessing's refusals that a real SignetAssure does not make: a partner that leaves the proof out,
// or proves from another size, cannot show its log extends what we hold, so it forked; a checkpoint of
// another origin does not open; a partner that fails does not stop the others, and nothing of it is
// stored. A retry stores nothing twice, and a store racing another witnessing stores nothing.
func TestWitnessPartnerLogs(t *testing.T) {
	env, st := partnerSetup(t)
	ctx := context.Background()
	run := func() {
		t.Helper()
		_, err := env.ExecuteActivity(activities.A.CheckPartnerHealth)
		require.NoError(t, err)
	}

	noProof := newWitnessedPartner(t, "noproof.test/audit", 5)
	noProofSite := witnessedSite(t, st, "No Proof Ltd", noProof, noProof.origin, noProof.vkey())
	wrongFrom := newWitnessedPartner(t, "wrongfrom.test/audit", 5)
	wrongFromSite := witnessedSite(t, st, "Wrong From Ltd", wrongFrom, wrongFrom.origin, wrongFrom.vkey())
	otherOrigin := newWitnessedPartner(t, "elsewhere.test/audit", 3)
	otherOriginSite := witnessedSite(t, st, "Other Origin Ltd", otherOrigin, "expected.test/audit", otherOrigin.vkey())
	failing := newWitnessedPartner(t, "failing.test/audit", 3)
	failing.status = http.StatusServiceUnavailable
	failingSite := witnessedSite(t, st, "Failing Ltd", failing, failing.origin, failing.vkey())
	bigOrigin := strings.Repeat("big", 3000) + ".test/audit"
	big := newWitnessedPartner(t, bigOrigin, 2)
	bigSite := witnessedSite(t, st, "Big Note Ltd", big, bigOrigin, big.vkey())
	notWitnessed := newWitnessedPartner(t, "off.test/audit", 3)
	off := site(t, st, "Not Witnessed Ltd", notWitnessed.srv.URL, newSecret())
	_, err := st.SetSiteAuditLog(ctx, nil, off.ID, store.SiteAuditLog{Origin: notWitnessed.origin, VerifierKey: notWitnessed.vkey()})
	require.NoError(t, err)

	run()
	assert.Equal(t, []uint64{5}, held(t, st, noProofSite), "the first checkpoint is taken as it is")
	assert.Equal(t, []uint64{5}, held(t, st, wrongFromSite))
	assert.Nil(t, held(t, st, otherOriginSite), "a checkpoint of another origin is not stored")
	assert.Len(t, auditActions(t, st, otherOriginSite, "partner.audit_invalid"), 1)
	assert.Nil(t, held(t, st, bigSite), "a note larger than 8 KB is not kept")
	require.Len(t, auditActions(t, st, bigSite, "partner.audit_invalid"), 1)
	assert.Contains(t, auditActions(t, st, bigSite, "partner.audit_invalid")[0].Detail["error"], "more than the 8192 kept")
	assert.Nil(t, held(t, st, failingSite), "nothing of a failing partner is stored")
	assert.Empty(t, auditActions(t, st, failingSite, "partner.audit_fork"))
	got, err := st.Site(ctx, failingSite.ID)
	require.NoError(t, err)
	assert.Contains(t, got.AuditProblem, "503")
	assert.Empty(t, notWitnessed.asked(), "a partner not witnessed is not asked")

	// Both logs grow; neither proves it.
	noProof.grow(3)
	noProof.mu.Lock()
	noProof.noProof = true
	noProof.mu.Unlock()
	wrongFrom.grow(3)
	wrongFrom.mu.Lock()
	wrongFrom.wrongFrom = true
	wrongFrom.mu.Unlock()
	run()
	run()
	for _, s := range []domain.PartnerSite{noProofSite, wrongFromSite} {
		assert.Equal(t, []uint64{5}, held(t, st, s), "%s: nothing stored", s.OrgName)
		forks := auditActions(t, st, s, "partner.audit_fork")
		require.Len(t, forks, 1, "%s: one fork entry however often it is seen", s.OrgName)
		assert.EqualValues(t, 5, forks[0].Detail["heldSize"])
		assert.EqualValues(t, 8, forks[0].Detail["size"])
	}
	assert.Equal(t, []string{"", "5", "5"}, noProof.asked(), "asked from the size held")

	// The partner proves it after all: stored; stored again by a retry, nothing more.
	noProof.mu.Lock()
	noProof.noProof = false
	noProof.mu.Unlock()
	run()
	run()
	assert.Equal(t, []uint64{5, 8}, held(t, st, noProofSite))

	// A witnessing that read an older newest than the one now held stores nothing.
	stale := store.PartnerCheckpoint{Origin: noProof.origin}
	stale.Size = 5
	next := store.PartnerCheckpoint{Origin: noProof.origin}
	next.Size, next.Root, next.Note = 9, make([]byte, 32), "n"
	assert.ErrorIs(t, st.StorePartnerCheckpoint(ctx, noProofSite.ID, &stale, next), store.ErrWitnessMoved)
	assert.ErrorIs(t, st.StorePartnerCheckpoint(ctx, noProofSite.ID, nil, next), store.ErrWitnessMoved)
}
