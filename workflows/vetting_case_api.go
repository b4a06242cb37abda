package workflows

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
)

// VettingCaseWorkflowID is the workflow id of a case: "vetting-case/" and its opaque reference.
func VettingCaseWorkflowID(caseRef string) string { return "vetting-case/" + caseRef }

// CaseRefFromWorkflowID is the inverse of VettingCaseWorkflowID.
func CaseRefFromWorkflowID(id string) (string, bool) { return strings.CutPrefix(id, "vetting-case/") }

// Updates and the query of the vetting case workflow.
const (
	UpdateCaseOpened          = "opened"
	UpdateAssignOwner         = "assign-owner"
	UpdateRequestInformation  = "request-information"
	UpdateInformationReceived = "information-received"
	UpdateAddNote             = "add-note"
	UpdateRecordOutcome       = "record-outcome"
	UpdateDelegate            = "delegate"
	UpdatePartnerReturn       = "partner-return"
	// UpdateRetryIdentityCheck starts a new attempt of the case's identity check (IdentityCheck).
	UpdateRetryIdentityCheck = "retry-identity-check"
	QueryCaseState           = "state"
)

// VettingCaseInput starts a case. It holds opaque ids only: the person is named by id.
type VettingCaseInput struct {
	CaseRef          string
	PersonID         uuid.UUID
	Type             domain.CaseType
	Level            domain.Level
	IssuingAuthority string
	OpenedBy         *uuid.UUID
	SLA              domain.SLA
	// ForSiteID and ForCaseRef: the check runs for a partner site (its case ForCaseRef), and its outcome
	// is posted back to that partner.
	ForSiteID  *uuid.UUID `json:",omitempty"`
	ForCaseRef string     `json:",omitempty"`
	// Validity bounds the outcomes recorded on the case (the configured CLEARANCE_MAX_VALIDITY). A case
	// started without it (before the bounds, or by another workflow) gets domain.DefaultValidityPolicy;
	// one already running when the bounds came keeps the checks it had.
	Validity domain.ValidityPolicy `json:",omitempty"`
	// Resume carries the state over a continue-as-new.
	Resume *CaseState `json:",omitempty"`
}

// CaseState is the live state of a case, as its query returns it.
type CaseState struct {
	Case domain.Case
	// Ready is true once the case reached its first wait (with the officer).
	Ready bool
	// RemindersSent counts the SLA reminders sent, in SLA.Reminders order.
	RemindersSent int
	// InfoOverdueNotified is true once the owner was told requested information is overdue.
	InfoOverdueNotified bool
	// DelegationRemindersSent counts reminders of a partner's due outcome, in SLA.Reminders order;
	// DelegationOverdueNotified is true once its deadline passed and was reported.
	DelegationRemindersSent   int
	DelegationOverdueNotified bool
	// ReturnedToPartner is true once the outcome of a check run for a partner was posted back.
	ReturnedToPartner bool
	SLA               domain.SLA
	// InfoRequestVersion is the case version (timeline event) of the information request awaited, which
	// keys the messages to the subject about it; InfoReminders are the subject's reminders of it still to
	// come, earliest first.
	InfoRequestVersion int               `json:",omitempty"`
	InfoReminders      []SubjectReminder `json:",omitempty"`
	// IdentityPlan is how identity checks run here (read when the case opened, and again for a retry);
	// IdentityAttempt counts the attempts started; IdentityRunning is set while one runs; Identity is the
	// last one's outcome.
	IdentityPlan    activities.IdentityPlan
	IdentityAttempt int                         `json:",omitempty"`
	IdentityRunning bool                        `json:",omitempty"`
	Identity        *activities.IdentityOutcome `json:",omitempty"`
	// DuplicateOf is set when the case was never opened because the person has the same case (type and
	// level) open already: that case's reference. The workflow ends at once, having written nothing.
	DuplicateOf string `json:",omitempty"`
}

// DuplicateCaseStatus is the CaseStatus search attribute of a case workflow that ended because the same
// case was open already.
const DuplicateCaseStatus = "duplicate"

// SubjectReminder is a reminder to the subject, Days before the information requested of them is due.
type SubjectReminder struct {
	Days int
	At   time.Time
}

// Officer actions. Actor is the staff user acting.
type (
	AssignOwner struct {
		Actor   uuid.UUID
		OwnerID uuid.UUID
	}
	RequestInformation struct {
		Actor       uuid.UUID
		Description string
		DueAt       time.Time
	}
	InformationReceived struct {
		Actor uuid.UUID
		Note  string
	}
	AddNote struct {
		Actor uuid.UUID
		Text  string
	}
	RecordOutcome struct {
		Actor     uuid.UUID
		Outcome   domain.Outcome
		Level     domain.Level
		ValidFrom domain.Date
		ValidTo   domain.Date
	}
)

