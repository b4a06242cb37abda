package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/signetassure/signetassure/domain"
)

// maxGraphPages bounds how many pages of groups one sign-in reads (999 groups a page at most).
const maxGraphPages = 100

// transitiveGroups reads the signed-in user's groups, nested ones included, from Microsoft Graph:
//
//	GET {GraphURL}/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id&$top=999
//
// following @odata.nextLink until there is none ("List a user's memberships (direct and transitive)",
// https://learn.microsoft.com/graph/api/user-list-transitivememberof: the OData cast to
// microsoft.graph.group keeps only groups; the page size is 100 by default and 999 at most; permission
// User.Read for the signed-in user). It is chosen over POST /me/getMemberObjects, which Microsoft
// documents for the overage too, because its paging is documented and it answers groups only (not
// directory roles or administrative units). A nextLink is followed only on GraphURL's scheme and host:
// the access token goes nowhere else.
func (c *Client) transitiveGroups(ctx context.Context, accessToken string) ([]string, error) {
	next := c.cfg.GraphURL + "/v1.0/me/transitiveMemberOf/microsoft.graph.group?%24select=id&%24top=999"
	groups := []string{}
	for page := 0; next != ""; page++ {
		if page == maxGraphPages {
			return nil, fmt.Errorf("entra: Graph: more than %d pages of groups", maxGraphPages)
		}
		u, err := url.Parse(next)
		if err != nil || u.Scheme != c.graph.Scheme || u.Host != c.graph.Host {
			return nil, fmt.Errorf("entra: Graph: a nextLink off %s", c.graph.Host)
		}
		var p struct {
			NextLink string `json:"@odata.nextLink"`
			Value    []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		if err := c.graphGet(ctx, u.String(), accessToken, &p); err != nil {
			return nil, err
		}
		for _, g := range p.Value {
			if g.ID != "" {
				groups = append(groups, g.ID)
			}
		}
		next = p.NextLink
	}
	return groups, nil
}

// graphGet GETs a Graph URL with the access token and decodes the JSON answer into v.
func (c *Client) graphGet(ctx context.Context, u, accessToken string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("entra: Graph: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("entra: Graph: %w", ctx.Err())
		}
		return fmt.Errorf("entra: Graph: %w: %v", domain.ErrDirectoryUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// 401 or 403: the access token (or the consent to User.Read) is not what Graph wants; a
		// configuration to fix, not a refusal of the person.
		return fmt.Errorf("entra: Graph answered %d to the group memberships", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("entra: Graph: %w: reading the answer: %v", domain.ErrDirectoryUnavailable, err)
	}
	return nil
}
