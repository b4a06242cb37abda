package entrasim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/signetassure/signetassure/sim/kit"
)

// controlRoutes registers the control API and the page.
func (s *Sim) controlRoutes(mux *http.ServeMux) {
	kit.Inspect(mux, s.page, func() any { return s.Stats() }, func() any { return s.Faults() })
	mux.HandleFunc("GET /sim/state", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.State())
	})
	mux.HandleFunc("POST /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		if kit.IsForm(r) {
			r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
			if err := r.ParseForm(); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f := Faults{NextIDToken: r.PostForm.Get("nextIdToken"), TokenDown: r.PostForm.Get("tokenDown") != "",
				KeysDown: r.PostForm.Get("keysDown") != "", GraphDown: r.PostForm.Get("graphDown") != ""}
			if err := validSpoil(f.NextIDToken); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			s.SetFaults(f)
			kit.BackToPage(w, "../")
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			controlError(w, err)
			return
		}
		f, err := s.UpdateFaults(b)
		if err != nil {
			controlError(w, err)
			return
		}
		kit.WriteJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&f); err != nil {
			controlError(w, err)
			return
		}
		if err := validSpoil(f.NextIDToken); err != nil {
			controlError(w, err)
			return
		}
		s.SetFaults(f)
		kit.WriteJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /sim/rollover", func(w http.ResponseWriter, r *http.Request) {
		kid := s.Rollover()
		if kit.IsForm(r) {
			kit.BackToPage(w, "../")
			return
		}
		kit.WriteJSON(w, http.StatusOK, map[string]string{"kid": kid})
	})
	mux.HandleFunc("POST /sim/reset", kit.ResetHandler(s.Reset))
}

// UpdateFaults changes the faults that the JSON object names, leaving the others as they are.
func (s *Sim) UpdateFaults(patch []byte) (Faults, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	if err := json.Unmarshal(patch, &f); err != nil {
		return s.faults, err
	}
	if err := validSpoil(f.NextIDToken); err != nil {
		return s.faults, err
	}
	s.faults = f
	return f, nil
}

func validSpoil(v string) error {
	if slices.Contains(Spoils, v) {
		return nil
	}
	return errors.New("nextIdToken: " + strconv.Quote(v) + " is not one of " + strings.Join(Spoils[1:], ", ") + ` or ""`)
}

func controlError(w http.ResponseWriter, err error) {
	kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
}
