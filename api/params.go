package api

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/signetassure/signetassure/domain"
	"github.com/signetassure/signetassure/store"
)

// List answers carry a page of items and the total that match.
type List[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func list[T any](items []T, total int, p store.Page) List[T] {
	if items == nil {
		items = []T{}
	}
	return List[T]{Items: items, Total: total, Limit: p.Limit, Offset: p.Offset}
}

// pageQuery is the paging part of a list request.
type pageQuery struct {
	Limit  int `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Offset int `query:"offset" minimum:"0" default:"0"`
}

// query reads and checks query parameters, collecting what is wrong.
type query struct {
	c    *gin.Context
	errs fields
}

func (q *query) page() store.Page {
	p := store.Page{Limit: 50}
	if v, ok := q.c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			q.errs.add("limit", "must be a whole number from 1 to 200")
		}
		p.Limit = n
	}
	if v, ok := q.c.GetQuery("offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			q.errs.add("offset", "must be a whole number of at least 0")
		}
		p.Offset = n
	}
	return p
}

func (q *query) uuid(name string) *uuid.UUID {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		q.errs.add(name, "must be an id")
		return nil
	}
	return &id
}

func (q *query) bool(name string) *bool {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.errs.add(name, "must be true or false")
		return nil
	}
	return &b
}

func (q *query) int64(name string) int64 {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		q.errs.add(name, "must be a whole number of at least 0")
	}
	return n
}

func (q *query) date(name string) *domain.Date {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	d, err := domain.ParseDate(v)
	if err != nil {
		q.errs.add(name, "must be a date YYYY-MM-DD")
		return nil
	}
	return &d
}

// enum reads a comma-separated list of values that valid accepts.
func enum[T ~string](q *query, name string, valid func(T) bool, allowed []T) []T {
	v, ok := q.c.GetQuery(name)
	if !ok {
		return nil
	}
	var out []T
	for _, item := range strings.Split(v, ",") {
		t := T(strings.TrimSpace(item))
		if !valid(t) {
			q.errs.add(name, "%q is not one of %s", item, domain.OneOf(allowed))
			return nil
		}
		out = append(out, t)
	}
	return out
}

// pathID reads an id from the path; a malformed one names nothing that exists.
func pathID(c *gin.Context, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return id, notFound(what)
	}
	return id, nil
}

// fieldDate parses an optional date field of a request body.
func fieldDate(errs *fields, name string, v *string) domain.Date {
	if v == nil {
		return domain.Date{}
	}
	d, err := domain.ParseDate(*v)
	if err != nil {
		errs.add(name, "must be a date YYYY-MM-DD")
	}
	return d
}

// fieldID parses an optional id field of a request body; "" means none.
func fieldID(errs *fields, name string, v *string) *uuid.UUID {
	if v == nil || *v == "" {
		return nil
	}
	id, err := uuid.Parse(*v)
	if err != nil {
		errs.add(name, "must be an id")
		return nil
	}
	return &id
}

// requiredID parses an id field that must be given: absent or "" is "is required", never a nil id.
func requiredID(errs *fields, name string, v *string) *uuid.UUID {
	if v == nil || *v == "" {
		errs.add(name, "is required")
		return nil
	}
	return fieldID(errs, name, v)
}

// timeInRange reports whether an instant falls on a day from domain.MinDate to domain.MaxDate (in UTC),
// the dates anything accepts.
func timeInRange(t time.Time) bool { return domain.DateOf(t.UTC()).InRange() }

func today() domain.Date { return domain.DateOf(time.Now().UTC()) }

// single reads a query parameter that takes one value of an enumeration.
func single[T ~string](q *query, name string, valid func(T) bool, allowed []T) T {
	vs := enum(q, name, valid, allowed)
	if len(vs) > 1 {
		q.errs.add(name, "takes one value")
	}
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// idempotencyKey reads the Idempotency-Key header ("" when absent).
func idempotencyKey(c *gin.Context, errs *fields) string {
	k := strings.TrimSpace(c.GetHeader("Idempotency-Key"))
	if len(k) > 200 {
		errs.add("Idempotency-Key", "must be at most 200 characters")
	}
	return k
}

// keyedID is an opaque id for what a user asked for under an idempotency key: the same user, action and
// key give the same id; it reveals neither.
func keyedID(user uuid.UUID, parts ...string) string {
	h := sha256.New()
	h.Write(user[:])
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// keyedCaseRef is the case reference a case opened under an idempotency key gets: opaque, and the same
// for a repeat of the request.
func keyedCaseRef(user uuid.UUID, key string) string {
	sum := sha256.Sum256([]byte(keyedID(user, "open-case", key)))
	return domain.CaseRefOf(sum[:])
}

// keyedRef is an opaque reference (prefix and 26 base-32 characters) for what a user asked for under an
// idempotency key.
func keyedRef(prefix string, user uuid.UUID, action, key string) string {
	sum := sha256.Sum256([]byte(keyedID(user, action, key)))
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:])[:26])
}
