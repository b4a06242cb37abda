package workflows

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/partners"
)

const partnerOrg = "Northgate Defence Ltd"

func delegateTo(site uuid.UUID, due time.Time) DelegateCase {
	return DelegateCase{Actor: uuid.New(), SiteID: site, SiteName: partnerOrg, DueAt: due}
}

func clearedReturn(site uuid.UUID, partnerCaseID string, level domain.Level, from domain.Date) PartnerReturn {
	return PartnerReturn{SiteID: site, SiteName: partnerOrg, PartnerCaseID: partnerCaseID, Outcome: domain.OutcomeCleared,
		Level: level, ValidFrom: from, ValidTo: from.AddYears(5), KeyPrefix: "abcd2345", CallerIP: "203.0.113.7"}
}

// mustRejectNotDelegated asserts a partner's return was refused as not delegated to it: the API answers 404.
func mustRejectNotDelegated(t *testing.T, s *sentUpdate, what string) {
	t.Helper()
	require.True(t, s.Rejected, "%s: should have been rejected", what)
	require.False(t, s.Completed, "%s: a rejected update must not run", what)
	var appErr *temporal.ApplicationError
	require.True(t, errors.As(s.Err, &appErr), "%s: want an ApplicationError, got %v", what, s.Err)
	assert.Equal(t, TypeNotDelegated, appErr.Type(), "%s: %v", what, s.Err)
	var rej *Rejection
	require.True(t, errors.As(rejection(s.Err), &rej), what)
	assert.True(t, rej.NotFound, "%s: the API answers 404", what)
	assert.False(t, rej.Conflict, what)
}

func TestVettingCaseDelegate(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner, site := uuid.New(), uuid.New()
	due := testStart.Add(20 * oneDay)

	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*time.Hour, UpdateRequestInformation, RequestInformation{Actor: owner, Description: "P60", DueAt: testStart.Add(5 * oneDay)})
	awaiting := h.sendAt(3*time.Hour, UpdateDelegate, delegateTo(site, due))
	h.sendAt(4*time.Hour, UpdateInformationReceived, InformationReceived{Actor: owner})
	past := h.sendAt(5*time.Hour, UpdateDelegate, delegateTo(site, testStart.Add(time.Hour)))
	noSite := h.sendAt(5*time.Hour+time.Minute, UpdateDelegate, delegateTo(uuid.Nil, due))
	d := delegateTo(site, due)
	delegated := h.sendAt(6*time.Hour, UpdateDelegate, d)
	again := h.sendAt(7*time.Hour, UpdateDelegate, delegateTo(uuid.New(), due))
	var atDay2 CaseState
	h.at(2*oneDay, func() { atDay2 = h.query() })
	h.sendAt(3*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
	final := h.run()

	mustReject(t, awaiting, TypeInvalidTransition, "delegating a case awaiting information")
	mustReject(t, past, TypeRejectedInput, "a deadline in the past")
	mustReject(t, noSite, TypeRejectedInput, "no site")
	mustComplete(t, delegated, "delegate")
	mustReject(t, again, TypeInvalidTransition, "delegating a case already with a partner")

	st := delegated.State.Case
	assert.Equal(t, domain.StatusWithPartner, st.Status)
	require.NotNil(t, st.DelegatedSiteID)
	assert.Equal(t, site, *st.DelegatedSiteID)
	require.NotNil(t, st.DelegationDueAt)
	assert.Equal(t, due, *st.DelegationDueAt)
	assert.Equal(t, delegated.State, atDay2, "the query shows the delegation")
	assert.Equal(t, 0, atDay2.DelegationRemindersSent, "a 20-day deadline keeps both reminders")

	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "information_requested",
		"information_received", "delegated", "outcome"}, h.kinds(), "rejected delegations write nothing")
	ev := h.eventsOf("delegated")
	require.Len(t, ev, 1)
	assert.Equal(t, &d.Actor, ev[0].Event.ActorID)
	assert.Equal(t, site.String(), ev[0].Event.Detail["siteId"])
	assert.Equal(t, partnerOrg, ev[0].Event.Detail["partnerOrg"])
	assert.Contains(t, ev[0].Event.Summary, partnerOrg)
	assert.Equal(t, domain.StatusWithPartner, ev[0].Case.Status, "the read model shows the delegation")
	assert.Equal(t, &site, ev[0].Case.DelegatedSiteID)

	var statuses []string
	for _, sa := range h.attrs {
		s, _ := sa.GetKeyword(CaseStatusKey)
		statuses = append(statuses, s)
	}
	assert.Contains(t, statuses, string(domain.StatusWithPartner), "the search attributes follow the delegation")

	assert.Equal(t, domain.StatusWithdrawn, final.Case.Status)
	assert.Nil(t, final.Case.DelegationDueAt, "a closed case awaits no partner")
	assert.Empty(t, h.returns)
	assert.Empty(t, h.posts, "a case not run for a partner posts nothing back")
	assert.Empty(t, h.notices)
}

