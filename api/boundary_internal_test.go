package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/internal/testenv"
)

type walkRule struct {
	Name string `json:"name" maxLength:"10"`
	Tags []string
}

type walkEmbedded struct {
	Key string `json:"key"`
}

type walkInput struct {
	walkEmbedded
	hidden  string            //lint:ignore U1000 the walker must pass over an unexported field
	Title   *string           `json:"title"`
	Body    *string           `json:"body,omitempty" text:"free"`
	Rules   []walkRule        `json:"rules"`
	Vars    map[string]string `json:"vars" maxLength:"5"`
	Any     map[string]any    `json:"any"`
	Due     *domain.Date      `json:"due"`
	Starts  domain.Date       `json:"starts"`
	At      *time.Time        `json:"at"`
	Skipped string            `json:"-"`
}

func decodeWalk(t *testing.T, body string) (walkInput, []FieldError) {
	t.Helper()
	var in walkInput
	err := decodeBytes([]byte(body), &in)
	if err == nil {
		return in, nil
	}
	var p *Problem
	if !errors.As(err, &p) || p.Status != 400 {
		t.Fatalf("decode(%s): %v, want a 400 problem", body, err)
	}
	return in, p.Errors
}

func fieldNames(errs []FieldError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field)
	}
	slices.Sort(out)
	return out
}

func TestCleanRequestCleansInPlace(t *testing.T) {
	t.Parallel()
	in, errs := decodeWalk(t, `{"key":"  k ","title":" Zoe\u0308 ","body":"line one\r\nline two\t ",
		"rules":[{"name":" a ","Tags":[" x "]}],"vars":{" First ":" Jo "},"any":{"n":{"deep":[" v "]}}}`)
	if errs != nil {
		t.Fatalf("refused: %+v", errs)
	}
	if in.Key != "k" || *in.Title != "Zoë" || *in.Body != "line one\nline two" {
		t.Errorf("key %q title %q body %q", in.Key, *in.Title, *in.Body)
	}
	if in.Rules[0].Name != "a" || in.Rules[0].Tags[0] != "x" {
		t.Errorf("rules: %+v", in.Rules)
	}
	if v, ok := in.Vars["First"]; !ok || v != "Jo" || len(in.Vars) != 1 {
		t.Errorf("vars: %q", in.Vars)
	}
	deep := in.Any["n"].(map[string]any)["deep"].([]any)[0]
	if deep != "v" {
		t.Errorf("any.n.deep[0] = %q", deep)
	}
}

func TestCleanRequestNamesEveryBadFieldByItsPath(t *testing.T) {
	t.Parallel()
	_, errs := decodeWalk(t, `{"key":"a\u0000","title":"Zo\u200be","body":"x\u202ey",
		"rules":[{"name":"ok"},{"name":"eleven char","Tags":["ok","b\u0007"]}],
		"vars":{"firstName":"123456","ok":"fine","bad\u0000key":"v"},
		"any":{"n":{"deep":["ok","\u0000"]}},
		"due":"0001-01-01","starts":"9999-12-31","at":"1899-12-31T23:00:00Z"}`)
	want := []string{"any.n.deep[1]", "at", "body", "due", "key", "rules[1].Tags[1]", "rules[1].name", "starts",
		"title", "vars", "vars.firstName"}
	if got := fieldNames(errs); !slices.Equal(got, want) {
		t.Fatalf("fields at fault: %q\nwant %q\n%+v", got, want, errs)
	}
	for _, e := range errs {
		if strings.ContainsRune(e.Message, 0) || strings.Contains(e.Message, "bad") {
			t.Errorf("%s: the message echoes the input: %q", e.Field, e.Message)
		}
	}
}

func TestCleanRequestLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", domain.MaxLine+1)
	_, errs := decodeWalk(t, `{"title":"`+long+`"}`)
	if got := fieldNames(errs); !slices.Equal(got, []string{"title"}) {
		t.Errorf("a one-line field of %d characters: %q", domain.MaxLine+1, got)
	}
	// Free text keeps its lines and takes up to MaxFree.
	in, errs := decodeWalk(t, `{"body":"`+strings.Repeat("é\\n", domain.MaxFree/2)+`"}`)
	if errs != nil || strings.Count(*in.Body, "\n") != domain.MaxFree/2-1 {
		t.Errorf("free text of %d characters: %+v", domain.MaxFree, errs)
	}
	_, errs = decodeWalk(t, `{"body":"`+strings.Repeat("a", domain.MaxFree+1)+`"}`)
	if got := fieldNames(errs); !slices.Equal(got, []string{"body"}) {
		t.Errorf("free text of %d characters: %q", domain.MaxFree+1, got)
	}
	// The zero-width space is kept out of names, not out of free text where it is harmless.
	if _, errs := decodeWalk(t, `{"body":"a\u200bb"}`); errs != nil {
		t.Errorf("a zero-width space in free text: %+v", errs)
	}
}

