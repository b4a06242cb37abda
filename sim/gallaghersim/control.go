package gallaghersim

import (
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// controlRoutes registers the control API (/sim/...) and the state page (/). They need no key.
//
//	GET  /sim/state                          everything the simulator holds (State)
//	GET  /sim/stats                          call counts (Stats)
//	GET  /sim/faults, PUT /sim/faults        the fault switches (Faults); PUT replaces them all
//	POST /sim/events                         a badge swipe {"cardholderId","door"} -> 201 Event
//	POST /sim/cardholders/{id}/access_groups an operator adds an access group by hand {"accessGroupId","from","until"}
//	POST /sim/reset                          back to the start (seeded again with Options.Seed)
//	GET  /                                   a small HTML page of the state
func (s *Sim) controlRoutes() {
	kit.Inspect(s.mux, s.page, func() any { return s.Stats() }, func() any { return s.Faults() })
	s.mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.State()) })
	s.mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if !readJSON(w, r, &f) {
			return
		}
		if err := s.SetFaults(f); err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	})
	s.mux.HandleFunc("POST /sim/events", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			CardholderID string `json:"cardholderId"`
			Door         string `json:"door"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		e, err := s.Swipe(in.CardholderID, in.Door)
		if err != nil {
			controlError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, e)
	})
	s.mux.HandleFunc("POST /sim/cardholders/{id}/access_groups", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			AccessGroupID string    `json:"accessGroupId"`
			From          time.Time `json:"from"`
			Until         time.Time `json:"until"`
		}
		if !readJSON(w, r, &in) {
			return
		}
		if err := s.OperatorAddAccessGroup(r.PathValue("id"), in.AccessGroupID, in.From, in.Until); err != nil {
			controlError(w, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	s.mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
}

// controlError answers 404 or 400 for the Go methods' errors.
func controlError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, ErrNotFound) {
		status = http.StatusNotFound
	}
	writeError(w, status, err.Error())
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"group": func(id string) string { g, _ := group(id); return g.Name },
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "…"
		}
		return t.UTC().Format("2006-01-02 15:04Z")
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Gallagher simulator</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}code{font-size:12px}</style>
</head><body>
<h1>Gallagher Command Centre simulator</h1>
<p>{{len .State.Cardholders}} cardholders, {{len .State.Events}} events; {{.Stats.Calls}} API calls ({{.Stats.Writes}} writes),
{{.Stats.WebhooksSent}} webhooks sent, {{.Stats.WebhooksFailed}} failed.
Faults: latency {{.State.Faults.LatencyMs}} ms, fail rate {{.State.Faults.FailRate}}, duplicate webhooks {{.State.Faults.DuplicateWebhooks}}, held {{.State.Faults.HeldCardholders}}.</p>
<h2>Cardholders</h2>
<table><tr><th>id</th><th>name</th><th>authorised</th><th>division</th><th>personal data</th><th>access groups</th></tr>
{{range .State.Cardholders}}<tr><td>{{.ID}}</td><td>{{.FirstName}} {{.LastName}}</td><td>{{.Authorised}}</td><td>{{.DivisionID}}</td>
<td>{{range $k, $v := .PersonalDataFields}}<code>{{$k}}={{$v}}</code><br>{{end}}</td>
<td>{{range .AccessGroups}}{{group .AccessGroupID}} {{when .From}} – {{when .Until}}{{if .ByOperator}} (by hand){{end}}<br>{{end}}</td></tr>
{{end}}</table>
<h2>Latest events</h2>
<table><tr><th>id</th><th>time</th><th>type</th><th>cardholder</th><th>door</th></tr>
{{range .Latest}}<tr><td>{{.ID}}</td><td>{{when .Time}}</td><td>{{.Type}}</td><td>{{.CardholderID}}</td><td>{{.Door}}</td></tr>
{{end}}</table>
<p>Control API: <code>GET /sim/state</code>, <code>GET /sim/stats</code>, <code>PUT /sim/faults</code>, <code>POST /sim/events</code>,
<code>POST /sim/cardholders/{id}/access_groups</code>, <code>POST /sim/reset</code>.</p>
</body></html>`))

// page shows the state.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	st := s.State()
	latest := st.Events[max(len(st.Events)-20, 0):]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = pageTemplate.Execute(w, map[string]any{"State": st, "Stats": s.Stats(), "Latest": latest})
}
