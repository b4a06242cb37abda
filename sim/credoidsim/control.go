package credoidsim

import (
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// State is everything the simulator holds, for GET /sim/state and the HTML page.
type State struct {
	Now          string        `json:"now"` // the server's clock, local time
	TimeZone     string        `json:"timeZone"`
	Counts       Counts        `json:"counts"`
	Catalogue    Catalogue     `json:"catalogue"`
	Users        []UserRecord  `json:"users"`
	RecentEvents []EventRecord `json:"recentEvents"` // the last 50, newest first
	Faults       Faults        `json:"faults"`
	Stats        Stats         `json:"stats"`
}

// Counts sum up the data.
type Counts struct {
	Users            int `json:"users"`
	LevelAssignments int `json:"levelAssignments"`
	Events           int `json:"events"`
}

// State returns a snapshot of everything.
func (s *Sim) State() State {
	now := s.Now()
	st := State{Now: *wireTime(now, s.loc), TimeZone: s.loc.String(), Faults: s.Faults(), Stats: s.Stats()}
	s.mu.RLock()
	defer s.mu.RUnlock()
	st.Catalogue = s.catalogue()
	st.Users = make([]UserRecord, 0, len(s.order))
	for _, id := range s.order {
		u := s.users[id]
		st.Users = append(st.Users, s.record(u))
		st.Counts.LevelAssignments += len(u.grants)
	}
	st.Counts.Users, st.Counts.Events = len(s.order), len(s.events)
	st.RecentEvents = s.eventRecords(s.events[max(len(s.events)-50, 0):])
	slices.Reverse(st.RecentEvents)
	return st
}

// control registers the /sim control API and the HTML page.
func (s *Sim) control(mux *http.ServeMux) {
	ok := func(w http.ResponseWriter, v any, err error) {
		if err != nil {
			s.problem(w, err)
			return
		}
		kit.WriteJSON(w, http.StatusOK, v)
	}
	kit.Inspect(mux, s.page, func() any { return s.Stats() }, func() any { return s.Faults() })
	mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, r *http.Request) { ok(w, s.State(), nil) })
	mux.HandleFunc("POST /sim/stats/reset", func(w http.ResponseWriter, r *http.Request) {
		s.ResetStats()
		ok(w, s.Stats(), nil)
	})
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if s.decode(w, r, &f) {
			s.SetFaults(f)
			ok(w, s.Faults(), nil)
		}
	})
	mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		ok(w, s.State().Counts, nil)
	})
	mux.HandleFunc("POST /sim/operator/users", func(w http.ResponseWriter, r *http.Request) {
		var rec UserRecord
		if s.decode(w, r, &rec) {
			out, err := s.CreateUserByHand(rec)
			ok(w, out, err)
		}
	})
	mux.HandleFunc("POST /sim/operator/users/{id}/levels", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			LevelID   int     `json:"levelId"`
			ValidFrom *string `json:"validFrom"`
			ValidTo   *string `json:"validTo"`
		}
		id, found := s.pathID(w, r)
		if !found || !s.decode(w, r, &body) {
			return
		}
		from, to, err := s.validity(body.ValidFrom, body.ValidTo)
		if err == nil {
			err = s.AddLevelByHand(id, body.LevelID, from, to)
		}
		rec, _ := s.User(id)
		ok(w, rec, err)
	})
	mux.HandleFunc("POST /sim/operator/levels", func(w http.ResponseWriter, r *http.Request) {
		var body LevelRecord
		if s.decode(w, r, &body) {
			ok(w, LevelRecord{ID: s.AddLevel(body.Name, body.LocationID), Name: body.Name, LocationID: body.LocationID}, nil)
		}
	})
	mux.HandleFunc("PATCH /sim/operator/levels/{id}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Name string `json:"name"`
		}
		id, found := s.pathID(w, r)
		if found && s.decode(w, r, &body) {
			ok(w, map[string]any{"id": id, "name": body.Name}, s.RenameLevel(id, body.Name))
		}
	})
	mux.HandleFunc("DELETE /sim/operator/levels/{id}", func(w http.ResponseWriter, r *http.Request) {
		if id, found := s.pathID(w, r); found {
			n, err := s.DeleteLevel(id)
			ok(w, map[string]int{"usersAffected": n}, err)
		}
	})
	mux.HandleFunc("POST /sim/operator/renumber", func(w http.ResponseWriter, r *http.Request) {
		moved := map[string]int{}
		for from, to := range s.RenumberUsers() {
			moved[strconv.Itoa(from)] = to
		}
		ok(w, map[string]map[string]int{"moved": moved}, nil)
	})
	mux.HandleFunc("POST /sim/operator/cleanup", func(w http.ResponseWriter, r *http.Request) {
		ok(w, map[string][]int{"deleted": s.Cleanup()}, nil)
	})
	mux.HandleFunc("POST /sim/events", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			UserID     int     `json:"userId"`
			DoorName   string  `json:"doorName"`
			LocationID int     `json:"locationId"`
			Time       *string `json:"time"` // server-local; absent: now
			Type       string  `json:"type"`
			Duplicate  bool    `json:"duplicate"`
		}
		if !s.decode(w, r, &body) {
			return
		}
		at, _, err := s.validity(body.Time, nil)
		if err != nil {
			s.problem(w, err)
			return
		}
		kit.WriteJSON(w, http.StatusCreated, s.AddEvent(Swipe{UserID: body.UserID, DoorName: body.DoorName,
			LocationID: body.LocationID, At: at, Type: body.Type, Duplicate: body.Duplicate}))
	})
}

