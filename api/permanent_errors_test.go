package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/workflows"
)

// A note whose text the database refuses (a NUL, sent to the case's workflow past the API) does not
// freeze the case: the action is refused at once, the timeline shows the failure without the text, the
// security controllers are told, and the next note through the API is recorded within seconds.
func TestRefusedNoteDoesNotFreezeTheCase(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.openCase(e.createPerson("Jane", "Davies", "1985-04-12"), "new", "SC")
	officer := e.users[domain.RoleVettingOfficer].ID

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err := workflows.UpdateCase(ctx, e.tc, ref, workflows.UpdateAddNote, "", workflows.AddNote{Actor: officer,
		Text: "Mallory\x00 was here"})
	var rej *workflows.Rejection
	if !errorsAs(err, &rej) || !rej.Unprocessable {
		t.Fatalf("a note the database refuses: %v (%T), want an unprocessable rejection at once", err, err)
	}
	if strings.Contains(rej.Message, "Mallory") {
		t.Fatalf("the refusal quotes the note: %q", rej.Message)
	}

	start := time.Now()
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/notes", map[string]any{"text": "References received"})
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the next note took %s", took)
	}
	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
	if kinds := strings.Join(timelineKinds(got), ","); kinds != "opened,identity_check,with_officer,recording_failed,note" {
		t.Fatalf("timeline = %s", kinds)
	}
	failed := got["timeline"].([]any)[3].(map[string]any)
	if s, _ := failed["summary"].(string); !strings.Contains(s, "SQLSTATE 22P05") || strings.Contains(s, "Mallory") {
		t.Fatalf("the failure on the timeline says %q: want the reason without the note", s)
	}
	if n := e.count(`SELECT count(*) FROM staff_notifications WHERE case_ref = $1 AND kind = 'recording_failed'
		AND user_id = $2 AND position('Mallory' in message) = 0`, ref, e.users[domain.RoleSecurityController].ID); n != 1 {
		t.Fatalf("%d recording failures notified to the security controller, want 1", n)
	}
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/outcome", map[string]any{"outcome": "withdrawn"})
	e.recordHistory(ref, "recording_failed")
}

// Text in Twilio's webhooks that no line may hold (a NUL, a bidirectional override) is dropped before it
// is stored, never refused: the webhooks are answered as usual (Twilio would retry a failure for ever), a
// message's newlines are kept.
func TestTwilioWebhookTextCleaned(t *testing.T) {
	t.Parallel()
	e := newHookEnv(t)
	person := e.createPerson("Opt", "Out", "1980-01-01")
	in := "/api/v1/messaging/twilio/inbound"
	wantStatus(t, e.signedTwilio(in, url.Values{"MessageSid": {"SMin\x00bad"}, "From": {"+447400123456"},
		"To": {"+447400000000"}, "Body": {"SAFE\x00 at\u202e gate\nsecond line"}, "ProfileName": {"Eve\u202e\x00"}}),
		http.StatusOK, "inbound with a NUL")
	if n := e.count(`SELECT count(*) FROM inbound_messages WHERE provider_id = 'SMinbad'
		AND body = 'SAFE at gate'||chr(10)||'second line'`); n != 1 {
		t.Fatalf("%d clean inbound messages stored, want 1", n)
	}

	e.accepted("m_dirtystatus", domain.ChannelSMS, person, "+447400123456", "twilio", "SMdirty")
	status := "/api/v1/messaging/twilio/status?m=m_dirtystatus"
	wantStatus(t, e.signedTwilio(status, url.Values{"MessageSid": {"SMdirty"}, "MessageStatus": {"undelivered"},
		"ErrorCode": {"30003"}, "ErrorMessage": {"Unreachable\x00 \u202ehandset"}, "To": {"+447400123456\x00"}}),
		http.StatusNoContent, "status callback with a NUL")
	m := e.message("m_dirtystatus")
	if m["status"] != "undelivered" || m["statusReason"] != "Unreachable handset" {
		t.Fatalf("message after the callback: status %v, reason %q", m["status"], m["statusReason"])
	}
}
