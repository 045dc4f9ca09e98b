package service

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster"
)

// TestCheck_StaleIsCountedOnEveryPath: a check refused by a stale index
// is told to the decision hook as "stale", as the gate's refusals are,
// single or batch, before any item is read.
func TestCheck_StaleIsCountedOnEveryPath(t *testing.T) {
	s := &Service{}
	s.Config.StaleAfter = time.Nanosecond
	s.sync.failing.Store(true) // the last catch-up failed, and none ever succeeded
	var reasons []string
	s.SetDecisionHook(func(reason string, _ time.Duration) { reasons = append(reasons, reason) })
	req := CheckRequest{AccountID: "AC1", UserID: 1, Permission: "numbers.fly"}
	if _, err := s.Check(context.Background(), 0, req); roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Errorf("Check on a stale index: %v", err)
	}
	if _, err := s.CheckBatch(context.Background(), 0, []CheckRequest{req}, nil); roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Errorf("CheckBatch on a stale index: %v", err)
	}
	var c Caller
	if err := s.Authorize(context.Background(), &c, "AC1", roster.NumbersView); roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Errorf("Authorize on a stale index: %v", err)
	}
	if len(reasons) != 3 || reasons[0] != "stale" || reasons[1] != "stale" || reasons[2] != "stale" {
		t.Errorf("the hook was told %q, want stale three times", reasons)
	}
	// A bad batch size is the batch's first fault, before freshness.
	if _, err := s.CheckBatch(context.Background(), 0, nil, nil); roster.ErrorCode(err) != roster.EINVALID || len(reasons) != 3 {
		t.Errorf("empty batch on a stale index: %v (told %q)", err, reasons)
	}
}
