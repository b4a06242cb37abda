package credoidsim

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/signetassure/signetassure/sim/kit"
)

const routeLogin = "POST /api/login"

// routes builds the mux: the CredoID API behind the faults, the control API and the HTML page.
func (s *Sim) routes() *http.ServeMux {
	mux := http.NewServeMux()
	s.api(mux, routeLogin, false, s.login)
	s.api(mux, "GET /api/users", true, s.listUsers)
	s.api(mux, "POST /api/users", true, s.postUser)
	s.api(mux, "GET /api/users/{id}", true, s.getUser)
	s.api(mux, "PUT /api/users/{id}", true, s.putUser)
	s.api(mux, "DELETE /api/users/{id}", true, s.deleteUserAPI)
	for path, part := range map[string]func(Catalogue) any{
		"/api/access-levels":   func(c Catalogue) any { return c.Levels },
		"/api/access-profiles": func(c Catalogue) any { return c.Profiles },
		"/api/companies":       func(c Catalogue) any { return c.Companies },
		"/api/locations":       func(c Catalogue) any { return c.Locations },
	} {
		s.api(mux, "GET "+path, true, func(w http.ResponseWriter, r *http.Request) {
			kit.WriteJSON(w, http.StatusOK, part(s.Catalogue()))
		})
	}
	s.api(mux, "GET /api/events", true, s.listEvents)
	s.api(mux, "/api/", false, func(w http.ResponseWriter, r *http.Request) { s.problem(w, notFound("resource")) })
	s.control(mux)
	return mux
}

func (s *Sim) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if !s.decode(w, r, &req) {
		return
	}
	if req.Username != s.opts.Username || req.Password != s.opts.Password {
		s.problem(w, &apiError{status: http.StatusUnauthorized, title: "Invalid username or password."})
		return
	}
	token, now := rand.Text(), s.Now()
	s.ctl.Lock()
	ttl := s.tokenTTL()
	for t, issued := range s.tokens {
		if !now.Before(issued.Add(ttl)) {
			delete(s.tokens, t)
		}
	}
	s.tokens[token] = now
	s.ctl.Unlock()
	kit.WriteJSON(w, http.StatusOK, map[string]any{"token": token, "access_token": token, "expiresIn": int(ttl / time.Second)})
}

// listUsers serves GET /api/users?search=&skip=&take=: take defaults to 100 and is capped at 1000 [I].
func (s *Sim) listUsers(w http.ResponseWriter, r *http.Request) {
	q := queryReader{r: r}
	skip, take := q.int("skip", 0), min(q.int("take", 100), 1000)
	if q.bad(s, w) {
		return
	}
	page, total := s.list(r.URL.Query().Get("search"), max(skip, 0), max(take, 0), !s.Faults().SummaryList)
	w.Header().Set(totalCountHeader, strconv.Itoa(total))
	kit.WriteJSON(w, http.StatusOK, page)
}

func (s *Sim) postUser(w http.ResponseWriter, r *http.Request) {
	var rec UserRecord
	if !s.decode(w, r, &rec) {
		return
	}
	if err := s.refused(rec); err != nil {
		s.problem(w, err)
		return
	}
	copies := 1
	if s.Faults().DuplicateCreates {
		copies = 2
	}
	out, err := s.create(rec, true, copies)
	if err != nil {
		s.problem(w, err)
		return
	}
	w.Header().Set("Location", "/api/users/"+strconv.Itoa(out.ID))
	kit.WriteJSON(w, http.StatusCreated, out)
}

// refused is the RefuseEmployeeNumbers fault's answer to a record sent in, nil when it does not apply.
func (s *Sim) refused(rec UserRecord) error {
	if rec.EmployeeNumber == "" || !slices.Contains(s.Faults().RefuseEmployeeNumbers, rec.EmployeeNumber) {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.",
		fields: map[string][]string{"EmployeeNumber": {"The employee number is not accepted."}}}
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	rec, found := s.User(id)
	if !found {
		s.problem(w, notFound("user"))
		return
	}
	kit.WriteJSON(w, http.StatusOK, rec)
}

func (s *Sim) putUser(w http.ResponseWriter, r *http.Request) {
	var rec UserRecord
	id, ok := s.pathID(w, r)
	if !ok || !s.decode(w, r, &rec) {
		return
	}
	if err := s.refused(rec); err != nil {
		s.problem(w, err)
		return
	}
	out, err := s.update(id, rec)
	if err != nil {
		s.problem(w, err)
		return
	}
	kit.WriteJSON(w, http.StatusOK, out)
}

