package credoidsim

import (
	"bytes"
	"cmp"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

// Faults break the simulator on purpose; the zero value is a healthy server. They apply to /api calls
// only, POST /api/login included.
type Faults struct {
	LatencyMs int `json:"latencyMs"` // added to every call
	// FailRate is the fraction of calls that fail before the server looks at them (nothing is saved),
	// each with one of FailKinds picked at random.
	FailRate float64 `json:"failRate"`
	// FailNext makes the next so many calls fail whatever FailRate says; it counts down.
	FailNext int `json:"failNext"`
	// FailKinds: "429" (Retry-After: 1), "503" (Retry-After: 1) and "timeout" (no answer until the client
	// gives up, or TimeoutMs passes and then a 504). Empty: all three.
	FailKinds []string `json:"failKinds,omitempty"`
	TimeoutMs int      `json:"timeoutMs"` // bound on every hang; default 30000
	// TokenTTLSeconds, when > 0, replaces Options.TokenTTL, for tokens already issued too.
	TokenTTLSeconds int `json:"tokenTTLSeconds"`
	// ClockSkewSeconds sets the server's clock ahead of Options.Now (behind when negative): event times,
	// the clean-up and token expiry follow it.
	ClockSkewSeconds int `json:"clockSkewSeconds"`
	// DuplicateCreates saves every POST /api/users twice, as a server that took a retried POST would.
	DuplicateCreates bool `json:"duplicateCreates"`
	// SaveThenTimeout is the fraction of POST and PUT calls (login aside) that are saved and whose answer
	// is then held back until the client gives up (at most TimeoutMs): the write happened, the client
	// does not know.
	SaveThenTimeout float64 `json:"saveThenTimeout"`
	// SummaryList makes GET /api/users list only {id, firstName, lastName, additional1..3}, as the real
	// CredoID does [M].
	SummaryList bool `json:"summaryList"`
	// CleanupHourly runs the clean-up on the first /api call of each hour of the server's clock.
	CleanupHourly bool `json:"cleanupHourly"`
	// Forbidden lists routes the operator's role lacks, answered 403 after authentication, e.g.
	// "DELETE /api/users/{id}" (the route patterns of Stats.ByRoute).
	Forbidden []string `json:"forbidden,omitempty"`
	// RefuseEmployeeNumbers: a POST or PUT of a user carrying one of these employee numbers is refused with
	// 400 naming EmployeeNumber, as a server whose validation rejects that value would: a permanent
	// refusal for one person while everyone else's writes go through.
	RefuseEmployeeNumbers []string `json:"refuseEmployeeNumbers,omitempty"`
	// Seed, when not 0, reseeds the dice as the faults are set, so a single-threaded run repeats exactly.
	Seed uint64 `json:"seed,omitempty"`
}

var allFailKinds = []string{"429", "503", "timeout"}

// Stats count the /api calls the simulator received, failed ones included.
type Stats struct {
	Calls int `json:"calls"`
	// Writes are the POST, PUT, PATCH and DELETE calls, POST /api/login aside: it changes nothing.
	Writes  int            `json:"writes"`
	ByRoute map[string]int `json:"byRoute"` // by route pattern, e.g. "GET /api/users/{id}"
}

// SetFaults replaces the faults.
func (s *Sim) SetFaults(f Faults) {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	f.FailKinds, f.Forbidden = slices.Clone(f.FailKinds), slices.Clone(f.Forbidden)
	f.RefuseEmployeeNumbers = slices.Clone(f.RefuseEmployeeNumbers)
	s.faults = f
	if f.Seed != 0 {
		s.rng = rand.New(rand.NewPCG(f.Seed, f.Seed))
	}
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	f := s.faults
	f.FailKinds, f.Forbidden = slices.Clone(f.FailKinds), slices.Clone(f.Forbidden)
	f.RefuseEmployeeNumbers = slices.Clone(f.RefuseEmployeeNumbers)
	return f
}

// Stats returns the call counts since the start or the last ResetStats.
func (s *Sim) Stats() Stats {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	st := s.stats
	st.ByRoute = maps.Clone(st.ByRoute)
	return st
}

// ResetStats sets the counts to zero.
func (s *Sim) ResetStats() {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.stats = Stats{ByRoute: map[string]int{}}
}

// verdict is what the faults decide for one call.
type verdict struct {
	latency, hang   time.Duration
	fail            string // "", or one of allFailKinds
	saveThenTimeout bool
	forbidden       bool
	cleanupHourly   bool
}

// roll counts a call and throws the dice for it.
func (s *Sim) roll(route, method string) verdict {
	write := method != http.MethodGet && method != http.MethodHead && route != routeLogin
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.stats.Calls++
	if write {
		s.stats.Writes++
	}
	s.stats.ByRoute[route]++

	f := &s.faults
	v := verdict{
		latency:       time.Duration(f.LatencyMs) * time.Millisecond,
		hang:          time.Duration(cmp.Or(f.TimeoutMs, 30_000)) * time.Millisecond,
		forbidden:     slices.Contains(f.Forbidden, route),
		cleanupHourly: f.CleanupHourly,
	}
	switch {
	case f.FailNext > 0:
		f.FailNext--
		v.fail = s.failKind()
	case f.FailRate > 0 && s.rng.Float64() < f.FailRate:
		v.fail = s.failKind()
	case write && (method == http.MethodPost || method == http.MethodPut) && f.SaveThenTimeout > 0:
		v.saveThenTimeout = s.rng.Float64() < f.SaveThenTimeout
	}
	return v
}

func (s *Sim) failKind() string {
	kinds := s.faults.FailKinds
	if len(kinds) == 0 {
		kinds = allFailKinds
	}
	return kinds[s.rng.IntN(len(kinds))]
}

// api registers an /api route behind the faults and, when auth, the bearer-token check.
func (s *Sim) api(mux *http.ServeMux, route string, auth bool, h http.HandlerFunc) {
	mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		v := s.roll(route, r.Method)
		if v.cleanupHourly {
			s.hourly(s.Now())
		}
		if !kit.Sleep(r.Context(), v.latency) {
			return
		}
		switch v.fail {
		case "429":
			w.Header().Set("Retry-After", "1")
			s.problem(w, &apiError{status: http.StatusTooManyRequests, title: "Too many requests."})
			return
		case "503":
			w.Header().Set("Retry-After", "1")
			s.problem(w, &apiError{status: http.StatusServiceUnavailable, title: "The service is unavailable."})
			return
		case "timeout":
			hang(r, v.hang)
			s.problem(w, &apiError{status: http.StatusGatewayTimeout, title: "The server did not answer in time."})
			return
		}
		if auth && !s.authorised(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			s.problem(w, &apiError{status: http.StatusUnauthorized, title: "Unauthorized"})
			return
		}
		if v.forbidden {
			s.problem(w, &apiError{status: http.StatusForbidden, title: "The operator has no permission for this."})
			return
		}
		if !v.saveThenTimeout {
			h(w, r)
			return
		}
		var b heldResponse
		h(&b, r)
		if b.status/100 == 2 {
			hang(r, v.hang)
		}
		b.sendTo(w)
	})
}

