package identity_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/signetassure/signetassure/identity"
)

// selfClassified is a provider's own error type that says its kind.
type selfClassified struct{ kind identity.Kind }

func (e selfClassified) Error() string               { return "provider: " + string(e.kind) }
func (e selfClassified) IdentityKind() identity.Kind { return e.kind }

func TestKindOf(t *testing.T) {
	for err, want := range map[error]identity.Kind{
		nil:               "",
		errors.New("odd"): identity.Transient,
		&identity.Error{Kind: identity.NotFound, Op: "read process"}:  identity.NotFound,
		fmt.Errorf("x: %w", &identity.Error{Kind: identity.Rejected}): identity.Rejected,
		fmt.Errorf("x: %w", selfClassified{identity.NotFound}):        identity.NotFound,
		selfClassified{identity.Transient}:                            identity.Transient,
	} {
		if got := identity.KindOf(err); got != want {
			t.Errorf("KindOf(%v) = %q, want %q", err, got, want)
		}
	}
	e := &identity.Error{Kind: identity.NotFound, Op: "read process", Err: errors.New("404")}
	if e.Error() != "read process: not_found: 404" || e.Retryable() || !(&identity.Error{Kind: identity.Transient}).Retryable() {
		t.Errorf("%q", e.Error())
	}
}

func TestFinal(t *testing.T) {
	for _, s := range identity.FinalStatuses {
		if !s.Final() {
			t.Errorf("%s is not final", s)
		}
	}
	for _, s := range []identity.Status{identity.StatusPending, identity.StatusProcessing, "expired", ""} {
		if s.Final() {
			t.Errorf("%q is final", s)
		}
	}
}
