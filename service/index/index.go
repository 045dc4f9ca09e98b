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

	db           *store.DB
	log          func() *slog.Logger  // the door's Log, read when used: tests set it after New
	maxStaleness func() time.Duration // Config.MaxStaleness, read when asked: tests set it after New

	// The clock of the staleness bound: monotonic, as a duration since
	// epoch (a wall clock set back must not make the index look fresh).
	// Tests replace clock (SetClock in export_test.go).
	epoch time.Time
	clock func() time.Duration

	mu sync.Mutex // serializes catch-ups: one reader of the DB and writer of the index
	// standbyDown logs the read standby's outages (catchUpOrReload), under mu.
	standbyDown outage
	// writeMu queues the catch-ups of writes (Committed), so that those
	// that committed while one ran find their change applied by it and
	// read nothing more (issue 26).
	writeMu sync.Mutex
	applied atomic.Int64 // every change up to this revision is in the index
	waitMu  sync.Mutex
	advance chan struct{} // closed and replaced when applied moves
	// switches is store.DB.ServerSwitches when the index was last loaded
	// (cluster.go).
	switches atomic.Int64

	// The staleness bound (see Fresh). confirmed is the clock reading as
	// of which the index was last confirmed current: the start of the
	// read of the last successful catch-up; 0 before the first load.
	// suspect is the hot path's one load: false only while a watchdog
	// timer is set to raise it when confirmed grows older than half the
	// bound, so a fresh index is told apart without reading the clock.
	confirmed    atomic.Int64
	loaded       atomic.Bool // a load succeeded: a catch-up can confirm the index
	suspect      atomic.Bool
	attemptStart atomic.Int64 // clock reading when the running catch-up began; 0: none runs
	lastFail     atomic.Int64 // clock reading when a catch-up last failed
	watchMu      sync.Mutex
	watchdog     *time.Timer
	endMu        sync.Mutex
	ended        chan struct{} // closed and replaced when a catch-up ends, well or not

	propagated atomic.Pointer[func(time.Duration)] // SetPropagationHook
	catchUps   atomic.Int64                        // the follower's, CatchUps
}

// CatchUps is how many catch-ups the follower (Follow) has made: each a
// read of the change log.
func (s *Keeper) CatchUps() int64 { return s.catchUps.Load() }

// SetPropagationHook sets the function told, for every change this
// replica's index applies, how long after its writer sent the commit it
// was applied (store.Change.At: the writer's clock, so replicas' clocks
// apart add their difference; never below 0). Nil: none. Safe at any
// time.
func (s *Keeper) SetPropagationHook(h func(time.Duration)) {
	if h == nil {
		s.propagated.Store(nil)
		return
	}
	s.propagated.Store(&h)
}

// tellPropagated reports the changes just applied to the hook, if any.
func (s *Keeper) tellPropagated(cs []store.Change) {
	h := s.propagated.Load()
	if h == nil {
		return
	}
	now := time.Now()
	for _, c := range cs {
		(*h)(max(0, now.Sub(c.At)))
	}
}

// New returns a keeper of an empty index over db (call LoadIndex). log
// returns the logger, maxStaleness the staleness bound (see Fresh; 0: no
// bound, for tools and tests that follow nothing); both are read when
// used, so a later change is seen.
func New(db *store.DB, log func() *slog.Logger, maxStaleness func() time.Duration) *Keeper {
	k := &Keeper{Index: authz.NewIndex(), db: db, log: log, maxStaleness: maxStaleness, epoch: time.Now()}
	k.clock = func() time.Duration { return time.Since(k.epoch) }
	k.suspect.Store(true) // nothing is confirmed before the first load
	return k
}

type revKey struct{}

// WithRevisionSink returns a context in which the service records the
// revision of the writes it makes, for the X-Roster-Revision header.
func WithRevisionSink(ctx context.Context) (context.Context, *atomic.Int64) {
	var rev atomic.Int64
	return context.WithValue(ctx, revKey{}, &rev), &rev
}

