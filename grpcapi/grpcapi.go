// Package grpcapi is the permission check over gRPC: the service
// roster.authz.v1.AuthzService (proto/roster/authz/v1/authz.proto) with
// Check and CheckBatch, answering exactly as POST /v1/authz/check and
// POST /v1/authz/check-batch do (docs/api.md), from the same in-memory
// index, the standard gRPC health service (grpc.health.v1.Health) and
// server reflection (grpc.reflection.v1.ServerReflection and v1alpha), so
// grpcurl and Postman call it without the .proto.
//
// Every AuthzService call needs the service token as metadata
// "authorization: Bearer <token>"; the health service needs none, so load
// balancers and probes can ask it, and reflection needs none: it describes
// the API (proto/roster/authz/v1/authz.proto, public in the repository),
// never data.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/grpcapi/authzv1"
	"github.com/rosterhq/roster/service"
)

// ServiceName is the full name of the check service, as the health
// service knows it.
const ServiceName = "roster.authz.v1.AuthzService"

// MaxBatch is the most checks in one CheckBatch, as over HTTP
// (service.MaxBatch).
const MaxBatch = service.MaxBatch

// MaxRecvMsgSize bounds a request. A full batch of MaxBatch checks, each
// with the longest account ID, API key and permission the service takes,
// is under 150 KiB (TestLimits_FullBatchFits); 1 MiB leaves room and
// refuses anything larger with RESOURCE_EXHAUSTED before it is decoded.
const MaxRecvMsgSize = 1 << 20

// Keepalive: the server pings a connection quiet for KeepaliveTime and
// closes it when no answer comes within KeepaliveTimeout, so connections
// to clients that vanished (a node gone, a NAT timeout) do not stay open.
// A connection is asked to go away (GOAWAY, then MaxConnectionAgeGrace for
// calls in flight) after MaxConnectionAge, so clients reconnect and spread
// over replicas added since. Clients may ping as often as every
// KeepaliveMinTime, with or without calls in flight; more often, the
// server closes the connection (too_many_pings).
const (
	KeepaliveTime         = 30 * time.Second
	KeepaliveTimeout      = 10 * time.Second
	MaxConnectionAge      = 30 * time.Minute
	MaxConnectionAgeGrace = time.Minute
	KeepaliveMinTime      = 10 * time.Second
)

// RevisionMetadata, like the X-Roster-Revision header over HTTP, asks the
// call to wait (up to service.RevisionWait) until this server's check
// index has applied the revision a write answered with.
const RevisionMetadata = "x-roster-revision"

// New returns a gRPC server with AuthzService, the health service and
// server reflection registered, with the package's limits (MaxRecvMsgSize,
// the keepalive parameters and enforcement policy above). Every call is
// counted on m (nil: not counted; every method's series exist from the
// start) and logged, refused calls too: one interceptor counts, checks the
// service token, calls the method and logs. opts (TLS credentials,
// interceptors, stats handlers...) come after the limits and may override
// them; interceptors in opts run inside that one. An empty serviceToken
// refuses every check with PERMISSION_DENIED. The caller serves it on a
// listener and stops it (GracefulStop, Stop).
func New(svc *service.Service, serviceToken string, m *Metrics, opts ...grpc.ServerOption) *grpc.Server {
	a := &authzServer{svc: svc, token: service.NewServiceToken(serviceToken), metrics: m}
	all := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			Time: KeepaliveTime, Timeout: KeepaliveTimeout,
			MaxConnectionAge: MaxConnectionAge, MaxConnectionAgeGrace: MaxConnectionAgeGrace,
		}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
		// One interceptor each, so grpc-go calls it without a chain.
		grpc.ChainUnaryInterceptor(a.unary),
		grpc.ChainStreamInterceptor(a.stream),
	}
	all = append(all, opts...)
	gs := grpc.NewServer(all...)
	authzv1.RegisterAuthzServiceServer(gs, a)
	healthgrpc.RegisterHealthServer(gs, newHealthServer(svc))
	reflection.Register(gs)
	if m != nil {
		m.init(gs)
	}
	return gs
}

type authzServer struct {
	authzv1.UnimplementedAuthzServiceServer
	svc     *service.Service
	token   service.ServiceToken
	metrics *Metrics // nil: none
}

