package tracing

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// dropped are the attributes OpenTelemetry's HTTP instrumentation records that can name a person: the
// query string (a search by name, an e-mail address), the caller's address and user agent, and the raw
// request path of a server span (a person's or case's id; http.route, the route template, stays).
var dropped = map[attribute.Key]bool{
	semconv.URLQueryKey:                 true,
	semconv.URLPathKey:                  true,
	semconv.ClientAddressKey:            true,
	semconv.ClientPortKey:               true,
	semconv.NetworkPeerAddressKey:       true,
	semconv.NetworkPeerPortKey:          true,
	semconv.UserAgentOriginalKey:        true,
	semconv.URLFragmentKey:              true,
	attribute.Key("http.target"):        true, // older conventions' names of the same
	attribute.Key("http.url"):           true,
	attribute.Key("http.client_ip"):     true,
	attribute.Key("net.peer.ip"):        true,
	attribute.Key("net.sock.peer.addr"): true,
}

// Redact passes spans to exp without the attributes that could carry personal data: url.full keeps
// its scheme, host and path (the ids of outside systems' resources) but loses its query, fragment and
// any credentials; url.query, url.path, the caller's address and user agent are left out; a URL within
// any other string attribute, a recorded error or the status description loses its query.
func Redact(exp sdktrace.SpanExporter) sdktrace.SpanExporter { return redactor{exp} }

type redactor struct{ sdktrace.SpanExporter }

func (r redactor) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redacted{ReadOnlySpan: s, attrs: redactAttributes(s.Attributes())}
	}
	return r.SpanExporter.ExportSpans(ctx, out)
}

type redacted struct {
	sdktrace.ReadOnlySpan
	attrs []attribute.KeyValue
}

func (r redacted) Attributes() []attribute.KeyValue { return r.attrs }

// Status is the span's status, any URL in its description without its query: an error's text names the
// URL it was calling (Go's url.Error).
func (r redacted) Status() sdktrace.Status {
	st := r.ReadOnlySpan.Status()
	st.Description = urlQuery.ReplaceAllString(st.Description, "$1")
	return st
}

// Events are the span's events (recorded errors), their string attributes' URLs without their queries.
func (r redacted) Events() []sdktrace.Event {
	in := r.ReadOnlySpan.Events()
	out := make([]sdktrace.Event, len(in))
	for i, ev := range in {
		ev.Attributes = redactAttributes(ev.Attributes)
		out[i] = ev
	}
	return out
}

// urlQuery matches a URL's query (and fragment) within text; $1 is the URL before it.
var urlQuery = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'?#]*)[?#][^\s"']*`)

func redactAttributes(in []attribute.KeyValue) []attribute.KeyValue {
	out := make([]attribute.KeyValue, 0, len(in))
	for _, kv := range in {
		switch {
		case dropped[kv.Key]:
		case kv.Key == semconv.URLFullKey:
			out = append(out, semconv.URLFull(withoutQuery(kv.Value.AsString())))
		case kv.Value.Type() == attribute.STRING && strings.Contains(kv.Value.AsString(), "://"):
			out = append(out, attribute.String(string(kv.Key), urlQuery.ReplaceAllString(kv.Value.AsString(), "$1")))
		default:
			out = append(out, kv)
		}
	}
	return out
}

// withoutQuery is raw without its query, fragment and user info; what cannot be parsed is left out.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}).String()
}
