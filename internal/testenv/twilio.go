package testenv

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signetassure/signetassure/sim/twiliosim"
)

// TwilioForProcess starts a Twilio simulator that accepts messages and moves none past queued, and a sink
// for the status callbacks it would send, both stopped when the test ends. It returns the simulator and
// the environment a signetassure process sends SMS through it with (TWILIO_*, PUBLIC_URL).
func TwilioForProcess(t testing.TB) (*twiliosim.Sim, map[string]string) {
	t.Helper()
	const token = "processtoken"
	sim := twiliosim.New(twiliosim.Options{AuthToken: token, DeliveryDelay: -1})
	api := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { api.Close(); sim.Close() })
	// With no delivery steps simulated, nothing calls back; a process still needs somewhere to name.
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(public.Close)
	return sim, map[string]string{
		"TWILIO_ACCOUNT_SID": twiliosim.DefaultAccountSID,
		"TWILIO_AUTH_TOKEN":  token,
		"TWILIO_FROM":        "+447400000000",
		"TWILIO_API_URL":     api.URL,
		"PUBLIC_URL":         public.URL,
	}
}
