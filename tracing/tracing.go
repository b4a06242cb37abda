// Package tracing gives SignetAssure's processes OpenTelemetry traces: one trace from an HTTP request
// through the Temporal workflow and its activities to every outside call. Tracing is switched on by the
// standard OTEL_* variables (an OTLP exporter by default); with none of them set, or
// OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true, no exporter runs and spans are not recorded.
// Whatever is exported passes Redact first: no query strings, caller addresses or raw request paths.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"
)

// Propagator carries the trace across processes: W3C trace context only. Baggage is not taken from
// callers, so nothing a caller sends travels into workflow histories.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Enabled reports whether the environment asks for traces: OTEL_TRACES_EXPORTER, or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), unless OTEL_SDK_DISABLED=true or
// OTEL_TRACES_EXPORTER=none.
func Enabled() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := strings.TrimSpace(os.Getenv("OTEL_TRACES_EXPORTER")); exp {
	case "none":
		return false
	case "":
		return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default:
		return true
	}
}

// Start sets the process's tracer provider as the environment says (see Enabled; the exporter, its
// endpoint, headers and protocol, the sampler and the resource all from OTEL_*; the service name is
// service unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES name one) and the trace context
// propagator. stop flushes the spans not yet exported and stops the exporter; call it at shutdown. With
// tracing off, the global provider stays OpenTelemetry's no-op one and stop does nothing.
func Start(ctx context.Context, service string, log *slog.Logger) (stop func(context.Context) error, err error) {
	otel.SetTextMapPropagator(Propagator)
	nothing := func(context.Context) error { return nil }
	if !Enabled() {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return nothing, nil
	}
	exp, err := autoexport.NewSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTEL_TRACES_EXPORTER: %w", err)
	}
	if autoexport.IsNoneSpanExporter(exp) {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return nothing, nil
	}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName(service)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	tp := NewProvider(exp, sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("tracing", "error", err) }))
	log.Info("tracing on", "exporter", orDefault(os.Getenv("OTEL_TRACES_EXPORTER"), "otlp"))
	return tp.Shutdown, nil
}

// NewProvider is a tracer provider that sends its spans through Redact to exp in batches (OTEL_BSP_*),
// sampled as OTEL_TRACES_SAMPLER says (by default: every trace not sampled out by its caller).
func NewProvider(exp sdktrace.SpanExporter, opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithBatcher(Redact(exp))}, opts...)...)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
