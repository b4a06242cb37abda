package entrasim

import (
	"html/template"
	"net/http"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// page shows the tenant's state as a person trying SignetAssure would want to see it.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	st := s.State()
	users := make([]pickUser, 0, len(st.Users))
	for _, u := range st.Users {
		users = append(users, pickUser{User: u, GroupsText: s.describeGroups(u)})
	}
	data := struct {
		State
		Users                          []pickUser
		Issuer, Discovery, Keys, Graph string
		Spoils                         []string
		Now                            string
		DefaultSecret                  bool
	}{State: st, Users: users, Issuer: s.Issuer(base), Discovery: s.Issuer(base) + "/.well-known/openid-configuration",
		Keys: base + "/" + st.TenantID + "/discovery/v2.0/keys", Graph: base + "/v1.0/me/transitiveMemberOf/microsoft.graph.group",
		Spoils: Spoils, Now: time.Now().UTC().Format(time.RFC1123), DefaultSecret: s.opts.ClientSecret == DefaultClientSecret}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var pageTemplate = template.Must(template.New("page").Funcs(kit.PageFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>entrasim — simulated Microsoft Entra ID</title>
<style>body{font-family:system-ui,sans-serif;margin:1.5rem}table{border-collapse:collapse;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}code{font-size:.9em}
small{color:#555}</style></head>
<body>
<h1>entrasim — simulated Microsoft Entra ID</h1>
<p><small>{{.Now}}</small></p>
<h2>Tenant</h2>
<table>
<tr><th>tenant id</th><td><code>{{.TenantID}}</code></td></tr>
<tr><th>client id</th><td><code>{{.ClientID}}</code>{{if .DefaultSecret}} (the default secret){{end}}</td></tr>
<tr><th>issuer</th><td><code>{{.Issuer}}</code></td></tr>
<tr><th>discovery</th><td><a href="{{.Discovery}}"><code>{{.Discovery}}</code></a></td></tr>
<tr><th>keys</th><td><a href="{{.Keys}}"><code>{{.Keys}}</code></a></td></tr>
<tr><th>Graph (overage)</th><td><code>{{.Graph}}</code></td></tr>
</table>
<h2>Users</h2>
<table><tr><th>name</th><th>e-mail</th><th>object id</th><th>groups and app roles</th></tr>
{{range .Users}}<tr><td>{{.Name}}</td><td>{{.Email}}</td><td><code>{{.ObjectID}}</code></td><td>{{.GroupsText}}</td></tr>
{{end}}</table>
<h2>Signing keys</h2>
<table><tr><th>kid</th><th></th></tr>
{{range $i, $k := .Keys}}<tr><td><code>{{$k}}</code></td><td>{{if eq $i 0}}signs now{{else}}published (replaced){{end}}</td></tr>
{{end}}</table>
<form method="post" action="sim/rollover"><button type="submit">Roll over the signing key</button></form>
<h2>Sign-ins</h2>
<table><tr><th>at</th><th>user</th><th></th></tr>
{{range .SignIns}}<tr><td>{{clock .At}}</td><td>{{.Name}} <small><code>{{.User}}</code></small></td>
<td>{{if .Overage}}overage marker{{end}} {{if .Spoiled}}ID token spoiled: {{.Spoiled}}{{end}}</td></tr>
{{else}}<tr><td colspan="3">none yet</td></tr>{{end}}</table>
<h2>Faults</h2>
<form method="post" action="sim/faults">
<label>Next ID token <select name="nextIdToken">{{range .Spoils}}<option value="{{.}}"{{if eq . $.Faults.NextIDToken}} selected{{end}}>{{if .}}{{.}}{{else}}as it should be{{end}}</option>{{end}}</select></label><br>
<label><input type="checkbox" name="tokenDown"{{if .Faults.TokenDown}} checked{{end}}> token endpoint down (503)</label><br>
<label><input type="checkbox" name="keysDown"{{if .Faults.KeysDown}} checked{{end}}> discovery and keys down (503)</label><br>
<label><input type="checkbox" name="graphDown"{{if .Faults.GraphDown}} checked{{end}}> Graph down (503)</label><br>
<button type="submit">Set faults</button></form>
<h2>Counts</h2>
<table>
<tr><th>discovery documents</th><td>{{.Stats.Discoveries}}</td><th>key sets</th><td>{{.Stats.KeySetsServed}}</td></tr>
<tr><th>codes issued</th><td>{{.Stats.CodesIssued}}</td><th>authorize errors</th><td>{{.Stats.AuthorizeErrors}}</td></tr>
<tr><th>tokens issued</th><td>{{.Stats.TokensIssued}}</td><th>token requests refused</th><td>{{.Stats.TokenRejections}}</td></tr>
<tr><th>spoiled ID tokens</th><td>{{.Stats.SpoiledTokens}}</td><th>rollovers</th><td>{{.Stats.Rollovers}}</td></tr>
<tr><th>Graph pages</th><td>{{.Stats.GraphCalls}}</td><th>Graph 401</th><td>{{.Stats.GraphRejections}}</td></tr>
<tr><th>503 by a fault</th><td>{{.Stats.InjectedDown}}</td><th></th><td></td></tr>
</table>
<form method="post" action="sim/reset"><button type="submit">Reset (keys stay)</button></form>
</body></html>
`))
