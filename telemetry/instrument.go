package telemetry

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// HTTPHandler wraps a public handler. With export it is otelhttp's: a
// server span per request, a child of the request's traceparent (the
// request log names it by its route). Without, only the traceparent and
// baggage are taken into the request's context, so the request log still
// shows the caller's trace ID and outgoing calls pass it on; a request
// without them costs two header look-ups.
//
// GET /healthz (load balancers' probe, every few seconds) makes no span.
func HTTPHandler(h http.Handler, export bool) http.Handler {
	if export {
		return otelhttp.NewHandler(h, "roster", otelhttp.WithFilter(func(r *http.Request) bool {
			return r.URL.Path != "/healthz"
		}))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Looked up by their canonical keys: Header.Get would allocate the
		// canonical form of "traceparent" on every request.
		if r.Header["Traceparent"] != nil || r.Header["Baggage"] != nil {
			ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// GRPCServerOptions are the options of a gRPC server that traces: with
// export otelgrpc's stats handler (a server span per call, a child of the
// call's traceparent metadata; the health service's calls make none),
// else none, so the check costs nothing more.
func GRPCServerOptions(export bool) []grpc.ServerOption {
	if !export {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
			return info.FullMethodName != "/grpc.health.v1.Health/Check" && info.FullMethodName != "/grpc.health.v1.Health/Watch"
		})))}
}
