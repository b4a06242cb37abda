package store_test

import (
	"testing"
	"time"

	"github.com/signetassure/signetassure/access"
)

// Text from the access control system that no line may hold (a NUL, a bidirectional override) is dropped
// before it is stored: its events and findings are recorded, not refused into an activity's retries.
func TestAccessSystemTextCleaned(t *testing.T) {
	e := setup(t)
	at := time.Now().UTC().Truncate(time.Second)
	added, err := e.st.AddAccessEvents(e.ctx, []access.Event{{ID: "ev\x001", At: at, UserID: "u\x0042",
		Type: "Access\x00 granted\u202e", Door: "Gate\u202e 1", LocationID: "loc\x00"}})
	if err != nil {
		t.Fatalf("events with a NUL: %v", err)
	}
	if len(added) != 1 || added[0].Type != "Access granted" || added[0].Door != "Gate 1" {
		t.Fatalf("events stored %+v, want one, cleaned", added)
	}
	fs, err := e.st.RecordFindings(e.ctx, []access.Finding{{ID: "f-1", Kind: access.FindingPossibleMatch, UserID: "u\x0042",
		Detail: map[string]any{"name\x00": "Eve\x00 \u202eMallory", "levels": []any{"Lab\x00"}}, Action: "reported"}})
	if err != nil {
		t.Fatalf("a finding with a NUL: %v", err)
	}
	if len(fs) != 1 {
		t.Fatalf("findings recorded %d, want 1", len(fs))
	}
	var n int
	if err := e.db.QueryRow(e.ctx, `SELECT count(*) FROM access_findings WHERE id = 'f-1' AND acs_user_id = 'u42'
		AND detail = '{"name": "Eve Mallory", "levels": ["Lab"]}'::jsonb`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("clean finding stored: %d (%v), want 1", n, err)
	}
}
