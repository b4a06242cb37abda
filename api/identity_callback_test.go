package api_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"

	"github.com/signetassure/signetassure/sim/signicatsim"
)

// temporalOutage is the API's Temporal client, whose signals go to a Temporal server that does not
// answer (an address nothing listens on) while down is set.
type temporalOutage struct {
	client.Client
	dead      client.Client
	down      atomic.Bool
	delivered atomic.Int32
}

func newTemporalOutage(t *testing.T, live client.Client) *temporalOutage {
	t.Helper()
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	t.Cleanup(dead.Close)
	return &temporalOutage{Client: live, dead: dead}
}

func (o *temporalOutage) SignalWorkflow(ctx context.Context, id, run, name string, arg any) error {
	if o.down.Load() {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		return o.dead.SignalWorkflow(ctx, id, run, name, arg)
	}
	err := o.Client.SignalWorkflow(ctx, id, run, name, arg)
	if err == nil {
		o.delivered.Add(1)
	}
	return err
}

// withoutPolling makes the identity check wait an hour before reading the process itself: only a
// callback passed on wakes it.
func withoutPolling(e *env) {
	e.identity.Plan.PollFirst, e.identity.Plan.PollMax = time.Hour, time.Hour
}

// A callback that cannot be passed on to the identity check (Temporal unreachable) is answered 503, so
// Signicat tries again; its retry, once Temporal answers, passes it on and wakes the check.
func TestIdentityCallbackRetriedWhileTemporalUnreachable(t *testing.T) {
	t.Parallel()
	var sim *signicatsim.Sim
	e := newEnv(t, withIdentity(&sim), withoutPolling)
	outage := newTemporalOutage(t, e.tc)
	outage.down.Store(true)
	e.start(e.st, outage) // the API the provider calls back at signals through the outage
	ref, check := e.identityCase()
	capture(t, check["captureUrl"].(string), "accepted", "1985-12-10")

	e.eventually(10*time.Second, func() bool { return sim.Stats().CallbacksFailed >= 1 },
		func() string { return "the callback was not refused while Temporal was unreachable" })
	assert.Equal(t, 0, sim.Stats().CallbacksSent, "no callback was acknowledged while it could not be passed on")
	assert.Contains(t, sim.State().Dossiers[0].Processes[0].Callback, "503")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM identity_callbacks WHERE passed_at IS NULL`))

	outage.down.Store(false) // Temporal is back before Signicat's next try
	c := e.waitStatus(ref, "with_officer")
	assert.Equal(t, "accepted", identityResult(t, c)["detail"].(map[string]any)["status"])
	assert.Equal(t, 1, sim.Stats().CallbacksSent, "the retry was acknowledged")
	assert.EqualValues(t, 1, outage.delivered.Load(), "the retry passed the callback on")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM identity_callbacks WHERE passed_at IS NOT NULL`))

}
