package workflows_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/partners"
	"github.com/signetassure/signetassure/worker"
	"github.com/signetassure/signetassure/workflows"
)

// Every value that crosses a workflow's boundary (a workflow's input and result, an activity's input and
// result, an update's, query's or signal's argument and result) is a payload in the workflow's history,
// encoded by Temporal's default data converter: its JSON is a wire contract with every history recorded,
// and with every workflow still running. TestPayloadGoldens holds each such type to a golden file in
// testdata/payloads: a field renamed, dropped or no longer marshalled fails it.
//
// With -update-payloads it writes the goldens missing, and rewrites one whose type only gained fields;
// a golden whose fields changed or went away is rewritten only once deleted by hand, which says the change
// was meant (and made compatible: see the package doc).
var updatePayloads = flag.Bool("update-payloads", false, "write missing payload goldens, and rewrite those whose type only gained fields")

const payloadDir = "testdata/payloads"

// handlerPayloads are the arguments and results of each workflow's updates, queries and signals, by the
// name of the constant that names it in the workflows package. The handlers are installed inside the
// workflows, out of reflection's reach, so this table is kept by hand; TestPayloadGoldens fails when a
// constant named Update..., Query... or Signal... has no entry.
var handlerPayloads = map[string]struct {
	Name   string
	Args   []reflect.Type
	Result reflect.Type // nil: a signal
}{
	"UpdateCaseOpened":          {workflows.UpdateCaseOpened, nil, typ[workflows.CaseState]()},
	"UpdateAssignOwner":         {workflows.UpdateAssignOwner, types(typ[workflows.AssignOwner]()), typ[workflows.CaseState]()},
	"UpdateRequestInformation":  {workflows.UpdateRequestInformation, types(typ[workflows.RequestInformation]()), typ[workflows.CaseState]()},
	"UpdateInformationReceived": {workflows.UpdateInformationReceived, types(typ[workflows.InformationReceived]()), typ[workflows.CaseState]()},
	"UpdateAddNote":             {workflows.UpdateAddNote, types(typ[workflows.AddNote]()), typ[workflows.CaseState]()},
	"UpdateRecordOutcome":       {workflows.UpdateRecordOutcome, types(typ[workflows.RecordOutcome]()), typ[workflows.CaseState]()},
	"UpdateDelegate":            {workflows.UpdateDelegate, types(typ[workflows.DelegateCase]()), typ[workflows.CaseState]()},
	"UpdatePartnerReturn":       {workflows.UpdatePartnerReturn, types(typ[workflows.PartnerReturn]()), typ[activities.ReturnAnswer]()},
	"UpdateRetryIdentityCheck":  {workflows.UpdateRetryIdentityCheck, types(typ[workflows.RetryIdentityCheck]()), typ[workflows.CaseState]()},
	"QueryCaseState":            {workflows.QueryCaseState, nil, typ[workflows.CaseState]()},

	"UpdateGrantRequested":   {workflows.UpdateGrantRequested, nil, typ[workflows.GrantState]()},
	"UpdateRevokeGrant":      {workflows.UpdateRevokeGrant, types(typ[workflows.RevokeGrant]()), typ[workflows.GrantState]()},
	"QueryGrantState":        {workflows.QueryGrantState, nil, typ[workflows.GrantState]()},
	"SignalClearanceChanged": {workflows.SignalClearanceChanged, nil, nil},
	"SignalReviewAccess":     {workflows.SignalReviewAccess, nil, nil},

	"SignalClearanceRenewed": {workflows.SignalClearanceRenewed, nil, nil},
	"SignalReminderPolicy":   {workflows.SignalReminderPolicy, types(typ[domain.ReminderPolicy]()), nil},
	"QueryClearanceState":    {workflows.QueryClearanceState, nil, typ[workflows.ClearanceState]()},

	"SignalIdentityCallback": {workflows.SignalIdentityCallback, types(typ[workflows.IdentityCallback]()), nil},
	"UpdateAttendedImages":   {workflows.UpdateAttendedImages, types(typ[workflows.AttendedImages]()), typ[workflows.IdentityCheckState]()},
	"QueryIdentityCheck":     {workflows.QueryIdentityCheck, nil, typ[workflows.IdentityCheckState]()},

	"QueryBroadcastState":    {workflows.QueryBroadcastState, nil, typ[workflows.BroadcastState]()},
	"UpdateCloseBroadcast":   {workflows.UpdateCloseBroadcast, nil, typ[workflows.BroadcastState]()},
	"UpdateBroadcastCreated": {workflows.UpdateBroadcastCreated, nil, typ[workflows.BroadcastState]()},

	"SignalWebhookWake": {workflows.SignalWebhookWake, nil, nil},

	"UpdateTripBriefed": {workflows.UpdateTripBriefed, types(typ[workflows.TripAction]()), typ[workflows.TripState]()},
	"UpdateTripDecide":  {workflows.UpdateTripDecide, types(typ[workflows.TripAction]()), typ[workflows.TripState]()},
	"UpdateTripCancel":  {workflows.UpdateTripCancel, types(typ[workflows.TripAction]()), typ[workflows.TripState]()},
	"UpdateTripChange":  {workflows.UpdateTripChange, types(typ[workflows.TripAction]()), typ[workflows.TripState]()},
	"UpdateTripDebrief": {workflows.UpdateTripDebrief, types(typ[workflows.TripAction]()), typ[workflows.TripState]()},
	"QueryTripState":    {workflows.QueryTripState, nil, typ[workflows.TripState]()},
}

