package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// Reading a request body: its size, the time it may take to arrive, and strict JSON whose errors name
// the field at fault. Every body passes here; decode then hands it to the request boundary (boundary.go).

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// decode reads a JSON request body strictly: one object, no unknown fields, no trailing data, at most
// maxBody bytes, then passes every string and date it holds through the text and date boundary
// (cleanRequest). Its errors name each field at fault; nothing of a refused body reaches a handler.
func decode(c *gin.Context, dst any) error {
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeBytes(body, dst)
}

// decodeOptional is decode for a request whose body may be left out (every field optional): an empty
// body leaves dst as it is.
func decodeOptional(c *gin.Context, dst any) error {
	body, err := readBody(c)
	if err != nil || len(bytes.TrimSpace(body)) == 0 {
		return err
	}
	return decodeBytes(body, dst)
}

// decodeBytes is decode for a body already read.
func decodeBytes(body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return invalid(FieldError{Field: "body", Message: "a JSON object is required"})
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonProblem(err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return invalid(FieldError{Field: "body", Message: "must hold a single JSON object"})
	}
	return cleanRequest(dst).err()
}

func jsonProblem(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return invalid(FieldError{Field: "body", Message: "malformed JSON"})
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalid(FieldError{Field: "body", Message: "must be a JSON object"})
		}
		return invalid(FieldError{Field: typ.Field, Message: "must be a " + jsonKind(typ.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(FieldError{Field: name, Message: "unknown field"})
	}
	return invalid(FieldError{Field: "body", Message: "malformed JSON"})
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "slice", "array":
		return "list"
	case "struct", "map":
		return "object"
	default:
		return "number"
	}
}

// readBody reads a request body of at most maxBody bytes.
func readBody(c *gin.Context) ([]byte, error) { return readBodyUpTo(c, maxBody) }

// readBodyUpTo reads a request body of at most limit bytes, within the server's BodyTimeout: a body
// trickled in slowly does not hold a connection.
func readBodyUpTo(c *gin.Context, limit int64) ([]byte, error) {
	v, _ := c.Get(bodyTimeoutKey)
	if d, ok := v.(time.Duration); ok && d > 0 {
		rc := http.NewResponseController(c.Writer)
		if rc.SetReadDeadline(time.Now().Add(d)) == nil {
			// Cleared once read: the connection's next request, or a stream, has its own time.
			defer rc.SetReadDeadline(time.Time{})
		}
	}
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(c.Writer, c.Request.Body, limit))
	var tooBig *http.MaxBytesError
	var netErr net.Error
	if errors.As(err, &tooBig) {
		return nil, invalid(FieldError{Field: "body", Message: fmt.Sprintf("larger than %d bytes", limit)})
	}
	if errors.As(err, &netErr) && netErr.Timeout() {
		p := problem(http.StatusRequestTimeout, "timeout", "the request body did not arrive in time; nothing was changed")
		p.Errors = []FieldError{{Field: "body", Message: "did not arrive in time"}}
		c.Header("Connection", "close")
		return nil, p
	}
	if err != nil {
		return nil, invalid(FieldError{Field: "body", Message: "could not be read"})
	}
	return buf.Bytes(), nil
}
