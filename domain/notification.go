package domain

import "strings"

// NotificationKind is what a staff notification is about. The kinds, and their titles in words, are here
// and nowhere else: workflows and activities notify with these, the API titles with Title.
type NotificationKind string

const (
	NotifySLAReminder          NotificationKind = "sla_reminder"
	NotifySLAEscalation        NotificationKind = "sla_escalation"
	NotifyInformationOverdue   NotificationKind = "information_overdue"
	NotifyIdentityResult       NotificationKind = "identity_result"
	NotifyDelegationReminder   NotificationKind = "delegation_reminder"
	NotifyDelegationOverdue    NotificationKind = "delegation_overdue"
	NotifyReturnRefused        NotificationKind = "return_refused"
	NotifyRecordingFailed      NotificationKind = "recording_failed"
	NotifyClearanceStepFailed  NotificationKind = "clearance_step_failed"
	NotifyRenewalNudge         NotificationKind = "renewal_nudge"
	NotifyRenewalOpened        NotificationKind = "renewal_opened"
	NotifyPartnerAuditFork     NotificationKind = "partner_audit_fork"
	NotifyPartnerAuditRollback NotificationKind = "partner_audit_rollback"
	NotifyPartnerAuditInvalid  NotificationKind = "partner_audit_invalid"
	NotifyWebhookDisabled      NotificationKind = "webhook_disabled"
	NotifyTravelApproval       NotificationKind = "travel_approval"
	NotifyTravelEscalated      NotificationKind = "travel_escalated"
	NotifyTravelTooLong        NotificationKind = "travel_too_long"
	NotifyTravelDebriefOverdue NotificationKind = "travel_debrief_overdue"
	NotifyTravelAftercare      NotificationKind = "travel_aftercare"
)

// AccessFindingNotification is the kind of notification of an access control finding of the kind named
// (access.FindingKind): "access_" and the finding's kind.
func AccessFindingNotification(findingKind string) NotificationKind {
	return NotificationKind("access_" + findingKind)
}

var notificationTitles = map[NotificationKind]string{
	NotifySLAReminder:          "Case due soon",
	NotifySLAEscalation:        "Case overdue: escalated",
	NotifyInformationOverdue:   "Information requested is overdue",
	NotifyIdentityResult:       "Identity check result",
	NotifyDelegationReminder:   "Partner's outcome due soon",
	NotifyDelegationOverdue:    "Partner's outcome overdue",
	NotifyReturnRefused:        "Partner's outcome refused",
	NotifyRecordingFailed:      "A case change could not be recorded",
	NotifyClearanceStepFailed:  "A clearance step failed",
	NotifyRenewalNudge:         "Clearance expires soon",
	NotifyRenewalOpened:        "Renewal case opened",
	NotifyPartnerAuditFork:     "Partner's audit log forked",
	NotifyPartnerAuditRollback: "Partner's audit log rolled back",
	NotifyPartnerAuditInvalid:  "Partner's audit checkpoint refused",
	NotifyWebhookDisabled:      "Webhook subscription disabled",
	NotifyTravelApproval:       "Trip awaits approval",
	NotifyTravelEscalated:      "Trip departs soon without briefing or approval",
	NotifyTravelTooLong:        "Trip longer than the travel policy allows",
	NotifyTravelDebriefOverdue: "Travel debrief overdue",
	NotifyTravelAftercare:      "Travel debrief reported an approach or incident",

	AccessFindingNotification("unapproved_level"):   "Unapproved door access removed",
	AccessFindingNotification("unapproved_profile"): "Unapproved access profile removed",
	AccessFindingNotification("validity_changed"):   "Door access dates restored",
	AccessFindingNotification("duplicate"):          "Two badge records for one person",
	AccessFindingNotification("possible_match"):     "A badge record may be this person's",
	AccessFindingNotification("level_deleted"):      "An access level with grants was deleted",
	AccessFindingNotification("wrong_record"):       "A linked badge record is someone else's",
}

// Title names the kind in words; a kind without a title (one written by a newer version) is named by its
// own words.
func (k NotificationKind) Title() string {
	if t, ok := notificationTitles[k]; ok {
		return t
	}
	words := strings.ReplaceAll(string(k), "_", " ")
	if words == "" {
		return "Notification"
	}
	return strings.ToUpper(words[:1]) + words[1:]
}

// HasTitle reports whether the kind has a title of its own.
func (k NotificationKind) HasTitle() bool {
	_, ok := notificationTitles[k]
	return ok
}
