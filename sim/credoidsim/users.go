package credoidsim

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// apiError is a refusal, served as ProblemDetails and returned as the error of the Go methods.
type apiError struct {
	status int
	title  string
	fields map[string][]string
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("%d %s", e.status, e.title)
	for _, k := range slices.Sorted(maps.Keys(e.fields)) {
		s += fmt.Sprintf("; %s: %s", k, strings.Join(e.fields[k], " "))
	}
	return s
}

func notFound(what string) *apiError {
	return &apiError{status: http.StatusNotFound, title: "The " + what + " was not found."}
}

// fromRecord validates a record sent in and makes a user of it (its id not set), as ASP.NET model
// validation would: missing names, unknown company, location, level or profile ids, unreadable dates and
// a level given twice are 400 with the fields named [I]. A user given no location gets the first one, as
// every CredoID user has a default location [R]. Called with mu held.
func (s *Sim) fromRecord(r UserRecord) (*user, *apiError) {
	errs := map[string][]string{}
	bad := func(field, msg string, args ...any) { errs[field] = append(errs[field], fmt.Sprintf(msg, args...)) }
	if strings.TrimSpace(r.FirstName) == "" {
		bad("FirstName", "The FirstName field is required.")
	}
	if strings.TrimSpace(r.LastName) == "" {
		bad("LastName", "The LastName field is required.")
	}
	date := func(field string, v *string) time.Time {
		t, err := parseWireTime(v, s.loc)
		if err != nil {
			bad(field, "The JSON value could not be converted to System.DateTime.")
		}
		return t
	}
	u := &user{
		first: r.FirstName, last: r.LastName, employee: strings.TrimSpace(r.EmployeeNumber), email: r.Email,
		department: r.Department, title: r.Title,
		additional: [3]string{r.Additional1, r.Additional2, r.Additional3},
		active:     r.IsActive,
		activation: date("ActivationDate", r.ActivationDate), expiration: date("ExpirationDate", r.ExpirationDate),
		identifications: r.Identifications,
	}
	if r.Company != nil && r.Company.ID != 0 {
		if _, ok := s.companies[r.Company.ID]; !ok {
			bad("Company.Id", "Company %d does not exist.", r.Company.ID)
		}
		u.company = r.Company.ID
	}
	for i, l := range r.Locations {
		if _, ok := s.locations[l.ID]; !ok {
			bad(fmt.Sprintf("Locations[%d].Id", i), "Location %d does not exist.", l.ID)
		}
		if !slices.Contains(u.locations, l.ID) {
			u.locations = append(u.locations, l.ID)
		}
	}
	if len(u.locations) == 0 && len(s.locations) > 0 {
		u.locations = []int{slices.Min(slices.Collect(maps.Keys(s.locations)))}
	}
	for i, l := range r.AccessLevels {
		field := fmt.Sprintf("AccessLevels[%d]", i)
		if _, ok := s.levels[l.ID]; !ok {
			bad(field+".Id", "Access level %d does not exist.", l.ID)
		}
		if slices.ContainsFunc(u.grants, func(g grant) bool { return g.level == l.ID }) {
			bad(field+".Id", "Access level %d is given twice.", l.ID)
		}
		g := grant{level: l.ID, from: date(field+".ValidFrom", l.ValidFrom), to: date(field+".ValidTo", l.ValidTo)}
		if !g.from.IsZero() && !g.to.IsZero() && g.to.Before(g.from) {
			bad(field+".ValidTo", "ValidTo is before ValidFrom.")
		}
		u.grants = append(u.grants, g)
	}
	for i, p := range r.AccessProfiles {
		if _, ok := s.profiles[p.ID]; !ok {
			bad(fmt.Sprintf("AccessProfiles[%d].Id", i), "Access profile %d does not exist.", p.ID)
		}
		if !slices.Contains(u.profiles, p.ID) {
			u.profiles = append(u.profiles, p.ID)
		}
	}
	if len(errs) > 0 {
		return nil, &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.", fields: errs}
	}
	u.setHaystack()
	return u, nil
}

// setHaystack fills in the lower-cased text ?search= looks in.
func (u *user) setHaystack() {
	u.haystack = strings.ToLower(strings.Join([]string{u.first, u.last, u.first + " " + u.last, u.employee, u.additional[0]}, "\x00"))
}