const methodPrefix = "/" + ServiceName + "/"

// unary is every unary call's one interceptor: it counts the call
// (Metrics), checks the service token of AuthzService's calls, calls the
// method and logs the call.
func (a *authzServer) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	mm := a.metrics.method(info.FullMethod, "unary")
	if mm != nil {
		mm.started.Inc()
		mm.received.Inc()
	}
	var resp any
	var err error
	if strings.HasPrefix(info.FullMethod, methodPrefix) {
		err = a.authenticate(ctx)
	}
	if err == nil {
		resp, err = handler(ctx, req)
	}
	d := time.Since(start)
	code := codeOfErr(err)
	if mm != nil {
		if err == nil {
			mm.sent.Inc()
		}
		mm.done(code, d)
	}
	a.logCall(ctx, info.FullMethod, code, d)
	return resp, err
}

// stream is unary's twin for streaming calls (the health service's Watch,
// reflection): each message received and sent is counted.
func (a *authzServer) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	start := time.Now()
	mm := a.metrics.method(info.FullMethod, callType(info.IsClientStream, info.IsServerStream))
	mm.start()
	var err error
	if strings.HasPrefix(info.FullMethod, methodPrefix) {
		err = a.authenticate(ss.Context())
	}
	if err == nil {
		if mm != nil {
			ss = &countedStream{ServerStream: ss, mm: mm}
		}
		err = handler(srv, ss)
	}
	d := time.Since(start)
	code := codeOfErr(err)
	mm.done(code, d)
	a.logCall(ss.Context(), info.FullMethod, code, d)
	return err
}

// codeOfErr is the status code a call's error answers, as grpc-go sends
// it: a context's error is CANCELLED or DEADLINE_EXCEEDED, not UNKNOWN.
func codeOfErr(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	st, ok := status.FromError(err)
	if !ok {
		st = status.FromContextError(err)
	}
	return st.Code()
}

// logCall logs one line per call, as edge.RequestLog does for HTTP: the
// method, the status code, the duration. Calls answered OK of the check
// service and of the health service (the platform's checks, tens of
// thousands a second, and the probes) are logged at debug level
// (ROSTER_LOG_LEVEL=debug shows them); other answers at info.
func (a *authzServer) logCall(ctx context.Context, method string, code codes.Code, d time.Duration) {
	level := slog.LevelInfo
	if code == codes.OK && (strings.HasPrefix(method, methodPrefix) || strings.HasPrefix(method, healthPrefix)) {
		level = slog.LevelDebug
	}
	if !a.svc.Log.Enabled(ctx, level) {
		return
	}
	a.svc.Log.LogAttrs(ctx, level, "grpc call",
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000))
}

var healthPrefix = "/" + healthgrpc.Health_ServiceDesc.ServiceName + "/"

// authenticate checks the service token in the metadata "authorization:
// Bearer <token>" by the service's one rule, as over HTTP; the refusal
// names the metadata.
func (a *authzServer) authenticate(ctx context.Context) error {
	var got string
	var bearer bool
	if vals := metadata.ValueFromIncomingContext(ctx, "authorization"); len(vals) == 1 {
		got, bearer = strings.CutPrefix(vals[0], "Bearer ")
	}
	err := a.token.Verify(got, bearer)
	switch roster.ErrorCode(err) {
	case "":
		return nil
	case roster.EUNAUTHENTICATED:
		return status.Error(codes.Unauthenticated, roster.ErrorMessage(err)+" (metadata authorization: Bearer <token>)")
	}
	return status.Error(codes.PermissionDenied, roster.ErrorMessage(err))
}

// revision reads the revision asked for in the metadata (0: none).
func revision(ctx context.Context) (int64, error) {
	vals := metadata.ValueFromIncomingContext(ctx, RevisionMetadata)
	if len(vals) == 0 {
		return 0, nil
	}
	rev, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil || rev < 0 || len(vals) > 1 {
		return 0, roster.Errorf(roster.EINVALID, "The %s metadata must be one revision number", RevisionMetadata)
	}
	return rev, nil
}

