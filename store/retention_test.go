package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/server"
	"github.com/rosterhq/roster/server/servertest"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// testClock is a database clock the test moves: real time plus an offset,
// read atomically, so a running server's goroutines never race with it.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }

func count(t *testing.T, db *store.DB, table string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// TestPrune_DeletesOnlyWhatNoReadAccepts: every rule deletes the rows its
// read would refuse and keeps the others, in batches smaller than the
// tables (so the batch loop runs), and the live rows still work after.
func TestPrune_DeletesOnlyWhatNoReadAccepts(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &testClock{}
		db.Now = clk.Now
		uid, _ := fixture(t, db, "o@x.example")
		tok := func(s string) []byte { b := make([]byte, 32); copy(b, s); return b }
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		// Made at T0; the prune runs at T0+3h, with 2h of session idle.
		must(tx(t, db, func(tx *store.Tx) error {
			for i := range 5 {
				// expire at T0+1h: gone
				must(tx.CreateSession(ctx, uid, tok(fmt.Sprint("expired", i)), time.Hour, "ip", "ua"))
				// unused since T0, idle 2h: gone at T0+3h
				must(tx.CreateSession(ctx, uid, tok(fmt.Sprint("idle", i)), 24*time.Hour, "ip", "ua"))
				must(tx.CreateVerification(ctx, uid, tok(fmt.Sprint("v-expired", i)), time.Hour, "", ""))
				must(tx.CreatePasswordReset(ctx, uid, tok(fmt.Sprint("r-expired", i)), time.Hour))
				must(tx.CreatePendingLogin(ctx, uid, tok(fmt.Sprint("p-expired", i)), time.Hour))
			}
			must(tx.CreateVerification(ctx, uid, tok("v-used"), 48*time.Hour, "", ""))
			must(tx.CreatePasswordReset(ctx, uid, tok("r-used"), 48*time.Hour))
			must(tx.CreatePendingLogin(ctx, uid, tok("p-used"), 48*time.Hour))
			must(tx.CreatePendingLogin(ctx, uid, tok("p-live"), 48*time.Hour))
			return tx.RememberLogin(ctx, uid, "192.0.2.1")
		}))
		must(tx(t, db, func(tx *store.Tx) error {
			if _, err := tx.UsePasswordReset(ctx, tok("r-used")); err != nil { // ends every open reset of the user
				return err
			}
			if _, err := tx.UseVerification(ctx, tok("v-used")); err != nil { // ends every other open link
				return err
			}
			return tx.UsePendingLogin(ctx, tok("p-used"))
		}))
		must(tx(t, db, func(tx *store.Tx) error {
			must(tx.CreateVerification(ctx, uid, tok("v-live"), 48*time.Hour, "", ""))
			return tx.CreatePasswordReset(ctx, uid, tok("r-live"), 48*time.Hour)
		}))
		for i := range 7 {
			must(db.QueueMail(ctx, "a@x.example", "old", fmt.Sprint(i)))
		}
		sendAll(t, db)
		// Still to be sent (being sent, under a long lease), however old: kept.
		must(db.QueueMail(ctx, "a@x.example", "old, pending", ""))
		if ms, err := db.ClaimMail(ctx, time.Now(), 10, 24*time.Hour); err != nil || len(ms) != 1 {
			t.Fatalf("claimed %v, %v", ms, err)
		}
		if _, _, err := db.Hit(ctx, "test:old", time.Hour, 5, 0); err != nil {
			t.Fatal(err)
		}

		clk.advance(3 * time.Hour)
		must(tx(t, db, func(tx *store.Tx) error {
			for i := range 3 {
				must(tx.CreateSession(ctx, uid, tok(fmt.Sprint("live", i)), 24*time.Hour, "ip", "ua"))
			}
			return tx.RememberLogin(ctx, uid, "192.0.2.2")
		}))
		must(db.QueueMail(ctx, "a@x.example", "new", "n"))
		sendAll(t, db)
		if _, _, err := db.Hit(ctx, "test:new", time.Hour, 5, 0); err != nil {
			t.Fatal(err)
		}

		// The outbox keeps 1h here, throttles 2h, known logins 2h.
		r := store.Retention{SessionIdle: 2 * time.Hour, OutboxRetention: time.Hour, ThrottleRetention: 2 * time.Hour,
			KnownLogins: 2 * time.Hour, Batch: 2}
		res, err := db.Prune(ctx, clk.Now(), r)
		must(err)
		want := store.PruneResult{Sessions: 10, EmailVerifications: 6, PasswordResets: 6, PendingLogins: 6,
			Outbox: 7, Throttles: 1, KnownLogins: 1}
		if res != want {
			t.Errorf("Prune = %+v\nwant    %+v", res, want)
		}
		for table, n := range map[string]int{"sessions": 3, "email_verifications": 1, "password_resets": 1,
			"pending_logins": 1, "outbox": 2, "throttles": 1, "known_logins": 1} {
			if got := count(t, db, table); got != n {
				t.Errorf("%s: %d rows left, want %d", table, got, n)
			}
		}
		// What is left still works.
		if _, _, err := db.SessionUser(ctx, tok("live0"), 2*time.Hour); err != nil {
			t.Errorf("live session after prune: %v", err)
		}
		if _, err := db.PasswordResetUser(ctx, tok("r-live")); err != nil {
			t.Errorf("live reset after prune: %v", err)
		}
		if _, err := db.PendingLogin(ctx, tok("p-live")); err != nil {
			t.Errorf("live pending login after prune: %v", err)
		}
		if ok, err := db.KnownLogin(ctx, uid, "192.0.2.2", 2*time.Hour); err != nil || !ok {
			t.Errorf("recent known login after prune: %v %v", ok, err)
		}
		if st, err := db.Throttles(ctx, "test:new"); err != nil || st["test:new"].Hits != 1 {
			t.Errorf("recent throttle after prune: %+v %v", st, err)
		}
		// Again: nothing more to delete.
		if res, err := db.Prune(ctx, clk.Now(), r); err != nil || res.Total() != 0 {
			t.Errorf("second Prune = %+v, %v; want nothing", res, err)
		}
		// Without a session idle, only the end of a session counts.
		clk.advance(3 * time.Hour)
		if res, err := db.Prune(ctx, clk.Now(), store.Retention{}); err != nil || res.Sessions != 0 {
			t.Errorf("Prune without idle = %+v, %v; want no session deleted", res, err)
		}
	})
}

