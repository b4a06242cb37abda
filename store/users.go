package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

const userCols = `id, display_name, email, roles, active`

func scanUser(r pgx.CollectableRow) (domain.StaffUser, error) {
	var u domain.StaffUser
	err := r.Scan(&u.ID, &u.DisplayName, &u.Email, &u.Roles, &u.Active)
	return u, err
}

// CreateUser adds a staff user.
func (s *Store) CreateUser(ctx context.Context, actor Actor, u domain.StaffUser) (domain.StaffUser, error) {
	if u.ID == uuid.Nil {
		u.ID = uuid.New()
	}
	audit := &AuditEntry{Actor: actor, Action: "user.create", EntityType: "staff_user", EntityID: u.ID.String(),
		Detail: map[string]any{"roles": u.Roles}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO staff_users (id, display_name, email, roles, active) VALUES ($1, $2, $3, $4, $5)`,
			u.ID, u.DisplayName, u.Email, u.Roles, u.Active)
		return err
	})
	return u, err
}

func (s *Store) User(ctx context.Context, id uuid.UUID) (domain.StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, classify(err)
}

func (s *Store) UserByEmail(ctx context.Context, email string) (domain.StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE email = $1`, email)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, classify(err)
}

// Users lists active staff users holding role (any role when role is empty).
func (s *Store) Users(ctx context.Context, role domain.Role) ([]domain.StaffUser, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+userCols+` FROM staff_users
		WHERE active AND ($1 = '' OR $1 = ANY (roles)) ORDER BY display_name`, string(role))
	return pgx.CollectRows(rows, scanUser)
}

// tokenPrefix marks SignetAssure staff tokens, so secret scanners can recognise a leaked one.
const tokenPrefix = "sat_"

// IssueToken creates an API token for a user and returns its secret, which is shown once: only its
// SHA-256 is kept.
func (s *Store) IssueToken(ctx context.Context, actor Actor, userID uuid.UUID, name string, expires *time.Time) (string, error) {
	secret, hash := newTokenSecret()
	id := uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "token.issue", EntityType: "staff_user", EntityID: userID.String(),
		Detail: map[string]any{"tokenId": id, "name": name}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			id, userID, name, hash, expires)
		return err
	})
	return secret, err
}

// newTokenSecret makes a token's secret (256 random bits) and the SHA-256 kept of it.
func newTokenSecret() (secret string, hash []byte) {
	raw := make([]byte, 32)
	rand.Read(raw)
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	return secret, hashToken(secret)
}

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// UserByToken finds the active user whose live token secret is given. ErrNotFound covers unknown,
// revoked and expired tokens alike. The token's last use is recorded to the minute.
func (s *Store) UserByToken(ctx context.Context, secret string) (domain.StaffUser, error) {
	var u domain.StaffUser
	var tokenID uuid.UUID
	var lastUsed *time.Time
	err := s.pool.QueryRow(ctx, `SELECT u.id, u.display_name, u.email, u.roles, u.active, t.id, t.last_used_at
		FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND u.active AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())`,
		hashToken(secret)).Scan(&u.ID, &u.DisplayName, &u.Email, &u.Roles, &u.Active, &tokenID, &lastUsed)
	if err != nil {
		return u, classify(err)
	}
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		_, err = s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, tokenID)
	}
	return u, err
}

// BootstrapAdmin makes u the first administrator, with a token expiring at expires whose secret it
// returns, unless an active administrator exists already: then it changes nothing and created is false.
// The check and the writes hold one lock, so bootstraps run at once make one administrator.
func (s *Store) BootstrapAdmin(ctx context.Context, u domain.StaffUser, expires time.Time) (admin domain.StaffUser, token string, created bool, err error) {
	u.ID, u.Roles, u.Active = uuid.New(), []domain.Role{domain.RoleAdmin}, true
	token, hash := newTokenSecret()
	tokenID := uuid.New()
	err = classify(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('signetassure.admin-bootstrap'))`); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, `SELECT `+userCols+` FROM staff_users WHERE active AND $1 = ANY (roles) ORDER BY email LIMIT 1`,
			string(domain.RoleAdmin))
		existing, err := pgx.CollectRows(rows, scanUser)
		if err != nil || len(existing) > 0 {
			if len(existing) > 0 {
				admin = existing[0]
			}
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO staff_users (id, display_name, email, roles, active) VALUES ($1, $2, $3, $4, $5)`,
			u.ID, u.DisplayName, u.Email, u.Roles, u.Active); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			tokenID, u.ID, "bootstrap", hash, expires); err != nil {
			return err
		}
		admin, created = u, true
		return writeAudit(ctx, tx, AuditEntry{Action: "admin.bootstrap", EntityType: "staff_user", EntityID: u.ID.String(),
			Detail: map[string]any{"roles": u.Roles, "tokenId": tokenID, "expiresAt": expires.UTC()}})
	}))
	if err != nil || !created {
		token = ""
	}
	return admin, token, created, err
}
