package grpcapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/rosterhq/roster/grpcapi"
	"github.com/rosterhq/roster/grpcapi/authzv1"
	"github.com/rosterhq/roster/server/servertest"
)

// serveWired serves the server's own gRPC server (server.GRPCServer: the
// one `roster serve` runs, with its metrics) and returns a connection to it.
func serveWired(tb testing.TB, e *servertest.Env) *grpc.ClientConn {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := e.Server.GRPCServer()
	go gs.Serve(ln)
	tb.Cleanup(gs.Stop)
	return dial(tb, ln.Addr().String())
}

// reflectionClient asks the server reflection service (grpc.reflection.v1)
// what grpcurl and Postman ask, on one stream.
type reflectionClient struct {
	tb     testing.TB
	stream grpc.BidiStreamingClient[reflectionpb.ServerReflectionRequest, reflectionpb.ServerReflectionResponse]
}

func (r *reflectionClient) ask(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
	r.tb.Helper()
	if err := r.stream.Send(req); err != nil {
		r.tb.Fatal(err)
	}
	resp, err := r.stream.Recv()
	if err != nil {
		r.tb.Fatal(err)
	}
	if e := resp.GetErrorResponse(); e != nil {
		r.tb.Fatalf("reflection %v: %s", req, e.ErrorMessage)
	}
	return resp
}

// files resolves symbol to its file and, asking again for any import the
// server has not sent yet, every file it depends on: the descriptors
// alone, as a client without the .proto has them.
func (r *reflectionClient) files(symbol string) *protoregistryFiles {
	r.tb.Helper()
	byName := map[string]*descriptorpb.FileDescriptorProto{}
	add := func(resp *reflectionpb.ServerReflectionResponse) {
		for _, b := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(b, fd); err != nil {
				r.tb.Fatal(err)
			}
			byName[fd.GetName()] = fd
		}
	}
	add(r.ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: symbol}}))
	for {
		var missing string
		for _, fd := range byName {
			for _, dep := range fd.GetDependency() {
				if byName[dep] == nil {
					missing = dep
				}
			}
		}
		if missing == "" {
			break
		}
		add(r.ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileByFilename{FileByFilename: missing}}))
	}
	set := &descriptorpb.FileDescriptorSet{}
	for _, fd := range byName {
		set.File = append(set.File, fd)
	}
	files, err := protodesc.NewFiles(set)
	if err != nil {
		r.tb.Fatal(err)
	}
	return &protoregistryFiles{tb: r.tb, files: files}
}

type protoregistryFiles struct {
	tb    testing.TB
	files interface {
		FindDescriptorByName(protoreflect.FullName) (protoreflect.Descriptor, error)
	}
}

func (f *protoregistryFiles) service(name string) protoreflect.ServiceDescriptor {
	f.tb.Helper()
	d, err := f.files.FindDescriptorByName(protoreflect.FullName(name))
	if err != nil {
		f.tb.Fatal(err)
	}
	return d.(protoreflect.ServiceDescriptor)
}

// callJSON calls a method as grpcurl -d '{...}' does: the request built
// from JSON by the method's descriptor from reflection, the answer as JSON.
func callJSON(ctx context.Context, tb testing.TB, cc *grpc.ClientConn, m protoreflect.MethodDescriptor, reqJSON string) (string, error) {
	tb.Helper()
	in := dynamicpb.NewMessage(m.Input())
	if err := protojson.Unmarshal([]byte(reqJSON), in); err != nil {
		tb.Fatal(err)
	}
	out := dynamicpb.NewMessage(m.Output())
	full := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
	if err := cc.Invoke(ctx, full, in, out); err != nil {
		return "", err
	}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(out)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b), nil
}

