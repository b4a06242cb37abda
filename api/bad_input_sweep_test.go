package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/signetassure/signetassure/domain"
)

// TestBadInputSweep sends every staff route that writes a body full of bad text and bad dates, field by
// field, as the OpenAPI document describes the body: a NUL, a bidirectional override, a zero-width space
// (in one-line text), 1 MB of text, and for dates 0001-01-01, 9999-12-31 and 2026-02-30. Each must be
// refused with a 400 problem naming that field, nothing may panic or answer 5xx, and nothing in the
// database (so no case's timeline) may change.
func TestBadInputSweep(t *testing.T) {
	t.Parallel()
	e, doc, fx, routes := newSweep(t)

	before := e.settledSnapshot(t)
	timeline := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/"+fx.caseRef, nil)["timeline"]

	var mu sync.Mutex
	sent := 0
	t.Run("routes", func(t *testing.T) {
		for _, rt := range routes {
			t.Run(rt.method+" "+rt.path, func(t *testing.T) {
				t.Parallel()
				body := doc.valid(rt.schema, "", fx).(map[string]any)
				path := fx.fillPath(rt.path)
				role := fx.roleFor(rt.roles)
				leaves := doc.leaves(rt.schema, body, nil)
				if len(leaves) == 0 {
					t.Skipf("%s %s takes no text", rt.method, rt.path) // numbers only: json.Decode types them
				}
				for _, lf := range leaves {
					for _, bad := range badValues(lf) {
						b := withValue(body, lf.at, bad.value)
						r := e.call(role, rt.method, path, b)
						mu.Lock()
						sent++
						mu.Unlock()
						if r.status >= 500 || r.status < 400 {
							t.Errorf("%s %s: %s = %s: %d %.300s", rt.method, rt.path, lf.name, bad.what, r.status, r.body)
							continue
						}
						if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
							t.Errorf("%s %s: %s = %s: %d, not problem+json: %.300s", rt.method, rt.path, lf.name, bad.what, r.status, r.body)
							continue
						}
						var p struct {
							Errors []struct{ Field string } `json:"errors"`
						}
						_ = json.Unmarshal(r.body, &p)
						if !slices.ContainsFunc(p.Errors, func(f struct{ Field string }) bool { return f.Field == lf.name }) {
							t.Errorf("%s %s: %s = %s: %d does not name %s: %.300s", rt.method, rt.path, lf.name, bad.what, r.status, lf.name, r.body)
						}
					}
				}
			})
		}
	})
	t.Logf("%d bad requests on %d routes", sent, len(routes))

	if strings.Contains(e.logs.String(), `"msg":"panic"`) {
		t.Errorf("the API panicked:\n%s", e.logs.String())
	}
	after := e.snapshot(t)
	for table, was := range before {
		if after[table] != was {
			t.Errorf("table %s changed: %s -> %s", table, was, after[table])
		}
	}
	if got := e.must(200, domain.RoleCaseWorker, "GET", "/api/v1/cases/"+fx.caseRef, nil)["timeline"]; fmt.Sprint(got) != fmt.Sprint(timeline) {
		t.Errorf("the case's timeline changed:\n%v\n->\n%v", timeline, got)
	}
}

// Every field a staff write route refuses as missing whatever the rest of the body says ("is required",
// not "is required for a cleared outcome") is marked required in the OpenAPI document, so a client built
// from the document sends it: each route is sent only what the document requires.
func TestOpenAPIMarksWhatRoutesRequire(t *testing.T) {
	t.Parallel()
	e, doc, fx, routes := newSweep(t)
	refusals := 0
	for _, rt := range routes {
		r := e.call(fx.roleFor(rt.roles), rt.method, fx.fillPath(rt.path), doc.minimal(rt.schema, "", fx))
		if r.status != 400 {
			continue
		}
		var p struct {
			Errors []struct{ Field, Message string }
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("%s %s: %v: %s", rt.method, rt.path, err, r.body)
		}
		for _, fe := range p.Errors {
			refusals++
			if m := fe.Message; m == "is required" || strings.HasPrefix(m, "is required:") || strings.HasPrefix(m, "is required (") {
				t.Errorf("%s %s refuses a body without %s (%q), which the OpenAPI document does not mark required",
					rt.method, rt.path, fe.Field, m)
			}
		}
	}
	t.Logf("%d routes sent only what the document requires; %d fields refused for other reasons", len(routes), refusals)
}

