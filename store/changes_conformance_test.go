package store_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// --- changes.go

func TestConformance_Changes(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("Changed records in order; ChangesSince and LatestRevision read them", func(t *testing.T) {
			if rev, err := db.LatestRevision(ctx); err != nil || rev != 0 {
				t.Errorf("LatestRevision of an empty log = %d, %v", rev, err)
			}
			var made []store.Change
			before := time.Now().Truncate(time.Microsecond)
			mustTx(t, db, func(tx *store.Tx) error {
				for _, c := range []store.Change{{AccountSeq: 7}, {AccountSeq: 7, UserID: 3}, {AccountSeq: 8, UserID: 3}} {
					got, err := tx.Changed(ctx, c.AccountSeq, c.UserID)
					if err != nil {
						return err
					}
					got.Rev = tx.Revision() // written to the log by Revision, else before the commit
					if got.AccountSeq != c.AccountSeq || got.UserID != c.UserID || len(made) > 0 && got.Rev <= made[len(made)-1].Rev {
						t.Errorf("Changed = %+v after %v", got, made)
					}
					got.Gone = c.UserID != 0 // read back: user 3 is no member of either
					made = append(made, got)
				}
				return nil
			})
			after := time.Now()
			cs, err := db.ChangesSince(ctx, 0, 100)
			for i, c := range cs { // when the commit was sent: within the transaction
				if c.At.Before(before) || c.At.After(after) {
					t.Errorf("change %d at %v, not from %v to %v", i, c.At, before, after)
				}
				cs[i].At = time.Time{}
			}
			if err != nil || fmt.Sprint(cs) != fmt.Sprint(made) {
				t.Errorf("ChangesSince(0) = %v, %v; want %v", cs, err, made)
			}
			if cs, _ := db.ChangesSince(ctx, made[0].Rev, 1); len(cs) != 1 || cs[0].Rev != made[1].Rev {
				t.Errorf("ChangesSince(first, 1) = %v, want %v", cs, made[1:2])
			}
			if cs, err := db.ChangesSince(ctx, made[2].Rev, 100); err != nil || len(cs) != 0 {
				t.Errorf("ChangesSince(latest) = %v, %v", cs, err)
			}
			if rev, err := db.LatestRevision(ctx); err != nil || rev != made[2].Rev {
				t.Errorf("LatestRevision = %d, %v; want %d", rev, err, made[2].Rev)
			}
			// A rolled-back change is not in the log.
			boom := errors.New("boom")
			db.Transact(ctx, func(tx *store.Tx) error {
				if _, err := tx.Changed(ctx, 9, 9); err != nil {
					return err
				}
				return boom
			})
			if cs, _ := db.ChangesSince(ctx, made[2].Rev, 100); len(cs) != 0 {
				t.Errorf("a rolled-back change is read: %v", cs)
			}
		})

		t.Run("AccountPlan, MemberRoleNow and IndexSize read now", func(t *testing.T) {
			accounts, before, err := db.IndexSize(ctx)
			must(t, err)
			owner, a := fixture(t, db, "owner@x.example")
			dev := newMember(t, db, a, "dev@x.example", roster.RoleDeveloper)
			if na, n, err := db.IndexSize(ctx); err != nil || n != before+2 || na != accounts+1 {
				t.Errorf("IndexSize = %d accounts, %d members, %v; want %d, %d", na, n, err, accounts+1, before+2)
			}
			if f, err := db.AccountPlan(ctx, a.Seq); err != nil || f != (store.AccountFlags{AuthID: a.ID}) {
				t.Errorf("AccountPlan = %+v, %v", f, err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SetPlan(ctx, a.Seq, roster.PlanCommitted, 1000, 12); err != nil {
					return err
				}
				return tx.SetRequireMFA(ctx, a.Seq, true)
			})
			if f, err := db.AccountPlan(ctx, a.Seq); err != nil || f != (store.AccountFlags{AuthID: a.ID, Committed: true, RequireMFA: true}) {
				t.Errorf("AccountPlan after SetPlan = %+v, %v", f, err)
			}
			if _, err := db.AccountPlan(ctx, 999999); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("AccountPlan(missing): %v", err)
			}
			if r, mfa, err := db.MemberRoleNow(ctx, a.Seq, dev); err != nil || r != roster.RoleDeveloper || mfa {
				t.Errorf("MemberRoleNow = %v, %v, %v", r, mfa, err)
			}
			if r, _, err := db.MemberRoleNow(ctx, a.Seq, owner); err != nil || r != roster.RoleOwner {
				t.Errorf("owner's MemberRoleNow = %v, %v", r, err)
			}
			// Tenant: a's member in b is not found, as a user who does not exist.
			_, b := fixture(t, db, "b@x.example")
			_, _, errA := db.MemberRoleNow(ctx, b.Seq, dev)
			_, _, errM := db.MemberRoleNow(ctx, b.Seq, 999999)
			sameAsMissing(t, "MemberRoleNow", errA, errM, store.ErrNoRows)
		})
	})
}

