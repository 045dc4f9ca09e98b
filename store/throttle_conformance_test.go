package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- throttle.go

func TestConformance_Throttle(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))

		t.Run("Hit counts to the limit in its window; Unhit takes one back", func(t *testing.T) {
			start := c.now
			for i := 1; i <= 3; i++ {
				if n, ok, err := db.Hit(ctx, "t:a", time.Hour, 3, 0); err != nil || !ok || n != i {
					t.Errorf("hit %d = %d, %v, %v", i, n, ok, err)
				}
				c.add(time.Second)
			}
			if n, ok, err := db.Hit(ctx, "t:a", time.Hour, 3, 0); err != nil || ok || n != 0 {
				t.Errorf("hit over the limit = %d, %v, %v", n, ok, err)
			}
			st, err := db.Throttles(ctx, "t:a", "t:none")
			must(t, err)
			if len(st) != 1 || st["t:a"] != (store.Throttle{Hits: 3, WindowStart: start, LastAt: start.Add(2 * time.Second)}) {
				t.Errorf("Throttles = %+v", st)
			}
			must(t, db.Unhit(ctx, "t:a"))
			if n, ok, _ := db.Hit(ctx, "t:a", time.Hour, 3, 0); !ok || n != 3 {
				t.Errorf("after Unhit: %d, %v", n, ok)
			}
			for range 5 {
				must(t, db.Unhit(ctx, "t:a"))
			}
			must(t, db.Unhit(ctx, "t:none")) // no counter: nothing to do
			if st, _ := db.Throttles(ctx, "t:a"); st["t:a"].Hits != 0 {
				t.Errorf("Unhit went below 0: %+v", st)
			}
			if st, err := db.Throttles(ctx); err != nil || len(st) != 0 {
				t.Errorf("Throttles() = %v, %v", st, err)
			}
		})

		t.Run("Hit keeps a minimum gap and starts a new window", func(t *testing.T) {
			if _, ok, _ := db.Hit(ctx, "t:gap", time.Hour, 10, time.Minute); !ok {
				t.Error("first hit refused")
			}
			c.add(59 * time.Second)
			if _, ok, _ := db.Hit(ctx, "t:gap", time.Hour, 10, time.Minute); ok {
				t.Error("a hit within the gap passed")
			}
			c.add(time.Second)
			if n, ok, _ := db.Hit(ctx, "t:gap", time.Hour, 10, time.Minute); !ok || n != 2 {
				t.Errorf("a hit after the gap: %d, %v", n, ok)
			}
			c.add(time.Hour)
			if n, ok, _ := db.Hit(ctx, "t:gap", time.Hour, 10, time.Minute); !ok || n != 1 {
				t.Errorf("a hit in a new window: %d, %v", n, ok)
			}
			if st, _ := db.Throttles(ctx, "t:gap"); !st["t:gap"].WindowStart.Equal(c.now) {
				t.Errorf("new window starts %v, want %v", st["t:gap"].WindowStart, c.now)
			}
		})

		t.Run("ClearThrottles deletes the named counters", func(t *testing.T) {
			db.Hit(ctx, "t:c1", time.Hour, 5, 0)
			db.Hit(ctx, "t:c2", time.Hour, 5, 0)
			db.Hit(ctx, "t:c3", time.Hour, 5, 0)
			must(t, db.ClearThrottles(ctx, "t:c1", "t:c2", "t:none"))
			if st, _ := db.Throttles(ctx, "t:c1", "t:c2", "t:c3"); len(st) != 1 || st["t:c3"].Hits != 1 {
				t.Errorf("after ClearThrottles: %+v", st)
			}
		})

		t.Run("PruneThrottles deletes idle counters under each prefix", func(t *testing.T) {
			must(t, db.ClearThrottles(ctx, "t:a", "t:gap", "t:c3"))
			db.Hit(ctx, "login:old", time.Hour, 5, 0)
			db.Hit(ctx, "mail:old", time.Hour, 5, 0)
			db.Hit(ctx, "other:old", time.Hour, 5, 0)
			c.add(2 * time.Hour)
			db.Hit(ctx, "login:new", time.Hour, 5, 0)
			n, err := db.PruneThrottles(ctx, map[string]time.Duration{"login:": time.Hour, "mail:": 24 * time.Hour})
			if err != nil || n != 1 {
				t.Errorf("PruneThrottles = %d, %v; want 1", n, err)
			}
			st, _ := db.Throttles(ctx, "login:old", "login:new", "mail:old", "other:old")
			if _, ok := st["login:old"]; ok || len(st) != 3 {
				t.Errorf("after PruneThrottles: %+v", st)
			}
		})

		t.Run("PruneThrottles reads a prefix as it is written, on both databases", func(t *testing.T) {
			// SQLite's LIKE folds ASCII case and PostgreSQL's does not, and
			// both read _ as any character: a prefix is matched exactly.
			must(t, db.ClearThrottles(ctx, "login:new", "mail:old", "other:old"))
			for _, k := range []string{"LOGIN:old", "a_b:old", "axb:old"} {
				db.Hit(ctx, k, time.Hour, 5, 0)
			}
			c.add(2 * time.Hour)
			n, err := db.PruneThrottles(ctx, map[string]time.Duration{"login:": time.Hour, "a_b:": time.Hour})
			if err != nil || n != 1 {
				t.Errorf("PruneThrottles = %d, %v; want 1 (a_b:old)", n, err)
			}
			st, _ := db.Throttles(ctx, "LOGIN:old", "a_b:old", "axb:old")
			if _, ok := st["a_b:old"]; ok || len(st) != 2 {
				t.Errorf("after PruneThrottles: %+v, want LOGIN:old and axb:old kept", st)
			}
		})

		t.Run("RememberLogin and KnownLogin", func(t *testing.T) {
			uid, _ := fixture(t, db, "una@x.example")
			other, _ := fixture(t, db, "other@x.example")
			if ok, err := db.KnownLogin(ctx, uid, "192.0.2.1", time.Hour); err != nil || ok {
				t.Errorf("before any login: %v, %v", ok, err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.RememberLogin(ctx, uid, "192.0.2.1") })
			c.add(30 * time.Minute)
			for _, q := range []struct {
				uid  int64
				ip   string
				want bool
			}{{uid, "192.0.2.1", true}, {uid, "192.0.2.2", false}, {other, "192.0.2.1", false}} {
				if ok, err := db.KnownLogin(ctx, q.uid, q.ip, time.Hour); err != nil || ok != q.want {
					t.Errorf("KnownLogin(%d, %s) = %v, %v; want %v", q.uid, q.ip, ok, err, q.want)
				}
			}
			c.add(31 * time.Minute)
			if ok, _ := db.KnownLogin(ctx, uid, "192.0.2.1", time.Hour); ok {
				t.Error("a login older than maxAge is known")
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.RememberLogin(ctx, uid, "192.0.2.1") }) // again: refreshed
			if ok, _ := db.KnownLogin(ctx, uid, "192.0.2.1", time.Hour); !ok {
				t.Error("a login remembered again is not known")
			}
		})
	})
}
