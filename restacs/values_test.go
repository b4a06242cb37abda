package restacs

import (
	"encoding/json"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/require"
)

// A path segment is a key as it is: '@' (Gallagher's personal data fields, "@<PDF name>" at the
// cardholder's root) and spaces are part of the key; only dots split.
func TestPathsAddressKeysStartingWithAt(t *testing.T) {
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"@externalId":"sa:1","@Student ID":"8904640",
		"personalDataFields":{"externalId":"nested"},"cards":[{"@pin":"1"}]}`), &doc))
	require.Equal(t, "sa:1", get(doc, "@externalId"))
	require.Equal(t, "8904640", get(doc, "@Student ID"))
	require.Equal(t, "nested", get(doc, "personalDataFields.externalId"))
	require.Equal(t, []any{"1"}, lookup(doc, "cards.*.@pin"))
	require.Nil(t, get(doc, "externalId"), "the '@' is part of the key")

	body := map[string]any{}
	set(body, "@email", "ada@example.org")
	set(body, "a.@b", "c")
	out, err := json.Marshal(body)
	require.NoError(t, err)
	require.JSONEq(t, `{"@email":"ada@example.org","a":{"@b":"c"}}`, string(out))
}

// In YAML a plain value cannot start with '@': quoted, the path loads as written, bare or in the object form.
func TestFieldPathWithAtLoadsFromYAML(t *testing.T) {
	var f struct {
		Bare   Field `yaml:"bare"`
		Object Field `yaml:"object"`
	}
	require.NoError(t, yaml.Unmarshal([]byte("bare: \"@externalId\"\nobject: {path: \"@email\"}\n"), &f))
	require.Equal(t, "@externalId", f.Bare.Path)
	require.Equal(t, "@email", f.Object.Path)

	cfg, err := Example("gallagher")
	require.NoError(t, err)
	require.Equal(t, "@externalId", cfg.Users.Fields["externalId"].Path)
	require.Equal(t, "@employeeNumber", cfg.Users.Fields["employeeNumber"].Path)
	require.Equal(t, "@email", cfg.Users.Fields["email"].Path)
	require.Equal(t, "empty", cfg.Time.Unbounded)
}
