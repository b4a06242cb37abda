package twiliosim

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/signetassure/signetassure/sim/kit"
)

// controlRoutes registers the control API and the page.
func (s *Sim) controlRoutes(mux *http.ServeMux) {
	kit.Inspect(mux, s.page, func() any { return s.Stats() }, func() any { return s.Faults() })
	mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		kit.WriteJSON(w, http.StatusOK, s.State(limit))
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
		kit.WriteJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&f); err != nil {
			controlError(w, http.StatusBadRequest, "faults: "+err.Error())
			return
		}
		s.SetFaults(f)
		kit.WriteJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /sim/reset", kit.ResetHandler(s.Reset))
	mux.HandleFunc("POST /sim/reply", func(w http.ResponseWriter, r *http.Request) {
		var rp Reply
		form := kit.IsForm(r)
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
			kit.BackToPage(w, "../")
		default:
			kit.WriteJSON(w, http.StatusOK, in)
		}
	})
}

func controlError(w http.ResponseWriter, status int, msg string) {
	kit.WriteJSON(w, status, map[string]string{"error": msg})
}
