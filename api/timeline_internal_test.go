package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
)

// The API shows a timeline event as it always did: every field of domain.CaseEvent (the history payload)
// but its case reference, which the case it is shown with names already.
func TestTimelineEventIsTheCaseEventWithoutItsCaseRef(t *testing.T) {
	t.Parallel()
	actor := uuid.New()
	ev := domain.CaseEvent{CaseRef: domain.NewCaseRef(), Seq: 3, At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Kind: "note", ActorID: &actor, ActorName: "A. Officer", Summary: "a note", Detail: map[string]any{"text": "x"}}

	var history, shown map[string]any
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &history))
	b, err = json.Marshal(timeline([]domain.CaseEvent{ev})[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &shown))

	assert.Equal(t, ev.CaseRef, history["caseRef"], "the history payload names its case")
	assert.NotContains(t, shown, "caseRef")
	delete(history, "caseRef")
	assert.Equal(t, history, shown, "every other field of the event is shown, under the same name")
	assert.NotNil(t, timeline(nil), "an empty timeline is [], not null")
}
