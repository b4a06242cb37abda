package restacs

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Config describes one ACS's REST API: where it is, how to sign in, where each field of a cardholder sits,
// how access is written, and where the reference data and events are. README.md documents every key. The
// keys are the json tags (goccy/go-yaml reads them too), so a configuration is YAML or JSON alike.
//
// Requests are written "METHOD /path?fixed=query", e.g. "PATCH /api/cardholders/{id}": {id} is the ACS's
// id of the record, and ${NAME} in the path, in baseURL and in auth is read through the secrets function
// given to New (a credential is named, never written in the configuration).
type Config struct {
	System       string          `json:"system,omitempty"`  // names the ACS kind, e.g. "gallagher"
	BaseURL      string          `json:"baseURL,omitempty"` // e.g. "https://cc.example:8904" or "${GALLAGHER_URL}"
	Auth         Auth            `json:"auth,omitempty"`
	Time         Times           `json:"time,omitempty"`
	ErrorMessage string          `json:"errorMessage,omitempty"` // path of the ACS's message in an error answer, e.g. "message"
	Users        Users           `json:"users,omitempty"`
	Access       AccessConfig    `json:"access,omitempty"`
	Catalogue    CatalogueConfig `json:"catalogue,omitempty"`
	Events       EventsConfig    `json:"events,omitempty"`
	Webhook      *Webhook        `json:"webhook,omitempty"` // optional: inbound webhooks
}

// Auth is a header sent on every request: a static value built from secrets, or a token got by logging in.
type Auth struct {
	Header string `json:"header,omitempty"` // default "Authorization"
	Value  string `json:"value,omitempty"`  // e.g. "GGL-API-KEY ${GALLAGHER_API_KEY}"; with login ${token} is the token (default "Bearer ${token}")
	Login  *Login `json:"login,omitempty"`  // optional
}

// Login gets a token; the connector logs in again once when a call answers 401.
type Login struct {
	Request string `json:"request,omitempty"` // e.g. "POST /auth/login"
	Body    any    `json:"body,omitempty"`    // JSON template; ${NAME} are secrets
	Token   string `json:"token,omitempty"`   // path of the token in the answer; alternatives split by "|": "token|access_token"
}

// Times says how the ACS writes times.
type Times struct {
	Format string `json:"format,omitempty"` // "rfc3339" (default: UTC with "Z") or "local" (no offset, in Zone)
	Zone   string `json:"zone,omitempty"`   // IANA zone of local and date-only values; default UTC
	// Unbounded is how a zero time (no start, no end) is written: "null" (default) or "empty" (""), as
	// Gallagher documents clearing a membership's until.
	Unbounded string `json:"unbounded,omitempty"`
}

// Field says where a value sits in an ACS record: a bare path ("@externalId", "division.href") or an object.
// The active field's values are keyed active / inactive (not true / false, which YAML reads as booleans).
type Field struct {
	Path     string `json:"path,omitempty"`     // dotted JSON path; "*" walks an array
	Pattern  string `json:"pattern,omitempty"`  // regexp taking the value out of the text (its first group), e.g. an id out of an href
	Write    string `json:"write,omitempty"`    // template of the written value, e.g. "${baseURL}/api/divisions/${value}"; default ${value}
	Active   any    `json:"active,omitempty"`   // the active field only: the ACS value meaning active (default true)
	Inactive any    `json:"inactive,omitempty"` // the active field only: the value written to disable (default false)
}

// UnmarshalYAML accepts a bare path as well as the object form.
func (f *Field) UnmarshalYAML(unmarshal func(any) error) error {
	type plain Field
	err := unmarshal((*plain)(f))
	if err == nil {
		return nil
	}
	var path string
	if unmarshal(&path) == nil && path != "" {
		*f = Field{Path: path}
		return nil
	}
	return err
}

// Paging says how a list answer leads to the next page.
type Paging struct {
	Style  string `json:"style,omitempty"`  // "next" (a link), "offset", "cursor"; "" means one page
	Size   int    `json:"size,omitempty"`   // page size asked for; default 100
	Limit  string `json:"limit,omitempty"`  // query parameter carrying the page size, e.g. "top"
	Next   string `json:"next,omitempty"`   // next: path of the next page's URL ("next.href"); cursor: path of the next cursor
	Offset string `json:"offset,omitempty"` // offset: query parameter of the offset
	Total  string `json:"total,omitempty"`  // offset: path of the total count; without it a short page is the last
	Cursor string `json:"cursor,omitempty"` // cursor: query parameter carrying the cursor
}

