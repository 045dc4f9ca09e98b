package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/store"
)

// syncState keeps the check index in step with the changes table. Every
// write that changes who may do what records a change in its transaction;
// after the commit the writer catches up at once, and every replica also
// catches up on a timer (and when woken by a notification), so all of
// them apply the same changes in the same order.
type syncState struct {
	mu      sync.Mutex   // serializes catch-ups: one reader of the DB and writer of the index
	applied atomic.Int64 // every change up to this revision is in the index
	lastOK  atomic.Int64 // unix nanos of the last successful catch-up
	failing atomic.Bool  // the last catch-up failed
	waitMu  sync.Mutex
	advance chan struct{} // closed and replaced when applied moves
}

type revKey struct{}

// WithRevisionSink returns a context in which the service records the
// revision of the writes it makes, for the X-Roster-Revision header.
func WithRevisionSink(ctx context.Context) (context.Context, *atomic.Int64) {
	var rev atomic.Int64
	return context.WithValue(ctx, revKey{}, &rev), &rev
}

// LastCatchUp is when the index last caught up with the database
// successfully (loaded, or applied every change there was); zero before
// the first load.
func (s *Service) LastCatchUp() time.Time {
	n := s.sync.lastOK.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Revision is the revision this replica's index has applied.
func (s *Service) Revision() int64 { return s.sync.applied.Load() }

// LoadIndex fills the check index from the database.
func (s *Service) LoadIndex(ctx context.Context) error {
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	// The revision is read first: a change committed during the load is
	// applied again by the next catch-up, which is harmless.
	rev, err := s.db.LatestRevision(ctx)
	if err != nil {
		return err
	}
	// One batch: each shard is built once and published when all is read.
	n, err := s.db.MemberCount(ctx)
	if err != nil {
		return err
	}
	s.index.Reset()
	s.index.Update(func(b *authz.Batch) {
		b.Reserve(n)
		// Reading the rows and building the maps each take a core: rows
		// are read on one goroutine and handed over in chunks to this one.
		type chunk struct {
			accounts []store.AccountFlags
			seqs     []int64
			members  []store.IndexRow
		}
		const size = 4096
		chunks := make(chan *chunk, 8)
		var loadErr error
		go func() {
			defer close(chunks)
			c := &chunk{}
			loadErr = s.db.LoadIndex(ctx,
				func(seq int64, f store.AccountFlags) {
					c.seqs, c.accounts = append(c.seqs, seq), append(c.accounts, f)
					if len(c.seqs) == size {
						chunks <- c
						c = &chunk{}
					}
				},
				func(r store.IndexRow) {
					c.members = append(c.members, r)
					if len(c.members) == size {
						chunks <- c
						c = &chunk{}
					}
				})
			chunks <- c
		}()
		for c := range chunks {
			for i, f := range c.accounts {
				b.SetAccount(c.seqs[i], f.AuthID, f.Committed, f.RequireMFA)
			}
			for _, r := range c.members {
				b.SetMember(r.AccountSeq, r.UserID, r.Role, r.MFA)
			}
		}
		if err = loadErr; err != nil {
			return
		}
		err = s.db.AllKeys(ctx, func(id, acct, userID int64, hash []byte) {
			b.SetKey([32]byte(hash), id, acct, userID)
		})
	})
	if err != nil {
		return err
	}
	s.advanceTo(rev)
	s.sync.lastOK.Store(time.Now().UnixNano())
	return nil
}

// committed is called after every transaction that recorded changes: it
// catches up before the write returns, so the writer's replica refuses a
// revoked access on the very next request, and records the revision.
func (s *Service) committed(ctx context.Context, rev int64) {
	if sink, ok := ctx.Value(revKey{}).(*atomic.Int64); ok && rev > sink.Load() {
		sink.Store(rev)
	}
	if err := s.CatchUpOrReload(ctx); err != nil {
		s.Log.Error("catch up after write", "err", err)
	}
}

// CatchUp applies every change after the applied revision to the index.
func (s *Service) CatchUp(ctx context.Context) error {
	s.sync.mu.Lock()
	defer s.sync.mu.Unlock()
	for {
		changes, err := s.db.ChangesSince(ctx, s.sync.applied.Load(), 1000)
		if err != nil {
			s.sync.failing.Store(true)
			return err
		}
		for _, c := range changes {
			if err := s.apply(ctx, c); err != nil {
				s.sync.failing.Store(true)
				return err
			}
			s.advanceTo(c.Rev)
		}
		if len(changes) < 1000 {
			s.sync.lastOK.Store(time.Now().UnixNano())
			s.sync.failing.Store(false)
			return nil
		}
	}
}

// apply reads the current state of what the change touched into the index.
func (s *Service) apply(ctx context.Context, c store.Change) error {
	if c.UserID == 0 {
		f, err := s.db.AccountPlan(ctx, c.AccountSeq)
		if errors.Is(err, store.ErrNoRows) {
			s.index.RemoveAccount(c.AccountSeq)
			return nil
		} else if err != nil {
			return err
		}
		s.index.SetAccount(c.AccountSeq, f.AuthID, f.Committed, f.RequireMFA)
		return nil
	}
	role, mfa, err := s.db.MemberRoleNow(ctx, c.AccountSeq, c.UserID)
	if errors.Is(err, store.ErrNoRows) {
		s.index.RemoveMember(c.AccountSeq, c.UserID)
		s.index.RemoveKeysOf(c.AccountSeq, c.UserID)
		return nil
	} else if err != nil {
		return err
	}
	s.index.SetMember(c.AccountSeq, c.UserID, role, mfa)
	return s.applyKeys(ctx, c.AccountSeq, c.UserID)
}

func (s *Service) advanceTo(rev int64) {
	if rev <= s.sync.applied.Load() {
		return
	}
	s.sync.applied.Store(rev)
	s.sync.waitMu.Lock()
	if s.sync.advance != nil {
		close(s.sync.advance)
		s.sync.advance = nil
	}
	s.sync.waitMu.Unlock()
}

// WaitFor returns once this replica has applied rev, for read-after-write.
// Errors: EUNAVAILABLE when it has not within timeout.
func (s *Service) WaitFor(ctx context.Context, rev int64, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.sync.waitMu.Lock()
		if s.sync.applied.Load() >= rev {
			s.sync.waitMu.Unlock()
			return nil
		}
		if s.sync.advance == nil {
			s.sync.advance = make(chan struct{})
		}
		ch := s.sync.advance
		s.sync.waitMu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return roster.Retry(roster.EUNAVAILABLE, time.Second, "this server has not caught up to revision %d yet; retry", rev)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Follow catches up every interval, and at once when wake fires, until ctx
// ends. Replicas run it; a single process runs it too, so changes made by
// the operator CLI on the same database reach the running server.
func (s *Service) Follow(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := s.CatchUpOrReload(cctx); err != nil && ctx.Err() == nil {
			s.Log.Warn("catch up", "err", err)
		}
		cancel()
	}
}

// Fresh reports whether the index can be trusted: a replica whose
// catch-ups have been failing (cut off from its database) for longer than
// Config.StaleAfter stops answering allows instead of serving revoked
// access. A catch-up that is merely late (a busy machine) is not a failure.
func (s *Service) Fresh() error {
	last := s.sync.lastOK.Load()
	if s.Config.StaleAfter > 0 && s.sync.failing.Load() && time.Since(time.Unix(0, last)) > s.Config.StaleAfter {
		return roster.Retry(roster.EUNAVAILABLE, time.Second, "this server has lost touch with its database; try again shortly")
	}
	return nil
}

// Drain marks the process as shutting down, for every readiness probe that
// asks the service (the admin listener's /readyz, the public /healthz, gRPC
// health): from now on Draining is true. Requests are still served (the
// check and the gate do not ask); there is no way back.
func (s *Service) Drain() { s.draining.Store(true) }

// Draining reports whether Drain was called.
func (s *Service) Draining() bool { return s.draining.Load() }
