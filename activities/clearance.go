package activities

import (
	"context"

	"github.com/google/uuid"
)

// SupersededClearances returns the ids of the clearances a clearance superseded when it was recorded (the
// person's earlier clearance at its level), so their lifecycle workflows can be told to end.
func (a *Activities) SupersededClearances(ctx context.Context, clearanceID uuid.UUID) ([]uuid.UUID, error) {
	ids, err := a.Store.SupersededBy(ctx, clearanceID)
	return ids, nonRetryable(err)
}