// LastCatchUp is the moment as of which the index was last confirmed
// current: the start of the read of the last successful catch-up (or of
// the load). Zero before the first load.
func (s *Keeper) LastCatchUp() time.Time {
	n := s.confirmed.Load()
	if n == 0 {
		return time.Time{}
	}
	return s.epoch.Add(time.Duration(n))
}

// Revision is the revision this replica's index has applied.
func (s *Keeper) Revision() int64 { return s.applied.Load() }

// LoadIndex fills the check index from the database.
func (s *Keeper) LoadIndex(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempt(func() (time.Duration, error) { return s.load(ctx) })
}

// load is LoadIndex under mu. It returns the clock reading as of which
// the index is current: before the revision is read.
func (s *Keeper) load(ctx context.Context) (time.Duration, error) {
	ctx = store.MainPool(ctx) // its readers in parallel, not on the follower's few connections
	at := s.clock()
	standby, target := s.standbyTarget(ctx, false)
	switches := s.db.ServerSwitches()
	// The revision is read first: a change committed during the load is
	// applied again by the next catch-up, which is harmless.
	rev, err := s.db.LatestRevision(ctx)
	if err != nil {
		return 0, err
	}
	// One batch: each page is built once and published when all is read.
	accounts, n, err := s.db.IndexSize(ctx)
	if err != nil {
		return 0, err
	}
	// Reading the rows costs far more than building the index from them,
	// so the members are read in parts, one reader a core (each on its own
	// connection), and handed over in chunks to the goroutine that alone
	// writes the batch. The accounts come first, from their own reader.
	ranges, err := s.db.IndexRanges(ctx, max(1, min(runtime.GOMAXPROCS(0), 8)))
	if err != nil {
		return 0, err
	}
	sparse, err := s.db.LoadIndexSparse(ctx)
	if err != nil {
		return 0, err
	}
	// Built aside and swapped in whole: requests go on with the old index
	// meanwhile (a reload after a failover, or behind the pruned log).
	s.Index.Replace(func(b *authz.Batch) bool {
		b.Reserve(n)
		b.ReserveAccounts(accounts)
		type chunk struct {
			accounts []store.AccountFlags
			seqs     []int64
			members  []store.IndexRow
		}
		const size = 4096
		chunks := make(chan *chunk, 16)
		// Chunks go back to the readers once applied: ten million rows
		// through fresh ones were half a gigabyte of garbage.
		free := make(chan *chunk, cap(chunks)+len(ranges)+2)
		fresh := func() *chunk {
			select {
			case c := <-free:
				c.accounts, c.seqs, c.members = c.accounts[:0], c.seqs[:0], c.members[:0]
				return c
			default:
				return &chunk{}
			}
		}
		errs := make([]error, len(ranges)+1)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := fresh()
			errs[len(ranges)] = s.db.LoadIndexAccounts(ctx, func(seq int64, f store.AccountFlags) {
				c.seqs, c.accounts = append(c.seqs, seq), append(c.accounts, f)
				if len(c.seqs) == size {
					chunks <- c
					c = fresh()
				}
			})
			chunks <- c
		}()
		for i, r := range ranges {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := fresh()
				errs[i] = s.db.LoadIndexMembers(ctx, r, sparse, func(r store.IndexRow) {
					c.members = append(c.members, r)
					if len(c.members) == size {
						chunks <- c
						c = fresh()
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
			select {
			case free <- c:
			default:
			}
		}
		if err = errors.Join(errs...); err != nil {
			return false
		}
		err = s.db.AllKeys(ctx, func(id, acct, userID int64, hash []byte) {
			b.SetKey([32]byte(hash), id, acct, userID)
		})
		return err == nil
	})
	if err != nil {
		return 0, err
	}
	// The index is now the database at rev, even when rev is below what
	// was applied before (another server after a failover: cluster.go).
	s.resetTo(rev)
	s.switches.Store(switches)
	s.loaded.Store(true)
	if standby && (target < 0 || rev < target) {
		return 0, nil // loaded, but from a standby behind the primary: not confirmed
	}
	return at, nil
}

// standbyTarget is what a read in ctx must reach to confirm the index.
// A read of the primary confirms it as of the moment it starts (standby
// false). A standby's (ROSTER_DATABASE_READ) may lag behind the primary
// by any time, so it confirms the index only once the index holds the
// primary's newest revision read before it: target, or -1 when the
// primary could not be read (a standby alone cannot tell whether the
// primary took revocations since) or need not be read yet: thrifty, the
// follower asks the primary only once the last confirmation is a quarter
// of the bound old, so a replica asks the primary a few times a second at
// most, not at every catch-up.
func (s *Keeper) standbyTarget(ctx context.Context, thrifty bool) (standby bool, target int64) {
	if !s.db.HasReadPool() || store.ReadsPrimary(ctx) {
		return false, 0
	}
	if bound := s.maxStaleness(); thrifty && bound > 0 && s.age() < bound/4 {
		return true, -1
	}
	rev, err := s.db.LatestRevision(store.WithPrimary(ctx))
	if err != nil {
		return true, -1
	}
	return true, rev
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
	if err := s.CatchUpOrReload(store.ForFollower(store.WithPrimary(ctx))); err != nil {
		s.log().Error("catch up after write", "err", err)
	}
}

// CatchUp applies every change after the applied revision to the index.
func (s *Keeper) CatchUp(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempt(func() (time.Duration, error) { return s.catchUp(ctx, false) })
}

// catchUp is CatchUp under mu. It returns the clock reading as of which
// the index is current: the start of the read that found no more changes
// (a change committed before it is in that read, whether or not there
// were changes at all).
//
// With pruned, a read whose first change is not the one after the applied
// revision may be past changes that were pruned (or past a revision a
// rolled-back transaction drew): it asks prunedPast before applying it,
// and answers errBehindPrune when changes were pruned.
func (s *Keeper) catchUp(ctx context.Context, pruned bool) (time.Duration, error) {
	first := s.clock()
	standby, target := s.standbyTarget(ctx, true)
	for {
		at := s.clock()
		if standby {
			at = first // as of the primary's revision, read first
		}
		applied := s.applied.Load()
		changes, err := s.db.ChangesSince(ctx, applied, 1000)
		if err != nil {
			return 0, err
		}
		if pruned && len(changes) > 0 && changes[0].Rev != applied+1 {
			if behind, err := s.prunedPast(ctx, applied); err != nil {
				return 0, err
			} else if behind {
				return 0, errBehindPrune
			}
		}
		// The members' changes come with the memberships as the read
		// found them, and are applied in batches (applyMembers) between
		// the accounts' (apply, which reads the account now): each is the
		// state as of its read, after every change the read returned, so
		// applying a member once for several of its changes, or before a
		// later change of its account, ends in the same index.
		var members []store.Change
		flush := func() {
			if len(members) == 0 {
				return
			}
			s.applyMembers(members)
			s.advanceTo(members[len(members)-1].Rev)
			s.tellPropagated(members)
			members = members[:0]
		}
		for _, c := range changes {
			if c.UserID != 0 {
				members = append(members, c)
				continue
			}
			flush()
			if err := s.apply(ctx, c); err != nil {
				return 0, err
			}
			s.advanceTo(c.Rev)
			s.tellPropagated([]store.Change{c})
		}
		flush()
		if len(changes) < 1000 {
			if standby && (target < 0 || s.applied.Load() < target) {
				return 0, nil // caught up with a standby behind the primary: not confirmed
			}
			return at, nil
		}
	}
}

func account(f store.AccountFlags) authz.Account {
	return authz.Account{AuthID: f.AuthID, Committed: f.Committed, RequireMFA: f.RequireMFA, RequireSSO: f.RequireSSO}
}

func facts(r store.IndexRow) authz.Facts {
	return authz.Facts{MFA: r.MFA, OnDomain: r.OnDomain, SSOSeen: r.SSOSeen, Deactivated: r.Deactivated}
}

// apply reads the current state of the account a change of the account
// (UserID 0) touched into the index: its plan, its requirements, its
// verified domains. It reloads the account's flags and, while it requires
// single sign-on, its members too: which of them are bound follows its
// verified domains.
func (s *Keeper) apply(ctx context.Context, c store.Change) error {
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

// applyMembers puts the memberships that changes of members (UserID set)
// came with into the index, in one batch: each one's role, facts and
// personal API keys, or, gone, its removal with its keys.
func (s *Keeper) applyMembers(changes []store.Change) {
	s.Index.Update(func(b *authz.Batch) {
		for _, c := range changes {
			b.RemoveKeysOf(c.AccountSeq, c.UserID)
			if c.Gone {
				b.RemoveMember(c.AccountSeq, c.UserID)
				continue
			}
			b.SetMemberOf(c.AccountSeq, c.UserID, c.Member.Role, facts(c.Member))
			for _, k := range c.Keys {
				b.SetKey([32]byte(k.Hash), k.ID, c.AccountSeq, c.UserID)
			}
		}
	})
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
// the operator CLI on the same database reach the running server. Each
// catch-up has CatchUpTimeout: a stalled connection is given up within
// the staleness bound and the next catch-up tries a new one. A reload
// (behind the pruned change log) has ReloadTimeout.
func (s *Keeper) Follow(ctx context.Context, interval time.Duration, wake <-chan struct{}) {
	// Its reads on connections of their own (store.ForFollower): a busy
	// pool must not keep the index from being confirmed.
	ctx = store.ForFollower(ctx)
	t := time.NewTicker(interval)
	defer t.Stop()
	var down outage
	var lastEnd time.Time // when the last catch-up ended
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
			if rev := s.db.TakeAnnounced(); rev > 0 && rev <= s.applied.Load() {
				// A commit this replica has applied (its own write, which
				// it applied before answering): nothing to read.
				continue
			}
			// Under a stream of commits, the catch-ups of one replica are
			// at least followGap apart: the commits of the gap are read
			// at once (see followGap).
			if wait := followGap - time.Since(lastEnd); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		// The next tick counts from this catch-up: under a steady stream
		// of wake-ups the ticks found nothing they had not read (8
		// replicas ticking 20 times a second each were a tenth of the
		// database's statements at 200 writes a second).
		t.Reset(interval)
		cctx, cancel := context.WithTimeout(ctx, CatchUpTimeout(s.maxStaleness()))
		rctx, rcancel := context.WithTimeout(ctx, ReloadTimeout)
		s.mu.Lock()
		err := s.attempt(func() (time.Duration, error) { return s.catchUpOrReload(cctx, rctx) })
		s.mu.Unlock()
		s.catchUps.Add(1)
		switch {
		case err == nil:
			down.succeeded(s.clock(), s.log(), "catch up succeeded again")
		case ctx.Err() == nil:
			down.failed(s.clock(), s.log(), err, "catch up failed: the check index is not confirmed current until one succeeds")
		}
		rcancel()
		cancel()
		lastEnd = time.Now()
	}
}

// followGap is the least time between two catch-ups of the follower woken
// by notifications: a commit after a quiet moment is read at once, and
// under a stream of them each catch-up reads what committed in the gap.
// Woken by every commit (200 a second to 8 replicas), the followers' reads
// were a sixth of the database's round trips and took the CPU the writes
// waited for: with the gap, on a 2-core machine at 200 writes a second,
// propagation from the commit went from p50 36 ms / p99 131 ms to p50
// 12-14 ms / p99 48-64 ms (issue 26; decisions.md).
const followGap = 5 * time.Millisecond

// outage is what the follower logs of catch-ups failing in a row: a
// warning when they start, one every outageLogEvery while they go on (a
// follower tries every 50 ms, and logged each failure: 20 lines a second
// through an outage), and a line when one succeeds again.
type outage struct {
	since, logged time.Duration // the keeper's clock at the first failure and the last line
	count         int           // catch-ups failed since
}

// outageLogEvery is how often the follower repeats that catch-ups fail.
const outageLogEvery = 10 * time.Second

// failed records a failure; msg is the outage's first line (later ones
// say it is still failing).
func (o *outage) failed(now time.Duration, log *slog.Logger, err error, msg string) {
	o.count++
	if o.count == 1 {
		o.since, o.logged = now, now
		log.Warn(msg, "err", err)
		return
	}
	if now-o.logged >= outageLogEvery {
		o.logged = now
		log.Warn(msg+" (still failing)", "err", err, "failed", o.count, "for", (now - o.since).Round(time.Millisecond))
	}
}

// succeeded ends an outage, logging msg with its length, if one was going on.
func (o *outage) succeeded(now time.Duration, log *slog.Logger, msg string) {
	if o.count == 0 {
		return
	}
	log.Info(msg, "failed", o.count, "for", (now - o.since).Round(time.Millisecond))
	*o = outage{}
}

// ReloadTimeout bounds a reload of the whole index by the follower (a
// replica behind the pruned change log): far longer than a catch-up, since
// it reads every membership.
const ReloadTimeout = 5 * time.Minute

// CatchUpTimeout is how long one catch-up of the follower may take under
// the staleness bound maxStaleness: the bound, at most 5 s (0: 5 s). A
// catch-up stuck on a silent connection is abandoned by then, so the
// next one, on a new connection, can confirm the index again.
func CatchUpTimeout(maxStaleness time.Duration) time.Duration {
	if maxStaleness <= 0 || maxStaleness > 5*time.Second {
		return 5 * time.Second
	}
	return maxStaleness
}

// ConfirmWait is how long a request that finds the index older than the
// staleness bound maxStaleness waits for the index to be confirmed
// current again (a catch-up of its own, or one already running): a
// quarter of the bound, at least 50 ms and at most 250 ms.
func ConfirmWait(maxStaleness time.Duration) time.Duration {
	return min(max(maxStaleness/4, 50*time.Millisecond), 250*time.Millisecond)
}

// Fresh reports whether the index can be trusted: nil while it was
// confirmed current (a catch-up or load succeeded, reading the database)
// within the staleness bound (Config.MaxStaleness; 0: no bound), whatever
// kept it from being confirmed since: a cut connection, a stalled one, a
// slow machine. Past the bound a request confirms the index itself before
// it is refused: one catch-up at a time, which the others wait for, at
// most ConfirmWait; a catch-up that failed or hangs answers for them at
// once. Errors: EUNAVAILABLE with Retry-After, when it could not.
//
// While the index is fresh this is one atomic load: the clock is read
// only once the last confirmation is older than half the bound.
func (s *Keeper) Fresh(ctx context.Context) error {
	if !s.suspect.Load() {
		return nil
	}
	return s.freshSlow(ctx)
}

func (s *Keeper) freshSlow(ctx context.Context) error {
	bound := s.maxStaleness()
	if bound <= 0 {
		return nil
	}
	wait := ConfirmWait(bound)
	var timer *time.Timer
	for tried := false; ; tried = true {
		ended := s.attemptEnded() // before the age: an end after it is seen
		if s.age() <= bound {
			return nil
		}
		if tried || !s.loaded.Load() {
			// One catch-up ended and the index is still too old; or it was
			// never loaded, and a catch-up from nothing would not fill it.
			return errStale()
		}
		now := s.clock()
		if f := s.lastFail.Load(); f > s.confirmed.Load() && now-time.Duration(f) < wait {
			return errStale() // one failed a moment ago: it answers for this request too
		}
		if st := s.attemptStart.Load(); st != 0 && now-time.Duration(st) >= wait {
			return errStale() // the one running hangs (a stalled connection)
		}
		if s.mu.TryLock() {
			// This request confirms for everyone: detached from its own
			// end, since others wait for the outcome; from the primary,
			// since a standby may be the reason the index is behind.
			cctx, cancel := context.WithTimeout(store.ForFollower(store.WithPrimary(context.WithoutCancel(ctx))), wait)
			err := s.attempt(func() (time.Duration, error) { return s.catchUpOrReload(cctx, nil) })
			cancel()
			s.mu.Unlock()
			if err != nil {
				return errStale()
			}
			continue
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case <-ended:
		case <-timer.C:
			return errStale()
		case <-ctx.Done():
			return errStale()
		}
	}
}

func errStale() error {
	return roster.Retry(roster.EUNAVAILABLE, time.Second, "This server has lost touch with its database; try again shortly")
}

// age is how old the last confirmation is; very old before the first.
func (s *Keeper) age() time.Duration {
	c := s.confirmed.Load()
	if c == 0 {
		return time.Duration(1<<63 - 1)
	}
	return s.clock() - time.Duration(c)
}

// attempt runs one catch-up or load, under mu: it confirms the index as
// of the clock reading fn returns when fn succeeds, records a failure
// when not, and tells the requests waiting in Fresh that it ended.
func (s *Keeper) attempt(fn func() (time.Duration, error)) error {
	s.attemptStart.Store(int64(s.clock()))
	at, err := fn()
	s.attemptStart.Store(0)
	if err != nil {
		s.lastFail.Store(int64(s.clock()))
	} else if at > 0 {
		s.confirm(at)
	}
	s.endMu.Lock()
	if s.ended != nil {
		close(s.ended)
		s.ended = nil
	}
	s.endMu.Unlock()
	return err
}

// attemptEnded returns a channel closed when the next catch-up ends.
func (s *Keeper) attemptEnded() <-chan struct{} {
	s.endMu.Lock()
	defer s.endMu.Unlock()
	if s.ended == nil {
		s.ended = make(chan struct{})
	}
	return s.ended
}

// confirm records that the index is current as of the clock reading at,
// and lowers suspect when that is recent enough.
func (s *Keeper) confirm(at time.Duration) {
	for {
		old := s.confirmed.Load()
		if int64(at) <= old || s.confirmed.CompareAndSwap(old, int64(at)) {
			break
		}
	}
	if s.suspect.Load() {
		s.watch()
	}
}

// watch is the watchdog: it raises suspect once the last confirmation is
// half the bound old, and otherwise (lowering suspect) sets its timer for
// that moment. A confirmation moves the moment on, without touching the
// timer while suspect is low: when it fires it looks again. A timer that
// fires late leaves half the bound before an allow could be stale.
func (s *Keeper) watch() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	bound := s.maxStaleness()
	if bound <= 0 {
		s.suspect.Store(true) // no bound: the slow path answers nil at once
		return
	}
	left := bound/2 - s.age()
	if left <= 0 {
		s.suspect.Store(true)
		return
	}
	s.suspect.Store(false)
	if s.watchdog == nil {
		s.watchdog = time.AfterFunc(left, s.watch)
	} else {
		s.watchdog.Reset(left)
	}
}

// CatchUpOrReload is CatchUp for a replica that may have fallen behind the
// pruned change log: when changes it has not applied were deleted
// (store.DB.OldestRevision is past the revision after its own), applying
// the changes that remain would miss some, so it reloads the whole index
// instead. Follow and every write must catch up through it.
//
// Prune deletes changes as a prefix of revisions, so the oldest revision
// only grows, and the newest change is never pruned. A read of the log
// (one statement, one snapshot) that starts with the change right after
// this replica's revision missed nothing, and no prune can open a hole
// inside it; a read that starts later, or one of the reads after it
// that does not continue where the last ended, is checked against the
// oldest revision before any of it is applied. Revisions missing for
// other reasons (a PostgreSQL transaction that rolled back after drawing
// one) cost that check, and can cause an unneeded reload, never a missed
// change. (The oldest revision was read before and after every catch-up
// before: at 100 writes a second to 8 replicas, 20 reads a write, more
// of the followers' CPU than the changes themselves; issue 26.)
func (s *Keeper) CatchUpOrReload(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempt(func() (time.Duration, error) { return s.catchUpOrReload(ctx, ctx) })
}

// errMustReload: a catch-up that may not reload found that the index must
// be reloaded (changes pruned, or the database moved to another server).
var errMustReload = errors.New("the check index must be reloaded (behind the pruned change log, or another database server); the follower reloads it")

// catchUpOrReload is CatchUpOrReload under mu, reloading in reloadCtx;
// nil reloadCtx answers errMustReload instead (a request confirming the
// index in Fresh must not hold everyone for a reload). It returns the
// clock reading as of which the index is current.
func (s *Keeper) catchUpOrReload(ctx, reloadCtx context.Context) (time.Duration, error) {
	if s.db.ServerSwitches() != s.switches.Load() {
		return s.reloadAfterSwitch(reloadCtx)
	}
	at, err := s.catchUpVia(ctx)
	if errors.Is(err, errBehindPrune) {
		return s.reloadBehindPrune(reloadCtx, s.Revision())
	}
	return at, err
}

// catchUpVia is catchUp through the read standby, when there is one and
// ctx does not ask for the primary. A standby that fails (down, refusing)
// or hangs must not turn the index stale while the primary answers: its
// part of the catch-up has a third of the staleness bound, and when it
// fails the catch-up reads the primary instead and confirms the index
// from it. The store then passes the standby over (store.DB.ReadPoolDown)
// until it answers again, so the catch-ups after it read the primary at
// once. (A standby that hung held each catch-up for the whole of it, and
// the index turned stale.)
func (s *Keeper) catchUpVia(ctx context.Context) (time.Duration, error) {
	if !s.db.HasReadPool() || store.ReadsPrimary(ctx) {
		return s.catchUp(ctx, true)
	}
	const msg = "the read standby failed: the check index catches up from the primary until it answers"
	if why := s.db.ReadPoolDown(); why != nil {
		s.standbyDown.failed(s.clock(), s.log(), why, msg)
		return s.catchUp(store.WithPrimary(ctx), true)
	}
	sctx, cancel := ctx, context.CancelFunc(func() {})
	if bound := s.maxStaleness(); bound > 0 {
		sctx, cancel = context.WithTimeout(ctx, bound/3)
	}
	at, err := s.catchUp(sctx, true)
	cancel()
	switch {
	case err == nil, errors.Is(err, errBehindPrune):
		s.standbyDown.succeeded(s.clock(), s.log(), "the read standby answers again")
		return at, err
	case ctx.Err() != nil:
		return at, err
	}
	s.standbyDown.failed(s.clock(), s.log(), err, msg)
	return s.catchUp(store.WithPrimary(ctx), true)
}

// errBehindPrune: changes after the applied revision were pruned before
// this replica read them (catchUp).
var errBehindPrune = errors.New("behind the pruned change log")

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

func (s *Keeper) reloadBehindPrune(ctx context.Context, applied int64) (time.Duration, error) {
	if ctx == nil {
		return 0, errMustReload
	}
	s.log().Warn("this replica fell behind the pruned change log; reloading the check index", "applied", applied)
	// From the primary: a standby may hold less than was applied.
	return s.load(store.WithPrimary(ctx))
}
