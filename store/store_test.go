package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// The conformance suite: every test runs against SQLite and PostgreSQL
// (storetest.Each).

func mustOpen(t *testing.T, dsn string) *store.DB {
	t.Helper()
	return storetest.Open(t, dsn)
}

func each(t *testing.T, f func(t *testing.T, db *store.DB)) {
	t.Helper()
	storetest.Each(t, f)
}

// fixture makes a user who owns an account.
func fixture(t *testing.T, db *store.DB, email string) (int64, roster.Account) {
	t.Helper()
	var uid int64
	var a roster.Account
	err := db.Transact(context.Background(), func(tx *store.Tx) error {
		var err error
		if uid, err = tx.CreateUser(context.Background(), email, "N", "hash", true); err != nil {
			return err
		}
		a, err = tx.CreateAccount(context.Background(), "Acct", uid)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return uid, a
}

func tx(t *testing.T, db *store.DB, f func(tx *store.Tx) error) error {
	t.Helper()
	return db.Transact(context.Background(), f)
}

func TestStore_OneMembershipPerAccountAndUser(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "o@x.example")
		uid, _ := fixture(t, db, "m@x.example")
		if err := tx(t, db, func(tx *store.Tx) error { return tx.AddMember(ctx, a.Seq, uid, roster.RoleDeveloper) }); err != nil {
			t.Fatal(err)
		}
		err := tx(t, db, func(tx *store.Tx) error { return tx.AddMember(ctx, a.Seq, uid, roster.RoleSupport) })
		if !errors.Is(err, store.ErrUnique) {
			t.Errorf("second membership: %v, want ErrUnique", err)
		}
	})
}

func TestStore_OneOwnerPerAccount(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "o@x.example")
		uid, _ := fixture(t, db, "m@x.example")
		err := tx(t, db, func(tx *store.Tx) error { return tx.AddMember(ctx, a.Seq, uid, roster.RoleOwner) })
		if !errors.Is(err, store.ErrUnique) {
			t.Errorf("second owner: %v, want ErrUnique", err)
		}
		// The owner row is never re-roled or deleted through the store.
		ms, _, _, _ := db.Members(ctx, a, roster.Page{Limit: 10})
		owner := ms[0].UserID
		if err := tx(t, db, func(tx *store.Tx) error { return tx.SetMemberRole(ctx, a.Seq, owner, roster.RoleAdmin) }); !errors.Is(err, store.ErrNoRows) {
			t.Errorf("re-role owner: %v", err)
		}
		if err := tx(t, db, func(tx *store.Tx) error { return tx.DeleteMember(ctx, a.Seq, owner) }); !errors.Is(err, store.ErrNoRows) {
			t.Errorf("delete owner: %v", err)
		}
	})
}

func TestStore_OnePendingInvitationPerAddress(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid, a := fixture(t, db, "o@x.example")
		var id int64
		err := tx(t, db, func(tx *store.Tx) error {
			var err error
			id, err = tx.CreateInvitation(ctx, a.Seq, "i@x.example", roster.RoleSupport, []byte("h1"), uid, time.Hour)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = tx(t, db, func(tx *store.Tx) error {
			_, err := tx.CreateInvitation(ctx, a.Seq, "i@x.example", roster.RoleAdmin, []byte("h2"), uid, time.Hour)
			return err
		})
		if !errors.Is(err, store.ErrUnique) {
			t.Fatalf("second pending: %v, want ErrUnique", err)
		}
		// Another account's ID does not reach it.
		_, b := fixture(t, db, "p@x.example")
		if err := tx(t, db, func(tx *store.Tx) error { return tx.RevokeInvitation(ctx, b.Seq, id) }); !errors.Is(err, store.ErrNoRows) {
			t.Errorf("revoke from another account: %v", err)
		}
		if err := tx(t, db, func(tx *store.Tx) error { return tx.RevokeInvitation(ctx, a.Seq, id) }); err != nil {
			t.Fatal(err)
		}
		err = tx(t, db, func(tx *store.Tx) error {
			_, err := tx.CreateInvitation(ctx, a.Seq, "i@x.example", roster.RoleAdmin, []byte("h3"), uid, time.Hour)
			return err
		})
		if err != nil {
			t.Errorf("invite after revoke: %v", err)
		}
	})
}

