package activities

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/signetassure/signetassure/audit/tlog"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// Witnessing partners' audit logs: for each active partner site we witness (partner_sites.audit_witness),
// fetch its newest signed tree checkpoint with the proof that it extends the newest we hold, open it
// with the site's verifier key and origin, check the proof (tlog.CheckExtends) and store it. A checkpoint
// that does not open (partner.audit_invalid), is smaller than the one we hold (partner.audit_rollback) or
// does not provably extend it (partner.audit_fork) is not stored: it is an audit entry naming the sizes
// and roots and a notification to the security controllers and administrators, once per checkpoint we
// hold (and, for one that does not open, per verifier key), however often it is seen or retried.

// maxPartnerNote bounds a partner's signed checkpoint we keep (ours are about 200 bytes; a few cosignatures
// add about 100 each).
const maxPartnerNote = 8 << 10

// witnessProblemRoles are told of a partner's log that forked, rolled back or signed badly.
var witnessProblemRoles = []domain.Role{domain.RoleSecurityController, domain.RoleAdmin}

// witnessPartnerLogs witnesses every site we witness, one after another. A partner that cannot be
// reached, or whose checkpoint we refuse, is recorded on its site (audit_problem) and does not stop the
// others; only our own failures (the database) are returned, for Temporal to retry.
func (a *Activities) witnessPartnerLogs(ctx context.Context) error {
	sites, err := a.Store.WitnessedSites(ctx)
	if err != nil {
		return err
	}
	for _, site := range sites {
		if err := a.witnessPartnerLog(ctx, site); err != nil {
			return err
		}
	}
	return nil
}

