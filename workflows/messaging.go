package workflows

import (
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/signetassure/signetassure/activities"
	"github.com/signetassure/signetassure/domain"
)

// sendActivity hands a message to its provider: retried while the provider is down or rate limits us,
// for up to a day, never on a message or credentials the provider refuses.
var sendActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:        2 * time.Second,
		BackoffCoefficient:     2,
		MaximumInterval:        10 * time.Minute,
		NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeMessagingRefused}),
	},
}

// sendMessage sends one message through the messaging core. The message's key, fixed by the caller from
// what the workflow knows, makes every retry and replay the same message.
func sendMessage(ctx workflow.Context, in activities.SendInput) (activities.SendResult, error) {
	var res activities.SendResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, sendActivity), activities.A.SendMessage, in).Get(ctx, &res)
	return res, err
}

// SendOne sends one message a case worker asked for (through the API): its workflow id is the message's.
func SendOne(ctx workflow.Context, in activities.SendInput) (activities.SendResult, error) {
	return sendMessage(ctx, in)
}

// MessageCosts reads the cost of recently sent messages from the provider, which states it only once a
// message has gone. A Temporal Schedule runs it.
func MessageCosts(ctx workflow.Context) (int, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		HeartbeatTimeout:    LongestHeartbeat,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, MaximumAttempts: 3,
			NonRetryableErrorTypes: activities.PermanentErrors},
	})
	var n int
	err := workflow.ExecuteActivity(ctx, activities.A.FetchMessageCosts).Get(ctx, &n)
	return n, err
}

// broadcastRun is one broadcast's workflow state.
type broadcastRun struct {
	in    BroadcastInput
	state BroadcastState
	close bool
	// created is set once the broadcast's row is written.
	created bool
}

// Broadcast sends an emergency SMS to every member of a group with a UK mobile, then collects their
// replies until its reply window ends or someone closes it. Recipients are fixed first; shards then send
// in parallel, each at its share of the provider rate, each message once. Progress (sent, delivered,
// failed, replied) is read from the outbox by the API as it happens.
func Broadcast(ctx workflow.Context, in BroadcastInput) (BroadcastState, error) {
	b := &broadcastRun{in: in, state: BroadcastState{Phase: domain.BroadcastPreparing}}
	if in.Shards < 1 {
		return b.state, reject("shards", "at least 1")
	}
	if err := workflow.SetQueryHandler(ctx, QueryBroadcastState, func() (BroadcastState, error) { return b.state, nil }); err != nil {
		return b.state, err
	}
	// Closing stops the collection of replies: at once when the messages have gone (the answer waits for
	// it), else once they have (the answer says it is still sending).
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateCloseBroadcast, func(ctx workflow.Context) (BroadcastState, error) {
		b.close = true
		if b.state.Phase != domain.BroadcastCollecting {
			return b.state, nil
		}
		err := workflow.Await(ctx, func() bool { return b.state.Phase == domain.BroadcastClosed })
		return b.state, err
	}, workflow.UpdateHandlerOptions{Validator: func() error {
		if b.close || b.state.Phase == domain.BroadcastClosed {
			return invalidTransition("the broadcast is closed")
		}
		return nil
	}}); err != nil {
		return b.state, err
	}
	// The request that starts the broadcast waits until its row is written.
	if err := workflow.SetUpdateHandler(ctx, UpdateBroadcastCreated, func(ctx workflow.Context) (BroadcastState, error) {
		err := workflow.Await(ctx, func() bool { return b.created })
		return b.state, err
	}); err != nil {
		return b.state, err
	}
	return b.run(ctx)
}

func (b *broadcastRun) run(ctx workflow.Context) (BroadcastState, error) {
	db := workflow.WithActivityOptions(ctx, dbActivity)
	// The workflow writes its broadcast's row, so a broadcast is never left behind without one. Broadcasts
	// started before (and any started without a group, whose row was written beforehand) skip this.
	if b.in.GroupID != uuid.Nil && workflow.GetVersion(ctx, "broadcast-owns-row", workflow.DefaultVersion, 1) != workflow.DefaultVersion {
		if err := workflow.ExecuteActivity(db, activities.A.CreateBroadcast, domain.Broadcast{ID: b.in.BroadcastID,
			GroupID: b.in.GroupID, Body: b.in.Text, Keywords: b.in.Keywords, Rate: b.in.Rate, ReplyUntil: b.in.ReplyUntil,
			CreatedBy: b.in.CreatedBy, CreatedAt: b.in.CreatedAt}).Get(ctx, nil); err != nil {
			return b.state, err
		}
	}
	b.created = true
	if err := workflow.ExecuteActivity(db, activities.A.PrepareBroadcast, activities.PrepareBroadcastInput{
		BroadcastID: b.in.BroadcastID, Shards: b.in.Shards}).Get(ctx, &b.state.Recipients); err != nil {
		return b.state, err
	}
	b.state.Phase = domain.BroadcastSending
	send := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 24 * time.Hour,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2,
			MaximumInterval: 5 * time.Minute, NonRetryableErrorTypes: slices.Concat(activities.PermanentErrors, []string{activities.TypeMessagingRefused})},
	})
	rate := 0.0
	if b.in.Rate > 0 {
		rate = b.in.Rate / float64(b.in.Shards)
	}
	shards := make([]workflow.Future, b.in.Shards)
	for i := range shards {
		shards[i] = workflow.ExecuteActivity(send, activities.A.SendBroadcastShard, activities.BroadcastShardInput{
			BroadcastID: b.in.BroadcastID, Shard: i, Rate: rate, Text: b.in.Text})
	}
	var failed error
	for i, f := range shards {
		var r activities.BroadcastShardResult
		if err := f.Get(ctx, &r); err != nil {
			if failedForGood(ctx, err) {
				// Its recipients not handed over show as not sent; the broadcast goes on to collect the
				// replies of the others.
				workflow.GetLogger(ctx).Error("broadcast: a shard failed for good", "broadcast", b.in.BroadcastID,
					"shard", i, "error", err)
				continue
			}
			failed = err // the other shards still finish: nobody is left out because one shard failed
			continue
		}
		b.state.Handed += r.Handed
		b.state.Suppressed += r.Suppressed
		b.state.Failed += r.Failed
	}
	if failed != nil {
		return b.state, failed
	}
	// Collecting from here: a close arriving while the status is written waits for the broadcast to close.
	b.state.Phase = domain.BroadcastCollecting
	if err := b.setStatus(ctx, domain.BroadcastCollecting); err != nil {
		return b.state, err
	}
	if wait := b.in.ReplyUntil.Sub(workflow.Now(ctx)); wait > 0 {
		if _, err := workflow.AwaitWithTimeout(ctx, wait, func() bool { return b.close }); err != nil {
			return b.state, err
		}
	}
	if err := b.setStatus(ctx, domain.BroadcastClosed); err != nil {
		return b.state, err
	}
	return b.state, workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
}

func (b *broadcastRun) setStatus(ctx workflow.Context, status string) error {
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), activities.A.SetBroadcastStatus,
		activities.SetBroadcastStatusInput{BroadcastID: b.in.BroadcastID, Status: status, At: workflow.Now(ctx).UTC()}).Get(ctx, nil)
	if err == nil {
		b.state.Phase = status
	}
	return err
}