// record is u as the API serves it, names looked up, date-times in the server's zone. Called with mu held.
func (s *Sim) record(u *user) UserRecord {
	r := UserRecord{
		ID: u.id, FirstName: u.first, LastName: u.last, EmployeeNumber: u.employee, Email: u.email,
		Department: u.department, Title: u.title,
		Additional1: u.additional[0], Additional2: u.additional[1], Additional3: u.additional[2],
		IsActive:       u.active,
		ActivationDate: wireTime(u.activation, s.loc), ExpirationDate: wireTime(u.expiration, s.loc),
		Locations:       []RefRecord{},
		AccessLevels:    []LevelAssignment{},
		AccessProfiles:  []RefRecord{},
		Identifications: u.identifications,
	}
	if r.Identifications == nil {
		r.Identifications = []json.RawMessage{}
	}
	if u.company != 0 {
		r.Company = &RefRecord{ID: u.company, Name: s.companies[u.company]}
	}
	for _, id := range u.locations {
		r.Locations = append(r.Locations, RefRecord{ID: id, Name: s.locations[id]})
	}
	for _, g := range u.grants {
		a := LevelAssignment{ID: g.level, ValidFrom: wireTime(g.from, s.loc), ValidTo: wireTime(g.to, s.loc)}
		if l := s.levels[g.level]; l != nil {
			a.Name, a.LocationID = l.name, l.location
		}
		r.AccessLevels = append(r.AccessLevels, a)
	}
	for _, id := range u.profiles {
		name := ""
		if p := s.profiles[id]; p != nil {
			name = p.name
		}
		r.AccessProfiles = append(r.AccessProfiles, RefRecord{ID: id, Name: name})
	}
	return r
}

// summary is u as the real CredoID lists it [M].
func summary(u *user) userSummary {
	return userSummary{ID: u.id, FirstName: u.first, LastName: u.last,
		Additional1: u.additional[0], Additional2: u.additional[1], Additional3: u.additional[2]}
}

// insert stores a new user under the next id. Called with mu held.
func (s *Sim) insert(u *user) {
	s.next.user++
	u.id = s.next.user
	s.users[u.id] = u
	s.order = append(s.order, u.id) // ids only grow: the order stays sorted
	s.index(u, true)
}

// replace puts u in old's place, keeping its id. Called with mu held.
func (s *Sim) replace(old, u *user) {
	s.index(old, false)
	u.id = old.id
	s.users[u.id] = u
	s.index(u, true)
}

// remove deletes a user. Called with mu held.
func (s *Sim) remove(u *user) {
	s.index(u, false)
	delete(s.users, u.id)
	if i, ok := slices.BinarySearch(s.order, u.id); ok {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// index adds u to (or removes it from) the additional1, employee-number and search indexes.
func (s *Sim) index(u *user, add bool) {
	if add {
		s.search.add(u)
	} else {
		s.search.drop(u)
	}
	for _, ix := range []struct {
		m   map[string][]int
		key string
	}{{s.byExt, u.additional[0]}, {s.byEmp, u.employee}} {
		if ix.key == "" {
			continue
		}
		ids := slices.DeleteFunc(ix.m[ix.key], func(id int) bool { return id == u.id })
		if add {
			ids = append(ids, u.id)
		}
		if len(ids) == 0 {
			delete(ix.m, ix.key)
		} else {
			ix.m[ix.key] = ids
		}
	}
}

// employeeTaken tells whether another user than except holds the employee number.
func (s *Sim) employeeTaken(employee string, except int) bool {
	return employee != "" && slices.ContainsFunc(s.byEmp[employee], func(id int) bool { return id != except })
}

func duplicateEmployee(employee string) *apiError {
	return &apiError{status: http.StatusConflict, title: "A user with this employee number already exists.",
		fields: map[string][]string{"EmployeeNumber": {fmt.Sprintf("Employee number %s is already in use.", employee)}}}
}

// create validates and stores a new user, copies times over (2 when the duplicate-create fault is on).
// unique refuses a taken employee number with 409 [I]; operators' entries skip that check, modelling an
// install whose user key is first + last name [R], where employee numbers need not be unique.
func (s *Sim) create(r UserRecord, unique bool, copies int) (UserRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first *user
	for range copies {
		u, err := s.fromRecord(r)
		if err != nil {
			return UserRecord{}, err
		}
		if unique && first == nil && s.employeeTaken(u.employee, 0) {
			return UserRecord{}, duplicateEmployee(u.employee)
		}
		s.insert(u)
		if first == nil {
			first = u
		}
	}
	return s.record(first), nil
}

// update replaces user id's whole record with r [I: PUT replaces, no partial update]. An employee number
// is checked for duplicates only when it changes, so users duplicated earlier can still be edited.
func (s *Sim) update(id int, r UserRecord) (UserRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.users[id]
	if !ok {
		return UserRecord{}, notFound("user")
	}
	if r.ID != 0 && r.ID != id {
		return UserRecord{}, &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.",
			fields: map[string][]string{"Id": {"The id in the body is not the id in the path."}}}
	}
	u, err := s.fromRecord(r)
	if err != nil {
		return UserRecord{}, err
	}
	if u.employee != old.employee && s.employeeTaken(u.employee, id) {
		return UserRecord{}, duplicateEmployee(u.employee)
	}
	s.replace(old, u)
	return s.record(u), nil
}

// deleteUser deletes a user; one that is not there is 404.
func (s *Sim) deleteUser(id int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return notFound("user")
	}
	s.remove(u)
	return nil
}

