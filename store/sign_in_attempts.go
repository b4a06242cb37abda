package store

import (
	"context"
	"time"
)

// SignInAttempt is an OpenID Connect sign-in between the redirect to the directory and its return.
type SignInAttempt struct {
	// State goes to the directory and comes back; Browser is the secret of a cookie set in the browser
	// that started the sign-in, so a return in another browser (a forged link) is refused.
	State, Browser string
	// Nonce is bound into the ID token; Verifier is the PKCE code verifier.
	Nonce, Verifier string
	// ReturnTo is the console page to go back to.
	ReturnTo string
}

// BeginSignIn keeps an attempt for ttl, and forgets attempts that ran out.
func (s *Store) BeginSignIn(ctx context.Context, a SignInAttempt, ttl time.Duration) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM sign_in_attempts WHERE expires_at < now()`); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO sign_in_attempts (state, browser_hash, nonce, verifier, return_to, expires_at)
		VALUES ($1, $2, $3, $4, $5, now() + $6::interval)`, a.State, hashToken(a.Browser), a.Nonce, a.Verifier, a.ReturnTo, ttl.String())
	return err
}

// TakeSignIn takes the live attempt of that state started by that browser, once: a second return with
// the same state, another browser's, or one that ran out is ErrNotFound.
func (s *Store) TakeSignIn(ctx context.Context, state, browser string) (SignInAttempt, error) {
	a := SignInAttempt{State: state, Browser: browser}
	err := s.pool.QueryRow(ctx, `DELETE FROM sign_in_attempts WHERE state = $1 AND browser_hash = $2 AND expires_at > now()
		RETURNING nonce, verifier, return_to`, state, hashToken(browser)).Scan(&a.Nonce, &a.Verifier, &a.ReturnTo)
	return a, classify(err)
}