// RetryIdentityCheck asks for a new attempt of the case's identity check.
type RetryIdentityCheck struct {
	Actor uuid.UUID
}

// Delegation: a case worker hands an open case to a partner site, which runs the check and posts the
// outcome back through its /return call; the case waits for it with reminders and a deadline.
type (
	DelegateCase struct {
		Actor    uuid.UUID
		SiteID   uuid.UUID
		SiteName string
		DueAt    time.Time
	}
	// PartnerReturn is the outcome a partner posted back for a case delegated to it.
	PartnerReturn struct {
		SiteID        uuid.UUID
		SiteName      string
		PartnerCaseID string
		Outcome       domain.Outcome
		Level         domain.Level
		ValidFrom     domain.Date
		ValidTo       domain.Date
		// The call, for its audit entry: the key's public prefix and the caller's address.
		KeyPrefix string
		CallerIP  string
	}
)

// OpenCase starts a case's workflow and returns once the case has reached its first wait, so its read
// model is written when this returns. Opening a case reference that is open already answers with that
// case (a retried request), and one whose workflow has ended with the state it ended in (a retry of a
// request answered long ago). A case the person has open already (the same type and level, opened by
// another request meanwhile) is not opened: the state's DuplicateOf names that case.
func OpenCase(ctx context.Context, c client.Client, taskQueue string, in VettingCaseInput) (CaseState, error) {
	var st CaseState
	id := VettingCaseWorkflowID(in.CaseRef)
	err := updateWithStart(ctx, c, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             taskQueue,
		TypedSearchAttributes: caseSearchAttributes(in.CaseRef, in.Type, domain.StatusOpened, in.Level, nil),
	}, VettingCase, in, UpdateCaseOpened, &st)
	var rej *Rejection
	switch {
	case errors.As(err, &rej) && rej.Conflict:
		// The reference's workflow has ended: its result is how it ended.
		var ended CaseState
		if getErr := c.GetWorkflow(ctx, id, "").Get(ctx, &ended); getErr == nil {
			return ended, nil
		}
	}
	return st, err
}

// UpdateCase sends an officer action (an update named by one of the Update constants) to a running case
// and returns the case's state after it. Actions sent with the same non-empty updateID are applied once.
func UpdateCase(ctx context.Context, c client.Client, caseRef, update, updateID string, action any) (CaseState, error) {
	var st CaseState
	err := updateRunning(ctx, c, VettingCaseWorkflowID(caseRef), update, updateID, action, &st)
	return st, err
}

// QueryCase returns the live state of a running or finished case.
func QueryCase(ctx context.Context, c client.Client, caseRef string) (CaseState, error) {
	v, err := c.QueryWorkflow(ctx, VettingCaseWorkflowID(caseRef), "", QueryCaseState)
	if err != nil {
		return CaseState{}, err
	}
	var st CaseState
	return st, v.Get(&st)
}

func caseSearchAttributes(ref string, t domain.CaseType, s domain.CaseStatus, l domain.Level, owner *uuid.UUID) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(caseSearchAttributeUpdates(ref, t, s, l, owner)...)
}

func caseSearchAttributeUpdates(ref string, t domain.CaseType, s domain.CaseStatus, l domain.Level, owner *uuid.UUID) []temporal.SearchAttributeUpdate {
	u := []temporal.SearchAttributeUpdate{CaseRefKey.ValueSet(ref), CaseTypeKey.ValueSet(string(t)),
		CaseStatusKey.ValueSet(string(s)), ClearanceLevelKey.ValueSet(string(l))}
	if owner != nil {
		u = append(u, VettingOwnerKey.ValueSet(owner.String()))
	}
	return u
}

// ReturnToCase delivers a partner's posted-back outcome to the case delegated to it. The update id is
// made of the site and the partner's case id, so a repeat of the same return is applied once.
func ReturnToCase(ctx context.Context, c client.Client, caseRef string, r PartnerReturn) (partners.ReturnAnswer, error) {
	var answer partners.ReturnAnswer
	err := updateRunning(ctx, c, VettingCaseWorkflowID(caseRef), UpdatePartnerReturn,
		"partner-return/"+r.SiteID.String()+"/"+r.PartnerCaseID, r, &answer)
	return answer, err
}

// tooLong reports whether free text (a note, a description, a reason) is longer than the request boundary
// lets through, counted alike: in characters.
func tooLong(text string) bool { return utf8.RuneCountInString(text) > domain.MaxFree }
