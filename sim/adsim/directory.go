// Package adsim stands in for Active Directory over LDAP: an in-memory directory with AD's shape
// (users with sAMAccountName, userPrincipalName, a binary objectGUID, userAccountControl and memberOf;
// groups of objectClass group with member), served by gldap with simple bind, search (AD's in-chain
// and bitwise matching rules included), paging, StartTLS and LDAPS. It answers as AD does where a
// client could tell: invalidCredentials with AD's "data 52e/533" codes, an unauthenticated bind (a
// name without a password) that succeeds, a search before bind refused, a root DSE naming AD's
// capabilities. It does not import the LDAP client it stands in front of.
package adsim

import (
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"
)

// Directory is what the simulator holds.
type Directory struct {
	BaseDN string  // DC=signet,DC=test: the domain's naming context
	Users  []User  // people and service accounts
	Groups []Group // security groups
}

// User is an AD user account.
type User struct {
	SAMAccountName    string // the pre-Windows-2000 logon name: ben.hughes
	UserPrincipalName string // ben.hughes@signet.test; a bind may name it instead of the DN
	DisplayName       string // also the entry's CN
	Mail              string
	Password          string
	OU                string // the OU the account is in (its DN is CN=DisplayName,OU=<OU>,BaseDN); empty: Staff
	GUID              string // objectGUID as a string; empty: one derived from SAMAccountName
	Disabled          bool   // userAccountControl 514 (ACCOUNTDISABLE) instead of 512
}

// Group is an AD security group; its DN is CN=<Name>,OU=Groups,BaseDN.
type Group struct {
	Name    string
	Members []string // users' sAMAccountNames and groups' Names
}

// DN is the user's distinguished name in d.
func (u User) DN(d Directory) string {
	ou := u.OU
	if ou == "" {
		ou = "Staff"
	}
	return "CN=" + escapeRDN(u.DisplayName) + ",OU=" + escapeRDN(ou) + "," + d.BaseDN
}

// DN is the group's distinguished name in d.
func (g Group) DN(d Directory) string { return "CN=" + escapeRDN(g.Name) + ",OU=Groups," + d.BaseDN }

// escapeRDN escapes an RDN value's special characters (RFC 4514).
func escapeRDN(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `,`, `\,`, `+`, `\+`, `"`, `\"`, `<`, `\<`, `>`, `\>`, `;`, `\;`, `=`, `\=`)
	v = r.Replace(v)
	if strings.HasPrefix(v, " ") || strings.HasPrefix(v, "#") {
		v = `\` + v
	}
	return v
}

// guidNamespace derives stable objectGUIDs for accounts that name none.
var guidNamespace = uuid.MustParse("3f0c2b1e-6a57-4b8e-9b7e-5d1f6a2c9e40")

func (u User) guid() uuid.UUID {
	if g, err := uuid.Parse(u.GUID); err == nil {
		return g
	}
	return uuid.NewSHA1(guidNamespace, []byte(strings.ToLower(u.SAMAccountName)))
}

// guidBytes is the GUID as AD stores objectGUID: the first three fields little-endian.
func guidBytes(g uuid.UUID) string {
	return string(append([]byte{g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6]}, g[8:]...))
}

// normDN is a DN for comparing: parsed and lower-cased (a DN that does not parse only lower-cased).
func normDN(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	return strings.ToLower(p.String())
}

// The demo directory `make run` offers LDAP sign-in against (DemoDirectory).
const (
	DemoBaseDN          = "DC=signet,DC=test"
	DemoUsersDN         = "OU=Staff,DC=signet,DC=test"
	DemoGroupsDN        = "OU=Groups,DC=signet,DC=test"
	DemoServiceDN       = "CN=svc-signetassure,OU=Service Accounts,DC=signet,DC=test"
	DemoServicePassword = "Service-Bind-2026"
	// DemoPassword is every demo person's password.
	DemoPassword = "Signet-Demo-2026"

	DemoGroupAdministrators  = "CN=SignetAssure Administrators,OU=Groups,DC=signet,DC=test" // ∋ amara.okafor
	DemoGroupVettingOfficers = "CN=Vetting Officers,OU=Groups,DC=signet,DC=test"            // ∋ ben.hughes, dan.fisher
	DemoGroupSecurityTeam    = "CN=Security Team,OU=Groups,DC=signet,DC=test"               // ∋ Vetting Officers, amara.okafor
	DemoGroupReception       = "CN=Reception,OU=Groups,DC=signet,DC=test"                   // ∋ chloe.martin
	DemoGroupAllStaff        = "CN=All Staff,OU=Groups,DC=signet,DC=test"                   // ∋ Security Team, Reception
)

// DemoDirectory is a small staff directory: amara.okafor (an administrator, in Security Team and so All
// Staff), ben.hughes (a vetting officer, in Security Team and All Staff through nesting), chloe.martin
// (reception, in All Staff) and dan.fisher (a vetting officer whose account is disabled), all with
// DemoPassword, and the service account DemoServiceDN with DemoServicePassword. Sign in by
// sAMAccountName (ben.hughes) or userPrincipalName (ben.hughes@signet.test).
func DemoDirectory() Directory {
	person := func(sam, name string, disabled bool) User {
		return User{SAMAccountName: sam, UserPrincipalName: sam + "@signet.test", DisplayName: name,
			Mail: sam + "@signet.test", Password: DemoPassword, Disabled: disabled}
	}
	return Directory{
		BaseDN: DemoBaseDN,
		Users: []User{
			{SAMAccountName: "svc-signetassure", UserPrincipalName: "svc-signetassure@signet.test",
				DisplayName: "svc-signetassure", Password: DemoServicePassword, OU: "Service Accounts"},
			person("amara.okafor", "Amara Okafor", false),
			person("ben.hughes", "Ben Hughes", false),
			person("chloe.martin", "Chloe Martin", false),
			person("dan.fisher", "Dan Fisher", true),
		},
		Groups: []Group{
			{Name: "SignetAssure Administrators", Members: []string{"amara.okafor"}},
			{Name: "Vetting Officers", Members: []string{"ben.hughes", "dan.fisher"}},
			{Name: "Security Team", Members: []string{"Vetting Officers", "amara.okafor"}},
			{Name: "Reception", Members: []string{"chloe.martin"}},
			{Name: "All Staff", Members: []string{"Security Team", "Reception"}},
		},
	}
}
