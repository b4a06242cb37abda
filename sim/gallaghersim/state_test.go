package gallaghersim_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/sim/gallaghersim"
)

// A restarted simulator keeps its cardholders under their ids, and a new one never takes an id given
// before.
func TestRestartKeepsCardholderIDs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sim", "gallagher.json")
	start := func() *client {
		sim := gallaghersim.New(gallaghersim.Options{APIKey: key, Seed: true})
		require.NoError(t, sim.KeepState(path, func(err error) { t.Error(err) }))
		return &client{t, httptest.NewServer(sim.Handler()), sim}
	}
	stop := func(c *client) { c.srv.Close(); c.sim.Close() }
	c := start()
	ada := c.create(`{"firstName":"Ada","lastName":"Lovelace","authorised":true,"division":{"href":"x/api/divisions/3"}}`)
	stop(c)

	c = start()
	defer stop(c)
	resp, ch := c.do("GET", "/api/cardholders/"+ada, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "Ada", ch["firstName"])
	bob := c.create(`{"firstName":"Bob","lastName":"Sample","authorised":true,"division":{"href":"x/api/divisions/3"}}`)
	require.NotEqual(t, ada, bob)
	require.Len(t, c.sim.State().Cardholders, 5) // three seeded, Ada and Bob
}
