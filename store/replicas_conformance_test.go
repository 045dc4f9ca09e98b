package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// --- replicas.go

// A read pool is PostgreSQL's only; with one, the follower's reads give
// the same answers whichever pool serves them (WithPrimary, ReadAtLeast
// past what the read pool holds), ReplayedRevision is the read pool's
// newest change, and connections to the same server are no switch.
func TestConformance_ReadPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := storetest.Open(t, b.DSN)
			if b.Name == "sqlite" {
				if err := db.OpenRead("postgres://127.0.0.1/x"); err == nil || db.HasReadPool() {
					t.Errorf("OpenRead on SQLite: %v, HasReadPool %v", err, db.HasReadPool())
				}
				if db.ServerSwitches() != 0 {
					t.Errorf("ServerSwitches on SQLite = %d", db.ServerSwitches())
				}
				if ok, err := db.AwaitReadReplay(ctx, time.Millisecond); !ok || err != nil {
					t.Errorf("AwaitReadReplay without a read pool: %v, %v", ok, err)
				}
				return
			}
			if db.HasReadPool() {
				t.Fatal("a read pool before OpenRead")
			}
			if err := db.OpenRead(b.DSN + "&application_name=roster_read"); err != nil {
				t.Fatal(err)
			}
			if !db.HasReadPool() {
				t.Fatal("no read pool after OpenRead")
			}
			// The read pool here is the primary itself (no replay to wait
			// for); a real standby's is waited for in server's standby tests.
			if ok, err := db.AwaitReadReplay(ctx, time.Second); !ok || err != nil {
				t.Errorf("AwaitReadReplay on a primary: %v, %v", ok, err)
			}
			_, a := fixture(t, db, "owner@read.example")
			latest, err := db.LatestRevision(ctx)
			must(t, err)
			if latest == 0 {
				t.Fatal("no change recorded for the new account")
			}
			for name, c := range map[string]context.Context{
				"read pool": ctx, "primary": store.WithPrimary(ctx),
				"at latest": store.ReadAtLeast(ctx, latest), "past latest": store.ReadAtLeast(ctx, latest+1000),
			} {
				cs, err := db.ChangesSince(c, 0, 100)
				if err != nil || len(cs) == 0 || cs[len(cs)-1].Rev != latest {
					t.Errorf("%s: ChangesSince(0) = %v, %v; want up to %d", name, cs, err, latest)
				}
				if f, err := db.AccountPlan(c, a.Seq); err != nil || f.AuthID != a.ID {
					t.Errorf("%s: AccountPlan = %+v, %v", name, f, err)
				}
				if ms, n, _, err := db.Members(c, a, roster.Page{Limit: 10}); err != nil || n != 1 || len(ms) != 1 {
					t.Errorf("%s: Members = %v, %d, %v", name, ms, n, err)
				}
			}
			if rev, err := db.ReplayedRevision(ctx); err != nil || rev != latest {
				t.Errorf("ReplayedRevision = %d, %v; want %d", rev, err, latest)
			}
			if db.ServerSwitches() != 0 {
				t.Errorf("ServerSwitches = %d with one server", db.ServerSwitches())
			}
		})
	}
}

// The check index's catch-ups (ForFollower) read on PostgreSQL through a
// pool of their own, so they answer while every connection of the main
// pool is taken; MainPool sends them back to it. SQLite has one pool.
func TestConformance_FollowerPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := storetest.Open(t, b.DSN)
			fixture(t, db, "owner@follower.example")
			latest, err := db.LatestRevision(ctx)
			must(t, err)
			// Every connection of the main pool taken.
			db.SQL().SetMaxOpenConns(1)
			held, err := db.SQL().Conn(ctx)
			must(t, err)
			defer func() { held.Close(); db.SQL().SetMaxOpenConns(0) }()
			read := func(c context.Context) (int64, error) {
				c, cancel := context.WithTimeout(c, 300*time.Millisecond)
				defer cancel()
				return db.LatestRevision(c)
			}
			if _, err := read(ctx); err == nil {
				t.Fatal("a read on the main pool answered while its one connection is held")
			}
			if _, err := read(store.MainPool(store.ForFollower(ctx))); err == nil {
				t.Error("MainPool: a read answered while the main pool's one connection is held")
			}
			for name, c := range map[string]context.Context{
				"follower": store.ForFollower(ctx), "follower on the primary": store.ForFollower(store.WithPrimary(ctx)),
			} {
				rev, err := read(c)
				if b.Name == "sqlite" {
					if err == nil {
						t.Errorf("%s on SQLite: answered from a pool of its own", name)
					}
					continue
				}
				if err != nil || rev != latest {
					t.Errorf("%s: revision %d, %v; want %d while the main pool is taken", name, rev, err, latest)
				}
			}
		})
	}
}

// A read pool whose statement fails as unavailable is passed over until a
// probe of it answers: here it is the primary itself, and a statement of
// it runs past its deadline on a table another transaction holds locked
// (as on a standby that hangs). A caller's own cancel passes nothing over.
// SQLite has no read pool to pass over.
func TestConformance_ReadPoolPassedOver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db := storetest.Open(t, b.DSN)
			if b.Name == "sqlite" {
				if err := db.ReadPoolDown(); err != nil {
					t.Errorf("ReadPoolDown on SQLite: %v", err)
				}
				return
			}
			db.Timeout = 300 * time.Millisecond // the read pool takes it at OpenRead
			must(t, db.OpenRead(b.DSN+"&application_name=roster_read"))
			fixture(t, db, "owner@passed-over.example")
			latest, err := db.LatestRevision(ctx)
			must(t, err)

			canceled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := db.ChangesSince(canceled, 0, 10); !errors.Is(err, store.ErrCanceled) {
				t.Errorf("ChangesSince with a canceled context: %v", err)
			}
			if err := db.ReadPoolDown(); err != nil {
				t.Fatalf("a caller's cancel passed the read pool over: %v", err)
			}

			lock, err := db.SQL().BeginTx(ctx, nil)
			must(t, err)
			defer lock.Rollback()
			if _, err := lock.ExecContext(ctx, `LOCK TABLE changes IN ACCESS EXCLUSIVE MODE`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ChangesSince(ctx, 0, 10); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("ChangesSince on a locked table past the deadline: %v, want ErrUnavailable", err)
			}
			if err := db.ReadPoolDown(); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("ReadPoolDown after the read pool's statement failed: %v", err)
			}
			// While the probe cannot read, it stays passed over.
			time.Sleep(1200 * time.Millisecond)
			if db.ReadPoolDown() == nil {
				t.Fatal("the read pool is read again while its probe cannot read")
			}
			must(t, lock.Rollback())
			deadline := time.Now().Add(5 * time.Second)
			for db.ReadPoolDown() != nil {
				if time.Now().After(deadline) {
					t.Fatal("the read pool is still passed over 5 s after it answers again")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if cs, err := db.ChangesSince(ctx, 0, 100); err != nil || len(cs) == 0 || cs[len(cs)-1].Rev != latest {
				t.Errorf("ChangesSince after the read pool is back: %v, %v", cs, err)
			}
		})
	}
}