// list is one page of users matching search (all when ""), by ascending id, and the number of matches.
// Without a search a page costs O(take); a search looks at the users holding its rarest trigram (see
// trigrams), or at every user when it is shorter than one.
func (s *Sim) list(search string, skip, take int, full bool) (page []any, total int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ids := s.order
	if search = strings.ToLower(strings.TrimSpace(search)); search != "" {
		ids = s.matching(search)
	}
	total = len(ids)
	if skip > total {
		skip = total
	}
	page = make([]any, 0, min(take, total-skip))
	for _, id := range ids[skip:min(skip+take, total)] {
		if full {
			page = append(page, s.record(s.users[id]))
		} else {
			page = append(page, summary(s.users[id]))
		}
	}
	return page, total
}

// Users returns every user's full record, by ascending id.
func (s *Sim) Users() []UserRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]UserRecord, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.record(s.users[id]))
	}
	return out
}

// User returns one user's full record.
func (s *Sim) User(id int) (UserRecord, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	if !ok {
		return UserRecord{}, false
	}
	return s.record(u), true
}

// RenumberUsers gives the users the same set of ids in reverse order (the user with the lowest id gets the
// highest, and so on), as a restore from a backup or a migration that renumbers records would: an id that
// named one person's record now names another's. Events keep the ids they were recorded with. It returns
// the new id of each old one.
func (s *Sim) RenumberUsers() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	moved := make(map[int]int, len(s.order))
	users := make(map[int]*user, len(s.users))
	for i, id := range s.order {
		u := s.users[id]
		s.index(u, false)
		u.id = s.order[len(s.order)-1-i]
		moved[id] = u.id
		users[u.id] = u
	}
	s.users = users
	for _, u := range users {
		s.index(u, true)
	}
	return moved
}

// UsersByExternalID returns the users whose additional1 is externalID (more than one is a duplicate).
func (s *Sim) UsersByExternalID(externalID string) []UserRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []UserRecord
	for _, id := range s.byExt[externalID] {
		out = append(out, s.record(s.users[id]))
	}
	return out
}

// CreateUserByHand creates a user as an operator would in CredoID's own UI: any fields, additional1
// optional, the employee number not checked for duplicates. It returns the stored record.
func (s *Sim) CreateUserByHand(r UserRecord) (UserRecord, error) {
	return s.create(r, false, 1)
}

// AddLevelByHand gives a user an access level as an operator would, or changes its validity when the
// user has it already. Zero times are unbounded.
func (s *Sim) AddLevelByHand(userID, levelID int, from, to time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return notFound("user")
	}
	if _, ok := s.levels[levelID]; !ok {
		return &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.",
			fields: map[string][]string{"LevelId": {fmt.Sprintf("Access level %d does not exist.", levelID)}}}
	}
	g := grant{level: levelID, from: from, to: to}
	if i := slices.IndexFunc(u.grants, func(g grant) bool { return g.level == levelID }); i >= 0 {
		u.grants[i] = g
	} else {
		u.grants = append(u.grants, g)
	}
	return nil
}

// Cleanup is CredoID's hourly clean-up [R], run now: it deletes the users whose expirationDate has passed
// on the server's clock and returns their ids.
func (s *Sim) Cleanup() []int {
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cleanup(now)
}

func (s *Sim) cleanup(now time.Time) []int {
	deleted := []int{}
	for _, id := range slices.Clone(s.order) {
		if u := s.users[id]; !u.expiration.IsZero() && u.expiration.Before(now) {
			s.remove(u)
			deleted = append(deleted, id)
		}
	}
	return deleted
}

// hourly runs the clean-up on the first call after each full hour of the server's clock (the
// cleanupHourly fault), so it works with a simulated clock and without a timer.
func (s *Sim) hourly(now time.Time) {
	hour := now.Truncate(time.Hour)
	s.mu.Lock()
	defer s.mu.Unlock()
	if hour.After(s.lastCleanup) {
		s.lastCleanup = hour
		s.cleanup(now)
	}
}
