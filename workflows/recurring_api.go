package workflows

// The Temporal Schedules of recurring jobs.
const (
	PartnerHealthScheduleID   = "partner-health"
	AuditCheckpointScheduleID = "audit-checkpoint"
)
