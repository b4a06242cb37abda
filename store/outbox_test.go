package store_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/store"
)

// A change whose transaction fails after its audit entry and events were written leaves no event and
// gives its sequence number back: the subject's next event is still 1. A repeat of an idempotent write
// (the same dedup key) writes its events once, in the transaction path and in the batch path alike.
func TestOutboxRollbackAndDedup(t *testing.T) {
	e := setup(t)
	ctx, s := e.ctx, e.st
	person := uuid.New()
	subject := events.PersonSubject(person)
	entry := func(dedup string) store.AuditEntry {
		return store.AuditEntry{Action: "person.update", EntityType: "person", EntityID: person.String(),
			Detail: map[string]any{"fields": []string{"email"}}, DedupKey: dedup,
			Events: []events.Draft{events.PersonDeactivatedDraft(person)}}
	}
	count := func(sql string, args ...any) int {
		t.Helper()
		var n int
		if err := e.db.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	failing := errors.New("a later statement failed")
	err := s.AuditThen(ctx, entry(""), func(tx pgx.Tx) error {
		if n := 0; tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE subject = $1`, subject).Scan(&n) != nil || n != 2 {
			t.Errorf("within the transaction: %d events, want 2 (person.updated, person.deactivated)", n)
		}
		_, err := tx.Exec(ctx, `SELECT 1/0`)
		if err == nil {
			return failing
		}
		return err
	})
	if err == nil {
		t.Fatal("the transaction committed")
	}
	if n := count(`SELECT count(*) FROM events`); n != 0 {
		t.Fatalf("%d events of a rolled-back change", n)
	}
	if n := count(`SELECT count(*) FROM event_subjects`); n != 0 {
		t.Fatalf("%d subject counters of a rolled-back change", n)
	}

	// The transaction path, twice with one dedup key, and the batch path, twice with another.
	for range 2 {
		if err := s.AuditByTx(ctx, entry("k/1")); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := s.AuditByBatch(ctx, entry("k/2")); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(`SELECT count(*) FROM audit_log`); n != 2 {
		t.Fatalf("%d audit entries, want 2", n)
	}
	got := e.settledEvents(t)
	var seqs []int64
	for _, ev := range got {
		seqs = append(seqs, ev.Seq)
	}
	if len(got) != 4 || seqs[0] != 1 || seqs[3] != 4 || got[0].Type != events.PersonUpdated || got[1].Type != events.PersonDeactivated {
		t.Fatalf("events %+v (seqs %v), want person.updated and person.deactivated twice, 1..4", got, seqs)
	}
}
