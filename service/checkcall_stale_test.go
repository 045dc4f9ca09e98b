package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/service"
)

// TestCheck_StaleIsCountedOnEveryPath: a check refused by a stale index
// is told to the decision hook as "stale", as the gate's refusals are,
// single or batch, before any item is read. The index goes stale as in
// production: the database goes away and catch-ups fail for MaxStaleness.
func TestCheck_StaleIsCountedOnEveryPath(t *testing.T) {
	e := servertest.New(t, servertest.Options{Tweak: func(c *server.Config) { c.MaxStaleness = 300 * time.Millisecond }})
	s := e.Server.Service
	_, acct := e.SignUp(t, "owner@acme-corp.com", "Owner")
	var mu sync.Mutex
	var reasons []string
	s.SetDecisionHook(func(reason string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		reasons = append(reasons, reason)
	})
	told := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), reasons...)
	}
	e.Server.DB.Close()
	for deadline := time.Now().Add(10 * time.Second); s.Fresh(context.Background()) == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the index never went stale with its database closed")
		}
	}
	mu.Lock()
	reasons = nil
	mu.Unlock()

	ctx := context.Background()
	req := service.CheckRequest{AccountID: acct, UserID: 1, Permission: "numbers.view"}
	if _, err := s.Check(ctx, 0, req); roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Errorf("Check on a stale index: %v", err)
	}
	if _, err := s.CheckBatch(ctx, 0, []service.CheckRequest{req}, nil); roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Errorf("CheckBatch on a stale index: %v", err)
	}
	var c service.Caller
	if err := s.Authorize(ctx, &c, acct, roster.NumbersView); roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Errorf("Authorize on a stale index: %v", err)
	}
	if got := told(); len(got) != 3 || got[0] != "stale" || got[1] != "stale" || got[2] != "stale" {
		t.Errorf("the hook was told %q, want stale three times", got)
	}
	// A bad batch size is the batch's first fault, before freshness.
	if _, err := s.CheckBatch(ctx, 0, nil, nil); roster.ErrorCode(err) != roster.EINVALID || len(told()) != 3 {
		t.Errorf("empty batch on a stale index: %v (told %q)", err, told())
	}
}