// TestConformance_ChangesSinceCarriesMemberships: each member's change
// comes with the membership as it is now, what MemberIndexRow and
// MemberKeys answer one by one (issue 26: one statement a catch-up): a
// member's two keys (rows of their own) with its change, without taking
// two of the limit; a removed member Gone, with no keys; the account's
// change with no membership. Read in pages by the limit, every change
// comes once, in order.
func TestConformance_ChangesSinceCarriesMemberships(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@rows.example")
		start, err := db.LatestRevision(ctx)
		must(t, err)
		var uids []int64
		for i := range 30 {
			uids = append(uids, newMember(t, db, a, fmt.Sprintf("m%02d@rows.example", i), roster.Roles[1+i%4]))
		}
		keyed, reroled, removed := uids[7], uids[3], uids[5]
		mustTx(t, db, func(tx *store.Tx) error {
			for _, name := range []string{"one", "two"} {
				if _, err := tx.CreateAPIKey(ctx, a.Seq, keyed, name, "rk_rows_"+name, hash("rows-key-"+name)); err != nil {
					return err
				}
			}
			return tx.SetMemberRole(ctx, a.Seq, reroled, roster.RoleAdmin)
		})
		mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteMember(ctx, a.Seq, removed) })
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetPlan(ctx, a.Seq, roster.PlanCommitted, 900, 24) })
		latest, err := db.LatestRevision(ctx)
		must(t, err)

		var all []store.Change
		for rev := start; ; {
			cs, err := db.ChangesSince(ctx, rev, 4)
			must(t, err)
			if len(cs) > 4 {
				t.Fatalf("%d changes after %d, limit 4", len(cs), rev)
			}
			all = append(all, cs...)
			if len(cs) < 4 {
				break
			}
			rev = cs[len(cs)-1].Rev
		}
		// 30 members added, 2 keys and a role in one transaction, a
		// removal and the plan.
		if len(all) != 35 || all[len(all)-1].Rev != latest {
			t.Fatalf("%d changes ending at %d, want 35 ending at %d", len(all), all[len(all)-1].Rev, latest)
		}
		keyChanges, plans := 0, 0
		for i, c := range all {
			if i > 0 && c.Rev <= all[i-1].Rev {
				t.Errorf("change %d: revision %d after %d", i, c.Rev, all[i-1].Rev)
			}
			if c.AccountSeq != a.Seq {
				t.Errorf("change %d of account %d", i, c.AccountSeq)
			}
			if c.UserID == 0 {
				plans++
				if c.Gone || c.Keys != nil || c.Member != (store.IndexRow{}) {
					t.Errorf("the account's change came with a membership: %+v", c)
				}
				continue
			}
			want, err := db.MemberIndexRow(ctx, a.Seq, c.UserID)
			if errors.Is(err, store.ErrNoRows) {
				if c.UserID != removed || !c.Gone || c.Keys != nil || c.Member != (store.IndexRow{}) {
					t.Errorf("change %d of user %d, who is no member: %+v, want Gone", i, c.UserID, c)
				}
				continue
			}
			must(t, err)
			if c.Gone || c.Member != want {
				t.Errorf("change %d: %+v (gone %v), want %+v", i, c.Member, c.Gone, want)
			}
			wantKeys, err := db.MemberKeys(ctx, a.Seq, c.UserID)
			must(t, err)
			if len(c.Keys) != len(wantKeys) {
				t.Errorf("change %d of user %d: %d keys, want %d", i, c.UserID, len(c.Keys), len(wantKeys))
			}
			for _, k := range c.Keys {
				if string(wantKeys[k.ID]) != string(k.Hash) {
					t.Errorf("change %d: key %d with hash %x, want %x", i, k.ID, k.Hash, wantKeys[k.ID])
				}
			}
			if c.UserID == keyed {
				if len(c.Keys) != 2 {
					t.Errorf("a change of the member with two keys came with %d", len(c.Keys))
				}
				keyChanges++
			}
			if c.UserID == reroled && c.Member.Role != roster.RoleAdmin {
				t.Errorf("the re-roled member's change: role %v", c.Member.Role)
			}
		}
		if keyChanges != 3 || plans != 1 { // added, then a change for each key
			t.Errorf("%d changes of the keyed member, %d of the plan; want 3 and 1", keyChanges, plans)
		}
	})
}

