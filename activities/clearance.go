package activities

import (
	"context"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
)

// SupersededClearances returns the ids of the clearances a clearance superseded when it was recorded (the
// person's earlier clearance at its level), so their lifecycle workflows can be told to end.
func (a *Activities) SupersededClearances(ctx context.Context, clearanceID uuid.UUID) ([]uuid.UUID, error) {
	ids, err := a.Store.SupersededBy(ctx, clearanceID)
	return ids, nonRetryable(err)
}

// ClearanceInfo is what a clearance's workflow needs to know: the clearance, who owns it (its case's
// vetting owner), and the reminder policy now.
type ClearanceInfo struct {
	Clearance domain.Clearance
	OwnerID   *uuid.UUID
	Policy    domain.ReminderPolicy
}

// LoadClearance reads a clearance, its owner and the reminder policy.
func (a *Activities) LoadClearance(ctx context.Context, id uuid.UUID) (ClearanceInfo, error) {
	var info ClearanceInfo
	c, err := a.Store.Clearance(ctx, id)
	if err != nil {
		return info, nonRetryable(err)
	}
	info.Clearance = c
	if c.SourceCaseRef != nil {
		cs, err := a.Store.Case(ctx, *c.SourceCaseRef)
		if err != nil {
			return info, nonRetryable(err)
		}
		info.OwnerID = cs.OwnerID
	}
	info.Policy, err = a.Store.ReminderPolicy(ctx)
	return info, err
}

// ExpireClearanceInput names a clearance to expire once its last day has passed, by the day it is now.
type ExpireClearanceInput struct {
	ClearanceID uuid.UUID
	Today       domain.Date
}

// ExpireClearance marks a clearance expired; it reports whether it did (a repeat, or a clearance no
// longer active, does nothing).
func (a *Activities) ExpireClearance(ctx context.Context, in ExpireClearanceInput) (bool, error) {
	return a.Store.ExpireClearance(ctx, in.ClearanceID, in.Today)
}

// ClearanceExpiringInput names a clearance that entered the renewal reminder window of Days (the policy's
// offset), DaysLeft days before its expiry.
type ClearanceExpiringInput struct {
	ClearanceID uuid.UUID
	Days        int
	DaysLeft    int
}

// RecordClearanceExpiring records that a clearance is expiring (the clearance.expiring lifecycle event);
// a repeat records nothing.
func (a *Activities) RecordClearanceExpiring(ctx context.Context, in ClearanceExpiringInput) error {
	return a.Store.ClearanceExpiring(ctx, in.ClearanceID, in.Days, in.DaysLeft)
}

// OpenCaseInput asks for a person's open case of a type at a level.
type OpenCaseInput struct {
	PersonID uuid.UUID
	Type     domain.CaseType
	Level    domain.Level
}

// OpenCaseRef returns the reference of the person's open case of that type and level, or "".
func (a *Activities) OpenCaseRef(ctx context.Context, in OpenCaseInput) (string, error) {
	ref, _, err := a.Store.OpenCase(ctx, in.PersonID, in.Type, in.Level)
	return ref, err
}

// ReminderPolicy reads the reminder policy.
func (a *Activities) ReminderPolicy(ctx context.Context) (domain.ReminderPolicy, error) {
	return a.Store.ReminderPolicy(ctx)
}
