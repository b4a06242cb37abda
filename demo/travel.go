package demo

import (
	"context"
	"time"

	"github.com/signetassure/signetassure/domain"
)

// SeedTravel lists countries of concern in the travel policy and reports three trips of cleared persons
// through the API, once: one to a country of concern awaiting its briefing and approval, one needing
// nothing, and one back yesterday whose debrief is due. It does nothing when trips exist already.
func SeedTravel(ctx context.Context, base string, us []User, now time.Time) error {
	sec := client{base, TokenFor(us, domain.RoleSecurityController)}
	worker := client{base, TokenFor(us, domain.RoleCaseWorker)}
	var trips struct {
		Total int `json:"total"`
	}
	if err := worker.call(ctx, "GET", "/api/v1/travel/trips?limit=1", nil, &trips); err != nil || trips.Total > 0 {
		return err
	}
	listed := domain.DateOf(now.AddDate(0, -2, 0)).String()
	concern := func(code string) map[string]any {
		return map[string]any{"code": code, "source": "Demo list (an organisation lists its own)", "listedOn": listed}
	}
	rule := func(level string, c, briefing, approval bool, debrief int) map[string]any {
		return map[string]any{"level": level, "concern": c, "briefing": briefing, "approval": approval, "debriefDays": debrief}
	}
	var rules []any
	for _, l := range []string{"SC", "eSC", "DV", "eDV"} {
		rules = append(rules, rule(l, true, true, true, 14))
	}
	rules = append(rules, rule("CTC", true, true, false, 14))
	if err := sec.call(ctx, "PUT", "/api/v1/travel/policy", map[string]any{
		"countriesOfConcern": []any{concern("CN"), concern("RU"), concern("IR"), concern("KP")},
		"rules":              rules, "maxTripDays": 60, "reminderDays": []int{14, 3}, "escalationDays": 7}, nil); err != nil {
		return err
	}
	var cleared struct {
		Items []struct {
			PersonID string `json:"personId"`
		} `json:"items"`
	}
	if err := worker.call(ctx, "GET", "/api/v1/clearances?status=active&level=SC&limit=3", nil, &cleared); err != nil {
		return err
	}
	day := func(n int) string { return domain.DateOf(now.AddDate(0, 0, n)).String() }
	for i, t := range []struct {
		countries        []string
		departs, returns int
		purpose          string
	}{
		{[]string{"CN", "HK"}, 45, 52, "Trade fair in Shenzhen"},
		{[]string{"FR"}, 20, 23, "Supplier visit in Toulouse"},
		{[]string{"RU"}, -6, -1, "Family visit"},
	} {
		if i >= len(cleared.Items) {
			break
		}
		if err := worker.call(ctx, "POST", "/api/v1/travel/trips", map[string]any{"personId": cleared.Items[i].PersonID,
			"countries": t.countries, "departsOn": day(t.departs), "returnsOn": day(t.returns), "purpose": t.purpose,
			"companions": "with_others", "devices": []string{"work laptop", "work phone"}}, nil); err != nil {
			return err
		}
	}
	return nil
}
