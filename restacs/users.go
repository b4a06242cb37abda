package restacs

import (
	"context"
	"fmt"
	"net/url"

	"golang.org/x/sync/errgroup"

	"github.com/signetassure/signetassure/access"
)

// levelReads bounds the per-user level reads run at once when levels live in a sub-resource.
const levelReads = 8

// personField points at one of a user's text fields by its configuration name; nil for active and unknown names.
func personField(u *access.User, name string) *string {
	switch name {
	case "id":
		return &u.ID
	case "externalId":
		return &u.ExternalID
	case "employeeNumber":
		return &u.EmployeeNumber
	case "firstName":
		return &u.FirstName
	case "lastName":
		return &u.LastName
	case "email":
		return &u.Email
	case "companyId":
		return &u.CompanyID
	case "locationId":
		return &u.LocationID
	}
	return nil
}

// read is a mapped field's text in doc; "" when the field is not mapped.
func read(doc any, fields map[string]Field, name string) string {
	f, ok := fields[name]
	if !ok {
		return ""
	}
	return extract(f.Pattern, text(get(doc, f.Path)))
}

// activeValues are the ACS's values for active and disabled.
func activeValues(f Field) (yes, no any) {
	yes, no = f.Active, f.Inactive
	if yes == nil {
		yes = true
	}
	if no == nil {
		no = false
	}
	return yes, no
}

// userFrom maps an ACS record to a User without its access.
func (c *Connector) userFrom(rec any) access.User {
	var u access.User
	fields := c.cfg.Users.Fields
	for _, name := range userFieldNames {
		if p := personField(&u, name); p != nil {
			*p = read(rec, fields, name)
		}
	}
	yes, _ := activeValues(fields["active"])
	u.Active = text(get(rec, fields["active"].Path)) == text(yes)
	return u
}

