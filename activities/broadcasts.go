package activities

import (
	"context"

	"github.com/signetassure/signetassure/domain"
)

// CreateBroadcast writes a broadcast's row, as its workflow's first step: a broadcast exists in the
// database only once its workflow runs, so none is left behind by a request whose workflow never
// started. Writing it again returns the row written (a retried activity).
func (a *Activities) CreateBroadcast(ctx context.Context, b domain.Broadcast) error {
	_, err := a.Store.CreateBroadcast(ctx, b.CreatedBy, b)
	return nonRetryable(err)
}
