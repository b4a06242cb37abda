package activities

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/store"
)

// EvidenceSettings are where evidence packs are kept and the audit log they prove entries of.
type EvidenceSettings struct {
	// Vault keeps the packs encrypted (nil: evidence packs are off).
	Vault *evidence.Vault
	// Origin is the audit log's origin (AUDIT_LOG_ORIGIN), the first line of its checkpoints.
	Origin string
}

// TypeEvidenceUnavailable is the application error type of a pack that cannot be built here: no
// encryption key or no audit signing key on this worker, or the pack's row gone or failed. No retry helps.
const TypeEvidenceUnavailable = "EvidenceUnavailable"

// IdentityEvidenceRoles may have the stored identity evidence (document and face images) in a pack: those
// that may download it from the identity evidence endpoint.
var IdentityEvidenceRoles = []domain.Role{domain.RoleVettingOfficer, domain.RoleSecurityController}

// EvidencePackResult is what a built pack holds, and its stored file.
type EvidencePackResult struct {
	Records     int
	Entries     int64
	TreeSize    uint64
	Unsequenced int64
	Size        int64
	SHA256      string
}

// EvidencePackProgress is a build's heartbeat: how far it is.
type EvidencePackProgress struct {
	Phase   string
	Records int
	Entries int64
	Total   int64
}

// packBatch is how many persons, and how many audit entries, a build reads at a time.
const packBatch = 500

// BuildEvidencePack builds pack id: it streams the records of the pack's subject (as the requester's
// role may see them) and every relevant audit entry with its inclusion proof against the newest signed
// tree checkpoint into an age-encrypted temporary file under the evidence directory, heartbeating and
// recording its progress, then renames it to the pack's file and marks the pack ready. A retried build
// (a worker killed midway) starts again and replaces the file whole, so there is one pack; a pack already
// ready is not built again.
func (a *Activities) BuildEvidencePack(ctx context.Context, id uuid.UUID) (EvidencePackResult, error) {
	var res EvidencePackResult
	v := a.Evidence.Vault
	if v == nil || v.Identity == nil {
		return res, temporal.NewNonRetryableApplicationError("evidence packs are not configured on this worker (EVIDENCE_ENCRYPTION_KEY)",
			TypeEvidenceUnavailable, nil)
	}
	if a.AuditKeys.Signing == nil {
		return res, temporal.NewNonRetryableApplicationError("no audit signing key on this worker: the manifest cannot be signed",
			TypeEvidenceUnavailable, nil)
	}
	p, err := a.Store.EvidencePack(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return res, temporal.NewNonRetryableApplicationError("no evidence pack "+id.String(), TypeEvidenceUnavailable, nil)
	} else if err != nil {
		return res, err
	}
	switch p.Status {
	case store.PackReady:
		if _, err := os.Stat(v.Path(id)); err == nil {
			res := EvidencePackResult{Records: p.Records, Entries: p.Entries, Unsequenced: p.Unsequenced, SHA256: p.SHA256}
			if p.TreeSize != nil {
				res.TreeSize = uint64(*p.TreeSize)
			}
			if p.Size != nil {
				res.Size = *p.Size
			}
			return res, nil
		}
		return res, temporal.NewNonRetryableApplicationError("evidence pack "+id.String()+" is ready but its file is missing",
			TypeEvidenceUnavailable, nil)
	case store.PackFailed:
		return res, temporal.NewNonRetryableApplicationError("evidence pack "+id.String()+" failed", TypeEvidenceUnavailable, nil)
	}
	cp, err := audit.LatestTreeCheckpoint(ctx, a.Store.AuditTree())
	if errors.Is(err, pgx.ErrNoRows) {
		return res, errors.New("no signed audit tree checkpoint yet") // the sequencer signs one within seconds
	} else if err != nil {
		return res, err
	}
	signer, err := tlog.NewSigner(a.AuditKeys.KeyID, a.AuditKeys.Signing)
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError("the audit signing key does not sign: "+err.Error(), TypeEvidenceUnavailable, nil)
	}
	// What a build killed midway left behind.
	stale, _ := filepath.Glob(filepath.Join(v.Dir, "."+id.String()+"-*.tmp"))
	for _, f := range stale {
		_ = os.Remove(f)
	}
	if err := a.Store.EvidencePackBuilding(ctx, id); err != nil {
		return res, err
	}
	b := &packBuild{a: a, ctx: ctx, pack: p, started: time.Now()}
	if res, err = b.build(cp, signer); err != nil {
		return res, err
	}
	sum, _ := hex.DecodeString(res.SHA256)
	err = a.Store.EvidencePackReady(ctx, id, store.PackBuilt{Records: res.Records, Entries: res.Entries,
		TreeSize: int64(res.TreeSize), Unsequenced: res.Unsequenced, Size: res.Size, SHA256: sum})
	return res, err
}

