package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-run/sluice/internal/engine"
	"github.com/sluice-run/sluice/internal/telemetry"
)

// flushTimeout bounds how long serve waits at exit for the collector to take
// the spans still buffered.
const flushTimeout = 5 * time.Second

// tracer returns the engine's tracer for --otlp-endpoint, and the function
// that flushes it at exit; with no endpoint, no tracer (nil: nothing is
// created and nothing is sent) and a stop that does nothing.
func (a *app) tracer(endpoint string, logger *slog.Logger) (engine.Tracer, func(), error) {
	if endpoint == "" {
		return nil, func() {}, nil
	}
	tr, err := telemetry.New(telemetry.Options{Endpoint: endpoint, ServiceVersion: buildVersion()})
	if err != nil {
		return nil, nil, invalid("%w", err)
	}
	// The endpoint names a collector, never credentials (EndpointURL refuses
	// userinfo and queries), so it may be logged.
	logger.Info("exporting traces over OTLP/HTTP", "endpoint", endpoint)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		if err := tr.Shutdown(ctx); err != nil {
			logger.Warn("some spans could not be sent to the collector at exit", "error", err.Error())
		}
	}
	return tr, stop, nil
}

// checkOTLPEndpoint refuses a bad --otlp-endpoint before serve writes
// anything.
func checkOTLPEndpoint(endpoint string) error {
	if endpoint == "" {
		return nil
	}
	if _, err := telemetry.EndpointURL(endpoint); err != nil {
		return invalid("%w", err)
	}
	return nil
}
