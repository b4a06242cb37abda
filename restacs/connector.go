// Package restacs drives any REST access control system from a configuration: where a cardholder's fields
// sit in the ACS's JSON, how lists page, how access levels are written (one PATCH with the difference, or a
// PUT of the whole set), how times are written, and where events come from. examples/ holds working
// configurations for a Gallagher-shaped and an Openpath-shaped API; README.md documents every key.
//
// The connector is idempotent the way credoid.md asks of every connector: it never retries a POST the ACS
// may have saved (access.NewHTTPClient sees to that), FindUsers matches the external id exactly, and
// SetAccess reads the record afresh and writes only the difference, or the whole set.
package restacs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zones work where the host has no zoneinfo (containers)

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/signetassure/signetassure/access"
)

// Connector drives one ACS as its Config describes. It is safe for concurrent use.
type Connector struct {
	cfg     Config
	secrets func(name string) string
	hc      *http.Client
	base    *url.URL       // baseURL with its secrets filled in
	baseURL string         // the same as text without a trailing "/": ${baseURL} in templates
	loc     *time.Location // time.zone
	hook    *standardwebhooks.Webhook

	mu    sync.Mutex // guards token and serialises logins
	token string
}

var (
	_ access.Connector       = (*Connector)(nil)
	_ access.WebhookReceiver = (*Connector)(nil)
)

// New makes a connector. secrets answers the ${NAME}s of the configuration and the webhook secret's name
// (e.g. os.Getenv); a name it answers "" for is an error here rather than a refused call later.
func New(cfg Config, secrets func(name string) string, o access.HTTPOptions) (*Connector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if secrets == nil {
		secrets = func(string) string { return "" }
	}
	c := &Connector{cfg: cfg, secrets: secrets}

	var missing []error
	for key, t := range cfg.secretTemplates() {
		for _, name := range names(t) {
			if name != "token" && secrets(name) == "" {
				missing = append(missing, fmt.Errorf("%s: secret %s is not set", key, name))
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w:\n%w", errConfigProblems, errors.Join(missing...))
	}

	base, _ := expand(cfg.BaseURL, c.secretVars(""))
	if err := checkBaseURL(base); err != nil {
		return nil, fmt.Errorf("%w: baseURL: %v", errConfigProblems, err)
	}
	c.baseURL = strings.TrimRight(base, "/")
	c.base, _ = url.Parse(c.baseURL)
	c.loc, _ = time.LoadLocation(cfg.Time.Zone)

	if w := cfg.Webhook; w != nil {
		secret := secrets(w.Secret)
		if secret == "" {
			return nil, fmt.Errorf("%w: webhook.secret: secret %s is not set", errConfigProblems, w.Secret)
		}
		hook, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return nil, fmt.Errorf("%w: webhook.secret: %s is not a \"whsec_<base64>\" secret", errConfigProblems, w.Secret)
		}
		c.hook = hook
	}

	hc := *access.NewHTTPClient(o)
	// Never follow a redirect: the auth header would go wherever the ACS points.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.hc = &hc
	return c, nil
}

// System names the ACS kind, from the configuration.
func (c *Connector) System() string { return c.cfg.System }

// secretTemplates are the configuration's texts in which ${NAME} names a secret, by key.
func (cfg *Config) secretTemplates() map[string]any {
	m := map[string]any{"baseURL": cfg.BaseURL, "auth.value": cfg.Auth.Value}
	if l := cfg.Auth.Login; l != nil {
		m["auth.login.request"], m["auth.login.body"] = l.Request, l.Body
	}
	add := func(key, r string) {
		if r != "" {
			m[key] = r
		}
	}
	u := cfg.Users
	add("users.list", u.List)
	add("users.get", u.Get)
	add("users.create.request", u.Create.Request)
	add("users.update.request", u.Update.Request)
	add("users.delete", u.Delete)
	add("access.read.request", cfg.Access.Read.Request)
	if p := cfg.Access.Patch; p != nil {
		add("access.patch.request", p.Request)
	}
	if p := cfg.Access.Put; p != nil {
		add("access.put.request", p.Request)
	}
	add("catalogue.levels.list", cfg.Catalogue.Levels.List)
	for key, col := range map[string]*Collection{"catalogue.profiles.list": cfg.Catalogue.Profiles,
		"catalogue.companies.list": cfg.Catalogue.Companies, "catalogue.locations.list": cfg.Catalogue.Locations} {
		if col != nil {
			add(key, col.List)
		}
	}
	add("events.list", cfg.Events.List)
	return m
}

// secretVars answers ${token} with token and every other name through secrets.
func (c *Connector) secretVars(token string) vars {
	return func(name string) (any, bool) {
		if name == "token" {
			return token, token != ""
		}
		v := c.secrets(name)
		return v, v != ""
	}
}

// url builds the address of a configured request: {id} filled in, its fixed query plus extra.
func (c *Connector) url(r request, id string, extra url.Values) (*url.URL, error) {
	path, err := expand(r.path, func(name string) (any, bool) {
		v := c.secrets(name)
		return url.PathEscape(v), v != ""
	})
	if err != nil {
		return nil, err
	}
	path = strings.ReplaceAll(path, "{id}", url.PathEscape(id))
	q := url.Values{}
	for k, v := range r.query {
		q[k] = append([]string(nil), v...)
	}
	for k, v := range extra {
		q[k] = v
	}
	s := c.baseURL + path
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return url.Parse(s)
}

// resolve turns a link the ACS gave (absolute or relative) into an address, refusing any other server: the
// auth header must go to the ACS only.
func (c *Connector) resolve(link string) (*url.URL, error) {
	u, err := c.base.Parse(link)
	if err != nil {
		return nil, fmt.Errorf("restacs: link %q: %v", link, err)
	}
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("restacs: link %q leaves %s", link, c.base.Host)
	}
	return u, nil
}