func typ[T any]() reflect.Type { return reflect.TypeFor[T]() }

func types(ts ...reflect.Type) []reflect.Type { return ts }

// notMarshalled are the fields of payload types that are not in their JSON (json:"-"), and why that
// loses nothing. A field hidden from the API's callers is not one: the API has its own type for it.
var notMarshalled = map[string]string{
	"partners.ReturnAnswer.Raw": "a partner's answer exactly as it was sent, set only by partners.Client on " +
		"answers partners send us; the answer the case workflow makes (UpdatePartnerReturn) never has it",
}

// Sample values: one of every payload type, every field set (non-zero), so a field that does not survive
// the round trip shows.
var (
	t0      = time.Date(2026, time.March, 2, 9, 30, 0, 0, time.UTC)
	t1      = t0.Add(36 * time.Hour)
	day0    = domain.NewDate(2026, time.March, 2)
	day1    = domain.NewDate(2031, time.March, 1)
	actor   = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	person  = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	site    = uuid.MustParse("33333333-3333-4333-8333-333333333333")
	item    = uuid.MustParse("44444444-4444-4444-8444-444444444444")
	group   = uuid.MustParse("55555555-5555-4555-8555-555555555555")
	caseRef = "v_abcdefghijklmnopqrstuvwxyz"
	sla     = domain.SLA{Due: 20 * 24 * time.Hour, Reminders: []time.Duration{5 * 24 * time.Hour, 24 * time.Hour}}
	plan    = activities.IdentityPlan{Provider: "signicat", LinkValidity: 7 * 24 * time.Hour,
		Reminders: []time.Duration{48 * time.Hour}, PollFirst: time.Minute, PollMax: time.Hour}
	validity = domain.ValidityPolicy{domain.LevelSC: {Years: 10, Months: 6, Days: 1}}
	policy   = domain.ReminderPolicy{NudgeDays: []int{90, 30}, RenewalLeadDays: 180, InfoReminderDays: []int{3, 1},
		UpdatedBy: ptr(actor), UpdatedAt: t0}
	outcome = activities.IdentityOutcome{Attempt: 2, Mode: "remote", Status: domain.IdentityAccepted,
		Mismatches: []string{domain.MismatchName}, DocumentType: "passport", DocumentExpiry: "2030-01-31",
		IssuingCountry: "GBR", FailReason: "unreadable", EvidenceSHA256: "9f86d081884c7d65", ProviderDataDeleted: true}
	theCase = domain.Case{CaseRef: caseRef, PersonID: person, Type: domain.CaseRenewal, RequestedLevel: domain.LevelSC,
		Status: domain.StatusWithOfficer, OwnerID: ptr(actor), IssuingAuthority: "Ministry of Defence",
		OpenedBy: ptr(actor), OpenedAt: t0, DueAt: t1, InfoRequested: "payslips", InfoDueAt: ptr(t1),
		EscalatedAt: ptr(t1), Outcome: ptr(domain.OutcomeCleared), OutcomeLevel: ptr(domain.LevelSC),
		ValidFrom: day0, ValidTo: day1, ClosedAt: ptr(t1), DelegatedSiteID: ptr(site), DelegationDueAt: ptr(t1),
		ForSiteID: ptr(site), ForCaseRef: ptr("their-case-7"), Version: 5, UpdatedAt: t1}
	caseState = workflows.CaseState{Case: theCase, Ready: true, RemindersSent: 1, InfoOverdueNotified: true,
		DelegationRemindersSent: 2, DelegationOverdueNotified: true, ReturnedToPartner: true, SLA: sla,
		InfoRequestVersion: 4, InfoReminders: []workflows.SubjectReminder{{Days: 3, At: t1}}, IdentityPlan: plan,
		IdentityAttempt: 2, IdentityRunning: true, Identity: &outcome, DuplicateOf: "v_zyxwvutsrqponmlkjihgfedcba"}
	grant = domain.AccessGrant{ID: "g_abcdefghijklmnopqrstuvwxyz", PersonID: person, LevelID: "level-7",
		StartsAt: t0, EndsAt: t1, TimeZone: "Europe/London", Status: domain.GrantActive, Reason: "project",
		EndReason: "revoked", RequestedBy: ptr(actor), CreatedAt: t0, UpdatedAt: t1}
	clearanceState = workflows.ClearanceState{ClearanceID: item, PersonID: person, Level: domain.LevelSC,
		ValidFrom: day0, ValidTo: day1, Status: domain.ClearanceActive, SourceCaseRef: caseRef, OwnerID: ptr(actor),
		Policy: policy, Loaded: true, Begun: true, PredecessorsTold: true, NudgesSent: []int{90},
		NudgesSkipped: []int{30}, RenewalCaseRef: "v_zyxwvutsrqponmlkjihgfedcba", RenewalOpened: true,
		RenewalFailed: true, Ended: workflows.ClearanceEndLapsed, EndedAt: ptr(t1)}
	identityState = workflows.IdentityCheckState{Mode: "remote", DossierID: "dossier-1", ProcessID: "process-1",
		CaptureURL: "https://capture.example/1", StartedAt: t0, Status: domain.IdentityProcessing, Deadline: t1,
		RemindersSent: 1, Polls: 3, Callbacks: 2}
	identityRef = activities.IdentityRef{CaseRef: caseRef, PersonID: person, Attempt: 2, DossierID: "dossier-1",
		ProcessID: "process-1", StartedAt: t0}
	clearance = domain.Clearance{ID: item, PersonID: person, Level: domain.LevelSC, ValidFrom: day0, ValidTo: day1,
		Status: domain.ClearanceActive, SourceCaseRef: ptr(caseRef), IssuingAuthority: "Ministry of Defence",
		WithAdvisory: true, SupersededBy: ptr(group), CreatedAt: t0, UpdatedAt: t1}
	travelPolicy = domain.TravelPolicy{Version: 3, CountriesOfConcern: []domain.CountryOfConcern{{Code: "CN",
		Source: "NPSA list", ListedOn: day0}}, Rules: []domain.TravelRule{{Level: domain.LevelSC, Concern: true,
		TripRequirements: domain.TripRequirements{Briefing: true, Approval: true, DebriefDays: 14}}}, MaxTripDays: 90,
		ReminderDays: []int{14, 3}, EscalationDays: 7, UpdatedBy: ptr(actor), UpdatedAt: t0}
	debrief = domain.TripDebrief{OfficialContact: true, Approach: true, Incident: true, DeviceLost: true, Details: "asked about work"}
	trip    = domain.Trip{ID: item, PersonID: person, Countries: []string{"CN", "HK"}, DepartsOn: day0, ReturnsOn: day1,
		Purpose: "conference", Companions: domain.TravellingWithOthers, Devices: []string{"laptop"},
		Status: domain.TripClosed, PolicyVersion: 3, Level: ptr(domain.LevelSC), ClearanceID: ptr(group),
		ConcernCountries: []string{"CN"}, Requires: domain.TripRequirements{Briefing: true, Approval: true, DebriefDays: 14},
		TooLong: true, BriefedAt: ptr(t0), Decision: ptr(domain.TripApproved), DecidedBy: ptr(actor), DecidedAt: ptr(t0),
		DecisionReason: "fine", Debrief: &debrief, DebriefedAt: ptr(t1), AftercareCaseRef: ptr(caseRef),
		CancelReason: "moved", ReportedBy: ptr(actor), CreatedAt: t0, UpdatedAt: t1}
	tripChange = domain.TripChange{Countries: []string{"JP"}, DepartsOn: day0, ReturnsOn: day1, Purpose: "visit",
		Companions: domain.TravellingAlone, Devices: []string{"phone"}}
	returnAnswer = partners.ReturnAnswer{CaseRef: caseRef, Outcome: domain.OutcomeCleared, Status: "cleared",
		PartnerCaseID: "their-case-7", ReceivedAt: t0}
)

