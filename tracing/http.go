package tracing

import (
	"context"
	"net/http"

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
	return otelhttp.NewTransport(base)
}

// Handler is h with a server span around each request, continuing a caller's trace (traceparent). The
// probes (/healthz, /readyz) are not traced. The handler names the span by its route template with
// NameServerSpan.
func Handler(h http.Handler) http.Handler {
	return otelhttp.NewHandler(h, "http", otelhttp.WithFilter(func(r *http.Request) bool {
		return r.URL.Path != "/healthz" && r.URL.Path != "/readyz"
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
