package entrasim

import "fmt"

// The demo tenant: fixed ids, so that the main application's dev mode can map the demo groups to its roles
// and a second run signs the same people in with the same object ids.
const (
	// DefaultTenantID is the simulated tenant (directory) id, the {tenant} of every path.
	DefaultTenantID = "5f1c6d0e-7a2b-4c3d-9e8f-0a1b2c3d4e5f"
	// DefaultClientID is the application (client) id the simulator knows unless Options say otherwise.
	DefaultClientID = "0b7e2c4a-1d3f-4e5a-8b6c-7d8e9f0a1b2c"
	// DefaultClientSecret is the client secret it accepts unless Options say otherwise.
	DefaultClientSecret = "entrasim-client-secret"
)

// Object ids of the demo security groups.
const (
	GroupCaseWorkers         = "1a0c0001-0000-4000-8000-00000000c001"
	GroupVettingOfficers     = "1a0c0002-0000-4000-8000-00000000c002"
	GroupSecurityControllers = "1a0c0003-0000-4000-8000-00000000c003"
	GroupAdministrators      = "1a0c0004-0000-4000-8000-00000000c004"
	GroupAuditors            = "1a0c0005-0000-4000-8000-00000000c005"
	GroupAllStaff            = "1a0c0006-0000-4000-8000-00000000c006"
)

// App roles (the "roles" claim) the demo application defines.
const (
	AppRoleAuditReader = "Audit.Read"
	AppRoleAdmin       = "SignetAssure.Admin"
)

// Object ids of the demo users.
const (
	UserCaseWorker         = "c0de0001-0000-4000-8000-0000000000a1"
	UserVettingOfficer     = "c0de0002-0000-4000-8000-0000000000a2"
	UserSecurityController = "c0de0003-0000-4000-8000-0000000000a3"
	UserAdministrator      = "c0de0004-0000-4000-8000-0000000000a4"
	UserAuditor            = "c0de0005-0000-4000-8000-0000000000a5"
	UserOverage            = "c0de0006-0000-4000-8000-0000000000a6"
)

// OverageGroups is how many groups the overage demo user is in: more than the 200 a JWT can carry, so
// their ID token has the overage marker and the groups come from Graph.
const OverageGroups = 250

// DemoGroupNames names the demo groups, for the sign-in and state pages.
func DemoGroupNames() map[string]string {
	return map[string]string{
		GroupCaseWorkers:         "SA Case Workers",
		GroupVettingOfficers:     "SA Vetting Officers",
		GroupSecurityControllers: "SA Security Controllers",
		GroupAdministrators:      "SA Administrators",
		GroupAuditors:            "SA Auditors",
		GroupAllStaff:            "All Staff",
	}
}

// DemoUsers are six staff of the demo tenant: a case worker, a vetting officer, a security controller, an
// administrator (also holding the admin app role), an auditor (holding the audit app role rather than a
// group) and a case worker in OverageGroups groups (the case workers' group among them).
func DemoUsers() []User {
	users := []User{
		{ObjectID: UserCaseWorker, Name: "Carol Case", Email: "carol.case@demo.signetassure.test",
			Groups: []string{GroupCaseWorkers, GroupAllStaff}},
		{ObjectID: UserVettingOfficer, Name: "Victor Vett", Email: "victor.vett@demo.signetassure.test",
			Groups: []string{GroupVettingOfficers, GroupAllStaff}},
		{ObjectID: UserSecurityController, Name: "Sophie Control", Email: "sophie.control@demo.signetassure.test",
			Groups: []string{GroupSecurityControllers, GroupVettingOfficers, GroupAllStaff}},
		{ObjectID: UserAdministrator, Name: "Adam Admin", Email: "adam.admin@demo.signetassure.test",
			Groups: []string{GroupAdministrators, GroupAllStaff}, AppRoles: []string{AppRoleAdmin}},
		{ObjectID: UserAuditor, Name: "Audrey Audit", Email: "audrey.audit@demo.signetassure.test",
			Groups: []string{GroupAuditors, GroupAllStaff}, AppRoles: []string{AppRoleAuditReader}},
	}
	many := []string{GroupCaseWorkers, GroupAllStaff}
	for i := len(many); i < OverageGroups; i++ {
		many = append(many, fmt.Sprintf("0e0e%04x-0000-4000-8000-%012x", i, i))
	}
	users = append(users, User{ObjectID: UserOverage, Name: "Olive Overage", Email: "olive.overage@demo.signetassure.test",
		Groups: many})
	return users
}