func ptr[T any](v T) *T { return &v }

var payloadSamples = []any{
	// Workflow inputs, states and results.
	workflows.VettingCaseInput{CaseRef: caseRef, PersonID: person, Type: domain.CaseRenewal, Level: domain.LevelSC,
		IssuingAuthority: "Ministry of Defence", OpenedBy: ptr(actor), SLA: sla, ForSiteID: ptr(site),
		ForCaseRef: "their-case-7", Validity: validity, Resume: &caseState},
	caseState,
	workflows.AccessGrantInput{Grant: grant},
	workflows.GrantState{Grant: grant, Recorded: true, ClearanceUntil: t1},
	workflows.AccessSyncInput{Trigger: "manual"},
	workflows.AccessEventsInput{Every: 5 * time.Second},
	workflows.ClearanceInput{ClearanceID: item, SLA: sla, IssuingAuthority: "Ministry of Defence", Validity: validity,
		Resume: &clearanceState},
	clearanceState,
	workflows.BroadcastInput{BroadcastID: item, Text: "Reply YES", Rate: 2.5, Shards: 4, ReplyUntil: t1,
		GroupID: group, Keywords: []string{"YES", "NO"}, CreatedBy: ptr(actor), CreatedAt: t0},
	workflows.BroadcastState{Phase: "sending", Recipients: 10, Handed: 7, Suppressed: 2, Failed: 1},
	workflows.IdentityCheckInput{CaseRef: caseRef, PersonID: person, Attempt: 2, Plan: plan, Resume: &identityState},
	identityState,
	workflows.EvidencePackInput{PackID: item},
	activities.EvidencePackResult{Records: 12, Entries: 340, TreeSize: 9000, Unsequenced: 3, Size: 123456,
		SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
	activities.PackFailedInput{PackID: item, Reason: "the pack could not be built (EvidenceUnavailable)"},
	audit.CheckpointResult{Seq: 42, Hash: []byte{0xde, 0xad, 0xbe, 0xef}, KeyID: "key-1", Signed: true, Witnessed: 2, TreeSize: 1000},
	activities.AuditVerificationInput{ID: item, RequestedBy: actor},
	workflows.WebhookInput{SubscriptionID: item, Policy: workflows.WebhookPolicy{PollEvery: 5 * time.Second,
		FirstRetry: 10 * time.Second, MaxRetry: time.Hour, Jitter: 0.2, GiveUpAfter: 72 * time.Hour, AttemptTimeout: time.Minute},
		State: workflows.WebhookState{Failures: 3, FailingSince: ptr(t0)}},
	workflows.TravelInput{TripID: item, AftercareSLA: map[domain.Level]domain.SLA{domain.LevelSC: sla}, Validity: validity},
	workflows.TripState{Trip: trip, Policy: travelPolicy, OwnerID: ptr(actor), IssuingAuthority: "Ministry of Defence",
		Loaded: true, Revision: 1, Asked: true, Reminded: []int{14}, Escalated: true, TooLongTold: true, DebriefAsked: true,
		DebriefOverdue: true, AftercareDone: true},
	audit.Report{Entries: 10, Checkpoints: 2, HeadSeq: 10, LastCheckpointSeq: 10, Witnessed: 1, TreeSize: 900, TreeCheckpoints: 3,
		Pending: 4, Problem: &audit.Problem{Kind: audit.CadenceGap, Seq: 7, AuditID: 77, KeyID: "key-1", Message: "the entry was written long ago"}},

	// Updates, queries and signals.
	workflows.AssignOwner{Actor: actor, OwnerID: person},
	workflows.RequestInformation{Actor: actor, Description: "three payslips", DueAt: t1},
	workflows.InformationReceived{Actor: actor, Note: "received by post"},
	workflows.AddNote{Actor: actor, Text: "called the referee"},
	workflows.RecordOutcome{Actor: actor, Outcome: domain.OutcomeCleared, Level: domain.LevelSC, ValidFrom: day0, ValidTo: day1},
	workflows.DelegateCase{Actor: actor, SiteID: site, SiteName: "Partner Ltd", DueAt: t1},
	workflows.PartnerReturn{SiteID: site, SiteName: "Partner Ltd", PartnerCaseID: "their-case-7",
		Outcome: domain.OutcomeCleared, Level: domain.LevelSC, ValidFrom: day0, ValidTo: day1, KeyPrefix: "sk_abcd",
		CallerIP: "192.0.2.1"},
	returnAnswer,
	workflows.RetryIdentityCheck{Actor: actor},
	workflows.RevokeGrant{Actor: actor, Reason: "left the project"},
	policy,
	workflows.IdentityCallback{ProcessID: "process-1", Status: "finished"},
	workflows.AttendedImages{Actor: actor, UploadID: item},
	workflows.TripAction{Actor: ptr(actor), Decision: domain.TripApproved, Reason: "fine", Change: &tripChange, Debrief: &debrief},

	// Activity inputs and results.
	activities.CaseEventInput{Case: theCase, Event: domain.CaseEvent{CaseRef: caseRef, Seq: 5, At: t1, Kind: "outcome",
		ActorID: ptr(actor), ActorName: "A. Officer", Summary: "cleared", Detail: map[string]any{"level": "SC"}}},
	activities.GrantCheck{Eligible: true, Reason: "cleared", ValidUntil: t1},
	grant,
	clearance,
	domain.Broadcast{ID: item, GroupID: group, Body: "Reply YES", Keywords: []string{"YES"}, Rate: 2.5, Status: "sending",
		ReplyUntil: t1, CreatedBy: ptr(actor), CreatedAt: t0, SentAt: ptr(t0), ClosedAt: ptr(t1),
		Progress: &domain.BroadcastProgress{Recipients: 10, Skipped: 1, Pending: 2, Sent: 3, Delivered: 4, Failed: 5,
			Suppressed: 6, Replied: 7, Replies: map[string]int{"YES": 7}, Cost: map[string]string{"GBP": "0.40"}}},
	activities.DeleteInput{IdentityRef: identityRef, Dossier: true},
	activities.ExpireClearanceInput{ClearanceID: item, Today: day1},
	activities.ClearanceExpiringInput{ClearanceID: item, Days: 90, DaysLeft: 89},
	activities.FinishInput{IdentityRef: identityRef, Status: domain.IdentityAccepted},
	outcome,
	activities.FollowInput{Every: 5 * time.Second, For: time.Hour},
	plan,
	identityRef,
	activities.IdentityPoll{ProcessID: "process-1", Status: domain.IdentityProcessing},
	activities.TripInfo{Trip: trip, Policy: travelPolicy, OwnerID: ptr(actor), IssuingAuthority: "Ministry of Defence"},
	domain.TripStepInput{TripID: item, Step: domain.TripStepDecided, Key: "travel/x/decided/1", Actor: ptr(actor),
		Decision: domain.TripApproved, Reason: "fine", Change: &tripChange, Debrief: &debrief, CaseRef: caseRef},
	trip,
	activities.ClearanceInfo{Clearance: clearance, OwnerID: ptr(actor), Policy: policy},
	activities.NotifyInput{Key: "case/" + caseRef + "/reminder/1", Kind: "sla_reminder", CaseRef: caseRef,
		Message: "due in 5 days", At: t0, UserIDs: []uuid.UUID{actor}, Roles: []domain.Role{domain.RoleSecurityController}},
	activities.OpenCaseInput{PersonID: person, Type: domain.CaseRenewal, Level: domain.LevelSC},
	activities.PostPartnerReturnInput{SiteID: site, CaseRef: caseRef, TheirCaseRef: "their-case-7",
		Outcome: domain.OutcomeCleared, Level: domain.LevelSC, ValidFrom: day0, ValidTo: day1},
	activities.PrepareBroadcastInput{BroadcastID: item, Shards: 4},
	activities.PersonSync{Ops: map[access.OpKind]int{access.OpCreate: 1}, Findings: 2, UserID: "acs-user-9"},
	activities.RecordPartnerReturnInput{SiteID: site, PartnerOrg: "Partner Ltd", PartnerCaseID: "their-case-7",
		KeyPrefix: "sk_abcd", CallerIP: "192.0.2.1", Answer: returnAnswer,
		Request: &partners.ReturnRequest{CaseRef: caseRef, Outcome: domain.OutcomeCleared, ClearanceLevel: domain.LevelSC,
			ValidFrom: day0, ValidTo: day1, PartnerCaseID: "their-case-7"}},
	activities.RevokeReviewedInput{PersonID: person, Level: domain.LevelSC, CaseRef: caseRef},
	activities.BroadcastShardInput{BroadcastID: item, Shard: 3, Rate: 0.5, Text: "Reply YES"},
	activities.BroadcastShardResult{Handed: 7, Suppressed: 2, Failed: 1},
	activities.SendInput{Key: "message-1", PersonID: ptr(person), StaffUserID: ptr(actor), Channel: messaging.SMS,
		To: "+447700900123", Template: "renewal_nudge", Vars: map[string]string{"days": "30"}, CaseRef: caseRef,
		ClearanceID: ptr(item), BroadcastID: ptr(group),
		TripLink: &activities.TripLinkRequest{TripID: item, Purpose: domain.TripLinkBriefing, Expires: t1}},
	activities.SendResult{ID: "message-1", Channel: messaging.SMS, Status: messaging.Status("queued"), Reason: "opted out"},
	activities.SetBroadcastStatusInput{BroadcastID: item, Status: "closed", At: t1},
	activities.GrantStatusInput{GrantID: grant.ID, Status: domain.GrantEnded, Reason: "revoked", Actor: ptr(actor)},
	activities.AttendedInput{IdentityRef: identityRef, UploadID: item, Actor: actor},
	activities.IdentityStarted{DossierID: "dossier-1", ProcessID: "process-1", CaptureURL: "https://capture.example/1", StartedAt: t0},
	activities.SyncInput{SyncID: "access-sync-1", Trigger: "schedule"},
	activities.WebhookBatchInput{SubscriptionID: item, Limit: 100},
	activities.WebhookBatch{Status: "active", Cursor: 41, Events: []activities.WebhookEvent{{Position: 42, EventID: person,
		Type: "person.created"}}, Last: 43, Replays: 1},
	activities.WebhookDelivery{SubscriptionID: item, Position: 42, Cursor: 41, Replays: 1},
	activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Attempt: 2, Status: 429, RetryAfter: time.Minute},
	activities.WebhookDeliveries{SubscriptionID: item, Positions: []int64{42, 44}, Cursor: 41, Replays: 1},
	activities.WebhookDeliveriesResult{Delivered: 1, Last: activities.WebhookAttemptResult{Outcome: activities.WebhookFailed, Attempt: 2, Status: 429, RetryAfter: time.Minute}},
	activities.WebhookAdvance{SubscriptionID: item, From: 42, To: 43, Replays: 1},
	activities.WebhookDisable{SubscriptionID: item, Reason: "the receiver answered 410 Gone"},
	activities.SyncResult{Persons: 10, Changed: 3, Done: 9, Errors: 1, Ops: map[access.OpKind]int{access.OpUpdate: 3},
		Findings: 2, Passes: 1, Skipped: "another sync runs", Failed: []activities.PersonFailure{{PersonID: person, Kind: "refused"}}},

	// Plain values.
	true,
	7,
	"v_abcdefghijklmnopqrstuvwxyz",
	person,
	[]uuid.UUID{person, item},
	[]string{"g_abcdefghijklmnopqrstuvwxyz"},
}