// Check answers one check.
func (a *authzServer) Check(ctx context.Context, in *authzv1.CheckRequest) (*authzv1.CheckResponse, error) {
	rev, err := revision(ctx)
	if err != nil {
		return nil, a.toStatus(err)
	}
	d, err := a.svc.Check(ctx, rev, request(in))
	if err != nil {
		return nil, a.toStatus(err)
	}
	out := &authzv1.CheckResponse{}
	fill(out, d)
	return out, nil
}

// CheckBatch answers 1 to MaxBatch checks in order; one bad item refuses
// the whole batch, naming it (checks[3]: ...).
func (a *authzServer) CheckBatch(ctx context.Context, in *authzv1.CheckBatchRequest) (*authzv1.CheckBatchResponse, error) {
	items := in.GetChecks()
	var rev int64
	if len(items) > 0 && len(items) <= MaxBatch {
		// The count is the batch's first fault, before the revision's.
		var err error
		if rev, err = revision(ctx); err != nil {
			return nil, a.toStatus(err)
		}
	}
	reqs := make([]service.CheckRequest, len(items))
	for i, item := range items {
		reqs[i] = request(item)
	}
	results, err := a.svc.CheckBatch(ctx, rev, reqs, make([]service.CheckResult, 0, len(items)))
	if err != nil {
		return nil, a.toStatus(err)
	}
	answers := make([]authzv1.CheckResponse, len(results)) // one allocation for all the answers
	out := &authzv1.CheckBatchResponse{Results: make([]*authzv1.CheckResponse, len(results))}
	for i := range results {
		fill(&answers[i], results[i])
		out.Results[i] = &answers[i]
	}
	return out, nil
}

// request is a check as the service takes it.
func request(in *authzv1.CheckRequest) service.CheckRequest {
	return service.CheckRequest{AccountID: in.GetAccountId(), UserID: in.GetUserId(), APIKey: in.GetApiKey(), Permission: in.GetPermission()}
}

// rolesWith holds, for each permission, the API names of the roles that
// hold it, in role order: built once and shared, read only, by answers.
var rolesWith = func() map[roster.Permission][]string {
	out := map[roster.Permission][]string{}
	for _, p := range roster.AllPermissions {
		for _, r := range service.RolesWith(p) {
			out[p] = append(out[p], r.String())
		}
	}
	return out
}()

// fill writes d as an answer, with roles_with_permission when the role
// lacks the permission.
func fill(out *authzv1.CheckResponse, d service.CheckResult) {
	out.Allowed = d.Allowed
	if d.Role != roster.RoleNone {
		out.Role = d.Role.String()
	}
	out.Reason = d.Reason()
	if d.MissingPermission() {
		out.RolesWithPermission = rolesWith[d.Permission]
	}
}

// codeOf maps an application error code to a gRPC status code.
var codeOf = map[string]codes.Code{
	roster.EINVALID:         codes.InvalidArgument,
	roster.EUNAUTHENTICATED: codes.Unauthenticated,
	roster.EFORBIDDEN:       codes.PermissionDenied,
	roster.ENOTFOUND:        codes.NotFound,
	roster.ETOOLARGE:        codes.ResourceExhausted,
	roster.ETIMEOUT:         codes.DeadlineExceeded,
	roster.EMEDIATYPE:       codes.InvalidArgument,
	roster.ERATELIMITED:     codes.ResourceExhausted,
	roster.EUNAVAILABLE:     codes.Unavailable,
}

// toStatus turns an error into a gRPC status error: the application
// error's message, its field as a google.rpc.BadRequest detail and its
// wait as a google.rpc.RetryInfo detail. Other errors are logged and
// answered as "internal error".
func (a *authzServer) toStatus(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err).Err()
	}
	code, ok := codeOf[roster.ErrorCode(err)]
	if !ok {
		a.svc.Log.Error("internal error", "err", err, "api", "grpc")
		return status.Error(codes.Internal, "internal error")
	}
	st := status.New(code, roster.ErrorMessage(err))
	var details []protoadapt.MessageV1
	if f := roster.FieldOf(err); f != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: f, Description: roster.ErrorMessage(err)},
		}})
	}
	if d := roster.RetryAfter(err); d > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(d)})
	}
	if len(details) > 0 {
		if withDetails, derr := st.WithDetails(details...); derr == nil {
			st = withDetails
		}
	}
	return st.Err()
}
