// Package index keeps the check index: it loads it from the database,
// follows the change log (catching up after every write and on a timer),
// reloads when this replica fell behind the pruned log, and says whether
// the index is fresh enough to answer. It holds the personal API-key map
// too, since keys are granted and revoked by the same changes. It depends
// on store and authz only, so every room of service can stand on it.
package index

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/store"
)

// Keeper keeps the check index in step with the changes table. Every
// write that changes who may do what records a change in its transaction;
// after the commit the writer catches up at once, and every replica also
// catches up on a timer (and when woken by a notification), so all of
// them apply the same changes in the same order.
type Keeper struct {
	// Index is the check index itself, read by the gate and the rooms.
	Index *authz.Index

	db         *store.DB
	log        func() *slog.Logger  // the door's Log, read when used: tests set it after New
	staleAfter func() time.Duration // Config.StaleAfter, read when asked: tests set it after New

	mu sync.Mutex // serializes catch-ups: one reader of the DB and writer of the index
	// writeMu queues the catch-ups of writes (Committed), so that those
	// that committed while one ran find their change applied by it and
	// read nothing more (issue 26).
	writeMu sync.Mutex
	applied atomic.Int64 // every change up to this revision is in the index
	lastOK  atomic.Int64 // unix nanos of the last successful catch-up
	failing atomic.Bool  // the last catch-up failed
	waitMu  sync.Mutex
	advance chan struct{} // closed and replaced when applied moves
	// switches is store.DB.ServerSwitches when the index was last loaded
	// (cluster.go).
	switches atomic.Int64
}

