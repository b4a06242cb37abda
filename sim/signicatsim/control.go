package signicatsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
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
			f, err := faultsFromForm(r)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			s.SetFaults(f)
			kit.BackToPage(w, "../")
			return
		}
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			problem(w, r, http.StatusBadRequest, err.Error())
			return
		}
		f, err := s.UpdateFaults(b)
		if err != nil {
			problem(w, r, http.StatusBadRequest, "faults: "+err.Error())
			return
		}
		kit.WriteJSON(w, http.StatusOK, f)
	})
	mux.HandleFunc("PUT /sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&f); err != nil {
			problem(w, r, http.StatusBadRequest, "faults: "+err.Error())
			return
		}
		if !f.Callbacks.valid() {
			problem(w, r, http.StatusBadRequest, "callbacks: "+strconv.Quote(string(f.Callbacks))+` is not one of "", drop, duplicate, late`)
			return
		}
		s.SetFaults(f)
		kit.WriteJSON(w, http.StatusOK, s.Faults())
	})
	mux.HandleFunc("POST /sim/reset", kit.ResetHandler(s.Reset))
	mux.HandleFunc("POST /sim/processes/{processId}/decide", s.decideEndpoint)
	mux.HandleFunc("POST /sim/try", s.try)
}

// DecideRequest is the body of POST /sim/processes/{processId}/decide.
type DecideRequest struct {
	Status      Status       `json:"status"`
	FinalResult *FinalResult `json:"finalResult,omitempty"`
	// FailReason replaces the default reason of a rejected, failed or canceled process.
	FailReason string `json:"failReason,omitempty"`
}

func (s *Sim) decideEndpoint(w http.ResponseWriter, r *http.Request) {
	var req DecideRequest
	form := kit.IsForm(r)
	if form {
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		v := func(k string) string { return strings.TrimSpace(r.PostForm.Get(k)) }
		req.Status = Status(v("status"))
		fr := FinalResult{FirstName: v("firstName"), LastName: v("lastName"), DateOfBirth: v("dateOfBirth"),
			DocumentNumber: v("documentNumber"), DocumentType: v("documentType"), DateOfExpiry: v("dateOfExpiry"),
			IssuingCountry: strings.ToUpper(v("issuingCountry")), Nationality: strings.ToUpper(v("nationality")),
			Gender: strings.ToUpper(v("gender"))}
		if fr != (FinalResult{}) && req.Status != StatusFailed && req.Status != StatusCanceled {
			req.FinalResult = &fr
		}
		req.FailReason = v("failReason")
	} else if err := readJSON(w, r, &req, 1<<20); err != nil {
		problem(w, r, http.StatusBadRequest, err.Error())
		return
	}
	err := s.decide(r.PathValue("processId"), req.Status, req.FinalResult, req.FailReason)
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrNoProcess):
		status = http.StatusNotFound
	case errors.Is(err, ErrNotFinal):
		status = http.StatusBadRequest
	case err != nil:
		status = http.StatusConflict
	}
	switch {
	case err != nil && form:
		http.Error(w, err.Error(), status)
	case err != nil:
		problem(w, r, status, err.Error())
	case form:
		kit.BackToPage(w, "../../../")
	default:
		kit.WriteJSON(w, http.StatusOK, map[string]any{"processId": r.PathValue("processId"), "decided": req.Status,
			"finalInMs": s.opts.DecisionDelay.Milliseconds()})
	}
}

// try starts a capture flow that comes back to the state page, for a person trying the simulator alone.
func (s *Sim) try(w http.ResponseWriter, r *http.Request) {
	base := s.baseURL(r)
	var id string
	d := s.newDossier()
	c, ok := s.newCapture(d.DossierID, startCaptureBody{
		Providers:   []captureProvider{{Provider: "signicatvideoid", ProcessType: "substantial"}},
		RedirectURL: base + "/"})
	if ok {
		id = c.id
	}
	http.Redirect(w, r, base+"/capture/"+id, http.StatusSeeOther)
}

// faultsFromForm reads the page's faults form: every field, the unnamed ones off.
func faultsFromForm(r *http.Request) (Faults, error) {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return Faults{}, err
	}
	num := func(k string) (int, error) {
		v := strings.TrimSpace(r.PostForm.Get(k))
		if v == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, errors.New(k + ": not a number")
		}
		return n, nil
	}
	var f Faults
	var err error
	if f.LatencyMs, err = num("latencyMs"); err != nil {
		return f, err
	}
	if f.FailNext, err = num("failNext"); err != nil {
		return f, err
	}
	if f.FailStatus, err = num("failStatus"); err != nil {
		return f, err
	}
	f.Unauthorized401Once = r.PostForm.Get("unauthorized401Once") != ""
	f.Always401 = r.PostForm.Get("always401") != ""
	f.Callbacks = CallbackMode(r.PostForm.Get("callbacks"))
	if !f.Callbacks.valid() {
		return f, errors.New("callbacks: " + strconv.Quote(string(f.Callbacks)) + ` is not one of "", drop, duplicate, late`)
	}
	return f, nil
}
