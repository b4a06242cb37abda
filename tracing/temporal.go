package tracing

import (
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
)

// TemporalInterceptor is the Temporal SDK's OpenTelemetry tracing interceptor, for a client's options:
// starting, signalling and updating a workflow carry the caller's span in the Temporal headers, and the
// client's workers (which take its interceptors) trace each workflow run, update, activity start and
// activity run under it. It reads the global tracer provider (Start) and writes only the W3C trace
// context into headers, no baggage. The loggers workflows and activities get (workflow.GetLogger,
// activity.GetLogger) carry trace_id and span_id, as the processes' own log lines do.
func TemporalInterceptor() (interceptor.Interceptor, error) {
	t, err := temporalotel.NewTracer(temporalotel.TracerOptions{TextMapPropagator: Propagator, DisableBaggage: true})
	if err != nil {
		return nil, err
	}
	return interceptor.NewTracingInterceptor(logFields{t}), nil
}

// logFields names the span's ids in SDK loggers as LogHandler does (the contrib tracer says TraceID and
// SpanID).
type logFields struct{ interceptor.Tracer }

func (t logFields) GetLogger(logger log.Logger, ref interceptor.TracerSpanRef) log.Logger {
	s, ok := ref.(interface{ SpanContext() trace.SpanContext })
	if !ok || !s.SpanContext().IsValid() {
		return logger
	}
	return log.With(logger, "trace_id", s.SpanContext().TraceID().String(), "span_id", s.SpanContext().SpanID().String())
}
