package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/signetassure/signetassure/api"
	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/entra"
	"github.com/signetassure/signetassure/ldapdir"
)

// EntraCallbackPath is where Entra ID sends the browser back, under PUBLIC_URL; register
// PUBLIC_URL + this path as the app registration's redirect URI.
const EntraCallbackPath = "/api/v1/sign-in/entra/callback"

// Staff configures how staff sign in: the console's sessions, the staff API's rate limits, and the
// directories (Entra ID by ENTRA_TENANT_ID, LDAP/AD by LDAP_URL; neither: API tokens only).
type Staff struct {
	// Sessions: SESSION_IDLE, SESSION_ABSOLUTE; the cookie is Secure unless PUBLIC_URL is http://.
	Sessions api.SessionConfig
	// StaffRate and AddressRate are STAFF_RATE_LIMIT and STAFF_ADDRESS_RATE_LIMIT, requests a minute.
	StaffRate, AddressRate int
	// Entra and LDAP are nil when not configured; each has its group-to-role map.
	Entra      *entra.Config
	EntraRoles domain.RoleMap
	LDAP       *ldapdir.Config
	LDAPRoles  domain.RoleMap
}

func loadStaff(publicURL string) (Staff, error) {
	var s Staff
	var err error
	if s.Sessions.Idle, err = domain.ParseDays(env("SESSION_IDLE", "30m")); err != nil {
		return s, fmt.Errorf("SESSION_IDLE: %w", err)
	}
	if s.Sessions.Absolute, err = domain.ParseDays(env("SESSION_ABSOLUTE", "12h")); err != nil {
		return s, fmt.Errorf("SESSION_ABSOLUTE: %w", err)
	}
	if s.Sessions.Idle <= 0 || s.Sessions.Absolute < s.Sessions.Idle {
		return s, fmt.Errorf("SESSION_IDLE and SESSION_ABSOLUTE: want 0 < idle <= absolute")
	}
	s.Sessions.Insecure = strings.HasPrefix(publicURL, "http://")
	for name, v := range map[string]*int{"STAFF_RATE_LIMIT": &s.StaffRate, "STAFF_ADDRESS_RATE_LIMIT": &s.AddressRate} {
		def := map[string]int{"STAFF_RATE_LIMIT": api.DefaultStaffRate, "STAFF_ADDRESS_RATE_LIMIT": api.DefaultAddressRate}[name]
		if *v, err = strconv.Atoi(env(name, strconv.Itoa(def))); err != nil || *v < 1 {
			return s, fmt.Errorf("%s: want a whole number of requests a minute, 1 or more", name)
		}
	}
	if tenant := os.Getenv("ENTRA_TENANT_ID"); tenant != "" {
		s.Entra = &entra.Config{TenantID: tenant, ClientID: os.Getenv("ENTRA_CLIENT_ID"),
			ClientSecret: os.Getenv("ENTRA_CLIENT_SECRET"),
			RedirectURL:  env("ENTRA_REDIRECT_URL", strings.TrimSuffix(publicURL, "/")+EntraCallbackPath),
			Authority:    os.Getenv("ENTRA_AUTHORITY"), GraphURL: os.Getenv("ENTRA_GRAPH_URL")}
		if s.EntraRoles, err = roleMap("ENTRA_ROLE_MAP", nil); err != nil {
			return s, err
		}
	}
	if url := os.Getenv("LDAP_URL"); url != "" {
		l := &ldapdir.Config{URL: url, BindDN: os.Getenv("LDAP_BIND_DN"), BindPassword: os.Getenv("LDAP_BIND_PASSWORD"),
			UserBaseDN: os.Getenv("LDAP_USER_BASE_DN"), UserAttribute: env("LDAP_USER_ATTRIBUTE", "sAMAccountName"),
			UserObjectClass: os.Getenv("LDAP_USER_OBJECT_CLASS"), GroupBaseDN: os.Getenv("LDAP_GROUP_BASE_DN"),
			Nested:           ldapdir.NestedMode(env("LDAP_NESTED_GROUPS", string(ldapdir.NestedAuto))),
			SubjectAttribute: env("LDAP_SUBJECT_ATTRIBUTE", "objectGUID"), ServerName: os.Getenv("LDAP_SERVER_NAME")}
		for name, v := range map[string]*bool{"LDAP_START_TLS": &l.StartTLS, "LDAP_ALLOW_INSECURE": &l.AllowInsecure} {
			if *v, err = strconv.ParseBool(env(name, "false")); err != nil {
				return s, fmt.Errorf("%s: want true or false", name)
			}
		}
		if ca := os.Getenv("LDAP_CA_FILE"); ca != "" {
			if l.RootCAs, err = ldapdir.LoadCA(ca); err != nil {
				return s, fmt.Errorf("LDAP_CA_FILE: %w", err)
			}
		}
		if l.Timeout, err = domain.ParseDays(env("LDAP_TIMEOUT", "10s")); err != nil {
			return s, fmt.Errorf("LDAP_TIMEOUT: %w", err)
		}
		if _, err := ldapdir.New(*l); err != nil {
			return s, fmt.Errorf("LDAP_*: %w", err)
		}
		s.LDAP = l
		if s.LDAPRoles, err = roleMap("LDAP_ROLE_MAP", ldapdir.NormalizeDN); err != nil {
			return s, err
		}
	}
	return s, nil
}

// roleMap reads a directory's group-to-role map from the JSON in the variable, its keys put in the
// form the directory reports groups in (normalize; nil: as written).
func roleMap(name string, normalize func(string) string) (domain.RoleMap, error) {
	text := os.Getenv(name)
	if text == "" {
		return nil, fmt.Errorf("%s is required with its directory: a JSON object of group to roles", name)
	}
	m, err := domain.ParseRoleMap(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if normalize != nil {
		out := domain.RoleMap{}
		for k, v := range m {
			out[normalize(k)] = v
		}
		m = out
	}
	return m, nil
}

// SignIn makes the API's sign-in directories.
func (s Staff) SignIn() (api.SignIn, error) {
	var in api.SignIn
	if s.Entra != nil {
		d, err := entra.NewOnDemand(*s.Entra)
		if err != nil {
			return in, fmt.Errorf("ENTRA_*: %w", err)
		}
		in.Entra, in.EntraRoles = d, s.EntraRoles
	}
	if s.LDAP != nil {
		d, err := ldapdir.New(*s.LDAP)
		if err != nil {
			return in, fmt.Errorf("LDAP_*: %w", err)
		}
		in.LDAP, in.LDAPRoles = d, s.LDAPRoles
	}
	return in, nil
}

// APIDeps sets the staff part of the API's dependencies.
func (s Staff) APIDeps(d *api.Deps) error {
	in, err := s.SignIn()
	d.SignIn, d.Sessions, d.StaffRate, d.AddressRate = in, s.Sessions, s.StaffRate, s.AddressRate
	return err
}
