package store

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// Notify stores notifications for staff users; one whose id exists already is not added again.
func (s *Store) Notify(ctx context.Context, ns []domain.Notification) error {
	return s.tx(ctx, nil, func(tx pgx.Tx) error {
		for _, n := range ns {
			if _, err := tx.Exec(ctx, `INSERT INTO staff_notifications (id, user_id, kind, case_ref, message, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING`,
				n.ID, n.UserID, n.Kind, n.CaseRef, n.Message, n.CreatedAt); err != nil {
				return err
			}
		}
		return nil
	})
}

// Notifications lists a user's notifications, newest first.
func (s *Store) Notifications(ctx context.Context, userID uuid.UUID, p Page) ([]domain.Notification, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, user_id, kind, case_ref, message, created_at, read_at
		FROM staff_notifications WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`,
		userID, p.Limit, p.Offset)
	return pgx.CollectRows(rows, pgx.RowToStructByPos[domain.Notification])
}