// validity reads two wire date-times for the control API.
func (s *Sim) validity(from, to *string) (time.Time, time.Time, error) {
	f, err1 := parseWireTime(from, s.loc)
	t, err2 := parseWireTime(to, s.loc)
	if err1 != nil || err2 != nil {
		return f, t, &apiError{status: http.StatusBadRequest, title: "A date-time could not be read."}
	}
	return f, t, nil
}

// page shows the badge system as an operator would see it.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	st := s.State()
	levels := map[int]string{}
	for _, l := range st.Catalogue.Levels {
		levels[l.ID] = l.Name
	}
	const shown = 500
	data := struct {
		State
		Hidden int
		Levels map[int]string
	}{st, max(len(st.Users)-shown, 0), levels}
	data.Users = st.Users[:min(len(st.Users), shown)]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>CredoID simulator</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;font-size:90%}
th{background:#eee}.off{color:#999}.fault{color:#b00}
</style></head><body>
<h1>CredoID simulator: the badge system</h1>
<p>Server time {{.Now}} ({{.TimeZone}}). {{.Counts.Users}} users, {{.Counts.LevelAssignments}} level assignments,
{{.Counts.Events}} events. {{.Stats.Calls}} API calls, {{.Stats.Writes}} writes.</p>

<h2>Faults</h2>
{{with .Faults}}<ul class="fault">
{{if .LatencyMs}}<li>latency {{.LatencyMs}} ms</li>{{end}}
{{if .FailRate}}<li>{{.FailRate}} of calls fail ({{if .FailKinds}}{{.FailKinds}}{{else}}429, 503, timeout{{end}})</li>{{end}}
{{if .FailNext}}<li>the next {{.FailNext}} calls fail</li>{{end}}
{{if .TokenTTLSeconds}}<li>tokens last {{.TokenTTLSeconds}} s</li>{{end}}
{{if .ClockSkewSeconds}}<li>clock skew {{.ClockSkewSeconds}} s</li>{{end}}
{{if .DuplicateCreates}}<li>every create is saved twice</li>{{end}}
{{if .SaveThenTimeout}}<li>{{.SaveThenTimeout}} of writes saved, then no answer</li>{{end}}
{{if .SummaryList}}<li>the user list is summary-only</li>{{end}}
{{if .CleanupHourly}}<li>hourly clean-up of expired users</li>{{end}}
{{if .Forbidden}}<li>forbidden: {{.Forbidden}}</li>{{end}}
</ul>{{end}}

<h2>Users</h2>
<table><tr><th>Id</th><th>Name</th><th>Employee no.</th><th>additional1</th><th>Company</th><th>Active</th>
<th>Expires</th><th>Access levels (valid from – to)</th><th>Profiles</th></tr>
{{range .Users}}<tr{{if not .IsActive}} class="off"{{end}}><td>{{.ID}}</td><td>{{.FirstName}} {{.LastName}}</td>
<td>{{.EmployeeNumber}}</td><td>{{.Additional1}}</td><td>{{with .Company}}{{.Name}}{{end}}</td>
<td>{{if .IsActive}}yes{{else}}no{{end}}</td><td>{{with .ExpirationDate}}{{.}}{{end}}</td>
<td>{{range .AccessLevels}}{{.Name}} ({{with .ValidFrom}}{{.}}{{else}}…{{end}} – {{with .ValidTo}}{{.}}{{else}}…{{end}})<br>{{end}}</td>
<td>{{range .AccessProfiles}}{{.Name}}<br>{{end}}</td></tr>
{{end}}</table>
{{if .Hidden}}<p>… and {{.Hidden}} more (see /sim/state).</p>{{end}}

<h2>Recent events</h2>
<table><tr><th>Id</th><th>Time</th><th>Type</th><th>User</th><th>Door</th><th>Location</th></tr>
{{range .RecentEvents}}<tr><td>{{.ID}}</td><td>{{.Time}}</td><td>{{.LocalizedTypeName}}</td><td>{{.UserID}}</td>
<td>{{.DoorName}}</td><td>{{.LocationID}}</td></tr>
{{end}}</table>

<h2>Catalogue</h2>
<table><tr><th>Level</th><th>Id</th><th>Location</th></tr>
{{range .Catalogue.Levels}}<tr><td>{{.Name}}</td><td>{{.ID}}</td><td>{{.LocationID}}</td></tr>{{end}}</table>
<table><tr><th>Profile</th><th>Id</th><th>Levels</th></tr>
{{range .Catalogue.Profiles}}<tr><td>{{.Name}}</td><td>{{.ID}}</td><td>{{range .AccessLevelIDs}}{{index $.Levels .}}<br>{{end}}</td></tr>{{end}}</table>
<p>Control API: /sim/state, /sim/stats, /sim/faults (see the credoidsim package documentation).</p>
</body></html>
`))
