package index_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/service/index"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// fakeClock is the keeper's clock, moved by the test.
type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) read() time.Duration { return time.Duration(c.now.Load()) }
func (c *fakeClock) set(d time.Duration) { c.now.Store(int64(d)) }
func (c *fakeClock) add(d time.Duration) { c.now.Add(int64(d)) }
func discard() *slog.Logger              { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func bound(d *atomic.Int64) func() time.Duration {
	return func() time.Duration { return time.Duration(d.Load()) }
}

func wantStale(t *testing.T, err error, when string) {
	t.Helper()
	if roster.ErrorCode(err) != roster.EUNAVAILABLE {
		t.Fatalf("%s: Fresh = %v, want EUNAVAILABLE", when, err)
	}
	if d := roster.RetryAfter(err); d <= 0 {
		t.Errorf("%s: no Retry-After on %v", when, err)
	}
}

// TestFresh_CountsFromTheLastConfirmation drives the keeper's clock by
// hand: the index is fresh while its last confirmation (a load or a
// catch-up that read the database) is within the bound, whatever happened
// since; past it a request confirms the index itself when the database
// answers, and is refused with 503 when it does not; a failed
// confirmation answers for the requests right after it (no database call
// each); the hot path reads no clock while the confirmation is younger
// than half the bound.
func TestFresh_CountsFromTheLastConfirmation(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, filepath.Join(t.TempDir(), "roster.db"))
	var limit atomic.Int64
	limit.Store(int64(time.Second))
	clk := &fakeClock{}
	clk.set(10 * time.Second)
	k := index.New(db, discard, bound(&limit))
	k.SetClock(clk.read)

	// Never loaded: stale, and no catch-up from nothing makes it fresh.
	wantStale(t, k.Fresh(ctx), "before the first load")
	if k.LastFail() != 0 || k.Confirmed() != 0 {
		t.Errorf("Fresh before the load tried a catch-up (failed at %v, confirmed %v)", k.LastFail(), k.Confirmed())
	}

	if err := k.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if k.Confirmed() != 10*time.Second || k.Suspect() {
		t.Fatalf("after the load: confirmed %v suspect %v", k.Confirmed(), k.Suspect())
	}
	if err := k.Fresh(ctx); err != nil {
		t.Fatalf("just loaded: %v", err)
	}

	// Under half the bound the watchdog leaves the hot path alone.
	clk.set(10*time.Second + 400*time.Millisecond)
	k.Watch()
	if k.Suspect() {
		t.Error("suspect at 0.4 s of a 1 s bound")
	}
	// Past half of it the clock is read, and within the bound it is fresh
	// without a catch-up.
	clk.set(10*time.Second + 600*time.Millisecond)
	k.Watch()
	if !k.Suspect() {
		t.Error("not suspect at 0.6 s of a 1 s bound")
	}
	if err := k.Fresh(ctx); err != nil || k.Confirmed() != 10*time.Second {
		t.Errorf("at 0.6 s: %v, confirmed %v (want no catch-up)", err, k.Confirmed())
	}

	// Past the bound with the database there: the request confirms the
	// index itself, as of the start of its read, and is answered.
	clk.set(11*time.Second + 500*time.Millisecond)
	if err := k.Fresh(ctx); err != nil {
		t.Fatalf("past the bound, database answering: %v", err)
	}
	if k.Confirmed() != 11*time.Second+500*time.Millisecond || k.Suspect() {
		t.Errorf("after the confirmation: confirmed %v suspect %v", k.Confirmed(), k.Suspect())
	}

	// The database goes away: within the bound nothing changes (no error
	// counts, only the time since the confirmation) ...
	db.SQL().Close()
	clk.add(900 * time.Millisecond)
	k.Watch()
	if err := k.Fresh(ctx); err != nil {
		t.Errorf("0.9 s after the last confirmation: %v", err)
	}
	// ... past it, the confirmation fails and the answer is 503.
	clk.add(200 * time.Millisecond)
	wantStale(t, k.Fresh(ctx), "1.1 s after the last confirmation, database closed")
	failed := k.LastFail()
	if failed != clk.read() {
		t.Errorf("the failed confirmation was recorded at %v, want %v", failed, clk.read())
	}
	// The next request within ConfirmWait takes that answer, without a
	// call of its own ...
	clk.add(index.ConfirmWait(time.Second) - time.Millisecond)
	wantStale(t, k.Fresh(ctx), "right after a failed confirmation")
	if k.LastFail() != failed {
		t.Error("a request right after a failed confirmation tried again")
	}
	// ... and one after it tries again.
	clk.add(2 * time.Millisecond)
	wantStale(t, k.Fresh(ctx), "after ConfirmWait")
	if k.LastFail() == failed {
		t.Error("a request ConfirmWait after a failed confirmation did not try again")
	}

	// No bound (tools and tests that follow nothing): never stale.
	limit.Store(0)
	if err := k.Fresh(ctx); err != nil {
		t.Errorf("no bound: %v", err)
	}
}

