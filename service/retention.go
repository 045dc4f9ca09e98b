package service

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/rosterhq/roster/store"
)

// retention fills in what the service's own settings decide: sessions end
// after Config.SessionIdle, a known login counts for Config.KnownLoginAge,
// users who never verified go after Config.VerifyTTL, and a throttle
// counter lives at least as long as its longest window.
func (s *Service) retention(r store.Retention) store.Retention {
	if r.SessionIdle <= 0 {
		r.SessionIdle = s.Config.SessionIdle
	}
	if r.KnownLogins <= 0 {
		r.KnownLogins = s.Config.KnownLoginAge
	}
	// A user who never verified is pruned once their sign-up link has
	// expired: the link is the only way they could have verified.
	if r.Unverified <= 0 {
		r.Unverified = s.Config.VerifyTTL
	}
	// Mail counters count a day; login counters count LoginWindow.
	r.ThrottleRetention = max(r.ThrottleRetention, store.DefaultThrottleRetention, s.Config.LoginWindow)
	return r
}

// Prune deletes, once, what has served its purpose (see store.DB.Prune),
// as of the database's clock, and logs what it deleted. Zero fields of r
// take the service's settings and the store's defaults.
func (s *Service) Prune(ctx context.Context, r store.Retention) error {
	start := time.Now()
	res, err := s.core.DB.Prune(ctx, s.core.DB.Now(), s.retention(r))
	if res.Total() > 0 {
		s.Log.Info("pruned", append(res.LogAttrs(), "took", time.Since(start).Round(time.Millisecond))...)
	}
	if res.UnverifiedUsers > 0 {
		// Accounts and members were deleted: this replica's index forgets
		// them now, the others when they follow the change log.
		if cerr := s.CatchUpOrReload(ctx); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

// RunRetention prunes every interval (with up to a tenth of it added at
// random, so replicas started together spread out) until ctx ends; the
// first prune comes after one interval, not at start, so that a starting
// process (or a test server whose clock the test sets) is left alone.
// Every replica may run it: the deletions are idempotent. interval <= 0
// disables it.
func (s *Service) RunRetention(ctx context.Context, every time.Duration, r store.Retention) {
	if every <= 0 {
		return
	}
	for {
		t := time.NewTimer(every + rand.N(every/10+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := s.Prune(ctx, r); err != nil && ctx.Err() == nil {
			s.Log.Warn("prune", "err", err)
		}
	}
}