// A transaction's changes are written at its commit, more than one
// statement's worth too (PostgreSQL writes 1,000 a statement under the
// change log's lock): every one is read back, in order, and the
// transaction's revision is the newest.
func TestConformance_ManyChangesInOneTransaction(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@many-changes.example")
		before, err := db.LatestRevision(ctx)
		must(t, err)
		const n = 2500
		var rev int64
		mustTx(t, db, func(tx *store.Tx) error {
			for i := range n {
				if _, err := tx.Changed(ctx, a.Seq, int64(i+1)); err != nil {
					return err
				}
			}
			defer func() { rev = tx.Revision() }()
			return nil
		})
		cs, err := db.ChangesSince(ctx, before, 2*n)
		must(t, err)
		if len(cs) != n {
			t.Fatalf("%d changes read back, want %d", len(cs), n)
		}
		for i, c := range cs {
			if c.AccountSeq != a.Seq || c.UserID != int64(i+1) || (i > 0 && c.Rev <= cs[i-1].Rev) {
				t.Fatalf("change %d: %+v (after %+v)", i, c, cs[max(i-1, 0)])
			}
		}
		if rev != cs[n-1].Rev {
			t.Errorf("the transaction's revision %d, the newest change %d", rev, cs[n-1].Rev)
		}
	})
}

// On PostgreSQL the change log's statement carries the COMMIT
// (flushChangesLocked): the revision a writer reads after the commit is
// its change's, and an error of the COMMIT itself (here a deferred
// constraint trigger that fails for one user) is the transaction's error,
// with nothing of it committed and the next transaction unharmed.
func TestConformance_ChangeLogStatementCarriesTheCommit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@commit-carried.example")
		before, err := db.LatestRevision(ctx)
		must(t, err)
		var tx1 *store.Tx
		mustTx(t, db, func(tx *store.Tx) error {
			tx1 = tx
			_, err := tx.Changed(ctx, a.Seq, 7)
			return err
		})
		cs, err := db.ChangesSince(ctx, before, 10)
		must(t, err)
		if len(cs) != 1 || cs[0].UserID != 7 || tx1.Revision() != cs[0].Rev {
			t.Fatalf("changes %+v, the transaction's revision %d", cs, tx1.Revision())
		}
		if db.Dialect() == "sqlite" {
			return // no deferred triggers to fail a COMMIT with
		}
		_, err = db.SQL().Exec(`CREATE FUNCTION refuse_user_424242() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation'; END $$;
			CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON changes DEFERRABLE INITIALLY DEFERRED
			FOR EACH ROW WHEN (NEW.user_id = 424242) EXECUTE FUNCTION refuse_user_424242()`)
		must(t, err)
		audits := func() (n int) {
			must(t, db.SQL().QueryRow(`SELECT COUNT(*) FROM audit_events WHERE action = 'test.commit'`).Scan(&n))
			return n
		}
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if err := tx.Audit(ctx, a.Seq, roster.Actor{Email: "owner@commit-carried.example"}, "test.commit", "", ""); err != nil {
				return err
			}
			_, err := tx.Changed(ctx, a.Seq, 424242)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "refused at commit") {
			t.Fatalf("a COMMIT that fails: %v, want its error", err)
		}
		if rev, err := db.LatestRevision(ctx); err != nil || rev != cs[0].Rev || audits() != 0 {
			t.Fatalf("after the failed COMMIT: revision %d (%v), %d audit events; want %d and none", rev, err, audits(), cs[0].Rev)
		}
		for i := range 5 { // every pooled connection is fine after it
			mustTx(t, db, func(tx *store.Tx) error {
				_, err := tx.Changed(ctx, a.Seq, int64(100+i))
				return err
			})
		}
		if cs, err := db.ChangesSince(ctx, before, 10); err != nil || len(cs) != 6 {
			t.Fatalf("%d changes (%v), want 6", len(cs), err)
		}
	})
}