// PackFailedInput names a pack whose build failed for good, and why (no personal data).
type PackFailedInput struct {
	PackID uuid.UUID
	Reason string
}

// EvidencePackFailed marks a pack failed.
func (a *Activities) EvidencePackFailed(ctx context.Context, in PackFailedInput) error {
	return a.Store.EvidencePackFailed(ctx, in.PackID, in.Reason)
}

type packBuild struct {
	a        *Activities
	ctx      context.Context
	pack     store.EvidencePack
	w        *evidence.Writer
	started  time.Time
	progress EvidencePackProgress
	lastSave time.Time
}

func (b *packBuild) beat(phase string, force bool) error {
	b.progress.Phase = phase
	activity.RecordHeartbeat(b.ctx, b.progress)
	if !force && time.Since(b.lastSave) < time.Second {
		return nil
	}
	b.lastSave = time.Now()
	return b.a.Store.EvidencePackProgress(b.ctx, b.pack.ID, b.progress.Records, b.progress.Entries, b.progress.Total)
}

func (b *packBuild) record(name string, v any) error {
	if err := b.w.AddRecord(name, v); err != nil {
		return err
	}
	b.progress.Records++
	return nil
}

func (b *packBuild) build(cp audit.TreeCheckpoint, signer interface {
	Name() string
	KeyHash() uint32
	Sign([]byte) ([]byte, error)
}) (EvidencePackResult, error) {
	var res EvidencePackResult
	v := b.a.Evidence.Vault
	sealed, err := v.Create(b.pack.ID)
	if err != nil {
		return res, err
	}
	committed := false
	defer func() {
		if !committed {
			sealed.Abort()
		}
	}()
	sub := b.pack.Subject
	b.w, err = evidence.NewWriter(sealed, evidence.Options{PackID: b.pack.ID.String(),
		Subject: evidence.Subject{Kind: sub.Kind, ID: sub.ID, From: sub.From, To: sub.To}, Origin: b.a.Evidence.Origin,
		GeneratedAt: b.started, TempDir: v.Dir})
	if err != nil {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), TypeEvidenceUnavailable, nil)
	}
	defer b.w.Close()

	// The records, a batch of persons at a time; the audit entities they name, for a subject that is not
	// a range.
	scope := store.PackAuditScope{From: sub.From, To: sub.To}
	switch sub.Kind {
	case "supplier":
		sp, err := b.a.Store.Supplier(b.ctx, uuid.MustParse(sub.ID))
		if err != nil {
			return res, err
		}
		if err := b.record("records/supplier.json", sp); err != nil {
			return res, err
		}
		scope.Types, scope.IDs = append(scope.Types, "supplier"), append(scope.IDs, sub.ID)
	case "case":
		scope.Types, scope.IDs = append(scope.Types, "vetting_case", "case"), append(scope.IDs, sub.ID, sub.ID)
	}
	after := uuid.Nil
	for {
		persons, err := b.a.Store.PackPersons(b.ctx, sub, after, packBatch)
		if err != nil {
			return res, err
		}
		for _, pid := range persons {
			if err := b.personRecords(pid, &scope); err != nil {
				return res, err
			}
		}
		if err := b.beat("records", false); err != nil {
			return res, err
		}
		if len(persons) < packBatch || sub.Kind == "case" || sub.Kind == "person" {
			break
		}
		after = persons[len(persons)-1]
	}

	// The audit entries, with their proofs against the one checkpoint.
	in, later, err := b.a.Store.PackAuditCounts(b.ctx, scope, cp.Size)
	if err != nil {
		return res, err
	}
	b.progress.Total = in
	if err := b.beat("audit", true); err != nil {
		return res, err
	}
	prover, err := audit.NewProver(b.ctx, b.a.Store.AuditTree(), cp.Size)
	if err != nil {
		return res, err
	}
	for afterLeaf := int64(-1); ; {
		ids, leaves, err := b.a.Store.PackAuditEntries(b.ctx, scope, cp.Size, afterLeaf, packBatch)
		if err != nil {
			return res, err
		}
		proofs, err := prover.Prove(b.ctx, ids)
		if err != nil {
			return res, err
		}
		for _, p := range proofs {
			if err := b.w.AddAuditEntry(p); err != nil {
				return res, err
			}
		}
		b.progress.Entries += int64(len(proofs))
		if err := b.beat("audit", false); err != nil {
			return res, err
		}
		if len(ids) < packBatch {
			break
		}
		afterLeaf = leaves[len(leaves)-1]
	}
	if err := b.record("records/pack.json", packRecord{PackID: b.pack.ID, Subject: sub, RequestedBy: b.pack.RequestedBy,
		RequesterRole: b.pack.RequesterRole, RequestedAt: b.pack.CreatedAt, TreeSize: cp.Size, Entries: b.progress.Entries,
		LeftForLaterPack: later, Disclosure: disclosureNote(domain.Role(b.pack.RequesterRole))}); err != nil {
		return res, err
	}
	b.w.Note("Records disclosed to the role " + b.pack.RequesterRole + ".")
	for _, n := range disclosureNote(domain.Role(b.pack.RequesterRole)) {
		b.w.Note(n)
	}
	if later > 0 {
		b.w.Note(strconv.FormatInt(later, 10) + " relevant audit entries were not yet in the signed checkpoint when the build " +
			"started: they are left for a later pack.")
	}
	if err := b.w.Finish([]byte(cp.Note), signer); err != nil {
		return res, err
	}
	size, sum, err := sealed.Commit()
	if err != nil {
		return res, err
	}
	committed = true
	_ = b.beat("done", true)
	return EvidencePackResult{Records: b.progress.Records, Entries: b.progress.Entries, TreeSize: cp.Size, Unsequenced: later,
		Size: size, SHA256: hex.EncodeToString(sum)}, nil
}

