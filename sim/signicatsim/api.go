package signicatsim

import (
	"archive/zip"
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// routes builds the mux: the token endpoint, the Assure API, the capture pages, the control API and the
// page.
func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc(tokenPath, s.token)

	api := http.NewServeMux()
	const (
		dossier = dossiersPath + "/{dossierId}"
		proc    = dossier + "/processes/{processId}"
	)
	api.HandleFunc("POST "+dossiersPath, s.createDossier)
	// GET /assure/dossiers/{id} and GET /assure/{provider}/document-types overlap (a provider called
	// "dossiers"): one pattern serves both.
	api.HandleFunc("GET /assure/{first}/{second}", s.getDossierOrDocumentTypes)
	api.HandleFunc("DELETE "+dossier, s.deleteDossier)
	api.HandleFunc("POST "+dossier+"/processes", s.createProcess)
	api.HandleFunc("POST "+dossier+"/capture", s.startCapture)
	api.HandleFunc("GET "+proc, s.getProcess)
	api.HandleFunc("DELETE "+proc, s.deleteProcess)
	api.HandleFunc("POST "+proc, s.verify)
	api.HandleFunc("POST "+proc+"/verify", s.verify)
	api.HandleFunc("POST "+proc+"/images", s.setImages)
	api.HandleFunc("GET "+proc+"/images/{kind}", s.getImage)
	api.HandleFunc("GET "+proc+"/download", s.download)
	mux.Handle("/assure/", s.gate(api))

	mux.HandleFunc("GET /capture/{id}", s.capturePage)
	mux.HandleFunc("POST /capture/{id}", s.captureSubmit)
	s.controlRoutes(mux)
	return mux
}

// Token endpoint.

func (s *Sim) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.tokenError(w, http.StatusMethodNotAllowed, "invalid_request", "the token endpoint takes POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "the body must be a form: "+err.Error())
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if !s.clientOK(id, secret, basic) {
		w.Header().Set("WWW-Authenticate", `Basic realm="signicatsim", charset="UTF-8"`)
		s.tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	switch g := r.PostForm.Get("grant_type"); g {
	case "client_credentials":
	case "":
		s.tokenError(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
		return
	default:
		s.tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+g+" is not supported; use client_credentials")
		return
	}
	if sc := r.PostForm.Get("scope"); sc != "" && !slices.Contains(strings.Fields(sc), apiScope) {
		s.tokenError(w, http.StatusBadRequest, "invalid_scope", "the scope must be "+apiScope)
		return
	}
	tok := base64.RawURLEncoding.EncodeToString([]byte(randomHex(24)))
	now := time.Now()
	s.mu.Lock()
	for t, exp := range s.tokens {
		if !now.Before(exp) {
			delete(s.tokens, t)
		}
	}
	s.tokens[tok] = now.Add(s.opts.TokenTTL)
	if basic {
		s.stats.TokensBasic++
	} else {
		s.stats.TokensPost++
	}
	s.mu.Unlock()
	secs := int((s.opts.TokenTTL + time.Second - 1) / time.Second)
	kit.WriteJSON(w, http.StatusOK, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": secs, "scope": apiScope})
}

// clientOK checks the client's credentials. HTTP Basic credentials are form-urlencoded first by
// RFC 6749 (golang.org/x/oauth2 does it): both spellings are accepted.
func (s *Sim) clientOK(id, secret string, basic bool) bool {
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	if eq(id, s.opts.ClientID) && eq(secret, s.opts.ClientSecret) {
		return true
	}
	if basic {
		uid, err1 := url.QueryUnescape(id)
		usec, err2 := url.QueryUnescape(secret)
		return err1 == nil && err2 == nil && eq(uid, s.opts.ClientID) && eq(usec, s.opts.ClientSecret)
	}
	return false
}

func (s *Sim) tokenError(w http.ResponseWriter, status int, code, desc string) {
	s.mu.Lock()
	s.stats.TokenRejections++
	s.mu.Unlock()
	kit.WriteJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// The gate in front of every /assure call: latency, the Bearer token, the faults, then the route (or a
// problem for a path or method it does not know).

func (s *Sim) gate(api *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		latency := time.Duration(s.faults.LatencyMs) * time.Millisecond
		s.mu.Unlock()
		if !kit.Sleep(r.Context(), latency) {
			return
		}
		tok, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok = strings.TrimSpace(tok)
		now := time.Now()
		s.mu.Lock()
		s.stats.APICalls++
		exp, known := s.tokens[tok]
		valid := hasBearer && tok != "" && known && now.Before(exp)
		if known && !valid {
			delete(s.tokens, tok)
		}
		var status int
		var detail string
		f := &s.faults
		switch {
		case !valid:
			status, detail = http.StatusUnauthorized, "the access token is missing, unknown or expired"
		case f.Always401:
			status, detail = http.StatusUnauthorized, "the access token was refused (fault always401)"
		case f.Unauthorized401Once:
			f.Unauthorized401Once = false
			delete(s.tokens, tok)
			status, detail = http.StatusUnauthorized, "the access token was revoked (fault unauthorized401Once)"
		case f.FailNext > 0:
			f.FailNext--
			s.stats.InjectedFailures++
			status, detail = f.FailStatus, "injected failure (fault failNext)"
		}
		if status == http.StatusUnauthorized {
			s.stats.Unauthorized++
		}
		s.mu.Unlock()
		if status != 0 {
			if status == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			}
			problem(w, r, status, detail)
			return
		}
		if _, pattern := api.Handler(r); pattern == "" {
			var allow []string
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
				r2 := r.Clone(r.Context())
				r2.Method = m
				if _, p := api.Handler(r2); p != "" {
					allow = append(allow, m)
				}
			}
			if len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				problem(w, r, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
			} else {
				problem(w, r, http.StatusNotFound, "no such resource: "+r.URL.Path)
			}
			return
		}
		api.ServeHTTP(w, r)
	}
}

