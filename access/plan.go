package access

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/text/cases"
)

// Desired is what SignetAssure approves for one person.
type Desired struct {
	PersonID uuid.UUID
	// User is the record the person should have: ExternalID set, ID empty. Active false with no access
	// means the person keeps a disabled record if one exists, and gets none if not.
	User User
	// Present is false when the person must have no record at all (removed for inactivity).
	Present bool
	// LinkedUserID is the ACS record SignetAssure last governed for the person ("" if none).
	LinkedUserID string
	// Pushed is the access SignetAssure last wrote, to tell an operator's drift from our own changes.
	Pushed Access
}

// OpKind names what an operation does in the ACS.
type OpKind string

const (
	OpCreate    OpKind = "create"
	OpUpdate    OpKind = "update"     // person fields, Active, or adopting a record by employee number
	OpSetAccess OpKind = "set_access" // levels and profiles
	OpDelete    OpKind = "delete"
)

// Op is one intended change. Its ID is made from what it does, so the same change planned twice (a retry,
// a worker restarted mid-sync) is the same operation.
type Op struct {
	ID       string    `json:"id"`
	Kind     OpKind    `json:"kind"`
	PersonID uuid.UUID `json:"personId"`
	UserID   string    `json:"userId,omitempty"`
	Current  User      `json:"-"`
	Desired  User      `json:"-"`
}

// Scoped gives the operation an id of its own within scope (the activity that carries it out): a retry of
// that activity plans the same operation and finds it journalled, while the same change needed again
// later (an operator adds the same level by hand a second time) is a new operation, journalled and audited.
func (o Op) Scoped(scope string) Op {
	o.ID = "op_" + digest(o.ID, scope)
	return o
}

// FindingKind names what a reconciliation found that a person should know.
type FindingKind string

const (
	FindingUnapprovedLevel   FindingKind = "unapproved_level"   // a level nobody approved: removed
	FindingUnapprovedProfile FindingKind = "unapproved_profile" // a profile nobody approved: removed
	FindingValidityChanged   FindingKind = "validity_changed"   // a level's dates changed by hand: restored
	FindingDuplicate         FindingKind = "duplicate"          // two records carry the person's key: left for a person to resolve
	FindingPossibleMatch     FindingKind = "possible_match"     // a record without our key has the person's name
	FindingLevelDeleted      FindingKind = "level_deleted"      // a level with open grants is gone from the ACS
	FindingWrongRecord       FindingKind = "wrong_record"       // the record linked by id carries another key: nothing written
)

// Scoped gives a finding that reports a change made (a level removed, dates restored) an id of its own
// within scope, so each time it happens is reported; a standing condition (a duplicate, a possible match,
// a deleted level) keeps one id and is reported once.
func (f Finding) Scoped(scope string) Finding {
	switch f.Kind {
	case FindingUnapprovedLevel, FindingUnapprovedProfile, FindingValidityChanged:
		f.ID = "f_" + digest(f.ID, scope)
	}
	return f
}

// Finding is one thing found, with what SignetAssure did about it.
type Finding struct {
	ID       string         `json:"id"`
	Kind     FindingKind    `json:"kind"`
	PersonID uuid.UUID      `json:"personId"`
	UserID   string         `json:"userId,omitempty"`
	Detail   map[string]any `json:"detail,omitempty"`
	Action   string         `json:"action"`
}

// Plan compares what a person should have with the records that carry the person's key (found) and the
// records without any SignetAssure key that might be the same person (unkeyed), and returns the changes
// that converge the ACS, and what it found. A record is never matched by name alone: a same-name record is
// reported, and an unkeyed record is adopted only on an equal employee number.
func Plan(d Desired, found, unkeyed []User) ([]Op, []Finding) {
	want := d.User
	want.ID = ""
	want.Access = Normalise(want.Access)
	var findings []Finding

	governed, extras := pickGoverned(found, d.LinkedUserID)
	for _, x := range extras {
		findings = append(findings, finding(FindingDuplicate, d.PersonID, x.ID, "left for a person to resolve",
			map[string]any{"governedUserId": governed.ID}))
	}
	if governed == nil {
		if !d.Present || !want.Active {
			return nil, findings // not approved: nothing to create
		}
		if adopt := byEmployeeNumber(unkeyed, want.EmployeeNumber); adopt != nil {
			want.ID = adopt.ID
			// The update writes the person's key on the record: the access write after it checks for that key.
			keyed := *adopt
			keyed.ExternalID = want.ExternalID
			return []Op{op(OpUpdate, d.PersonID, *adopt, want), op(OpSetAccess, d.PersonID, keyed, want)}, findings
		}
		for _, u := range unkeyed {
			if sameName(u, want) {
				findings = append(findings, finding(FindingPossibleMatch, d.PersonID, u.ID,
					"created the person's own record; the other is left as it is", nil))
			}
		}
		return []Op{op(OpCreate, d.PersonID, User{}, want)}, findings
	}

	want.ID = governed.ID
	if !d.Present {
		return []Op{op(OpDelete, d.PersonID, *governed, User{ID: governed.ID})}, findings
	}
	var ops []Op
	if !samePerson(*governed, want) {
		ops = append(ops, op(OpUpdate, d.PersonID, *governed, want))
	}
	have := Normalise(governed.Access)
	if !SameAccess(have, want.Access) {
		ops = append(ops, op(OpSetAccess, d.PersonID, *governed, want))
		findings = append(findings, drift(d, governed.ID, have, want.Access)...)
	}
	return ops, findings
}