func TestVettingCaseDelegationReminders(t *testing.T) {
	for _, withOwner := range []bool{false, true} {
		name := "without owner"
		if withOwner {
			name = "with owner"
		}
		t.Run(name, func(t *testing.T) {
			// DV is due in 95 days: no SLA reminder falls within the delegation.
			h := newCase(t, domain.LevelDV, defaultSLA(t, domain.LevelDV))
			owner := uuid.New()
			if withOwner {
				h.sendAt(time.Minute, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
			}
			delegated := h.sendAt(time.Hour, UpdateDelegate, delegateTo(uuid.New(), testStart.Add(30*oneDay)))
			var atDay31 CaseState
			h.at(31*oneDay, func() { atDay31 = h.query() })
			h.sendAt(32*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
			final := h.run()

			mustComplete(t, delegated, "delegate")
			controllers := []domain.Role{domain.RoleSecurityController}
			require.Len(t, h.notices, 3, "two reminders and the deadline, once each")
			for i, want := range []struct {
				kind domain.NotificationKind
				at   time.Duration
			}{{"delegation_reminder", 23 * oneDay}, {"delegation_reminder", 29 * oneDay}, {"delegation_overdue", 30 * oneDay}} {
				n := h.notices[i]
				assert.Equal(t, want.kind, n.Kind, "notice %d", i)
				assertNear(t, testStart.Add(want.at), n.Now, string(want.kind))
				assert.Equal(t, h.in.CaseRef, n.CaseRef)
				switch {
				case want.kind == "delegation_overdue" && withOwner:
					assert.Equal(t, []uuid.UUID{owner}, n.UserIDs, "the owner hears of the deadline")
					assert.Equal(t, controllers, n.Roles, "and the controllers")
				case withOwner:
					assert.Equal(t, []uuid.UUID{owner}, n.UserIDs, "reminders go to the owner")
					assert.Empty(t, n.Roles)
				default:
					assert.Empty(t, n.UserIDs, "no owner: nobody to name")
					assert.Equal(t, controllers, n.Roles, "%s goes to the controllers", want.kind)
				}
			}
			assert.Contains(t, h.notices[0].Message, "7 days")
			assert.Contains(t, h.notices[1].Message, "1 day")
			assert.NotEqual(t, h.notices[0].Key, h.notices[1].Key)
			assert.Len(t, h.eventsOf("delegation_reminder"), 2)
			assert.Len(t, h.eventsOf("delegation_overdue"), 1)
			assert.Empty(t, h.noticesOf("sla_reminder"))

			assert.Equal(t, 2, atDay31.DelegationRemindersSent)
			assert.True(t, atDay31.DelegationOverdueNotified)
			assert.Equal(t, domain.StatusWithPartner, atDay31.Case.Status, "still with the partner after its deadline")
			assert.Equal(t, domain.StatusWithdrawn, final.Case.Status)
		})
	}
}

func TestVettingCaseDelegationRemindersBeyondDeadlineAreSkipped(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	delegated := h.sendAt(oneDay, UpdateDelegate, delegateTo(uuid.New(), testStart.Add(4*oneDay)))
	h.sendAt(5*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
	h.run()

	mustComplete(t, delegated, "delegate")
	assert.Equal(t, 1, delegated.State.DelegationRemindersSent, "the 7-day reminder falls before the delegation")
	require.Len(t, h.notices, 2)
	assert.Equal(t, domain.NotificationKind("delegation_reminder"), h.notices[0].Kind)
	assertNear(t, testStart.Add(3*oneDay), h.notices[0].Now, "the 1-day reminder")
	assert.Equal(t, domain.NotificationKind("delegation_overdue"), h.notices[1].Kind)
	assertNear(t, testStart.Add(4*oneDay), h.notices[1].Now, "the deadline")
}

func TestVettingCasePartnerReturnCleared(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	site := uuid.New()
	from := domain.NewDate(2026, time.March, 9)
	h.sendAt(time.Hour, UpdateDelegate, delegateTo(site, testStart.Add(20*oneDay)))
	other := clearedReturn(uuid.New(), "NG-77", domain.LevelSC, from)
	fromOther := h.sendAt(5*oneDay, UpdatePartnerReturn, other)
	r := clearedReturn(site, "NG-77", domain.LevelSC, from)
	returned := h.sendAt(6*oneDay, UpdatePartnerReturn, r)
	final := h.run()

	mustRejectNotDelegated(t, fromOther, "a return from another site")
	mustComplete(t, returned, "partner-return")

	require.Len(t, h.clearances, 1, "one clearance")
	cl := h.clearances[0]
	assert.Equal(t, h.in.PersonID, cl.PersonID)
	assert.Equal(t, domain.LevelSC, cl.Level)
	assert.Equal(t, from, cl.ValidFrom)
	assert.Equal(t, from.AddYears(5), cl.ValidTo)
	require.NotNil(t, cl.SourceCaseRef)
	assert.Equal(t, h.in.CaseRef, *cl.SourceCaseRef)
	assert.False(t, cl.WithAdvisory)

	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "delegated", "outcome"}, h.kinds(),
		"the rejected return wrote nothing")
	out := h.eventsOf("outcome")
	require.Len(t, out, 1)
	assert.Nil(t, out[0].Event.ActorID, "a partner is not a staff user")
	assert.Equal(t, partnerOrg, out[0].Event.Detail["partnerOrg"])
	assert.Equal(t, "NG-77", out[0].Event.Detail["partnerCaseId"])
	assert.Equal(t, site.String(), out[0].Event.Detail["siteId"])
	assert.Contains(t, out[0].Event.Summary, partnerOrg)

	want := activities.ReturnAnswer{CaseRef: h.in.CaseRef, Outcome: domain.OutcomeCleared, Status: "cleared",
		PartnerCaseID: "NG-77", ReceivedAt: testStart.Add(6 * oneDay)}
	require.Len(t, h.returns, 1, "the answer is stored once")
	rec := h.returns[0]
	assert.Equal(t, want, rec.Answer)
	assert.Equal(t, site, rec.SiteID)
	assert.Equal(t, partnerOrg, rec.PartnerOrg)
	assert.Equal(t, "NG-77", rec.PartnerCaseID)
	assert.Equal(t, "abcd2345", rec.KeyPrefix)
	assert.Equal(t, "203.0.113.7", rec.CallerIP)
	assert.Equal(t, want, returned.Result, "the update answers the partner with what was stored")
	require.NotNil(t, rec.Request, "the request is kept, to tell a repeat from a reuse of its partnerCaseId")
	assert.Equal(t, partners.ReturnRequest{CaseRef: h.in.CaseRef, Outcome: domain.OutcomeCleared, ClearanceLevel: domain.LevelSC,
		ValidFrom: from, ValidTo: from.AddYears(5), PartnerCaseID: "NG-77"}, *rec.Request)

	assert.Equal(t, domain.StatusCleared, final.Case.Status)
	require.NotNil(t, final.Case.Outcome)
	assert.Equal(t, domain.OutcomeCleared, *final.Case.Outcome)
	require.NotNil(t, final.Case.OutcomeLevel)
	assert.Equal(t, domain.LevelSC, *final.Case.OutcomeLevel)
	require.NotNil(t, final.Case.ClosedAt)
	assert.Equal(t, testStart.Add(6*oneDay), *final.Case.ClosedAt)
	assert.Empty(t, h.notices, "returned before any reminder")
	assert.Empty(t, h.posts, "a delegated case is not posted back anywhere")
}

func TestVettingCasePartnerReturnRejected(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	site := uuid.New()
	from := domain.NewDate(2026, time.March, 9)
	notDelegated := h.sendAt(time.Hour, UpdatePartnerReturn, clearedReturn(site, "NG-1", domain.LevelSC, from))
	h.sendAt(2*time.Hour, UpdateDelegate, delegateTo(site, testStart.Add(20*oneDay)))
	backwards := clearedReturn(site, "NG-1", domain.LevelSC, from)
	backwards.ValidTo = from.AddDays(-1)
	badDates := h.sendAt(3*time.Hour, UpdatePartnerReturn, backwards)
	noDates := clearedReturn(site, "NG-1", domain.LevelSC, domain.Date{})
	noDates.ValidTo = domain.Date{}
	missingDates := h.sendAt(3*time.Hour+time.Minute, UpdatePartnerReturn, noDates)
	noLevel := h.sendAt(3*time.Hour+2*time.Minute, UpdatePartnerReturn, clearedReturn(site, "NG-1", "", from))
	noCaseID := h.sendAt(3*time.Hour+3*time.Minute, UpdatePartnerReturn, clearedReturn(site, " ", domain.LevelSC, from))
	badOutcome := clearedReturn(site, "NG-1", domain.LevelSC, from)
	badOutcome.Outcome = "approved"
	unknownOutcome := h.sendAt(3*time.Hour+4*time.Minute, UpdatePartnerReturn, badOutcome)
	refused := h.sendAt(oneDay, UpdatePartnerReturn, PartnerReturn{SiteID: site, SiteName: partnerOrg, PartnerCaseID: "NG-1",
		Outcome: domain.OutcomeRefused})
	final := h.run()

	mustRejectNotDelegated(t, notDelegated, "a return on a case never delegated")
	mustReject(t, badDates, TypeRejectedInput, "validTo before validFrom")
	mustReject(t, missingDates, TypeRejectedInput, "a clearance without dates")
	mustReject(t, noLevel, TypeRejectedInput, "a clearance without a level")
	mustReject(t, noCaseID, TypeRejectedInput, "no partnerCaseId")
	mustReject(t, unknownOutcome, TypeRejectedInput, "an unknown outcome")
	mustComplete(t, refused, "a refused return")

	assert.Empty(t, h.clearances, "a refusal grants no clearance")
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "delegated", "outcome"}, h.kinds())
	require.Len(t, h.returns, 1)
	assert.Equal(t, "refused", h.returns[0].Answer.Status)
	assert.Equal(t, domain.OutcomeRefused, h.returns[0].Answer.Outcome)
	assert.Equal(t, h.returns[0].Answer, refused.Result)
	assert.Equal(t, domain.StatusRefused, final.Case.Status)
	assert.Nil(t, final.Case.OutcomeLevel)
}