// packRecord is records/pack.json: what was asked for, by whom, what the records disclose, and the
// relevant audit entries not yet in the checkpoint (left for a later pack).
type packRecord struct {
	PackID           uuid.UUID         `json:"packId"`
	Subject          store.PackSubject `json:"subject"`
	RequestedBy      uuid.UUID         `json:"requestedBy"`
	RequesterRole    string            `json:"requesterRole"`
	RequestedAt      time.Time         `json:"requestedAt"`
	TreeSize         uint64            `json:"treeSize"`
	Entries          int64             `json:"entries"`
	LeftForLaterPack int64             `json:"leftForLaterPack"`
	Disclosure       []string          `json:"disclosure"`
}

func disclosureNote(role domain.Role) []string {
	notes := []string{"persons as the role " + string(role) + " sees them: address, NI number and line manager withheld " +
		"(they are shown only to case workers and vetting officers, on an audited reveal)"}
	if slices.Contains(IdentityEvidenceRoles, role) {
		notes = append(notes, "stored identity evidence (result archives) included, base64, with their SHA-256")
	} else {
		notes = append(notes, "stored identity evidence withheld: the role may not download it")
	}
	return notes
}

// caseRecord is a case with its timeline and its identity checks.
type caseRecord struct {
	Case           domain.Case            `json:"case"`
	Timeline       []domain.CaseEvent     `json:"timeline"`
	IdentityChecks []domain.IdentityCheck `json:"identityChecks"`
}

// identityEvidenceRecord is a stored identity evidence archive, for the roles that may have it.
type identityEvidenceRecord struct {
	CaseRef string `json:"caseRef"`
	Attempt int    `json:"attempt"`
	SHA256  string `json:"sha256"`
	Bytes   int64  `json:"bytes"`
	// Archive is the result archive (application/zip), base64.
	Archive string `json:"archive"`
}

