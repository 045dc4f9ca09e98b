package store

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/XSAM/otelsql"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Tracing: the pool is opened through otelsql, which makes a span of every
// statement, prepare, begin and commit under the span of the caller's
// context (the request's, the delivery's), and Transact makes one span of
// each transaction around them. Both use the process's tracer provider
// (package telemetry sets it; a no-op unless traces are exported).
//
// A statement whose context carries no span makes none: the background
// loops (following changes every 50 ms, retention, the webhook claims)
// would otherwise send a trace of one query twenty times a second.

// tracerName names the store's own spans' instrumentation scope.
const tracerName = "github.com/rosterhq/roster/store"

// openTraced opens a pool of driverName through otelsql.
func openTraced(driverName, dsn string, system attribute.KeyValue) (*sql.DB, error) {
	return otelsql.Open(driverName, dsn, traceOptions(system)...)
}

// openTracedConnector opens a pool of connector through otelsql.
func openTracedConnector(connector driver.Connector, system attribute.KeyValue) *sql.DB {
	return otelsql.OpenDB(connector, traceOptions(system)...)
}

func traceOptions(system attribute.KeyValue) []otelsql.Option {
	return []otelsql.Option{
		otelsql.WithAttributes(system),
		otelsql.WithSpanOptions(otelsql.SpanOptions{
			OmitConnResetSession: true,
			OmitRows:             true, // the query's span is the one that matters
			DisableErrSkip:       true,
			SpanFilter: func(ctx context.Context, _ otelsql.Method, _ string, _ []driver.NamedValue) bool {
				return trace.SpanContextFromContext(ctx).IsValid()
			},
		}),
	}
}

// startTx starts the span of one Transact call (retries included), when
// ctx has a span to hang it under.
func (db *DB) startTx(ctx context.Context) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx) // the no-op span already there
	}
	return otel.Tracer(tracerName).Start(ctx, "store.Transact",
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("db.system.name", db.d.system())))
}

// endTx ends a Transact span with its outcome and the attempts it took.
func endTx(span trace.Span, attempts int, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.Int("roster.tx.attempts", attempts))
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
