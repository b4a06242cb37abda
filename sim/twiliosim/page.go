package twiliosim

import (
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

const (
	pageMessages   = 300 // messages shown on the page
	pageReplies    = 100
	pageRecipients = 40 // reply forms
)

// recipient is a number the simulator messaged, with a reply form.
type recipient struct {
	Number, Channel, Last string
	OptedOut              bool
}

// page shows the phone network as a person trying SignetAssure would want to see it.
func (s *Sim) page(w http.ResponseWriter, r *http.Request) {
	st := s.State(0)
	data := struct {
		State
		Shown       []Message
		Hidden      int
		Replies     []Inbound
		Recipients  []recipient
		FaultsJSON  string
		Account     string
		InboundURL  string
		Rejected    []int
		Now         string
		TimeFormat  string
		StatusOrder []string
	}{State: st, Account: s.opts.AccountSID, InboundURL: s.opts.InboundURL,
		Now: time.Now().UTC().Format(time.RFC1123), TimeFormat: "15:04:05.000",
		StatusOrder: []string{"queued", "sent", "delivered", "read", "undelivered", "failed"}}
	data.Shown = st.Messages[:min(len(st.Messages), pageMessages)]
	data.Hidden = len(st.Messages) - len(data.Shown)
	data.Replies = st.Inbound[:min(len(st.Inbound), pageReplies)]
	data.Rejected = slices.Sorted(maps.Keys(st.Stats.Rejected))
	opted := map[string]bool{}
	for _, n := range st.OptOuts {
		opted[n] = true
	}
	seen := map[string]bool{}
	for _, m := range st.Messages {
		n := m.number()
		if seen[n] {
			continue
		}
		seen[n] = true
		data.Recipients = append(data.Recipients, recipient{Number: n, Channel: m.Channel, Last: m.Body, OptedOut: opted[n] && m.Channel == "sms"})
		if len(data.Recipients) == pageRecipients {
			break
		}
	}
	fj, _ := json.MarshalIndent(st.Faults, "", "  ")
	data.FaultsJSON = string(fj)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pageTemplate.Execute(w, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

var pageTemplate = template.Must(template.New("page").Funcs(kit.PageFuncs).Funcs(template.FuncMap{
	"short": func(s string) string {
		if len(s) > 12 {
			return s[:6] + "…" + s[len(s)-4:]
		}
		return s
	},
}).Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Twilio simulator</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top;font-size:90%}
th{background:#eee}.body{max-width:32em;white-space:pre-wrap}.muted{color:#888}
.st-delivered,.st-read{color:#080}.st-undelivered,.st-failed{color:#b00}.st-queued,.st-sent{color:#a60}
.fault{color:#b00}form.inline{display:inline;margin:0}textarea{font-family:monospace;font-size:85%}
</style></head><body>
<h1>Twilio simulator: SMS and WhatsApp</h1>
<p>Account {{.Account}} · {{.Now}} ·
{{.Stats.Accepted}} accepted{{range $c := .Rejected}}, {{index $.Stats.Rejected $c}} refused {{$c}}{{end}} ·
callbacks {{.Stats.CallbacksSent}} delivered, {{.Stats.CallbacksFailed}} failed attempts, {{.Stats.CallbacksGivenUp}} given up{{if .Stats.CallbacksDropped}}, {{.Stats.CallbacksDropped}} dropped{{end}}{{if .Stats.CallbacksBadSignature}}, {{.Stats.CallbacksBadSignature}} badly signed{{end}} ·
{{.Stats.Inbound}} replies{{if .Stats.Duplicates}} · <span class="fault">{{.Stats.Duplicates}} recipient+body pairs sent more than once</span>{{end}}</p>
<p>Now: {{range $st := .StatusOrder}}{{with index $.Stats.ByStatus $st}}<span class="st-{{$st}}">{{.}} {{$st}}</span> {{end}}{{end}}</p>

<h2>Reply as a recipient</h2>
{{if .InboundURL}}<p class="muted">Replies are posted, signed, to {{.InboundURL}}. On SMS, STOP opts a number out, START opts it back in.</p>
{{else}}<p class="muted">No inbound URL is configured: replies are only recorded here.</p>{{end}}
{{if .Recipients}}<table><tr><th>Recipient</th><th>Channel</th><th>Last message</th><th>Reply</th></tr>
{{range .Recipients}}<tr><td>{{.Number}}{{if .OptedOut}} <span class="fault">(opted out)</span>{{end}}</td><td>{{.Channel}}</td>
<td class="body">{{.Last}}</td>
<td><form class="inline" method="post" action="sim/reply"><input type="hidden" name="from" value="{{.Number}}">
<input type="hidden" name="channel" value="{{.Channel}}"><input name="body" size="24" placeholder="reply text" required>
<button>Send</button></form></td></tr>
{{end}}</table>{{else}}<p class="muted">Nobody has been messaged yet.</p>{{end}}
<form method="post" action="sim/reply">Anyone: <input name="from" placeholder="+447400123456" required>
<select name="channel"><option>sms</option><option>whatsapp</option></select>
<input name="body" placeholder="text" required> <button>Send reply</button></form>

<h2>Messages (newest first)</h2>
<table><tr><th>Created</th><th>Channel</th><th>To</th><th>From</th><th>Body</th><th>Status</th><th>Segments</th><th>Price</th><th>Error</th><th>Sid</th></tr>
{{range .Shown}}<tr><td>{{clock .Created}}</td><td>{{.Channel}}</td><td>{{.To}}</td><td>{{.From}}</td>
<td class="body">{{.Body}}{{with .ContentSid}}<br><span class="muted">template {{.}}</span>{{end}}</td>
<td class="st-{{.Status}}" title="{{range .History}}{{.Status}} {{clock .At}}&#10;{{end}}">{{.Status}}</td><td>{{.Segments}}</td>
<td>{{with .Price}}{{.}}{{end}} {{if .Price}}{{.PriceUnit}}{{end}}</td><td>{{with .ErrorCode}}{{.}}{{end}} {{.ErrorMessage}}</td><td title="{{.Sid}}">{{short .Sid}}</td></tr>
{{else}}<tr><td colspan="10" class="muted">No messages yet.</td></tr>{{end}}</table>
{{if .Hidden}}<p>… and {{.Hidden}} older (see <a href="sim/state">/sim/state</a>).</p>{{end}}

<h2>Replies (newest first)</h2>
<table><tr><th>At</th><th>Channel</th><th>From</th><th>To</th><th>Body</th><th>Profile</th><th>Opt-out</th><th>Webhook</th></tr>
{{range .Replies}}<tr><td>{{clock .At}}</td><td>{{.Channel}}</td><td>{{.From}}</td><td>{{.To}}</td><td class="body">{{.Body}}{{if .Auto}} <span class="muted">(auto)</span>{{end}}</td>
<td>{{.ProfileName}}</td><td>{{.OptOut}}</td><td>{{.Webhook}}</td></tr>
{{else}}<tr><td colspan="8" class="muted">No replies yet.</td></tr>{{end}}</table>

<h2>Opted out of SMS</h2>
{{range .OptOuts}}<form class="inline" method="post" action="sim/reply"><input type="hidden" name="from" value="{{.}}">
<input type="hidden" name="body" value="START"><input type="hidden" name="channel" value="sms">{{.}} <button>reply START</button></form><br>
{{else}}<p class="muted">Nobody.</p>{{end}}

<h2>Faults</h2>
<textarea id="faults" rows="14" cols="60">{{.FaultsJSON}}</textarea><br>
<button onclick="fetch('sim/faults',{method:'PUT',body:document.getElementById('faults').value}).then(r=>r.ok?location.reload():r.text().then(alert))">Apply</button>
<form class="inline" method="post" action="sim/reset"><button>Reset everything</button></form>
<p class="muted">Control API: /sim/state, /sim/stats, /sim/faults (GET, POST to change some fields, PUT to replace), /sim/reply, /sim/reset.
See the twiliosim package documentation.</p>
<script>
setInterval(function(){
  var a=document.activeElement;
  if(a&&a!==document.body)return;
  var busy=false;document.querySelectorAll('input[name=body]:not([type=hidden])').forEach(function(i){if(i.value)busy=true});
  if(!busy)location.reload();
},3000);
</script>
</body></html>
`))
