// Package grpcapi is the permission check over gRPC: the service
// roster.authz.v1.AuthzService (proto/roster/authz/v1/authz.proto) with
// Check and CheckBatch, answering exactly as POST /v1/authz/check and
// POST /v1/authz/check-batch do (docs/api.md), from the same in-memory
// index, and the standard gRPC health service.
//
// Every AuthzService call needs the service token as metadata
// "authorization: Bearer <token>"; the health service needs none, so load
// balancers and probes can ask it.
package grpcapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"strconv"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/grpcapi/authzv1"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/service"
)

// ServiceName is the full name of the check service, as the health
// service knows it.
const ServiceName = "roster.authz.v1.AuthzService"

// MaxBatch is the most checks in one CheckBatch, as over HTTP.
const MaxBatch = httpapi.MaxBatch

// MaxRecvMsgSize bounds a request: a full batch of 1000 checks is about
// 100 KiB.
const MaxRecvMsgSize = 1 << 20

// RevisionMetadata, like the X-Roster-Revision header over HTTP, asks the
// call to wait (up to httpapi.RevisionWait) until this server's check
// index has applied the revision a write answered with.
const RevisionMetadata = "x-roster-revision"

// New returns a gRPC server with AuthzService and the health service
// registered; opts (TLS credentials, keepalive, interceptors...) come
// after the package's own (MaxRecvMsgSize) and may override them. An empty
// serviceToken refuses every check with PERMISSION_DENIED. The caller
// serves it on a listener and stops it (GracefulStop, Stop).
func New(svc *service.Service, serviceToken string, opts ...grpc.ServerOption) *grpc.Server {
	a := &authzServer{svc: svc, configured: serviceToken != ""}
	a.token = sha256.Sum256([]byte(serviceToken))
	all := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxRecvMsgSize),
		grpc.ChainUnaryInterceptor(a.unaryAuth),
		grpc.ChainStreamInterceptor(a.streamAuth),
	}, opts...)
	gs := grpc.NewServer(all...)
	authzv1.RegisterAuthzServiceServer(gs, a)
	healthgrpc.RegisterHealthServer(gs, newHealthServer(svc))
	return gs
}

type authzServer struct {
	authzv1.UnimplementedAuthzServiceServer
	svc        *service.Service
	configured bool
	token      [32]byte // SHA-256 of the service token: compared in constant time, length included
}

const methodPrefix = "/" + ServiceName + "/"

func (a *authzServer) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, methodPrefix) {
		if err := a.authenticate(ctx); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

func (a *authzServer) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if strings.HasPrefix(info.FullMethod, methodPrefix) {
		if err := a.authenticate(ss.Context()); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}

// authenticate checks the service token in the metadata "authorization:
// Bearer <token>", as bearerIs does over HTTP.
func (a *authzServer) authenticate(ctx context.Context) error {
	if !a.configured {
		return status.Error(codes.PermissionDenied, "the service token is not configured on this server")
	}
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 1 {
		if got, ok := strings.CutPrefix(vals[0], "Bearer "); ok {
			h := sha256.Sum256([]byte(got))
			if subtle.ConstantTimeCompare(h[:], a.token[:]) == 1 {
				return nil
			}
		}
	}
	return status.Error(codes.Unauthenticated, "a valid service token is required (metadata authorization: Bearer <token>)")
}

// begin waits for a revision asked for in the metadata, then refuses a
// stale index.
func (a *authzServer) begin(ctx context.Context) error {
	if vals := metadata.ValueFromIncomingContext(ctx, RevisionMetadata); len(vals) > 0 {
		rev, err := strconv.ParseInt(vals[0], 10, 64)
		if err != nil || rev < 0 || len(vals) > 1 {
			return roster.Errorf(roster.EINVALID, "%s must be one revision number", RevisionMetadata)
		}
		if err := a.svc.WaitFor(ctx, rev, httpapi.RevisionWait); err != nil {
			return err
		}
	}
	return a.svc.Fresh()
}

// Check answers one check.
func (a *authzServer) Check(ctx context.Context, in *authzv1.CheckRequest) (*authzv1.CheckResponse, error) {
	if err := a.begin(ctx); err != nil {
		return nil, a.toStatus(err)
	}
	d, err := a.decide(ctx, in)
	if err != nil {
		return nil, a.toStatus(err)
	}
	out := &authzv1.CheckResponse{}
	fill(out, d, in.GetPermission())
	return out, nil
}

// CheckBatch answers 1 to MaxBatch checks in order; one bad item refuses
// the whole batch, naming it (checks[3]: ...).
func (a *authzServer) CheckBatch(ctx context.Context, in *authzv1.CheckBatchRequest) (*authzv1.CheckBatchResponse, error) {
	items := in.GetChecks()
	if len(items) == 0 || len(items) > MaxBatch {
		return nil, a.toStatus(roster.FieldErrorf("checks", roster.EINVALID, "checks must hold 1 to %d checks, not %d", MaxBatch, len(items)))
	}
	if err := a.begin(ctx); err != nil {
		return nil, a.toStatus(err)
	}
	answers := make([]authzv1.CheckResponse, len(items)) // one allocation for all the answers
	out := &authzv1.CheckBatchResponse{Results: make([]*authzv1.CheckResponse, len(items))}
	for i, item := range items {
		d, err := a.decide(ctx, item)
		if err != nil {
			if roster.ErrorCode(err) == roster.EINVALID {
				err = roster.FieldErrorf("checks["+strconv.Itoa(i)+"]", roster.EINVALID, "checks[%d]: %s", i, roster.ErrorMessage(err))
			}
			return nil, a.toStatus(err)
		}
		fill(&answers[i], d, item.GetPermission())
		out.Results[i] = &answers[i]
	}
	return out, nil
}

// decide answers one check, as httpapi does. Errors: EINVALID (the item's
// fault); anything else is internal.
func (a *authzServer) decide(ctx context.Context, in *authzv1.CheckRequest) (authz.Decision, error) {
	p, ok := roster.ParsePermission(in.GetPermission())
	if !ok {
		return authz.Decision{}, roster.FieldErrorf("permission", roster.EINVALID, "unknown permission %q", in.GetPermission())
	}
	userID, key := in.GetUserId(), in.GetApiKey()
	if in.GetAccountId() == "" || (userID == 0) == (key == "") {
		return authz.Decision{}, roster.Errorf(roster.EINVALID, "give account_id and exactly one of user_id or api_key")
	}
	if key != "" {
		return a.svc.CheckKey(ctx, in.GetAccountId(), key, p)
	}
	return a.svc.CheckUser(ctx, in.GetAccountId(), userID, p)
}

// rolesWith holds, for each permission, the API names of the roles that
// hold it, in role order: built once and shared, read only, by answers.
var rolesWith = func() map[string][]string {
	out := map[string][]string{}
	for _, p := range roster.AllPermissions {
		for _, r := range authz.RolesWith(p) {
			out[p.String()] = append(out[p.String()], r.String())
		}
	}
	return out
}()

// fill writes d as an answer; perm is the permission asked (valid: decide
// refused any other), for roles_with_permission.
func fill(out *authzv1.CheckResponse, d authz.Decision, perm string) {
	out.Allowed = d.Allowed
	if d.Role != roster.RoleNone {
		out.Role = d.Role.String()
	}
	out.Reason = d.Reason.String()
	if d.Reason == authz.ReasonMissingPermission {
		out.RolesWithPermission = rolesWith[perm]
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