// Governed is the record SignetAssure governs among those carrying a person's key (nil when none).
func Governed(found []User, linked string) *User {
	g, _ := pickGoverned(found, linked)
	return g
}

// pickGoverned chooses the record SignetAssure governs among those carrying the person's key: the linked
// one, else the oldest (lowest id). The others are duplicates.
func pickGoverned(found []User, linked string) (*User, []User) {
	if len(found) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(found)
	slices.SortFunc(sorted, func(a, b User) int {
		return cmp.Or(cmp.Compare(len(a.ID), len(b.ID)), cmp.Compare(a.ID, b.ID))
	})
	i := slices.IndexFunc(sorted, func(u User) bool { return u.ID == linked })
	if i < 0 {
		i = 0
	}
	g := sorted[i]
	return &g, slices.Delete(sorted, i, i+1)
}

func byEmployeeNumber(users []User, number string) *User {
	if number == "" {
		return nil
	}
	var match *User
	for i, u := range users {
		if u.EmployeeNumber == number {
			if match != nil {
				return nil // ambiguous: never pick one
			}
			match = &users[i]
		}
	}
	return match
}

var fold = cases.Fold()

func sameName(a, b User) bool {
	n := func(u User) string {
		return fold.String(strings.Join(strings.Fields(u.FirstName+" "+u.LastName), " "))
	}
	return n(a) == n(b)
}

// samePerson compares a record (have) with what it should be (want). A company or location SignetAssure
// does not map (empty in want) is the ACS's to choose: CredoID gives every user a default location.
func samePerson(have, want User) bool {
	return have.ExternalID == want.ExternalID && have.EmployeeNumber == want.EmployeeNumber &&
		have.FirstName == want.FirstName && have.LastName == want.LastName && have.Email == want.Email &&
		(want.CompanyID == "" || have.CompanyID == want.CompanyID) &&
		(want.LocationID == "" || have.LocationID == want.LocationID) && have.Active == want.Active
}

// drift reports what the ACS held that SignetAssure neither wants nor wrote: an operator's change.
func drift(d Desired, userID string, have, want Access) []Finding {
	var out []Finding
	wanted := levelsByID(want)
	pushed := levelsByID(Normalise(d.Pushed))
	for _, l := range have.Levels {
		w, isWanted := wanted[l.LevelID]
		p, wasPushed := pushed[l.LevelID]
		switch {
		case !isWanted && !wasPushed:
			out = append(out, finding(FindingUnapprovedLevel, d.PersonID, userID, "removed",
				map[string]any{"levelId": l.LevelID, "from": l.From, "to": l.To}))
		case isWanted && wasPushed && w == p && l != w:
			out = append(out, finding(FindingValidityChanged, d.PersonID, userID, "restored",
				map[string]any{"levelId": l.LevelID, "from": l.From, "to": l.To}))
		}
	}
	for _, p := range have.Profiles {
		if !slices.Contains(want.Profiles, p) && !slices.Contains(d.Pushed.Profiles, p) {
			out = append(out, finding(FindingUnapprovedProfile, d.PersonID, userID, "removed",
				map[string]any{"profileId": p}))
		}
	}
	return out
}

func levelsByID(a Access) map[string]Assignment {
	m := make(map[string]Assignment, len(a.Levels))
	for _, l := range a.Levels {
		m[l.LevelID] = l
	}
	return m
}

// Normalise puts access in canonical form: UTC to the second, one assignment per level (the union of
// its windows' extent), sorted; profiles sorted and unique.
func Normalise(a Access) Access {
	byLevel := map[string]Assignment{}
	for _, l := range a.Levels {
		l.From, l.To = second(l.From), second(l.To)
		if prev, ok := byLevel[l.LevelID]; ok {
			l.From = earliest(prev.From, l.From)
			l.To = latest(prev.To, l.To)
		}
		byLevel[l.LevelID] = l
	}
	out := Access{Levels: make([]Assignment, 0, len(byLevel)), Profiles: slices.Clone(a.Profiles)}
	for _, l := range byLevel {
		out.Levels = append(out.Levels, l)
	}
	slices.SortFunc(out.Levels, func(x, y Assignment) int { return cmp.Compare(x.LevelID, y.LevelID) })
	slices.Sort(out.Profiles)
	out.Profiles = slices.Compact(out.Profiles)
	if out.Profiles == nil {
		out.Profiles = []string{}
	}
	return out
}

// SameAccess compares two normalised Access values.
func SameAccess(a, b Access) bool {
	return slices.Equal(a.Levels, b.Levels) && slices.Equal(a.Profiles, b.Profiles)
}

func second(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// earliest and latest treat a zero time as unbounded.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if a.IsZero() || b.IsZero() {
		return time.Time{}
	}
	if b.After(a) {
		return b
	}
	return a
}

func op(kind OpKind, person uuid.UUID, current, desired User) Op {
	return Op{ID: "op_" + digest(kind, person, current.ID, desired), Kind: kind, PersonID: person,
		UserID: cmp.Or(current.ID, desired.ID), Current: current, Desired: desired}
}

func finding(kind FindingKind, person uuid.UUID, userID, action string, detail map[string]any) Finding {
	return Finding{ID: "f_" + digest(kind, person, userID, detail), Kind: kind, PersonID: person, UserID: userID,
		Detail: detail, Action: action}
}

// digest is a short hash of the JSON of its parts.
func digest(parts ...any) string {
	b, _ := json.Marshal(parts)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
