package grpcapi_test

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/grpcapi"
	"github.com/rosterhq/roster/grpcapi/authzv1"
	"github.com/rosterhq/roster/httpapi"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service"
)

// serve serves grpcapi.New(svc, token, nil) on its own TCP listener on
// 127.0.0.1 and returns a client connection to it.
func serve(tb testing.TB, svc *service.Service, token string) *grpc.ClientConn {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	gs := grpcapi.New(svc, token, nil)
	go gs.Serve(ln)
	tb.Cleanup(gs.Stop)
	return dial(tb, ln.Addr().String())
}

func dial(tb testing.TB, addr string) *grpc.ClientConn {
	tb.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cc.Close() })
	return cc
}

// withToken is a context carrying the service token as a platform
// service would send it.
func withToken(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func byUser(acct string, userID int64, p string) *authzv1.CheckRequest {
	return &authzv1.CheckRequest{AccountId: acct, Subject: &authzv1.CheckRequest_UserId{UserId: userID}, Permission: p}
}

func byKey(acct, key, p string) *authzv1.CheckRequest {
	return &authzv1.CheckRequest{AccountId: acct, Subject: &authzv1.CheckRequest_ApiKey{ApiKey: key}, Permission: p}
}

func check(tb testing.TB, c authzv1.AuthzServiceClient, req *authzv1.CheckRequest) *authzv1.CheckResponse {
	tb.Helper()
	r, err := c.Check(withToken(servertest.ServiceToken), req)
	if err != nil {
		tb.Fatalf("Check %v: %v", req, err)
	}
	return r
}

// wantCode fails unless err is a gRPC status with the code; it returns the
// status.
func wantCode(tb testing.TB, err error, want codes.Code) *status.Status {
	tb.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != want {
		tb.Fatalf("got %v, want %s", err, want)
	}
	return st
}

func fieldOf(st *status.Status) string {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.FieldViolations) > 0 {
			return br.FieldViolations[0].Field
		}
	}
	return ""
}

// team is an account on the committed plan with a developer and a
// support member, and a personal API key of the owner and the developer.
type team struct {
	env                       *servertest.Env
	platform                  *servertest.Client // HTTP, with the service token
	client                    authzv1.AuthzServiceClient
	owner                     *servertest.Client
	acct                      string
	ownerID, devID, supID     int64
	ownerKey, devKey          string
	strangerAcct, strangerKey string // another account, and its owner's key
	unknownUser               int64
	unknownAccount, malformed string
	unknownKey                string
	permissionNames           []string
}

func newTeam(t *testing.T) *team {
	t.Helper()
	e := servertest.New(t)
	tm := &team{env: e, unknownUser: 999999, unknownAccount: "MA0000000000000000XX", malformed: "not an auth id", unknownKey: "rk_not_a_key"}
	tm.owner, tm.acct = e.SignUp(t, "owner@acme-corp.com", "Owner")
	tm.ownerID = int64(tm.owner.Must(200, "GET", "/v1/me", nil).JSON["id"].(float64))
	e.Commit(t, tm.acct)
	dev, devID := e.Join(t, tm.owner, tm.acct, "dev@acme-corp.com", "developer")
	tm.devID = devID
	_, tm.supID = e.Join(t, tm.owner, tm.acct, "sup@acme-corp.com", "support")
	tm.ownerKey = tm.owner.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": tm.acct, "name": "k"}).Str("key")
	tm.devKey = dev.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": tm.acct, "name": "k"}).Str("key")
	stranger, strangerAcct := e.SignUp(t, "other@globex-corp.com", "Stranger")
	tm.strangerAcct = strangerAcct
	tm.strangerKey = stranger.Must(201, "POST", "/v1/me/api-keys", map[string]string{"account_id": tm.strangerAcct, "name": "k"}).Str("key")
	tm.platform = e.Platform(t)
	tm.client = authzv1.NewAuthzServiceClient(serve(t, e.Server.Service, servertest.ServiceToken))
	for _, p := range roster.AllPermissions {
		tm.permissionNames = append(tm.permissionNames, p.String())
	}
	return tm
}

// httpCheck asks POST /v1/authz/check the same question.
func (tm *team) httpCheck(t *testing.T, req *authzv1.CheckRequest) *authzv1.CheckResponse {
	t.Helper()
	body := map[string]any{"account_id": req.GetAccountId(), "permission": req.GetPermission()}
	if k := req.GetApiKey(); k != "" {
		body["api_key"] = k
	} else {
		body["user_id"] = req.GetUserId()
	}
	r := tm.platform.Must(200, "POST", "/v1/authz/check", body)
	return &authzv1.CheckResponse{Allowed: r.JSON["allowed"].(bool), Role: r.Str("role"), Reason: r.Str("reason")}
}

