package credoid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
)

// pageSize is how many users or events one list request asks for.
const pageSize = 500

// Catalogue reads the access levels, profiles, companies and locations.
func (c *Client) Catalogue(ctx context.Context) (access.Catalogue, error) {
	var (
		levels               []LevelRecord
		profiles             []ProfileRecord
		companies, locations []RefRecord
	)
	for _, r := range []struct {
		path string
		out  any
	}{{"/api/access-levels", &levels}, {"/api/access-profiles", &profiles}, {"/api/companies", &companies}, {"/api/locations", &locations}} {
		if _, err := c.call(ctx, "GET "+r.path, http.MethodGet, r.path, nil, nil, r.out); err != nil {
			return access.Catalogue{}, err
		}
	}
	var cat access.Catalogue
	for _, l := range levels {
		cat.Levels = append(cat.Levels, access.Level{ID: itoa(l.ID), Name: l.Name, LocationID: optID(l.LocationID)})
	}
	for _, p := range profiles {
		ids := make([]string, len(p.AccessLevelIDs))
		for i, id := range p.AccessLevelIDs {
			ids[i] = itoa(id)
		}
		cat.Profiles = append(cat.Profiles, access.Profile{ID: itoa(p.ID), Name: p.Name, LevelIDs: ids})
	}
	refs := func(rs []RefRecord) []access.Ref {
		var out []access.Ref
		for _, r := range rs {
			out = append(out, access.Ref{ID: itoa(r.ID), Name: r.Name})
		}
		return out
	}
	cat.Companies, cat.Locations = refs(companies), refs(locations)
	return cat, nil
}

// Users lists every user with its access.
func (c *Client) Users(ctx context.Context) ([]access.User, error) { return c.list(ctx, "", nil) }

// FindUsers lists the users whose additional1 is externalID exactly. CredoID's search also matches names
// and employee numbers by substring [I], so its answer is filtered here.
func (c *Client) FindUsers(ctx context.Context, externalID string) ([]access.User, error) {
	if externalID == "" {
		return nil, nil
	}
	return c.list(ctx, externalID, func(r UserRecord) bool { return r.Additional1 == externalID })
}