// recordingRegistry takes what worker.Register registers.
type recordingRegistry struct {
	sdkworker.Registry
	registered []any
}

func (r *recordingRegistry) RegisterWorkflow(w any) { r.registered = append(r.registered, w) }
func (r *recordingRegistry) RegisterWorkflowWithOptions(w any, _ workflow.RegisterOptions) {
	r.registered = append(r.registered, w)
}
func (r *recordingRegistry) RegisterActivity(a any) { r.registered = append(r.registered, a) }
func (r *recordingRegistry) RegisterActivityWithOptions(a any, _ activity.RegisterOptions) {
	r.registered = append(r.registered, a)
}

// signature is what crosses one boundary: the inputs (no context) and the result (nil: none).
type signature struct {
	In  []reflect.Type
	Out reflect.Type
}

// registered is the signatures of the workflows and activities worker.Register registers, by the name
// Temporal knows them by.
func registered(t *testing.T) (wfs, acts map[string]signature) {
	t.Helper()
	reg := &recordingRegistry{}
	worker.Register(reg, &activities.Activities{})
	skip := []reflect.Type{typ[context.Context](), typ[workflow.Context](), typ[error]()}
	sig := func(fn reflect.Type, from int) signature {
		var s signature
		for i := from; i < fn.NumIn(); i++ {
			if !slices.Contains(skip, fn.In(i)) {
				s.In = append(s.In, fn.In(i))
			}
		}
		for i := range fn.NumOut() {
			if !slices.Contains(skip, fn.Out(i)) {
				s.Out = fn.Out(i)
			}
		}
		return s
	}
	wfs, acts = map[string]signature{}, map[string]signature{}
	for _, r := range reg.registered {
		v := reflect.ValueOf(r)
		if v.Kind() == reflect.Func {
			name := runtime.FuncForPC(v.Pointer()).Name()
			wfs[name[strings.LastIndex(name, ".")+1:]] = sig(v.Type(), 0)
			continue
		}
		for i := range v.NumMethod() {
			acts[v.Type().Method(i).Name] = sig(v.Type().Method(i).Type, 1) // the receiver is no payload
		}
	}
	require.GreaterOrEqual(t, len(wfs), 12, "worker.Register registers the workflows")
	require.NotEmpty(t, acts, "worker.Register registers the activities")
	return wfs, acts
}