// writeUser sets u's mapped person fields and active on body. With prev, only fields that differ from prev
// are written; skipEmpty leaves out empty ones (on create). It answers how many it wrote.
func (c *Connector) writeUser(body map[string]any, u access.User, prev *access.User, skipEmpty bool) (int, error) {
	n := 0
	for _, name := range userFieldNames {
		f, ok := c.cfg.Users.Fields[name]
		if !ok || name == "id" {
			continue
		}
		if name == "active" {
			if prev != nil && prev.Active == u.Active {
				continue
			}
			yes, no := activeValues(f)
			set(body, f.Path, map[bool]any{true: yes, false: no}[u.Active])
			n++
			continue
		}
		v := *personField(&u, name)
		if (prev != nil && *personField(prev, name) == v) || (skipEmpty && v == "") {
			continue
		}
		if err := c.writeField(body, "users.fields."+name, f, v); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// writeField sets one field on body, through its write template when it has one. An empty value with a
// template (no division, say) is null rather than a broken link.
func (c *Connector) writeField(body map[string]any, key string, f Field, v any) error {
	if f.Write != "" {
		if v == nil || v == "" {
			v = nil
		} else {
			var err error
			if v, err = render(f.Write, varMap(map[string]any{"value": text(v), "baseURL": c.baseURL})); err != nil {
				return fmt.Errorf("restacs: %s.write: %v", key, err)
			}
		}
	}
	set(body, f.Path, v)
	return nil
}

// withAccess maps records to users and reads each one's levels.
func (c *Connector) withAccess(ctx context.Context, recs []any) ([]access.User, error) {
	users := make([]access.User, len(recs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(levelReads)
	for i, rec := range recs {
		users[i] = c.userFrom(rec)
		g.Go(func() error {
			ms, err := c.memberships(ctx, users[i].ID, rec)
			for _, m := range ms {
				users[i].Levels = append(users[i].Levels, m.Assignment)
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return users, nil
}

// list reads every user the list answers (narrowed by extra) whose record keep accepts.
func (c *Connector) list(ctx context.Context, extra url.Values, keep func(access.User) bool) ([]access.User, error) {
	var recs []any
	err := c.each(ctx, c.cfg.Users.Collection, extra, 0, func(rec any) bool {
		if keep == nil || keep(c.userFrom(rec)) {
			recs = append(recs, rec)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return c.withAccess(ctx, recs)
}

// Users lists every user with its access.
func (c *Connector) Users(ctx context.Context) ([]access.User, error) {
	return c.list(ctx, nil, nil)
}

// FindUsers lists the users whose external id is exactly externalID (a search parameter may match more).
func (c *Connector) FindUsers(ctx context.Context, externalID string) ([]access.User, error) {
	if externalID == "" {
		return nil, fmt.Errorf("restacs: FindUsers: an empty external id would match every unmanaged user")
	}
	var extra url.Values
	if c.cfg.Users.Find != "" {
		extra = url.Values{c.cfg.Users.Find: {externalID}}
	}
	return c.list(ctx, extra, func(u access.User) bool { return u.ExternalID == externalID })
}

// getUser reads one user's record.
func (c *Connector) getUser(ctx context.Context, id string) (any, error) {
	doc, _, err := c.call(ctx, c.cfg.Users.Get, id, nil, nil)
	if err != nil {
		return nil, err
	}
	return get(doc, c.cfg.Users.Record), nil
}

// verify reads the record at current.ID and checks it is still current's (access.CheckRecord) before op
// writes to it: an id alone never decides whose record is written.
func (c *Connector) verify(ctx context.Context, op string, current access.User) error {
	rec, err := c.getUser(ctx, current.ID)
	if err != nil {
		return err
	}
	have := c.userFrom(rec)
	have.ID = current.ID
	return access.CheckRecord(op, current, have)
}

// CreateUser creates u and then gives it u's access. When the access write fails the user exists: the
// answer is then u with its new ID and the error, and the next sync finds it by its external id.
func (c *Connector) CreateUser(ctx context.Context, u access.User) (access.User, error) {
	cr := c.cfg.Users.Create
	if u.ID != "" {
		return u, fmt.Errorf("restacs: CreateUser: user already has id %q", u.ID)
	}
	base, err := render(anyMap(cr.Body), varMap(map[string]any{"baseURL": c.baseURL}))
	if err != nil {
		return u, fmt.Errorf("restacs: users.create.body: %v", err)
	}
	body, _ := base.(map[string]any)
	if body == nil {
		body = map[string]any{}
	}
	if _, err := c.writeUser(body, u, nil, true); err != nil {
		return u, err
	}
	doc, header, err := c.call(ctx, cr.Request, "", nil, body)
	if err != nil {
		return u, err
	}
	raw := text(get(get(doc, c.cfg.Users.Record), cr.ID.Path))
	if cr.ID.Header != "" {
		raw = header.Get(cr.ID.Header)
	}
	if u.ID = extract(cr.ID.Pattern, raw); u.ID == "" {
		return u, fmt.Errorf("restacs: %s: the answer carries no id (users.create.id)", cr.Request)
	}
	if len(u.Levels) > 0 || len(u.Profiles) > 0 {
		fresh := u
		fresh.Access = access.Access{}
		return u, c.SetAccess(ctx, fresh, u.Access)
	}
	return u, nil
}

// UpdateUser writes desired's person fields and active over current: only the changed ones unless
// users.update.send is "whole". Access is left alone.
func (c *Connector) UpdateUser(ctx context.Context, current, desired access.User) error {
	if desired.ID != current.ID || current.ID == "" {
		return fmt.Errorf("restacs: UpdateUser: ids differ or are empty (%q, %q)", current.ID, desired.ID)
	}
	prev := &current
	if c.cfg.Users.Update.Send == "whole" {
		prev = nil
	}
	body := map[string]any{}
	n, err := c.writeUser(body, desired, prev, false)
	if err != nil || n == 0 {
		return err
	}
	if err := c.verify(ctx, c.cfg.Users.Update.Request, current); err != nil {
		return err
	}
	_, _, err = c.call(ctx, c.cfg.Users.Update.Request, current.ID, nil, body)
	return err
}

// DeleteUser removes current's record, once read and found still current's; one already gone is not an
// error.
func (c *Connector) DeleteUser(ctx context.Context, current access.User) error {
	if current.ID == "" {
		return fmt.Errorf("restacs: DeleteUser: empty id")
	}
	err := c.verify(ctx, c.cfg.Users.Delete, current)
	if err == nil {
		_, _, err = c.call(ctx, c.cfg.Users.Delete, current.ID, nil, nil)
	}
	if access.KindOf(err) == access.KindNotFound {
		return nil
	}
	return err
}
