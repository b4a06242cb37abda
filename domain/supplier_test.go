package domain

import "testing"

// A person's clearance state turns on the last day of the clearance in force: ExpiringWithin days ahead
// or later is cleared, today up to then expiring, before today not in force at all.
func TestStateOf(t *testing.T) {
	today := NewDate(2026, 12, 6)
	for _, c := range []struct {
		inForce          Date
		heldBefore, open bool
		want             ClearanceState
	}{
		{today.AddDays(ExpiringWithin), true, false, StateCleared},
		{today.AddDays(ExpiringWithin - 1), true, true, StateExpiring},
		{today, true, false, StateExpiring},
		{Date{}, true, true, StateInProgress},
		{Date{}, false, true, StateInProgress},
		{Date{}, true, false, StateLapsed},
		{Date{}, false, false, StateUncleared},
	} {
		if got := StateOf(today, c.inForce, c.heldBefore, c.open); got != c.want {
			t.Errorf("in force to %s, held before %v, case open %v: %s, want %s", c.inForce, c.heldBefore, c.open, got, c.want)
		}
	}
}
