package sendgridsim_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/sim/sendgridsim"
)

// The simulator keeps a mail's content parts in the order sent, and refuses text/html before
// text/plain, as SendGrid does.
func TestContentPartsRecordedInOrder(t *testing.T) {
	h := start(t, 0)
	_, err := h.sg.Send(context.Background(), email("m-parts", "jane@example.com"))
	require.NoError(t, err)
	msgs := h.sim.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, []sendgridsim.ContentPart{
		{Type: "text/plain", Value: "Dear applicant,\nplease complete your form."},
		{Type: "text/html", Value: "<p>Dear applicant, please <b>complete</b> your form.</p>"},
	}, msgs[0].Content)

	st, _, body := h.do("POST", "/v3/mail/send", map[string]any{
		"personalizations": []any{map[string]any{"to": []any{map[string]any{"email": "jane@example.com"}}}},
		"from":             map[string]any{"email": "vetting@example.org"}, "subject": "s",
		"content": []any{map[string]any{"type": "text/html", "value": "<p>x</p>"}, map[string]any{"type": "text/plain", "value": "x"}}})
	assert.Equal(t, http.StatusBadRequest, st, "%s", body)
	assert.Contains(t, string(body), `"field":"content.1.type"`)
	assert.Len(t, h.sim.Messages(), 1, "nothing stored")
}