func TestStore_AcceptIsOneConditionalUpdate(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid, a := fixture(t, db, "o@x.example")
		var id int64
		tx(t, db, func(tx *store.Tx) error {
			var err error
			id, err = tx.CreateInvitation(ctx, a.Seq, "i@x.example", roster.RoleSupport, []byte("h1"), uid, time.Hour)
			return err
		})
		const n = 8
		var wg sync.WaitGroup
		results := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- tx(t, db, func(tx *store.Tx) error { return tx.AcceptInvitation(ctx, id, uid) })
			}()
		}
		wg.Wait()
		close(results)
		ok := 0
		for err := range results {
			if err == nil {
				ok++
			} else if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("accept: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d accepts succeeded, want 1", ok)
		}
	})
}

func TestStore_CommittedPlanMinimumsInSchema(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "o@x.example")
		err := tx(t, db, func(tx *store.Tx) error { return tx.SetPlan(ctx, a.Seq, roster.PlanCommitted, 100, 1) })
		if err == nil {
			t.Fatal("the schema accepted a committed plan of 100 USD for 1 month")
		}
		got, _ := db.Account(ctx, a.ID)
		if got.Plan != roster.PlanStandard {
			t.Errorf("plan = %s", got.Plan)
		}
	})
}

func TestStore_TransactRollsBack(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := tx(t, db, func(tx *store.Tx) error {
			if _, err := tx.CreateUser(ctx, "r@x.example", "R", "h", true); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		func() {
			defer func() { recover() }()
			tx(t, db, func(tx *store.Tx) error {
				tx.CreateUser(ctx, "r@x.example", "R", "h", true)
				panic("boom")
			})
		}()
		if _, _, err := db.UserByEmail(ctx, "r@x.example"); !errors.Is(err, store.ErrNoRows) {
			t.Errorf("user after rollbacks: %v", err)
		}
	})
}

// TestStore_ChangesCommitInRevisionOrder: concurrent writers never leave a
// reader who saw revision N without a smaller one committed later.
func TestStore_ChangesCommitInRevisionOrder(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "o@x.example")
		start, _ := db.LatestRevision(ctx)
		const writers, each = 4, 15
		stop := make(chan struct{})
		var seen []int64
		var readerErr error
		done := make(chan struct{})
		go func() { // a follower reading as writers commit
			defer close(done)
			last := start
			for {
				stopped := false
				select {
				case <-stop: // every writer committed before this read
					stopped = true
				default:
				}
				cs, err := db.ChangesSince(ctx, last, 1000)
				if err != nil {
					readerErr = err
					return
				}
				for _, c := range cs {
					seen = append(seen, c.Rev)
					last = c.Rev
				}
				if stopped && len(cs) == 0 {
					return
				}
			}
		}()
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := tx(t, db, func(tx *store.Tx) error { _, err := tx.Changed(ctx, a.Seq, int64(w+1)); return err }); err != nil {
						t.Error(err)
					}
				}
			}(w)
		}
		wg.Wait()
		close(stop)
		<-done
		if readerErr != nil {
			t.Fatal(readerErr)
		}
		if len(seen) != writers*each {
			t.Errorf("follower saw %d changes, want %d (one was skipped)", len(seen), writers*each)
		}
		for i := 1; i < len(seen); i++ {
			if seen[i] <= seen[i-1] {
				t.Fatalf("revisions out of order: %d after %d", seen[i], seen[i-1])
			}
		}
	})
}

// The SQLite file holds password and token hashes: its owner alone may
// read it, and its WAL too.
func TestSQLite_FileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := st.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %o, want 600", filepath.Base(p), mode)
		}
	}
}

// Hit never lets concurrent hits pass the limit together.
func TestThrottle_HitHoldsTheLimitUnderContention(t *testing.T) {
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var wg sync.WaitGroup
		var mu sync.Mutex
		passed := 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, ok, err := db.Hit(ctx, "test:key", time.Hour, 7, 0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					passed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if passed != 7 {
			t.Errorf("%d of 20 concurrent hits passed a limit of 7", passed)
		}
		st, err := db.Throttles(ctx, "test:key", "test:none")
		if err != nil {
			t.Fatal(err)
		}
		if st["test:key"].Hits != 7 || len(st) != 1 {
			t.Errorf("state = %+v", st)
		}
		// A minimum gap refuses a second hit at once; a new window starts over.
		if _, ok, _ := db.Hit(ctx, "test:gap", time.Hour, 5, time.Minute); !ok {
			t.Error("first hit refused")
		}
		if _, ok, _ := db.Hit(ctx, "test:gap", time.Hour, 5, time.Minute); ok {
			t.Error("a hit within the minimum gap passed")
		}
		db.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if n, ok, _ := db.Hit(ctx, "test:key", time.Hour, 7, 0); !ok || n != 1 {
			t.Errorf("after the window: %d %v, want 1 true", n, ok)
		}
	})
}
