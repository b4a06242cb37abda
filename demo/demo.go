// Package demo gives `signetassure dev` its demo staff users (one per role, with API tokens kept in the
// git-ignored data folder so a restart prints the same ones) and loads demo data through the public REST
// API, so the demo goes through the same validation and workflows as real use.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// User is a demo staff user and their token.
type User struct {
	Role  domain.Role `json:"role"`
	Name  string      `json:"name"`
	Email string      `json:"email"`
	Token string      `json:"token"`
}

var users = []User{
	{Role: domain.RoleCaseWorker, Name: "Casey Worker", Email: "casey.worker@demo.invalid"},
	{Role: domain.RoleVettingOfficer, Name: "Vera Officer", Email: "vera.officer@demo.invalid"},
	{Role: domain.RoleSecurityController, Name: "Sam Controller", Email: "sam.controller@demo.invalid"},
	{Role: domain.RoleAdmin, Name: "Ada Admin", Email: "ada.admin@demo.invalid"},
	{Role: domain.RoleAuditor, Name: "Audrey Auditor", Email: "audrey.auditor@demo.invalid"},
}

// EnsureUsers makes sure a demo user exists for every role with a live token, reusing the tokens saved
// in tokenFile, and returns them.
func EnsureUsers(ctx context.Context, st *store.Store, tokenFile string) ([]User, error) {
	saved := map[domain.Role]User{}
	if b, err := os.ReadFile(tokenFile); err == nil {
		var list []User
		if json.Unmarshal(b, &list) == nil {
			for _, u := range list {
				saved[u.Role] = u
			}
		}
	}
	out := make([]User, 0, len(users))
	for _, want := range users {
		u, err := st.UserByEmail(ctx, want.Email)
		if errors.Is(err, store.ErrNotFound) {
			u, err = st.CreateUser(ctx, nil, domain.StaffUser{DisplayName: want.Name, Email: want.Email,
				Roles: []domain.Role{want.Role}, Active: true})
		}
		if err != nil {
			return nil, err
		}
		want.Token = saved[want.Role].Token
		if want.Token != "" {
			if holder, err := st.UserByToken(ctx, want.Token); err != nil || holder.ID != u.ID {
				want.Token = ""
			}
		}
		if want.Token == "" {
			if want.Token, err = st.IssueToken(ctx, nil, u.ID, "demo", nil); err != nil {
				return nil, err
			}
		}
		out = append(out, want)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.MkdirAll(filepath.Dir(tokenFile), 0o700); err != nil {
		return nil, err
	}
	return out, os.WriteFile(tokenFile, b, 0o600)
}

// TokenFor returns the token of the demo user holding role.
func TokenFor(us []User, role domain.Role) string {
	for _, u := range us {
		if u.Role == role {
			return u.Token
		}
	}
	return ""
}

// client calls the API as one demo user.
type client struct {
	base  string
	token string
}

func (c client) call(ctx context.Context, method, path string, body, out any) error {
	var r *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var p map[string]any
		json.NewDecoder(resp.Body).Decode(&p)
		return fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, p["detail"])
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}
