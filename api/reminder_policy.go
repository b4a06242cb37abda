package api

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// reminderPolicyRoutes are the routes of the reminder policy: when clearance holders are nudged, renewal
// cases opened, subjects reminded.
func (s *Server) reminderPolicyRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/reminder-policy", summary: "When people are nudged and reminded",
			roles: allStaff, resp: new(ReminderPolicyView), handle: s.getReminderPolicy},
		{method: http.MethodPut, path: "/api/v1/reminder-policy", summary: "Change when people are nudged and reminded; running clearances follow",
			roles: messagingAdmins, req: new(ReminderPolicyInput), resp: new(ReminderPolicyView), handle: s.setReminderPolicy},
	}
}

// ReminderPolicyInput sets when people are nudged and reminded.
type ReminderPolicyInput struct {
	NudgeDays        []int `json:"nudgeDays" required:"true" minItems:"1" maxItems:"10" description:"days before a clearance's end that its holder is nudged (1..3650, distinct)"`
	RenewalLeadDays  *int  `json:"renewalLeadDays" required:"true" minimum:"1" maximum:"3650" description:"days before a clearance's end that its renewal case opens"`
	InfoReminderDays []int `json:"infoReminderDays" required:"true" maxItems:"10" description:"days before requested information is due that the subject is reminded (1..365, distinct)"`
}

// ReminderPolicyView is the reminder policy, and after a change how many running clearance workflows
// were told of it.
type ReminderPolicyView struct {
	domain.ReminderPolicy
	WorkflowsTold *int `json:"workflowsTold,omitempty"`
}

func (s *Server) getReminderPolicy(c *gin.Context) error {
	p, err := s.Store.ReminderPolicy(c)
	p.NudgeDays, p.InfoReminderDays = nonNil(p.NudgeDays), nonNil(p.InfoReminderDays)
	return respond(c, ReminderPolicyView{ReminderPolicy: p}, err)
}

// dayList checks a list of distinct day counts from lo to hi, at most max of them, and sorts it from the
// most days to the fewest.
func dayList(errs *fields, name string, days []int, minItems, maxItems, lo, hi int) []int {
	if len(days) < minItems || len(days) > maxItems {
		errs.add(name, "must hold %d to %d values", minItems, maxItems)
		return nil
	}
	seen := map[int]bool{}
	for i, d := range days {
		switch {
		case d < lo || d > hi:
			errs.add(fmt.Sprintf("%s[%d]", name, i), "must be from %d to %d", lo, hi)
		case seen[d]:
			errs.add(fmt.Sprintf("%s[%d]", name, i), "repeats %d", d)
		}
		seen[d] = true
	}
	out := slices.Clone(days)
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return nonNil(out)
}

func (s *Server) setReminderPolicy(c *gin.Context) error {
	var in ReminderPolicyInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var p domain.ReminderPolicy
	if in.NudgeDays == nil {
		errs.add("nudgeDays", "is required")
	} else {
		p.NudgeDays = dayList(&errs, "nudgeDays", in.NudgeDays, 1, 10, 1, 3650)
	}
	if in.RenewalLeadDays == nil {
		errs.add("renewalLeadDays", "is required")
	} else if p.RenewalLeadDays = *in.RenewalLeadDays; p.RenewalLeadDays < 1 || p.RenewalLeadDays > 3650 {
		errs.add("renewalLeadDays", "must be from 1 to 3650")
	}
	if in.InfoReminderDays == nil {
		errs.add("infoReminderDays", "is required (an empty list for none)")
	} else {
		p.InfoReminderDays = dayList(&errs, "infoReminderDays", in.InfoReminderDays, 0, 10, 1, 365)
	}
	if err := errs.err(); err != nil {
		return err
	}
	out, err := s.Store.SetReminderPolicy(c, actor(c), p)
	if err != nil {
		return err
	}
	ctx, cancel := s.temporalCtx(c)
	defer cancel()
	n, err := workflows.SignalReminderPolicyAll(ctx, s.Temporal, out)
	if err != nil {
		s.Log.Warn("messaging: reminder policy saved, not every running clearance told", "told", n, "error", err)
		return problem(http.StatusServiceUnavailable, "unavailable", fmt.Sprintf(
			"the policy is saved, but only %d running clearances were told of it before the workflow engine failed; "+
				"send it again to tell the rest", n))
	}
	return respond(c, ReminderPolicyView{ReminderPolicy: out, WorkflowsTold: &n}, nil)
}
