package workflows

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/signetassure/signetassure/domain"
)

// A timeline event reaches ApplyCaseEvent whole: its CaseRef crosses the activity boundary (the payload
// in history) with the rest of it, and names the case the snapshot beside it is of.
func TestCaseEventKeepsItsCaseRefAcrossTheActivityBoundary(t *testing.T) {
	h := newCase(t, domain.LevelSC, defaultSLA(t, domain.LevelSC))
	owner := uuid.New()
	h.sendAt(0, UpdateCaseOpened)
	h.sendAt(time.Hour, UpdateAssignOwner, AssignOwner{Actor: uuid.New(), OwnerID: owner})
	h.sendAt(2*oneDay, UpdateRecordOutcome, clearedBy(owner, domain.LevelSC, domain.DateOf(testStart.Add(2*oneDay))))
	h.run()

	h.mu.Lock()
	defer h.mu.Unlock()
	require.NotEmpty(t, h.events)
	for _, in := range h.events {
		assert.Equal(t, h.in.CaseRef, in.Event.CaseRef, "event %d (%s) as the activity received it", in.Event.Seq, in.Event.Kind)
		assert.Equal(t, h.in.CaseRef, in.Case.CaseRef, "the snapshot beside event %d", in.Event.Seq)
	}
}
