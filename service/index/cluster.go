package index

import (
	"context"
	"time"

	"github.com/rosterhq/roster/store"
)

// On a PostgreSQL cluster (store/replicas.go) the keeper has two more
// duties. When the database's connections moved to another server (a
// failover, a switch between standbys) it reloads the whole index from
// the primary: the new server is the truth, even if the old one had shown
// a commit that did not survive. And when the follower reads a standby,
// a request that names a revision the standby has not replayed within
// StandbyWait is caught up from the primary instead of waiting longer.

// StandbyWait is how long a request that names a revision waits for a
// follower that reads a standby before the keeper catches up from the
// primary.
const StandbyWait = time.Second

// reloadAfterSwitch reloads the index from the primary after a server
// switch, under mu, in ctx (nil: errMustReload, for a request confirming
// the index in Fresh); load records the switches it saw, so a failed
// reload is tried again by the next catch-up.
func (s *Keeper) reloadAfterSwitch(ctx context.Context) (time.Duration, error) {
	if ctx == nil {
		return 0, errMustReload
	}
	s.log().Warn("the database is another server now (a failover or a switch between standbys); reloading the check index from the primary",
		"applied", s.Revision())
	return s.load(store.WithPrimary(ctx))
}

// resetTo sets the applied revision to rev, lower or higher, and wakes
// the waiters (WaitFor rechecks). Called with mu held, after a load.
func (s *Keeper) resetTo(rev int64) {
	s.applied.Store(rev)
	s.waitMu.Lock()
	if s.advance != nil {
		close(s.advance)
		s.advance = nil
	}
	s.waitMu.Unlock()
}

// AwaitRevision is WaitFor for a request that names a revision: when the
// follower reads a standby that has not replayed rev within StandbyWait
// (or half of timeout, if less), the keeper catches up from the primary,
// so the request waits at most timeout and is answered from current data.
// Errors: EUNAVAILABLE when rev is not reached within timeout.
func (s *Keeper) AwaitRevision(ctx context.Context, rev int64, timeout time.Duration) error {
	if !s.db.HasReadPool() || s.applied.Load() >= rev {
		return s.WaitFor(ctx, rev, timeout)
	}
	first := min(StandbyWait, timeout/2)
	if err := s.WaitFor(ctx, rev, first); err == nil {
		return nil
	}
	if err := s.CatchUpOrReload(store.WithPrimary(ctx)); err != nil && ctx.Err() == nil {
		s.log().Warn("catch up from the primary for a revision", "rev", rev, "err", err)
	}
	return s.WaitFor(ctx, rev, timeout-first)
}
