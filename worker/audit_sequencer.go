package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/signetassure/signetassure/audit"
	"github.com/signetassure/signetassure/store"
)

// SequenceAudit runs the audit log's sequencer every interval until ctx ends: new entries become leaves of
// the Merkle tree and, with a signing key, a new checkpoint is signed within an interval of their commit.
// Every worker runs it; one at a time does the work (the others find it busy).
func SequenceAudit(ctx context.Context, st *store.Store, keys audit.Keys, origin string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := st.SequenceAudit(ctx, keys, origin); err != nil && ctx.Err() == nil {
			log.Error("audit sequencer", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