// TestFresh_HotPathIsOneLoad: a fresh index answers Fresh without
// allocating (and, by its construction, without reading the clock).
func TestFresh_HotPathIsOneLoad(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, filepath.Join(t.TempDir(), "roster.db"))
	k := index.New(db, discard, func() time.Duration { return time.Minute })
	if err := k.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if k.Suspect() {
		t.Fatal("suspect right after the load")
	}
	if n := testing.AllocsPerRun(1000, func() {
		if err := k.Fresh(ctx); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Fresh allocates %v times when fresh", n)
	}
}

// TestTimeouts: the follower gives a catch-up the bound (at most 5 s), and
// a request past the bound waits a quarter of it, from 50 to 250 ms.
func TestTimeouts(t *testing.T) {
	for _, tc := range []struct{ bound, catchUp, confirm time.Duration }{
		{0, 5 * time.Second, 50 * time.Millisecond},
		{100 * time.Millisecond, 100 * time.Millisecond, 50 * time.Millisecond},
		{400 * time.Millisecond, 400 * time.Millisecond, 100 * time.Millisecond},
		{time.Second, time.Second, 250 * time.Millisecond},
		{time.Minute, 5 * time.Second, 250 * time.Millisecond},
	} {
		if got := index.CatchUpTimeout(tc.bound); got != tc.catchUp {
			t.Errorf("CatchUpTimeout(%v) = %v, want %v", tc.bound, got, tc.catchUp)
		}
		if got := index.ConfirmWait(tc.bound); got != tc.confirm {
			t.Errorf("ConfirmWait(%v) = %v, want %v", tc.bound, got, tc.confirm)
		}
	}
}

// BenchmarkFresh: the freshness guard of every check and gate call, on a
// fresh index.
func BenchmarkFresh(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b, filepath.Join(b.TempDir(), "roster.db"))
	k := index.New(db, discard, func() time.Duration { return time.Minute })
	if err := k.LoadIndex(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if k.Fresh(ctx) != nil {
				b.Fatal("stale")
			}
		}
	})
}

// TestFollow_CatchUpsGatherAStream: woken by every commit of a stream
// (one every half millisecond for 150 ms), the follower reads the log at
// most once a followGap (5 ms), not once a commit, and its index ends
// holding every change; after a quiet moment a single commit is read at
// once, by one catch-up.
func TestFollow_CatchUpsGatherAStream(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := storetest.Open(t, filepath.Join(t.TempDir(), "roster.db"))
	k := index.New(db, discard, func() time.Duration { return 0 })
	if err := k.LoadIndex(ctx); err != nil {
		t.Fatal(err)
	}
	wake := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { defer close(done); k.Follow(ctx, time.Hour, wake) }()
	defer func() { cancel(); <-done }()
	commit := func(user int64) int64 {
		t.Helper()
		var rev int64
		err := db.Transact(ctx, func(tx *store.Tx) error {
			_, err := tx.Changed(ctx, 1, user)
			rev = tx.Revision()
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case wake <- struct{}{}:
		default:
		}
		return rev
	}

	var last int64
	began := time.Now()
	for i := int64(1); time.Since(began) < 150*time.Millisecond; i++ {
		last = commit(i)
		time.Sleep(500 * time.Microsecond)
	}
	took := time.Since(began)
	if err := k.WaitFor(ctx, last, 5*time.Second); err != nil {
		t.Fatalf("the stream's last change (%d) never applied: %v", last, err)
	}
	n := k.CatchUps()
	if most := int64(took/(5*time.Millisecond)) + 2; n > most {
		t.Errorf("%d catch-ups for %d commits in %v, want at most %d (one a gap)", n, last, took, most)
	}
	if n < 1 {
		t.Errorf("no catch-up for a stream of %d commits", last)
	}

	time.Sleep(50 * time.Millisecond) // quiet
	n = k.CatchUps()
	rev := commit(1000)
	if err := k.WaitFor(ctx, rev, 5*time.Second); err != nil {
		t.Fatalf("a single commit after a quiet moment never applied: %v", err)
	}
	if got := k.CatchUps(); got != n+1 {
		t.Errorf("%d catch-ups for one commit, want 1", got-n)
	}
}
