package restacs_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/restacs"
)

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		want string
		edit func(c *restacs.Config)
	}{
		{"system: required", func(c *restacs.Config) { c.System = "" }},
		{`baseURL: "ftp://x" is not an http(s) URL`, func(c *restacs.Config) { c.BaseURL = "ftp://x" }},
		{"auth.value: required", func(c *restacs.Config) { c.Auth.Value = "" }},
		{"auth.value: ${token} needs auth.login", func(c *restacs.Config) { c.Auth.Value = "Bearer ${token}" }},
		{"time.format:", func(c *restacs.Config) { c.Time.Format = "iso" }},
		{"time.zone:", func(c *restacs.Config) { c.Time.Zone = "Mars/Olympus_Mons" }},
		{"time.unbounded:", func(c *restacs.Config) { c.Time.Unbounded = "blank" }},
		{"users.fields.firstName: required", func(c *restacs.Config) { delete(c.Users.Fields, "firstName") }},
		{"users.fields.middleName: unknown field", func(c *restacs.Config) { c.Users.Fields["middleName"] = restacs.Field{Path: "m"} }},
		{"users.fields.id.pattern:", func(c *restacs.Config) { c.Users.Fields["id"] = restacs.Field{Path: "href", Pattern: "(["} }},
		{"users.fields.email: active and inactive values belong to the active field only", func(c *restacs.Config) {
			c.Users.Fields["email"] = restacs.Field{Path: "e", Active: "A"}
		}},
		{"users.fields.locationId.write: unknown variable ${divisionId}", func(c *restacs.Config) {
			c.Users.Fields["locationId"] = restacs.Field{Path: "division.href", Write: "${baseURL}/api/divisions/${divisionId}"}
		}},
		{`users.get: "FETCH /api/cardholders/{id}"`, func(c *restacs.Config) { c.Users.Get = "FETCH /api/cardholders/{id}" }},
		{"users.delete: required", func(c *restacs.Config) { c.Users.Delete = "" }},
		{"users.paging.style:", func(c *restacs.Config) { c.Users.Paging.Style = "pages" }},
		{"users.paging.offset: required", func(c *restacs.Config) { c.Users.Paging = restacs.Paging{Style: "offset", Limit: "limit"} }},
		{"users.create.id: header or path required", func(c *restacs.Config) { c.Users.Create.ID = restacs.IDSource{} }},
		{"users.update.send:", func(c *restacs.Config) { c.Users.Update.Send = "diff" }},
		{"access.style:", func(c *restacs.Config) { c.Access.Style = "merge" }},
		{"access.put: required for style put-set", func(c *restacs.Config) { c.Access.Style = "put-set" }},
		{"access.read.fields.levelId: required", func(c *restacs.Config) { delete(c.Access.Read.Fields, "levelId") }},
		{"access.patch.add.item: unknown variable ${levelID}", func(c *restacs.Config) {
			c.Access.Patch.Add.Item = map[string]any{"accessGroup": map[string]any{"href": "${baseURL}/api/access_groups/${levelID}"}}
		}},
		{"access.patch.remove.item: uses ${ref}, so access.read.fields.ref is required", func(c *restacs.Config) { delete(c.Access.Read.Fields, "ref") }},
		{"catalogue.levels.list: required", func(c *restacs.Config) { c.Catalogue.Levels.List = "" }},
		{"events.fields.at: required", func(c *restacs.Config) { delete(c.Events.Fields, "at") }},
		{"events.since: required", func(c *restacs.Config) { c.Events.Since = "" }},
		{"events.granted: required", func(c *restacs.Config) { c.Events.Granted = nil }},
		{"events.fields.type: required with events.granted", func(c *restacs.Config) { delete(c.Events.Fields, "type") }},
		{"webhook.secret: name the secret", func(c *restacs.Config) { c.Webhook.Secret = "whsec_c2VjcmV0" }},
	} {
		t.Run(tc.want, func(t *testing.T) {
			cfg, err := restacs.Example("gallagher")
			require.NoError(t, err)
			tc.edit(&cfg)
			err = cfg.Validate()
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)

			// Load gives the same answer for the same configuration written out.
			data, err := yaml.Marshal(cfg)
			require.NoError(t, err)
			_, err = restacs.Load(data)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLoadRefusesUnknownKeysAndReadsJSON(t *testing.T) {
	data, err := restacs.Examples.ReadFile("examples/gallagher.yaml")
	require.NoError(t, err)
	_, err = restacs.Load([]byte(strings.Replace(string(data), "  find: externalId", "  search: externalId", 1)))
	require.ErrorContains(t, err, `unknown field "search"`)

	// The same configuration as JSON.
	cfg, err := restacs.Example("gallagher")
	require.NoError(t, err)
	asJSON, err := json.Marshal(cfg)
	require.NoError(t, err)
	again, err := restacs.Load(asJSON)
	require.NoError(t, err)
	require.Equal(t, cfg.Users.Fields, again.Users.Fields)
	require.Equal(t, cfg.Access.Patch.Add.At, again.Access.Patch.Add.At)
}

func TestNewNeedsEverySecret(t *testing.T) {
	cfg, err := restacs.Example("gallagher")
	require.NoError(t, err)
	_, err = restacs.New(cfg, func(name string) string {
		return map[string]string{"GALLAGHER_URL": "http://127.0.0.1:1"}[name]
	}, fastRetries)
	require.ErrorContains(t, err, "auth.value: secret GALLAGHER_API_KEY is not set")

	_, err = restacs.New(cfg, func(name string) string {
		return map[string]string{"GALLAGHER_URL": "http://127.0.0.1:1", "GALLAGHER_API_KEY": "k", "GALLAGHER_WEBHOOK_SECRET": "not base64!"}[name]
	}, fastRetries)
	require.ErrorContains(t, err, "webhook.secret: GALLAGHER_WEBHOOK_SECRET is not")
	require.NotContains(t, err.Error(), "not base64!")

	_, err = restacs.New(cfg, func(name string) string {
		return map[string]string{"GALLAGHER_URL": "not a url", "GALLAGHER_API_KEY": "k", "GALLAGHER_WEBHOOK_SECRET": webhookSecret}[name]
	}, fastRetries)
	require.ErrorContains(t, err, "baseURL:")
}
