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

// MarkNotificationsRead marks a user's notifications read: those of ids, or every one when all. A
// notification read already keeps the time it was read; another user's is never touched. It returns how
// many were marked now.
func (s *Store) MarkNotificationsRead(ctx context.Context, userID uuid.UUID, ids []string, all bool) (int, error) {
	if ids == nil {
		ids = []string{}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE staff_notifications SET read_at = now()
		WHERE user_id = $1 AND read_at IS NULL AND ($3 OR id = ANY($2))`, userID, ids, all)
	return int(tag.RowsAffected()), err
}

// CasePersons maps case references to the persons the cases are about (a reference of no case is left out).
func (s *Store) CasePersons(ctx context.Context, refs []string) (map[string]uuid.UUID, error) {
	out := map[string]uuid.UUID{}
	if len(refs) == 0 {
		return out, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT case_ref, person_id FROM vetting_cases WHERE case_ref = ANY($1)`, refs)
	var ref string
	var id uuid.UUID
	_, err := pgx.ForEachRow(rows, []any{&ref, &id}, func() error { out[ref] = id; return nil })
	return out, err
}
