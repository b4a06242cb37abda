package twiliosim

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
)

// controlRoutes registers the control API and the page.
func (s *Sim) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.page)
	mux.HandleFunc("GET /sim", s.page)
	mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		writeJSON(w, http.StatusOK, s.State(limit))
	})
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		f, err := s.UpdateFaults(b)
		if err != nil {
			controlError(w, http.StatusBadRequest, "faults: "+err.Error())
			return
		}
		writeJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&f); err != nil {
			controlError(w, http.StatusBadRequest, "faults: "+err.Error())
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /sim/reset", func(w http.ResponseWriter, r *http.Request) {
		s.Reset()
		if isForm(r) {
			backToPage(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
	})
	mux.HandleFunc("POST /sim/reply", func(w http.ResponseWriter, r *http.Request) {
		var rp Reply
		form := isForm(r)
		if form {
			rp = Reply{From: r.PostFormValue("from"), To: r.PostFormValue("to"), Body: r.PostFormValue("body"),
				Channel: r.PostFormValue("channel"), ProfileName: r.PostFormValue("profileName")}
		} else if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&rp); err != nil {
			controlError(w, http.StatusBadRequest, "reply: "+err.Error())
			return
		}
		in, err := s.Reply(r.Context(), rp)
		switch {
		case err != nil:
			controlError(w, http.StatusBadRequest, err.Error())
		case form:
			backToPage(w)
		default:
			writeJSON(w, http.StatusOK, in)
		}
	})
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// isForm reports whether the request is an HTML form's.
func isForm(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
}

// backToPage answers a form with the page, relative to /sim/... so a prefix the simulator is mounted
// under is kept.
func backToPage(w http.ResponseWriter) {
	w.Header().Set("Location", "../")
	w.WriteHeader(http.StatusSeeOther)
}
