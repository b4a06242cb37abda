package workflows

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/domain"
)

// TravelWorkflowID is a trip's workflow id: "travel/" and the trip's opaque id.
func TravelWorkflowID(tripID uuid.UUID) string { return "travel/" + tripID.String() }

// TripIDFromWorkflowID is the inverse of TravelWorkflowID.
func TripIDFromWorkflowID(id string) (uuid.UUID, bool) {
	s, ok := strings.CutPrefix(id, "travel/")
	if !ok {
		return uuid.Nil, false
	}
	u, err := uuid.Parse(s)
	return u, err == nil
}

// Updates and the query of the trip workflow.
const (
	UpdateTripBriefed = "briefed"
	UpdateTripDecide  = "decide"
	UpdateTripCancel  = "cancel"
	UpdateTripChange  = "change"
	UpdateTripDebrief = "debrief"
	QueryTripState    = "state"
)

// TravelInput starts a trip's workflow: the trip (recorded already) by its id. AftercareSLA is the SLA,
// by level, of the aftercare case a debrief may open. Opaque ids only.
type TravelInput struct {
	TripID       uuid.UUID
	AftercareSLA map[domain.Level]domain.SLA `json:",omitempty"`
	Validity     domain.ValidityPolicy       `json:",omitempty"`
}

// TripState is a trip workflow's live state, as its query and updates return it.
type TripState struct {
	Trip domain.Trip
	// Policy is the travel policy version the trip was assessed under; OwnerID the vetting owner of its
	// clearance (nil: the security controllers are told).
	Policy           domain.TravelPolicy
	OwnerID          *uuid.UUID `json:",omitempty"`
	IssuingAuthority string     `json:",omitempty"`
	Loaded           bool
	// Revision counts the changes of the trip; what was asked of people is asked again after one.
	Revision int `json:",omitempty"`
	// Asked: the briefing or approval was asked for (this revision); Reminded the days before departure
	// reminded (or skipped, being past when the trip was assessed); Escalated once escalated.
	Asked     bool  `json:",omitempty"`
	Reminded  []int `json:",omitempty"`
	Escalated bool  `json:",omitempty"`
	// TooLongTold: the clearance's owner was told the trip is longer than the policy allows.
	TooLongTold bool `json:",omitempty"`
	// DebriefAsked: the traveller was asked for the debrief; DebriefOverdue: its due day passed and the
	// owner or security controllers were told.
	DebriefAsked   bool `json:",omitempty"`
	DebriefOverdue bool `json:",omitempty"`
	// AftercareDone: the aftercare a debrief called for was opened (or, without a clearance, reported).
	AftercareDone bool `json:",omitempty"`
}

// TripAction is a staff (or the traveller's) action on a trip. Actor nil: the traveller, through their
// link.
type TripAction struct {
	Actor    *uuid.UUID          `json:",omitempty"`
	Decision domain.TripDecision `json:",omitempty"`
	Reason   string              `json:",omitempty"`
	Change   *domain.TripChange  `json:",omitempty"`
	Debrief  *domain.TripDebrief `json:",omitempty"`
}

// TravelAftercareCaseRef is the reference of the aftercare case a trip's debrief opens: made from the
// trip's id, so a retried or replayed workflow never opens a second.
func TravelAftercareCaseRef(tripID uuid.UUID) string {
	sum := sha256.Sum256([]byte("travel-aftercare:" + tripID.String()))
	return domain.CaseRefOf(sum[:16])
}

// StartTrip starts a recorded trip's workflow. One running, or that ran, already is fine (nil).
func StartTrip(ctx context.Context, c client.Client, taskQueue string, in TravelInput, status domain.TripStatus) error {
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    TravelWorkflowID(in.TripID),
		TaskQueue:             taskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(TripStatusKey.ValueSet(string(status))),
	}, TravelTrip, in)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil
	}
	return err
}

// UpdateTrip sends an action (an update named by one of the UpdateTrip constants) to a trip's workflow
// and returns its state after it. Actions sent with the same non-empty updateID are applied once.
func UpdateTrip(ctx context.Context, c client.Client, tripID uuid.UUID, update, updateID string, a TripAction) (TripState, error) {
	var st TripState
	err := updateRunning(ctx, c, TravelWorkflowID(tripID), update, updateID, a, &st)
	return st, err
}
