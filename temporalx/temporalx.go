// Package temporalx connects SignetAssure to Temporal: a client from the environment (a local dev server,
// a self-hosted cluster or Temporal Cloud), and the search attributes registered where the server allows it.
package temporalx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	tlog "go.temporal.io/sdk/log"

	"github.com/signetassure/signetassure/tracing"
	"github.com/signetassure/signetassure/workflows"
)

// Dial connects to Temporal as TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY and TEMPORAL_TLS_*
// (or a TEMPORAL_CONFIG_FILE profile) say; with none set, the local dev server at localhost:7233. The
// SDK reports its metrics to metrics (metrics.Temporal; nil: none); see Instrument.
func Dial(ctx context.Context, log *slog.Logger, metrics client.MetricsHandler) (client.Client, error) {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil {
		return nil, fmt.Errorf("temporal configuration: %w", err)
	}
	if err := Instrument(&opts, log, metrics); err != nil {
		return nil, err
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to temporal at %s: %w", orDefault(opts.HostPort, client.DefaultHostPort), err)
	}
	return c, nil
}

// Instrument gives a client's options what every SignetAssure client has, so the workers made from it
// have it too: the SDK's log lines in log, its metrics in metrics (nil: none), and the OpenTelemetry
// tracing interceptor (tracing.TemporalInterceptor), which carries the caller's trace into the workflows
// it starts, signals and updates, and traces their runs and activities.
func Instrument(opts *client.Options, log *slog.Logger, metrics client.MetricsHandler) error {
	opts.Logger = tlog.NewStructuredLogger(log.With("component", "temporal"))
	opts.MetricsHandler = metrics
	traces, err := tracing.TemporalInterceptor()
	if err != nil {
		return fmt.Errorf("temporal tracing: %w", err)
	}
	opts.Interceptors = append(opts.Interceptors, traces)
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// EnsureSearchAttributes registers SignetAssure's search attributes on the namespace when they are
// missing. Temporal Cloud does not allow this through the SDK: there, register them once with tcld or
// the Cloud UI; a refusal is logged and not fatal.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, log *slog.Logger) {
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		log.Warn("cannot list search attributes; register them by hand", "error", err)
		return
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, k := range workflows.SearchAttributeKeys {
		if _, ok := have.CustomAttributes[k.GetName()]; !ok {
			missing[k.GetName()] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		}
	}
	if len(missing) == 0 {
		return
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		log.Warn("cannot register search attributes; register them by hand", "error", err)
		return
	}
	log.Info("registered search attributes", "count", len(missing))
}

// Namespace is the namespace Dial connects to.
func Namespace() string {
	opts, err := envconfig.LoadDefaultClientOptions()
	if err != nil || opts.Namespace == "" {
		return client.DefaultNamespace
	}
	return opts.Namespace
}
