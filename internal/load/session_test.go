package load_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/uuid"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// The steps of a simulated case worker, in order and over again: the work queue, a new person, a case
// opened for them (and the same request again on another API, as the console retries after a lost
// answer, with the same Idempotency-Key), the case page, then the case assigned to themselves, a note and
// a request for information.
const (
	stepQueue = iota
	stepPerson
	stepOpen
	stepRetry
	stepCase
	stepAssign
	stepNote
	stepInform
	steps
)

// session is one simulated case worker. Its targeter makes its next request; its transport (checked)
// reads the answer before the targeter is called again (one vegeta worker per session), so a session
// is never used by two goroutines at once.
type session struct {
	n      int // the session's number
	me     staff
	apis   []string
	sent   int // requests made: each goes to the next API
	step   int
	round  int
	person string
	// the case opened this round: its reference, the API and key it was opened with, its body
	caseRef string
	openAPI int
	openKey string
	open    map[string]any
	// opened are the cases opened (answered 201, or 202 when no worker took the case up in time), each once
	opened *sync.Map
}

// targeter makes the session's next request.
func (s *session) targeter(tgt *vegeta.Target) error {
	api := s.sent % len(s.apis)
	s.sent++
	base, tok := s.apis[api], s.me.token
	switch s.step {
	case stepQueue:
		*tgt = target(base, tok, http.MethodGet, "/api/v1/cases", "/api/v1/cases?queue=open&limit=25", http.StatusOK, nil, "")
	case stepPerson:
		*tgt = target(base, tok, http.MethodPost, "/api/v1/persons", "/api/v1/persons", http.StatusCreated, map[string]any{
			"firstName": "Load", "lastName": fmt.Sprintf("Worker%dRound%d", s.n, s.round), "dateOfBirth": "1980-01-02",
		}, uuid.NewString())
	case stepOpen:
		s.openAPI, s.openKey = api, uuid.NewString()
		s.open = map[string]any{"personId": s.person, "type": "new", "level": "SC"}
		*tgt = target(base, tok, http.MethodPost, "/api/v1/cases", "/api/v1/cases", http.StatusCreated, s.open, s.openKey)
	case stepRetry:
		base = s.apis[(s.openAPI+1)%len(s.apis)]
		*tgt = target(base, tok, http.MethodPost, "/api/v1/cases (retry)", "/api/v1/cases", http.StatusCreated, s.open, s.openKey)
	case stepCase:
		*tgt = target(base, tok, http.MethodGet, "/api/v1/cases/:caseRef", "/api/v1/cases/"+s.caseRef, http.StatusOK, nil, "")
	case stepAssign:
		*tgt = target(base, tok, http.MethodPost, "/api/v1/cases/:caseRef/owner", "/api/v1/cases/"+s.caseRef+"/owner",
			http.StatusOK, map[string]any{"ownerId": s.me.id}, uuid.NewString())
	case stepNote:
		*tgt = target(base, tok, http.MethodPost, "/api/v1/cases/:caseRef/notes", "/api/v1/cases/"+s.caseRef+"/notes",
			http.StatusOK, map[string]any{"text": "Referees contacted."}, uuid.NewString())
	case stepInform:
		*tgt = target(base, tok, http.MethodPost, "/api/v1/cases/:caseRef/information-requests",
			"/api/v1/cases/"+s.caseRef+"/information-requests", http.StatusOK, map[string]any{
				"description": "Five years of addresses", "dueDate": time.Now().UTC().AddDate(0, 0, 14).Format(time.DateOnly),
			}, uuid.NewString())
	}
	return nil
}

// answered reads an expected status's answer and moves the session on; it returns what was wrong with
// the answer ("" nothing).
func (s *session) answered(resp *http.Response, body []byte) string {
	var got struct {
		ID      string `json:"id"`
		CaseRef string `json:"caseRef"`
	}
	if err := json.Unmarshal(body, &got); err != nil && s.step != stepQueue {
		return fmt.Sprintf("answer not JSON: %v", err)
	}
	switch s.step {
	case stepPerson:
		if s.person = got.ID; s.person == "" {
			return "no person id"
		}
	case stepOpen:
		if s.caseRef = got.CaseRef; s.caseRef == "" {
			return "no caseRef"
		}
		if _, again := s.opened.LoadOrStore(s.caseRef, true); again {
			return "case " + s.caseRef + " answered to two requests"
		}
	case stepRetry:
		if got.CaseRef != s.caseRef || resp.Header.Get("Idempotent-Replayed") != "true" {
			return fmt.Sprintf("the retry answered case %s (replayed %q), want the first answer's %s",
				got.CaseRef, resp.Header.Get("Idempotent-Replayed"), s.caseRef)
		}
	}
	if s.step++; s.step == steps {
		s.step, s.round = stepQueue, s.round+1
	}
	return ""
}

// unexpected notes a case opened though not answered as expected (202: no worker took it up in time),
// and starts the session's round over.
func (s *session) unexpected(status int, body []byte) {
	var got struct {
		CaseRef string `json:"caseRef"`
	}
	if s.step == stepOpen && status == http.StatusAccepted && json.Unmarshal(body, &got) == nil && got.CaseRef != "" {
		s.opened.Store(got.CaseRef, true)
	}
	s.failed()
}

// failed starts the session's round over after an answer it did not expect, or none.
func (s *session) failed() {
	s.step, s.round = stepQueue, s.round+1
}
