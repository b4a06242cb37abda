package api_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

// The console sends an Idempotency-Key on every write, one per user action: a double click sends the
// form once (its button waits for the answer); when that answer is lost, the user's retry with the same
// values sends the same key and is carried out once; changed values are a new action with a new key. The
// console's own code runs in Node against the real API.
func TestConsoleSendsIdempotencyKeyPerAction(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the console's code cannot run here")
	}
	e := newEnv(t)
	dir := filepath.Join(testenv.RepoRoot(), "api")
	out, err := exec.Command(node, filepath.Join(dir, "testdata", "console_actions.js"), filepath.Join(dir, "ui", "app.js"),
		e.url, e.tokens[domain.RoleCaseWorker]).Output()
	var exitErr *exec.ExitError
	if errorsAs(err, &exitErr) {
		t.Fatalf("node: %v\n%s", err, exitErr.Stderr)
	}
	require.NoError(t, err)
	var sent []struct {
		Method, Path, Key string
		Status            int
	}
	require.NoError(t, json.Unmarshal(out, &sent), "%s", out)
	var writes []int
	for i, r := range sent {
		if r.Method == "GET" {
			assert.Empty(t, r.Key, "a read carries no key: %s", r.Path)
			continue
		}
		require.Equal(t, "/api/v1/persons", r.Path)
		writes = append(writes, i)
	}
	require.Len(t, writes, 3, "%s", out)
	first, retry, other := sent[writes[0]], sent[writes[1]], sent[writes[2]]
	assert.NotEmpty(t, first.Key)
	assert.Equal(t, first.Key, retry.Key, "the retry of a lost answer sends the same key")
	assert.NotEqual(t, first.Key, other.Key, "other values are another action")
	assert.Equal(t, 201, retry.Status, "the retry is answered as the first was")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM persons WHERE last_name = 'Hopper'`), "persons made by a double click and a retry")
	assert.Equal(t, 1, e.count(`SELECT count(*) FROM persons WHERE last_name = 'Hopper-Murray'`))
}
