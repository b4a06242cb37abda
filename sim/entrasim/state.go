package entrasim

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"

	"github.com/signetassure/signetassure/sim/kit"
)

// The state file (KeepState): the signing keys, and the Graph access tokens issued with their users, so
// that a second run signs with the same key (tokens and JWKS the application cached stay good) and an
// access token issued before the restart still reads Graph. Codes, sign-ins and faults start empty.

type savedState struct {
	Keys   [][]byte               `json:"keys"` // PKCS #8 DER, the signing key first
	Access map[string]accessGrant `json:"access,omitempty"`
}

// snapshot is the state as the file holds it, marshalled under mu.
func (s *Sim) snapshot() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := savedState{Access: s.access}
	for _, k := range s.keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.priv)
		if err != nil {
			return nil, err
		}
		st.Keys = append(st.Keys, der)
	}
	return json.Marshal(st)
}

// restore takes the keys and access tokens in the file.
func (s *Sim) restore(st *savedState) {
	var keys []*signingKey
	for _, der := range st.Keys {
		k, err := x509.ParsePKCS8PrivateKey(der)
		if priv, ok := k.(*rsa.PrivateKey); err == nil && ok {
			keys = append(keys, keyFor(priv))
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(keys) > 0 {
		s.keys = keys[:min(len(keys), maxKeys)]
	}
	if st.Access != nil {
		s.access = st.Access
	}
}

// KeepState loads the state kept at path (a JSON file; none yet: the simulator keeps its fresh key) and
// keeps it there from now on: within a second of a change, and at Close. Call it after New, before
// serving. onError (nil: ignore) hears of writes that failed.
func (s *Sim) KeepState(path string, onError func(error)) (err error) {
	if s.keeper != nil {
		return errors.New("entrasim: KeepState called twice")
	}
	s.keeper, err = kit.Resume(path, s.restore, s.snapshot, onError)
	return err
}