func TestCleanRequestDates(t *testing.T) {
	t.Parallel()
	in, errs := decodeWalk(t, `{"due":"1900-01-01","starts":"2100-12-31","at":"2026-05-01T10:00:00+01:00"}`)
	if errs != nil || in.Due.String() != "1900-01-01" || in.Starts.String() != "2100-12-31" {
		t.Fatalf("dates at the ends of the range: %+v %v %v", errs, in.Due, in.Starts)
	}
	// Absent dates are for the handler's required checks.
	if _, errs := decodeWalk(t, `{}`); errs != nil {
		t.Errorf("no dates: %+v", errs)
	}
}

func TestDecodeRefusesTrailingData(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{}]`, `{} {}`, `{}x`, `{}}`} {
		_, errs := decodeWalk(t, body)
		if got := fieldNames(errs); !slices.Equal(got, []string{"body"}) {
			t.Errorf("%s: %q, want body refused", body, got)
		}
	}
	if _, errs := decodeWalk(t, "{}\n\t "); errs != nil {
		t.Errorf("trailing white space: %+v", errs)
	}
}

// The OpenAPI document states the limits the boundary applies.
func TestOpenAPIDocumentsTextLimits(t *testing.T) {
	t.Parallel()
	s, err := New(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					MaxLength *int `json:"maxLength"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(s.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	for schema, field := range map[string]string{"ApiAddNoteInput": "text", "ApiRequestInformationInput": "description"} {
		p, ok := doc.Components.Schemas[schema].Properties[field]
		if !ok || p.MaxLength == nil || *p.MaxLength != domain.MaxFree {
			t.Errorf("%s.%s: maxLength %v, want %d", schema, field, p.MaxLength, domain.MaxFree)
		}
	}
	var vars struct {
		Components struct {
			Schemas struct {
				Send struct {
					Properties struct {
						Vars struct {
							MaxLength            *int `json:"maxLength"`
							AdditionalProperties struct {
								MaxLength *int `json:"maxLength"`
							} `json:"additionalProperties"`
						} `json:"vars"`
					} `json:"properties"`
				} `json:"ApiSendMessageInput"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(s.OpenAPI(), &vars); err != nil {
		t.Fatal(err)
	}
	if v := vars.Components.Schemas.Send.Properties.Vars; v.MaxLength != nil || v.AdditionalProperties.MaxLength == nil ||
		*v.AdditionalProperties.MaxLength != 2000 {
		t.Errorf("vars: maxLength %v on the map, %v on its values; want none and 2000", v.MaxLength, v.AdditionalProperties.MaxLength)
	}
	if want := maxImageBytes*4/3 + 64; ruleOf(field(t, AttendedImagesInput{}, "Front")).max != want {
		t.Errorf("an image data URL's maxLength is not %d", want)
	}
}

func field(t *testing.T, v any, name string) reflect.StructField {
	t.Helper()
	f, ok := reflect.TypeOf(v).FieldByName(name)
	if !ok {
		t.Fatalf("%T has no field %s", v, name)
	}
	return f
}

// PostgreSQL going away (an administrator's shutdown, SQLSTATE 57P01) is "unavailable", a 503 that
// says nothing was changed, not a 500.
func TestPostgresShutdownIsUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.DatabaseURL(t)
	victim, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer victim.Close(ctx)
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var terminated bool
	if err := admin.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, victim.PgConn().PID()).Scan(&terminated); err != nil || !terminated {
		t.Fatalf("pg_terminate_backend: %v %v", terminated, err)
	}
	_, err = victim.Exec(ctx, `SELECT 1`)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "57P01" {
		t.Fatalf("a query on a terminated connection: %v, want SQLSTATE 57P01", err)
	}
	s := &Server{Deps: Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/api/v1/persons", nil)
	for _, code := range []string{"57P01", "57P02", "57P03", "08006", "08003"} {
		wrapped := fmt.Errorf("store: %w", &pgconn.PgError{Code: code})
		if code == "57P01" {
			wrapped = fmt.Errorf("store: %w", err)
		}
		if p := s.asProblem(c, wrapped); p.Status != 503 {
			t.Errorf("SQLSTATE %s: %d, want 503", code, p.Status)
		}
	}
	if p := s.asProblem(c, &pgconn.PgError{Code: "22P05"}); p.Status != 500 {
		t.Errorf("SQLSTATE 22P05 (a bug, not an outage): %d, want 500", p.Status)
	}
}
