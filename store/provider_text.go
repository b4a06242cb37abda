package store

import "github.com/signetassure/signetassure/domain"

// providerLine makes one line of text from an outside system (a message provider, the access control
// system) storable (domain.SanitizeText): what no line may hold (NUL, control, bidirectional and invisible
// characters) is dropped, never refused, so neither a provider's retries of a webhook nor an activity's
// retries loop on it.
func providerLine(s string) string { return domain.SanitizeText(s, domain.TextLine, 0) }

// providerJSON is providerLine applied to every string (keys too) in a JSON-like value from an outside
// system, before it is stored as jsonb.
func providerJSON(v any) any {
	switch x := v.(type) {
	case string:
		return providerLine(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[providerLine(k)] = providerJSON(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = providerJSON(e)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = providerLine(e)
		}
		return out
	}
	return v
}
