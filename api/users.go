package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

type userQuery struct {
	Role   domain.Role `query:"role"`
	Active *bool       `query:"active" description:"false lists deactivated users; default true"`
}

// UserInput adds a staff user; roles are one or more of the five. A user of a directory (entra, ldap)
// is linked to it by e-mail at their first sign-in, and from then on their roles come from their
// directory groups at every sign-in; a local user signs in with tokens an administrator issues.
type UserInput struct {
	DisplayName *string           `json:"displayName,omitempty" required:"true" maxLength:"200"`
	Email       *string           `json:"email,omitempty" required:"true" format:"email"`
	Roles       []domain.Role     `json:"roles,omitempty"`
	Directory   *domain.Directory `json:"directory,omitempty" description:"default local"`
	UserReach
}

// UserReach is the sites and suppliers whose persons a case worker sees when the organisation scopes
// case workers.
type UserReach struct {
	LocationIDs []string `json:"locationIds,omitempty" maxItems:"500" description:"site ids"`
	SupplierIDs []string `json:"supplierIds,omitempty" maxItems:"500" description:"supplier ids"`
}

// UserChange changes a staff user: only the fields present change. active false deactivates them, which
// ends every token and session of theirs at once.
type UserChange struct {
	DisplayName *string           `json:"displayName,omitempty" maxLength:"200"`
	Roles       []domain.Role     `json:"roles,omitempty"`
	Active      *bool             `json:"active,omitempty"`
	Directory   *domain.Directory `json:"directory,omitempty"`
	UserReach
}

// userRoutes: every staff user sees who works here (to assign a case, say); administrators add users,
// change their roles, deactivate them and issue them their first token.
func (s *Server) userRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/users", summary: "List staff users", roles: allStaff,
			req: new(userQuery), resp: new([]domain.StaffUser), handle: s.listUsers},
		{method: http.MethodPost, path: "/api/v1/users", summary: "Add a staff user (they sign in with a token an administrator issues them)",
			roles: adminOnly, req: new(UserInput), resp: new(domain.StaffUser), status: http.StatusCreated, handle: s.createUser},
		{method: http.MethodGet, path: "/api/v1/users/:id", summary: "A staff user", roles: allStaff,
			req: new(idPath), resp: new(domain.StaffUser), handle: s.getUser},
		{method: http.MethodPatch, path: "/api/v1/users/:id", summary: "Change a staff user's name or roles, or deactivate them (their tokens end at once)",
			roles: adminOnly, req: new(struct {
				idPath
				UserChange
			}), resp: new(domain.StaffUser), handle: s.changeUser},
		{method: http.MethodPost, path: "/api/v1/users/:id/tokens", summary: "Issue a staff user a token to hand over; its secret is in this answer only",
			roles: adminOnly, req: new(struct {
				idPath
				TokenInput
			}), resp: new(domain.APIToken), status: http.StatusCreated, secret: true, handle: s.issueUserToken},
	}
}

func (s *Server) listUsers(c *gin.Context) error {
	q := query{c: c}
	role := single(&q, "role", domain.Role.Valid, domain.Roles)
	active := q.bool("active")
	if err := q.errs.err(); err != nil {
		return err
	}
	users, err := s.Store.Users(c, role, active == nil || *active)
	return respond(c, nonNil(users), err)
}

func (s *Server) getUser(c *gin.Context) error {
	id, err := pathID(c, "staff user")
	if err != nil {
		return err
	}
	u, err := s.Store.User(c, id)
	return respond(c, u, notFoundAs(err, "staff user"))
}

func (s *Server) createUser(c *gin.Context) error {
	var in UserInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	u := domain.StaffUser{DisplayName: requiredText(&errs, "displayName", in.DisplayName), Active: true,
		Roles: userRoles(&errs, in.Roles), Directory: directory(&errs, in.Directory)}
	u.LocationIDs, u.SupplierIDs = s.userReach(c, &errs, in.UserReach)
	if e := requiredText(&errs, "email", in.Email); e != "" {
		var err error
		if u.Email, err = domain.ParseEmail(e); err != nil {
			errs.add("email", "is not an e-mail address")
		}
	}
	if err := errs.err(); err != nil {
		return err
	}
	u, err := s.Store.CreateUser(c, actor(c), u)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, u)
	return nil
}

