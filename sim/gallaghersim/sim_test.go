package gallaghersim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/sim/gallaghersim"
)

const key = "k"

type client struct {
	t   *testing.T
	srv *httptest.Server
	sim *gallaghersim.Sim
}

func newSim(t *testing.T, o gallaghersim.Options) *client {
	o.APIKey = key
	sim := gallaghersim.New(o)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	return &client{t, srv, sim}
}

// do calls the simulator with the API key and decodes a JSON answer.
func (c *client) do(method, path, body string) (*http.Response, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "GGL-API-KEY "+key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp, out
}

func (c *client) create(body string) string {
	c.t.Helper()
	resp, _ := c.do("POST", "/api/cardholders", body)
	require.Equal(c.t, http.StatusCreated, resp.StatusCode)
	loc := resp.Header.Get("Location")
	require.True(c.t, strings.HasPrefix(loc, c.srv.URL+"/api/cardholders/"), loc)
	return loc[strings.LastIndex(loc, "/")+1:]
}

func TestAuth(t *testing.T) {
	c := newSim(t, gallaghersim.Options{})
	resp, err := http.Get(c.srv.URL + "/api/cardholders")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	req, _ := http.NewRequest("GET", c.srv.URL+"/api/cardholders", nil)
	req.Header.Set("Authorization", "GGL-API-KEY wrong")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestCardholderShapeAndAccessGroups(t *testing.T) {
	c := newSim(t, gallaghersim.Options{})
	id := c.create(`{"firstName":"Ada","lastName":"Lovelace","authorised":true,"division":{"href":"x/api/divisions/3"},
		"@externalId":"sa:1","@employeeNumber":"E1",
		"accessGroups":[{"accessGroup":{"href":"x/api/access_groups/5"},"from":"2025-01-06T09:00:00+01:00","until":"2025-03-31T23:59:59Z"}]}`)

	resp, ch := c.do("GET", "/api/cardholders/"+id, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	self := c.srv.URL + "/api/cardholders/" + id
	require.Equal(t, self, ch["href"])
	require.Equal(t, id, ch["id"])
	require.Equal(t, true, ch["authorised"])
	require.Equal(t, map[string]any{"href": c.srv.URL + "/api/divisions/3"}, ch["division"])
	// Personal data fields at the root, "@<name>", as Gallagher documents them.
	require.Equal(t, "sa:1", ch["@externalId"])
	require.Equal(t, "E1", ch["@employeeNumber"])
	require.NotContains(t, ch, "@email")
	require.NotContains(t, ch, "personalDataFields")
	groups := ch["accessGroups"].([]any)
	require.Len(t, groups, 1)
	m := groups[0].(map[string]any)
	require.True(t, strings.HasPrefix(m["href"].(string), self+"/access_groups/"))
	require.Equal(t, map[string]any{"name": "Lab A", "href": c.srv.URL + "/api/access_groups/5"}, m["accessGroup"])
	require.Equal(t, "2025-01-06T08:00:00Z", m["from"])
	require.Equal(t, "2025-03-31T23:59:59Z", m["until"])
	require.Contains(t, []any{"active", "expired", "pending"}, m["status"].(map[string]any)["type"])

	// A date without a zone designator is refused, and nothing of that PATCH is applied.
	resp, body := c.do("PATCH", "/api/cardholders/"+id, `{"lastName":"King","accessGroups":{"add":[{"accessGroup":{"href":"x/api/access_groups/6"},"until":"2025-03-31T23:59:59"}]}}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body["message"], "zone designator")
	_, ch = c.do("GET", "/api/cardholders/"+id, "")
	require.Equal(t, "Lovelace", ch["lastName"])

	// update changes only the keys given (null or "" clears); remove names the membership.
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"accessGroups":{"update":[{"href":"`+m["href"].(string)+`","until":null}],
		"add":[{"accessGroup":{"href":"x/api/access_groups/6"}}]}}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, ch = c.do("GET", "/api/cardholders/"+id, "")
	groups = ch["accessGroups"].([]any)
	require.Len(t, groups, 2)
	require.Equal(t, "2025-01-06T08:00:00Z", groups[0].(map[string]any)["from"])
	require.NotContains(t, groups[0].(map[string]any), "until")
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"accessGroups":{"update":[{"href":"`+m["href"].(string)+`","until":"2030-01-01T00:00:00Z"}]}}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"accessGroups":{"update":[{"href":"`+m["href"].(string)+`","until":""}]}}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode, "until \"\" clears, as documented")
	_, ch = c.do("GET", "/api/cardholders/"+id, "")
	require.NotContains(t, ch["accessGroups"].([]any)[0].(map[string]any), "until")

	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"accessGroups":{"remove":[{"href":"`+m["href"].(string)+`"}]}}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"accessGroups":{"remove":[{"href":"`+m["href"].(string)+`"}]}}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "that membership is gone")
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"@shoeSize":"9"}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "no such personal data field")
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"personalDataFields":{"email":"a@b.c"}}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "personal data fields go at the root, not nested")
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"@email":"ada@example.org"}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, ch = c.do("GET", "/api/cardholders/"+id, "")
	require.Equal(t, "ada@example.org", ch["@email"])
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"@email":null}`)
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	_, ch = c.do("GET", "/api/cardholders/"+id, "")
	require.NotContains(t, ch, "@email")
	resp, _ = c.do("PATCH", "/api/cardholders/"+id, `{"nickname":"A"}`)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "unknown keys are refused")

	// Held by an operator: changes are 409, reads still work.
	require.NoError(t, c.sim.SetFaults(gallaghersim.Faults{HeldCardholders: []string{id}}))
	resp, body = c.do("PATCH", "/api/cardholders/"+id, `{"lastName":"King"}`)
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	require.Contains(t, body["message"], "operator")
	resp, _ = c.do("DELETE", "/api/cardholders/"+id, "")
	require.Equal(t, http.StatusConflict, resp.StatusCode)
	resp, _ = c.do("GET", "/api/cardholders/"+id, "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, c.sim.SetFaults(gallaghersim.Faults{}))
	resp, _ = c.do("DELETE", "/api/cardholders/"+id, "")
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, _ = c.do("GET", "/api/cardholders/"+id, "")
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestPagingAndFilter(t *testing.T) {
	c := newSim(t, gallaghersim.Options{})
	for range 5 {
		c.create(`{"firstName":"A","@externalId":"sa:same"}`)
	}
	c.create(`{"firstName":"B","@externalId":"sa:other"}`)

	var ids []any
	path := "/api/cardholders?top=2&externalId=sa:same"
	for path != "" {
		resp, page := c.do("GET", path, "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, r := range page["results"].([]any) {
			ids = append(ids, r.(map[string]any)["id"])
		}
		path = ""
		if next, ok := page["next"].(map[string]any); ok {
			path = strings.TrimPrefix(next["href"].(string), c.srv.URL)
		}
	}
	require.Len(t, ids, 5)
	resp, _ := c.do("GET", "/api/cardholders?top=0", "")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestFaults(t *testing.T) {
	c := newSim(t, gallaghersim.Options{})
	require.Error(t, c.sim.SetFaults(gallaghersim.Faults{FailRate: 2}))
	require.NoError(t, c.sim.SetFaults(gallaghersim.Faults{FailRate: 1}))
	seen := map[string]int{}
	for range 40 {
		req, _ := http.NewRequest("POST", c.srv.URL+"/api/cardholders", strings.NewReader(`{"firstName":"X"}`))
		req.Header.Set("Authorization", "GGL-API-KEY "+key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			seen["dropped"]++
			continue
		}
		resp.Body.Close()
		require.Equal(t, "1", resp.Header.Get("Retry-After"))
		seen[resp.Status]++
	}
	require.Len(t, seen, 3, "429, 503 and dropped: %v", seen)
	// A dropped POST was still saved: the client cannot know.
	require.Len(t, c.sim.State().Cardholders, seen["dropped"])

	require.NoError(t, c.sim.SetFaults(gallaghersim.Faults{LatencyMs: 30}))
	start := time.Now()
	resp, _ := c.do("GET", "/api/divisions", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.GreaterOrEqual(t, time.Since(start), 30*time.Millisecond)
}

func TestEventsAndControlAPI(t *testing.T) {
	now := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	c := newSim(t, gallaghersim.Options{Seed: true, Now: func() time.Time { return now }})
	st := c.sim.State()
	require.Len(t, st.Cardholders, 3)
	require.Len(t, st.Events, 2)
	grace := st.Cardholders[0].ID

	resp, page := c.do("GET", "/api/events?after=2025-02-01T09:00:00Z&top=1", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	ev := page["events"].([]any)[0].(map[string]any)
	require.Equal(t, "Access granted", ev["type"].(map[string]any)["name"])
	require.Equal(t, "Lab A In", ev["door"].(map[string]any)["name"])
	require.Equal(t, c.srv.URL+"/api/cardholders/"+grace, ev["cardholder"].(map[string]any)["href"])
	require.Contains(t, page, "next")
	resp, _ = c.do("GET", "/api/events?after=2025-02-01T09:00:00", "")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	_, page = c.do("GET", "/api/events?after=2025-02-01T09:00:01Z", "")
	require.Empty(t, page["events"])

	// The control API needs no key.
	post := func(path, body string) *http.Response {
		resp, err := http.Post(c.srv.URL+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusCreated, post("/sim/events", `{"cardholderId":"`+grace+`","door":"Lab B In"}`).StatusCode)
	require.Equal(t, http.StatusNotFound, post("/sim/events", `{"cardholderId":"`+grace+`","door":"Moon Base"}`).StatusCode)
	require.Equal(t, http.StatusCreated, post("/sim/cardholders/"+grace+"/access_groups", `{"accessGroupId":"6","until":"2025-03-01T00:00:00Z"}`).StatusCode)
	require.Equal(t, http.StatusNotFound, post("/sim/cardholders/999/access_groups", `{"accessGroupId":"6"}`).StatusCode)
	require.Equal(t, "Access granted", func() string { e, _ := c.sim.Swipe(grace, "Lab B In"); return e.Type }())

	req, _ := http.NewRequest("PUT", c.srv.URL+"/sim/faults", strings.NewReader(`{"latencyMs":0,"failRate":0.1,"duplicateWebhooks":true,"heldCardholders":["`+grace+`"]}`))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, gallaghersim.Faults{FailRate: 0.1, DuplicateWebhooks: true, HeldCardholders: []string{grace}}, c.sim.Faults())

	var stats gallaghersim.Stats
	resp, err = http.Get(c.srv.URL + "/sim/stats")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&stats))
	resp.Body.Close()
	require.Equal(t, 3, stats.Calls)
	require.Equal(t, 3, stats.ByRoute["GET /api/events"])
	require.Zero(t, stats.Writes)

	resp, err = http.Get(c.srv.URL + "/")
	require.NoError(t, err)
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(html), "Grace Hopper")
	require.Contains(t, string(html), "Lab B")

	var state gallaghersim.State
	resp, err = http.Get(c.srv.URL + "/sim/state")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&state))
	resp.Body.Close()
	require.Len(t, state.Events, 4)

	require.Equal(t, http.StatusNoContent, post("/sim/reset", "").StatusCode)
	require.Len(t, c.sim.State().Events, 2)
	require.Zero(t, c.sim.Stats().Calls)
	require.Zero(t, c.sim.Faults().FailRate)
}
