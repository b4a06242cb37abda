package domain

import (
	"errors"
	"slices"
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
