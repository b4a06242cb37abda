package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// clearanceRenewalRoutes are the routes of a clearance's renewal: its lifecycle workflow's live state.
func (s *Server) clearanceRenewalRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/clearances/:id/renewal", summary: "A clearance's live lifecycle state: nudges, renewal, expiry",
			roles: allStaff, req: new(idPath), resp: new(ClearanceRenewal), handle: s.clearanceRenewal},
	}
}

// ClearanceRenewal is a clearance's lifecycle workflow as it stands: the clearance as the workflow last
// read it, the reminder policy in force, the nudges done and to come, the renewal case, and how it ended.
// Every moment is the start of a day, UTC.
type ClearanceRenewal struct {
	ClearanceID   uuid.UUID              `json:"clearanceId"`
	PersonID      uuid.UUID              `json:"personId"`
	Level         domain.Level           `json:"level"`
	ValidFrom     domain.Date            `json:"validFrom"`
	ValidTo       domain.Date            `json:"validTo"`
	Status        domain.ClearanceStatus `json:"status"`
	SourceCaseRef string                 `json:"sourceCaseRef,omitempty"`
	OwnerID       *uuid.UUID             `json:"ownerId"`
	Policy        domain.ReminderPolicy  `json:"policy"`
	// Running is false once the workflow ended (Ended says why).
	Running bool `json:"running"`
	// Begun is true once the clearance came into force.
	Begun         bool          `json:"begun"`
	NudgesSent    []int         `json:"nudgesSent"`
	NudgesSkipped []int         `json:"nudgesSkipped"`
	NudgesToCome  []NudgeToCome `json:"nudgesToCome"`
	// RenewalCaseRef is the renewal case found open or opened; until then RenewalCaseAt is when it opens.
	RenewalCaseRef string     `json:"renewalCaseRef,omitempty"`
	RenewalOpened  bool       `json:"renewalOpened"`
	RenewalCaseAt  *time.Time `json:"renewalCaseAt,omitempty"`
	LapsesAt       *time.Time `json:"lapsesAt,omitempty"`
	Ended          string     `json:"ended,omitempty"`
	EndedAt        *time.Time `json:"endedAt,omitempty"`
}

// NudgeToCome is a nudge not yet sent: days before the clearance's end, and when.
type NudgeToCome struct {
	Days int       `json:"days"`
	At   time.Time `json:"at"`
}

func renewalView(st workflows.ClearanceState) ClearanceRenewal {
	v := ClearanceRenewal{ClearanceID: st.ClearanceID, PersonID: st.PersonID, Level: st.Level, ValidFrom: st.ValidFrom,
		ValidTo: st.ValidTo, Status: st.Status, SourceCaseRef: st.SourceCaseRef, OwnerID: st.OwnerID, Policy: st.Policy,
		Running: st.Ended == "", Begun: st.Begun, NudgesSent: nonNil(st.NudgesSent), NudgesSkipped: nonNil(st.NudgesSkipped),
		NudgesToCome: []NudgeToCome{}, RenewalCaseRef: st.RenewalCaseRef, RenewalOpened: st.RenewalOpened,
		Ended: st.Ended, EndedAt: st.EndedAt}
	v.Policy.NudgeDays, v.Policy.InfoReminderDays = nonNil(v.Policy.NudgeDays), nonNil(v.Policy.InfoReminderDays)
	if !st.Loaded || !v.Running {
		return v
	}
	day := func(d domain.Date) *time.Time { t := d.Time().UTC(); return &t }
	v.LapsesAt = day(st.ValidTo.AddDays(1))
	for _, d := range st.Policy.NudgeDays {
		if !slices.Contains(st.NudgesSent, d) && !slices.Contains(st.NudgesSkipped, d) {
			v.NudgesToCome = append(v.NudgesToCome, NudgeToCome{Days: d, At: *day(st.ValidTo.AddDays(-d))})
		}
	}
	if st.RenewalCaseRef == "" && st.Policy.RenewalLeadDays > 0 {
		v.RenewalCaseAt = day(st.ValidTo.AddDays(-st.Policy.RenewalLeadDays))
	}
	return v
}

func (s *Server) clearanceRenewal(c *gin.Context) error {
	id, err := pathID(c, "clearance")
	if err != nil {
		return err
	}
	if _, err := s.Store.Clearance(c, id); err != nil {
		return notFoundAs(err, "clearance")
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	v, err := s.Temporal.QueryWorkflow(ctx, workflows.ClearanceWorkflowID(id), "", workflows.QueryClearanceState)
	if err != nil {
		if workflowNotFound(err) {
			return notFound("clearance workflow")
		}
		return err
	}
	var st workflows.ClearanceState
	if err := v.Get(&st); err != nil {
		return err
	}
	c.JSON(http.StatusOK, renewalView(st))
	return nil
}

// workflowNotFound reports whether Temporal holds no such workflow.
func workflowNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