// TestPrune_ChangesAreAPrefixAndTheNewestStays: the change log loses its
// old changes from the oldest up, never the newest, so OldestRevision
// tells a replica whether it missed some.
func TestPrune_ChangesAreAPrefixAndTheNewestStays(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &testClock{}
		db.Now = clk.Now
		change := func(n int) (last int64) {
			t.Helper()
			for range n {
				if err := tx(t, db, func(tx *store.Tx) error {
					_, err := tx.Changed(ctx, 1, 0)
					last = tx.Revision()
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
			return last
		}
		if rev, err := db.OldestRevision(ctx); err != nil || rev != 0 {
			t.Fatalf("OldestRevision of an empty log = %d, %v", rev, err)
		}
		if res, err := db.Prune(ctx, clk.Now(), store.Retention{}); err != nil || res.Changes != 0 {
			t.Fatalf("Prune of an empty log = %+v, %v", res, err)
		}
		old := change(5)
		clk.advance(2 * time.Hour)
		recent := change(3)
		clk.advance(23 * time.Hour) // the first five are 25h old, the others 23h
		res, err := db.Prune(ctx, clk.Now(), store.Retention{Batch: 2})
		if err != nil || res.Changes != 5 {
			t.Fatalf("Prune = %+v, %v; want 5 changes", res, err)
		}
		if rev, _ := db.OldestRevision(ctx); rev != old+1 {
			t.Errorf("OldestRevision = %d, want %d", rev, old+1)
		}
		if cs, _ := db.ChangesSince(ctx, 0, 100); len(cs) != 3 || cs[2].Rev != recent {
			t.Errorf("changes left: %+v", cs)
		}
		// Long after: everything is old, and the newest stays.
		clk.advance(100 * time.Hour)
		if res, err := db.Prune(ctx, clk.Now(), store.Retention{ChangesRetention: time.Hour}); err != nil || res.Changes != 2 {
			t.Fatalf("Prune = %+v, %v; want 2 changes", res, err)
		}
		oldest, _ := db.OldestRevision(ctx)
		latest, _ := db.LatestRevision(ctx)
		if oldest != recent || latest != recent {
			t.Errorf("oldest %d latest %d, want both %d", oldest, latest, recent)
		}
		if next := change(1); next <= recent {
			t.Errorf("a revision was reused after the prune: %d after %d", next, recent)
		}
	})
}

// TestPrune_TablesStayBoundedUnderLogins: 50 logins through the real HTTP
// server with a short session idle, and failed ones from many addresses;
// with the clock moved on, a prune leaves only what is live, and the live
// session still works.
func TestPrune_TablesStayBoundedUnderLogins(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			const idle = 30 * time.Minute
			e := servertest.New(t, servertest.Options{Database: b.DSN, Tweak: func(c *server.Config) { c.SessionIdle = idle }})
			clk := &testClock{}
			e.Server.DB.Now = clk.Now // set once, before any request that reads it
			db, ctx := e.Server.DB, context.Background()
			owner, _ := e.SignUp(t, "owner@acme-corp.com", "Owner")
			r := store.Retention{SessionIdle: idle}
			var peak int
			for round := range 5 {
				for i := range 10 {
					e.Client(t).Must(200, "POST", "/v1/login", map[string]string{"email": "owner@acme-corp.com", "password": servertest.Password})
					e.Client(t).Refused(401, "unauthenticated", "POST", "/v1/login",
						map[string]string{"email": fmt.Sprintf("nobody%d-%d@acme-corp.com", round, i), "password": "wrong password here"})
				}
				owner.Must(200, "GET", "/v1/me", nil) // the first session stays in use
				peak = max(peak, count(t, db, "sessions"))
				clk.advance(idle - time.Minute)
				owner.Must(200, "GET", "/v1/me", nil)
				clk.advance(2 * time.Minute)
				if _, err := db.Prune(ctx, clk.Now(), r); err != nil {
					t.Fatal(err)
				}
				if n := count(t, db, "sessions"); n != 1 {
					t.Errorf("round %d: %d sessions after the prune, want the 1 in use", round, n)
				}
				owner.Must(200, "GET", "/v1/me", nil)
			}
			if peak > 11 {
				t.Errorf("%d sessions at the peak, want at most 11", peak)
			}
			if n := count(t, db, "throttles"); n == 0 {
				t.Error("no throttle counters were made: the failed logins were not counted?")
			}
			clk.advance(25 * time.Hour)
			owner.Do("GET", "/v1/me", nil) // idle too long now
			res, err := db.Prune(ctx, clk.Now(), r)
			if err != nil {
				t.Fatal(err)
			}
			for _, table := range []string{"sessions", "throttles", "email_verifications", "password_resets", "pending_logins"} {
				if n := count(t, db, table); n != 0 {
					t.Errorf("%s: %d rows left a day later, want 0 (%+v)", table, n, res)
				}
			}
			if n := count(t, db, "changes"); n != 1 {
				t.Errorf("changes: %d rows left, want the newest", n)
			}
		})
	}
}
