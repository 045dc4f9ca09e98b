package server_test

import (
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/rosterhq/roster/grpcapi/authzv1"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/telemetry"
)

// otlpReceiver is a real OTLP/HTTP trace receiver: it decodes each export
// (protobuf ExportTraceServiceRequest on POST /v1/traces) and keeps its
// spans, and counts every request it gets, whatever the path.
type otlpReceiver struct {
	URL   string
	mu    sync.Mutex
	hits  int
	spans []*tracepb.Span
	names map[*tracepb.Span]string // span -> its instrumentation scope
	res   []string                 // service.name of each export's resources
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{names: map[*tracepb.Span]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.hits++
		r.mu.Unlock()
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("OTLP receiver: %s %s (%s)", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
			http.Error(w, "not an OTLP trace export", http.StatusNotFound)
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var export coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &export); err != nil {
			t.Errorf("OTLP receiver: decode: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range export.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					r.res = append(r.res, kv.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					r.spans = append(r.spans, s)
					r.names[s] = ss.GetScope().GetName()
				}
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// trace returns the spans received with the trace ID (hex).
func (r *otlpReceiver) trace(traceID string) []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*tracepb.Span
	for _, s := range r.spans {
		if hex.EncodeToString(s.TraceId) == traceID {
			out = append(out, s)
		}
	}
	return out
}

func (r *otlpReceiver) scope(s *tracepb.Span) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.names[s]
}

// startTracing starts the process's tracing as `roster serve` does, from
// the environment, and stops it (flushing) when the test ends; stop
// flushes earlier.
func startTracing(t *testing.T) (cfg telemetry.Config, stop func()) {
	t.Helper()
	cfg, err := telemetry.FromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	shutdown, err := telemetry.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Errorf("flush: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return cfg, stop
}

const (
	httpTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	httpParent  = "00f067aa0ba902b7"
	grpcTraceID = "0af7651916cd43dd8448eb211c80319c"
)

// TestTracing_RequestSpansReachOTLPReceiver: with
// OTEL_EXPORTER_OTLP_ENDPOINT set, one API request sent with a W3C
// traceparent reaches a real OTLP/HTTP receiver as its server span (named
// by its route, the caller's span its parent) and the database spans of
// that request, a transaction among them, all in the caller's trace; the
// request's log line carries the trace ID; a gRPC check sent with a
// traceparent is a server span of its trace; a webhook delivery is a
// client span whose traceparent the receiver gets. Spans are flushed when
// tracing stops (as at shutdown). Not parallel: it sets the environment
// and the process's tracer provider.
func TestTracing_RequestSpansReachOTLPReceiver(t *testing.T) {
	recv := newOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "roster-under-test")
	cfg, stop := startTracing(t)
	if !cfg.Export {
		t.Fatal("FromEnv: export off with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) {
		c.Tracing = cfg.Export
		c.WebhookAllowPrivate = true
	}})

	// A webhook receiver, to see the traceparent a delivery carries.
	hooks := make(chan string, 4)
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hooks <- r.Header.Get("Traceparent")
	}))
	t.Cleanup(hookSrv.Close)

	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	e.Commit(t, acct)
	owner.Must(201, "POST", "/v1/accounts/"+acct+"/webhooks",
		map[string]any{"url": hookSrv.URL + "/hook", "events": []string{"member.joined"}})
	_, devID := e.Join(t, owner, acct, "dev@acme-corp.com", "developer")

	// The request under test: a write (a transaction) with a traceparent.
	owner.Header.Set("Traceparent", "00-"+httpTraceID+"-"+httpParent+"-01")
	owner.Must(200, "PATCH", "/v1/accounts/"+acct+"/members/"+itoa(devID), map[string]any{"role": "admin"})
	owner.Header.Del("Traceparent")

	// A gRPC check with a traceparent, on the server's own options.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := e.Server.GRPCServer()
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	ctx := metadata.AppendToOutgoingContext(context.Background(),
		"authorization", "Bearer "+servertest.ServiceToken,
		"traceparent", "00-"+grpcTraceID+"-"+httpParent+"-01")
	if _, err := authzv1.NewAuthzServiceClient(cc).Check(ctx, &authzv1.CheckRequest{AccountId: acct,
		Subject: &authzv1.CheckRequest_UserId{UserId: devID}, Permission: "numbers.view"}); err != nil {
		t.Fatal(err)
	}

	var hookParent string
	select {
	case hookParent = <-hooks:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook delivery in 30 s")
	}
	// The delivery's span ends when its answer has been read: wait for
	// the delivery to be recorded as done.
	for deadline := time.Now().Add(30 * time.Second); e.Count(t, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'") == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the delivery was not recorded as delivered in 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop() // flush, as at shutdown

	// The HTTP request: a server span and database spans, one trace.
	spans := recv.trace(httpTraceID)
	var serverSpan *tracepb.Span
	dbSpans, txSpans := 0, 0
	for _, s := range spans {
		switch {
		case s.Kind == tracepb.Span_SPAN_KIND_SERVER:
			if serverSpan != nil {
				t.Errorf("two server spans in the request's trace: %q and %q", serverSpan.Name, s.Name)
			}
			serverSpan = s
		case s.Name == "store.Transact":
			txSpans++
		case strings.HasPrefix(s.Name, "sql.") && recv.scope(s) == "github.com/XSAM/otelsql":
			dbSpans++
		}
	}
	if serverSpan == nil {
		t.Fatalf("no server span with trace ID %s among %d spans received", httpTraceID, len(recv.spans))
	}
	if want := "PATCH /v1/accounts/{id}/members/{user_id}"; serverSpan.Name != want {
		t.Errorf("server span %q, want %q", serverSpan.Name, want)
	}
	if got := hex.EncodeToString(serverSpan.ParentSpanId); got != httpParent {
		t.Errorf("server span's parent %s, want the traceparent's %s", got, httpParent)
	}
	if txSpans == 0 || dbSpans == 0 {
		t.Errorf("trace %s: %d transaction spans and %d database spans, want some of each (spans: %v)", httpTraceID, txSpans, dbSpans, names(spans))
	}
	for _, s := range spans {
		if s != serverSpan && len(s.ParentSpanId) == 0 {
			t.Errorf("span %q in the trace has no parent", s.Name)
		}
	}

	t.Logf("trace %s: %v", httpTraceID, names(spans))

	// The request's log line carries the trace ID.
	line := regexp.MustCompile(`(?m)^.*msg=request .*route="PATCH /v1/accounts/\{id\}/members/\{user_id\}".*$`).FindString(e.Logs.String())
	if !strings.Contains(line, "trace_id="+httpTraceID) {
		t.Errorf("request log line %q lacks trace_id=%s", line, httpTraceID)
	}

	// The gRPC check: a server span of the caller's trace.
	var grpcSpan *tracepb.Span
	for _, s := range recv.trace(grpcTraceID) {
		if s.Kind == tracepb.Span_SPAN_KIND_SERVER {
			grpcSpan = s
		}
	}
	if grpcSpan == nil || grpcSpan.Name != "roster.authz.v1.AuthzService/Check" {
		t.Errorf("gRPC check: server span %v, want roster.authz.v1.AuthzService/Check in trace %s", grpcSpan, grpcTraceID)
	}

	// The webhook delivery: a client span whose traceparent the receiver got.
	m := regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$`).FindStringSubmatch(hookParent)
	if m == nil {
		t.Fatalf("webhook delivery's traceparent %q", hookParent)
	}
	found := false
	for _, s := range recv.trace(m[1]) {
		if s.Kind == tracepb.Span_SPAN_KIND_CLIENT && hex.EncodeToString(s.SpanId) == m[2] {
			found = true
		}
	}
	if !found {
		t.Errorf("no client span %s in trace %s: the delivery's span was not exported", m[2], m[1])
	}

	recv.mu.Lock()
	defer recv.mu.Unlock()
	for _, name := range recv.res {
		if name != "roster-under-test" {
			t.Errorf("service.name %q, want OTEL_SERVICE_NAME's roster-under-test", name)
		}
	}
}

// TestTracing_OffWithoutEndpoint: with no OTLP endpoint set nothing is
// exported and no receiver is contacted, yet a request's traceparent is
// taken: its log line carries the caller's trace ID.
func TestTracing_OffWithoutEndpoint(t *testing.T) {
	recv := newOTLPReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	// The receiver's address in a variable that does not turn export on.
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-receiver="+recv.URL)
	cfg, stop := startTracing(t)
	if cfg.Export {
		t.Fatal("FromEnv: export on with no endpoint")
	}
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.Tracing = cfg.Export }})
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	owner.Header.Set("Traceparent", "00-"+httpTraceID+"-"+httpParent+"-01")
	owner.Must(200, "GET", "/v1/accounts/"+acct+"/members", nil)
	stop()

	recv.mu.Lock()
	hits := recv.hits
	recv.mu.Unlock()
	if hits != 0 {
		t.Errorf("the OTLP receiver was contacted %d times with tracing off", hits)
	}
	line := regexp.MustCompile(`(?m)^.*msg=request .*route="GET /v1/accounts/\{id\}/members".*$`).FindString(e.Logs.String())
	if !strings.Contains(line, "trace_id="+httpTraceID) {
		t.Errorf("request log line %q lacks the caller's trace_id=%s", line, httpTraceID)
	}
}

func names(spans []*tracepb.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}
