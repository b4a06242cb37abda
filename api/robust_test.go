package api_test

import (
	"context"
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
}