// forPartner makes the harness's case one run for a partner site (its case theirRef).
func forPartner(h *caseHarness, theirRef string) uuid.UUID {
	site := uuid.New()
	h.in.ForSiteID, h.in.ForCaseRef = &site, theirRef
	return site
}

func TestVettingCaseReturnsOutcomeToPartner(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	site := forPartner(h, "NG-2026-0042")
	owner := uuid.New()
	from := domain.NewDate(2026, time.March, 5)
	opened := h.sendAt(0, UpdateCaseOpened)
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	decided := h.sendAt(2*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, from))
	final := h.run()

	mustComplete(t, opened, "opened")
	require.NotNil(t, opened.State.Case.ForSiteID)
	assert.Equal(t, site, *opened.State.Case.ForSiteID)
	require.NotNil(t, opened.State.Case.ForCaseRef)
	assert.Equal(t, "NG-2026-0042", *opened.State.Case.ForCaseRef)
	mustComplete(t, decided, "record-outcome")

	require.Len(t, h.posts, 1, "posted back once")
	p := h.posts[0]
	assert.Equal(t, activities.PostPartnerReturnInput{SiteID: site, CaseRef: h.in.CaseRef, TheirCaseRef: "NG-2026-0042",
		Outcome: domain.OutcomeCleared, Level: domain.LevelSC, ValidFrom: from, ValidTo: from.AddYears(5)}, p.PostPartnerReturnInput)
	assert.Equal(t, 5, p.EventsWritten, "posted after the outcome was written")
	assertNear(t, testStart.Add(2*oneDay), p.Now, "posted at once")

	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "outcome", "returned_to_partner"}, h.kinds())
	assert.True(t, final.ReturnedToPartner)
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
	assert.Equal(t, 6, final.Case.Version)
	assert.Empty(t, h.notices)
	assert.Empty(t, h.returns)
}