// personRecords adds a person's records and names their audit entities in scope. For a case subject only
// that case (and the clearance it granted) is added beside the person.
func (b *packBuild) personRecords(pid uuid.UUID, scope *store.PackAuditScope) error {
	st, ctx := b.a.Store, b.ctx
	dir := "records/persons/" + pid.String() + "/"
	if b.pack.Subject.Kind == "person" {
		dir = "records/"
	}
	person, err := st.Person(ctx, pid)
	if err != nil {
		return err
	}
	if err := b.record(dir+"person.json", person); err != nil {
		return err
	}
	onlyCase := ""
	if b.pack.Subject.Kind == "case" {
		onlyCase = b.pack.Subject.ID
	} else if scope.From == nil {
		types, ids, err := st.PackEntities(ctx, pid)
		if err != nil {
			return err
		}
		scope.Types, scope.IDs = append(scope.Types, types...), append(scope.IDs, ids...)
	}
	cases, total, err := st.Cases(ctx, store.CaseFilter{PersonID: &pid, Page: store.Page{Limit: 1000}})
	if err != nil {
		return err
	}
	if total > len(cases) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf("person %s has %d cases, more than a pack takes (%d)",
			pid, total, len(cases)), TypeEvidenceUnavailable, nil)
	}
	withEvidence := slices.Contains(IdentityEvidenceRoles, domain.Role(b.pack.RequesterRole))
	for _, c := range cases {
		if onlyCase != "" && c.CaseRef != onlyCase {
			continue
		}
		events, err := st.CaseEvents(ctx, c.CaseRef)
		if err != nil {
			return err
		}
		checks, err := st.IdentityChecks(ctx, c.CaseRef)
		if err != nil {
			return err
		}
		if err := b.record(dir+"cases/"+c.CaseRef+".json", caseRecord{Case: c, Timeline: nonNil(events),
			IdentityChecks: nonNil(checks)}); err != nil {
			return err
		}
		if !withEvidence {
			continue
		}
		attempts, err := st.PackIdentityEvidence(ctx, c.CaseRef)
		if err != nil {
			return err
		}
		for _, n := range attempts {
			if err := b.identityEvidence(dir, c.CaseRef, n); err != nil {
				return err
			}
		}
	}
	clearances, err := st.PersonClearances(ctx, pid)
	if err != nil {
		return err
	}
	if onlyCase != "" {
		clearances = slices.DeleteFunc(clearances, func(c domain.Clearance) bool {
			return c.SourceCaseRef == nil || *c.SourceCaseRef != onlyCase
		})
		for _, c := range clearances {
			scope.Types, scope.IDs = append(scope.Types, "clearance"), append(scope.IDs, c.ID.String())
		}
		return b.record(dir+"clearances.json", nonNil(clearances))
	}
	if err := b.record(dir+"clearances.json", nonNil(clearances)); err != nil {
		return err
	}
	disclosures, err := st.PersonDisclosures(ctx, pid)
	if err != nil {
		return err
	}
	if err := b.record(dir+"disclosures.json", nonNil(disclosures)); err != nil {
		return err
	}
	grants, err := st.PersonGrants(ctx, pid)
	if err != nil {
		return err
	}
	if err := b.record(dir+"grants.json", nonNil(grants)); err != nil {
		return err
	}
	// Messages a page at a time (messages.json, messages-2.json, ...), so that a person with very many is
	// not held in memory at once.
	for page := 1; ; page++ {
		msgs, total, err := st.Messages(ctx, store.MessageFilter{PersonID: &pid, Page: store.Page{Limit: packMessagePage,
			Offset: (page - 1) * packMessagePage}})
		if err != nil {
			return err
		}
		name := dir + "messages.json"
		if page > 1 {
			name = dir + "messages-" + strconv.Itoa(page) + ".json"
		}
		if err := b.record(name, nonNil(msgs)); err != nil {
			return err
		}
		if page*packMessagePage >= total {
			return nil
		}
	}
}

// packMessagePage is how many of a person's messages one record file holds.
const packMessagePage = 1000

func (b *packBuild) identityEvidence(dir, caseRef string, attempt int) error {
	keys := b.a.Identity.Evidence
	ev, err := b.a.Store.IdentityEvidenceOf(b.ctx, caseRef, attempt)
	if err != nil {
		return err
	}
	if keys == nil {
		return temporal.NewNonRetryableApplicationError("identity evidence cannot be opened on this worker (EVIDENCE_KEY)",
			TypeEvidenceUnavailable, nil)
	}
	zip, err := keys.Open(ev.KeyID, ev.Sealed, store.IdentityEvidenceAAD(caseRef, attempt))
	if err != nil {
		return temporal.NewNonRetryableApplicationError("identity evidence of "+caseRef+" attempt "+strconv.Itoa(attempt)+
			" does not open with EVIDENCE_KEY", TypeEvidenceUnavailable, nil)
	}
	return b.record(fmt.Sprintf("%sidentity-evidence/%s-%d.json", dir, caseRef, attempt), identityEvidenceRecord{
		CaseRef: caseRef, Attempt: attempt, SHA256: ev.SHA256, Bytes: ev.Bytes, Archive: base64.StdEncoding.EncodeToString(zip)})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
