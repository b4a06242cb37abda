package worker

import (
	"context"
	"errors"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/workflows"
)

// Schedule is one recurring job: a workflow run every Every.
type Schedule struct {
	ID       string
	Every    time.Duration
	Workflow any
}

// EnsureSchedules creates SignetAssure's Temporal Schedules, or brings their interval up to date.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string, schedules []Schedule) error {
	for _, s := range schedules {
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.Every}}}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:      s.ID,
			Spec:    spec,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			Action:  &client.ScheduleWorkflowAction{ID: s.ID, Workflow: s.Workflow, TaskQueue: taskQueue},
		})
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
			err = c.ScheduleClient().GetHandle(ctx, s.ID).Update(ctx, client.ScheduleUpdateOptions{
				DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
					in.Description.Schedule.Spec = &spec
					return &client.ScheduleUpdate{Schedule: &in.Description.Schedule}, nil
				},
			})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DefaultSchedules are the recurring jobs, at the given intervals. Audit checkpoints are signed only
// where a signing key is configured.
func DefaultSchedules(partnerHealth, auditCheckpoint time.Duration, signing bool) []Schedule {
	s := []Schedule{{ID: workflows.PartnerHealthScheduleID, Every: partnerHealth, Workflow: workflows.PartnerHealth}}
	if signing {
		s = append(s, Schedule{ID: workflows.AuditCheckpointScheduleID, Every: auditCheckpoint, Workflow: workflows.AuditCheckpoint})
	}
	return s
}
