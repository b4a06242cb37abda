package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/signetassure/signetassure/access"
	"github.com/signetassure/signetassure/domain"
)

// SeedAccess sets up access control for the demo through the API, once: a first sync mirrors the access
// control system's levels; then each level gets the clearance it demands, suppliers and sites are mapped
// to its companies and locations, profile rules are added, and a few cleared persons get time-bounded
// grants (running, starting soon, ending soon). When profile rules exist already it only syncs (dev's
// simulator starts empty on every run); with no access control system configured it does nothing.
func SeedAccess(ctx context.Context, base string, us []User, now time.Time) error {
	sec := client{base, TokenFor(us, domain.RoleSecurityController)}
	worker := client{base, TokenFor(us, domain.RoleCaseWorker)}
	var cat access.Catalogue
	if err := sec.call(ctx, "GET", "/api/v1/access/catalogue", nil, &cat); err != nil {
		return nil // no access control system configured
	}
	if err := syncNow(ctx, sec); err != nil {
		return err
	}
	var rules []map[string]any
	if err := sec.call(ctx, "GET", "/api/v1/access/profile-rules", nil, &rules); err != nil || len(rules) > 0 {
		return err
	}

	var suppliers, sites []idResp
	if err := sec.call(ctx, "GET", "/api/v1/suppliers", nil, &suppliers); err != nil {
		return err
	}
	if err := sec.call(ctx, "GET", "/api/v1/locations", nil, &sites); err != nil {
		return err
	}
	mappings := map[string][]map[string]any{"companies": {}, "locations": {}}
	for i, c := range cat.Companies {
		switch {
		case i == 0:
			mappings["companies"] = append(mappings["companies"], map[string]any{"supplierId": nil, "acsCompanyId": c.ID})
		case i-1 < len(suppliers):
			mappings["companies"] = append(mappings["companies"], map[string]any{"supplierId": suppliers[i-1].ID, "acsCompanyId": c.ID})
		}
	}
	for i, l := range cat.Locations {
		if i < len(sites) {
			mappings["locations"] = append(mappings["locations"], map[string]any{"locationId": sites[i].ID, "acsLocationId": l.ID})
		}
	}
	if err := sec.call(ctx, "PUT", "/api/v1/access/mappings", mappings, nil); err != nil {
		return err
	}

	var grantable []string
	for _, l := range cat.Levels {
		var required string
		switch name := strings.ToLower(l.Name); {
		case strings.Contains(name, "lab"), strings.Contains(name, "server"):
			required = "SC"
		case strings.Contains(name, "general"):
			required = "BPSS"
		default:
			continue // "Always" and "Never" stay ungrantable
		}
		if err := sec.call(ctx, "PUT", "/api/v1/access/levels/"+l.ID+"/policy", map[string]any{"requiredLevel": required}, nil); err != nil {
			return err
		}
		if required == "SC" {
			grantable = append(grantable, l.ID)
		}
	}
	for _, p := range cat.Profiles {
		rule := map[string]any{"acsProfileId": p.ID}
		switch name := strings.ToLower(p.Name); {
		case strings.Contains(name, "dv"):
			rule["clearanceLevel"], rule["ownStaff"] = "DV", true
		case strings.Contains(name, "sc"):
			rule["clearanceLevel"] = "SC"
		default:
			continue
		}
		if err := sec.call(ctx, "POST", "/api/v1/access/profile-rules", rule, nil); err != nil {
			return err
		}
	}

	var register struct {
		Items []domain.Clearance `json:"items"`
	}
	if err := worker.call(ctx, "GET", "/api/v1/clearances?level=SC&limit=50", nil, &register); err != nil {
		return err
	}
	day := 24 * time.Hour
	windows := [][2]time.Time{{now.Add(-day), now.Add(30 * day)}, {now.Add(2 * day), now.Add(14 * day)},
		{now.Add(-10 * day), now.Add(2 * day)}, {now.Add(-time.Hour), now.Add(90 * day)}}
	for i, cl := range register.Items {
		if i >= len(windows) || len(grantable) == 0 {
			break
		}
		w := windows[i]
		if err := worker.call(ctx, "POST", "/api/v1/persons/"+cl.PersonID.String()+"/access/grants", map[string]any{
			"levelId": grantable[i%len(grantable)], "startsAt": w[0].UTC().Format(time.RFC3339),
			"endsAt": w[1].UTC().Format(time.RFC3339), "reason": "Demo: project work on site"}, nil); err != nil {
			return err
		}
	}
	return syncNow(ctx, sec)
}

// syncNow runs a sync and waits for it to finish.
func syncNow(ctx context.Context, c client) error {
	var started struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, "POST", "/api/v1/access/syncs", nil, &started); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var s domain.AccessSync
		if err := c.call(ctx, "GET", "/api/v1/access/syncs/"+started.ID, nil, &s); err == nil && s.Status != "running" {
			if s.Status != "completed" {
				return fmt.Errorf("access sync %s %s", started.ID, s.Status)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("access sync %s did not finish in time", started.ID)
}
