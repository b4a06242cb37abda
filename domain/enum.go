package domain

import "strings"

// OneOf lists the values allowed, as messages name them: "BPSS, CTC, SC, eSC, DV, eDV".
func OneOf[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func enumOf[T ~string](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// Enum lists the values allowed, for the OpenAPI document (github.com/swaggest/jsonschema-go reads it
// from the type of a request's field, so no request repeats the list).
func (Level) Enum() []any { return enumOf(Levels) }

// Enum lists the case types (see Level.Enum).
func (CaseType) Enum() []any { return enumOf(CaseTypes) }

// Enum lists the outcomes (see Level.Enum).
func (Outcome) Enum() []any { return enumOf(Outcomes) }

// Enum lists the channels (see Level.Enum).
func (Channel) Enum() []any { return enumOf(Channels) }

// Enum lists the message statuses (see Level.Enum).
func (MessageStatus) Enum() []any { return enumOf(MessageStatuses) }

// Enum lists the partner scopes (see Level.Enum).
func (Scope) Enum() []any { return enumOf(Scopes) }

// Enum lists the roles (see Level.Enum).
func (Role) Enum() []any { return enumOf(Roles) }

// Enum lists the staff token scopes (see Level.Enum).
func (StaffScope) Enum() []any { return enumOf(StaffScopes) }

// Enum lists the directories (see Level.Enum).
func (Directory) Enum() []any { return enumOf(Directories) }

// Enum lists the clearance states of a compliance view (see Level.Enum).
func (ClearanceState) Enum() []any { return enumOf(ClearanceStates) }
