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
	Args     []any
}

// EnsureSchedules creates SignetAssure's Temporal Schedules, or brings their interval up to date.
func EnsureSchedules(ctx context.Context, c client.Client, taskQueue string, schedules []Schedule) error {
	for _, s := range schedules {
		spec := client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: s.Every}}}
		_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
			ID:      s.ID,
			Spec:    spec,
			Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
			Action:  &client.ScheduleWorkflowAction{ID: s.ID, Workflow: s.Workflow, Args: s.Args, TaskQueue: taskQueue},
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

// Intervals are how often the recurring jobs run; zero leaves a job out.
type Intervals struct {
	PartnerHealth, AuditCheckpoint, AccessSync, MessageCosts time.Duration
}

// DefaultSchedules are the recurring jobs at their intervals: audit checkpoints only where a signing key
// is configured, the access sync only where an access control system is, message costs only where
// Twilio is.
func DefaultSchedules(every Intervals) []Schedule {
	s := []Schedule{{ID: workflows.PartnerHealthScheduleID, Every: every.PartnerHealth, Workflow: workflows.PartnerHealth}}
	if every.AuditCheckpoint > 0 {
		s = append(s, Schedule{ID: workflows.AuditCheckpointScheduleID, Every: every.AuditCheckpoint, Workflow: workflows.AuditCheckpoint})
	}
	if every.AccessSync > 0 {
		s = append(s, Schedule{ID: workflows.AccessSyncScheduleID, Every: every.AccessSync, Workflow: workflows.AccessSync,
			Args: []any{workflows.AccessSyncInput{Trigger: "schedule"}}})
	}
	if every.MessageCosts > 0 {
		s = append(s, Schedule{ID: workflows.MessageCostsScheduleID, Every: every.MessageCosts, Workflow: workflows.MessageCosts})
	}
	return s
}

// FollowAccessEvents starts the workflow that follows the ACS's event feed, unless it runs already.
func FollowAccessEvents(ctx context.Context, c client.Client, taskQueue string, every time.Duration) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.AccessEventsWorkflowID, TaskQueue: taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING},
		workflows.AccessEvents, workflows.AccessEventsInput{Every: every})
	return err
}
