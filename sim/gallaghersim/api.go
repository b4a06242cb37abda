package gallaghersim

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// routes registers the API, the control API and the page.
func (s *Sim) routes() {
	s.mux = http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"GET /api/cardholders":         s.listCardholders,
		"POST /api/cardholders":        s.createCardholder,
		"GET /api/cardholders/{id}":    s.getCardholder,
		"PATCH /api/cardholders/{id}":  s.patchCardholder,
		"DELETE /api/cardholders/{id}": s.deleteCardholder,
		"GET /api/access_groups":       s.listAccessGroups,
		"GET /api/divisions":           s.listDivisions,
		"GET /api/events":              s.listEvents,
	} {
		s.mux.Handle(pattern, s.api(pattern, h))
	}
	s.controlRoutes()
}

// api wraps an API handler: it counts the call, checks the key, then applies the fault switches.
func (s *Sim) api(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Calls++
		s.stats.ByRoute[route]++
		if r.Method != http.MethodGet {
			s.stats.Writes++
		}
		if s.opts.BaseURL == "" {
			s.base = requestBase(r)
		}
		f := s.faults
		s.mu.Unlock()

		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("GGL-API-KEY "+s.opts.APIKey)) != 1 {
			writeError(w, http.StatusUnauthorized, "a valid GGL-API-KEY is required")
			return
		}
		if !kit.Sleep(r.Context(), time.Duration(f.LatencyMs)*time.Millisecond) {
			return
		}
		switch roll(f.FailRate) {
		case failRateLimited:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "too many requests")
			return
		case failUnavailable:
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "the server is busy")
			return
		case failDropped: // the call is done, then the answer is lost: the client cannot tell whether it took
			h(discard{}, r)
			panic(http.ErrAbortHandler)
		}
		h(w, r)
	})
}

