// Package activities holds the side effects of SignetAssure's workflows: every write to PostgreSQL and
// (in later integrations) to outside systems. Each activity is idempotent, so Temporal may retry it freely.
// Workflows call them through a nil *Activities (activities.A).
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/store"
)

// Activities holds what the activities need.
type Activities struct {
	Store *store.Store
	// Partners gives clients of partner sites, with the credentials they issued us.
	Partners partners.Directory
	// AuditKeys sign the audit log's checkpoints; AuditSinks witness them outside the database.
	AuditKeys  audit.Keys
	AuditSinks []audit.Sink
	// AuditVerify verifies the audit log on request: the keys, cadence and witness file of `audit verify`.
	AuditVerify audit.VerifyOptions
	// Access drives the access control system.
	Access AccessSettings
	// Messaging sends SMS, WhatsApp and e-mail.
	Messaging MessagingSettings
	// Identity verifies identity documents (an identity.Provider: Signicat Assure).
	Identity IdentitySettings
	// Evidence keeps evidence packs.
	Evidence EvidenceSettings
	// Webhooks delivers lifecycle events to subscribers.
	Webhooks WebhookSettings
	// Travel is where travellers' links point.
	Travel TravelSettings
}

// SignAuditCheckpoint appends to the witness sinks the chain checkpoints they lack and the audit tree's
// newest signed checkpoint (a retry appends nothing twice), after signing the hash chain's last head if no
// checkpoint covers it yet (audit.Checkpoint). It refuses, without retrying, when the log does not verify
// since the newest checkpoint or no longer extends a sink's newest checkpoint. Its result (the chain's
// seq and hash, the tree's size) also stays in the workflow's history.
func (a *Activities) SignAuditCheckpoint(ctx context.Context) (audit.CheckpointResult, error) {
	res, err := a.Store.AuditCheckpoint(ctx, a.AuditKeys, a.AuditSinks...)
	var broken *audit.ChainError
	if errors.As(err, &broken) || errors.Is(err, audit.ErrNoSigningKey) {
		return res, temporal.NewNonRetryableApplicationError(err.Error(), TypeAuditChainBroken, err)
	}
	return res, err
}

// A is the nil receiver workflows use to name activity methods.
var A *Activities

// TypeInvalidInput is the application error type for an activity's input no retry can fix (a reference
// to a row that is not there, a template that does not render). A workflow's refusal of an action's input
// is workflows.TypeRejectedInput, another thing.
const TypeInvalidInput = "InvalidInput"

// TypeAuditChainBroken is the application error type of an audit chain that does not verify: it is not
// signed, and no retry helps.
const TypeAuditChainBroken = "AuditChainBroken"

// TypeCaseAlreadyOpen is the application error type of a new case not written because the person has
// another open case of its type at its level; its detail is that case's reference.
const TypeCaseAlreadyOpen = "CaseAlreadyOpen"

// nonRetryable turns constraint violations (a reference to a missing row) into non-retryable errors;
// anything else (the database unreachable) is retried.
func nonRetryable(err error) error {
	var ce *store.ConstraintError
	if errors.As(err, &ce) || errors.Is(err, store.ErrNotFound) {
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeInvalidInput, err)
	}
	return err
}

// CaseEventInput is a case's snapshot after one timeline event, and the event.
type CaseEventInput struct {
	Case  domain.Case
	Event domain.CaseEvent
}

// ApplyCaseEvent writes a case event and the case read model. A new case whose person has another open
// case of its type at its level is a TypeCaseAlreadyOpen error, with that case's reference as its detail.
func (a *Activities) ApplyCaseEvent(ctx context.Context, in CaseEventInput) error {
	err := a.Store.ApplyCaseEvent(ctx, in.Case, in.Event)
	var open *store.CaseOpenError
	if errors.As(err, &open) {
		return temporal.NewNonRetryableApplicationError(err.Error(), TypeCaseAlreadyOpen, nil, open.CaseRef)
	}
	return nonRetryable(err)
}

// RecordClearance puts a clearance granted by a case on the person's record.
func (a *Activities) RecordClearance(ctx context.Context, c domain.Clearance) (domain.Clearance, error) {
	stored, err := a.Store.RecordClearance(ctx, nil, c)
	return stored, nonRetryable(err)
}

// RevokeReviewedInput names the clearance a refused renewal or aftercare check reviewed.
type RevokeReviewedInput struct {
	PersonID uuid.UUID
	Level    domain.Level
	CaseRef  string
}

// RevokeReviewedClearance revokes the person's active or suspended clearance at the level a refused check
// reviewed. It returns how many it revoked; a repeat revokes none.
func (a *Activities) RevokeReviewedClearance(ctx context.Context, in RevokeReviewedInput) (int, error) {
	n, err := a.Store.RevokeClearancesAt(ctx, in.PersonID, in.Level, in.CaseRef)
	return n, nonRetryable(err)
}

// NotifyInput is a notification to staff: to the users named and to every active holder of the roles.
type NotifyInput struct {
	// Key makes the notification idempotent: one per user per key.
	Key     string
	Kind    domain.NotificationKind
	CaseRef string
	Message string
	At      time.Time
	UserIDs []uuid.UUID
	Roles   []domain.Role
}

// NotifyStaff notifies staff users. It returns how many users were notified.
func (a *Activities) NotifyStaff(ctx context.Context, in NotifyInput) (int, error) {
	users := map[uuid.UUID]bool{}
	for _, id := range in.UserIDs {
		users[id] = true
	}
	for _, r := range in.Roles {
		holders, err := a.Store.Users(ctx, r, true)
		if err != nil {
			return 0, err
		}
		for _, u := range holders {
			users[u.ID] = true
		}
	}
	var ns []domain.Notification
	for id := range users {
		n := domain.Notification{ID: fmt.Sprintf("%s/%s", in.Key, id), UserID: id, Kind: in.Kind,
			Message: in.Message, CreatedAt: in.At}
		if in.CaseRef != "" {
			n.CaseRef = &in.CaseRef
		}
		ns = append(ns, n)
	}
	return len(ns), nonRetryable(a.Store.Notify(ctx, ns))
}
