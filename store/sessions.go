package store

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// sessionPrefix marks console session secrets, as tokenPrefix marks tokens.
const sessionPrefix = "sas_"

// SessionLimits end console sessions: after Idle without a request, and Absolute after sign-in
// whatever happens.
type SessionLimits struct{ Idle, Absolute time.Duration }

// The session limits unless configured: a working day at most, and half an hour away from the desk.
const (
	DefaultSessionIdle     = 30 * time.Minute
	DefaultSessionAbsolute = 12 * time.Hour
)

// sessionStart describes a session to open: for whom, how they signed in, and within which scopes
// (nil: all their roles give).
type sessionStart struct {
	UserID   uuid.UUID
	Method   string
	Scopes   []domain.StaffScope
	Absolute time.Duration
}

// startSession opens a console session in tx and returns its secret, for the cookie; only its SHA-256
// is kept. Each sign-in makes a new session (a new id), never reusing one the browser brought. The
// sign-in is audited in tx.
func startSession(ctx context.Context, tx pgx.Tx, actor Actor, s sessionStart) (string, uuid.UUID, error) {
	secret := newSecret(sessionPrefix)
	id := uuid.New()
	if _, err := tx.Exec(ctx, `INSERT INTO staff_sessions (id, secret_hash, user_id, method, scopes, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval)`, id, hashToken(secret), s.UserID, s.Method, s.Scopes,
		s.Absolute.String()); err != nil {
		return "", id, err
	}
	if _, err := tx.Exec(ctx, `UPDATE staff_users SET last_sign_in_at = now() WHERE id = $1`, s.UserID); err != nil {
		return "", id, err
	}
	return secret, id, writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "session.start", EntityType: "staff_user",
		EntityID: s.UserID.String(), Detail: map[string]any{"sessionId": id, "method": s.Method, "scopes": s.Scopes}})
}

// StartTokenSession opens a console session for the holder of a token (its credential c, found by
// CredentialByToken), within the token's scopes.
func (s *Store) StartTokenSession(ctx context.Context, c Credential, absolute time.Duration) (string, error) {
	var secret string
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		var err error
		secret, _, err = startSession(ctx, tx, &c.User.ID, sessionStart{UserID: c.User.ID, Method: "token",
			Scopes: c.Scopes, Absolute: absolute})
		return err
	})
	return secret, err
}

// CredentialBySession finds the active user of a live console session: not ended, within its absolute
// limit, and used within idle. ErrNotFound covers unknown, ended and timed-out sessions alike. The
// session's last use is recorded to the quarter minute, which the idle limit runs from.
func (s *Store) CredentialBySession(ctx context.Context, secret string, idle time.Duration) (Credential, error) {
	var c Credential
	var lastSeen time.Time
	var scoped bool
	err := s.pool.QueryRow(ctx, `SELECT `+qualifiedUserCols+`, ss.id, ss.scopes, ss.last_seen_at, `+scopedCol+`
		FROM staff_sessions ss JOIN staff_users u ON u.id = ss.user_id
		WHERE ss.secret_hash = $1 AND u.active AND ss.ended_at IS NULL AND ss.expires_at > now()
		AND ss.last_seen_at > now() - $2::interval`,
		hashToken(secret), idle.String()).Scan(append(userFields(&c.User), &c.SessionID, &c.Scopes, &lastSeen, &scoped)...)
	if err != nil {
		return c, classify(err)
	}
	c.reach(scoped)
	if time.Since(lastSeen) > 15*time.Second {
		_, err = s.pool.Exec(ctx, `UPDATE staff_sessions SET last_seen_at = now() WHERE id = $1`, c.SessionID)
	}
	return c, err
}

// EndSession ends one of a user's sessions (signing out); one ended already stays as it was.
func (s *Store) EndSession(ctx context.Context, actor Actor, userID, sessionID uuid.UUID) error {
	return s.tx(ctx, &AuditEntry{Actor: actor, Action: "session.end", EntityType: "staff_user", EntityID: userID.String(),
		Detail: map[string]any{"sessionId": sessionID, "reason": "signed_out"}}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE staff_sessions SET ended_at = now(), end_reason = 'signed_out'
			WHERE id = $1 AND user_id = $2 AND ended_at IS NULL`, sessionID, userID)
		return err
	})
}

// EndSessions ends every live session of a user at once (sign-out everywhere, or an administrator's
// doing) and reports how many there were.
func (s *Store) EndSessions(ctx context.Context, actor Actor, userID uuid.UUID, reason string) (int64, error) {
	var n int64
	err := s.tx(ctx, nil, func(tx pgx.Tx) error {
		var err error
		if n, err = endSessions(ctx, tx, userID, reason); err != nil {
			return err
		}
		return writeAudit(ctx, tx, AuditEntry{Actor: actor, Action: "session.end_all", EntityType: "staff_user",
			EntityID: userID.String(), Detail: map[string]any{"reason": reason, "sessions": n}})
	})
	return n, err
}

// endSessions ends a user's live sessions in tx.
func endSessions(ctx context.Context, tx pgx.Tx, userID uuid.UUID, reason string) (int64, error) {
	tag, err := tx.Exec(ctx, `UPDATE staff_sessions SET ended_at = now(), end_reason = $2
		WHERE user_id = $1 AND ended_at IS NULL`, userID, reason)
	return tag.RowsAffected(), err
}

// Sessions lists a user's console sessions, newest first: live ones and those ended in the last 30 days.
func (s *Store) Sessions(ctx context.Context, userID uuid.UUID) ([]domain.StaffSession, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id, method, created_at, last_seen_at, expires_at, ended_at, coalesce(end_reason, '')
		FROM staff_sessions WHERE user_id = $1 AND (ended_at IS NULL OR ended_at > now() - interval '30 days')
		ORDER BY created_at DESC, id LIMIT 200`, userID)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (domain.StaffSession, error) {
		var ss domain.StaffSession
		err := r.Scan(&ss.ID, &ss.Method, &ss.CreatedAt, &ss.LastSeenAt, &ss.ExpiresAt, &ss.EndedAt, &ss.EndReason)
		return ss, err
	})
}
