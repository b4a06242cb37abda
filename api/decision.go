package api

import (
	"errors"
	"net/http"

	"github.com/signetassure/signetassure/domain"
)

// outOfBounds is the 422 answer to a decision domain.ValidityPolicy.CheckDecision refused, naming the
// field (renamed as the route calls it: a partner's "clearanceLevel" is the officer's "level").
func outOfBounds(err error, rename map[string]string) error {
	var de *domain.Rejection
	if !errors.As(err, &de) {
		return err
	}
	field := de.Field
	if r, ok := rename[field]; ok {
		field = r
	}
	p := problem(http.StatusUnprocessableEntity, "out-of-bounds", field+": "+de.Detail)
	p.Errors = []FieldError{{Field: field, Message: de.Detail}}
	return p
}