// OneWriterIn: a retried writer to one account's members waits for the
// account's turn on PostgreSQL (SERIALIZABLE transactions that change
// different members of one account at once fail one another: the indexes'
// predicate locks are per page, and retried at once they failed again and
// again); writers to other accounts do not wait, and no turn outlives its
// transaction, whether it committed, failed or panicked.
func TestConformance_OneWriterInTakesTurns(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@turns.example")
		_, b := fixture(t, db, "owner@other-turns.example")
		const writers, each = 8, 10
		var ids []int64
		for i := range writers {
			ids = append(ids, newMember(t, db, a, fmt.Sprintf("m%d@turns.example", i), roster.RoleSupport))
		}
		var attempts atomic.Int64
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					role := []roster.Role{roster.RoleAdmin, roster.RoleDeveloper}[i%2]
					err := db.Transact(store.OneWriterIn(ctx, a.Seq), func(tx *store.Tx) error {
						attempts.Add(1)
						if _, err := tx.MemberRole(ctx, a.Seq, ids[w]); err != nil {
							return err
						}
						return tx.SetMemberRole(ctx, a.Seq, ids[w], role)
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("%d attempts for %d role changes in one account", attempts.Load(), writers*each)
		if db.Dialect() == "sqlite" {
			return // one writer at a time already; the rest is PostgreSQL's
		}

		// Every first attempt fails (as a serialization failure would):
		// the second takes the turn.
		db.FailStatement = func(attempt, stmt int) bool { return attempt == 1 && stmt == 1 }
		defer func() { db.FailStatement = nil }()
		read := func(tx *store.Tx) error { _, err := tx.MemberRole(ctx, a.Seq, ids[0]); return err }

		// A turn holds the account's next writer, not another account's.
		held, release := make(chan struct{}), make(chan struct{})
		go db.Transact(store.OneWriterIn(ctx, a.Seq), func(tx *store.Tx) error {
			if err := read(tx); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
		<-held
		second := make(chan struct{})
		var secondAttempts atomic.Int64
		go func() {
			db.Transact(store.OneWriterIn(ctx, a.Seq), func(tx *store.Tx) error { secondAttempts.Add(1); return read(tx) })
			close(second)
		}()
		if err := db.Transact(store.OneWriterIn(ctx, b.Seq), func(tx *store.Tx) error { return read(tx) }); err != nil {
			t.Fatalf("another account's writer: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		select {
		case <-second:
			t.Fatal("the account's retried writer did not wait for the turn")
		default:
		}
		if n := secondAttempts.Load(); n != 1 {
			t.Fatalf("the waiting writer made %d attempts, want its first only", n)
		}
		close(release)
		<-second

		// No turn is kept: after a failure and a panic the next writer
		// goes on at once (a kept turn would hold it to the timeout).
		errBoom := errors.New("boom")
		if err := db.Transact(store.OneWriterIn(ctx, a.Seq), func(tx *store.Tx) error {
			if err := read(tx); err != nil {
				return err
			}
			return errBoom
		}); !errors.Is(err, errBoom) {
			t.Fatalf("a failing writer: %v", err)
		}
		func() {
			defer func() { recover() }()
			db.Transact(store.OneWriterIn(ctx, a.Seq), func(tx *store.Tx) error {
				if err := read(tx); err != nil {
					return err
				}
				panic("boom")
			})
		}()
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := db.Transact(store.OneWriterIn(short, a.Seq), read); err != nil {
			t.Fatalf("the writer after a failure and a panic: %v", err)
		}
		var locks int
		must(t, db.SQL().QueryRow(`SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = 7405312`).Scan(&locks))
		if locks != 0 {
			t.Errorf("%d account turns held after every writer ended", locks)
		}
	})
}

// Open refuses a PostgreSQL role that may not run pg_logical_emit_message,
// with which every write waits for its commit to be durable: a write would
// commit and then fail. Granted, it opens.
func TestConformance_OpenNeedsTheDurableCommit(t *testing.T) {
	t.Parallel()
	base, ok := storetest.PostgresBase(t)
	if !ok {
		t.Skip("needs PostgreSQL")
	}
	admin, err := sql.Open("pgx", base)
	must(t, err)
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	role := "roster_noemit_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE ROLE " + role + " LOGIN"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the database is dropped (cleanups run last first)
		a, err := sql.Open("pgx", base)
		if err == nil {
			a.Exec("DROP ROLE IF EXISTS " + role)
			a.Close()
		}
	})
	dsn := storetest.NewPostgresDatabase(t, base)
	db, err := sql.Open("pgx", dsn)
	must(t, err)
	defer db.Close()
	if _, err := db.Exec("REVOKE EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) FROM PUBLIC"); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	must(t, err)
	u.User = url.User(role)
	if s, err := store.Open(u.String()); err == nil || !strings.Contains(err.Error(), "pg_logical_emit_message") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open as a role without EXECUTE on pg_logical_emit_message: %v, want a refusal naming it", err)
	}
	if _, err := db.Exec("GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO " + role); err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(u.String())
	if err != nil {
		t.Fatalf("Open once granted: %v", err)
	}
	s.Close()
}
