package tracing

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Transport is base (nil: http.DefaultTransport) with a client span around each request to an outside
// system, named "HTTP <method>", and the trace context in its traceparent header.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return otelhttp.NewTransport(base, otelhttp.WithPropagators(Propagator))
}

// Handler is h with a server span around each request. A request to the staff API (/api/v1/) continues
// its caller's trace (traceparent); any other (partners, providers' webhooks, the public pages) starts a
// trace of its own, linked to the caller's, so an outside party neither chooses what is sampled nor
// threads its trace through ours. The probes (/healthz, /readyz) are not traced. The handler names the
// span by its route template with NameServerSpan.
func Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http", otelhttp.WithPropagators(Propagator), otelhttp.WithFilter(func(r *http.Request) bool {
		return r.URL.Path != "/healthz" && r.URL.Path != "/readyz"
	}), otelhttp.WithPublicEndpointFn(func(r *http.Request) bool {
		return !strings.HasPrefix(r.URL.Path, "/api/v1/")
	}))
}

// NameServerSpan names the server span in ctx (Handler) "<method> <route>" after the route template
// the request matched (e.g. "POST /api/v1/cases/:caseRef", never the raw path) and records the route.
func NameServerSpan(ctx context.Context, method, route string) {
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.SetName(method + " " + route)
		span.SetAttributes(semconv.HTTPRoute(route))
	}
}
