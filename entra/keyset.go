package entra

import (
	"context"

	"github.com/coreos/go-oidc/v3/oidc"
)

// probedKeySet is the tenant's JWKS (go-oidc's RemoteKeySet: cached, fetched again when a token names a
// kid it does not hold, which is how a key rollover is followed) and a window on what it did for one
// verification, so that a refusal can say whether the signature failed or the keys could not be fetched.
// go-oidc reports both as text only.
type probedKeySet struct{ remote *oidc.RemoteKeySet }

// probe is what the key set did for one verification: carried in the context given to Verify.
type probe struct {
	verified bool   // the signature verified
	payload  []byte // the verified payload
	fetchErr bool   // fetching the keys failed for want of an answer
}

type probeKey struct{}

// VerifySignature implements oidc.KeySet. go-oidc calls it after checking the alg against RS256.
func (k *probedKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if p, ok := ctx.Value(probeKey{}).(*probe); ok {
		p.verified = err == nil
		p.payload = payload
		p.fetchErr = err != nil && unreachable(err)
	}
	return payload, err
}