// problem writes an Assure error (application/problem+json).
func problem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	typ := "base:client-problem"
	if status >= 500 {
		typ = "base:server-problem"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	// {"instance","method","status","type","title","detail","traceId"} [R]
	json.NewEncoder(w).Encode(map[string]any{"instance": r.URL.Path, "method": r.Method, "status": status, "type": typ,
		"title": http.StatusText(status), "detail": detail, "traceId": randomHex(16)})
}

// readJSON decodes the body into v; an empty body leaves v as it is. The error names the field.
func readJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return fmt.Errorf("the body is larger than %d bytes", limit)
		}
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return fmt.Errorf("the body is not valid JSON: %v", err)
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "a boolean"
	case "string":
		return "a string"
	}
	return "a number"
}

// Dossiers.

func (s *Sim) createDossier(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := readJSON(w, r, &body, 64<<10); err != nil {
		problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	kit.WriteJSON(w, http.StatusCreated, s.newDossier())
}

// newDossier creates an empty dossier.
func (s *Sim) newDossier() Dossier {
	now := stampNow()
	d := &dossier{d: Dossier{DossierID: newID(), CreatedAt: now, UpdatedAt: now}}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dossiers[d.d.DossierID] = d
	s.order = append(s.order, d)
	s.stats.DossiersCreated++
	return d.d
}

func (s *Sim) getDossierOrDocumentTypes(w http.ResponseWriter, r *http.Request) {
	first, second := r.PathValue("first"), r.PathValue("second")
	if first == "dossiers" {
		s.mu.Lock()
		d, ok := s.dossiers[second]
		var out Dossier
		if ok {
			out = d.d
			out.Processes = make([]Process, 0, len(d.procs))
			for _, p := range d.procs {
				out.Processes = append(out.Processes, p.view())
			}
		}
		s.mu.Unlock()
		if !ok {
			problem(w, r, http.StatusNotFound, "dossier "+second+" not found")
			return
		}
		kit.WriteJSON(w, http.StatusOK, out)
		return
	}
	if second != "document-types" {
		problem(w, r, http.StatusNotFound, "no such resource: "+r.URL.Path)
		return
	}
	kit.WriteJSON(w, http.StatusOK, map[string]any{"documentTypes": slices.Clone(s.opts.DocumentTypes)})
}

func (s *Sim) deleteDossier(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("dossierId")
	s.mu.Lock()
	d, ok := s.dossiers[id]
	if ok {
		delete(s.dossiers, id)
		s.order = slices.DeleteFunc(s.order, func(x *dossier) bool { return x == d })
		for _, p := range d.procs {
			s.forgetLocked(p)
		}
		s.stats.DossiersDeleted++
	}
	s.mu.Unlock()
	if !ok {
		problem(w, r, http.StatusNotFound, "dossier "+id+" not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// forgetLocked removes a process (not from its dossier's list) and its capture. Called with mu held.
func (s *Sim) forgetLocked(p *process) {
	delete(s.procs, p.p.ProcessID)
	if p.captureID != "" {
		delete(s.captures, p.captureID)
	}
	s.stats.ProcessesDeleted++
}

// Processes.

var providerRe = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)

func (s *Sim) createProcess(w http.ResponseWriter, r *http.Request) {
	var body createProcessBody
	if err := readJSON(w, r, &body, 64<<10); err != nil {
		problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case body.Provider == "":
		problem(w, r, http.StatusBadRequest, "provider: is required (e.g. onfido, signicatvideoid)")
		return
	case !providerRe.MatchString(body.Provider):
		problem(w, r, http.StatusBadRequest, "provider: "+strconv.Quote(body.Provider)+" is not a provider")
		return
	}
	if body.DocumentType != "" {
		if _, ok := s.docTypes[body.DocumentType]; !ok {
			problem(w, r, http.StatusBadRequest, "documentType: "+strconv.Quote(body.DocumentType)+" is not one of "+s.docTypeList())
			return
		}
	}
	if err := checkURL("notificationUrl", body.NotificationURL, false); err != nil {
		problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	p := &process{p: Process{Provider: body.Provider, ProcessType: body.ProcessType, DocumentType: body.DocumentType,
		NotificationURL: body.NotificationURL, AuthorizationToken: randomHex(32)}, authHeader: body.AuthorizationHeader}
	out, ok := s.addProcess(r.PathValue("dossierId"), p)
	if !ok {
		problem(w, r, http.StatusNotFound, "dossier "+r.PathValue("dossierId")+" not found")
		return
	}
	kit.WriteJSON(w, http.StatusCreated, out)
}

// addProcess adds p, pending, to the dossier and answers it as create process does.
func (s *Sim) addProcess(dossierID string, p *process) (Process, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dossiers[dossierID]
	if !ok {
		return Process{}, false
	}
	s.addProcessLocked(d, p)
	out := p.view()
	out.AuthorizationToken = p.p.AuthorizationToken
	return out, true
}

func (s *Sim) addProcessLocked(d *dossier, p *process) {
	now := stampNow()
	p.p.ProcessID, p.p.DossierID, p.p.Status = newID(), d.d.DossierID, StatusPending
	p.p.CreatedAt, p.p.UpdatedAt = now, now
	p.images = map[string]image{}
	d.procs = append(d.procs, p)
	d.d.UpdatedAt = now
	s.procs[p.p.ProcessID] = p
	s.stats.ProcessesCreated++
}

func (s *Sim) docTypeList() string {
	var names []string
	for _, dt := range s.opts.DocumentTypes {
		names = append(names, dt.DocumentType)
	}
	return strings.Join(names, ", ")
}

// checkURL checks an absolute http(s) URL; empty is fine unless required.
func checkURL(field, v string, required bool) error {
	if v == "" {
		if required {
			return errors.New(field + ": is required")
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New(field + ": " + strconv.Quote(v) + " is not an absolute http or https URL")
	}
	return nil
}

// withProcess finds the process of the path, in its dossier, and runs f on it with mu held.
func (s *Sim) withProcess(w http.ResponseWriter, r *http.Request, f func(d *dossier, p *process)) {
	dossierID, processID := r.PathValue("dossierId"), r.PathValue("processId")
	s.mu.Lock()
	d, dok := s.dossiers[dossierID]
	p, pok := s.procs[processID]
	if dok && pok && p.p.DossierID == dossierID {
		f(d, p)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if !dok {
		problem(w, r, http.StatusNotFound, "dossier "+dossierID+" not found")
	} else {
		problem(w, r, http.StatusNotFound, "process "+processID+" not found in dossier "+dossierID)
	}
}

func (s *Sim) getProcess(w http.ResponseWriter, r *http.Request) {
	var out Process
	found := false
	s.withProcess(w, r, func(_ *dossier, p *process) { out, found = p.view(), true })
	if found {
		kit.WriteJSON(w, http.StatusOK, out)
	}
}

func (s *Sim) deleteProcess(w http.ResponseWriter, r *http.Request) {
	found := false
	s.withProcess(w, r, func(d *dossier, p *process) {
		found = true
		d.procs = slices.DeleteFunc(d.procs, func(x *process) bool { return x == p })
		d.d.UpdatedAt = stampNow()
		s.forgetLocked(p)
	})
	if found {
		w.WriteHeader(http.StatusNoContent)
	}
}

// Images.

var imageKinds = []string{"front", "back", "selfie"}

var magic = map[string][]byte{
	"image/png":  []byte("\x89PNG\r\n\x1a\n"),
	"image/jpeg": {0xff, 0xd8, 0xff},
}

func (s *Sim) setImages(w http.ResponseWriter, r *http.Request) {
	var body imagesBody
	limit := int64(3*(s.opts.MaxImageBytes/3*4+1024) + 64<<10)
	if err := readJSON(w, r, &body, limit); err != nil {
		status := http.StatusBadRequest
		if strings.HasPrefix(err.Error(), "the body is larger") {
			status = http.StatusRequestEntityTooLarge
		}
		problem(w, r, status, err.Error())
		return
	}
	given := map[string]string{"front": body.Front, "back": body.Back, "selfie": body.Selfie}
	images := map[string]image{}
	for _, kind := range imageKinds {
		if given[kind] == "" {
			continue
		}
		im, err := parseDataURL(kind, given[kind], s.opts.MaxImageBytes)
		if err != nil {
			problem(w, r, http.StatusBadRequest, err.Error())
			return
		}
		images[kind] = im
	}
	if len(images) == 0 {
		problem(w, r, http.StatusBadRequest, "front, back, selfie: at least one image is required")
		return
	}
	var out Process
	var status int
	var detail string
	s.withProcess(w, r, func(_ *dossier, p *process) {
		switch {
		case p.p.Status != StatusPending:
			status, detail = http.StatusConflict, "process is "+string(p.p.Status)+": images can only be set while it is pending"
			return
		case p.p.DocumentType == "":
			status, detail = http.StatusBadRequest, "documentType: the process was created without one; images can only be uploaded to a process created with a documentType"
			return
		}
		for k, im := range images {
			p.images[k] = im
		}
		p.p.UpdatedAt = stampNow()
		out, status = p.view(), http.StatusOK
	})
	switch {
	case status == http.StatusOK:
		kit.WriteJSON(w, status, out)
	case status != 0:
		problem(w, r, status, detail)
	}
}

// parseDataURL reads a PNG or JPEG data URL: data:image/png;base64,....
func parseDataURL(field, v string, maxBytes int) (image, error) {
	rest, ok := strings.CutPrefix(v, "data:")
	if !ok {
		return image{}, errors.New(field + ": is not a data URL (want data:image/png;base64,... or data:image/jpeg;base64,...)")
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return image{}, errors.New(field + ": the data URL has no comma before its data")
	}
	params := strings.Split(meta, ";")
	mt := strings.ToLower(strings.TrimSpace(params[0]))
	if _, ok := magic[mt]; !ok {
		return image{}, errors.New(field + ": media type " + strconv.Quote(params[0]) + " is not image/png or image/jpeg")
	}
	if !strings.EqualFold(strings.TrimSpace(params[len(params)-1]), "base64") {
		return image{}, errors.New(field + ": the data URL must be base64-encoded (;base64,)")
	}
	if base64.StdEncoding.DecodedLen(len(data)) > maxBytes+3 {
		return image{}, fmt.Errorf("%s: the image is more than the %d bytes allowed", field, maxBytes)
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		if b2, err2 := base64.RawStdEncoding.DecodeString(data); err2 == nil {
			b, err = b2, nil
		}
	}
	if err != nil {
		return image{}, fmt.Errorf("%s: the data is not valid base64: %v", field, err)
	}
	if len(b) > maxBytes {
		return image{}, fmt.Errorf("%s: the image is %d bytes, more than the %d allowed", field, len(b), maxBytes)
	}
	if !bytes.HasPrefix(b, magic[mt]) {
		return image{}, errors.New(field + ": the data is not a " + strings.ToUpper(strings.TrimPrefix(mt, "image/")) + " image")
	}
	return image{mediaType: mt, data: b}, nil
}

func (s *Sim) getImage(w http.ResponseWriter, r *http.Request) {
	kind := r.PathValue("kind")
	if !slices.Contains(imageKinds, kind) && kind != "portrait" {
		problem(w, r, http.StatusNotFound, "kind: "+strconv.Quote(kind)+" is not front, back, selfie or portrait")
		return
	}
	var im image
	var found, has bool
	s.withProcess(w, r, func(_ *dossier, p *process) {
		found = true
		im, has = p.images[kind]
	})
	switch {
	case !found:
	case !has:
		problem(w, r, http.StatusNotFound, "the process has no "+kind+" image")
	default:
		w.Header().Set("Content-Type", im.mediaType)
		w.Header().Set("Content-Length", strconv.Itoa(len(im.data)))
		w.Write(im.data)
	}
}

// Verification.

func (s *Sim) verify(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
	var out Process
	var status int
	var detail string
	s.withProcess(w, r, func(d *dossier, p *process) {
		if p.p.Status != StatusPending {
			status, detail = http.StatusConflict, "process is "+string(p.p.Status)+": verification can only be started while it is pending"
			return
		}
		var missing []string
		for _, kind := range []string{"front", "selfie"} {
			if _, ok := p.images[kind]; !ok {
				missing = append(missing, kind)
			}
		}
		if dt, ok := s.docTypes[p.p.DocumentType]; ok && dt.TwoSided {
			if _, ok := p.images["back"]; !ok {
				missing = append(missing, "back")
			}
		}
		if len(missing) > 0 {
			status = http.StatusBadRequest
			detail = strings.Join(missing, ", ") + ": missing; front and selfie are needed"
			if p.p.DocumentType != "" && s.docTypes[p.p.DocumentType].TwoSided {
				detail += ", and back for a two-sided " + p.p.DocumentType
			}
			return
		}
		now := stampNow()
		p.p.Status, p.p.UpdatedAt, d.d.UpdatedAt = StatusProcessing, now, now
		out, status = p.view(), http.StatusOK
	})
	switch {
	case status == http.StatusOK:
		kit.WriteJSON(w, status, out)
	case status != 0:
		problem(w, r, status, detail)
	}
}

// The result zip.

func (s *Sim) download(w http.ResponseWriter, r *http.Request) {
	var out Process
	var images map[string]image
	var found bool
	s.withProcess(w, r, func(_ *dossier, p *process) {
		found = true
		out = p.view()
		images = make(map[string]image, len(p.images))
		for k, im := range p.images {
			images[k] = im
		}
		if out.Status.Final() {
			s.stats.Downloads++
		}
	})
	switch {
	case !found:
		return
	case !out.Status.Final():
		problem(w, r, http.StatusConflict, "process is not finished (it is "+string(out.Status)+")")
		return
	}
	b, err := resultZip(out, images)
	if err != nil {
		problem(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	s.mu.Lock()
	s.served[out.ProcessID] = b
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+out.ProcessID+`.zip"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// resultZip is the zip of a final process: result.json (the process as GET answers it) and its images.
// Its bytes depend only on the process: every entry is dated the process's last update.
func resultZip(p Process, images map[string]image) ([]byte, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	mod := p.UpdatedAt.UTC().Truncate(time.Second)
	add := func(name string, data []byte) error {
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod})
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		return err
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := add("result.json", append(js, '\n')); err != nil {
		return nil, err
	}
	for _, kind := range imageKinds {
		im, ok := images[kind]
		if !ok {
			continue
		}
		ext := ".png"
		if im.mediaType == "image/jpeg" {
			ext = ".jpg"
		}
		if err := add(kind+ext, im.data); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// The capture flow, API side.

func (s *Sim) startCapture(w http.ResponseWriter, r *http.Request) {
	var body startCaptureBody
	if err := readJSON(w, r, &body, 64<<10); err != nil {
		problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	switch {
	case len(body.Providers) == 0:
		problem(w, r, http.StatusBadRequest, "providers: at least one provider is required")
		return
	case body.Providers[0].Provider == "":
		problem(w, r, http.StatusBadRequest, "providers[0].provider: is required")
		return
	case !providerRe.MatchString(body.Providers[0].Provider):
		problem(w, r, http.StatusBadRequest, "providers[0].provider: "+strconv.Quote(body.Providers[0].Provider)+" is not a provider")
		return
	}
	for _, err := range []error{checkURL("redirectUrl", body.RedirectURL, true), checkURL("notificationUrl", body.NotificationURL, false)} {
		if err != nil {
			problem(w, r, http.StatusBadRequest, err.Error())
			return
		}
	}
	c, ok := s.newCapture(r.PathValue("dossierId"), body)
	if !ok {
		problem(w, r, http.StatusNotFound, "dossier "+r.PathValue("dossierId")+" not found")
		return
	}
	kit.WriteJSON(w, http.StatusCreated, map[string]string{"id": c.id, "url": s.baseURL(r) + "/capture/" + c.id, "processId": c.processID})
}

// newCapture creates the pending process of a capture flow.
func (s *Sim) newCapture(dossierID string, body startCaptureBody) (*capture, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dossiers[dossierID]
	if !ok {
		return nil, false
	}
	c := &capture{id: randomHex(16), dossierID: dossierID, redirectURL: body.RedirectURL}
	p := &process{p: Process{Provider: body.Providers[0].Provider, ProcessType: body.Providers[0].ProcessType,
		NotificationURL: body.NotificationURL}, authHeader: body.AuthorizationHeader, captureID: c.id}
	s.addProcessLocked(d, p)
	c.processID = p.p.ProcessID
	s.captures[c.id] = c
	s.stats.CapturesStarted++
	return c, true
}

// baseURL is where people reach the simulator: Options.PublicURL, or the request's scheme and host.
func (s *Sim) baseURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
