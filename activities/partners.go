package activities

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// TypePartnerRefused is the application error type of a partner's refusal (a 4xx other than 408 and 429),
// or of a partner we hold no live credential for: retrying cannot help.
const TypePartnerRefused = "PartnerRefused"

// ReturnAnswer is our answer to a partner's /return.
type ReturnAnswer = partners.ReturnAnswer

// RecordPartnerReturnInput is the answer to a partner's /return, with the call for its audit entry.
type RecordPartnerReturnInput struct {
	SiteID        uuid.UUID
	PartnerOrg    string
	PartnerCaseID string
	KeyPrefix     string
	CallerIP      string
	Answer        ReturnAnswer
	// Request is the return as the partner posted it, kept to tell a repeat from a reuse of its
	// partnerCaseId (absent in returns recorded before it was kept).
	Request *partners.ReturnRequest `json:",omitempty"`
}

// RecordPartnerReturn stores the answer to a partner's /return and the call's audit entry, in one
// transaction, so a repeat of the call gets the same answer.
func (a *Activities) RecordPartnerReturn(ctx context.Context, in RecordPartnerReturnInput) error {
	return nonRetryable(a.Store.RecordPartnerReturn(ctx, in.SiteID, in.PartnerCaseID, in.Answer.CaseRef, in.Request, in.Answer,
		store.AuditEntry{Action: "external.return", EntityType: "partner_site", EntityID: in.SiteID.String(),
			DedupKey: "external.return/" + in.SiteID.String() + "/" + in.PartnerCaseID,
			Detail: map[string]any{"endpoint": partners.PathReturn, "partnerOrg": in.PartnerOrg, "keyPrefix": in.KeyPrefix,
				"callerIp": in.CallerIP, "status": 200, "outcome": "accepted", "subject": in.Answer.CaseRef}}))
}

// PostPartnerReturnInput is the outcome of a check we ran for a partner, to post back to it.
type PostPartnerReturnInput struct {
	SiteID       uuid.UUID
	CaseRef      string // ours: the partner's partnerCaseId
	TheirCaseRef string
	Outcome      domain.Outcome
	Level        domain.Level
	ValidFrom    domain.Date
	ValidTo      domain.Date
}

// PostPartnerReturn posts an outcome to a partner's /return with the newest credential it issued us.
// Transient failures are retried by Temporal; a refusal is not.
func (a *Activities) PostPartnerReturn(ctx context.Context, in PostPartnerReturnInput) error {
	client, site, err := a.partnerClient(ctx, in.SiteID)
	if err != nil {
		return err
	}
	req := partners.ReturnRequest{CaseRef: in.TheirCaseRef, Outcome: in.Outcome, PartnerCaseID: in.CaseRef}
	if in.Outcome.GrantsClearance() {
		req.ClearanceLevel, req.ValidFrom, req.ValidTo = in.Level, in.ValidFrom, in.ValidTo
	}
	_, err = client.Return(ctx, req)
	a.auditOutbound(ctx, site, partners.PathReturn, in.CaseRef, err)
	return partnerError(err)
}

// CheckPartnerHealth probes every active partner site with /whoami, using the credential it issued us,
// and records the result on the site (a site we hold no live credential for is unhealthy). Each probe
// is audited. Then it witnesses the audit logs of the sites we witness (witness.go). It returns how many
// sites answered the probe.
func (a *Activities) CheckPartnerHealth(ctx context.Context) (int, error) {
	sites, err := a.Store.Sites(ctx)
	if err != nil {
		return 0, err
	}
	healthy := 0
	for _, s := range sites {
		if s.Status != "active" {
			continue
		}
		client, _, err := a.partnerClient(ctx, s.ID)
		if err == nil {
			_, err = client.WhoAmI(ctx)
			a.auditOutbound(ctx, s, partners.PathWhoAmI, "", err)
		}
		problem := ""
		if err != nil {
			problem = partners.Describe(err)
		} else {
			healthy++
		}
		if err := a.Store.SetSiteHealth(ctx, s.ID, err == nil, problem); err != nil {
			return healthy, err
		}
	}
	return healthy, a.witnessPartnerLogs(ctx)
}

// partnerClient is a client of a site, with the newest credential it issued us. A site that is gone, or
// that we hold no live credential for, is a refusal no retry can mend.
func (a *Activities) partnerClient(ctx context.Context, siteID uuid.UUID) (*partners.Client, domain.PartnerSite, error) {
	client, site, err := a.Partners.Client(ctx, siteID)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, partners.ErrOpen) || errors.Is(err, partners.ErrUnknownKey) ||
		errors.Is(err, partners.ErrNoKeys) || errors.Is(err, partners.ErrBaseURL) {
		return nil, site, temporal.NewNonRetryableApplicationError("no usable credential or base URL for the partner site: "+err.Error(), TypePartnerRefused, err)
	}
	return client, site, err
}

// auditOutbound records a call we made to a partner.
func (a *Activities) auditOutbound(ctx context.Context, site domain.PartnerSite, endpoint, subject string, callErr error) {
	outcome, status := "ok", 200
	var pe *partners.Error
	switch {
	case errors.As(callErr, &pe):
		outcome, status = "refused", pe.Status
	case errors.Is(callErr, partners.ErrInvalidAnswer):
		outcome = "invalid_answer"
	case callErr != nil:
		outcome, status = "unreachable", 0
	}
	_ = a.Store.Audit(ctx, store.AuditEntry{Action: "outbound." + endpoint, EntityType: "partner_site", EntityID: site.ID.String(),
		Detail: map[string]any{"endpoint": endpoint, "partnerOrg": site.OrgName, "status": status, "outcome": outcome,
			"subject": subject, "at": time.Now().UTC()}})
}

// partnerError makes a partner's refusal non-retryable and leaves transient failures (and a
// cancellation) to Temporal.
func partnerError(err error) error {
	if err == nil || partners.IsRetryable(err) || errors.Is(err, context.Canceled) {
		return err
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), TypePartnerRefused, err)
}
