package signicatsim

import (
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// captureForm is what the person typed on the capture page.
type captureForm struct {
	FirstName, LastName, DateOfBirth, DocumentType, DocumentNumber string
	PersonalIdentificationNumber, DateOfExpiry, IssuingCountry     string
	Nationality                                                    string
}

func (f captureForm) result() *FinalResult {
	return &FinalResult{FirstName: f.FirstName, LastName: f.LastName, DateOfBirth: f.DateOfBirth,
		DocumentNumber: f.DocumentNumber, DocumentType: f.DocumentType,
		PersonalIdentificationNumber: f.PersonalIdentificationNumber, DateOfExpiry: f.DateOfExpiry,
		IssuingCountry: f.IssuingCountry, Nationality: f.Nationality}
}

// capturePageData is what the capture page shows.
type capturePageData struct {
	ID, DossierID, ProcessID, Provider, ProcessType, RedirectURL string
	Form                                                         captureForm
	DocumentTypes                                                []DocumentType
	Outcomes                                                     []Status
	Errors                                                       []string
	// Done is set when the capture cannot be used (any more): why.
	Done string
}

// capturePage is the page the capture URL leads to.
func (s *Sim) capturePage(w http.ResponseWriter, r *http.Request) {
	data, status := s.captureData(r.PathValue("id"))
	if data.Done == "" {
		data.Form = captureForm{FirstName: "Alex", LastName: "Sample", DateOfBirth: "1985-04-12",
			DocumentType: s.opts.DocumentTypes[0].DocumentType, DocumentNumber: "SIM" + strings.ToUpper(randomHex(3)),
			DateOfExpiry: time.Now().UTC().AddDate(5, 0, 0).Format(time.DateOnly), IssuingCountry: "GBR", Nationality: "GBR"}
		if data.Form.DocumentType == "" {
			data.Form.DocumentType = "passport"
		}
	}
	renderCapture(w, status, data)
}

// captureData looks the capture up. The status is what to answer when the capture cannot be used.
func (s *Sim) captureData(id string) (capturePageData, int) {
	data := capturePageData{ID: id, DocumentTypes: s.opts.DocumentTypes, Outcomes: FinalStatuses}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.captures[id]
	if !ok {
		data.Done = "This capture link is unknown: it never existed, or its process or dossier was deleted."
		return data, http.StatusNotFound
	}
	data.DossierID, data.ProcessID, data.RedirectURL = c.dossierID, c.processID, c.redirectURL
	p := s.procs[c.processID]
	if p != nil {
		data.Provider, data.ProcessType = p.p.Provider, p.p.ProcessType
	}
	switch {
	case p == nil:
		data.Done = "The process of this capture was deleted."
		return data, http.StatusGone
	case c.used:
		data.Done = "This identity check has already been done (the process is " + string(p.p.Status) + "). A capture link can be used once."
		return data, http.StatusConflict
	case p.p.Status != StatusPending:
		data.Done = "This process is already " + string(p.p.Status) + "; there is nothing left to capture."
		return data, http.StatusConflict
	}
	return data, http.StatusOK
}

var alpha3 = regexp.MustCompile(`^[A-Z]{3}$`)

// captureSubmit takes the person's outcome: the process becomes processing, the outcome is scheduled,
// and the person goes back to the redirectUrl.
func (s *Sim) captureSubmit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	v := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
	form := captureForm{FirstName: v("firstName"), LastName: v("lastName"), DateOfBirth: v("dateOfBirth"),
		DocumentType: v("documentType"), DocumentNumber: v("documentNumber"),
		PersonalIdentificationNumber: v("personalIdentificationNumber"), DateOfExpiry: v("dateOfExpiry"),
		IssuingCountry: strings.ToUpper(v("issuingCountry")), Nationality: strings.ToUpper(v("nationality"))}
	outcome := Status(v("status"))

	var errs []string
	if !outcome.Final() {
		errs = append(errs, "Pick an outcome with one of the buttons.")
	}
	for _, d := range []struct{ name, v string }{{"Date of birth", form.DateOfBirth}, {"Date of expiry", form.DateOfExpiry}} {
		if _, err := time.Parse(time.DateOnly, d.v); d.v != "" && err != nil {
			errs = append(errs, d.name+" must be a date written YYYY-MM-DD.")
		}
	}
	for _, c := range []struct{ name, v string }{{"Issuing country", form.IssuingCountry}, {"Nationality", form.Nationality}} {
		if c.v != "" && !alpha3.MatchString(c.v) {
			errs = append(errs, c.name+" must be an ISO 3166 alpha-3 code, such as GBR.")
		}
	}
	if _, ok := s.docTypes[form.DocumentType]; form.DocumentType != "" && !ok {
		errs = append(errs, "Document type must be one of "+s.docTypeList()+".")
	}

	var result *FinalResult
	if outcome == StatusAccepted || outcome == StatusRejected || outcome == StatusInconclusive {
		result = form.result()
	}
	s.mu.Lock()
	c, ok := s.captures[id]
	var p *process
	if ok {
		p = s.procs[c.processID]
	}
	usable := ok && p != nil && !c.used && p.p.Status == StatusPending
	var target string
	if usable && len(errs) == 0 {
		now := stampNow()
		p.p.Status, p.p.UpdatedAt = StatusProcessing, now
		if form.DocumentType != "" {
			p.p.DocumentType = form.DocumentType
		}
		if d := s.dossiers[c.dossierID]; d != nil {
			d.d.UpdatedAt = now
		}
		if err := s.decideLocked(p, outcome, result, ""); err != nil { // cannot happen: checked above
			errs = append(errs, err.Error())
		} else {
			c.used = true
			s.stats.CapturesCompleted++
			target = redirectTarget(c.redirectURL, c.dossierID, c.processID)
		}
	}
	s.mu.Unlock()

	if target != "" {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	data, status := s.captureData(id)
	if data.Done == "" {
		data.Form, data.Errors, status = form, errs, http.StatusBadRequest
	}
	renderCapture(w, status, data)
}

// redirectTarget is the redirectUrl with dossierId, processId and status=processing appended, its own
// query and fragment kept as they were.
func redirectTarget(redirect, dossierID, processID string) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect
	}
	extra := "dossierId=" + url.QueryEscape(dossierID) + "&processId=" + url.QueryEscape(processID) +
		"&status=" + string(StatusProcessing)
	if u.RawQuery != "" {
		u.RawQuery += "&" + extra
	} else {
		u.RawQuery = extra
	}
	return u.String()
}

