package domain

import (
	"errors"
	"testing"
	"time"
)

func TestParseValidityPolicy(t *testing.T) {
	def := DefaultValidityPolicy()
	for level, want := range map[Level]Period{LevelBPSS: {Years: 3}, LevelCTC: {Years: 5}, LevelSC: {Years: 10},
		LevelESC: {Years: 10}, LevelDV: {Years: 7}, LevelEDV: {Years: 7}} {
		if def[level] != want {
			t.Errorf("default %s = %v, want %v", level, def[level], want)
		}
	}
	p, err := ParseValidityPolicy(" SC=5y, DV=36m ,BPSS=400d")
	if err != nil || p[LevelSC] != (Period{Years: 5}) || p[LevelDV] != (Period{Months: 36}) || p[LevelBPSS] != (Period{Days: 400}) ||
		p[LevelEDV] != (Period{Years: 7}) {
		t.Fatalf("ParseValidityPolicy = %v, %v", p, err)
	}
	for _, bad := range []string{"SC", "XX=1y", "SC=", "SC=0y", "SC=-1y", "SC=10w", "SC=101y", "sc=1y", "SC=1.5y"} {
		if _, err := ParseValidityPolicy(bad); err == nil {
			t.Errorf("ParseValidityPolicy(%q) accepted", bad)
		}
	}
}

func TestCheckDecision(t *testing.T) {
	today := DateOf(time.Now().UTC())
	p := DefaultValidityPolicy()
	for _, tc := range []struct {
		name      string
		requested Level
		d         Decision
		field     string // "" when accepted
	}{
		{"refused takes nothing", LevelSC, Decision{Outcome: OutcomeRefused}, ""},
		{"withdrawn ignores a level", LevelBPSS, Decision{Outcome: OutcomeWithdrawn, Level: LevelEDV}, ""},
		{"unknown outcome", LevelSC, Decision{Outcome: "approved"}, "outcome"},
		{"SC for 10 years", LevelSC, Decision{OutcomeCleared, LevelSC, today, today.AddYears(10)}, ""},
		{"SC for 10 years and a day", LevelSC, Decision{OutcomeCleared, LevelSC, today, today.AddYears(10).AddDays(1)}, "validTo"},
		{"lower level", LevelDV, Decision{OutcomeWithAdvisory, LevelSC, today, today.AddYears(1)}, ""},
		{"eDV on BPSS", LevelBPSS, Decision{OutcomeCleared, LevelEDV, today, today.AddYears(1)}, "level"},
		{"eSC on SC", LevelSC, Decision{OutcomeCleared, LevelESC, today, today.AddYears(1)}, "level"},
		{"unknown level", LevelSC, Decision{OutcomeCleared, "TS", today, today.AddYears(1)}, "level"},
		{"no validFrom", LevelSC, Decision{Outcome: OutcomeCleared, Level: LevelSC, ValidTo: today}, "validFrom"},
		{"no validTo", LevelSC, Decision{Outcome: OutcomeCleared, Level: LevelSC, ValidFrom: today}, "validTo"},
		{"1900 to 9999", LevelEDV, Decision{OutcomeCleared, LevelEDV, NewDate(1900, 1, 1), NewDate(9999, 12, 31)}, "validTo"},
		{"from a year ago", LevelSC, Decision{OutcomeCleared, LevelSC, today.AddYears(-1), today.AddYears(1)}, ""},
		{"from a year and a day ago", LevelSC, Decision{OutcomeCleared, LevelSC, today.AddYears(-1).AddDays(-1), today.AddYears(1)}, "validFrom"},
		{"from a year and a day ahead", LevelSC, Decision{OutcomeCleared, LevelSC, today.AddYears(1).AddDays(1), today.AddYears(2)}, "validFrom"},
		{"validTo on validFrom", LevelSC, Decision{OutcomeCleared, LevelSC, today, today}, "validTo"},
		{"validTo before validFrom", LevelSC, Decision{OutcomeCleared, LevelSC, today, today.AddDays(-1)}, "validTo"},
		{"BPSS for 4 years", LevelBPSS, Decision{OutcomeCleared, LevelBPSS, today, today.AddYears(4)}, "validTo"},
	} {
		err := p.CheckDecision(tc.requested, tc.d, today)
		var de *Rejection
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.field != "" && (!errors.As(err, &de) || de.Field != tc.field):
			t.Errorf("%s: %v, want a refusal naming %s", tc.name, err, tc.field)
		}
	}
}
