package service_test

import (
	"context"
	"testing"

	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service"
)

// BenchmarkCheckCall: the check as one service call, in process (what
// every edge's check runs after its wire format: the revision wait, the
// freshness guard, the index), from parallel callers. The freshness
// guard's share of it shows here rather than under HTTP's.
//
//	go test -run '^$' -bench CheckCall -benchmem ./service
func BenchmarkCheckCall(b *testing.B) {
	e := servertest.New(b)
	owner, acct := e.SignUp(b, "owner@acme-corp.com", "Owner")
	e.Commit(b, acct)
	_, devID := e.Join(b, owner, acct, "dev@acme-corp.com", "developer")
	s := e.Server.Service
	ctx := context.Background()
	req := service.CheckRequest{AccountID: acct, UserID: devID, Permission: "numbers.edit"}
	if r, err := s.Check(ctx, 0, req); err != nil || !r.Allowed {
		b.Fatal(r, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := s.Check(ctx, 0, req); err != nil || !r.Allowed {
				b.Fatal(r, err)
			}
		}
	})
}
