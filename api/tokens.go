package api

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// DefaultTokenMaxValidity is how far ahead a staff API token may expire unless TOKEN_MAX_VALIDITY says.
const DefaultTokenMaxValidity = 90 * 24 * time.Hour

// TokenInput issues a token: a name to tell it by, when it expires (required, within the configured
// maximum), and what it may do: one or more scopes, each given by one of its holder's roles (and, for a
// token issued with a token, held by that token too).
type TokenInput struct {
	Name      *string             `json:"name,omitempty" required:"true" maxLength:"100"`
	ExpiresAt *string             `json:"expiresAt,omitempty" required:"true" format:"date-time"`
	Scopes    []domain.StaffScope `json:"scopes,omitempty"`
}

// RotateInput rotates a token; expiresAt absent keeps the old token's expiry.
type RotateInput struct {
	ExpiresAt *string `json:"expiresAt,omitempty" format:"date-time"`
}

type userTokenPath struct {
	ID      string `path:"id" format:"uuid"`
	TokenID string `path:"tokenId" format:"uuid"`
}

// tokenRoutes: every staff user lists, issues, rotates and revokes their own API tokens; an administrator
// lists and revokes anyone's (a leaver's, a leaked one).
func (s *Server) tokenRoutes() []op {
	return []op{
		{method: http.MethodGet, path: "/api/v1/me/tokens", summary: "The calling user's API tokens, newest first (never their secrets)",
			roles: allStaff, resp: new([]domain.APIToken), handle: s.myTokens},
		{method: http.MethodPost, path: "/api/v1/me/tokens", summary: "Issue the calling user an API token; its secret is in this answer only",
			roles: allStaff, req: new(TokenInput), resp: new(domain.APIToken), status: http.StatusCreated, secret: true,
			handle: s.issueToken},
		{method: http.MethodPost, path: "/api/v1/me/tokens/:id/rotate", summary: "Replace one of the calling user's tokens by a new one (the old one stops at once); the new secret is in this answer only",
			roles: allStaff, req: new(struct {
				idPath
				RotateInput
			}), resp: new(domain.APIToken), status: http.StatusCreated, secret: true, handle: s.rotateToken},
		{method: http.MethodDelete, path: "/api/v1/me/tokens/:id", summary: "Revoke one of the calling user's tokens at once",
			roles: allStaff, req: new(idPath), resp: new(domain.APIToken), handle: s.revokeMyToken},
		{method: http.MethodGet, path: "/api/v1/users/:id/tokens", summary: "A staff user's API tokens (never their secrets)",
			roles: adminOnly, req: new(idPath), resp: new([]domain.APIToken), handle: s.userTokens},
		{method: http.MethodDelete, path: "/api/v1/users/:id/tokens/:tokenId", summary: "Revoke a staff user's token at once",
			roles: adminOnly, req: new(userTokenPath), resp: new(domain.APIToken), handle: s.revokeUserToken},
	}
}

func (s *Server) myTokens(c *gin.Context) error {
	tokens, err := s.Store.Tokens(c, actorID(c))
	return respond(c, nonNil(tokens), err)
}

func (s *Server) userTokens(c *gin.Context) error {
	id, err := s.pathUser(c)
	if err != nil {
		return err
	}
	tokens, err := s.Store.Tokens(c, id)
	return respond(c, nonNil(tokens), err)
}

func (s *Server) issueToken(c *gin.Context) error {
	in, err := s.readTokenInput(c)
	if err != nil {
		return err
	}
	cred := credential(c)
	var errs fields
	s.checkScopes(&errs, in.scopes, cred.User, cred.Scopes)
	if err := errs.err(); err != nil {
		return err
	}
	return s.issue(c, actorID(c), in)
}

// tokenRequest is a token a request asks for, checked.
type tokenRequest struct {
	name    string
	expires time.Time
	scopes  []domain.StaffScope
}