func renderCapture(w http.ResponseWriter, status int, data capturePageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	captureTemplate.Execute(w, data)
}

var captureTemplate = template.Must(template.New("capture").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Identity check (Signicat simulator)</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#222}
main{max-width:36em;margin:2em auto;background:#fff;padding:1.5em 2em;border-radius:8px;box-shadow:0 1px 4px #0002}
.banner{background:#fff3cd;border:1px solid #e0c060;padding:.6em .8em;border-radius:4px;font-size:90%}
label{display:block;margin:.7em 0 .2em;font-weight:600;font-size:90%}
input,select{width:100%;box-sizing:border-box;padding:.4em;font-size:100%}
.outcomes{display:flex;flex-wrap:wrap;gap:.5em;margin-top:1.2em}
.outcomes button{flex:1 1 8em;padding:.6em;font-size:100%;cursor:pointer;border:1px solid #888;border-radius:4px;background:#eee}
.outcomes .accepted{background:#2e7d32;color:#fff;border-color:#2e7d32}
.outcomes .rejected,.outcomes .failed{background:#c62828;color:#fff;border-color:#c62828}
.errors{color:#b00}.muted{color:#777;font-size:85%}
</style></head><body><main>
<p class="banner"><strong>Simulator.</strong> This is not Signicat: it is a local simulator of Signicat's Assure
capture flow. No document is read and nothing leaves this machine. Type what the document would say and pick the
outcome the verification should have.</p>
<h1>Verify your identity</h1>
{{if .Done}}
<p>{{.Done}}</p>
{{if .RedirectURL}}<p class="muted">The service that sent you here: {{.RedirectURL}}</p>{{end}}
{{else}}
{{with .Errors}}<ul class="errors">{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p class="muted">Provider {{.Provider}}{{with .ProcessType}} ({{.}}){{end}} · process {{.ProcessID}}</p>
<form method="post" action="{{.ID}}">
<label for="firstName">First name</label><input id="firstName" name="firstName" value="{{.Form.FirstName}}" autocomplete="off">
<label for="lastName">Last name</label><input id="lastName" name="lastName" value="{{.Form.LastName}}" autocomplete="off">
<label for="dateOfBirth">Date of birth (YYYY-MM-DD)</label><input id="dateOfBirth" name="dateOfBirth" value="{{.Form.DateOfBirth}}" placeholder="1985-04-12" pattern="\d{4}-\d{2}-\d{2}">
<label for="documentType">Document type</label><select id="documentType" name="documentType">
{{range .DocumentTypes}}<option value="{{.DocumentType}}"{{if eq .DocumentType $.Form.DocumentType}} selected{{end}}>{{if .Name}}{{.Name}}{{else}}{{.DocumentType}}{{end}}</option>
{{end}}</select>
<label for="documentNumber">Document number</label><input id="documentNumber" name="documentNumber" value="{{.Form.DocumentNumber}}" autocomplete="off">
<label for="personalIdentificationNumber">Personal identification number (optional)</label><input id="personalIdentificationNumber" name="personalIdentificationNumber" value="{{.Form.PersonalIdentificationNumber}}" autocomplete="off">
<label for="dateOfExpiry">Date of expiry (YYYY-MM-DD)</label><input id="dateOfExpiry" name="dateOfExpiry" value="{{.Form.DateOfExpiry}}" pattern="\d{4}-\d{2}-\d{2}">
<label for="issuingCountry">Issuing country (ISO 3166 alpha-3)</label><input id="issuingCountry" name="issuingCountry" value="{{.Form.IssuingCountry}}" maxlength="3" pattern="[A-Za-z]{3}">
<label for="nationality">Nationality (ISO 3166 alpha-3)</label><input id="nationality" name="nationality" value="{{.Form.Nationality}}" maxlength="3" pattern="[A-Za-z]{3}">
<p><strong>Outcome of the verification:</strong></p>
<div class="outcomes">{{range .Outcomes}}<button type="submit" name="status" value="{{.}}" class="{{.}}">{{.}}</button>{{end}}</div>
</form>
<p class="muted">After you pick an outcome you go back to the service with status=processing; the process becomes
final a moment later and the service is called back.</p>
{{end}}
</main></body></html>
`))