// A client with no .proto (grpcurl, Postman) lists the services by server
// reflection, resolves the check service's descriptors, and calls Check
// and CheckBatch with requests it builds from JSON by those descriptors.
// Reflection needs no token; the calls do.
func TestReflection_ListResolveAndCallWithoutTheProto(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	ownerID := int64(owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	cc := serveWired(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	stream, err := reflectionpb.NewServerReflectionClient(cc).ServerReflectionInfo(ctx) // no token
	if err != nil {
		t.Fatal(err)
	}
	rc := &reflectionClient{tb: t, stream: stream}
	var names []string
	for _, s := range rc.ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{ListServices: "*"}}).GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{grpcapi.ServiceName, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("list services %v: no %s", names, want)
		}
	}

	svc := rc.files(grpcapi.ServiceName).service(grpcapi.ServiceName)
	var methods []string
	for i := range svc.Methods().Len() {
		methods = append(methods, string(svc.Methods().Get(i).Name()))
	}
	if !slices.Equal(methods, []string{"Check", "CheckBatch"}) {
		t.Fatalf("methods %v", methods)
	}
	check := svc.Methods().ByName("Check")
	if got := string(check.Input().FullName()); got != "roster.authz.v1.CheckRequest" {
		t.Errorf("Check takes %s", got)
	}

	authed := withTokenCtx(ctx, servertest.ServiceToken)
	got, err := callJSON(authed, t, cc, check, `{"account_id": "`+acct+`", "user_id": "`+strconv.FormatInt(ownerID, 10)+`", "permission": "team.edit"}`)
	if err != nil || !sameJSON(t, got, `{"allowed":true,"role":"owner","reason":"allowed"}`) {
		t.Errorf("Check by reflection: %s %v", got, err)
	}
	got, err = callJSON(authed, t, cc, svc.Methods().ByName("CheckBatch"),
		`{"checks": [{"account_id": "`+acct+`", "user_id": "`+strconv.FormatInt(ownerID, 10)+`", "permission": "numbers.view"}, {"account_id": "`+acct+`", "user_id": "999999", "permission": "numbers.view"}]}`)
	if err != nil || !sameJSON(t, got, `{"results":[{"allowed":true,"role":"owner","reason":"allowed"},{"reason":"not_member"}]}`) {
		t.Errorf("CheckBatch by reflection: %s %v", got, err)
	}
	// The dynamic call is refused like any other without the token.
	_, err = callJSON(ctx, t, cc, check, `{"account_id": "`+acct+`", "user_id": "1", "permission": "team.edit"}`)
	wantCode(t, err, codes.Unauthenticated)
}