// readTokenInput reads and checks the token a request asks for, but for whether its holder may have
// its scopes (checkScopes).
func (s *Server) readTokenInput(c *gin.Context) (tokenRequest, error) {
	var in TokenInput
	if err := decode(c, &in); err != nil {
		return tokenRequest{}, err
	}
	var errs fields
	t := tokenRequest{name: requiredText(&errs, "name", in.Name)}
	at := s.tokenExpiry(&errs, in.ExpiresAt, true)
	switch {
	case len(in.Scopes) == 0:
		errs.add("scopes", "must hold one or more of %s", domain.OneOf(domain.StaffScopes))
	case slices.ContainsFunc(in.Scopes, func(sc domain.StaffScope) bool { return !sc.Valid() }):
		errs.add("scopes", "must hold only %s", domain.OneOf(domain.StaffScopes))
	default:
		t.scopes = slices.Clone(in.Scopes)
		slices.Sort(t.scopes)
		t.scopes = slices.Compact(t.scopes)
	}
	if err := errs.err(); err != nil {
		return tokenRequest{}, err
	}
	t.expires = *at
	return t, nil
}

// checkScopes checks that holder's roles give each scope asked for and, when the request was made with
// a token limited to scopes (within), that it holds each too: no token makes a mightier one.
func (s *Server) checkScopes(errs *fields, asked []domain.StaffScope, holder domain.StaffUser, within []domain.StaffScope) {
	for _, sc := range asked {
		if !slices.ContainsFunc(holder.Roles, func(r domain.Role) bool { return slices.Contains(s.roleScopes[r], sc) }) {
			errs.add("scopes", "%s is not given by the holder's roles (%s)", sc, roleList(holder.Roles))
			return
		}
		if within != nil && !slices.Contains(within, sc) {
			errs.add("scopes", "%s is not held by the token this request was made with", sc)
			return
		}
	}
}

// issue issues user a token and answers with its secret, once.
func (s *Server) issue(c *gin.Context, user uuid.UUID, in tokenRequest) error {
	t, err := s.Store.IssueNamedToken(c, actor(c), user, in.name, in.expires, in.scopes)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, t)
	return nil
}

func (s *Server) rotateToken(c *gin.Context) error {
	id, err := pathID(c, "token")
	if err != nil {
		return err
	}
	var in RotateInput
	if err := decode(c, &in); err != nil {
		return err
	}
	var errs fields
	expires := s.tokenExpiry(&errs, in.ExpiresAt, false)
	if err := errs.err(); err != nil {
		return err
	}
	t, err := s.Store.RotateToken(c, actor(c), actorID(c), id, expires)
	if errors.Is(err, store.ErrNoExpiry) {
		return invalid(FieldError{Field: "expiresAt", Message: "is required: the token never expired, and its successor must"})
	} else if errors.Is(err, store.ErrWrongState) {
		return conflict("the token is revoked or expired: issue a new one")
	} else if errors.Is(err, store.ErrNotFound) {
		return notFound("token")
	} else if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, t)
	return nil
}

func (s *Server) revokeMyToken(c *gin.Context) error {
	id, err := pathID(c, "token")
	if err != nil {
		return err
	}
	return s.revoke(c, actorID(c), id)
}

func (s *Server) revokeUserToken(c *gin.Context) error {
	user, err := pathID(c, "staff user")
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("tokenId"))
	if err != nil {
		return notFound("token")
	}
	return s.revoke(c, user, id)
}

func (s *Server) revoke(c *gin.Context, user, token uuid.UUID) error {
	t, err := s.Store.RevokeToken(c, actor(c), user, token)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("token")
	}
	return respond(c, t, err)
}

// tokenExpiry reads a token's expiry: an RFC 3339 date-time in the future, at most the configured
// maximum ahead. Absent, it is an error when required, and nil otherwise.
func (s *Server) tokenExpiry(errs *fields, v *string, required bool) *time.Time {
	if v == nil {
		if required {
			errs.add("expiresAt", "is required: tokens expire (at most %s ahead)", domain.DurationText(s.TokenMaxValidity))
		}
		return nil
	}
	t, err := time.Parse(time.RFC3339, *v)
	now := time.Now()
	switch {
	case err != nil:
		errs.add("expiresAt", "must be a date-time such as 2027-01-31T17:00:00Z")
	case !t.After(now):
		errs.add("expiresAt", "must be in the future")
	case t.After(now.Add(s.TokenMaxValidity)):
		errs.add("expiresAt", "must be at most %s ahead", domain.DurationText(s.TokenMaxValidity))
	default:
		t = t.UTC()
		return &t
	}
	return nil
}