// payloadTypes is every type that crosses a registered workflow's or activity's boundary, or a handler's,
// with where it does.
func payloadTypes(t *testing.T) map[reflect.Type][]string {
	t.Helper()
	found := map[reflect.Type][]string{}
	add := func(where string, s signature) {
		for _, in := range s.In {
			found[in] = append(found[in], where+" input")
		}
		if s.Out != nil {
			found[s.Out] = append(found[s.Out], where+" result")
		}
	}
	wfs, acts := registered(t)
	for name, s := range wfs {
		add("workflow "+name, s)
	}
	for name, s := range acts {
		add("activity "+name, s)
	}
	for name, h := range handlerPayloads {
		add(name, signature{In: h.Args, Out: h.Result})
	}
	return found
}

// handlerConstants are the constants of the workflows package named Update..., Query... or Signal...: the
// names of the workflows' updates, queries and signals.
func handlerConstants(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Update") || strings.HasPrefix(n.Name, "Query") || strings.HasPrefix(n.Name, "Signal") {
						names = append(names, n.Name)
					}
				}
			}
		}
	}
	require.NotEmpty(t, names)
	return names
}

func TestPayloadGoldens(t *testing.T) {
	samples := map[reflect.Type]any{}
	for _, s := range payloadSamples {
		_, dup := samples[reflect.TypeOf(s)]
		require.False(t, dup, "two samples of %T", s)
		samples[reflect.TypeOf(s)] = s
	}

	constants := handlerConstants(t)
	for _, name := range constants {
		_, ok := handlerPayloads[name]
		assert.True(t, ok, "workflows.%s names an update, query or signal: add its argument and result types to handlerPayloads", name)
	}
	for name := range handlerPayloads {
		assert.Contains(t, constants, name, "handlerPayloads lists %s, which is no longer a constant of the workflows package", name)
	}

	want := payloadTypes(t)
	for ty, where := range want {
		if _, ok := samples[ty]; !ok {
			t.Errorf("%s is a payload (%s) without a sample: add a fully populated one to payloadSamples", ty, strings.Join(where, ", "))
		}
	}
	goldens := map[string]bool{}
	for ty, s := range samples {
		if _, ok := want[ty]; !ok {
			t.Errorf("payloadSamples has %s, which no workflow, activity or handler takes or returns: remove it", ty)
			continue
		}
		name := goldenName(ty)
		goldens[name] = true
		t.Run(name, func(t *testing.T) { checkPayload(t, s, filepath.Join(payloadDir, name)) })
	}

	files, err := filepath.Glob(filepath.Join(payloadDir, "*.json"))
	require.NoError(t, err)
	for _, f := range files {
		assert.True(t, goldens[filepath.Base(f)], "%s is the golden of no payload type: a type went out of history; "+
			"delete it once no history can hold it", f)
	}
}

