package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/workflows"
)

// AuditVerificationView is a verification of the whole audit log: running, or its report.
type AuditVerificationView struct {
	ID        uuid.UUID     `json:"id"`
	Status    string        `json:"status" enum:"running,intact,not_intact,failed" description:"failed: it could not be carried out (not a finding about the log)"`
	StartedAt time.Time     `json:"startedAt"`
	EndedAt   *time.Time    `json:"endedAt,omitempty"`
	Report    *audit.Report `json:"report,omitempty" description:"what verified, and the first problem when not intact"`
}

type verificationPath struct {
	ID string `path:"id" format:"uuid"`
}

func (s *Server) auditVerificationRoutes() []op {
	return []op{
		{method: http.MethodPost, path: "/api/v1/audit/verifications",
			summary: "Verify the whole audit log now, as `signetassure audit verify` does, on a worker (its outcome is an audit entry too)",
			roles:   auditReaders, resp: new(AuditVerificationView), status: http.StatusAccepted, handle: s.startAuditVerification},
		{method: http.MethodGet, path: "/api/v1/audit/verifications/:id", summary: "A verification of the audit log: running, or its report",
			roles: auditReaders, req: new(verificationPath), resp: new(AuditVerificationView), handle: s.auditVerification},
	}
}

// startAuditVerification starts a verification; the same Idempotency-Key from the same user is the same
// verification.
func (s *Server) startAuditVerification(c *gin.Context) error {
	var errs fields
	key := idempotencyKey(c, &errs)
	if err := errs.err(); err != nil {
		return err
	}
	u, _ := principal(c)
	id := uuid.New()
	if key != "" {
		id = uuid.NewSHA1(uuid.NameSpaceURL, []byte("signetassure:audit-verification:"+keyedID(u.ID, "audit-verification", key)))
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	if err := workflows.StartAuditVerification(ctx, s.Temporal, s.TaskQueue,
		activities.AuditVerificationInput{ID: id, RequestedBy: u.ID}); err != nil && !isAlreadyStarted(err) {
		return err
	}
	c.Header("Location", "/api/v1/audit/verifications/"+id.String())
	return s.writeVerification(c, id, http.StatusAccepted)
}

func (s *Server) auditVerification(c *gin.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return notFound("verification")
	}
	return s.writeVerification(c, id, http.StatusOK)
}

// writeVerification answers with the verification's state as Temporal holds it.
func (s *Server) writeVerification(c *gin.Context, id uuid.UUID, status int) error {
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	wid := workflows.AuditVerificationWorkflowID(id)
	d, err := s.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	if workflowNotFound(err) {
		return notFound("verification")
	} else if err != nil {
		return err
	}
	info := d.GetWorkflowExecutionInfo()
	v := AuditVerificationView{ID: id, Status: "running", StartedAt: info.GetStartTime().AsTime().UTC()}
	if info.GetCloseTime() != nil {
		ended := info.GetCloseTime().AsTime().UTC()
		v.EndedAt = &ended
	}
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		var report audit.Report
		if err := s.Temporal.GetWorkflow(ctx, wid, "").Get(ctx, &report); err != nil {
			return errors.Join(errors.New("read the verification's report"), err)
		}
		v.Report, v.Status = &report, "intact"
		if !report.OK() {
			v.Status = "not_intact"
		}
	default:
		v.Status = "failed"
	}
	c.JSON(status, v)
	return nil
}
