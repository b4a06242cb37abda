package sendgridsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
)

// The Event Webhook's signature, as SendGrid documents it: ECDSA P-256 over SHA-256 of the timestamp
// followed by the raw body, ASN.1 DER, base64, in these headers; the verification key is the base64 of
// the public key's PKIX DER. The simulator computes it itself rather than with SignetAssure's verifier,
// so a mistake there cannot cancel out.
const (
	signatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	timestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
)

func sign(priv *ecdsa.PrivateKey, body []byte, timestamp string) (string, error) {
	digest := sha256.Sum256(append([]byte(timestamp), body...))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// newSigningKey is a fresh P-256 key, for a simulator given none.
func newSigningKey() *ecdsa.PrivateKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return priv
}

// verificationKey is the public key as SendGrid's console shows it.
func verificationKey(pub *ecdsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // only for curves x509 does not know
	}
	return base64.StdEncoding.EncodeToString(der)
}
