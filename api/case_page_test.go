package api_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
)

// A case names its subject, owner and opener, and offers the validity the level policy allows a
// clearance recorded today at the requested level and each level below it (the console's outcome form
// starts from the first); the timeline names the owner assigned and keeps the text of an information
// request and the note of its answer.
func TestCaseViewNamesPeopleAndValidity(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	person := e.createPerson("Nora", "Named", "1979-03-03")
	ref := e.openCase(person, "upgrade", "SC")
	officer := e.users[domain.RoleVettingOfficer]
	e.must(200, domain.RoleVettingOfficer, "POST", "/api/v1/cases/"+ref+"/owner", map[string]any{"ownerId": officer.ID.String()})
	due := time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/information-requests",
		map[string]any{"description": "Your addresses for the last five years", "dueDate": due})
	c := e.must(200, domain.RoleCaseWorker, "POST", "/api/v1/cases/"+ref+"/information-received",
		map[string]any{"note": "Five addresses sent by post"})

	assert.Equal(t, "Nora Named", c["personName"])
	assert.Equal(t, officer.DisplayName, c["ownerName"])
	assert.Equal(t, e.users[domain.RoleCaseWorker].DisplayName, c["openedByName"])

	today := domain.DateOf(time.Now().UTC())
	validity, _ := c["validity"].([]any)
	require.Len(t, validity, 3, "SC and the levels below it: %v", c["validity"])
	var levels []any
	for _, v := range validity {
		levels = append(levels, v.(map[string]any)["level"])
	}
	assert.Equal(t, []any{"SC", "CTC", "BPSS"}, levels, "the requested level first")
	sc := validity[0].(map[string]any)
	assert.Equal(t, "10 years", sc["maxValidity"])
	assert.Equal(t, map[string]any{"years": float64(10)}, sc["period"])
	assert.Equal(t, today.String(), sc["validFrom"])
	assert.Equal(t, today.AddYears(10).String(), sc["validTo"])
	assert.Equal(t, today.AddYears(3).String(), validity[2].(map[string]any)["validTo"], "BPSS: 3 years")

	details := map[string]map[string]any{}
	for _, ev := range c["timeline"].([]any) {
		m := ev.(map[string]any)
		d, _ := m["detail"].(map[string]any)
		details[m["kind"].(string)] = d
	}
	assert.Equal(t, officer.DisplayName, details["owner_assigned"]["ownerName"])
	assert.Equal(t, "Your addresses for the last five years", details["information_requested"]["description"])
	assert.Equal(t, "Five addresses sent by post", details["information_received"]["note"])

	// The OpenAPI document describes the new fields.
	doc := string(e.call("", "GET", "/api/openapi.json", nil).body)
	for _, f := range []string{`"personName"`, `"ownerName"`, `"openedByName"`, `"delegatedSiteName"`, `"validity"`, `"maxValidity"`} {
		assert.Contains(t, doc, f, "the OpenAPI document names %s", f)
	}

	// The read answers alike.
	got := e.must(200, domain.RoleAuditor, "GET", "/api/v1/cases/"+ref, nil)
	assert.Equal(t, "Nora Named", got["personName"])
	assert.Equal(t, officer.DisplayName, got["ownerName"])
}