// goldenName is the file a type's golden is in.
func goldenName(ty reflect.Type) string {
	return strings.NewReplacer("[]", "sliceof.", "*", "ptr.", "[", "(", "]", ")").Replace(ty.String()) + ".json"
}

func checkPayload(t *testing.T, sample any, file string) {
	for _, p := range zeroFields(reflect.ValueOf(sample), reflect.TypeOf(sample).String()) {
		t.Errorf("the sample's %s is zero: set it, so the golden shows it", p)
	}
	for _, p := range unmarshalledFields(reflect.TypeOf(sample), map[reflect.Type]bool{}) {
		if why, ok := notMarshalled[p]; !ok || why == "" {
			t.Errorf("%s is not marshalled (json:\"-\"), so it is lost at the history boundary: marshal it, "+
				"and give the API its own type if the API must not show it", p)
		}
	}

	payload, err := converter.GetDefaultDataConverter().ToPayload(sample)
	require.NoError(t, err)
	require.Equal(t, "json/plain", string(payload.GetMetadata()[converter.MetadataEncoding]), "encoding")
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, payload.GetData(), "", "  "))
	pretty.WriteByte('\n')

	golden, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist) && *updatePayloads:
		require.NoError(t, os.MkdirAll(filepath.Dir(file), 0o755))
		require.NoError(t, os.WriteFile(file, pretty.Bytes(), 0o644))
		t.Logf("wrote %s", file)
		golden = pretty.Bytes()
	case errors.Is(err, os.ErrNotExist):
		t.Fatalf("%s is missing: run go test -run TestPayloadGoldens ./workflows/ -update-payloads", file)
	default:
		require.NoError(t, err)
	}

	// The golden decodes, every field known: a field renamed or removed since it was written (or a type
	// changed) fails here, as a payload of that shape already in history would fail to decode, or lose it.
	dec := json.NewDecoder(bytes.NewReader(golden))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(reflect.TypeOf(sample)).Interface()); err != nil {
		t.Fatalf("%s no longer decodes into %T: %v. A payload in history is a wire contract: keep the old "+
			"field, or decode the old shape too (see the package doc)", file, sample, err)
	}

	// Through Temporal's converter both ways, the sample comes back whole.
	back := reflect.New(reflect.TypeOf(sample))
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(payload, back.Interface()))
	assert.Equal(t, sample, back.Elem().Interface(), "the sample through the data converter")

	if bytes.Equal(golden, pretty.Bytes()) {
		return
	}
	if *updatePayloads && onlyAdds(t, golden, pretty.Bytes()) {
		require.NoError(t, os.WriteFile(file, pretty.Bytes(), 0o644))
		t.Logf("rewrote %s: fields were added", file)
		return
	}
	assert.Equal(t, string(golden), pretty.String(), "%s: the payload's JSON changed. Added fields: run with "+
		"-update-payloads. A field renamed, removed or changed in form breaks the histories that hold it: see the "+
		"package doc, and delete the golden only once the change is made compatible", file)
}

