package credoidsim

import (
	"cmp"
	"slices"
	"time"
)

// Swipe is a badge swipe to record as an access event.
type Swipe struct {
	UserID     int
	DoorName   string // doors get ids as their names first appear
	LocationID int
	At         time.Time // zero: the server's now
	Type       string    // CredoID's localized type name; default "Access granted"
	Duplicate  bool      // serve it a second time: see "Duplicate events" in the package comment
}

// eventTypes are the type ids of the names the simulator knows [I]; another name gets type id 0.
var eventTypes = map[string]int{"Access granted": eventAccessGranted, "Access denied": 2, "Door forced open": 3, "Door held open": 4}

type storedEvent struct {
	at  time.Time
	rec EventRecord
}

// AddEvent records a swipe as the next event (ids only grow) and returns it as the feed serves it.
func (s *Sim) AddEvent(sw Swipe) EventRecord {
	at := sw.At
	if at.IsZero() {
		at = s.Now()
	}
	typ := cmp.Or(sw.Type, "Access granted")
	s.mu.Lock()
	defer s.mu.Unlock()
	door := 0
	if sw.DoorName != "" {
		if door = s.doors[sw.DoorName]; door == 0 {
			s.next.door++
			door = s.next.door
			s.doors[sw.DoorName] = door
		}
	}
	s.next.event++
	rec := EventRecord{ID: s.next.event, Time: *wireTime(at, s.loc), TypeID: eventTypes[typ],
		LocalizedTypeName: typ, UserID: sw.UserID, DoorID: door, DoorName: sw.DoorName, LocationID: sw.LocationID}
	s.events = append(s.events, storedEvent{at: at, rec: rec})
	if sw.Duplicate {
		s.replay = append(s.replay, rec.ID)
	}
	return rec
}

// Events returns every event, oldest first.
func (s *Sim) Events() []EventRecord {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.eventRecords(s.events)
}

func (s *Sim) eventRecords(es []storedEvent) []EventRecord {
	out := make([]EventRecord, len(es))
	for i, e := range es {
		out[i] = e.rec
	}
	return out
}

// eventQuery is GET /api/events's filter; zero fields do not filter.
type eventQuery struct {
	from, to time.Time
	userID   int
	afterID  int64
	take     int
}

// eventPage is up to q.take events after q.afterID that pass the filter, by ascending id. A duplicate
// swipe at or before afterID not yet served again rewinds the page to start just before it.
func (s *Sim) eventPage(q eventQuery) []EventRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	after := q.afterID
	if q.afterID > 0 {
		s.replay = slices.DeleteFunc(s.replay, func(id int64) bool {
			if id <= q.afterID {
				after = min(after, id-1)
				return true
			}
			return false
		})
	}
	i, _ := slices.BinarySearchFunc(s.events, after+1, func(e storedEvent, id int64) int { return cmp.Compare(e.rec.ID, id) })
	out := []EventRecord{}
	for ; i < len(s.events) && len(out) < q.take; i++ {
		e := s.events[i]
		if (q.from.IsZero() || !e.at.Before(q.from)) && (q.to.IsZero() || !e.at.After(q.to)) &&
			(q.userID == 0 || e.rec.UserID == q.userID) {
			out = append(out, e.rec)
		}
	}
	return out
}
