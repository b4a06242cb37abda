package activities

import (
	"context"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/store"
)

// AuditVerificationInput is an auditor's request to verify the audit log.
type AuditVerificationInput struct {
	ID          uuid.UUID
	RequestedBy uuid.UUID
}

// VerifyAuditLog verifies the whole audit log (audit.VerifyWith, with the worker's keys, cadence and
// witness file) and records the report as an audit entry, once per request.
func (a *Activities) VerifyAuditLog(ctx context.Context, in AuditVerificationInput) (audit.Report, error) {
	report, err := a.Store.VerifyAudit(ctx, a.AuditVerify)
	if err != nil {
		return report, err
	}
	actor := in.RequestedBy
	detail := map[string]any{"intact": report.OK(), "treeSize": report.TreeSize, "treeCheckpoints": report.TreeCheckpoints,
		"chainEntries": report.Entries, "witnessed": report.Witnessed, "pending": report.Pending, "verification": in.ID.String()}
	if report.Problem != nil {
		detail["problem"] = map[string]any{"kind": report.Problem.Kind, "auditId": report.Problem.AuditID, "message": report.Problem.Message}
	}
	return report, nonRetryable(a.Store.Audit(ctx, store.AuditEntry{Actor: &actor, Action: store.ActionAuditVerified,
		EntityType: store.AuditLogEntity, EntityID: store.AuditLogEntity, Detail: detail, DedupKey: "audit.verified/" + in.ID.String()}))
}
