package domain

import "strings"

// Rejection is a value refused: the request field it came in ("body" for the request as a whole) and why.
// A decision out of bounds is one; a workflow's refusal of an action carries its rejections as its
// application error's details, so the API names the fields without parsing a message.
type Rejection struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

func (r *Rejection) Error() string { return r.Field + ": " + r.Detail }

// Rejections is the message of several rejections: each "field: detail", joined by "; ".
func Rejections(rs []Rejection) string {
	parts := make([]string, len(rs))
	for i := range rs {
		parts[i] = rs[i].Error()
	}
	return strings.Join(parts, "; ")
}
