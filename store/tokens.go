package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// tokenPrefix marks SignetAssure staff tokens, so secret scanners can recognise a leaked one.
const tokenPrefix = "sat_"

// IssueToken creates an API token for a user, able to do all their roles allow, and returns its secret,
// which is shown once: only its SHA-256 is kept.
func (s *Store) IssueToken(ctx context.Context, actor Actor, userID uuid.UUID, name string, expires *time.Time) (string, error) {
	return s.issueToken(ctx, actor, userID, name, expires, nil)
}

// issueToken issues a token limited to scopes (nil: all its holder's roles allow).
func (s *Store) issueToken(ctx context.Context, actor Actor, userID uuid.UUID, name string, expires *time.Time, scopes []domain.StaffScope) (string, error) {
	secret := newTokenSecret()
	id := uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "token.issue", EntityType: "staff_user", EntityID: userID.String(),
		Detail: map[string]any{"tokenId": id, "name": name, "scopes": scopes}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		return insertToken(ctx, tx, id, userID, name, secret, expires, scopes)
	})
	return secret, err
}

// newTokenSecret makes a token's secret: 256 random bits.
func newTokenSecret() string { return newSecret(tokenPrefix) }

// newSecret makes a secret of 256 random bits, marked by prefix.
func newSecret(prefix string) string {
	raw := make([]byte, 32)
	rand.Read(raw)
	return prefix + base64.RawURLEncoding.EncodeToString(raw)
}

// insertToken keeps a token: its SHA-256 and the first characters of its secret, never the secret.
func insertToken(ctx context.Context, tx pgx.Tx, id, userID uuid.UUID, name, secret string, expires *time.Time, scopes []domain.StaffScope) error {
	_, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, expires_at, scopes)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id, userID, name, hashToken(secret), secret[:len(tokenPrefix)+6], expires, scopes)
	return err
}

func hashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Credential is who a request's token or console session is, and what it may do.
type Credential struct {
	User domain.StaffUser
	// Scopes limit it beyond the user's roles; nil: every scope the roles give.
	Scopes []domain.StaffScope
	// TokenID is the token's id; SessionID the session's (for a request signed in by a session).
	TokenID, SessionID uuid.UUID
	// Reach limits what a case worker sees where the organisation scopes case workers; nil: all.
	Reach *Reach
}

// scopedCol is, for a credential query joining staff_users u, whether the organisation scopes the user:
// it scopes case workers who hold no other role.
const scopedCol = `(SELECT scope_case_workers FROM organisation) AND u.roles = ARRAY['case_worker']::text[]`

// reach sets c.Reach when the organisation scopes its user.
func (c *Credential) reach(scoped bool) {
	if scoped {
		c.Reach = &Reach{LocationIDs: c.User.LocationIDs, SupplierIDs: c.User.SupplierIDs}
	}
}

// CredentialByToken finds the active user whose live token secret is given, and the token's scopes, in
// one indexed query. ErrNotFound covers unknown, revoked and expired tokens alike. The token's last use
// is recorded to the minute.
func (s *Store) CredentialByToken(ctx context.Context, secret string) (Credential, error) {
	var c Credential
	var lastUsed *time.Time
	var scoped bool
	err := s.pool.QueryRow(ctx, `SELECT `+qualifiedUserCols+`, t.id, t.scopes, t.last_used_at, `+scopedCol+`
		FROM api_tokens t JOIN staff_users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND u.active AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())`,
		hashToken(secret)).Scan(append(userFields(&c.User), &c.TokenID, &c.Scopes, &lastUsed, &scoped)...)
	if err != nil {
		return c, classify(err)
	}
	c.reach(scoped)
	if lastUsed == nil || time.Since(*lastUsed) > time.Minute {
		_, err = s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = now() WHERE id = $1`, c.TokenID)
	}
	return c, err
}

// UserByToken finds the active user whose live token secret is given (see CredentialByToken).
func (s *Store) UserByToken(ctx context.Context, secret string) (domain.StaffUser, error) {
	c, err := s.CredentialByToken(ctx, secret)
	return c.User, err
}

const tokenCols = `id, user_id, name, coalesce(prefix, ''),
	CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN expires_at <= now() THEN 'expired' ELSE 'active' END,
	created_at, expires_at, last_used_at, revoked_at, scopes`

func scanToken(r pgx.CollectableRow) (domain.APIToken, error) {
	var t domain.APIToken
	err := r.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Status, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt, &t.Scopes)
	return t, err
}

// Tokens lists a user's tokens, newest first, revoked and expired ones too.
func (s *Store) Tokens(ctx context.Context, userID uuid.UUID) ([]domain.APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
	return pgx.CollectRows(rows, scanToken)
}

// Token reads one of a user's tokens; another user's is ErrNotFound.
func (s *Store) Token(ctx context.Context, userID, tokenID uuid.UUID) (domain.APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = $1 AND id = $2`, userID, tokenID)
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	return t, classify(err)
}