func (s *Server) changeUser(c *gin.Context) error {
	id, err := pathID(c, "staff user")
	if err != nil {
		return err
	}
	var in UserChange
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	var changed []string
	if in.DisplayName != nil {
		requiredText(&errs, "displayName", in.DisplayName)
		changed = append(changed, "displayName")
	}
	roles := in.Roles
	if roles != nil {
		roles = userRoles(&errs, roles)
		changed = append(changed, "roles")
	}
	if in.Active != nil {
		changed = append(changed, "active")
	}
	if in.Directory != nil {
		directory(&errs, in.Directory)
		changed = append(changed, "directory")
	}
	locations, suppliers := s.userReach(c, &errs, in.UserReach)
	if in.LocationIDs != nil {
		changed = append(changed, "locationIds")
	}
	if in.SupplierIDs != nil {
		changed = append(changed, "supplierIds")
	}
	if len(changed) == 0 {
		errs.add("body", "names nothing to change (displayName, roles, active, directory, locationIds, supplierIds)")
	}
	if err := errs.err(); err != nil {
		return err
	}
	u, err := s.Store.UpdateUser(c, actor(c), id, changed, func(u *domain.StaffUser) {
		if in.DisplayName != nil {
			u.DisplayName = *in.DisplayName
		}
		if roles != nil {
			u.Roles = roles
		}
		if in.Active != nil {
			u.Active = *in.Active
		}
		if in.Directory != nil {
			u.Directory = *in.Directory
		}
		if in.LocationIDs != nil {
			u.LocationIDs = locations
		}
		if in.SupplierIDs != nil {
			u.SupplierIDs = suppliers
		}
	})
	if errors.Is(err, store.ErrLastAdmin) {
		return conflict("this would leave no active administrator: make another user an administrator first")
	}
	return respond(c, u, notFoundAs(err, "staff user"))
}

func (s *Server) issueUserToken(c *gin.Context) error {
	id, err := pathID(c, "staff user")
	if err != nil {
		return err
	}
	in, err := s.readTokenInput(c)
	if err != nil {
		return err
	}
	u, err := s.Store.User(c, id)
	if err != nil {
		return notFoundAs(err, "staff user")
	}
	var errs fields
	s.checkScopes(&errs, in.scopes, u, nil)
	if err := errs.err(); err != nil {
		return err
	}
	if !u.Active {
		return conflict("the user is deactivated: reactivate them first")
	}
	return s.issue(c, u.ID, in)
}

// userRoles reads a user's roles: one or more, each one of the five, none twice.
func userRoles(errs *fields, roles []domain.Role) []domain.Role {
	if len(roles) == 0 {
		errs.add("roles", "must hold one or more of %s", domain.OneOf(domain.Roles))
		return nil
	}
	for _, r := range roles {
		if !r.Valid() {
			errs.add("roles", "must hold only %s", domain.OneOf(domain.Roles))
			return nil
		}
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// directory reads where a user signs in: local unless given.
func directory(errs *fields, d *domain.Directory) domain.Directory {
	if d == nil {
		return domain.DirectoryLocal
	}
	if !d.Valid() {
		errs.add("directory", "must be one of %s", domain.OneOf(domain.Directories))
	}
	return *d
}

// userReach reads a user's sites and suppliers: ids of ones that exist.
func (s *Server) userReach(c *gin.Context, errs *fields, in UserReach) (locations, suppliers []uuid.UUID) {
	read := func(field, table string, raw []string) []uuid.UUID {
		ids := make([]uuid.UUID, 0, len(raw))
		for i, v := range raw {
			id, err := uuid.Parse(v)
			if err != nil {
				errs.add(fmt.Sprintf("%s[%d]", field, i), "is not an id")
				return nil
			}
			ids = append(ids, id)
		}
		if unknown, err := s.Store.Unknown(c, table, ids); err != nil || unknown >= 0 {
			if err != nil {
				errs.add(field, "could not be checked")
			} else {
				errs.add(fmt.Sprintf("%s[%d]", field, unknown), "names no %s", strings.TrimSuffix(table, "s"))
			}
			return nil
		}
		return ids
	}
	return read("locationIds", "locations", in.LocationIDs), read("supplierIds", "suppliers", in.SupplierIDs)
}

// pathUser is the id of the staff user the route's path names, who must exist.
func (s *Server) pathUser(c *gin.Context) (uuid.UUID, error) {
	id, err := pathID(c, "staff user")
	if err != nil {
		return id, err
	}
	_, err = s.Store.User(c, id)
	return id, notFoundAs(err, "staff user")
}
