package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/events"
	"github.com/signetassure/signetassure/store"
)

// A committed change's events reach the listener with their types as it commits; a rolled-back change's
// never do. One process listens at a time: a second is told another does, and takes over once the first
// stops.
func TestListenForEvents(t *testing.T) {
	e := setup(t)
	committed := make(chan []events.Type, 16)
	created := func() store.AuditEntry {
		return store.AuditEntry{Action: "person.create", EntityType: "person", EntityID: uuid.NewString()}
	}
	// listen starts a listener and waits until a committed change reaches it, starting it again while
	// another one listens; it answers what the listener returns when it stops.
	listen := func(ctx context.Context) <-chan error {
		t.Helper()
		stopped := make(chan error, 1)
		start := func() { go func() { stopped <- e.st.ListenForEvents(ctx, committed) }() }
		start()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			if err := e.st.AuditByTx(e.ctx, created()); err != nil {
				t.Fatal(err)
			}
			select {
			case <-committed:
				for len(committed) > 0 {
					<-committed
				}
				return stopped
			case err := <-stopped:
				if !errors.Is(err, store.ErrListening) {
					t.Fatalf("listening: %v", err)
				}
				start()
			case <-time.After(100 * time.Millisecond):
			}
		}
		t.Fatal("no notification of a committed change")
		return nil
	}
	ctx, stop := context.WithCancel(e.ctx)
	listened := listen(ctx)

	if err := e.st.ListenForEvents(e.ctx, make(chan []events.Type)); !errors.Is(err, store.ErrListening) {
		t.Fatalf("a second listener: %v, want ErrListening", err)
	}
	// A change rolled back, then one committed: notifications come in commit order, so the first to come
	// being the committed one's says the rolled-back one gave none.
	refused := errors.New("refused")
	err := e.st.AuditThen(e.ctx, store.AuditEntry{Action: "clearance.revoked", EntityType: "person", EntityID: uuid.NewString(),
		Detail: map[string]any{"clearanceId": uuid.NewString()}}, func(pgx.Tx) error { return refused })
	if !errors.Is(err, refused) {
		t.Fatal(err)
	}
	if err := e.st.AuditByTx(e.ctx, store.AuditEntry{Action: "clearance.expiring", EntityType: "person", EntityID: uuid.NewString(),
		Detail: map[string]any{"clearanceId": uuid.NewString()}}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-committed:
		if !slices.Equal(got, []events.Type{events.ClearanceExpiring}) {
			t.Errorf("notified %v, want [clearance.expiring] (the committed change alone)", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification of the committed change")
	}

	stop()
	if err := <-listened; err != nil {
		t.Fatalf("the listener stopped with %v", err)
	}
	// The lock went with the first listener's connection: another one takes over.
	second, stopSecond := context.WithCancel(e.ctx)
	took := listen(second)
	stopSecond()
	if err := <-took; err != nil {
		t.Fatalf("the second listener stopped with %v", err)
	}
}
