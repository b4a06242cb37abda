// Package credoid drives CredoID (Midpoint Security) through its REST API as an access.Connector.
//
// What is known of the API and what is inferred is in wire.go; everything the rest of SignetAssure sees is
// in access types, UTC, with CredoID's integer ids as strings. The package sim/credoidsim serves the same
// contract locally for `make run`, tests and benchmarks.
package credoid

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the default zone must load on hosts without a zone database

	"github.com/signetassure/signetassure/access"
)

// Config says where CredoID is and how to talk to it.
type Config struct {
	BaseURL  string // e.g. http://host:8090; paths are /api/...
	Username string // the operator the API acts as: its role decides what it may do [R]
	Password string
	TimeZone *time.Location // the CredoID server's zone, in which it reads and writes date-times; nil = Europe/London
	HTTP     access.HTTPOptions
}

// Client is a CredoID connector. It is safe for concurrent use.
type Client struct {
	base     string
	username string
	password string
	loc      *time.Location
	http     *http.Client
	workers  int // per-user reads in flight at once when listing; the HTTP client bounds requests anyway

	mu     sync.Mutex
	token  string
	flight *loginFlight // the login in progress, if any
}

var _ access.Connector = (*Client)(nil)

// New makes a Client; it logs in on its first call.
func New(cfg Config) *Client {
	loc := cfg.TimeZone
	if loc == nil {
		var err error
		if loc, err = time.LoadLocation("Europe/London"); err != nil {
			panic("credoid: time/tzdata lacks Europe/London: " + err.Error())
		}
	}
	workers := cfg.HTTP.MaxConcurrent
	if workers <= 0 {
		workers = 8
	}
	return &Client{
		base:     strings.TrimRight(cfg.BaseURL, "/"),
		username: cfg.Username,
		password: cfg.Password,
		loc:      loc,
		http:     access.NewHTTPClient(cfg.HTTP),
		workers:  workers,
	}
}

// System names the ACS kind.
func (c *Client) System() string { return "credoid" }

// call sends one API request with the session's bearer token and decodes a 2xx JSON answer into out (when
// out is not nil). On a 401 it logs in again, once, and repeats the request once: the server did not take
// a request it refused as unauthenticated, so repeating even a POST cannot write twice. op names the call
// in errors, e.g. "PUT /api/users/{id}". Every failure is an *access.Error.
func (c *Client) call(ctx context.Context, op, method, path string, query url.Values, in, out any) (http.Header, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, err
		}
	}
	token, err := c.bearer(ctx, "")
	if err != nil {
		return nil, err
	}
	for retried := false; ; retried = true {
		resp, data, err := c.send(ctx, method, path, query, body, token)
		if err != nil {
			return nil, access.ErrorFrom(op, nil, nil, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && !retried {
			if token, err = c.bearer(ctx, token); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode/100 != 2 {
			return nil, access.ErrorFrom(op, resp, data, nil)
		}
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return nil, &access.Error{Kind: access.KindTransient, Status: resp.StatusCode, Op: op,
					Detail: "unreadable answer: " + err.Error()}
			}
		}
		return resp.Header, nil
	}
}

// send makes one exchange (the HTTP client retries what is safe to retry) and reads the whole answer.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, token string) (*http.Response, []byte, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	bearer := ""
	if token != "" {
		bearer = "Bearer " + token
	}
	return access.Exchange(ctx, c.http, method, u, body, "Authorization", bearer)
}

// loginFlight is one login that every caller needing a token at the time waits for.
type loginFlight struct {
	done  chan struct{}
	token string
	err   error
}

// bearer returns the session's token unless it is refused (the token the server just refused, or "" when
// none was sent yet); then it returns a newer one, logging in if nobody has yet. Callers arriving while a
// login is in flight wait for it instead of starting another, so eight callers refused at once cause one
// login, and a refused password costs each call one login, not a storm. The login is detached from the
// caller's context, so one caller giving up does not fail the others; the HTTP client's timeouts bound it.
func (c *Client) bearer(ctx context.Context, refused string) (string, error) {
	c.mu.Lock()
	if c.token != "" && c.token != refused {
		t := c.token
		c.mu.Unlock()
		return t, nil
	}
	f := c.flight
	if f == nil {
		f = &loginFlight{done: make(chan struct{})}
		c.flight = f
		go func() {
			t, err := c.login(context.WithoutCancel(ctx))
			c.mu.Lock()
			if err == nil {
				c.token = t
			}
			c.flight = nil
			c.mu.Unlock()
			f.token, f.err = t, err
			close(f.done)
		}()
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.token, f.err
	case <-ctx.Done():
		return "", access.ErrorFrom(opLogin, nil, nil, ctx.Err())
	}
}

const opLogin = "POST /api/login"

// login asks for a new token. Refused credentials are ErrAuth; nothing here quotes the password or the
// token.
func (c *Client) login(ctx context.Context) (string, error) {
	body, _ := json.Marshal(LoginRequest{Username: c.username, Password: c.password})
	resp, data, err := c.send(ctx, http.MethodPost, "/api/login", nil, body, "")
	if err != nil {
		return "", access.ErrorFrom(opLogin, nil, nil, err)
	}
	if resp.StatusCode/100 != 2 {
		e := access.ErrorFrom(opLogin, resp, data, nil)
		if resp.StatusCode == http.StatusBadRequest { // [I] some servers refuse credentials with a 400
			e.Kind = access.KindAuth
		}
		return "", e
	}
	var lr LoginResponse
	if err := json.Unmarshal(data, &lr); err != nil {
		return "", &access.Error{Kind: access.KindTransient, Status: resp.StatusCode, Op: opLogin, Detail: "unreadable answer"}
	}
	token := lr.Token
	if token == "" {
		token = lr.AccessToken
	}
	if token == "" {
		return "", &access.Error{Kind: access.KindAuth, Status: resp.StatusCode, Op: opLogin, Detail: "no token in the answer"}
	}
	return token, nil
}