// Collection is a paged list of records and where their fields are.
type Collection struct {
	List   string           `json:"list,omitempty"`  // e.g. "GET /api/cardholders"
	Items  string           `json:"items,omitempty"` // path of the array in a page; "" when the page is the array
	Paging Paging           `json:"paging,omitempty"`
	Fields map[string]Field `json:"fields,omitempty"` // our field name -> where it is in an item
}

// Users maps cardholders. Fields are named after access.User: id, externalId, employeeNumber, firstName,
// lastName, email, companyId, locationId, active.
type Users struct {
	Collection `yaml:",inline"`
	Record     string `json:"record,omitempty"` // path of the record in a get or create answer; "" when it is the answer
	Get        string `json:"get,omitempty"`    // e.g. "GET /api/cardholders/{id}"
	Find       string `json:"find,omitempty"`   // query parameter narrowing the list to an external id; the match is checked here anyway
	Create     Create `json:"create,omitempty"`
	Update     Update `json:"update,omitempty"`
	Delete     string `json:"delete,omitempty"` // e.g. "DELETE /api/cardholders/{id}"; 404 counts as done
}

// Create adds a cardholder. The body is Body with every mapped field set on it.
type Create struct {
	Request string         `json:"request,omitempty"` // e.g. "POST /api/cardholders"
	Body    map[string]any `json:"body,omitempty"`    // optional fixed values; ${baseURL} may be used
	ID      IDSource       `json:"id,omitempty"`      // where the new id is
}

// IDSource finds a new record's id: in a header (e.g. Location) or at a path in the answer, then Pattern.
type IDSource struct {
	Header  string `json:"header,omitempty"`
	Path    string `json:"path,omitempty"`
	Pattern string `json:"pattern,omitempty"`
}

// Update changes a cardholder's person fields.
type Update struct {
	Request string `json:"request,omitempty"` // e.g. "PATCH /api/cardholders/{id}" or "PUT ..."
	Send    string `json:"send,omitempty"`    // "changed" (default): only changed fields; "whole": every mapped field
}

// AccessConfig says how a cardholder's access levels are read and written.
type AccessConfig struct {
	Style       string      `json:"style,omitempty"`       // "patch-diff" or "put-set"
	LevelIDType string      `json:"levelIdType,omitempty"` // "string" (default) or "number": how ${levelId} and ${levelIds} are sent
	Read        LevelsRead  `json:"read,omitempty"`
	Patch       *PatchDiff  `json:"patch,omitempty"`      // patch-diff
	Put         *PutSet     `json:"put,omitempty"`        // put-set
	UserWindow  *UserWindow `json:"userWindow,omitempty"` // optional: one validity window on the user record for all its levels
}

// LevelsRead says where a user's levels are: in the user record, or in the answer of Request.
type LevelsRead struct {
	Request string           `json:"request,omitempty"` // optional, e.g. "GET /users/{id}/groups"
	Items   string           `json:"items,omitempty"`   // path of the memberships
	Fields  map[string]Field `json:"fields,omitempty"`  // levelId (required), ref (the membership's own reference), from, until
}

// PatchDiff sends one request carrying the levels to add and the memberships to remove (and update).
type PatchDiff struct {
	Request string    `json:"request,omitempty"` // e.g. "PATCH /api/cardholders/{id}"
	Add     ListEdit  `json:"add,omitempty"`     // item variables: baseURL, levelId, from, until
	Remove  ListEdit  `json:"remove,omitempty"`  // item variables: baseURL, levelId, ref, from, until (the membership's)
	Update  *ListEdit `json:"update,omitempty"`  // optional, as Add plus ref; without it a changed window is a remove and an add
}

// ListEdit is one array in a patch-diff body.
type ListEdit struct {
	At   string `json:"at,omitempty"`   // path of the array in the body, e.g. "accessGroups.add"
	Item any    `json:"item,omitempty"` // template of one element
}

// PutSet replaces the whole set of levels with one request.
type PutSet struct {
	Request string `json:"request,omitempty"` // e.g. "PUT /users/{id}/groupIds"
	Body    any    `json:"body,omitempty"`    // template; ${levelIds} is the array of level ids
}

