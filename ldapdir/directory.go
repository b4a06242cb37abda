package ldapdir

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/signetassure/signetassure/domain"
)

// Directory signs people in against one LDAP directory. It is safe for concurrent use; each sign-in
// has a connection of its own.
type Directory struct {
	cfg Config
	tls *tls.Config

	mu      sync.Mutex
	isAD    bool // auto mode: what the root DSE said, once it was read
	adKnown bool
}

// New checks cfg and returns a Directory; it does not connect.
func New(cfg Config) (*Directory, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &Directory{cfg: cfg, tls: &tls.Config{RootCAs: cfg.RootCAs, ServerName: cfg.ServerName, MinVersion: tls.VersionTLS12}}, nil
}

// The attributes read from a person's entry besides the subject.
var personAttributes = []string{"mail", "userPrincipalName", "displayName", "cn", "userAccountControl"}

// Authenticate checks username and password against the directory and returns who it vouched for,
// with every group the person is in, directly or through other groups.
//
// A refusal is a *domain.SignInRefused whose Reason is empty_password, unknown_user, ambiguous_user,
// invalid_credentials, account_disabled, account_locked or password_expired (the last three as
// Active Directory reports them). A directory that could not be asked (down, TLS failure, timeout,
// busy, the service account refused, a missing base DN) is an error wrapping
// domain.ErrDirectoryUnavailable: sign-in fails, it never proceeds without the check.
func (d *Directory) Authenticate(ctx context.Context, username, password string) (domain.DirectoryUser, error) {
	if username == "" {
		return domain.DirectoryUser{}, refused("unknown_user")
	}
	// An empty password would make the bind an unauthenticated one, which many servers (Active
	// Directory included) answer with success.
	if password == "" {
		return domain.DirectoryUser{}, refused("empty_password")
	}
	if err := ctx.Err(); err != nil {
		return domain.DirectoryUser{}, fmt.Errorf("%w: %w", domain.ErrDirectoryUnavailable, err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	s, err := d.connect(ctx)
	if err != nil {
		return domain.DirectoryUser{}, err
	}
	defer s.close()

	person, err := s.findPerson(username)
	if err != nil {
		return domain.DirectoryUser{}, err
	}
	disabled := accountDisabled(person)
	if err := s.c.Bind(person.DN, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return domain.DirectoryUser{}, refused(bindRefusal(err, disabled))
		}
		return domain.DirectoryUser{}, s.unavailable("the person's bind", err)
	}
	if disabled {
		return domain.DirectoryUser{}, refused("account_disabled")
	}
	// Groups are read as the service account: a person may not be allowed to read them.
	if err := s.serviceBind(); err != nil {
		return domain.DirectoryUser{}, err
	}
	subject, err := subjectOf(person, d.cfg.SubjectAttribute)
	if err != nil {
		return domain.DirectoryUser{}, fmt.Errorf("%w: %w", domain.ErrDirectoryUnavailable, err)
	}
	groups, err := d.groups(s, person.DN)
	if err != nil {
		return domain.DirectoryUser{}, err
	}
	return domain.DirectoryUser{
		Directory:   domain.DirectoryLDAP,
		Subject:     subject,
		Email:       firstOf(person, "mail", "userPrincipalName"),
		DisplayName: firstOf(person, "displayName", "cn"),
		Groups:      groups,
	}, nil
}

func refused(reason string) error { return &domain.SignInRefused{Reason: reason} }

// session is one sign-in's connection, closed when the sign-in's context ends.
type session struct {
	d    *Directory
	c    *ldap.Conn
	ctx  context.Context
	stop func() bool
}

// connect dials, starts TLS when configured, and binds as the service account.
func (d *Directory) connect(ctx context.Context) (*session, error) {
	s := &session{d: d, ctx: ctx}
	deadline, _ := ctx.Deadline()
	c, err := ldap.DialURL(d.cfg.URL,
		ldap.DialWithDialer(&net.Dialer{Timeout: time.Until(deadline)}),
		ldap.DialWithTLSConfig(d.tls))
	if err != nil {
		return nil, s.unavailable("connect", err)
	}
	s.c = c
	s.stop = context.AfterFunc(ctx, func() { c.Close() })
	c.SetTimeout(time.Until(deadline))
	if d.cfg.StartTLS {
		if err := c.StartTLS(d.tls); err != nil {
			s.close()
			return nil, s.unavailable("StartTLS", err)
		}
	}
	if err := s.serviceBind(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) close() {
	s.stop()
	s.c.Close()
}

// serviceBind binds as the service account. Its refusal is a configuration fault, not the person's.
func (s *session) serviceBind() error {
	err := s.c.Bind(s.d.cfg.BindDN, s.d.cfg.BindPassword)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return fmt.Errorf("%w: the directory refused the service account's bind: check the configured BindDN and BindPassword",
			domain.ErrDirectoryUnavailable)
	}
	if err != nil {
		return s.unavailable("the service account's bind", err)
	}
	return nil
}

// unavailable wraps a failure to ask the directory; when the sign-in's time ran out, it says so.
func (s *session) unavailable(what string, err error) error {
	if ctxErr := s.ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return fmt.Errorf("%w: %s: %w", domain.ErrDirectoryUnavailable, what, err)
}

// findPerson finds the one entry whose UserAttribute is username (escaped: metacharacters in it match
// themselves).
func (s *session) findPerson(username string) (*ldap.Entry, error) {
	cfg := s.d.cfg
	filter := "(" + cfg.UserAttribute + "=" + ldap.EscapeFilter(username) + ")"
	if cfg.UserObjectClass != "" {
		filter = "(&(objectClass=" + ldap.EscapeFilter(cfg.UserObjectClass) + ")" + filter + ")"
	}
	res, err := s.c.Search(ldap.NewSearchRequest(cfg.UserBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, 0, false, filter, append([]string{cfg.SubjectAttribute}, personAttributes...), nil))
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
		return nil, refused("ambiguous_user")
	case err != nil:
		return nil, s.unavailable("searching for the person", err)
	case len(res.Entries) == 0:
		return nil, refused("unknown_user")
	case len(res.Entries) > 1:
		return nil, refused("ambiguous_user")
	}
	return res.Entries[0], nil
}

// userAccountControl's ACCOUNTDISABLE flag (Active Directory).
const uacAccountDisable = 0x2

func accountDisabled(e *ldap.Entry) bool {
	uac, err := strconv.ParseInt(e.GetEqualFoldAttributeValue("userAccountControl"), 10, 64)
	return err == nil && uac&uacAccountDisable != 0
}

// bindRefusal is the reason for a person's bind refused with invalidCredentials. Active Directory
// says more in the diagnostic message's "data" code: 533 disabled, 775 locked out, 532 and 773 a
// password that expired or must be changed (52e is a wrong password).
func bindRefusal(err error, disabled bool) string {
	var le *ldap.Error
	msg := ""
	if errors.As(err, &le) && le.Err != nil {
		msg = le.Err.Error()
	}
	switch {
	case disabled || strings.Contains(msg, "data 533"):
		return "account_disabled"
	case strings.Contains(msg, "data 775"):
		return "account_locked"
	case strings.Contains(msg, "data 532"), strings.Contains(msg, "data 773"):
		return "password_expired"
	}
	return "invalid_credentials"
}

// firstOf is the first of attrs the entry has a value for.
func firstOf(e *ldap.Entry, attrs ...string) string {
	for _, a := range attrs {
		if v := e.GetEqualFoldAttributeValue(a); v != "" {
			return v
		}
	}
	return ""
}
