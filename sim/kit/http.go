package kit

import (
	"context"
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"time"
)

// WriteJSON answers status with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// IsForm reports whether the request is an HTML form's (a simulator's page posts forms; tests and
// scripts post JSON).
func IsForm(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
}

// BackToPage answers a form with the page, by a relative path (such as "../" from /sim/reset), so a
// prefix the simulator is mounted under is kept.
func BackToPage(w http.ResponseWriter, rel string) {
	w.Header().Set("Location", rel)
	w.WriteHeader(http.StatusSeeOther)
}

// PageFuncs are the template functions the simulators' pages share: clock shows a time in UTC to the
// second, or nothing for the zero time.
var PageFuncs = template.FuncMap{
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
}

// Sleep waits d or until ctx ends, and says whether it waited all of d. It is how an injected latency
// waits without outliving the request or the simulator.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SleepRequest waits d, or until the client leaves or the simulator (whose context is closing) closes,
// and says whether it waited all of d.
func SleepRequest(r *http.Request, closing context.Context, d time.Duration) bool {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(closing, cancel)()
	return Sleep(ctx, d)
}

// WebhookClient is the client a simulator posts its webhooks with: the one given, or else one of its own
// sized for workers concurrent posts. release closes the idle connections of a client of its own.
func WebhookClient(given *http.Client, workers int) (c *http.Client, release func()) {
	if given != nil {
		return given, func() {}
	}
	t := &http.Transport{MaxIdleConns: 2 * workers, MaxIdleConnsPerHost: 2 * workers, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: t}, t.CloseIdleConnections
}

// Inspect registers the read-only part of a simulator's control API, alike in every simulator: its page
// at / and /sim, and GET /sim/stats and GET /sim/faults answering stats() and faults() as JSON.
func Inspect(mux *http.ServeMux, page http.HandlerFunc, stats, faults func() any) {
	mux.HandleFunc("GET /{$}", page)
	mux.HandleFunc("GET /sim", page)
	mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, http.StatusOK, stats()) })
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, r *http.Request) { WriteJSON(w, http.StatusOK, faults()) })
}

// ResetHandler serves POST /sim/reset: reset, then back to the page for the page's form, {"reset":true}
// for anyone else.
func ResetHandler(reset func()) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		reset()
		if IsForm(r) {
			BackToPage(w, "../")
			return
		}
		WriteJSON(w, http.StatusOK, map[string]bool{"reset": true})
	}
}