// UserWindow is a validity window kept on the user record (written with users.update), for ACSs that have
// no window per level: it is written as the span of the levels' windows and read back onto every level.
type UserWindow struct {
	From  Field `json:"from,omitempty"`
	Until Field `json:"until,omitempty"`
}

// CatalogueConfig lists the reference data. Only levels is required.
type CatalogueConfig struct {
	Levels    Collection  `json:"levels,omitempty"`    // fields: id, name, locationId
	Profiles  *Collection `json:"profiles,omitempty"`  // fields: id, name, levelIds (a path to an array of ids, "*" allowed)
	Companies *Collection `json:"companies,omitempty"` // fields: id, name
	Locations *Collection `json:"locations,omitempty"` // fields: id, name
}

// EventsConfig is the event feed.
type EventsConfig struct {
	Collection `yaml:",inline"` // fields: id, at, userId, type, door, locationId
	Since      string           `json:"since,omitempty"` // query parameter carrying the earliest time wanted
	// Granted lists the values of events.fields.type that mean the ACS let the badge through. Only those
	// events count as a person's activity (a refused swipe must not enable a badge disabled for
	// inactivity); required, so no system's denials count by default.
	Granted []string `json:"granted,omitempty"`
}

// Webhook verifies inbound deliveries signed with Standard Webhooks and maps them with events.fields.
type Webhook struct {
	Secret string `json:"secret,omitempty"` // NAME of the secret ("whsec_<base64>"), read through secrets
	Items  string `json:"items,omitempty"`  // path of the event (an object) or events (an array) in a delivery
}