// call makes a configured request ("PATCH /api/cardholders/{id}") and decodes its JSON answer. The request
// as configured names the call in errors, so they carry neither ids nor secrets.
func (c *Connector) call(ctx context.Context, req, id string, extra url.Values, body any) (any, http.Header, error) {
	r, err := parseRequest(req)
	if err != nil {
		return nil, nil, err
	}
	u, err := c.url(r, id, extra)
	if err != nil {
		return nil, nil, fmt.Errorf("restacs: %s: %v", req, err)
	}
	return c.send(ctx, req, r.method, u, body)
}

// send makes one call through the shared HTTP client (which retries what is safe to retry) and, when the
// configuration logs in, logs in again once on 401.
func (c *Connector) send(ctx context.Context, op, method string, u *url.URL, body any) (any, http.Header, error) {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return nil, nil, fmt.Errorf("restacs: %s: encoding the body: %v", op, err)
		}
	}
	for attempt := 0; ; attempt++ {
		header, token, err := c.authHeader(ctx)
		if err != nil {
			return nil, nil, err
		}
		resp, data, err := c.exchange(ctx, method, u, payload, header)
		if err != nil {
			return nil, nil, access.ErrorFrom(op, nil, nil, err)
		}
		if resp.StatusCode == http.StatusUnauthorized && c.cfg.Auth.Login != nil && attempt == 0 {
			c.forgetToken(token)
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return nil, resp.Header, c.errorFrom(op, resp, data)
		}
		doc, err := decode(data)
		if err != nil {
			return nil, resp.Header, fmt.Errorf("restacs: %s: the answer is not JSON: %v", op, err)
		}
		return doc, resp.Header, nil
	}
}

// exchange sends one request and reads its answer.
func (c *Connector) exchange(ctx context.Context, method string, u *url.URL, payload []byte, auth string) (*http.Response, []byte, error) {
	return access.Exchange(ctx, c.hc, method, u.String(), payload, c.authHeaderName(), auth)
}

// errorFrom is access.ErrorFrom, with the ACS's own message when errorMessage says where it is. A redirect
// (never followed) is a configuration problem, not something to retry.
func (c *Connector) errorFrom(op string, resp *http.Response, data []byte) error {
	e := access.ErrorFrom(op, resp, data, nil)
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		e.Kind, e.Detail = access.KindForbidden, "the ACS redirects; check baseURL"
		return e
	}
	if c.cfg.ErrorMessage != "" {
		if doc, err := decode(data); err == nil {
			if m := text(get(doc, c.cfg.ErrorMessage)); m != "" {
				e.Detail = m
			}
		}
	}
	return e
}

// decode reads JSON keeping numbers as written (an id like 12345678901234567890 stays exact); an empty
// answer is nil.
func decode(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func (c *Connector) authHeaderName() string {
	if c.cfg.Auth.Header != "" {
		return c.cfg.Auth.Header
	}
	return "Authorization"
}

// authHeader is the auth header's value and the token it carries, logging in first when there is none.
func (c *Connector) authHeader(ctx context.Context) (value, token string, err error) {
	tmpl := c.cfg.Auth.Value
	if c.cfg.Auth.Login != nil {
		if tmpl == "" {
			tmpl = "Bearer ${token}"
		}
		c.mu.Lock()
		if c.token == "" {
			c.token, err = c.login(ctx)
		}
		token = c.token
		c.mu.Unlock()
		if err != nil {
			return "", "", err
		}
	}
	value, err = expand(tmpl, c.secretVars(token))
	return value, token, err
}

// forgetToken drops a token the ACS refused, unless another call has already replaced it.
func (c *Connector) forgetToken(token string) {
	c.mu.Lock()
	if c.token == token {
		c.token = ""
	}
	c.mu.Unlock()
}

// login asks for a token.
func (c *Connector) login(ctx context.Context) (string, error) {
	l := c.cfg.Auth.Login
	r, _ := parseRequest(l.Request)
	u, err := c.url(r, "", nil)
	if err != nil {
		return "", err
	}
	body, err := render(l.Body, c.secretVars(""))
	if err != nil {
		return "", fmt.Errorf("restacs: auth.login.body: %v", err)
	}
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	resp, data, err := c.exchange(ctx, r.method, u, payload, "")
	if err != nil {
		return "", access.ErrorFrom(l.Request, nil, nil, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", c.errorFrom(l.Request, resp, data)
	}
	doc, _ := decode(data)
	for _, path := range strings.Split(l.Token, "|") {
		if t := text(get(doc, strings.TrimSpace(path))); t != "" {
			return t, nil
		}
	}
	return "", &access.Error{Kind: access.KindAuth, Status: resp.StatusCode, Op: l.Request, Detail: "the answer carries no token at " + l.Token}
}