// list pages through GET /api/users (skip/take, the total in X-Total-Count [M, I]) and keeps the items
// keep accepts (all when nil). The real CredoID lists only a summary of each user [M]: an item without
// accessLevels is read in full with GET /api/users/{id}, several at once.
//
// Offset paging over a list that changes meanwhile can show a user twice (dropped here) or miss one that
// moved across a page boundary; the next sync sees it.
func (c *Client) list(ctx context.Context, search string, keep func(UserRecord) bool) ([]access.User, error) {
	var recs []UserRecord
	seen := map[int]bool{}
	for skip := 0; ; {
		q := url.Values{"skip": {itoa(skip)}, "take": {itoa(pageSize)}}
		if search != "" {
			q.Set("search", search)
		}
		var page []UserRecord
		h, err := c.call(ctx, "GET /api/users", http.MethodGet, "/api/users", q, nil, &page)
		if err != nil {
			return nil, err
		}
		skip += len(page)
		for _, r := range page {
			if !seen[r.ID] && (keep == nil || keep(r)) {
				seen[r.ID] = true
				recs = append(recs, r)
			}
		}
		// A server may cap take below what was asked, so a short page ends the list only when the total
		// is not known.
		total, err := strconv.Atoi(h.Get(TotalCountHeader))
		if len(page) == 0 || (err == nil && skip >= total) || (err != nil && len(page) < pageSize) {
			break
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.workers)
	for i := range recs {
		if recs[i].AccessLevels != nil {
			continue
		}
		g.Go(func() error {
			full, err := c.get(gctx, itoa(recs[i].ID))
			if access.KindOf(err) == access.KindNotFound {
				recs[i].ID = 0 // deleted since it was listed
				return nil
			}
			recs[i] = full
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	users := make([]access.User, 0, len(recs))
	for _, r := range recs {
		if r.ID == 0 {
			continue
		}
		u, err := c.fromRecord(r)
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

const opUser = "GET /api/users/{id}"

// get reads one user's full record; a user that is not there is an access.KindNotFound error.
func (c *Client) get(ctx context.Context, id string) (UserRecord, error) {
	var rec UserRecord
	_, err := c.call(ctx, opUser, http.MethodGet, userPath(id), nil, nil, &rec)
	return rec, err
}

// CreateUser creates u with its access. A create that timed out may have been saved: the HTTP client
// does not repeat it, and the caller looks the user up by its ExternalID before trying again (a second
// create with the same employee number is refused as ErrConflict [I]).
func (c *Client) CreateUser(ctx context.Context, u access.User) (access.User, error) {
	const op = "POST /api/users"
	if u.ID != "" {
		return access.User{}, &access.Error{Kind: access.KindValidation, Op: op, Detail: "the user already has an id"}
	}
	var rec UserRecord
	if err := c.setPerson(op, &rec, u); err != nil {
		return access.User{}, err
	}
	if err := c.setAccess(op, &rec, u.Access); err != nil {
		return access.User{}, err
	}
	rec.Identifications = []json.RawMessage{}
	var created UserRecord
	if _, err := c.call(ctx, op, http.MethodPost, "/api/users", nil, rec, &created); err != nil {
		return access.User{}, err
	}
	return c.fromRecord(created)
}

// UpdateUser writes desired's person fields and Active over the user; its access stays as the server
// holds it (not as current says, which may be stale: rewriting that would undo an operator's change
// unseen).
func (c *Client) UpdateUser(ctx context.Context, current, desired access.User) error {
	return c.rewrite(ctx, current, func(op string, rec *UserRecord) error { return c.setPerson(op, rec, desired) })
}

// SetAccess makes the user's levels and profiles exactly a, each level with its validity.
func (c *Client) SetAccess(ctx context.Context, current access.User, a access.Access) error {
	return c.rewrite(ctx, current, func(op string, rec *UserRecord) error { return c.setAccess(op, rec, a) })
}

// DeleteUser deletes current's record, after reading it to check it is still current's
// (access.CheckRecord); one already gone (e.g. by CredoID's hourly clean-up) is not an error.
func (c *Client) DeleteUser(ctx context.Context, current access.User) error {
	const op = "DELETE /api/users/{id}"
	rec, err := c.get(ctx, current.ID)
	if err == nil {
		err = access.CheckRecord(op, current, keyOf(rec))
	}
	if err == nil {
		_, err = c.call(ctx, op, http.MethodDelete, userPath(current.ID), nil, nil, nil)
	}
	if access.KindOf(err) == access.KindNotFound {
		return nil
	}
	return err
}

// keyOf is what access.CheckRecord compares of a record: its id, external key and employee number.
func keyOf(r UserRecord) access.User {
	return access.User{ID: itoa(r.ID), ExternalID: r.Additional1, EmployeeNumber: r.EmployeeNumber}
}

// rewrite reads a user's full record, checks it is still current's (access.CheckRecord: an id alone never
// decides whose record is written), edits it and writes the whole record back: CredoID has no partial
// update [I]. The record is read afresh and every field is written back as read but the edited ones, so
// what SignetAssure does not manage (identifications, fields this package does not know) survives. An
// operator's change in the one round trip between the read and the write is lost: there is no ETag [I].
// A user that is not there is an access.KindNotFound error.
func (c *Client) rewrite(ctx context.Context, current access.User, edit func(op string, rec *UserRecord) error) error {
	const op = "PUT /api/users/{id}"
	id := current.ID
	var raw json.RawMessage
	if _, err := c.call(ctx, opUser, http.MethodGet, userPath(id), nil, nil, &raw); err != nil {
		return err
	}
	var (
		fields map[string]json.RawMessage
		rec    UserRecord
	)
	if err := json.Unmarshal(raw, &fields); err != nil {
		return &access.Error{Kind: access.KindTransient, Op: opUser, Detail: "unreadable answer"}
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return &access.Error{Kind: access.KindTransient, Op: opUser, Detail: "unreadable answer"}
	}
	if err := access.CheckRecord(op, current, keyOf(rec)); err != nil {
		return err
	}
	if err := edit(op, &rec); err != nil {
		return err
	}
	known, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	var edited map[string]json.RawMessage
	if err := json.Unmarshal(known, &edited); err != nil {
		return err
	}
	for k, v := range edited {
		fields[k] = v
	}
	_, err = c.call(ctx, op, http.MethodPut, userPath(id), nil, fields, nil)
	return err
}

// setPerson writes u's person fields and active flag onto rec. The default location becomes u's, first
// in the list, keeping the others; an empty LocationID leaves the locations alone.
func (c *Client) setPerson(op string, rec *UserRecord, u access.User) error {
	rec.FirstName, rec.LastName = u.FirstName, u.LastName
	rec.EmployeeNumber, rec.Email = u.EmployeeNumber, u.Email
	rec.Additional1 = u.ExternalID
	rec.IsActive = u.Active
	rec.Company = nil
	if u.CompanyID != "" {
		id, err := wireID(op, "company", u.CompanyID)
		if err != nil {
			return err
		}
		rec.Company = &RefRecord{ID: id}
	}
	if u.LocationID != "" {
		id, err := wireID(op, "locations", u.LocationID)
		if err != nil {
			return err
		}
		locs := []RefRecord{{ID: id}}
		for _, l := range rec.Locations {
			if l.ID != id {
				locs = append(locs, l)
			}
		}
		rec.Locations = locs
	}
	return nil
}

// setAccess makes rec's levels and profiles exactly a; validity goes as server-local time.
func (c *Client) setAccess(op string, rec *UserRecord, a access.Access) error {
	rec.AccessLevels = make([]LevelAssignment, 0, len(a.Levels))
	for _, l := range a.Levels {
		id, err := wireID(op, "accessLevels", l.LevelID)
		if err != nil {
			return err
		}
		rec.AccessLevels = append(rec.AccessLevels, LevelAssignment{ID: id, ValidFrom: DateTime(l.From, c.loc), ValidTo: DateTime(l.To, c.loc)})
	}
	rec.AccessProfiles = make([]RefRecord, 0, len(a.Profiles))
	for _, p := range a.Profiles {
		id, err := wireID(op, "accessProfiles", p)
		if err != nil {
			return err
		}
		rec.AccessProfiles = append(rec.AccessProfiles, RefRecord{ID: id})
	}
	return nil
}

// fromRecord turns a full record into an access.User, validity in UTC.
func (c *Client) fromRecord(r UserRecord) (access.User, error) {
	u := access.User{
		ID:             itoa(r.ID),
		ExternalID:     r.Additional1,
		EmployeeNumber: r.EmployeeNumber,
		FirstName:      r.FirstName,
		LastName:       r.LastName,
		Email:          r.Email,
		Active:         r.IsActive,
	}
	if r.Company != nil {
		u.CompanyID = optID(r.Company.ID)
	}
	if len(r.Locations) > 0 {
		u.LocationID = optID(r.Locations[0].ID)
	}
	for i, l := range r.AccessLevels {
		from, err1 := ParseDateTime(l.ValidFrom, c.loc)
		to, err2 := ParseDateTime(l.ValidTo, c.loc)
		if err := errors.Join(err1, err2); err != nil {
			return access.User{}, fmt.Errorf("credoid: user %d: accessLevels[%d]: %w", r.ID, i, err)
		}
		u.Levels = append(u.Levels, access.Assignment{LevelID: itoa(l.ID), From: from, To: to})
	}
	for _, p := range r.AccessProfiles {
		u.Profiles = append(u.Profiles, itoa(p.ID))
	}
	return u, nil
}

// wireID reads one of our string ids as CredoID's integer id.
func wireID(op, field, id string) (int, error) {
	n, err := strconv.Atoi(id)
	if err != nil || n <= 0 {
		return 0, &access.Error{Kind: access.KindValidation, Op: op, Detail: field + ": not a CredoID id",
			Fields: map[string][]string{field: {fmt.Sprintf("%q is not a CredoID id", id)}}}
	}
	return n, nil
}

func userPath(id string) string { return "/api/users/" + url.PathEscape(id) }

func itoa(n int) string { return strconv.Itoa(n) }

// optID is a wire id as a string, "" for none (0).
func optID(n int) string {
	if n == 0 {
		return ""
	}
	return itoa(n)
}
