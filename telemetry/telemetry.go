// Package telemetry sets up OpenTelemetry tracing for the process: the W3C
// trace context and baggage propagator always (so a request's traceparent
// is taken, logged and passed on), and, when the standard
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set,
// an SDK tracer provider that exports spans over OTLP/HTTP (protobuf).
// Otherwise the tracer provider stays a no-op: spans cost a context value
// and nothing is sent.
//
// The instrumentation lives beside what it measures and uses the process's
// (global) provider: otelhttp around the public handler (server), the
// otelgrpc stats handler (grpcapi), otelsql under the store's connection
// pool and a span per store transaction (store), otelhttp on the outgoing
// clients for webhooks and identity providers (webhook).
//
// Whether to export is read once by cmd/roster (FromEnv); the exporter, the
// sampler, the batch processor and the resource then honour the other
// OTEL_* variables through the SDK's own environment handling, as every
// OpenTelemetry SDK does (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _COMPRESSION, _CERTIFICATE, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES).
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is service.name unless OTEL_SERVICE_NAME (or
// service.name in OTEL_RESOURCE_ATTRIBUTES) says otherwise.
const DefaultServiceName = "roster"

// Config says whether and how to trace.
type Config struct {
	// Export turns the OTLP exporter on; false leaves the no-op tracer
	// provider (the propagator is set either way).
	Export bool
	// Version is service.version ("" for none).
	Version string
	// Log receives the SDK's errors (an export that failed), at warning
	// level; nil discards them.
	Log *slog.Logger
}

// FromEnv reads from getenv (os.Getenv) whether traces are exported: when
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT is set,
// unless OTEL_SDK_DISABLED is "true" or OTEL_TRACES_EXPORTER is "none". Only
// OTLP over HTTP with protobuf is built in: an OTEL_TRACES_EXPORTER other
// than "otlp" or an OTEL_EXPORTER_OTLP(_TRACES)_PROTOCOL other than
// "http/protobuf" is an error, rather than spans sent where nothing reads
// them.
func FromEnv(getenv func(string) string) (Config, error) {
	var c Config
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return c, nil
	}
	switch e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e {
	case "", "otlp":
	case "none":
		return c, nil
	default:
		return c, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: only otlp (or none) is built in", e)
	}
	if getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" {
		return c, nil
	}
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(getenv(k)); p != "" {
			if p != "http/protobuf" {
				return c, fmt.Errorf("%s=%q: only http/protobuf is built in", k, p)
			}
			break // the traces-specific one wins
		}
	}
	c.Export = true
	return c, nil
}

// Propagator is the W3C trace context and baggage, the one the process
// takes from requests and puts on its own.
func Propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// Start sets the process's propagator and tracer provider. The returned
// shutdown flushes the spans not yet exported and stops the exporter
// (give it a context with a deadline: the collector may be away); it
// restores the no-op provider, so Start may be called again (tests).
func Start(ctx context.Context, c Config) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(Propagator())
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "err", err)
	}))
	if !c.Export {
		otel.SetTracerProvider(noop.NewTracerProvider())
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
	}
	attrs := []resource.Option{resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(DefaultServiceName))}
	if c.Version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(c.Version)))
	}
	// Later detectors win: OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
	// over the defaults.
	attrs = append(attrs, resource.WithFromEnv())
	res, err := resource.New(ctx, attrs...)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	// The sampler is the SDK's default, read from OTEL_TRACES_SAMPLER
	// (parentbased_always_on when unset); the batcher reads OTEL_BSP_*.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	log.Info("tracing: exporting spans over OTLP/HTTP", "service", serviceName(res))
	return func(ctx context.Context) error {
		otel.SetTracerProvider(noop.NewTracerProvider())
		if err := tp.Shutdown(ctx); err != nil {
			return fmt.Errorf("tracing: flush: %w", err)
		}
		return nil
	}, nil
}

func serviceName(res *resource.Resource) string {
	if v, ok := res.Set().Value(semconv.ServiceNameKey); ok {
		return v.AsString()
	}
	return DefaultServiceName
}