// The gRPC calls are counted per method and status code on the admin
// listener's /metrics (the series of go-grpc-middleware's Prometheus
// provider), refused calls too, streams' messages each; every method's
// series is there from the start.
func TestMetrics_PerMethodAndCode(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	owner, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	ownerID := int64(owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	adm := httptest.NewServer(e.Server.Admin.Handler())
	t.Cleanup(adm.Close)
	scrape := func() string {
		t.Helper()
		resp, err := http.Get(adm.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
		}
		return string(b)
	}
	conn := serveWired(t, e)
	c := authzv1.NewAuthzServiceClient(conn)
	before := scrape()
	for _, want := range []string{
		// The names, help and labels of go-grpc-middleware's Prometheus
		// provider, which dashboards and alerts know.
		"# HELP grpc_server_started_total Total number of RPCs started on the server.",
		"# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.",
		"# HELP grpc_server_msg_received_total Total number of RPC stream messages received on the server.",
		"# HELP grpc_server_msg_sent_total Total number of gRPC stream messages sent by the server.",
		"# HELP grpc_server_handling_seconds Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.",
		"# TYPE grpc_server_handling_seconds histogram",
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 0`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="CheckBatch",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 0`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 0`,
		`grpc_server_started_total{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 0`,
		`grpc_server_started_total{grpc_method="Watch",grpc_service="grpc.health.v1.Health",grpc_type="server_stream"} 0`,
		`grpc_server_started_total{grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"} 0`,
		`grpc_server_msg_received_total{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 0`,
		`grpc_server_msg_sent_total{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 0`,
		`grpc_server_handling_seconds_bucket{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary",le="1e-05"} 0`,
		`grpc_server_handling_seconds_bucket{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary",le="2.62144"} 0`,
	} {
		if !strings.Contains(before, want) {
			t.Errorf("before any call, no %s", want)
		}
	}

	for range 2 {
		check(t, c, byUser(acct, ownerID, "team.edit"))
	}
	_, err := c.Check(context.Background(), byUser(acct, ownerID, "team.edit")) // no token
	wantCode(t, err, codes.Unauthenticated)
	_, err = c.Check(withToken(servertest.ServiceToken), byUser(acct, ownerID, "no.such.permission"))
	wantCode(t, err, codes.InvalidArgument)
	// A stream: two questions to reflection, two answers, then the end.
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rc := &reflectionClient{tb: t, stream: stream}
	for range 2 {
		rc.ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("reflection's end: %v", err)
	}

	after := scrape()
	for _, want := range []string{
		`grpc_server_msg_received_total{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 4`,
		`grpc_server_msg_sent_total{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 2`,
		`grpc_server_started_total{grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"} 1`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"} 1`,
		`grpc_server_msg_received_total{grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"} 2`,
		`grpc_server_msg_sent_total{grpc_method="ServerReflectionInfo",grpc_service="grpc.reflection.v1.ServerReflection",grpc_type="bidi_stream"} 2`,
		`grpc_server_handling_seconds_bucket{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary",le="+Inf"} 4`,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 2`,
		`grpc_server_handled_total{grpc_code="Unauthenticated",grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 1`,
		`grpc_server_handled_total{grpc_code="InvalidArgument",grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 1`,
		`grpc_server_started_total{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 4`,
		`grpc_server_handling_seconds_count{grpc_method="Check",grpc_service="roster.authz.v1.AuthzService",grpc_type="unary"} 4`,
	} {
		if !strings.Contains(after, want) {
			t.Errorf("after the calls, no %s", want)
		}
	}
	// The Go runtime's and Roster's own metrics are still on the same page.
	for _, want := range []string{"go_goroutines", "roster_authz_decisions_total"} {
		if !strings.Contains(after, want) {
			t.Errorf("no %s", want)
		}
	}
}

// A full batch of checks, each with longer fields than Roster ever issues,
// fits well inside MaxRecvMsgSize and is answered; a request over the
// limit is refused with RESOURCE_EXHAUSTED before it is decoded.
func TestLimits_FullBatchFits(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	c := authzv1.NewAuthzServiceClient(serveWired(t, e))

	// Roster's own: an account ID of 20 characters, a key of rk_ and 43,
	// the longest permission name well under 40. Doubled, for headroom.
	worst := &authzv1.CheckBatchRequest{}
	for range grpcapi.MaxBatch {
		worst.Checks = append(worst.Checks, byKey(strings.Repeat("A", 40), "rk_"+strings.Repeat("k", 86), strings.Repeat("p", 80)))
	}
	if n := proto.Size(worst); n > grpcapi.MaxRecvMsgSize/4 {
		t.Errorf("a worst full batch is %d bytes: more than a quarter of MaxRecvMsgSize (%d)", n, grpcapi.MaxRecvMsgSize)
	}

	full := &authzv1.CheckBatchRequest{}
	for i := range grpcapi.MaxBatch {
		full.Checks = append(full.Checks, byUser(acct, int64(i+1), "numbers.view"))
	}
	r, err := c.CheckBatch(withToken(servertest.ServiceToken), full)
	if err != nil || len(r.Results) != grpcapi.MaxBatch {
		t.Fatalf("full batch: %d answers, %v", len(r.GetResults()), err)
	}

	huge := &authzv1.CheckBatchRequest{Checks: []*authzv1.CheckRequest{byKey(acct, "rk_"+strings.Repeat("k", grpcapi.MaxRecvMsgSize), "numbers.view")}}
	_, err = c.CheckBatch(withToken(servertest.ServiceToken), huge)
	st := wantCode(t, err, codes.ResourceExhausted)
	if !strings.Contains(st.Message(), "larger than max") {
		t.Errorf("message %q", st.Message())
	}
	// The connection is still good for the next call.
	if _, err := c.CheckBatch(withToken(servertest.ServiceToken), &authzv1.CheckBatchRequest{Checks: full.Checks[:1]}); err != nil {
		t.Errorf("after the refusal: %v", status.Convert(err))
	}
}

func withTokenCtx(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// sameJSON compares two JSON documents by value (protojson varies its
// spacing on purpose).
func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(va, vb)
}
