package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/evidence"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// packRequesters may request evidence packs, follow their builds and issue their links: auditors (the
// evidence is for them) and security controllers (who answer for the deployment's security, and alone of
// the two may have the stored identity evidence in a pack). Case workers, vetting officers and
// administrators may not: their work is in the records themselves.
var packRequesters = []domain.Role{domain.RoleAuditor, domain.RoleSecurityController}

// Limits of what a pack may be asked for.
const (
	// MaxPackRange is the longest date range a pack may cover.
	MaxPackRange = 366 * 24 * time.Hour
	// MaxPackLinkLifetime is the longest a pack's links may last.
	MaxPackLinkLifetime = 30 * 24 * time.Hour
)

// EvidencePackInput asks for an evidence pack.
type EvidencePackInput struct {
	idempotent
	Kind *string `json:"kind" required:"true" enum:"case,person,supplier,range" description:"what the pack is of"`
	ID   *string `json:"id,omitempty" maxLength:"100" description:"the case reference, person id or supplier id (not for a range)"`
	From *string `json:"from,omitempty" format:"date" description:"a range's first day (UTC); a range is at most 366 days"`
	To   *string `json:"to,omitempty" format:"date" description:"a range's last day (UTC), included"`
	// LinkLifetime is how long each link to the pack lasts.
	LinkLifetime *string `json:"linkLifetime,omitempty" maxLength:"20" description:"how long each download link lasts, e.g. 24h or 7d (default EVIDENCE_LINK_LIFETIME; at most 30d)"`
	SingleUse    *bool   `json:"singleUse,omitempty" description:"the pack may be downloaded once, through any of its links"`
}

// PackLink is a signed, expiring link to download a pack: the link is the credential.
type PackLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
	SingleUse bool      `json:"singleUse"`
}

type packPath struct {
	ID string `path:"id" format:"uuid"`
}

type packDownload struct {
	ID      string `path:"id" format:"uuid"`
	Expires string `query:"expires" description:"the link's expiry (Unix seconds)"`
	Nonce   string `query:"nonce"`
	Sig     string `query:"sig" description:"HMAC-SHA256 of the pack id, expiry and nonce"`
}

func (s *Server) evidencePackRoutes() []op {
	return []op{
		{method: http.MethodPost, path: "/api/v1/evidence/packs", summary: "Request an evidence pack of a case, person, supplier or date range (built by a workflow)",
			roles: packRequesters, req: new(EvidencePackInput), resp: new(store.EvidencePack), status: http.StatusAccepted,
			handle: s.requestEvidencePack},
		{method: http.MethodGet, path: "/api/v1/evidence/packs", summary: "Evidence packs, newest first, with their progress",
			roles: packRequesters, req: new(pageQuery), resp: new(List[store.EvidencePack]), handle: s.listEvidencePacks},
		{method: http.MethodGet, path: "/api/v1/evidence/packs/:id", summary: "An evidence pack: status, progress (percent and counts), size and digest",
			roles: packRequesters, req: new(packPath), resp: new(store.EvidencePack), handle: s.getEvidencePack},
		{method: http.MethodPost, path: "/api/v1/evidence/packs/:id/link", summary: "Issue a signed, expiring link to download a ready evidence pack",
			roles: packRequesters, req: new(packPath), resp: new(PackLink), status: http.StatusCreated, handle: s.evidencePackLink,
			secret: true}, // the link is a credential: never kept for a keyed retry
		{method: http.MethodGet, path: "/evidence/download/:id", summary: "Download an evidence pack through its signed link (no token: the link is the credential; every download audited)",
			public: true, req: new(packDownload), resp: new([]byte), contentType: "application/zip", handle: s.downloadEvidencePack},
	}
}

var caseRefPattern = regexp.MustCompile(`^v_[0-9a-z]{20,}$`)

// unprocessable is a 422 naming the fields at fault.
func unprocessable(errs fields) error {
	if len(errs) == 0 {
		return nil
	}
	p := invalid(errs...)
	p.Status, p.Title = http.StatusUnprocessableEntity, http.StatusText(http.StatusUnprocessableEntity)
	return p
}

// requesterRole is the role a pack's records are disclosed to: security controller if the requester is
// one (they may have the identity evidence), else auditor.
func requesterRole(u domain.StaffUser) domain.Role {
	if u.Has(domain.RoleSecurityController) {
		return domain.RoleSecurityController
	}
	return domain.RoleAuditor
}