// witnessPartnerLog witnesses one site's audit log.
func (a *Activities) witnessPartnerLog(ctx context.Context, site domain.PartnerSite) error {
	var held *store.PartnerCheckpoint
	switch h, err := a.Store.NewestPartnerCheckpoint(ctx, site.ID, site.AuditOrigin); {
	case err == nil:
		held = &h
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	verifier, err := tlog.NewVerifier(site.AuditVerifierKey)
	if err != nil {
		return a.Store.SetSiteAuditCheck(ctx, site.ID, "the partner's verifier key is not valid")
	}
	client, _, err := a.Partners.Client(ctx, site.ID)
	if err != nil {
		return a.Store.SetSiteAuditCheck(ctx, site.ID, partners.Describe(err))
	}
	var from *uint64
	if held != nil {
		from = &held.Size
	}
	answer, err := client.AuditCheckpoint(ctx, from)
	if from != nil && refusedField(err, "from") {
		// Its newest checkpoint is smaller than the one we hold: fetch it without a proof, to record the
		// rollback it shows.
		a.auditOutbound(ctx, site, partners.PathAuditCheckpoint, "", err)
		answer, err = client.AuditCheckpoint(ctx, nil)
	}
	a.auditOutbound(ctx, site, partners.PathAuditCheckpoint, "", err)
	if err != nil {
		return a.Store.SetSiteAuditCheck(ctx, site.ID, partners.Describe(err))
	}
	cp, err := tlog.Open([]byte(answer.Note), site.AuditOrigin, verifier)
	if err == nil && len(answer.Note) > maxPartnerNote {
		err = fmt.Errorf("the checkpoint is %d bytes, more than the %d kept", len(answer.Note), maxPartnerNote)
	}
	if err != nil {
		return a.refusePartnerCheckpoint(ctx, site, "invalid", held, nil, "", err)
	}
	if held != nil {
		var proof [][]byte
		if c := answer.Consistency; c != nil && c.From == int64(held.Size) && c.To == int64(cp.Size) {
			proof = c.Hashes
		}
		older := tlog.Checkpoint{Origin: site.AuditOrigin, Size: held.Size, Root: held.Root}
		if err := tlog.CheckExtends(older, cp, proof); err != nil {
			kind := "fork"
			if errors.Is(err, tlog.ErrRollback) {
				kind = "rollback"
			}
			return a.refusePartnerCheckpoint(ctx, site, kind, held, &cp, answer.Note, err)
		}
	}
	got := store.PartnerCheckpoint{Origin: site.AuditOrigin}
	got.Size, got.Root, got.Note = cp.Size, cp.Root, answer.Note
	if err := a.Store.StorePartnerCheckpoint(ctx, site.ID, held, got); err != nil && !errors.Is(err, store.ErrWitnessMoved) {
		return err
	}
	return a.Store.SetSiteAuditCheck(ctx, site.ID, "")
}

// refusedField reports whether err is a partner's 422 naming field.
func refusedField(err error, field string) bool {
	pe, ok := errors.AsType[*partners.Error](err)
	if !ok || pe.Status != 422 || pe.Problem == nil {
		return false
	}
	for _, f := range pe.Problem.Errors {
		if f.Field == field {
			return true
		}
	}
	return false
}

// refusePartnerCheckpoint records a partner checkpoint we refused (kind: fork, rollback or invalid): its
// audit entry and the site's problem, then the staff notification, each once per checkpoint we hold.
// Nothing is stored of the checkpoint but, in the audit entry, the signed note itself when it opened (the
// partner's own signature on the history it contradicts).
func (a *Activities) refusePartnerCheckpoint(ctx context.Context, site domain.PartnerSite, kind string,
	held *store.PartnerCheckpoint, got *tlog.Checkpoint, note string, cause error) error {
	detail := map[string]any{"origin": site.AuditOrigin, "partnerOrg": site.OrgName, "error": cause.Error()}
	key := "partner.audit_" + kind + "/" + site.ID.String() + "/"
	heldText := "none"
	if held != nil {
		detail["heldSize"], detail["heldRoot"] = held.Size, base64.StdEncoding.EncodeToString(held.Root)
		key += fmt.Sprintf("%d/%s", held.Size, hex.EncodeToString(held.Root))
		heldText = fmt.Sprintf("size %d, root %s", held.Size, base64.StdEncoding.EncodeToString(held.Root))
	} else {
		key += "none"
	}
	if got != nil {
		detail["size"], detail["root"], detail["checkpoint"] = got.Size, base64.StdEncoding.EncodeToString(got.Root), note
	}
	var problem, message string
	notice := domain.NotifyPartnerAuditFork
	switch kind {
	case "invalid":
		notice = domain.NotifyPartnerAuditInvalid
		vk := sha256.Sum256([]byte(site.AuditVerifierKey))
		key += "/" + hex.EncodeToString(vk[:8])
		problem = "its checkpoint does not open with the configured origin and key: " + cause.Error()
		message = fmt.Sprintf("%s's audit log checkpoint does not open with the origin and key configured for it (%v); "+
			"nothing was stored. The newest we hold: %s.", site.OrgName, cause, heldText)
	case "rollback":
		notice = domain.NotifyPartnerAuditRollback
		problem = fmt.Sprintf("its audit log rolled back: size %d after size %d", got.Size, held.Size)
		message = fmt.Sprintf("%s's audit log rolled back: it now signs size %d (root %s), smaller than the %s we witnessed; "+
			"nothing was stored.", site.OrgName, got.Size, base64.StdEncoding.EncodeToString(got.Root), heldText)
	default:
		problem = fmt.Sprintf("its audit log forked: size %d does not extend size %d", got.Size, held.Size)
		message = fmt.Sprintf("%s's audit log forked: it signs size %d (root %s), which it cannot prove extends the %s "+
			"we witnessed; nothing was stored.", site.OrgName, got.Size, base64.StdEncoding.EncodeToString(got.Root), heldText)
	}
	entry := store.AuditEntry{Action: "partner.audit_" + kind, EntityType: "partner_site", EntityID: site.ID.String(),
		Detail: detail, DedupKey: key}
	if err := a.Store.RecordPartnerAuditProblem(ctx, site.ID, problem, entry); err != nil {
		return err
	}
	_, err := a.NotifyStaff(ctx, NotifyInput{Key: key, Kind: notice, Message: message, At: time.Now().UTC(),
		Roles: witnessProblemRoles})
	return err
}