// newSweep is a test's API, its OpenAPI document, the records the routes refer to, and the staff write
// routes with a body.
func newSweep(t *testing.T) (*env, openAPIDoc, *sweepFixtures, []route) {
	t.Helper()
	e := newEnv(t)
	var doc openAPIDoc
	if err := json.Unmarshal(e.srv.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	routes := doc.writeRoutes()
	if len(routes) < 30 {
		t.Fatalf("only %d staff write routes with a body in the OpenAPI document", len(routes))
	}
	return e, doc, newSweepFixtures(e), routes
}

// badValue is one bad value for a field.
type badValue struct {
	what  string
	value any
}

func badValues(lf leaf) []badValue {
	if lf.format == "date" {
		return []badValue{{"0001-01-01", "0001-01-01"}, {"9999-12-31", "9999-12-31"}, {"2026-02-30", "2026-02-30"}}
	}
	vs := []badValue{{"a NUL", "a\x00b"}, {"a bidi override", "a\u202eb"}, {"1 MB of text", strings.Repeat("a", 1_000_000)}}
	if !lf.free {
		vs = append(vs, badValue{"a zero-width space", "a\u200bb"})
	}
	return vs
}

// openAPIDoc is the part of the OpenAPI document the sweep reads.
type openAPIDoc struct {
	Paths      map[string]map[string]operation `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	Description string           `json:"description"`
	Security    []map[string]any `json:"security"`
	RequestBody *struct {
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

type schema struct {
	Ref                  string             `json:"$ref"`
	Type                 string             `json:"type"`
	Format               string             `json:"format"`
	Enum                 []any              `json:"enum"`
	Minimum              *float64           `json:"minimum"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties *schema            `json:"additionalProperties"`
	Required             []string           `json:"required"`
	XText                string             `json:"x-text"`
}

type route struct {
	method, path string
	roles        []domain.Role
	schema       *schema
}

// writeRoutes are the staff routes (a bearer token) that write, with a JSON body.
func (d openAPIDoc) writeRoutes() []route {
	var out []route
	for path, ops := range d.Paths {
		for method, op := range ops {
			switch method {
			case "post", "put", "patch", "delete":
			default:
				continue
			}
			if !slices.ContainsFunc(op.Security, func(s map[string]any) bool { _, ok := s["bearer"]; return ok }) ||
				op.RequestBody == nil {
				continue
			}
			js, ok := op.RequestBody.Content["application/json"]
			if !ok || js.Schema == nil {
				continue
			}
			var roles []domain.Role
			names, _, _ := strings.Cut(strings.TrimPrefix(op.Description, "Roles: "), ".")
			for _, r := range strings.Split(names, ", ") {
				roles = append(roles, domain.Role(r))
			}
			out = append(out, route{method: strings.ToUpper(method), path: path, roles: roles, schema: js.Schema})
		}
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return out
}

func (d openAPIDoc) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// valid is a value of the right shape for s: what a careful client would send for the field name, every
// property given.
func (d openAPIDoc) valid(s *schema, name string, fx *sweepFixtures) any {
	return d.value(s, name, fx, false)
}

// minimal is valid with only the properties s marks required: what a client built from the document
// must send.
func (d openAPIDoc) minimal(s *schema, name string, fx *sweepFixtures) any {
	return d.value(s, name, fx, true)
}

func (d openAPIDoc) value(s *schema, name string, fx *sweepFixtures, requiredOnly bool) any {
	s = d.resolve(s)
	switch {
	case s.Type == "object" || s.Properties != nil:
		m := map[string]any{}
		for k, p := range s.Properties {
			if !requiredOnly || slices.Contains(s.Required, k) {
				m[k] = d.value(p, k, fx, requiredOnly)
			}
		}
		if s.AdditionalProperties != nil && s.AdditionalProperties.Type != "" && !requiredOnly {
			m["Name"] = d.value(s.AdditionalProperties, "Name", fx, requiredOnly)
		}
		return m
	case s.Type == "array":
		return []any{d.value(s.Items, name, fx, requiredOnly)}
	case s.Type == "integer" || s.Type == "number":
		if s.Minimum != nil {
			return *s.Minimum
		}
		return 1
	case s.Type == "boolean":
		return false
	case len(s.Enum) > 0:
		return s.Enum[0]
	}
	return fx.text(name, s.Format)
}

// leaf is a string field of a body: its JSON path as the API names it, and where it is in the body.
type leaf struct {
	name, format string
	free         bool
	at           []any
}

func (d openAPIDoc) leaves(s *schema, v any, at []any) []leaf {
	s = d.resolve(s)
	switch val := v.(type) {
	case map[string]any:
		var out []leaf
		for k, sub := range val {
			ps := s.AdditionalProperties
			if p, ok := s.Properties[k]; ok {
				ps = p
			}
			out = append(out, d.leaves(ps, sub, append(slices.Clone(at), k))...)
		}
		return out
	case []any:
		var out []leaf
		for i, sub := range val {
			out = append(out, d.leaves(s.Items, sub, append(slices.Clone(at), i))...)
		}
		return out
	case string:
		return []leaf{{name: pathName(at), format: s.Format, free: s.XText == "free", at: at}}
	}
	return nil
}

// pathName is a field's name in the API's problems: vars.Name, companies[0].acsCompanyId.
func pathName(at []any) string {
	var b strings.Builder
	for _, seg := range at {
		switch s := seg.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		case int:
			b.WriteString("[" + strconv.Itoa(s) + "]")
		}
	}
	return b.String()
}

// withValue is a deep copy of body with the field at at set to v.
func withValue(body map[string]any, at []any, v any) map[string]any {
	raw, _ := json.Marshal(body)
	var cp map[string]any
	_ = json.Unmarshal(raw, &cp)
	var cur any = cp
	for i, seg := range at {
		last := i == len(at)-1
		switch s := seg.(type) {
		case string:
			m := cur.(map[string]any)
			if last {
				m[s] = v
			}
			cur = m[s]
		case int:
			l := cur.([]any)
			if last {
				l[s] = v
			}
			cur = l[s]
		}
	}
	return cp
}

// sweepFixtures are the records the routes' paths and ids refer to, so each request passes everything
// but the field at fault.
type sweepFixtures struct {
	e                                                *env
	person, caseRef, supplier, location, group, site string
	officer                                          string
}

func newSweepFixtures(e *env) *sweepFixtures {
	fx := &sweepFixtures{e: e, officer: e.users[domain.RoleVettingOfficer].ID.String()}
	fx.person = e.createPerson("Sweep", "Subject", "1980-01-01")
	fx.caseRef = e.openCase(fx.person, "new", "SC")
	fx.supplier = e.must(201, domain.RoleAdmin, "POST", "/api/v1/suppliers", map[string]any{"name": "Sweep Supplies", "tier": 1})["id"].(string)
	fx.location = e.must(201, domain.RoleAdmin, "POST", "/api/v1/locations", map[string]any{"code": "SWP", "name": "Sweep Site"})["id"].(string)
	fx.group = e.must(201, domain.RoleSecurityController, "POST", "/api/v1/groups",
		map[string]any{"name": "Sweep group", "kind": "manual", "memberIds": []string{fx.person}})["id"].(string)
	fx.site = e.must(201, domain.RoleAdmin, "POST", "/api/v1/partners",
		map[string]any{"orgName": "Sweep Partner", "baseUrl": "https://partner.example.org"})["id"].(string)
	return fx
}

func (fx *sweepFixtures) fillPath(p string) string {
	r := strings.NewReplacer("{caseRef}", fx.caseRef, "{channel}", "sms", "{keyId}", uuid.NewString())
	p = r.Replace(p)
	id := uuid.NewString()
	for prefix, v := range map[string]string{"/api/v1/persons/": fx.person, "/api/v1/suppliers/": fx.supplier,
		"/api/v1/locations/": fx.location, "/api/v1/groups/": fx.group, "/api/v1/partners/": fx.site} {
		if strings.HasPrefix(p, prefix) {
			id = v
		}
	}
	return strings.Replace(p, "{id}", id, 1)
}

func (fx *sweepFixtures) roleFor(roles []domain.Role) domain.Role {
	for _, r := range roles {
		if _, ok := fx.e.tokens[r]; ok {
			return r
		}
	}
	return domain.RoleAdmin
}

// text is a good value for a string field, by its name and format.
func (fx *sweepFixtures) text(name, format string) string {
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format(time.DateOnly) }
	switch name {
	case "personId", "memberIds":
		return fx.person
	case "ownerId":
		return fx.officer
	case "siteId", "forSiteId":
		return fx.site
	case "supplierId":
		return fx.supplier
	case "locationId":
		return fx.location
	case "groupId":
		return fx.group
	case "forCaseRef":
		return "v_sweep"
	case "template", "name":
		return "sweep_template"
	case "mobile":
		return "07400 123456"
	case "niNumber":
		return "AB123456C"
	case "timeZone":
		return "Europe/London"
	case "scopes":
		return "vetting:read"
	case "ipAllow":
		return "10.0.0.0/8"
	case "keywords":
		return "SAFE"
	case "replyWindow":
		return "1d"
	case "startsAt":
		return day(1)
	case "endsAt":
		return day(2)
	case "validFrom":
		return day(0)
	case "validTo":
		return day(365)
	case "method":
		return "written"
	case "countries", "code":
		return "FR"
	case "listedOn":
		return day(-30)
	}
	switch format {
	case "uuid":
		return uuid.NewString()
	case "date":
		return day(30)
	case "date-time":
		return time.Now().UTC().AddDate(0, 1, 0).Format(time.RFC3339)
	case "email":
		return "sweep@example.org"
	case "uri":
		return "https://partner.example.org"
	}
	return "Sweep text"
}

// snapshot is each table's row count and a digest of its rows (api_tokens aside: a token's last use is
// recorded on every call).
func (e *env) snapshot(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.database)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'api_tokens'`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, table := range tables {
		var n int
		var digest string
		q := `SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM ` +
			pgx.Identifier{table}.Sanitize() + ` t`
		if err := conn.QueryRow(ctx, q).Scan(&n, &digest); err != nil {
			t.Fatal(err)
		}
		out[table] = fmt.Sprintf("%d rows %s", n, digest)
	}
	return out
}

// settledSnapshot waits until the fixtures' workflows have written what they write, so that any change
// seen after the sweep is the sweep's.
func (e *env) settledSnapshot(t *testing.T) map[string]string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	prev := e.snapshot(t)
	for {
		next := e.snapshot(t)
		if fmt.Sprint(next) == fmt.Sprint(prev) {
			return next
		}
		if time.Now().After(deadline) {
			t.Fatal("the database does not settle after the fixtures")
		}
		prev = next
	}
}