func (s *Server) requestEvidencePack(c *gin.Context) error {
	var in EvidencePackInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	key := idempotencyKey(c, &errs)
	var sub store.PackSubject
	switch {
	case in.Kind == nil || *in.Kind == "":
		errs.add("kind", "is required: one of case, person, supplier, range")
	case !slices.Contains([]string{"case", "person", "supplier", "range"}, *in.Kind):
		errs.add("kind", "must be one of case, person, supplier, range")
	default:
		sub.Kind = *in.Kind
	}
	if sub.Kind == "range" {
		if in.ID != nil {
			errs.add("id", "a range has no id")
		}
		from, to := fieldDate(&errs, "from", in.From), fieldDate(&errs, "to", in.To)
		switch {
		case in.From == nil:
			errs.add("from", "is required for a range")
		case in.To == nil:
			errs.add("to", "is required for a range")
		case !from.IsZero() && !to.IsZero():
			f, t := from.Time().UTC(), to.Time().UTC().AddDate(0, 0, 1)
			switch {
			case !from.InRange():
				errs.add("from", "is out of range")
			case !to.InRange():
				errs.add("to", "is out of range")
			case !t.After(f):
				errs.add("to", "must not be before from")
			case t.Sub(f) > MaxPackRange:
				errs.add("to", "a range is at most 366 days")
			default:
				sub.From, sub.To = &f, &t
			}
		}
	} else if sub.Kind != "" {
		for name, v := range map[string]*string{"from": in.From, "to": in.To} {
			if v != nil {
				errs.add(name, "only a range has %s", name)
			}
		}
		switch {
		case in.ID == nil || *in.ID == "":
			errs.add("id", "is required for a %s", sub.Kind)
		case sub.Kind == "case" && !caseRefPattern.MatchString(*in.ID):
			errs.add("id", "must be a case reference (v_...)")
		case sub.Kind != "case" && uuid.Validate(*in.ID) != nil:
			errs.add("id", "must be a %s id (a UUID)", sub.Kind)
		default:
			sub.ID = *in.ID
			if sub.Kind != "case" {
				sub.ID = uuid.MustParse(*in.ID).String()
			}
		}
	}
	lifetime := evidence.DefaultLinkLifetime
	if s.Evidence != nil {
		lifetime = s.Evidence.LinkLifetime
	}
	if in.LinkLifetime != nil {
		d, err := domain.ParseDays(*in.LinkLifetime)
		switch {
		case err != nil:
			errs.add("linkLifetime", "must be a duration such as 24h, 90m or 7d")
		case d < time.Minute || d > MaxPackLinkLifetime:
			errs.add("linkLifetime", "must be from 1m to 30d")
		default:
			lifetime = d
		}
	}
	if err := unprocessable(errs); err != nil {
		return err
	}
	if s.Evidence == nil {
		return problem(http.StatusServiceUnavailable, "evidence-off", "evidence packs are not configured (EVIDENCE_ENCRYPTION_KEY)")
	}
	if ok, err := s.Store.PackSubjectExists(c, sub); err != nil {
		return err
	} else if !ok {
		return notFound(sub.Kind)
	}
	u, _ := principal(c)
	p := store.EvidencePack{ID: uuid.New(), Subject: sub, RequestedBy: u.ID, RequesterRole: string(requesterRole(u)),
		LinkSeconds: int64(lifetime / time.Second), SingleUse: in.SingleUse != nil && *in.SingleUse}
	if key != "" {
		p.ID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("signetassure:evidence-pack:"+keyedID(u.ID, "evidence-pack", key)))
	}
	created, err := s.Store.CreateEvidencePack(c, p)
	if err != nil {
		return err
	}
	stored, err := s.Store.EvidencePack(c, p.ID)
	if err != nil {
		return err
	}
	sameTime := func(a, b *time.Time) bool { return (a == nil) == (b == nil) && (a == nil || a.Equal(*b)) }
	if !created && (stored.Subject.Kind != sub.Kind || stored.Subject.ID != sub.ID || !sameTime(stored.Subject.From, sub.From) ||
		!sameTime(stored.Subject.To, sub.To)) {
		return conflict("this Idempotency-Key was used for another request")
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if err := workflows.StartEvidencePack(ctx, s.Temporal, s.TaskQueue, p.ID); err != nil && !isAlreadyStarted(err) {
		if created {
			_ = s.Store.EvidencePackFailed(c, p.ID, "the build could not be started")
		}
		return err
	}
	c.Header("Location", "/api/v1/evidence/packs/"+p.ID.String())
	c.JSON(http.StatusAccepted, stored)
	return nil
}

func (s *Server) listEvidencePacks(c *gin.Context) error {
	q := query{c: c}
	pg := q.page()
	if err := q.errs.err(); err != nil {
		return err
	}
	items, total, err := s.Store.EvidencePacks(c, pg)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, List[store.EvidencePack]{Items: nonNil(items), Total: total, Limit: pg.Limit, Offset: pg.Offset})
	return nil
}