// hang holds the answer back until the client gives up, at most d. The request body is read to its end
// first: only then does net/http watch the connection and end the context when the client leaves.
func hang(r *http.Request, d time.Duration) {
	io.Copy(io.Discard, r.Body)
	kit.Sleep(r.Context(), d)
}

// heldResponse keeps an answer back to send it later.
type heldResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *heldResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}

func (b *heldResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *heldResponse) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	return b.body.Write(p)
}

func (b *heldResponse) sendTo(w http.ResponseWriter) {
	maps.Copy(w.Header(), b.header)
	w.WriteHeader(cmp.Or(b.status, http.StatusOK))
	w.Write(b.body.Bytes())
}

// authorised checks the bearer token: known, and not expired on the server's clock.
func (s *Sim) authorised(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		return false
	}
	now := s.Now()
	s.ctl.Lock()
	defer s.ctl.Unlock()
	issued, ok := s.tokens[token]
	return ok && now.Before(issued.Add(s.tokenTTL()))
}

// tokenTTL is how long a token lasts. Called with ctl held.
func (s *Sim) tokenTTL() time.Duration {
	if s.faults.TokenTTLSeconds > 0 {
		return time.Duration(s.faults.TokenTTLSeconds) * time.Second
	}
	return s.opts.TokenTTL
}