// onlyAdds reports whether the new JSON holds everything the old did, unchanged: fields were only added.
func onlyAdds(t *testing.T, old, next []byte) bool {
	var o, n any
	require.NoError(t, json.Unmarshal(old, &o))
	require.NoError(t, json.Unmarshal(next, &n))
	return contains(n, o)
}

func contains(n, o any) bool {
	switch o := o.(type) {
	case map[string]any:
		nm, ok := n.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range o {
			if nv, ok := nm[k]; !ok || !contains(nv, v) {
				return false
			}
		}
		return true
	default:
		return reflect.DeepEqual(n, o)
	}
}

var (
	jsonMarshaler = typ[json.Marshaler]()
	textMarshaler = reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()
)

// zeroFields lists the paths of v's zero values: fields, elements and pointees, down to the values that
// marshal themselves.
func zeroFields(v reflect.Value, path string) []string {
	if v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return []string{path}
		}
		return zeroFields(v.Elem(), path)
	}
	if v.Type().Implements(jsonMarshaler) || v.Type().Implements(textMarshaler) {
		if v.IsZero() {
			return []string{path}
		}
		return nil
	}
	var zero []string
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() && f.Tag.Get("json") != "-" {
				zero = append(zero, zeroFields(v.Field(i), path+"."+f.Name)...)
			}
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 {
			return []string{path}
		}
		if v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				zero = append(zero, zeroFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
			}
		} else {
			for it := v.MapRange(); it.Next(); {
				zero = append(zero, zeroFields(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key()))...)
			}
		}
	default:
		if v.IsZero() {
			zero = append(zero, path)
		}
	}
	return zero
}

// unmarshalledFields lists the fields of t and the types it holds that are not marshalled (json:"-"), as
// Type.Field.
func unmarshalledFields(t reflect.Type, seen map[reflect.Type]bool) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t.Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(jsonMarshaler) {
		return nil
	}
	seen[t] = true
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Tag.Get("json") == "-" {
			out = append(out, t.String()+"."+f.Name)
			continue
		}
		out = append(out, unmarshalledFields(f.Type, seen)...)
	}
	return out
}

// Every payload in the recorded histories (testdata/histories/<type>/) decodes, every field known,
// into the type that takes it today: the histories' workflows inputs and results, activities' inputs and
// results, updates' and signals' arguments and results. A field renamed or removed that a recorded history
// still holds fails here, as it would fail (or be lost) for a workflow running since.
func TestRecordedPayloadsDecode(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files, "recorded histories")
	wfs, acts := registered(t)
	handlers := map[string]signature{} // updates and signals, by name; queries are not in history
	for ident, h := range handlerPayloads {
		if !strings.HasPrefix(ident, "Query") {
			_, dup := handlers[h.Name]
			require.False(t, dup, "two updates or signals named %q", h.Name)
			handlers[h.Name] = signature{In: h.Args, Out: h.Result}
		}
	}
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "testdata/histories/"), func(t *testing.T) {
			checkRecordedHistory(t, f, wfs, acts, handlers)
		})
	}
}

