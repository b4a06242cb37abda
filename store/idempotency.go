package store

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// KeyedRequest is a staff user's write request sent with an Idempotency-Key: its method, path (with
// query) and the SHA-256 of its body.
type KeyedRequest struct {
	UserID       uuid.UUID
	Key          string
	Method, Path string
	BodyHash     []byte
}

// Same reports whether two keyed requests ask for the same thing.
func (r KeyedRequest) Same(o KeyedRequest) bool {
	return r.Method == o.Method && r.Path == o.Path && bytes.Equal(r.BodyHash, o.BodyHash)
}

// KeyedAnswer is the first answer to a keyed request, as it was sent.
type KeyedAnswer struct {
	Status      int
	ContentType string
	Location    string
	Body        []byte
}

// KeyedClaim is what ClaimIdempotencyKey found: the request is now the caller's to carry out (Claimed),
// or an earlier request holds the key (Earlier), answered (Answer) or still in progress (Answer nil).
type KeyedClaim struct {
	Claimed bool
	Earlier KeyedRequest
	Answer  *KeyedAnswer
}

// ClaimIdempotencyKey claims a user's idempotency key for a request, for lease (the longest the request
// may take). A key not used before, used by a request that expired, or held by the same request whose
// lease ran out (its process died) is claimed; otherwise the earlier request and its answer are returned.
// Keys expire after ttl.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, r KeyedRequest, lease, ttl time.Duration) (KeyedClaim, error) {
	// Expired keys go, a few at a time.
	if _, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
		SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT 100))`); err != nil {
		return KeyedClaim{}, err
	}
	var claimed bool
	err := s.pool.QueryRow(ctx, `INSERT INTO idempotency_keys (user_id, key, method, path, request_hash, locked_until, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval, now() + $7::interval)
		ON CONFLICT (user_id, key) DO UPDATE SET method = EXCLUDED.method, path = EXCLUDED.path,
			request_hash = EXCLUDED.request_hash, status = NULL, content_type = '', location = '', body = NULL,
			created_at = now(), locked_until = EXCLUDED.locked_until, expires_at = EXCLUDED.expires_at
		WHERE idempotency_keys.expires_at < now()
			OR (idempotency_keys.status IS NULL AND idempotency_keys.locked_until < now()
				AND idempotency_keys.method = EXCLUDED.method AND idempotency_keys.path = EXCLUDED.path
				AND idempotency_keys.request_hash = EXCLUDED.request_hash)
		RETURNING true`, r.UserID, r.Key, r.Method, r.Path, r.BodyHash, lease, ttl).Scan(&claimed)
	if err == nil {
		return KeyedClaim{Claimed: true}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return KeyedClaim{}, classify(err)
	}
	out := KeyedClaim{Earlier: KeyedRequest{UserID: r.UserID, Key: r.Key}}
	var status *int
	var a KeyedAnswer
	err = s.pool.QueryRow(ctx, `SELECT method, path, request_hash, status, content_type, location, body
		FROM idempotency_keys WHERE user_id = $1 AND key = $2`, r.UserID, r.Key).Scan(&out.Earlier.Method,
		&out.Earlier.Path, &out.Earlier.BodyHash, &status, &a.ContentType, &a.Location, &a.Body)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released meanwhile (its request failed): claim it afresh.
		return s.ClaimIdempotencyKey(ctx, r, lease, ttl)
	}
	if err != nil {
		return KeyedClaim{}, err
	}
	if status != nil {
		a.Status = *status
		out.Answer = &a
	}
	return out, nil
}

// AnswerIdempotencyKey keeps the first answer to the request that holds a key.
func (s *Store) AnswerIdempotencyKey(ctx context.Context, r KeyedRequest, a KeyedAnswer) error {
	_, err := s.pool.Exec(ctx, `UPDATE idempotency_keys SET status = $3, content_type = $4, location = $5, body = $6,
		locked_until = NULL WHERE user_id = $1 AND key = $2 AND status IS NULL`,
		r.UserID, r.Key, a.Status, a.ContentType, a.Location, a.Body)
	return err
}

// ReleaseIdempotencyKey lets go of a key whose request was not answered for good (a 5xx): a retry with it
// is carried out afresh.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, r KeyedRequest) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status IS NULL`,
		r.UserID, r.Key)
	return err
}
