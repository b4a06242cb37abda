package signicatsim

import (
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

const pageDossiers = 200 // dossiers shown on the page

// page shows the simulator's state as a person trying SignetAssure would want to see it.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	st := s.State()
	data := struct {
		State
		Shown         []DossierState
		Hidden        int
		ClientID      string
		DefaultSecret bool
		TokenTTL      string
		Base          string
		Now           string
		Outcomes      []Status
		Modes         []CallbackMode
		DocumentTypes []DocumentType
		Delays        string
	}{State: st, ClientID: s.opts.ClientID, DefaultSecret: s.opts.ClientSecret == DefaultClientSecret,
		TokenTTL: s.opts.TokenTTL.String(), Base: s.baseURL(r), Now: time.Now().UTC().Format(time.RFC1123),
		Outcomes: FinalStatuses, Modes: []CallbackMode{CallbacksNormal, CallbacksDrop, CallbacksDuplicate, CallbacksLate},
		DocumentTypes: s.opts.DocumentTypes,
		Delays: "decision " + s.opts.DecisionDelay.String() + ", callback " + s.opts.CallbackDelay.String() +
			" (late: " + s.opts.LateCallbackDelay.String() + ")"}
	data.Shown = st.Dossiers[:min(len(st.Dossiers), pageDossiers)]
	data.Hidden = len(st.Dossiers) - len(data.Shown)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var pageTemplate = template.Must(template.New("page").Funcs(kit.PageFuncs).Funcs(template.FuncMap{
	"short": func(s string) string {
		if len(s) > 13 {
			return s[:8] + "…"
		}
		return s
	},
	"images": func(m map[string]int) string {
		var out []string
		for _, k := range imageKinds {
			if n, ok := m[k]; ok {
				out = append(out, k+" "+sizeString(n))
			}
		}
		return strings.Join(out, ", ")
	},
	"mode": func(m CallbackMode) string {
		if m == "" {
			return "normal"
		}
		return string(m)
	},
	"processing": func(st Status) bool {
		return st == StatusProcessing
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signicat Assure simulator</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.3em 0 1.2em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;font-size:90%}
th{background:#eee}.muted{color:#888}.fault{color:#b00}
.st-accepted{color:#080;font-weight:600}.st-rejected,.st-failed{color:#b00;font-weight:600}
.st-inconclusive,.st-canceled{color:#a60;font-weight:600}.st-pending,.st-processing{color:#06c}
form.inline{display:inline;margin:0}h2{margin-top:1.4em}.dossier{margin:.8em 0 .2em}
input[type=number]{width:6em}code{font-size:90%}
</style></head><body>
<h1>Signicat Assure simulator</h1>
<p>{{.Now}} · client <code>{{.ClientID}}</code>{{if .DefaultSecret}} (secret <code>sim-client-secret</code>){{end}} ·
tokens live {{.TokenTTL}} · delays: {{.Delays}}</p>
<p>Tokens: {{.Stats.TokensBasic}} basic, {{.Stats.TokensPost}} post, {{.Stats.TokenRejections}} refused ·
API calls {{.Stats.APICalls}} ({{.Stats.Unauthorized}} answered 401, {{.Stats.InjectedFailures}} failed on purpose) ·
dossiers {{.Stats.DossiersCreated}} created, {{.Stats.DossiersDeleted}} deleted · processes {{.Stats.ProcessesCreated}} created,
{{.Stats.ProcessesDeleted}} deleted · captures {{.Stats.CapturesStarted}} started, {{.Stats.CapturesCompleted}} done ·
{{.Stats.Downloads}} zips · callbacks {{.Stats.CallbacksSent}} delivered, {{.Stats.CallbacksFailed}} failed attempts,
{{.Stats.CallbacksGivenUp}} given up, {{.Stats.CallbacksDropped}} dropped, {{.Stats.CallbacksDuplicated}} duplicated</p>
<form class="inline" method="post" action="sim/try"><button>Try a capture flow</button></form>
<span class="muted">creates a dossier and a capture that comes back here</span>

<h2>Dossiers (newest first)</h2>
{{range .Shown}}
<div class="dossier"><strong>Dossier <code>{{.DossierID}}</code></strong> <span class="muted">created {{clock .CreatedAt}}, updated {{clock .UpdatedAt}}</span></div>
{{if .Processes}}<table><tr><th>Process</th><th>Provider</th><th>Document</th><th>Status</th><th>Updated</th><th>Images</th><th>Result</th><th>Callback</th><th></th></tr>
{{range .Processes}}<tr><td title="{{.ProcessID}}"><code>{{short .ProcessID}}</code></td>
<td>{{.Provider}}{{with .ProcessType}} <span class="muted">{{.}}</span>{{end}}</td><td>{{.DocumentType}}</td>
<td class="st-{{.Status}}">{{.Status}}{{with .Decided}} <span class="muted">→ {{.}} in a moment</span>{{end}}</td>
<td>{{clock .UpdatedAt}}</td><td>{{images .Images}}</td>
<td>{{with .FinalResult}}{{.FirstName}} {{.LastName}}{{with .DateOfBirth}}, born {{.}}{{end}}{{with .DocumentNumber}}<br><span class="muted">no. {{.}}</span>{{end}}{{with .IssuingCountry}} <span class="muted">{{.}}</span>{{end}}{{end}}{{with .FailReason}}<br><span class="muted">{{.}}</span>{{end}}</td>
<td>{{if .NotificationURL}}<span title="{{.NotificationURL}}">{{if .Callback}}{{.Callback}}{{else}}when final{{end}}</span>{{else}}<span class="muted">none</span>{{end}}</td>
<td>{{if .CapturePath}}{{if .CaptureUsed}}<span class="muted">capture done</span>{{else if eq .Status "pending"}}<a href="{{slice .CapturePath 1}}">capture page</a>{{end}}{{end}}
{{if and (processing .Status) (not .Decided)}}<form class="inline" method="post" action="sim/processes/{{.ProcessID}}/decide">
<select name="status">{{range $.Outcomes}}<option>{{.}}</option>{{end}}</select>
<input name="firstName" value="Alex" size="6" title="first name"><input name="lastName" value="Sample" size="6" title="last name">
<input name="dateOfBirth" value="1985-04-12" size="9" title="date of birth"><input name="documentNumber" value="SIM000001" size="9" title="document number">
<input type="hidden" name="issuingCountry" value="GBR"><input type="hidden" name="nationality" value="GBR">
<input type="hidden" name="documentType" value="{{.DocumentType}}"><button>Decide</button></form>{{end}}</td></tr>
{{end}}</table>{{else}}<p class="muted">No processes.</p>{{end}}
{{else}}<p class="muted">No dossiers yet. SignetAssure creates them, or try a capture flow above.</p>{{end}}
{{if .Hidden}}<p>… and {{.Hidden}} older (see <a href="sim/state">/sim/state</a>).</p>{{end}}

<h2>Faults</h2>
<form method="post" action="sim/faults">
<label>Latency <input type="number" name="latencyMs" min="0" value="{{.Faults.LatencyMs}}"> ms</label> ·
<label><input type="checkbox" name="unauthorized401Once"{{if .Faults.Unauthorized401Once}} checked{{end}}> next API call 401 (token revoked)</label> ·
<label><input type="checkbox" name="always401"{{if .Faults.Always401}} checked{{end}}> every API call 401</label><br>
<label>Fail the next <input type="number" name="failNext" min="0" value="{{.Faults.FailNext}}"> API calls with status
<input type="number" name="failStatus" min="400" max="599" value="{{.Faults.FailStatus}}"></label> ·
<label>Callbacks <select name="callbacks">{{range .Modes}}<option value="{{.}}"{{if eq . $.Faults.Callbacks}} selected{{end}}>{{mode .}}</option>{{end}}</select></label>
<button>Apply</button></form>
{{if or .Faults.Unauthorized401Once .Faults.Always401 .Faults.FailNext .Faults.LatencyMs .Faults.Callbacks}}<p class="fault">Faults are on.</p>{{end}}
<form class="inline" method="post" action="sim/reset"><button>Reset everything</button></form>
<p class="muted">Token endpoint {{.Base}}/auth/open/connect/token · API {{.Base}}/assure/... · control API: /sim/state,
/sim/stats, /sim/faults (GET, POST to change some fields, PUT to replace), /sim/processes/{processId}/decide, /sim/reset.
See the signicatsim package documentation.</p>
<script>
setInterval(function(){
  var a=document.activeElement;
  if(a&&a!==document.body)return;
  location.reload();
},3000);
</script>
</body></html>
`))

func sizeString(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.Itoa(n) + " B"
}