func same(a, b *authzv1.CheckResponse) bool {
	return a.GetAllowed() == b.GetAllowed() && a.GetRole() == b.GetRole() && a.GetReason() == b.GetReason()
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tm := newTeam(t)

	t.Run("developer against the role matrix", func(t *testing.T) {
		for _, p := range roster.AllPermissions {
			for _, req := range []*authzv1.CheckRequest{byUser(tm.acct, tm.devID, p.String()), byKey(tm.acct, tm.devKey, p.String())} {
				got := check(t, tm.client, req)
				want := authz.Allowed(roster.RoleDeveloper, p)
				reason := "missing_permission"
				if want {
					reason = "allowed"
				}
				if got.Allowed != want || got.Role != "developer" || got.Reason != reason {
					t.Errorf("developer %s (%v): %v, want allowed=%v reason=%s", p, req.Subject, got, want, reason)
				}
				var roles []string // the roles holding p, when the developer lacks it
				for _, r := range authz.RolesWith(p) {
					if !want {
						roles = append(roles, r.String())
					}
				}
				if !slices.Equal(got.GetRolesWithPermission(), roles) {
					t.Errorf("developer %s: roles_with_permission %v, want %v", p, got.GetRolesWithPermission(), roles)
				}
			}
		}
		// The matrix refuses the developer something, or the test proves little.
		if got := check(t, tm.client, byUser(tm.acct, tm.devID, "team.edit")); got.Allowed || got.Reason != "missing_permission" {
			t.Errorf("developer team.edit: %v", got)
		}
	})

	t.Run("not a member", func(t *testing.T) {
		for _, req := range []*authzv1.CheckRequest{
			byUser(tm.acct, tm.unknownUser, "numbers.view"),
			byUser(tm.acct, -1, "numbers.view"),
			byUser(tm.unknownAccount, tm.devID, "numbers.view"),
			byUser(tm.malformed, tm.devID, "numbers.view"),
			byUser(tm.strangerAcct, tm.devID, "numbers.view"),
			byKey(tm.acct, tm.unknownKey, "numbers.view"),
			byKey(tm.acct, tm.strangerKey, "numbers.view"), // a key of another account
		} {
			if got := check(t, tm.client, req); got.Allowed || got.Role != "" || got.Reason != "not_member" {
				t.Errorf("%v: %v, want not_member", req, got)
			}
		}
	})

	t.Run("owner and support", func(t *testing.T) {
		if got := check(t, tm.client, byKey(tm.acct, tm.ownerKey, "team.edit")); !got.Allowed || got.Role != "owner" || got.Reason != "allowed" {
			t.Errorf("owner key team.edit: %v", got)
		}
		for _, p := range roster.AllPermissions {
			if got := check(t, tm.client, byUser(tm.acct, tm.supID, p.String())); got.Allowed != authz.Allowed(roster.RoleSupport, p) || got.Role != "support" {
				t.Errorf("support %s: %v", p, got)
			}
		}
	})

	t.Run("the same answers as HTTP, and the batch as single checks", func(t *testing.T) {
		var reqs []*authzv1.CheckRequest
		for _, uid := range []int64{tm.ownerID, tm.devID, tm.supID, tm.unknownUser} {
			for _, p := range tm.permissionNames {
				reqs = append(reqs, byUser(tm.acct, uid, p))
			}
		}
		reqs = append(reqs,
			byKey(tm.acct, tm.ownerKey, "billing.edit"), byKey(tm.acct, tm.devKey, "billing.edit"),
			byKey(tm.acct, tm.strangerKey, "numbers.view"), byUser(tm.unknownAccount, tm.devID, "numbers.view"),
			byUser(tm.malformed, tm.devID, "numbers.view"))
		batch, err := tm.client.CheckBatch(withToken(servertest.ServiceToken), &authzv1.CheckBatchRequest{Checks: reqs})
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Results) != len(reqs) {
			t.Fatalf("%d results for %d checks", len(batch.Results), len(reqs))
		}
		for i, req := range reqs {
			one := check(t, tm.client, req)
			if !same(batch.Results[i], one) {
				t.Errorf("checks[%d] %v: batch %v, single %v", i, req, batch.Results[i], one)
			}
			if h := tm.httpCheck(t, req); !same(one, h) {
				t.Errorf("%v: gRPC %v, HTTP %v", req, one, h)
			}
		}
	})

	t.Run("a revision asked for", func(t *testing.T) {
		r := tm.owner.Must(200, "PATCH", fmt.Sprintf("/v1/accounts/%s/members/%d", tm.acct, tm.supID), map[string]string{"role": "finance_analyst"})
		rev := r.Header.Get(httpapi.RevisionHeader)
		if rev == "" {
			t.Fatal("the role change answered no revision")
		}
		ctx := metadata.AppendToOutgoingContext(withToken(servertest.ServiceToken), grpcapi.RevisionMetadata, rev)
		got, err := tm.client.Check(ctx, byUser(tm.acct, tm.supID, "billing.view"))
		if err != nil || got.Role != "finance_analyst" || !got.Allowed {
			t.Errorf("after the role change: %v %v", got, err)
		}
		// A revision not reached: the caller's deadline ends the wait.
		ctx, cancel := context.WithTimeout(withToken(servertest.ServiceToken), 200*time.Millisecond)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, grpcapi.RevisionMetadata, "999999999")
		_, err = tm.client.Check(ctx, byUser(tm.acct, tm.supID, "billing.view"))
		wantCode(t, err, codes.DeadlineExceeded)
		ctx = metadata.AppendToOutgoingContext(withToken(servertest.ServiceToken), grpcapi.RevisionMetadata, "not a number")
		_, err = tm.client.Check(ctx, byUser(tm.acct, tm.supID, "billing.view"))
		wantCode(t, err, codes.InvalidArgument)
	})

	// Last: it takes the account off the committed plan.
	t.Run("suspended", func(t *testing.T) {
		tm.env.Operator(t).Must(200, "PUT", "/v1/admin/accounts/"+tm.acct+"/plan", map[string]any{"plan": "standard"})
		for _, req := range []*authzv1.CheckRequest{byUser(tm.acct, tm.devID, "numbers.view"), byKey(tm.acct, tm.devKey, "numbers.view")} {
			if got := check(t, tm.client, req); got.Allowed || got.Role != "developer" || got.Reason != "suspended" {
				t.Errorf("%v: %v, want suspended", req, got)
			}
		}
		if got := check(t, tm.client, byUser(tm.acct, tm.ownerID, "numbers.view")); !got.Allowed || got.Role != "owner" {
			t.Errorf("the owner is never suspended: %v", got)
		}
	})
}

