package demo

import (
	"context"
	"time"

	"github.com/signetassure/signetassure/domain"
)

// SeedMessaging sets up contact groups through the API, once: one per site and one of SC holders, and
// sends the first site's group a drill broadcast (the Twilio simulator has most recipients answer SAFE).
// It does nothing when groups exist already.
func SeedMessaging(ctx context.Context, base string, us []User, now time.Time) error {
	sec := client{base, TokenFor(us, domain.RoleSecurityController)}
	var groups []idResp
	if err := sec.call(ctx, "GET", "/api/v1/groups", nil, &groups); err != nil || len(groups) > 0 {
		return err
	}
	var sites []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	if err := sec.call(ctx, "GET", "/api/v1/locations", nil, &sites); err != nil {
		return err
	}
	var first string
	for _, site := range sites {
		var g idResp
		if err := sec.call(ctx, "POST", "/api/v1/groups", map[string]any{"name": "Everyone at " + site.Name,
			"kind": "site", "locationId": site.ID}, &g); err != nil {
			return err
		}
		if first == "" {
			first = g.ID
		}
	}
	if err := sec.call(ctx, "POST", "/api/v1/groups", map[string]any{"name": "SC holders", "kind": "level",
		"level": "SC"}, nil); err != nil {
		return err
	}
	if first == "" {
		return nil
	}
	return sec.call(ctx, "POST", "/api/v1/broadcasts", map[string]any{"groupId": first,
		"text":     "Fire alarm drill at " + sites[0].Name + " " + now.Format("15:04") + ". Reply SAFE when at the muster point, HELP if you need help.",
		"keywords": []string{"SAFE", "HELP"}}, nil)
}