// IssueNamedToken issues a user a token limited to scopes, expiring at expires, and returns it with its
// secret, shown once.
func (s *Store) IssueNamedToken(ctx context.Context, actor Actor, userID uuid.UUID, name string, expires time.Time, scopes []domain.StaffScope) (domain.APIToken, error) {
	secret, err := s.issueToken(ctx, actor, userID, name, &expires, scopes)
	if err != nil {
		return domain.APIToken{}, err
	}
	return s.tokenBySecret(ctx, secret)
}

// RevokeToken revokes one of a user's tokens at once: its next use is refused. A token revoked already
// stays as it was; another user's is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, actor Actor, userID, tokenID uuid.UUID) (domain.APIToken, error) {
	audit := &AuditEntry{Actor: actor, Action: "token.revoke", EntityType: "staff_user", EntityID: userID.String(),
		Detail: map[string]any{"tokenId": tokenID}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE user_id = $1 AND id = $2`,
			userID, tokenID)
		if err == nil && tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return domain.APIToken{}, err
	}
	return s.Token(ctx, userID, tokenID)
}

// ErrNoExpiry: a token that never expires (one issued before tokens had to) is rotated only into one
// with an expiry given.
var ErrNoExpiry = errors.New("the token never expires: give the new one an expiry")

// RotateToken replaces one of a user's live tokens by a new one of the same name and scopes, expiring at expires
// (the old token's expiry when nil), and revokes the old one, in one transaction; it returns the new
// token with its secret, shown once. A revoked or expired token is not rotated (ErrWrongState).
func (s *Store) RotateToken(ctx context.Context, actor Actor, userID, tokenID uuid.UUID, expires *time.Time) (domain.APIToken, error) {
	secret, newID := newTokenSecret(), uuid.New()
	audit := &AuditEntry{Actor: actor, Action: "token.rotate", EntityType: "staff_user", EntityID: userID.String(),
		Detail: map[string]any{"tokenId": tokenID, "newTokenId": newID}}
	err := s.tx(ctx, audit, func(tx pgx.Tx) error {
		var name string
		var oldExpires *time.Time
		var scopes []domain.StaffScope
		err := tx.QueryRow(ctx, `UPDATE api_tokens SET revoked_at = now()
			WHERE user_id = $1 AND id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
			RETURNING name, expires_at, scopes`, userID, tokenID).Scan(&name, &oldExpires, &scopes)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := s.Token(ctx, userID, tokenID); err != nil {
				return err
			}
			return ErrWrongState
		} else if err != nil {
			return err
		}
		if expires == nil && oldExpires == nil {
			return ErrNoExpiry
		}
		if expires == nil {
			expires = oldExpires
		}
		return insertToken(ctx, tx, newID, userID, name, secret, expires, scopes)
	})
	if err != nil {
		return domain.APIToken{}, err
	}
	return s.tokenBySecret(ctx, secret)
}

// tokenBySecret reads a token just issued, and puts its secret in for the answer that shows it once.
func (s *Store) tokenBySecret(ctx context.Context, secret string) (domain.APIToken, error) {
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = $1`, hashToken(secret))
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	t.Secret = secret
	return t, classify(err)
}
