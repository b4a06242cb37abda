package twiliosim

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"maps"
	"slices"
	"strings"
)

// signature is X-Twilio-Signature for a form POSTed to fullURL, as Twilio documents it: the URL with
// every parameter name and value appended, names in sorted order, signed with HMAC-SHA1 under the auth
// token, in base64. The simulator computes it itself rather than with SignetAssure's verifier, so a
// mistake there cannot cancel out.
func signature(authToken, fullURL string, form map[string][]string) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		for _, v := range slices.Sorted(slices.Values(form[k])) {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
