package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/sim/twiliosim"
	"github.com/signetassure/signetassure/workflows"
)

// A worker killed (SIGKILL) in the middle of a 1,000-recipient broadcast and restarted: every recipient
// gets exactly one message.
//
// The real binary runs as `signetassure worker` against a Twilio simulator, at 100 messages a second. Once
// 200 are accepted the worker is killed mid-send (some hand-overs are in flight), and a new one started.
// The shard activities are retried after their heartbeat timeout (30 s) and resume from their last
// heartbeat; a message whose hand-over was in flight is looked for at Twilio before being sent again.
func TestWorkerKilledMidBroadcastSendsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and waits out a killed activity's heartbeat timeout (about a minute)")
	}
	t.Parallel()
	began := time.Now()
	bin := testenv.BuildSignetAssure(t)

	// This test reads the outcome from the simulator and the database, not from status callbacks.
	sim, twilioEnv := testenv.TwilioForProcess(t)
	sim.SetFaults(twiliosim.Faults{LatencyMs: 5})

	ctx := context.Background()
	dbURL := testenv.DatabaseURL(t)
	st := testenv.StoreAt(t, dbURL)

	const recipients = 1000
	var members []uuid.UUID
	for i := range recipients {
		p, err := st.CreatePerson(ctx, nil, domain.Person{FirstName: fmt.Sprintf("R%d", i), LastName: "Tester",
			DateOfBirth: domain.NewDate(1980, 1, 2), Mobile: fmt.Sprintf("+4474003%05d", i), Active: true})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, p.ID)
	}
	g, err := st.CreateGroup(ctx, nil, domain.ContactGroup{Name: "Everyone", Kind: domain.GroupManual}, members)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	b, err := st.CreateBroadcast(ctx, nil, domain.Broadcast{ID: uuid.New(), GroupID: g.ID, Body: "Drill. Reply SAFE.",
		Keywords: []string{"SAFE"}, Rate: 100, ReplyUntil: now, CreatedAt: now})
	if err != nil {
		t.Fatal(err)
	}

	tc := testenv.Temporal(t)
	queue := "kill-" + strings.ToLower(rand.Text()[:12])
	set := map[string]string{
		"DATABASE_URL":        dbURL,
		"TEMPORAL_ADDRESS":    testenv.TemporalAddress(t),
		"TEMPORAL_NAMESPACE":  "default",
		"TEMPORAL_TASK_QUEUE": queue,
		"LOG_LEVEL":           "warn",
	}
	maps.Copy(set, twilioEnv)
	env := workerEnv(set)
	first := startWorker(t, bin, env, "first")
	if err := workflows.StartBroadcast(ctx, tc, queue, workflows.BroadcastInput{BroadcastID: b.ID, Text: b.Body,
		Rate: b.Rate, Shards: workflows.BroadcastShards, ReplyUntil: b.ReplyUntil}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for sim.Stats().Accepted < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("the broadcast handed over %d messages in a minute", sim.Stats().Accepted)
		}
		time.Sleep(2 * time.Millisecond)
	}
	first.kill()
	killedAt := time.Now()
	t.Logf("killed the worker with %d of %d messages accepted, %s in", sim.Stats().Accepted, recipients, time.Since(began).Round(time.Millisecond))

	startWorker(t, bin, env, "second")
	wctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	var res workflows.BroadcastState
	if err := tc.GetWorkflow(wctx, workflows.BroadcastWorkflowID(b.ID), "").Get(wctx, &res); err != nil {
		t.Fatalf("the broadcast did not complete after the restart: %v", err)
	}
	t.Logf("broadcast completed %s after the kill: %+v", time.Since(killedAt).Round(time.Millisecond), res)

	stats := sim.Stats()
	if stats.Accepted != recipients || stats.Duplicates != 0 || len(stats.PerRecipient) != recipients {
		t.Errorf("Twilio accepted %d messages for %d recipients with %d duplicates; want %d, each once",
			stats.Accepted, len(stats.PerRecipient), stats.Duplicates, recipients)
	}
	for number, n := range stats.PerRecipient {
		if n != 1 {
			t.Errorf("%s got %d messages", number, n)
		}
	}
	if n := testenv.Count(t, dbURL, `SELECT count(*) FROM messages m JOIN broadcast_recipients r ON r.message_id = m.id
		WHERE r.broadcast_id = $1 AND m.status IN ('queued', 'sent', 'delivered') AND m.provider_id IS NOT NULL`, b.ID); n != recipients {
		t.Errorf("%d messages recorded as handed over with their Twilio SID, want %d", n, recipients)
	}
	// A hand-over the kill interrupted was found at Twilio on the retry, already further on than queued.
	t.Logf("%d hand-overs found at Twilio after the kill instead of sent again", testenv.Count(t, dbURL,
		`SELECT count(*) FROM messages WHERE broadcast_id = $1 AND status <> 'queued'`, b.ID))
	if n := testenv.Count(t, dbURL, `SELECT count(DISTINCT provider_id) FROM messages WHERE broadcast_id = $1`, b.ID); n != recipients {
		t.Errorf("%d distinct Twilio SIDs recorded, want %d", n, recipients)
	}
	got, err := st.Broadcast(ctx, b.ID)
	if err != nil || got.Status != domain.BroadcastClosed || got.Progress.Sent != recipients || got.Progress.Pending != 0 {
		t.Errorf("broadcast %+v %+v (%v): want closed with %d sent, none pending", got, got.Progress, err, recipients)
	}
	t.Logf("whole test: %s", time.Since(began).Round(time.Millisecond))
}
