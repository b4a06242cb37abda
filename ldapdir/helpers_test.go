package ldapdir_test

import (
	"context"
	"errors"
	"testing"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
	"github.com/signetassure/signetassure/ldapdir"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newDirectory is ldapdir.New that fails the test on an error.
func newDirectory(t *testing.T, cfg ldapdir.Config) *ldapdir.Directory {
	t.Helper()
	d, err := ldapdir.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// signIn is Authenticate with a background context.
func signIn(d *ldapdir.Directory, username, password string) (domain.DirectoryUser, error) {
	return d.Authenticate(context.Background(), username, password)
}

// wantRefused fails the test unless err is a refusal for reason.
func wantRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var r *domain.SignInRefused
	if !errors.As(err, &r) || r.Reason != reason {
		t.Fatalf("got %v, want a refusal for %s", err, reason)
	}
	if errors.Is(err, domain.ErrDirectoryUnavailable) {
		t.Fatalf("a refusal must not read as the directory being unavailable: %v", err)
	}
}

// wantUnavailable fails the test unless err wraps domain.ErrDirectoryUnavailable.
func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, domain.ErrDirectoryUnavailable) {
		t.Fatalf("got %v, want ErrDirectoryUnavailable", err)
	}
}