// discard is a ResponseWriter that drops the answer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// requestBase is the address a request came to, e.g. "http://127.0.0.1:8904".
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// hrefBase is where hrefs in an answer start.
func (s *Sim) hrefBase(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	return requestBase(r)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers the way Command Centre does: {"message": "..."}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

// href is a link object.
type href struct {
	Href string `json:"href"`
	Name string `json:"name,omitempty"`
}

// wireTime is how times go out: UTC with "Z".
func wireTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// membershipStatus is a membership's read-only status {value, type} at now: type pending before from,
// expired after until, else active (the documented enum); value is its display text.
func membershipStatus(m Membership, now time.Time) map[string]string {
	switch {
	case !m.From.IsZero() && now.Before(m.From):
		return map[string]string{"value": "Pending", "type": "pending"}
	case !m.Until.IsZero() && now.After(m.Until):
		return map[string]string{"value": "Expired", "type": "expired"}
	}
	return map[string]string{"value": "Active", "type": "active"}
}

// cardholderJSON is a cardholder as Command Centre shows it, sharing nothing with c: its personal data
// fields at the root as "@<name>" (Cardholder detail), its memberships with their status at now.
func cardholderJSON(base string, c *Cardholder, now time.Time) map[string]any {
	self := base + "/api/cardholders/" + c.ID
	groups := make([]map[string]any, 0, len(c.AccessGroups))
	for _, m := range c.AccessGroups {
		g, _ := group(m.AccessGroupID)
		j := map[string]any{"href": self + "/access_groups/" + m.ID,
			"accessGroup": href{Href: base + "/api/access_groups/" + g.ID, Name: g.Name},
			"status":      membershipStatus(m, now)}
		if !m.From.IsZero() {
			j["from"] = wireTime(m.From)
		}
		if !m.Until.IsZero() {
			j["until"] = wireTime(m.Until)
		}
		groups = append(groups, j)
	}
	j := map[string]any{"href": self, "id": c.ID, "firstName": c.FirstName, "lastName": c.LastName,
		"authorised": c.Authorised, "division": href{Href: base + "/api/divisions/" + c.DivisionID},
		"accessGroups": groups}
	for k, v := range c.PersonalDataFields {
		j["@"+k] = v
	}
	return j
}

// Event type ids: the simulator's own numbers (Gallagher documents type as {id, name}, not these ids).
var eventTypeIDs = map[string]string{"Access granted": "20001", "Access denied": "20002"}

// eventJSON is an event as Command Centre shows it; callers hold mu (for the cardholder's name).
// The door is the event's source (an item) as well as its door.
func (s *Sim) eventJSON(base string, e Event) map[string]any {
	d, _ := door(e.Door)
	j := map[string]any{"href": base + "/api/events/" + e.ID, "id": e.ID, "time": wireTime(e.Time),
		"type":   map[string]string{"id": eventTypeIDs[e.Type], "name": e.Type},
		"door":   href{Href: base + "/api/doors/" + d.ID, Name: e.Door},
		"source": map[string]string{"id": d.ID, "name": e.Door, "href": base + "/api/items/" + d.ID}}
	who := "Unknown card"
	if e.CardholderID != "" {
		ref := map[string]string{"href": base + "/api/cardholders/" + e.CardholderID, "id": e.CardholderID}
		if c, ok := s.cardholders[e.CardholderID]; ok {
			ref["name"], ref["firstName"], ref["lastName"] = c.FirstName+" "+c.LastName, c.FirstName, c.LastName
			who = "Cardholder " + ref["name"]
		} else {
			ref["name"], ref["firstName"], ref["lastName"] = "", "", ""
		}
		j["cardholder"] = ref
	}
	j["message"] = fmt.Sprintf("%s: %s at %s", e.Type, who, e.Door)
	if e.DivisionID != "" {
		dv, _ := division(e.DivisionID)
		j["division"] = map[string]string{"id": e.DivisionID, "href": base + "/api/divisions/" + e.DivisionID, "name": dv.Name}
	}
	return j
}

// paginate is one page of items under key, with a next link while more remain: ?top= (default 100, at
// most 1000) and ?pos=, as Command Centre pages. Only the page's items are rendered.
func paginate[T any](r *http.Request, base, key string, items []T, render func(T) any) (map[string]any, error) {
	q := r.URL.Query()
	top, pos := 100, 0
	var err error
	if v := q.Get("top"); v != "" {
		if top, err = strconv.Atoi(v); err != nil || top < 1 || top > 1000 {
			return nil, bad("top must be 1 to 1000")
		}
	}
	if v := q.Get("pos"); v != "" {
		if pos, err = strconv.Atoi(v); err != nil || pos < 0 {
			return nil, bad("pos must be a whole number")
		}
	}
	end := min(pos+top, len(items))
	out := make([]any, 0, max(end-pos, 0))
	for i := pos; i < end; i++ {
		out = append(out, render(items[i]))
	}
	body := map[string]any{key: out}
	if end < len(items) {
		q.Set("top", strconv.Itoa(top))
		q.Set("pos", strconv.Itoa(end))
		body["next"] = href{Href: base + r.URL.Path + "?" + q.Encode()}
	}
	return body, nil
}

// writePage answers a page, or the error paginate found.
func writePage(w http.ResponseWriter, body map[string]any, err error) {
	if err != nil {
		answer(w, err)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Sim) listCardholders(w http.ResponseWriter, r *http.Request) {
	ext, base, now := r.URL.Query().Get("externalId"), s.hrefBase(r), s.opts.Now()
	s.mu.Lock()
	var ids []string
	for _, id := range s.order {
		if ext == "" || s.cardholders[id].PersonalDataFields["externalId"] == ext {
			ids = append(ids, id)
		}
	}
	body, err := paginate(r, base, "results", ids, func(id string) any { return cardholderJSON(base, s.cardholders[id], now) })
	s.mu.Unlock()
	writePage(w, body, err)
}

func (s *Sim) getCardholder(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var body map[string]any
	if c, ok := s.cardholders[r.PathValue("id")]; ok {
		body = cardholderJSON(s.hrefBase(r), c, s.opts.Now())
	}
	s.mu.Unlock()
	if body == nil {
		writeError(w, http.StatusNotFound, "no such cardholder")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// cardholderIn is what POST and PATCH accept; absent keys are left alone by PATCH. Personal data fields
// are keys "@<name>" at the root, as Gallagher documents them; other unknown keys are refused.
type cardholderIn struct {
	FirstName          *string            `json:"firstName"`
	LastName           *string            `json:"lastName"`
	Authorised         *bool              `json:"authorised"`
	Division           *href              `json:"division"`
	PersonalDataFields map[string]*string `json:"-"`            // from the "@<name>" keys; null removes one
	AccessGroups       json.RawMessage    `json:"accessGroups"` // POST: an array of additions; PATCH: {add, update, remove}
}

// UnmarshalJSON takes the "@<name>" keys as personal data fields and the rest strictly.
func (in *cardholderIn) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	rest := map[string]json.RawMessage{}
	for k, v := range raw {
		name, ok := strings.CutPrefix(k, "@")
		if !ok {
			rest[k] = v
			continue
		}
		var val *string
		if err := json.Unmarshal(v, &val); err != nil {
			return fmt.Errorf("%q: a personal data field is a string or null", k)
		}
		if in.PersonalDataFields == nil {
			in.PersonalDataFields = map[string]*string{}
		}
		in.PersonalDataFields[name] = val
	}
	b, err := json.Marshal(rest)
	if err != nil {
		return err
	}
	type plain cardholderIn
	return strictJSON(b, (*plain)(in))
}

// groupIn is one element of accessGroups.add, update or remove.
type groupIn struct {
	Href        string   `json:"href"`        // update, remove: the membership's href
	AccessGroup *href    `json:"accessGroup"` // add: the access group
	From        optional `json:"from"`
	Until       optional `json:"until"`
}

// optional is a date that may be absent, null (unbounded) or a date-time.
type optional struct {
	Set   bool
	Value *string
}

func (o *optional) UnmarshalJSON(b []byte) error {
	o.Set = true
	return json.Unmarshal(b, &o.Value)
}

// badRequest is a refusal of the client's data.
type badRequest string

func (e badRequest) Error() string { return string(e) }

func bad(format string, args ...any) error { return badRequest(fmt.Sprintf(format, args...)) }

var (
	groupHref      = regexp.MustCompile(`/api/access_groups/([^/?#]+)$`)
	divisionHref   = regexp.MustCompile(`/api/divisions/([^/?#]+)$`)
	membershipHref = regexp.MustCompile(`/api/cardholders/([^/?#]+)/access_groups/([^/?#]+)$`)
)

// parseDate reads a date-time, which must carry a zone designator as Command Centre requires; null or ""
// is none ("" is how Gallagher documents clearing a membership's until).
func parseDate(field string, o optional) (time.Time, error) {
	if o.Value == nil || *o.Value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *o.Value)
	if err != nil {
		return time.Time{}, bad("%s %q must be an ISO 8601 date-time with a zone designator, e.g. 2025-01-06T08:00:00Z", field, *o.Value)
	}
	return t.UTC(), nil
}

// window reads a membership's from and until onto m, keeping those absent (for an update).
func window(m *Membership, g groupIn) error {
	var err error
	if g.From.Set {
		if m.From, err = parseDate("from", g.From); err != nil {
			return err
		}
	}
	if g.Until.Set {
		if m.Until, err = parseDate("until", g.Until); err != nil {
			return err
		}
	}
	if !m.From.IsZero() && !m.Until.IsZero() && m.Until.Before(m.From) {
		return bad("until is before from")
	}
	return nil
}

// apply writes in onto c (a copy): person fields, then access group changes (remove, update, add). create
// says whether accessGroups is the POST array or the PATCH object.
func (s *Sim) apply(c *Cardholder, in cardholderIn, create bool) error {
	if in.FirstName != nil {
		c.FirstName = *in.FirstName
	}
	if in.LastName != nil {
		c.LastName = *in.LastName
	}
	if in.Authorised != nil {
		c.Authorised = *in.Authorised
	}
	if in.Division != nil {
		m := divisionHref.FindStringSubmatch(in.Division.Href)
		if m == nil || !knownDivision(m[1]) {
			return bad("division %q is not a division", in.Division.Href)
		}
		c.DivisionID = m[1]
	}
	for k, v := range in.PersonalDataFields {
		if !slices.Contains(personalDataFields, k) {
			return bad("there is no personal data field %q", "@"+k)
		}
		if v == nil {
			delete(c.PersonalDataFields, k)
		} else {
			c.PersonalDataFields[k] = *v
		}
	}
	if c.FirstName == "" && c.LastName == "" {
		return bad("a cardholder needs a first or a last name")
	}
	if len(in.AccessGroups) == 0 || string(in.AccessGroups) == "null" {
		return nil
	}
	var edit struct{ Add, Update, Remove []groupIn }
	var err error
	if create {
		err = strictJSON(in.AccessGroups, &edit.Add)
	} else {
		err = strictJSON(in.AccessGroups, &edit)
	}
	if err != nil {
		return bad("accessGroups: %v", err)
	}
	for _, g := range edit.Remove {
		i, err := membershipIndex(c, g.Href)
		if err != nil {
			return err
		}
		c.AccessGroups = append(c.AccessGroups[:i], c.AccessGroups[i+1:]...)
	}
	for _, g := range edit.Update {
		i, err := membershipIndex(c, g.Href)
		if err != nil {
			return err
		}
		if err := window(&c.AccessGroups[i], g); err != nil {
			return err
		}
	}
	for _, g := range edit.Add {
		var m []string
		if g.AccessGroup != nil {
			m = groupHref.FindStringSubmatch(g.AccessGroup.Href)
		}
		if m == nil {
			return bad("accessGroups.add needs accessGroup.href")
		}
		if _, ok := group(m[1]); !ok {
			return bad("access group %q does not exist", g.AccessGroup.Href)
		}
		mem := Membership{ID: s.nextID(), AccessGroupID: m[1]}
		if err := window(&mem, g); err != nil {
			return err
		}
		c.AccessGroups = append(c.AccessGroups, mem)
	}
	return nil
}

// membershipIndex finds the membership a href names.
func membershipIndex(c *Cardholder, h string) (int, error) {
	m := membershipHref.FindStringSubmatch(h)
	if m == nil || m[1] != c.ID {
		return 0, bad("%q is not an access group membership of this cardholder", h)
	}
	for i, mem := range c.AccessGroups {
		if mem.ID == m[2] {
			return i, nil
		}
	}
	return 0, bad("membership %q does not exist", h)
}

// strictJSON decodes, refusing unknown keys.
func strictJSON(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// readJSON decodes a request body of at most 1 MiB, refusing unknown keys; it answers 400 itself.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = strictJSON(data, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body does not fit: "+err.Error())
		return false
	}
	return true
}

// answer writes err as 400 for bad data, else 500.
func answer(w http.ResponseWriter, err error) {
	if _, ok := err.(badRequest); ok {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeError(w, http.StatusInternalServerError, err.Error())
}

func (s *Sim) createCardholder(w http.ResponseWriter, r *http.Request) {
	var in cardholderIn
	if !readJSON(w, r, &in) {
		return
	}
	s.mu.Lock()
	c := &Cardholder{DivisionID: rootDivision, PersonalDataFields: map[string]string{}}
	err := s.apply(c, in, true)
	if err == nil {
		s.insert(c)
	}
	s.mu.Unlock()
	if err != nil {
		answer(w, err)
		return
	}
	w.Header().Set("Location", s.hrefBase(r)+"/api/cardholders/"+c.ID)
	w.WriteHeader(http.StatusCreated)
}

// change runs a PATCH or DELETE on a cardholder no operator holds.
func (s *Sim) change(w http.ResponseWriter, r *http.Request, f func(c *Cardholder) error) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.cardholders[id]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "no such cardholder")
	case s.held[id]:
		writeError(w, http.StatusConflict, "the cardholder is being edited by an operator")
	default:
		if err := f(c); err != nil {
			answer(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Sim) patchCardholder(w http.ResponseWriter, r *http.Request) {
	var in cardholderIn
	if !readJSON(w, r, &in) {
		return
	}
	s.change(w, r, func(c *Cardholder) error {
		n := c.clone() // all or nothing
		if err := s.apply(n, in, false); err != nil {
			return err
		}
		*c = *n
		return nil
	})
}

func (s *Sim) deleteCardholder(w http.ResponseWriter, r *http.Request) {
	s.change(w, r, func(c *Cardholder) error {
		delete(s.cardholders, c.ID)
		s.order = slices.DeleteFunc(s.order, func(id string) bool { return id == c.ID })
		return nil
	})
}

func (s *Sim) listAccessGroups(w http.ResponseWriter, r *http.Request) {
	base := s.hrefBase(r)
	body, err := paginate(r, base, "results", accessGroups, func(g AccessGroup) any {
		return map[string]any{"href": base + "/api/access_groups/" + g.ID, "id": g.ID, "name": g.Name,
			"division": href{Href: base + "/api/divisions/" + g.DivisionID}}
	})
	writePage(w, body, err)
}

func (s *Sim) listDivisions(w http.ResponseWriter, r *http.Request) {
	base := s.hrefBase(r)
	body, err := paginate(r, base, "results", divisions, func(d Division) any {
		return map[string]any{"href": base + "/api/divisions/" + d.ID, "id": d.ID, "name": d.Name}
	})
	writePage(w, body, err)
}

// listEvents answers events at or after ?after= (a date-time with a zone designator), oldest first.
func (s *Sim) listEvents(w http.ResponseWriter, r *http.Request) {
	from, err := parseDate("after", optional{Value: nonEmpty(r.URL.Query().Get("after"))})
	if err != nil {
		answer(w, err)
		return
	}
	base := s.hrefBase(r)
	s.mu.Lock()
	start, _ := slices.BinarySearchFunc(s.events, from, func(e Event, t time.Time) int { return e.Time.Compare(t) }) // events are kept in time order
	body, err := paginate(r, base, "events", s.events[start:], func(e Event) any { return s.eventJSON(base, e) })
	s.mu.Unlock()
	writePage(w, body, err)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