func (s *Sim) deleteUserAPI(w http.ResponseWriter, r *http.Request) {
	id, ok := s.pathID(w, r)
	if !ok {
		return
	}
	if err := s.deleteUser(id); err != nil {
		s.problem(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// listEvents serves GET /api/events?from=&to=&userId=&afterId=&take= [I]: take defaults to 100, at most
// 1000.
func (s *Sim) listEvents(w http.ResponseWriter, r *http.Request) {
	q := queryReader{r: r}
	eq := eventQuery{from: q.time(s, "from"), to: q.time(s, "to"), userID: q.int("userId", 0),
		afterID: int64(q.int("afterId", 0)), take: min(q.int("take", 100), 1000)}
	if q.bad(s, w) {
		return
	}
	kit.WriteJSON(w, http.StatusOK, s.eventPage(eq))
}

// queryReader reads query parameters and gathers what it could not read.
type queryReader struct {
	r    *http.Request
	errs map[string][]string
}

func (q *queryReader) fail(name, msg string) {
	if q.errs == nil {
		q.errs = map[string][]string{}
	}
	q.errs[name] = append(q.errs[name], msg)
}

func (q *queryReader) int(name string, def int) int {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		q.fail(name, fmt.Sprintf("The value '%s' is not valid.", v))
	}
	return n
}

func (q *queryReader) time(s *Sim, name string) time.Time {
	v := q.r.URL.Query().Get(name)
	t, err := parseWireTime(&v, s.loc)
	if err != nil {
		q.fail(name, fmt.Sprintf("The value '%s' is not valid.", v))
	}
	return t
}

// bad answers 400 when a parameter could not be read.
func (q *queryReader) bad(s *Sim, w http.ResponseWriter) bool {
	if q.errs == nil {
		return false
	}
	s.problem(w, &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.", fields: q.errs})
	return true
}

// pathID reads {id}; one that is not a number matches no route, as with ASP.NET's {id:int}: 404.
func (s *Sim) pathID(w http.ResponseWriter, r *http.Request) (int, bool) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		s.problem(w, notFound("resource"))
		return 0, false
	}
	return id, true
}

// decode reads a JSON body; what cannot be read is 400, as System.Text.Json reports it.
func (s *Sim) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v)
	if err != nil {
		s.problem(w, &apiError{status: http.StatusBadRequest, title: "One or more validation errors occurred.",
			fields: map[string][]string{"$": {err.Error()}}})
	}
	return err == nil
}

var problemTypes = map[int]string{
	400: "https://tools.ietf.org/html/rfc9110#section-15.5.1",
	401: "https://tools.ietf.org/html/rfc9110#section-15.5.2",
	403: "https://tools.ietf.org/html/rfc9110#section-15.5.4",
	404: "https://tools.ietf.org/html/rfc9110#section-15.5.5",
	409: "https://tools.ietf.org/html/rfc9110#section-15.5.10",
	429: "https://tools.ietf.org/html/rfc6585#section-4",
	500: "https://tools.ietf.org/html/rfc9110#section-15.6.1",
	503: "https://tools.ietf.org/html/rfc9110#section-15.6.4",
	504: "https://tools.ietf.org/html/rfc9110#section-15.6.5",
}

// problem answers err as ASP.NET ProblemDetails [I]; an error that is not an *apiError is a 500.
func (s *Sim) problem(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = &apiError{status: http.StatusInternalServerError, title: "An error occurred while processing your request."}
	}
	s.ctl.Lock()
	s.traceID++
	n := s.traceID
	s.ctl.Unlock()
	w.Header().Set("Content-Type", "application/problem+json; charset=utf-8")
	w.WriteHeader(e.status)
	// ASP.NET ProblemDetails {"type","title","status","traceId","errors"} [I]
	body := map[string]any{"title": e.title, "status": e.status, "traceId": fmt.Sprintf("00-%032x-%016x-00", n, n)}
	if t := problemTypes[e.status]; t != "" {
		body["type"] = t
	}
	if len(e.fields) > 0 {
		body["errors"] = e.fields
	}
	json.NewEncoder(w).Encode(body)
}