func checkRecordedHistory(t *testing.T, file string, wfs, acts, handlers map[string]signature) {
	r, err := os.Open(file)
	require.NoError(t, err)
	defer r.Close()
	hist, err := client.HistoryFromJSON(r, client.HistoryJSONOptions{})
	require.NoError(t, err)

	decoded := 0
	check := func(where string, ps *commonpb.Payloads, types []reflect.Type) {
		t.Helper()
		for i, p := range ps.GetPayloads() {
			if enc := string(p.GetMetadata()[converter.MetadataEncoding]); enc != converter.MetadataEncodingJSON {
				continue // binary/null: a nil argument (an update sent without one) or result
			}
			if i >= len(types) {
				t.Errorf("%s: payload %d, but it takes %d", where, i+1, len(types))
				continue
			}
			var generic any
			require.NoError(t, json.Unmarshal(p.GetData(), &generic), where)
			retire(generic, types[i])
			data, err := json.Marshal(generic)
			require.NoError(t, err)
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			if err := dec.Decode(reflect.New(types[i]).Interface()); err != nil {
				t.Errorf("%s: the recorded payload no longer decodes into %s: %v\n%s", where, types[i], err, p.GetData())
				continue
			}
			decoded++
		}
	}
	out := func(s signature) []reflect.Type {
		if s.Out == nil {
			return nil
		}
		return []reflect.Type{s.Out}
	}
	lookup := func(m map[string]signature, kind, name string) (signature, bool) {
		s, ok := m[name]
		if !ok {
			t.Errorf("the history has %s %q, which is not registered (or not in handlerPayloads)", kind, name)
		}
		return s, ok
	}

	var workflowType string
	scheduled := map[int64]string{}   // activity scheduled event id: activity type
	children := map[int64]string{}    // child initiated event id: workflow type
	updates := map[string]signature{} // update id: its signature
	for _, e := range hist.GetEvents() {
		where := fmt.Sprintf("event %d (%s)", e.GetEventId(), e.GetEventType())
		switch a := e.GetAttributes().(type) {
		case *historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes:
			workflowType = a.WorkflowExecutionStartedEventAttributes.GetWorkflowType().GetName()
			if s, ok := lookup(wfs, "workflow", workflowType); ok {
				check(where+" "+workflowType, a.WorkflowExecutionStartedEventAttributes.GetInput(), s.In)
			}
		case *historypb.HistoryEvent_WorkflowExecutionCompletedEventAttributes:
			if s, ok := lookup(wfs, "workflow", workflowType); ok {
				check(where+" "+workflowType, a.WorkflowExecutionCompletedEventAttributes.GetResult(), out(s))
			}
		case *historypb.HistoryEvent_WorkflowExecutionContinuedAsNewEventAttributes:
			name := a.WorkflowExecutionContinuedAsNewEventAttributes.GetWorkflowType().GetName()
			if s, ok := lookup(wfs, "workflow", name); ok {
				check(where+" "+name, a.WorkflowExecutionContinuedAsNewEventAttributes.GetInput(), s.In)
			}
		case *historypb.HistoryEvent_ActivityTaskScheduledEventAttributes:
			name := a.ActivityTaskScheduledEventAttributes.GetActivityType().GetName()
			scheduled[e.GetEventId()] = name
			if s, ok := lookup(acts, "activity", name); ok {
				check(where+" "+name, a.ActivityTaskScheduledEventAttributes.GetInput(), s.In)
			}
		case *historypb.HistoryEvent_ActivityTaskCompletedEventAttributes:
			name := scheduled[a.ActivityTaskCompletedEventAttributes.GetScheduledEventId()]
			if s, ok := lookup(acts, "activity", name); ok {
				check(where+" "+name, a.ActivityTaskCompletedEventAttributes.GetResult(), out(s))
			}
		case *historypb.HistoryEvent_StartChildWorkflowExecutionInitiatedEventAttributes:
			name := a.StartChildWorkflowExecutionInitiatedEventAttributes.GetWorkflowType().GetName()
			children[e.GetEventId()] = name
			if s, ok := lookup(wfs, "workflow", name); ok {
				check(where+" "+name, a.StartChildWorkflowExecutionInitiatedEventAttributes.GetInput(), s.In)
			}
		case *historypb.HistoryEvent_ChildWorkflowExecutionCompletedEventAttributes:
			name := children[a.ChildWorkflowExecutionCompletedEventAttributes.GetInitiatedEventId()]
			if s, ok := lookup(wfs, "workflow", name); ok {
				check(where+" "+name, a.ChildWorkflowExecutionCompletedEventAttributes.GetResult(), out(s))
			}
		case *historypb.HistoryEvent_WorkflowExecutionSignaledEventAttributes:
			name := a.WorkflowExecutionSignaledEventAttributes.GetSignalName()
			if s, ok := lookup(handlers, "signal", name); ok {
				check(where+" "+name, a.WorkflowExecutionSignaledEventAttributes.GetInput(), s.In)
			}
		case *historypb.HistoryEvent_SignalExternalWorkflowExecutionInitiatedEventAttributes:
			name := a.SignalExternalWorkflowExecutionInitiatedEventAttributes.GetSignalName()
			if s, ok := lookup(handlers, "signal", name); ok {
				check(where+" "+name, a.SignalExternalWorkflowExecutionInitiatedEventAttributes.GetInput(), s.In)
			}
		case *historypb.HistoryEvent_WorkflowExecutionUpdateAcceptedEventAttributes:
			req := a.WorkflowExecutionUpdateAcceptedEventAttributes.GetAcceptedRequest()
			name := req.GetInput().GetName()
			if s, ok := lookup(handlers, "update", name); ok {
				updates[req.GetMeta().GetUpdateId()] = s
				check(where+" "+name, req.GetInput().GetArgs(), s.In)
			}
		case *historypb.HistoryEvent_WorkflowExecutionUpdateCompletedEventAttributes:
			if s, ok := updates[a.WorkflowExecutionUpdateCompletedEventAttributes.GetMeta().GetUpdateId()]; ok {
				check(where, a.WorkflowExecutionUpdateCompletedEventAttributes.GetOutcome().GetSuccess(), out(s))
			}
		}
	}
	assert.Positive(t, decoded, "payloads decoded")
}

// retiredFields are fields that payload types had, and recorded histories hold, which the types no longer
// have (as Type.jsonName), with why dropping them on decode loses nothing. A field goes here only with a
// reason a reviewer can check; TestPayloadGoldens stops new removals.
var retiredFields = map[string]string{
	"workflows.VettingCaseInput.IdentityProvider": "replaced by the IdentityPlan activity, read behind " +
		"GetVersion(\"identity-check\"); a case started before it runs without an identity check, as it did",
	"workflows.RecordOutcome.Source": "a partner's outcome has its own update (UpdatePartnerReturn) since " +
		"delegation came; the REST API never set Source, so every recorded staff decision has it empty",
}

// retire removes, from v (a decoded JSON payload of type t), the retired fields of t and of the types t
// holds.
func retire(v any, t reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k := range m {
			if _, ok := retiredFields[t.String()+"."+k]; ok {
				delete(m, k)
			}
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if sub, ok := m[name]; ok && f.IsExported() {
				retire(sub, f.Type)
			}
		}
	case reflect.Slice, reflect.Array:
		if s, ok := v.([]any); ok {
			for _, e := range s {
				retire(e, t.Elem())
			}
		}
	case reflect.Map:
		if m, ok := v.(map[string]any); ok {
			for _, e := range m {
				retire(e, t.Elem())
			}
		}
	}
}
