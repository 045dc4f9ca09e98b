package main

import (
	"context"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/rosterhq/roster/grpcapi/authzv1"
)

// ROSTER_LOG_LEVEL=debug logs every permission check answered, one line a
// request, over HTTP and gRPC; at the default (info) the answered checks
// are not logged, and a refused one is, at either level.
func TestServe_LogLevelDebugLogsEveryCheck(t *testing.T) {
	grpcAddrRE := regexp.MustCompile(`\bgrpc_addr=(\S+)`)
	for _, level := range []string{"debug", "info"} {
		t.Run(level, func(t *testing.T) {
			t.Parallel()
			// A database of its own: the default, roster.db in the package's
			// folder, would be shared by the two parallel subtests (both
			// migrating it at once) and left behind.
			env := []string{"ROSTER_DATABASE=" + filepath.Join(t.TempDir(), "r.db"), "ROSTER_GRPC_ADDR=127.0.0.1:0", "ROSTER_SERVICE_TOKEN=svc-token"}
			if level == "debug" {
				env = append(env, "ROSTER_LOG_LEVEL=debug")
			}
			s := startServe(t, env...)
			var grpcAddr string
			for deadline := time.Now().Add(10 * time.Second); grpcAddr == ""; {
				if m := grpcAddrRE.FindStringSubmatch(s.logs.String()); m != nil {
					grpcAddr = m[1]
				} else if time.Now().After(deadline) {
					t.Fatalf("no grpc_addr logged:\n%s", s.logs)
				}
				time.Sleep(10 * time.Millisecond)
			}

			httpCheck := func(token string) int {
				t.Helper()
				req, _ := http.NewRequest("POST", s.url+"/v1/authz/check",
					strings.NewReader(`{"account_id":"MA0000000000000000XX","user_id":1,"permission":"numbers.view"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			for range 3 {
				if st := httpCheck("svc-token"); st != 200 {
					t.Fatalf("check: %d", st)
				}
			}
			cc, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer svc-token")
			for range 2 {
				if _, err := authzv1.NewAuthzServiceClient(cc).Check(ctx, &authzv1.CheckRequest{AccountId: "MA0000000000000000XX",
					Subject: &authzv1.CheckRequest_UserId{UserId: 1}, Permission: "numbers.view"}); err != nil {
					t.Fatal(err)
				}
			}
			// A refusal is logged at info: once its line is there, so are
			// the lines of the checks before it.
			if st := httpCheck("wrong"); st != 401 {
				t.Fatalf("check with a wrong token: %d", st)
			}
			count := func(substr string) int { return strings.Count(s.logs.String(), substr) }
			const (
				httpOK   = `level=DEBUG msg=request method=POST route="POST /v1/authz/check" status=200`
				httpDeny = `level=INFO msg=request method=POST route="POST /v1/authz/check" status=401`
				grpcOK   = `level=DEBUG msg="grpc call" method=/roster.authz.v1.AuthzService/Check code=OK`
			)
			for deadline := time.Now().Add(10 * time.Second); count(httpDeny) < 1; time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the refused check is not logged:\n%s", s.logs)
				}
			}
			want := map[string]int{httpOK: 3, grpcOK: 2, httpDeny: 1}
			if level == "info" {
				want = map[string]int{httpOK: 0, grpcOK: 0, httpDeny: 1}
				if n := count("level=DEBUG"); n != 0 {
					t.Errorf("%d debug lines at info level", n)
				}
			}
			for line, n := range want {
				if got := count(line); got != n {
					t.Errorf("%d lines %s, want %d:\n%s", got, line, n, s.logs)
				}
			}
		})
	}
}