func TestVettingCaseReturnOfRefusalToPartner(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	site := forPartner(h, "NG-9")
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*oneDay, UpdateRecordOutcome, RecordOutcome{Actor: owner, Outcome: domain.OutcomeRefused})
	final := h.run()

	require.Len(t, h.posts, 1)
	assert.Equal(t, activities.PostPartnerReturnInput{SiteID: site, CaseRef: h.in.CaseRef, TheirCaseRef: "NG-9",
		Outcome: domain.OutcomeRefused}, h.posts[0].PostPartnerReturnInput, "a refusal carries no level or dates")
	assert.True(t, final.ReturnedToPartner)
	assert.Len(t, h.eventsOf("returned_to_partner"), 1)
}

func TestVettingCaseReturnRefusedByPartner(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	forPartner(h, "NG-3")
	owner := uuid.New()
	h.postReturn = func(int, activities.PostPartnerReturnInput) error {
		return temporal.NewNonRetryableApplicationError("partners: return: partner answered 409 Conflict",
			activities.TypePartnerRefused, nil)
	}
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.NewDate(2026, time.March, 5)))
	final := h.run() // the workflow completes: a refused return does not fail the case

	assert.Len(t, h.posts, 1, "a refusal is not retried")
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "owner_assigned", "outcome", "return_refused"}, h.kinds())
	refused := h.eventsOf("return_refused")
	require.Len(t, refused, 1)
	assert.Contains(t, refused[0].Event.Summary, "409")
	notes := h.noticesOf("return_refused")
	require.Len(t, notes, 1, "staff hear of it once")
	assert.Equal(t, []uuid.UUID{owner}, notes[0].UserIDs)
	assert.Equal(t, h.in.CaseRef, notes[0].CaseRef)
	assertNear(t, testStart.Add(2*oneDay), notes[0].Now, "at once")
	assert.Len(t, h.notices, 1)
	assert.True(t, final.ReturnedToPartner)
	assert.Equal(t, domain.StatusCleared, final.Case.Status, "the case stays cleared")
}

