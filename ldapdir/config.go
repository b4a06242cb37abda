// Package ldapdir signs staff in against an LDAP directory or Active Directory: a service account
// finds the person's entry, a bind as that entry checks the password, and the person's groups (nested
// ones included) come back as DNs for a RoleMap. It never logs, and its errors never carry, a password,
// a username or a DN.
package ldapdir

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// NestedMode is how the groups a person is in through other groups are found.
type NestedMode string

const (
	// NestedInChain asks the directory once with Active Directory's LDAP_MATCHING_RULE_IN_CHAIN
	// (1.2.840.113556.1.4.1941), which follows member links transitively on the server.
	NestedInChain NestedMode = "in-chain"
	// NestedRecursive searches member=<dn> level by level (the person, then the groups found), each
	// group once, at most MaxNestingDepth levels: for directories without the rule, e.g. OpenLDAP.
	NestedRecursive NestedMode = "recursive"
	// NestedAuto uses in-chain when the root DSE says the server is Active Directory (or AD LDS) and
	// recursive otherwise. Trying the rule and looking at the answer does not work: OpenLDAP answers a
	// filter with an unknown matching rule with success and no entries, as if the person were in no group.
	NestedAuto NestedMode = "auto"
)

// MaxNestingDepth bounds the recursive search: groups nested deeper are not followed.
const MaxNestingDepth = 16

// Config says where the directory is and how to ask it.
type Config struct {
	URL string // ldaps://host:636, or ldap://host:389 with StartTLS
	// StartTLS upgrades an ldap:// connection to TLS before anything is sent.
	StartTLS bool
	// AllowInsecure allows ldap:// without StartTLS: passwords cross the network in clear. Tests only.
	AllowInsecure bool
	// RootCAs verify the server's certificate (LoadCA reads them from a file); nil uses the system's.
	RootCAs *x509.CertPool
	// ServerName is the name the certificate must be for; empty means the URL's host.
	ServerName string
	// BindDN and BindPassword are the service account that finds people and their groups.
	BindDN, BindPassword string
	// UserBaseDN is where people are searched for (whole subtree).
	UserBaseDN string
	// UserAttribute is what the username is matched against: sAMAccountName, userPrincipalName, uid or
	// mail.
	UserAttribute string
	// UserObjectClass, when set, narrows the search to entries of that class (user, inetOrgPerson).
	UserObjectClass string
	// GroupBaseDN is where groups are searched for (whole subtree).
	GroupBaseDN string
	// Nested is how nested groups are found; empty means NestedAuto.
	Nested NestedMode
	// SubjectAttribute holds the person's stable id: objectGUID (Active Directory; the binary GUID is
	// rendered as its canonical string, lower-case) or entryUUID (OpenLDAP, the default).
	SubjectAttribute string
	// Timeout bounds a whole sign-in (connecting, TLS, binds and searches); zero means 10 seconds.
	Timeout time.Duration
}

// LoadCA reads PEM certificates from path into a pool for Config.RootCAs.
func LoadCA(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ldapdir: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ldapdir: no PEM certificate in %s", path)
	}
	return pool, nil
}

// userAttributes are the names UserAttribute may take.
var userAttributes = []string{"sAMAccountName", "userPrincipalName", "uid", "mail"}

// check fills in defaults and refuses a configuration that would not be safe or could not work.
func (c *Config) check() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" {
		return errors.New("ldapdir: URL must be ldaps://host:port or ldap://host:port")
	}
	switch u.Scheme {
	case "ldaps":
		if c.StartTLS {
			return errors.New("ldapdir: StartTLS is for ldap:// URLs; ldaps:// is TLS from the start")
		}
	case "ldap":
		if !c.StartTLS && !c.AllowInsecure {
			return errors.New("ldapdir: ldap:// without StartTLS would send passwords in clear: use ldaps:// or StartTLS")
		}
	default:
		return fmt.Errorf("ldapdir: URL scheme %q: want ldaps or ldap", u.Scheme)
	}
	if c.ServerName == "" {
		c.ServerName = u.Hostname()
	}
	if c.BindDN == "" || c.BindPassword == "" {
		return errors.New("ldapdir: BindDN and BindPassword (the service account) are required")
	}
	if c.UserBaseDN == "" || c.GroupBaseDN == "" {
		return errors.New("ldapdir: UserBaseDN and GroupBaseDN are required")
	}
	ok := false
	for _, a := range userAttributes {
		if strings.EqualFold(a, c.UserAttribute) {
			c.UserAttribute, ok = a, true
		}
	}
	if !ok {
		return fmt.Errorf("ldapdir: UserAttribute %q: want one of %s", c.UserAttribute, strings.Join(userAttributes, ", "))
	}
	switch c.Nested {
	case "":
		c.Nested = NestedAuto
	case NestedInChain, NestedRecursive, NestedAuto:
	default:
		return fmt.Errorf("ldapdir: Nested %q: want in-chain, recursive or auto", c.Nested)
	}
	if c.SubjectAttribute == "" {
		c.SubjectAttribute = "entryUUID"
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return nil
}
