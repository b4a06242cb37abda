// Package hectest is a Splunk HTTP Event Collector for tests, on loopback: it answers as Splunk documents
// (docs.json: requests and answers copied from Splunk's documentation, not from SignetAssure's types),
// checks each request against the documented format and keeps what it got, for the test to assert on.
package hectest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed docs.json
var docsJSON []byte

// Docs are Splunk's documented requests and answers.
type Docs struct {
	Endpoint      string                       `json:"endpoint"`
	Authorization string                       `json:"authorization"`
	Requests      []map[string]json.RawMessage `json:"requests"`
	Answers       map[string]struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"answers"`
}

// LoadDocs reads the documented requests and answers.
func LoadDocs(t testing.TB) Docs {
	t.Helper()
	var d Docs
	if err := json.Unmarshal(docsJSON, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// Answer names a documented answer.
const (
	Success       = "success"
	Busy          = "busy"          // 503 {"text":"Server is busy","code":9}
	InvalidToken  = "invalidToken"  // 403 {"text":"Invalid token","code":4}
	InvalidFormat = "invalidFormat" // 400 {"text":"Invalid data format","code":6}
)

// Event is a request's body read as a HEC event.
type Event struct {
	Time       float64         `json:"time"`
	Host       string          `json:"host"`
	Source     string          `json:"source"`
	SourceType string          `json:"sourcetype"`
	Event      json.RawMessage `json:"event"`
}

// Request is one request the collector got.
type Request struct {
	Header http.Header
	Body   []byte
	Event  Event
	// Authorized: the request carried "Authorization: Splunk <the collector's token>".
	Authorized bool
	// Answer is the documented answer given (InvalidToken when not Authorized).
	Answer string
}

// Collector is a simulated HEC. Its requests are checked against Splunk's documented format (a test
// error otherwise); an authorized request gets the next scripted answer (Success once none is left).
type Collector struct {
	URL string

	t     testing.TB
	docs  Docs
	token string

	mu     sync.Mutex
	script []string
	got    []Request
	seen   chan struct{}
}

// New starts a collector that takes token.
func New(t testing.TB, token string) *Collector {
	c := &Collector{t: t, docs: LoadDocs(t), token: token, seen: make(chan struct{}, 1000)}
	srv := httptest.NewServer(http.HandlerFunc(c.serve))
	t.Cleanup(srv.Close)
	c.URL = srv.URL
	return c
}

// Script sets the answers the next authorized requests get, in order.
func (c *Collector) Script(answers ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.script = answers
}

// Requests are the requests got so far.
func (c *Collector) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// Wait waits until the collector has had n requests (failing the test after 30 s) and returns them.
func (c *Collector) Wait(n int) []Request {
	c.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if got := c.Requests(); len(got) >= n {
			return got
		}
		select {
		case <-c.seen:
		case <-deadline:
			c.t.Fatalf("the collector had %d requests, want %d", len(c.Requests()), n)
		}
	}
}

// kind is a JSON value's type: number, string, object, ...
func kind(v json.RawMessage) string {
	switch b := bytes.TrimSpace(v); {
	case len(b) == 0:
		return ""
	case b[0] == '"':
		return "string"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "null"
	}
	return "number"
}

func (c *Collector) serve(w http.ResponseWriter, req *http.Request) {
	t := c.t
	body, err := io.ReadAll(req.Body)
	if err != nil {
		t.Error(err)
		return
	}
	r := Request{Header: req.Header.Clone(), Body: body}
	documented := strings.Fields(c.docs.Authorization)
	got := strings.Fields(req.Header.Get("Authorization"))
	r.Authorized = len(got) == 2 && got[0] == documented[0] && got[1] == c.token
	if req.Method != http.MethodPost || req.URL.Path != c.docs.Endpoint || req.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %s", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Errorf("body %q: %v", body, err)
	}
	// Every field is one Splunk documents, of the type its examples give it (event: the object form).
	kinds := map[string]string{}
	for _, ex := range c.docs.Requests {
		for k, v := range ex {
			if kinds[k] == "" || kind(v) == "object" {
				kinds[k] = kind(v)
			}
		}
	}
	for k, v := range fields {
		if kinds[k] == "" || kind(v) != kinds[k] {
			t.Errorf("field %q (%s): Splunk documents %q", k, v, kinds[k])
		}
	}
	if err := json.Unmarshal(body, &r.Event); err != nil {
		t.Errorf("body %q: %v", body, err)
	}
	c.mu.Lock()
	r.Answer = InvalidToken
	if r.Authorized {
		r.Answer = Success
		if len(c.script) > 0 {
			r.Answer, c.script = c.script[0], c.script[1:]
		}
	}
	c.got = append(c.got, r)
	c.mu.Unlock()
	a := c.docs.Answers[r.Answer]
	var compact bytes.Buffer // as Splunk writes it: {"text":"Success","code":0}
	if err := json.Compact(&compact, a.Body); err != nil {
		t.Error(err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.Status)
	_, _ = w.Write(compact.Bytes())
	select {
	case c.seen <- struct{}{}:
	default: // Wait looks at Requests anyway
	}
}