func TestVettingCaseReturnToPartnerRetriesTransientFailures(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	forPartner(h, "NG-4")
	owner := uuid.New()
	h.postReturn = func(attempt int, _ activities.PostPartnerReturnInput) error {
		if attempt <= 2 {
			return temporal.NewApplicationError("partners: return: partner answered 503 Service Unavailable", "Error")
		}
		return nil
	}
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.NewDate(2026, time.March, 5)))
	final := h.run()

	require.Len(t, h.posts, 3, "two failures, then acknowledged")
	for i := 1; i < len(h.posts); i++ {
		assert.Equal(t, h.posts[0].PostPartnerReturnInput, h.posts[i].PostPartnerReturnInput, "the same return each time")
	}
	assertNear(t, h.posts[0].Now.Add(10*time.Second), h.posts[1].Now, "first retry after 10s")
	assertNear(t, h.posts[1].Now.Add(20*time.Second), h.posts[2].Now, "then after 20s")
	assert.Len(t, h.eventsOf("returned_to_partner"), 1)
	assert.Empty(t, h.eventsOf("return_refused"))
	assert.Empty(t, h.notices)
	assert.True(t, final.ReturnedToPartner)
}

func TestVettingCaseNotForPartnerPostsNothing(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner := uuid.New()
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.NewDate(2026, time.March, 5)))
	final := h.run()

	assert.Empty(t, h.posts)
	assert.False(t, final.ReturnedToPartner)
	assert.Nil(t, final.Case.ForSiteID)
	assert.Nil(t, final.Case.ForCaseRef)
	assert.Equal(t, "outcome", h.kinds()[len(h.kinds())-1])
}

