package activities_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/messaging"
	"github.com/signetassure/signetassure/sim/twiliosim"
	"github.com/signetassure/signetassure/store"
	"github.com/signetassure/signetassure/workflows"
)

// BenchmarkBroadcast sends a 10,000-recipient broadcast through the real Twilio SDK to the simulator with
// its rate limit lifted, on the real Temporal dev server and PostgreSQL, one worker. Beside it, in the same
// run, the baseline: one message per workflow (SendOne, a one-activity workflow), 300 at once. It reports
// messages handed to the provider a second for both, the time to 100% and the duplicates Twilio saw.
// Run it with `make bench` (one iteration: the data set is the point, not b.N).
func BenchmarkBroadcast(b *testing.B) {
	const recipients, baseline = 10_000, 300
	ctx := context.Background()
	url := testenv.DatabaseURL(b)
	st := testenv.StoreAt(b, url)
	sim := twiliosim.New(twiliosim.Options{AuthToken: "benchtoken", DeliveryDelay: -1})
	srv := httptest.NewServer(sim.Handler())
	b.Cleanup(func() { srv.Close(); sim.Close() })
	twilio := activities.Provider{Name: "twilio", Provider: messaging.NewTwilio(messaging.TwilioConfig{
		AccountSID: twiliosim.DefaultAccountSID, AuthToken: "benchtoken", From: "+447400000000", BaseURL: srv.URL}, nil)}
	tc := testenv.Temporal(b)
	queue := testenv.WorkerWith(b, tc, &activities.Activities{Store: st,
		Messaging: activities.MessagingSettings{Channels: map[domain.Channel]activities.Provider{domain.ChannelSMS: twilio}}})

	testenv.Exec(b, url, `INSERT INTO persons (id, first_name, last_name, search_name, date_of_birth, mobile, preferred_channel)
		SELECT gen_random_uuid(), 'P' || i, 'Bench', 'p' || i || ' bench', '1980-01-01', '+4474004' || lpad(i::text, 5, '0'), 'sms'
		FROM generate_series(0, $1 - 1) i`, recipients)
	g, err := st.CreateGroup(ctx, nil, domain.ContactGroup{Name: "Everyone", Kind: domain.GroupManual}, nil)
	require.NoError(b, err)
	testenv.Exec(b, url, `INSERT INTO contact_group_members (group_id, person_id) SELECT $1, id FROM persons`, g.ID)
	persons, _, err := st.Persons(ctx, store.PersonFilter{Page: store.Page{Limit: baseline}})
	require.NoError(b, err)

	b.ResetTimer()
	for range b.N {
		// Baseline: one workflow, one activity, one message each.
		sim.Reset()
		began := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, baseline)
		for i, p := range persons {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := p.ID
				in := activities.SendInput{Key: fmt.Sprintf("bench-%d-%s", i, uuid.NewString()), PersonID: &id,
					Channel: domain.ChannelSMS, Template: "broadcast", Vars: map[string]string{"Text": "Baseline"}}
				run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.MessageWorkflowID(in.Key),
					TaskQueue: queue}, workflows.SendOne, in)
				if err == nil {
					err = run.Get(ctx, nil)
				}
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(b, err)
		}
		single := time.Since(began)
		require.Equal(b, baseline, sim.Stats().Accepted)

		// The broadcast, rate limit lifted.
		sim.Reset()
		now := time.Now().UTC()
		bc, err := st.CreateBroadcast(ctx, nil, domain.Broadcast{ID: uuid.New(), GroupID: g.ID, Body: "Bench drill. Reply SAFE.",
			Keywords: []string{"SAFE"}, Rate: 1, ReplyUntil: now, CreatedAt: now})
		require.NoError(b, err)
		began = time.Now()
		require.NoError(b, workflows.StartBroadcast(ctx, tc, queue, workflows.BroadcastInput{BroadcastID: bc.ID, Text: bc.Body,
			Shards: workflows.BroadcastShards, ReplyUntil: now}))
		var res workflows.BroadcastState
		require.NoError(b, tc.GetWorkflow(ctx, workflows.BroadcastWorkflowID(bc.ID), "").Get(ctx, &res))
		all := time.Since(began)
		stats := sim.Stats()
		require.Equal(b, recipients, stats.Accepted)
		require.Equal(b, recipients, res.Handed)

		b.ReportMetric(float64(baseline)/single.Seconds(), "baseline_msgs/s")
		b.ReportMetric(float64(recipients)/all.Seconds(), "broadcast_msgs/s")
		b.ReportMetric(all.Seconds(), "s_to_100%")
		b.ReportMetric(float64(stats.Duplicates), "duplicates")
		b.Logf("baseline: %d one-message workflows in %s (%.0f/s); broadcast: %d messages in %s (%.0f/s), %d duplicates",
			baseline, single.Round(time.Millisecond), float64(baseline)/single.Seconds(), recipients,
			all.Round(time.Millisecond), float64(recipients)/all.Seconds(), stats.Duplicates)
	}
}
