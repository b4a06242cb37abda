package domain

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// The list holds the 249 officially assigned codes, sorted (IsCountry searches it), each once; reserved
// and user-assigned codes are not countries.
func TestCountriesAreTheAssignedAlpha2Codes(t *testing.T) {
	if len(countryCodes) != 249 {
		t.Fatalf("%d codes, want 249", len(countryCodes))
	}
	if !slices.IsSorted(countryCodes) || len(slices.Compact(slices.Clone(countryCodes))) != 249 {
		t.Fatal("the codes are not sorted, or one repeats")
	}
	for _, c := range []string{"GB", "FR", "CN", "RU", "US", "ZW", "AD", "SS", "BQ", "AX"} {
		if !IsCountry(c) {
			t.Errorf("%s is a country", c)
		}
	}
	for _, c := range []string{"UK", "EU", "XK", "ZZ", "gb", "GBR", "", "G"} {
		if IsCountry(c) {
			t.Errorf("%q is not an assigned alpha-2 code", c)
		}
	}
}

func TestTravelPolicyAssess(t *testing.T) {
	p := TravelPolicy{CountriesOfConcern: []CountryOfConcern{{Code: "CN"}, {Code: "RU"}},
		Rules: []TravelRule{{Level: LevelSC, Concern: true, TripRequirements: TripRequirements{Briefing: true, Approval: true, DebriefDays: 14}},
			{Level: LevelDV, Concern: false, TripRequirements: TripRequirements{Briefing: true}}}}
	sc, dv, ctc := LevelSC, LevelDV, LevelCTC
	for _, c := range []struct {
		name      string
		level     *Level
		countries []string
		concern   []string
		want      TripRequirements
	}{
		{"SC to a country of concern", &sc, []string{"FR", "CN"}, []string{"CN"}, TripRequirements{Briefing: true, Approval: true, DebriefDays: 14}},
		{"SC elsewhere: no rule", &sc, []string{"FR"}, []string{}, TripRequirements{}},
		{"DV elsewhere", &dv, []string{"FR"}, []string{}, TripRequirements{Briefing: true}},
		{"CTC to a country of concern: no rule", &ctc, []string{"RU"}, []string{"RU"}, TripRequirements{}},
		{"no clearance: no policy applies", nil, []string{"CN"}, []string{"CN"}, TripRequirements{}},
	} {
		concern, req := p.Assess(c.level, c.countries)
		if !slices.Equal(concern, c.concern) || req != c.want {
			t.Errorf("%s: %v %+v, want %v %+v", c.name, concern, req, c.concern, c.want)
		}
	}
}

// Each step only from the statuses that allow it; a briefing or approval leaves a trip pending while the
// other is outstanding; a return with no debrief asked closes it.
func TestTripApply(t *testing.T) {
	now := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	trip := Trip{Requires: TripRequirements{Briefing: true, Approval: true}}
	trip.Status = trip.PreDepartureStatus()
	if err := trip.Apply(TripStepInput{Step: TripStepBriefed}, now); err != nil || trip.Status != TripPending {
		t.Fatalf("briefed: %v %s", err, trip.Status)
	}
	if err := trip.Apply(TripStepInput{Step: TripStepDecided, Decision: TripApproved}, now); err != nil || trip.Status != TripReady {
		t.Fatalf("approved: %v %s", err, trip.Status)
	}
	if err := trip.Apply(TripStepInput{Step: TripStepDebriefed, Debrief: &TripDebrief{}}, now); !errors.Is(err, ErrTripStep) {
		t.Fatalf("a debrief before departure: %v", err)
	}
	if err := trip.Apply(TripStepInput{Step: TripStepDeparted}, now); err != nil || trip.Status != TripAway {
		t.Fatalf("departed: %v %s", err, trip.Status)
	}
	if err := trip.Apply(TripStepInput{Step: TripStepCancelled}, now); !errors.Is(err, ErrTripStep) {
		t.Fatalf("a cancel once away: %v", err)
	}
	if err := trip.Apply(TripStepInput{Step: TripStepReturned}, now); err != nil || trip.Status != TripClosed {
		t.Fatalf("returned with no debrief asked: %v %s", err, trip.Status)
	}
	changed := Trip{Status: TripReady, Requires: TripRequirements{Briefing: true}, BriefedAt: &now}
	if err := changed.Apply(TripStepInput{Step: TripStepChanged, Change: &TripChange{Countries: []string{"JP"}}}, now); err != nil ||
		changed.BriefedAt != nil || changed.Status != TripPending {
		t.Fatalf("a change keeps the briefing given for the trip as it was: %v %+v", err, changed)
	}
}