func (s *Server) packParam(c *gin.Context) (store.EvidencePack, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return store.EvidencePack{}, notFound("evidence pack")
	}
	p, err := s.Store.EvidencePack(c, id)
	return p, notFoundAs(err, "evidence pack")
}

func (s *Server) getEvidencePack(c *gin.Context) error {
	p, err := s.packParam(c)
	return respond(c, p, err)
}

func (s *Server) evidencePackLink(c *gin.Context) error {
	p, err := s.packParam(c)
	if err != nil {
		return err
	}
	if s.Evidence == nil {
		return problem(http.StatusServiceUnavailable, "evidence-off", "evidence packs are not configured (EVIDENCE_ENCRYPTION_KEY)")
	}
	switch {
	case p.Status != store.PackReady:
		return conflict("the pack is " + p.Status + ": links are issued for ready packs")
	case p.SingleUse && p.UsedAt != nil:
		return conflict("the pack was single-use and has been downloaded")
	}
	l := s.Evidence.SignLink(p.ID, time.Now().Add(time.Duration(p.LinkSeconds)*time.Second))
	if err := s.Store.Audit(c, store.AuditEntry{Actor: actor(c), Action: "evidence.link_issued", EntityType: "evidence_pack",
		EntityID: p.ID.String(), Detail: map[string]any{"linkNonce": l.Nonce, "expiresAt": l.Expires, "singleUse": p.SingleUse}}); err != nil {
		return err
	}
	c.JSON(http.StatusCreated, PackLink{URL: strings.TrimSuffix(s.Messaging.PublicURL, "/") + "/evidence/download/" +
		p.ID.String() + "?" + l.Query(), ExpiresAt: l.Expires, SingleUse: p.SingleUse})
	return nil
}

// downloadEvidencePack streams a pack through a signed link. A link whose signature does not verify,
// that has expired, or whose single-use pack was downloaded already is refused with 403 and an audit
// entry (evidence.link_refused); refusals count against the address like bad credentials, so a flood of
// them is stopped (429) after a few entries.
func (s *Server) downloadEvidencePack(c *gin.Context) error {
	ip := c.ClientIP()
	now := time.Now()
	if wait, blocked := s.authFailures.blocked(callerKey(ip), now); blocked {
		retryAfter(c, wait)
		return problem(http.StatusTooManyRequests, "rate-limited", "too many refused links from this address")
	}
	refuse := func(entity, reason string) error {
		s.authFailures.take(callerKey(ip), now)
		if err := s.Store.Audit(c, store.AuditEntry{Action: "evidence.link_refused", EntityType: "evidence_pack",
			EntityID: entity, Detail: map[string]any{"reason": reason, "address": ip}}); err != nil {
			return err
		}
		return problem(http.StatusForbidden, "link-refused", "this link is not valid: "+reason)
	}
	if s.Evidence == nil {
		return problem(http.StatusServiceUnavailable, "evidence-off", "evidence packs are not configured (EVIDENCE_ENCRYPTION_KEY)")
	}
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return refuse("invalid", "signature")
	}
	l, err := s.Evidence.CheckLink(id, c.Query("expires"), c.Query("nonce"), c.Query("sig"), now)
	switch {
	case errors.Is(err, evidence.ErrLinkSignature):
		return refuse(id.String(), "signature")
	case errors.Is(err, evidence.ErrLinkExpired):
		return refuse(id.String(), "expired")
	case err != nil:
		return err
	}
	p, err := s.Store.EvidencePack(c, id)
	if err != nil {
		return notFoundAs(err, "evidence pack")
	}
	if p.Status != store.PackReady {
		return refuse(id.String(), "not_ready")
	}
	r, err := s.Evidence.Open(id, p.SHA256Bytes)
	if err != nil {
		s.Log.Error("evidence: the stored pack does not open", "packId", id, "error", err)
		return problem(http.StatusInternalServerError, "evidence-unreadable", "the stored pack cannot be read or was altered")
	}
	defer r.Close()
	// Recorded (and a single-use pack spent) before a byte is sent.
	if err := s.Store.EvidencePackDownloaded(c, id, l.Nonce, l.Expires); errors.Is(err, store.ErrPackUsed) {
		return refuse(id.String(), "used")
	} else if err != nil {
		return err
	}
	c.Header("Cache-Control", "no-store")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Content-Type", "application/zip")
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="evidence-%s.zip"`, id))
	c.Status(http.StatusOK)
	if _, err := io.Copy(c.Writer, r); err != nil {
		s.Log.Warn("evidence: download cut short", "packId", id, "error", err)
	}
	return nil
}

// isAlreadyStarted: the pack's workflow runs or ran already.
func isAlreadyStarted(err error) bool {
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	return errors.As(err, &started)
}