// New returns a keeper of an empty index over db (call LoadIndex). log
// returns the logger, staleAfter how long failing catch-ups are tolerated
// (see Fresh); both are read when used, so a later change is seen.
func New(db *store.DB, log func() *slog.Logger, staleAfter func() time.Duration) *Keeper {
	return &Keeper{Index: authz.NewIndex(), db: db, log: log, staleAfter: staleAfter}
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
func (s *Keeper) LastCatchUp() time.Time {
	n := s.lastOK.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Revision is the revision this replica's index has applied.
func (s *Keeper) Revision() int64 { return s.applied.Load() }

// LoadIndex fills the check index from the database.
func (s *Keeper) LoadIndex(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switches := s.db.ServerSwitches()
	// The revision is read first: a change committed during the load is
	// applied again by the next catch-up, which is harmless.
	rev, err := s.db.LatestRevision(ctx)
	if err != nil {
		return err
	}
	// One batch: each page is built once and published when all is read.
	n, err := s.db.MemberCount(ctx)
	if err != nil {
		return err
	}
	lo, hi, err := s.db.AccountIDRange(ctx)
	if err != nil {
		return err
	}
	s.Index.Reset()
	s.Index.Update(func(b *authz.Batch) {
		b.Reserve(n)
		// Reading the rows costs far more than building the index from
		// them, so the members are read in account ranges, one reader a
		// core (each on its own connection), and handed over in chunks to
		// this goroutine, which alone writes the batch. The accounts come
		// first, from their own reader.
		type chunk struct {
			accounts []store.AccountFlags
			seqs     []int64
			members  []store.IndexRow
		}
		const size = 4096
		chunks := make(chan *chunk, 16)
		readers := max(1, min(runtime.GOMAXPROCS(0), 8))
		if hi-lo < 1024 {
			readers = 1
		}
		errs := make([]error, readers+1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &chunk{}
			errs[readers] = s.db.LoadIndexAccounts(ctx, func(seq int64, f store.AccountFlags) {
				c.seqs, c.accounts = append(c.seqs, seq), append(c.accounts, f)
				if len(c.seqs) == size {
					chunks <- c
					c = &chunk{}
				}
			})
			chunks <- c
		}()
		span := (hi - lo + int64(readers)) / int64(readers)
		for r := range readers {
			from, to := lo+int64(r)*span, lo+int64(r+1)*span-1
			if r == 0 {
				from = math.MinInt64
			}
			if r == readers-1 {
				to = math.MaxInt64
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &chunk{}
				errs[r] = s.db.LoadIndexMembers(ctx, from, to, func(r store.IndexRow) {
					c.members = append(c.members, r)
					if len(c.members) == size {
						chunks <- c
						c = &chunk{}
					}
				})
				chunks <- c
			}()
		}
		go func() { wg.Wait(); close(chunks) }()
		for c := range chunks {
			for i, f := range c.accounts {
				b.SetAccountOf(c.seqs[i], account(f))
			}
			for _, r := range c.members {
				b.SetMemberOf(r.AccountSeq, r.UserID, r.Role, facts(r))
			}
		}
		if err = errors.Join(errs...); err != nil {
			return
		}
		err = s.db.AllKeys(ctx, func(id, acct, userID int64, hash []byte) {
			b.SetKey([32]byte(hash), id, acct, userID)
		})
	})
	if err != nil {
		return err
	}
	// The index is now the database at rev, even when rev is below what
	// was applied before (another server after a failover: cluster.go).
	s.resetTo(rev)
	s.switches.Store(switches)
	s.lastOK.Store(time.Now().UnixNano())
	return nil
}

// Committed is called after every transaction that recorded changes: it
// catches up before the write returns, so the writer's replica refuses a
// revoked access on the very next request, and records the revision.
func (s *Keeper) Committed(ctx context.Context, rev int64) {
	if sink, ok := ctx.Value(revKey{}).(*atomic.Int64); ok && rev > sink.Load() {
		sink.Store(rev)
	}
	// A catch-up that began after this write committed has applied it:
	// at 200 writes a second each write's own catch-up (two or three
	// reads of the database, under mu) queued behind the others', and
	// every answer waited for the whole queue (issue 26). Writers wait
	// for the catch-up running now, and then read the log only if it
	// did not reach their revision.
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.applied.Load() >= rev && s.db.ServerSwitches() == s.switches.Load() {
		return
	}
	// From the primary, which holds the write, even when the follower
	// reads a standby that has not replayed it yet.
	if err := s.CatchUpOrReload(store.WithPrimary(ctx)); err != nil {
		s.log().Error("catch up after write", "err", err)
	}
}

// CatchUp applies every change after the applied revision to the index.
func (s *Keeper) CatchUp(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		changes, err := s.db.ChangesSince(ctx, s.applied.Load(), 1000)
		if err != nil {
			s.failing.Store(true)
			return err
		}
		// The members' changes are read in batches (applyMembers) between
		// the accounts' (apply): each reads the state as it is now, so
		// reading a member once for several of its changes, or after a
		// later change of another, ends in the same index.
		var members []store.Change
		flush := func() error {
			if len(members) == 0 {
				return nil
			}
			if err := s.applyMembers(ctx, members); err != nil {
				return err
			}
			s.advanceTo(members[len(members)-1].Rev)
			members = members[:0]
			return nil
		}
		for _, c := range changes {
			if c.UserID != 0 {
				members = append(members, c)
				continue
			}
			if err := flush(); err != nil {
				s.failing.Store(true)
				return err
			}
			if err := s.apply(ctx, c); err != nil {
				s.failing.Store(true)
				return err
			}
			s.advanceTo(c.Rev)
		}
		if err := flush(); err != nil {
			s.failing.Store(true)
			return err
		}
		if len(changes) < 1000 {
			s.lastOK.Store(time.Now().UnixNano())
			s.failing.Store(false)
			return nil
		}
	}
}

func account(f store.AccountFlags) authz.Account {
	return authz.Account{AuthID: f.AuthID, Committed: f.Committed, RequireMFA: f.RequireMFA, RequireSSO: f.RequireSSO}
}

func facts(r store.IndexRow) authz.Facts {
	return authz.Facts{MFA: r.MFA, OnDomain: r.OnDomain, SSOSeen: r.SSOSeen, Deactivated: r.Deactivated}
}

// apply reads the current state of what the change touched into the index.
// A change of the account (its plan, its requirements, its verified
// domains) reloads its flags and, while it requires single sign-on, its
// members too: which of them are bound follows its verified domains.
func (s *Keeper) apply(ctx context.Context, c store.Change) error {
	if c.UserID == 0 {
		f, err := s.db.AccountPlan(ctx, c.AccountSeq)
		if errors.Is(err, store.ErrNoRows) {
			s.Index.RemoveAccount(c.AccountSeq)
			return nil
		} else if err != nil {
			return err
		}
		if !f.RequireSSO {
			s.Index.SetAccountOf(c.AccountSeq, account(f))
			return nil
		}
		var rows []store.IndexRow
		if err := s.db.AccountIndexRows(ctx, c.AccountSeq, func(r store.IndexRow) { rows = append(rows, r) }); err != nil {
			return err
		}
		s.Index.Update(func(b *authz.Batch) {
			b.SetAccountOf(c.AccountSeq, account(f))
			for _, r := range rows {
				b.SetMemberOf(r.AccountSeq, r.UserID, r.Role, facts(r))
			}
		})
		return nil
	}
	r, err := s.db.MemberIndexRow(ctx, c.AccountSeq, c.UserID)
	if errors.Is(err, store.ErrNoRows) {
		s.Index.RemoveMember(c.AccountSeq, c.UserID)
		s.Index.RemoveKeysOf(c.AccountSeq, c.UserID)
		return nil
	} else if err != nil {
		return err
	}
	s.Index.SetMemberOf(c.AccountSeq, c.UserID, r.Role, facts(r))
	return s.ApplyKeys(ctx, c.AccountSeq, c.UserID)
}

// applyMembers reads the current state of the memberships that changes
// (of members, UserID set) touched into the index, two statements for up
// to 200 of them (store.DB.MemberIndexRows): a catch-up at 200 writes a
// second read two statements a change before (issue 26).
func (s *Keeper) applyMembers(ctx context.Context, changes []store.Change) error {
	seen := map[store.MemberPair]bool{}
	var ps []store.MemberPair
	for _, c := range changes {
		p := store.MemberPair{AccountSeq: c.AccountSeq, UserID: c.UserID}
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	rows := map[store.MemberPair]store.IndexRow{}
	keys := map[store.MemberPair]map[int64][]byte{}
	err := s.db.MemberIndexRows(ctx, ps, func(r store.IndexRow) {
		rows[store.MemberPair{AccountSeq: r.AccountSeq, UserID: r.UserID}] = r
	}, func(p store.MemberPair, id int64, h []byte) {
		if keys[p] == nil {
			keys[p] = map[int64][]byte{}
		}
		keys[p][id] = h
	})
	if err != nil {
		return err
	}
	s.Index.Update(func(b *authz.Batch) {
		for _, p := range ps {
			b.RemoveKeysOf(p.AccountSeq, p.UserID)
			r, ok := rows[p]
			if !ok {
				b.RemoveMember(p.AccountSeq, p.UserID)
				continue
			}
			b.SetMemberOf(p.AccountSeq, p.UserID, r.Role, facts(r))
			for id, h := range keys[p] {
				b.SetKey([32]byte(h), id, p.AccountSeq, p.UserID)
			}
		}
	})
	return nil
}

func (s *Keeper) advanceTo(rev int64) {
	if rev <= s.applied.Load() {
		return
	}
	s.applied.Store(rev)
	s.waitMu.Lock()
	if s.advance != nil {
		close(s.advance)
		s.advance = nil
	}
	s.waitMu.Unlock()
}

// WaitFor returns once this replica has applied rev, for read-after-write.
// Errors: EUNAVAILABLE when it has not within timeout.
func (s *Keeper) WaitFor(ctx context.Context, rev int64, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.waitMu.Lock()
		if s.applied.Load() >= rev {
			s.waitMu.Unlock()
			return nil
		}
		if s.advance == nil {
			s.advance = make(chan struct{})
		}
		ch := s.advance
		s.waitMu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return roster.Retry(roster.EUNAVAILABLE, time.Second, "This server has not caught up to revision %d yet; retry", rev)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Follow catches up every interval, and at once when wake fires, until ctx
// ends. Replicas run it; a single process runs it too, so changes made by
// the operator CLI on the same database reach the running server.
func (s *Keeper) Follow(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
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
			s.log().Warn("catch up", "err", err)
		}
		cancel()
	}
}

// Fresh reports whether the index can be trusted: a replica whose
// catch-ups have been failing (cut off from its database) for longer than
// Config.StaleAfter stops answering allows instead of serving revoked
// access. A catch-up that is merely late (a busy machine) is not a failure.
func (s *Keeper) Fresh() error {
	last := s.lastOK.Load()
	if s.staleAfter() > 0 && s.failing.Load() && time.Since(time.Unix(0, last)) > s.staleAfter() {
		return roster.Retry(roster.EUNAVAILABLE, time.Second, "This server has lost touch with its database; try again shortly")
	}
	return nil
}

// CatchUpOrReload is CatchUp for a replica that may have fallen behind the
// pruned change log: when changes it has not applied were deleted
// (store.DB.OldestRevision is past the revision after its own), applying
// the changes that remain would miss some, so it reloads the whole index
// instead. Follow and every write must catch up through it.
//
// Prune deletes changes as a prefix of revisions, so the oldest revision
// only grows. It is read before catching up (the usual case: a replica
// that was cut off for longer than the change log keeps) and again after:
// if a prune crossed this replica's revision while it was catching up, it
// may have applied a later change without an earlier one, and reloads.
// Revisions missing for other reasons (a PostgreSQL transaction that
// rolled back after drawing one) can cause an unneeded reload, never a
// missed change.
func (s *Keeper) CatchUpOrReload(ctx context.Context) error {
	if s.db.ServerSwitches() != s.switches.Load() {
		return s.reloadAfterSwitch(ctx)
	}
	applied := s.Revision()
	if behind, err := s.prunedPast(ctx, applied); err != nil {
		s.failing.Store(true)
		return err
	} else if behind {
		return s.reloadBehindPrune(ctx, applied)
	}
	if err := s.CatchUp(ctx); err != nil {
		return err
	}
	if s.Revision() == applied {
		// Nothing applied: no change after applied was there to read (the
		// newest change is never pruned), so none was missed.
		return nil
	}
	if behind, err := s.prunedPast(ctx, applied); err != nil {
		s.failing.Store(true)
		return err
	} else if behind {
		return s.reloadBehindPrune(ctx, applied)
	}
	return nil
}

// prunedPast reports whether changes after applied may have been pruned
// before this replica read them.
func (s *Keeper) prunedPast(ctx context.Context, applied int64) (bool, error) {
	if applied <= 0 {
		// Nothing applied: the index was loaded from an empty change log,
		// so every change is after the load.
		return false, nil
	}
	oldest, err := s.db.OldestRevision(ctx)
	if err != nil {
		return false, err
	}
	return oldest > applied+1, nil
}

func (s *Keeper) reloadBehindPrune(ctx context.Context, applied int64) error {
	s.log().Warn("this replica fell behind the pruned change log; reloading the check index", "applied", applied)
	// From the primary: a standby may hold less than was applied.
	if err := s.LoadIndex(store.WithPrimary(ctx)); err != nil {
		s.failing.Store(true)
		return err
	}
	s.failing.Store(false)
	return nil
}

// ApplyKeys reloads the member's personal API keys into the index.
func (s *Keeper) ApplyKeys(ctx context.Context, accountSeq, userID int64) error {
	keys, err := s.db.MemberKeys(ctx, accountSeq, userID)
	if err != nil {
		return err
	}
	s.Index.Update(func(b *authz.Batch) {
		b.RemoveKeysOf(accountSeq, userID)
		for id, h := range keys {
			b.SetKey([32]byte(h), id, accountSeq, userID)
		}
	})
	return nil
}