func TestCheck_Refusals(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	conn := serve(t, e.Server.Service, servertest.ServiceToken)
	c := authzv1.NewAuthzServiceClient(conn)
	ctx := withToken(servertest.ServiceToken)
	ok := byUser(acct, 1, "numbers.view")

	t.Run("single", func(t *testing.T) {
		_, err := c.Check(ctx, byUser(acct, 1, "numbers.fly"))
		st := wantCode(t, err, codes.InvalidArgument)
		if st.Message() != `Unknown permission "numbers.fly"` || fieldOf(st) != "permission" {
			t.Errorf("unknown permission: %q field %q", st.Message(), fieldOf(st))
		}
		for _, req := range []*authzv1.CheckRequest{
			{AccountId: acct, Permission: "numbers.view"},                                                   // no subject
			byUser(acct, 0, "numbers.view"),                                                                 // user_id 0
			byKey(acct, "", "numbers.view"),                                                                 // empty key
			byUser("", 1, "numbers.view"),                                                                   // no account
			{AccountId: acct, Subject: &authzv1.CheckRequest_UserId{UserId: 1}},                             // no permission
			{AccountId: acct, Subject: &authzv1.CheckRequest_UserId{UserId: 1}, Permission: "NUMBERS.VIEW"}, // names are exact
		} {
			_, err := c.Check(ctx, req)
			wantCode(t, err, codes.InvalidArgument)
		}
	})

	t.Run("batch sizes", func(t *testing.T) {
		for _, n := range []int{0, grpcapi.MaxBatch + 1} {
			checks := make([]*authzv1.CheckRequest, n)
			for i := range checks {
				checks[i] = ok
			}
			_, err := c.CheckBatch(ctx, &authzv1.CheckBatchRequest{Checks: checks})
			st := wantCode(t, err, codes.InvalidArgument)
			if want := fmt.Sprintf("A batch must hold 1 to 1000 checks, not %d", n); st.Message() != want || fieldOf(st) != "checks" {
				t.Errorf("%d checks: %q field %q", n, st.Message(), fieldOf(st))
			}
		}
		checks := make([]*authzv1.CheckRequest, grpcapi.MaxBatch)
		for i := range checks {
			checks[i] = ok
		}
		r, err := c.CheckBatch(ctx, &authzv1.CheckBatchRequest{Checks: checks})
		if err != nil || len(r.Results) != grpcapi.MaxBatch || !r.Results[999].Allowed {
			t.Fatalf("1000 checks: %v", err)
		}
	})

	t.Run("a bad item is named", func(t *testing.T) {
		for _, tc := range []struct {
			bad  *authzv1.CheckRequest
			want string
		}{
			{byUser(acct, 1, "numbers.fly"), `Check 3 (counting from 0): Unknown permission "numbers.fly"`},
			{&authzv1.CheckRequest{AccountId: acct, Permission: "numbers.view"}, "Check 3 (counting from 0): Give the account and exactly one of a user or an API key"},
		} {
			_, err := c.CheckBatch(ctx, &authzv1.CheckBatchRequest{Checks: []*authzv1.CheckRequest{ok, ok, ok, tc.bad, ok}})
			st := wantCode(t, err, codes.InvalidArgument)
			if st.Message() != tc.want || fieldOf(st) != "checks[3]" {
				t.Errorf("got %q field %q, want %q field checks[3]", st.Message(), fieldOf(st), tc.want)
			}
		}
	})

	t.Run("a request over 1 MiB", func(t *testing.T) {
		big := strings.Repeat("k", 600<<10)
		_, err := c.CheckBatch(ctx, &authzv1.CheckBatchRequest{Checks: []*authzv1.CheckRequest{byKey(acct, big, "numbers.view"), byKey(acct, big, "numbers.view")}})
		wantCode(t, err, codes.ResourceExhausted)
		// The connection is still good.
		if _, err := c.Check(ctx, ok); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAuthentication(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	c := authzv1.NewAuthzServiceClient(serve(t, e.Server.Service, servertest.ServiceToken))
	one := byUser(acct, 1, "numbers.view")
	batch := &authzv1.CheckBatchRequest{Checks: []*authzv1.CheckRequest{one}}
	for name, ctx := range map[string]context.Context{
		"no token":          context.Background(),
		"wrong token":       withToken("wrong-token"),
		"a longer token":    withToken(servertest.ServiceToken + "x"),
		"a prefix of it":    withToken(servertest.ServiceToken[:4]),
		"not a bearer":      metadata.AppendToOutgoingContext(context.Background(), "authorization", servertest.ServiceToken),
		"lowercase bearer":  metadata.AppendToOutgoingContext(context.Background(), "authorization", "bearer "+servertest.ServiceToken),
		"the operator's":    withToken(servertest.OperatorToken),
		"two authorization": metadata.AppendToOutgoingContext(withToken("wrong"), "authorization", "Bearer "+servertest.ServiceToken),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := c.Check(ctx, one)
			wantCode(t, err, codes.Unauthenticated)
			_, err = c.CheckBatch(ctx, batch)
			wantCode(t, err, codes.Unauthenticated)
		})
	}
	// The token is checked before the request: a bad request without it
	// is still unauthenticated.
	_, err := c.CheckBatch(context.Background(), &authzv1.CheckBatchRequest{})
	wantCode(t, err, codes.Unauthenticated)
	if _, err := c.Check(withToken(servertest.ServiceToken), one); err != nil {
		t.Fatal(err)
	}

	// A server with no service token configured refuses every check.
	none := authzv1.NewAuthzServiceClient(serve(t, e.Server.Service, ""))
	_, err = none.Check(withToken(""), one)
	wantCode(t, err, codes.PermissionDenied)
	_, err = none.Check(withToken(servertest.ServiceToken), one)
	wantCode(t, err, codes.PermissionDenied)
	_, err = none.CheckBatch(context.Background(), batch)
	wantCode(t, err, codes.PermissionDenied)
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.MaxStaleness = 300 * time.Millisecond }})
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	conn := serve(t, e.Server.Service, servertest.ServiceToken)
	h := healthpb.NewHealthClient(conn)
	c := authzv1.NewAuthzServiceClient(conn)
	ctx := context.Background() // the health service needs no token

	for _, svc := range []string{"", grpcapi.ServiceName} {
		r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health of %q: %v %v", svc, r, err)
		}
	}
	_, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantCode(t, err, codes.NotFound)
	list, err := h.List(ctx, &healthpb.HealthListRequest{})
	if err != nil || list.Statuses[grpcapi.ServiceName].GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("list: %v %v", list, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a Recv that never comes fails the test
	defer cancel()
	watch, err := h.Watch(wctx, &healthpb.HealthCheckRequest{Service: grpcapi.ServiceName})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := watch.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("watch: %v %v", r, err)
	}
	if _, err := c.Check(withToken(servertest.ServiceToken), byUser(acct, 1, "numbers.view")); err != nil {
		t.Fatal(err)
	}

	// Cut the database away: after MaxStaleness the index is stale, checks
	// are UNAVAILABLE with a RetryInfo, and the check service NOT_SERVING.
	e.Server.DB.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := c.Check(withToken(servertest.ServiceToken), byUser(acct, 1, "numbers.view"))
		if status.Code(err) == codes.Unavailable {
			st := status.Convert(err)
			retry := false
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok && ri.RetryDelay.AsDuration() == time.Second {
					retry = true
				}
			}
			if !retry {
				t.Errorf("no RetryInfo: %v", st.Details())
			}
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatal("checks still answered 10 s after the database went away")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = c.CheckBatch(withToken(servertest.ServiceToken), &authzv1.CheckBatchRequest{Checks: []*authzv1.CheckRequest{byUser(acct, 1, "numbers.view")}})
	wantCode(t, err, codes.Unavailable)
	r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: grpcapi.ServiceName})
	if err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("stale index: health %v %v", r, err)
	}
	if r, err := h.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("the server itself: %v %v", r, err)
	}
	if r, err := watch.Recv(); err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("watch after the database went away: %v %v", r, err)
	}
}

