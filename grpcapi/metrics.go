package grpcapi

import (
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// HandlingBuckets are the bounds of grpc_server_handling_seconds: 10 µs
// to about 2.6 s.
var HandlingBuckets = prometheus.ExponentialBuckets(1e-5, 4, 10)

// Metrics counts the calls of a server New made, per method and status
// code, in the series every gRPC dashboard and alert already knows (those
// of go-grpc-middleware's Prometheus provider, same names, labels and
// help): grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total and the
// histogram grpc_server_handling_seconds (HandlingBuckets). Register it
// on a registry (it is a prometheus.Collector).
//
// It is written here rather than taken from that provider because a call
// is the check's hot path: each method's series are looked up once, when
// New registers the methods (every series then exists at 0), so a call
// costs one map lookup and the counters' atomic adds, with no label
// hashing and no allocation.
type Metrics struct {
	started, handled, received, sent *prometheus.CounterVec
	handling                         *prometheus.HistogramVec
	mu                               sync.Mutex                                // held by init
	methods                          atomic.Pointer[map[string]*methodMetrics] // by full method name; replaced by init, never changed
}

// methodMetrics are one method's series.
type methodMetrics struct {
	started, received, sent prometheus.Counter
	handling                prometheus.Observer
	handled                 [numCodes]prometheus.Counter // by code
	vec                     *prometheus.CounterVec       // grpc_server_handled_total, for a code past them
	labels                  [3]string                    // type, service, method
}

// numCodes: the codes grpc-go defines, OK (0) to Unauthenticated (16).
const numCodes = int(codes.Unauthenticated) + 1

// NewMetrics returns the series, empty until New registers a server's
// methods.
func NewMetrics() *Metrics {
	labels := []string{"grpc_type", "grpc_service", "grpc_method"}
	return &Metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_started_total",
			Help: "Total number of RPCs started on the server.",
		}, labels),
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_handled_total",
			Help: "Total number of RPCs completed on the server, regardless of success or failure.",
		}, append(labels[:3:3], "grpc_code")),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_received_total",
			Help: "Total number of RPC stream messages received on the server.",
		}, labels),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "grpc_server_msg_sent_total",
			Help: "Total number of gRPC stream messages sent by the server.",
		}, labels),
		handling: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "grpc_server_handling_seconds",
			Help:    "Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
			Buckets: HandlingBuckets,
		}, labels),
	}
}

// Describe is prometheus.Collector's.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	m.started.Describe(ch)
	m.handled.Describe(ch)
	m.received.Describe(ch)
	m.sent.Describe(ch)
	m.handling.Describe(ch)
}

// Collect is prometheus.Collector's.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.started.Collect(ch)
	m.handled.Collect(ch)
	m.received.Collect(ch)
	m.sent.Collect(ch)
	m.handling.Collect(ch)
}

// init makes every series of every method gs serves, at 0, and keeps
// them by full method name. New calls it before the server serves; other
// servers counted on m may be serving (copy on write).
func (m *Metrics) init(gs *grpc.Server) {
	m.mu.Lock()
	defer m.mu.Unlock()
	methods := map[string]*methodMetrics{}
	if old := m.methods.Load(); old != nil {
		maps.Copy(methods, *old)
	}
	for service, info := range gs.GetServiceInfo() {
		for _, mi := range info.Methods {
			methods["/"+service+"/"+mi.Name] = m.series(callType(mi.IsClientStream, mi.IsServerStream), service, mi.Name)
		}
	}
	m.methods.Store(&methods)
}

// series looks up (making them) one method's series.
func (m *Metrics) series(typ, service, method string) *methodMetrics {
	mm := &methodMetrics{
		started:  m.started.WithLabelValues(typ, service, method),
		received: m.received.WithLabelValues(typ, service, method),
		sent:     m.sent.WithLabelValues(typ, service, method),
		handling: m.handling.WithLabelValues(typ, service, method),
		vec:      m.handled,
		labels:   [3]string{typ, service, method},
	}
	for c := range mm.handled {
		mm.handled[c] = m.handled.WithLabelValues(typ, service, method, codes.Code(c).String())
	}
	return mm
}

// method returns the series of a call to fullMethod ("/service/method")
// of type typ; nil when m is nil (no metrics). A method New did not see
// (none: grpc-go answers unknown methods itself, before any interceptor)
// would be looked up on every call.
func (m *Metrics) method(fullMethod, typ string) *methodMetrics {
	if m == nil {
		return nil
	}
	if methods := m.methods.Load(); methods != nil {
		if mm := (*methods)[fullMethod]; mm != nil {
			return mm
		}
	}
	service, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok {
		service, method = "unknown", "unknown"
	}
	return m.series(typ, service, method)
}

// start counts a call started.
func (mm *methodMetrics) start() {
	if mm != nil {
		mm.started.Inc()
	}
}

// done counts a call handled with code after d.
func (mm *methodMetrics) done(code codes.Code, d time.Duration) {
	if mm == nil {
		return
	}
	if int(code) < numCodes {
		mm.handled[code].Inc()
	} else {
		mm.vec.WithLabelValues(mm.labels[0], mm.labels[1], mm.labels[2], code.String()).Inc()
	}
	mm.handling.Observe(d.Seconds())
}

// callType is the grpc_type label of a method.
func callType(clientStream, serverStream bool) string {
	switch {
	case clientStream && serverStream:
		return "bidi_stream"
	case clientStream:
		return "client_stream"
	case serverStream:
		return "server_stream"
	}
	return "unary"
}

// countedStream counts a stream's messages received and sent.
type countedStream struct {
	grpc.ServerStream
	mm *methodMetrics
}

func (s *countedStream) RecvMsg(msg any) error {
	err := s.ServerStream.RecvMsg(msg)
	if err == nil {
		s.mm.received.Inc()
	}
	return err
}

func (s *countedStream) SendMsg(msg any) error {
	err := s.ServerStream.SendMsg(msg)
	if err == nil {
		s.mm.sent.Inc()
	}
	return err
}
