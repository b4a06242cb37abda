package domain

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Directory is where a staff user's identity comes from: a local account (an administrator created it)
// or a directory the organisation runs, whose groups decide the user's roles at every sign-in.
type Directory string

const (
	DirectoryLocal Directory = "local"
	DirectoryEntra Directory = "entra" // Microsoft Entra ID, by OpenID Connect
	DirectoryLDAP  Directory = "ldap"  // LDAP or Active Directory, by bind
)

// Directories lists every Directory.
var Directories = []Directory{DirectoryLocal, DirectoryEntra, DirectoryLDAP}

func (d Directory) Valid() bool { return slices.Contains(Directories, d) }

// DirectoryUser is who a directory vouched for at sign-in: its stable subject (Entra's tenant-scoped
// object id, LDAP's entryUUID or objectGUID), names, and the groups (Entra object ids, LDAP group DNs,
// nested ones included) and application roles the directory gives them. A RoleMap turns the groups
// and roles into SignetAssure roles.
type DirectoryUser struct {
	Directory   Directory
	Subject     string
	Email       string
	DisplayName string
	Groups      []string
	AppRoles    []string
}

// SignInRefused: the directory did not vouch for the person (wrong password, a token with the wrong
// issuer, audience, nonce or signature, an expired one). Reason says why for the audit log; the person
// is only told that sign-in failed.
type SignInRefused struct{ Reason string }

func (e *SignInRefused) Error() string { return "sign-in refused: " + e.Reason }

// ErrDirectoryUnavailable: the directory could not be asked (down, unreachable, a TLS failure). Sign-in
// fails with a clear error; it never falls back to no check.
var ErrDirectoryUnavailable = errors.New("the directory is unavailable")

// RoleMap gives SignetAssure roles to a directory's groups and application roles: each key is a group
// (an Entra object id, an LDAP group DN) or an app role value, compared without regard to case.
type RoleMap map[string][]Role

// ParseRoleMap reads a RoleMap from JSON: {"<group or app role>": ["case_worker", ...], ...}.
func ParseRoleMap(text string) (RoleMap, error) {
	var raw map[string][]Role
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("not a JSON object of group to roles: %w", err)
	}
	m := RoleMap{}
	for key, roles := range raw {
		if strings.TrimSpace(key) == "" || len(roles) == 0 {
			return nil, fmt.Errorf("%q: every group needs one or more roles", key)
		}
		for _, r := range roles {
			if !r.Valid() {
				return nil, fmt.Errorf("%q: role %q is not one of %s", key, r, OneOf(Roles))
			}
		}
		m[strings.ToLower(strings.TrimSpace(key))] = roles
	}
	return m, nil
}

// Roles are the roles u's groups and app roles give, sorted, each once; none when nothing maps.
func (m RoleMap) Roles(u DirectoryUser) []Role {
	var out []Role
	for _, g := range slices.Concat(u.Groups, u.AppRoles) {
		out = append(out, m[strings.ToLower(g)]...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