// BenchmarkGRPCCheck measures unary Check calls to the server as
// server.GRPCServer wires it, over loopback TCP from parallel callers in
// the same process (the client's work shares the cores
// with the server's), multiplexed over one connection and over four.
// Reports checks/s; compare BenchmarkAuthzCheckHTTP in httpapi.
func BenchmarkGRPCCheck(b *testing.B) {
	e := servertest.New(b)
	owner, acct := e.SignUp(b, "owner@acme-corp.com", "Owner")
	e.Commit(b, acct)
	_, devID := e.Join(b, owner, acct, "dev@acme-corp.com", "developer")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := e.Server.GRPCServer() // as served: metrics and logs, tracing off
	go gs.Serve(ln)
	b.Cleanup(gs.Stop)
	perms := []string{"numbers.view", "team.edit", "billing.view", "logs.view"}

	for _, conns := range []int{1, 4} {
		b.Run("conns="+strconv.Itoa(conns), func(b *testing.B) {
			clients := make([]authzv1.AuthzServiceClient, conns)
			for i := range clients {
				clients[i] = authzv1.NewAuthzServiceClient(dial(b, ln.Addr().String()))
				if _, err := clients[i].Check(withToken(servertest.ServiceToken), byUser(acct, devID, "numbers.view")); err != nil {
					b.Fatal(err) // connect before the clock runs
				}
			}
			var next atomic.Int64
			b.SetParallelism(8) // as BenchmarkAuthzCheckHTTP: 8 callers per core
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := clients[(next.Add(1)-1)%int64(conns)]
				ctx := withToken(servertest.ServiceToken)
				reqs := make([]*authzv1.CheckRequest, len(perms))
				for i, p := range perms {
					reqs[i] = byUser(acct, devID, p)
				}
				i := 0
				for pb.Next() {
					if _, err := c.Check(ctx, reqs[i%len(reqs)]); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
		})
	}
}

// TestHealth_NotServingWhileDraining: from the start of a shutdown the
// health service says NOT_SERVING, for the server and for the check, while
// the check itself is still answered.
func TestHealth_NotServingWhileDraining(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	conn := serve(t, e.Server.Service, servertest.ServiceToken)
	h := healthpb.NewHealthClient(conn)
	c := authzv1.NewAuthzServiceClient(conn)
	ctx := context.Background()
	for _, svc := range []string{"", grpcapi.ServiceName} {
		if r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: svc}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health of %q before the drain: %v %v", svc, r, err)
		}
	}
	e.Server.Drain()
	for _, svc := range []string{"", grpcapi.ServiceName} {
		if r, err := h.Check(ctx, &healthpb.HealthCheckRequest{Service: svc}); err != nil || r.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Errorf("health of %q while draining: %v %v, want NOT_SERVING", svc, r, err)
		}
	}
	if r, err := c.Check(withToken(servertest.ServiceToken), byUser(acct, 1, "numbers.view")); err != nil || !r.Allowed {
		t.Errorf("check while draining: %v %v, want allowed", r, err)
	}
}