// A partner's return still being written when the deadline passes closes the case: it is not overdue.
func TestVettingCasePartnerReturnAsDeadlinePasses(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	h.slowClearance = time.Hour
	site := uuid.New()
	h.sendAt(time.Hour, UpdateDelegate, delegateTo(site, testStart.Add(10*oneDay)))
	returned := h.sendAt(10*oneDay-30*time.Minute, UpdatePartnerReturn,
		clearedReturn(site, "NG-5", domain.LevelSC, domain.NewDate(2026, time.March, 12)))
	final := h.run()

	mustComplete(t, returned, "partner-return")
	assert.Len(t, h.noticesOf("delegation_reminder"), 2)
	assert.Empty(t, h.noticesOf("delegation_overdue"), "returned before its deadline")
	assert.Empty(t, h.eventsOf("delegation_overdue"))
	assert.Equal(t, domain.StatusCleared, final.Case.Status)
	assert.Equal(t, "outcome", h.kinds()[len(h.kinds())-1], "nothing is written after the outcome")
	require.Len(t, h.returns, 1)
}

// A return after the deadline still closes the case.
func TestVettingCasePartnerReturnAfterDeadline(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	site := uuid.New()
	h.sendAt(time.Hour, UpdateDelegate, delegateTo(site, testStart.Add(10*oneDay)))
	returned := h.sendAt(12*oneDay, UpdatePartnerReturn, PartnerReturn{SiteID: site, SiteName: partnerOrg,
		PartnerCaseID: "NG-6", Outcome: domain.OutcomeWithdrawn})
	final := h.run()

	mustComplete(t, returned, "partner-return")
	assert.Len(t, h.noticesOf("delegation_overdue"), 1)
	assert.Equal(t, []string{"opened", "identity_check", "with_officer", "delegated", "delegation_reminder",
		"delegation_reminder", "delegation_overdue", "outcome"}, h.kinds())
	assert.Equal(t, domain.StatusWithdrawn, final.Case.Status)
	assert.Empty(t, h.clearances)
}

// A partner's return out of bounds is refused by the case's own validator, whoever sends it: a level
// above the case's (eDV on a BPSS aftercare case), a validity longer than the level's.
func TestVettingCasePartnerReturnOutOfBounds(t *testing.T) {
	h := newCase(t, domain.LevelBPSS, defaultSLA(t, domain.LevelBPSS))
	h.in.Type = domain.CaseAftercare
	site := uuid.New()
	today := domain.DateOf(testStart)
	h.sendAt(time.Hour, UpdateDelegate, delegateTo(site, testStart.Add(20*oneDay)))
	edv := clearedReturn(site, "NG-1", domain.LevelEDV, today)
	tooLong := clearedReturn(site, "NG-2", domain.LevelBPSS, today)
	tooLong.ValidTo = today.AddYears(4)
	higher := h.sendAt(2*time.Hour, UpdatePartnerReturn, edv)
	long := h.sendAt(3*time.Hour, UpdatePartnerReturn, tooLong)
	h.sendAt(4*time.Hour, UpdateRecordOutcome, RecordOutcome{Actor: uuid.New(), Outcome: domain.OutcomeWithdrawn})
	h.run()
	mustReject(t, higher, TypeRejectedInput, "eDV on a BPSS case")
	assert.Contains(t, higher.Err.Error(), "level:")
	mustReject(t, long, TypeRejectedInput, "BPSS for 4 years")
	assert.Contains(t, long.Err.Error(), "validTo:")
	assert.Empty(t, h.clearances)
	assert.Empty(t, h.returns)
}
