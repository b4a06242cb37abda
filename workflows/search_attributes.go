package workflows

import "go.temporal.io/sdk/temporal"

// Search attributes, all opaque ids or enumerations: never a name, a date of birth or contact details.
var (
	CaseRefKey        = temporal.NewSearchAttributeKeyKeyword("CaseRef")
	CaseTypeKey       = temporal.NewSearchAttributeKeyKeyword("CaseType")
	CaseStatusKey     = temporal.NewSearchAttributeKeyKeyword("CaseStatus")
	ClearanceLevelKey = temporal.NewSearchAttributeKeyKeyword("ClearanceLevel")
	VettingOwnerKey   = temporal.NewSearchAttributeKeyKeyword("VettingOwner")
	GrantStatusKey    = temporal.NewSearchAttributeKeyKeyword("GrantStatus")
	TripStatusKey     = temporal.NewSearchAttributeKeyKeyword("TripStatus")
)

// SearchAttributeKeys is every search attribute SignetAssure uses, for registering them on a server.
var SearchAttributeKeys = []temporal.SearchAttributeKeyKeyword{
	CaseRefKey, CaseTypeKey, CaseStatusKey, ClearanceLevelKey, VettingOwnerKey, GrantStatusKey, TripStatusKey,
}

// SearchAttributeSchema gives each key a value, the form testsuite.DevServerOptions takes to register them.
func SearchAttributeSchema() temporal.SearchAttributes {
	var updates []temporal.SearchAttributeUpdate
	for _, k := range SearchAttributeKeys {
		updates = append(updates, k.ValueSet(""))
	}
	return temporal.NewSearchAttributes(updates...)
}