// Load parses a configuration written in YAML or JSON and validates it. Unknown keys are errors; every
// error names the key, e.g. "users.fields.firstName: required".
func Load(data []byte) (Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(data, &c, yaml.Strict()); err != nil {
		return Config{}, fmt.Errorf("restacs: %s", yaml.FormatError(err, false, true))
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Field sets and the variables each template may use.
var (
	userFieldNames    = []string{"id", "externalId", "employeeNumber", "firstName", "lastName", "email", "companyId", "locationId", "active"}
	userRequired      = []string{"id", "externalId", "firstName", "lastName", "active"}
	levelReadFields   = []string{"levelId", "ref", "from", "until"}
	eventFieldNames   = []string{"id", "at", "userId", "type", "door", "locationId"}
	fieldWriteVars    = []string{"value", "baseURL"}
	addItemVars       = []string{"baseURL", "levelId", "from", "until"}
	membershipVars    = []string{"baseURL", "levelId", "ref", "from", "until"}
	putBodyVars       = []string{"baseURL", "levelIds"}
	createBodyVars    = []string{"baseURL"}
	requestMethods    = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	errConfigProblems = errors.New("restacs: invalid configuration")
)

// checker gathers validation problems, each naming its key.
type checker struct{ errs []error }

func (c *checker) fail(key, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

func (c *checker) required(key, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.fail(key, "required")
		return false
	}
	return true
}

func (c *checker) oneOf(key, v string, allowed ...string) {
	if !slices.Contains(allowed, v) {
		c.fail(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
}

// request checks a "METHOD /path" request; optional ones may be empty.
func (c *checker) request(key, r string, optional bool) {
	if r == "" {
		if !optional {
			c.fail(key, "required")
		}
		return
	}
	if _, err := parseRequest(r); err != nil {
		c.fail(key, "%v", err)
	}
}

// template checks that t uses only the variables allowed.
func (c *checker) template(key string, t any, allowed []string) {
	for _, n := range names(t) {
		if !slices.Contains(allowed, n) {
			c.fail(key, "unknown variable ${%s} (allowed: %s)", n, strings.Join(allowed, ", "))
		}
	}
}

func (c *checker) field(key string, f Field, writable bool) {
	if !c.required(key+".path", f.Path) {
		return
	}
	if f.Pattern != "" {
		if _, err := regexp.Compile(f.Pattern); err != nil {
			c.fail(key+".pattern", "%v", err)
		} else {
			mustPattern(f.Pattern)
		}
	}
	if f.Write != "" && !writable {
		c.fail(key+".write", "not written, so write has no use")
	}
	c.template(key+".write", f.Write, fieldWriteVars)
	if (f.Active != nil || f.Inactive != nil) && !strings.HasSuffix(key, ".active") {
		c.fail(key, "active and inactive values belong to the active field only")
	}
}

// fields checks a field map against the names allowed and required there.
func (c *checker) fields(key string, m map[string]Field, allowed, required []string, writable bool) {
	for _, name := range required {
		if _, ok := m[name]; !ok {
			c.fail(key+"."+name, "required")
		}
	}
	for name, f := range m {
		if !slices.Contains(allowed, name) {
			c.fail(key+"."+name, "unknown field (allowed: %s)", strings.Join(allowed, ", "))
			continue
		}
		c.field(key+"."+name, f, writable && name != "id")
	}
}

func (c *checker) paging(key string, p Paging) {
	c.oneOf(key+".style", p.Style, "", "next", "offset", "cursor")
	if p.Size < 0 {
		c.fail(key+".size", "must not be negative")
	}
	switch p.Style {
	case "next":
		c.required(key+".next", p.Next)
	case "offset":
		c.required(key+".offset", p.Offset)
		c.required(key+".limit", p.Limit)
	case "cursor":
		c.required(key+".next", p.Next)
		c.required(key+".cursor", p.Cursor)
	}
}

func (c *checker) collection(key string, col Collection, allowed, required []string, writable bool) {
	c.request(key+".list", col.List, false)
	c.paging(key+".paging", col.Paging)
	c.fields(key+".fields", col.Fields, allowed, required, writable)
}

// Validate checks a configuration; Load and New call it. The error lists every problem, one a line.
func (cfg *Config) Validate() error {
	var c checker
	c.required("system", cfg.System)
	if c.required("baseURL", cfg.BaseURL) && !strings.Contains(cfg.BaseURL, "${") {
		if err := checkBaseURL(cfg.BaseURL); err != nil {
			c.fail("baseURL", "%v", err)
		}
	}
	c.auth(cfg.Auth)
	c.oneOf("time.format", cfg.Time.Format, "", "rfc3339", "local")
	c.oneOf("time.unbounded", cfg.Time.Unbounded, "", "null", "empty")
	if _, err := time.LoadLocation(cfg.Time.Zone); err != nil {
		c.fail("time.zone", "%v", err)
	}

	c.users(cfg.Users)
	c.access(cfg.Access)
	c.catalogue(cfg.Catalogue)
	c.events(cfg.Events, cfg.Webhook)
	if len(c.errs) > 0 {
		return fmt.Errorf("%w:\n%w", errConfigProblems, errors.Join(c.errs...))
	}
	return nil
}

// auth checks how SignetAssure signs in: a fixed header value, or a login whose token the value holds.
func (c *checker) auth(a Auth) {
	if a.Login != nil {
		c.request("auth.login.request", a.Login.Request, false)
		c.required("auth.login.token", a.Login.Token)
		if a.Value != "" && !strings.Contains(a.Value, "${token}") {
			c.fail("auth.value", "must contain ${token} when auth.login is set")
		}
	} else {
		c.required("auth.value", a.Value)
		if strings.Contains(a.Value, "${token}") {
			c.fail("auth.value", "${token} needs auth.login")
		}
	}

}

// users checks the user collection and its get, create, update and delete requests.
func (c *checker) users(u Users) {
	c.collection("users", u.Collection, userFieldNames, userRequired, true)
	for name, f := range u.Fields {
		if name == "active" && f.Pattern != "" {
			c.fail("users.fields.active.pattern", "active is compared with true, not taken apart")
		}
	}
	c.request("users.get", u.Get, false)
	c.request("users.create.request", u.Create.Request, false)
	c.template("users.create.body", anyMap(u.Create.Body), createBodyVars)
	if u.Create.ID.Header == "" && u.Create.ID.Path == "" {
		c.fail("users.create.id", "header or path required")
	}
	if p := u.Create.ID.Pattern; p != "" {
		if _, err := regexp.Compile(p); err != nil {
			c.fail("users.create.id.pattern", "%v", err)
		}
	}
	c.request("users.update.request", u.Update.Request, false)
	c.oneOf("users.update.send", u.Update.Send, "", "changed", "whole")
	c.request("users.delete", u.Delete, false)

}

// access checks how a user's access levels are read and written (patch-diff or put-set).
func (c *checker) access(a AccessConfig) {
	c.oneOf("access.style", a.Style, "patch-diff", "put-set")
	c.oneOf("access.levelIdType", a.LevelIDType, "", "string", "number")
	c.request("access.read.request", a.Read.Request, true)
	c.fields("access.read.fields", a.Read.Fields, levelReadFields, []string{"levelId"}, false)
	switch a.Style {
	case "patch-diff":
		if a.Patch == nil {
			c.fail("access.patch", "required for style patch-diff")
			break
		}
		_, hasRef := a.Read.Fields["ref"]
		c.request("access.patch.request", a.Patch.Request, false)
		c.listEdit("access.patch.add", &a.Patch.Add, addItemVars, hasRef)
		c.listEdit("access.patch.remove", &a.Patch.Remove, membershipVars, hasRef)
		if a.Patch.Update != nil {
			c.listEdit("access.patch.update", a.Patch.Update, membershipVars, hasRef)
		}
	case "put-set":
		if a.Put == nil {
			c.fail("access.put", "required for style put-set")
			break
		}
		c.request("access.put.request", a.Put.Request, false)
		if !slices.Contains(names(a.Put.Body), "levelIds") {
			c.fail("access.put.body", "must use ${levelIds}")
		}
		c.template("access.put.body", a.Put.Body, putBodyVars)
	}
	if w := a.UserWindow; w != nil {
		c.field("access.userWindow.from", w.From, true)
		c.field("access.userWindow.until", w.Until, true)
	}

}

// catalogue checks the collections of levels, and of profiles, companies and locations where configured.
func (c *checker) catalogue(cat CatalogueConfig) {
	c.collection("catalogue.levels", cat.Levels, []string{"id", "name", "locationId"}, []string{"id", "name"}, false)
	for key, col := range map[string]*Collection{"catalogue.profiles": cat.Profiles, "catalogue.companies": cat.Companies, "catalogue.locations": cat.Locations} {
		if col == nil {
			continue
		}
		allowed := []string{"id", "name"}
		if key == "catalogue.profiles" {
			allowed = append(allowed, "levelIds")
		}
		c.collection(key, *col, allowed, []string{"id", "name"}, false)
	}

}

// events checks the event feed, which events grant access, and the inbound webhook's secret.
func (c *checker) events(e EventsConfig, w *Webhook) {
	c.collection("events", e.Collection, eventFieldNames, []string{"id", "at"}, false)
	c.required("events.since", e.Since)
	if len(e.Granted) == 0 {
		c.fail("events.granted", "required: the event types (values of events.fields.type) that mean access was granted")
	} else if _, ok := e.Fields["type"]; !ok {
		c.fail("events.fields.type", "required with events.granted")
	}
	for i, g := range e.Granted {
		if strings.TrimSpace(g) == "" {
			c.fail(fmt.Sprintf("events.granted[%d]", i), "must not be empty")
		}
	}
	if w != nil {
		c.required("webhook.secret", w.Secret)
		if strings.Contains(w.Secret, "${") || strings.HasPrefix(w.Secret, "whsec_") {
			c.fail("webhook.secret", "name the secret (e.g. GALLAGHER_WEBHOOK_SECRET); never write it here")
		}
	}

}

// listEdit checks one array of a patch-diff body; ${ref} needs access.read.fields.ref.
func (c *checker) listEdit(key string, e *ListEdit, allowed []string, hasRef bool) {
	c.required(key+".at", e.At)
	if e.Item == nil {
		c.fail(key+".item", "required")
	}
	c.template(key+".item", e.Item, allowed)
	if !hasRef && slices.Contains(names(e.Item), "ref") {
		c.fail(key+".item", "uses ${ref}, so access.read.fields.ref is required")
	}
}

// anyMap lets a map[string]any pass as a template.
func anyMap(m map[string]any) any {
	if m == nil {
		return nil
	}
	return m
}

// request is a parsed "METHOD /path?query".
type request struct {
	method string
	path   string
	query  url.Values
}

func parseRequest(r string) (request, error) {
	method, target, ok := strings.Cut(strings.TrimSpace(r), " ")
	target = strings.TrimSpace(target)
	if !ok || !slices.Contains(requestMethods, method) {
		return request{}, fmt.Errorf("%q: want \"METHOD /path\" with METHOD one of %s", r, strings.Join(requestMethods, ", "))
	}
	if !strings.HasPrefix(target, "/") {
		return request{}, fmt.Errorf("%q: the path must start with /", r)
	}
	path, rawQuery, _ := strings.Cut(target, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return request{}, fmt.Errorf("%q: %v", r, err)
	}
	return request{method: method, path: path, query: q}, nil
}

func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not carry a query or fragment", s)
	}
	return nil
}
