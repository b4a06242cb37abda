package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// An operation left pending by a worker that died mid-change (it may have reached the access control
// system, whose audit entry is written with its batch's results) is closed as interrupted when the person
// is planned again, with an audit entry saying so: once, however often the person is planned again.
func TestInterruptedAccessOperationIsAudited(t *testing.T) {
	e := setup(t)
	p := e.person(t, domain.Person{FirstName: "Nia", LastName: "Tester"})
	op := access.Op{ID: "sync-1/create/" + p.ID.String(), Kind: access.OpCreate, PersonID: p.ID}
	if err := e.st.JournalPending(e.ctx, []access.Op{op}, ""); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		release, _, err := e.st.LockForReplan(e.ctx, []uuid.UUID{p.ID}, time.Now(), store.Inactivity{
			DisableAfter: 90 * 24 * time.Hour, RemoveAfter: 180 * 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if n := e.count(t, `SELECT count(*) FROM access_operations WHERE id = $1 AND status = 'failed'`, op.ID); n != 1 {
		t.Fatalf("the pending operation was not closed as interrupted (%d)", n)
	}
	if n := e.count(t, `SELECT count(*) FROM audit_log WHERE action = 'access.interrupted' AND entity_type = 'person'
		AND entity_id = $1 AND detail->>'operationId' = $2 AND detail->>'kind' = 'create'`, p.ID.String(), op.ID); n != 1 {
		t.Fatalf("%d audit entries of the interrupted operation, want 1", n)
	}
}
