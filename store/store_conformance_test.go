package store_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

// The conformance suite: one test per store file (<file>_conformance_test.go),
// each run on SQLite and PostgreSQL by storetest.Each, that calls every
// exported function and method of the file and checks what it did; each
// account-scoped method also gets a tenant case (another account's row
// answers exactly as a row that does not exist). exported_test.go pins
// that no exported method is left out.

// Helpers shared by the conformance files.

// mustTx runs f in a transaction and fails the test on an error.
func mustTx(t *testing.T, db *store.DB, f func(tx *store.Tx) error) {
	t.Helper()
	if err := db.Transact(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

// must fails the test on an error.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// hash is a token's stored hash, as the service makes them.
func hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// clock is a database clock the test sets; db.Now reads it.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time      { return c.now }
func (c *clock) add(d time.Duration) { c.now = c.now.Add(d) }
func setClock(db *store.DB, at time.Time) *clock {
	c := &clock{now: at}
	db.Now = c.Now
	return c
}

// newMember makes a verified user and adds them to the account with role.
func newMember(t *testing.T, db *store.DB, a roster.Account, email string, role roster.Role) int64 {
	t.Helper()
	var uid int64
	mustTx(t, db, func(tx *store.Tx) error {
		var err error
		if uid, err = tx.CreateUser(context.Background(), email, "Name "+email, "hash", true); err != nil {
			return err
		}
		return tx.AddMember(context.Background(), a.Seq, uid, role)
	})
	return uid
}

// committed puts the account on the committed plan (members active).
func committed(t *testing.T, db *store.DB, a roster.Account) roster.Account {
	t.Helper()
	mustTx(t, db, func(tx *store.Tx) error {
		return tx.SetPlan(context.Background(), a.Seq, roster.PlanCommitted, 1000, 12)
	})
	got, err := db.Account(context.Background(), a.ID)
	must(t, err)
	return got
}

// sameAsMissing checks a tenant case: the call on another tenant's row
// (another account's, or for the per-user methods another user's) answers
// as the call on a row that does not exist (missing), and both answer want
// (nil or a sentinel error).
func sameAsMissing(t *testing.T, method string, other, missing, want error) {
	t.Helper()
	if !errors.Is(other, want) && !(other == nil && want == nil) {
		t.Errorf("%s on another tenant's row: %v, want %v", method, other, want)
	}
	if !errors.Is(missing, want) && !(missing == nil && want == nil) {
		t.Errorf("%s on a row that does not exist: %v, want %v", method, missing, want)
	}
}

// --- store.go

func TestConformance_Store(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		t.Run("Dialect names the database", func(t *testing.T) {
			if !strings.HasSuffix(t.Name(), "/"+db.Dialect()+"/Dialect_names_the_database") {
				t.Errorf("Dialect() = %q in %s", db.Dialect(), t.Name())
			}
		})

		t.Run("SQL is the pool the store writes through", func(t *testing.T) {
			var n int
			must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n))
			mustTx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreateUser(ctx, "sql@x.example", "S", "h", false)
				return err
			})
			var m int
			must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&m))
			if m != n+1 {
				t.Errorf("users %d then %d", n, m)
			}
		})

		t.Run("Migrate again changes nothing", func(t *testing.T) {
			var before, after int
			must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version`).Scan(&before))
			must(t, db.Migrate(ctx))
			must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version`).Scan(&after))
			if before != after || before < 8 {
				t.Errorf("goose_db_version rows %d then %d", before, after)
			}
		})

		t.Run("Transact has one UTC timestamp, to the microsecond", func(t *testing.T) {
			at := time.Date(2026, 3, 4, 5, 6, 7, 891234567, time.FixedZone("X", 3600))
			db.Now = func() time.Time { return at }
			defer func() { db.Now = time.Now }()
			var now time.Time
			var uid int64
			mustTx(t, db, func(tx *store.Tx) error {
				now = tx.Now()
				var err error
				uid, err = tx.CreateUser(ctx, "now@x.example", "N", "h", true)
				return err
			})
			want := at.UTC().Truncate(time.Microsecond)
			if !now.Equal(want) || now.Location() != time.UTC {
				t.Errorf("tx.Now() = %v, want %v", now, want)
			}
			u, err := db.UserByID(ctx, uid)
			must(t, err)
			if !u.CreatedAt.Equal(want) {
				t.Errorf("created_at %v, want the transaction's %v", u.CreatedAt, want)
			}
		})

		t.Run("Revision is the newest change of the transaction", func(t *testing.T) {
			_, a := fixture(t, db, "rev@x.example")
			mustTx(t, db, func(tx *store.Tx) error {
				if r := tx.Revision(); r != 0 {
					t.Errorf("Revision before any change = %d", r)
				}
				c1, err := tx.Changed(ctx, a.Seq, 0)
				if err != nil {
					return err
				}
				if c1.Rev != 0 {
					t.Errorf("Changed = %+v: a revision before the change is written", c1)
				}
				c1.Rev = tx.Revision()
				if tx.Revision() != c1.Rev {
					t.Errorf("Revision %d, want %d", tx.Revision(), c1.Rev)
				}
				c2, err := tx.Changed(ctx, a.Seq, 1)
				if err != nil {
					return err
				}
				c2.Rev = tx.Revision()
				if c2.Rev <= c1.Rev || tx.Revision() != c2.Rev {
					t.Errorf("Revision %d after changes %d, %d", tx.Revision(), c1.Rev, c2.Rev)
				}
				return nil
			})
		})

		t.Run("Transact commits, and an error or a cancelled context writes nothing", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreateUser(ctx, "kept@x.example", "K", "h", true)
				return err
			})
			if _, _, err := db.UserByEmail(ctx, "kept@x.example"); err != nil {
				t.Errorf("committed user: %v", err)
			}
			boom := errors.New("boom")
			err := db.Transact(ctx, func(tx *store.Tx) error {
				if _, err := tx.CreateUser(ctx, "lost@x.example", "L", "h", true); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Errorf("Transact returned %v, want fn's error", err)
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			ran := false
			err = db.Transact(cctx, func(tx *store.Tx) error { ran = true; return nil })
			if err == nil || ran {
				t.Errorf("a cancelled context: err %v, fn ran %v", err, ran)
			}
			if _, _, err := db.UserByEmail(ctx, "lost@x.example"); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("rolled-back user: %v", err)
			}
		})

		t.Run("ErrUnique is mapped from the driver's code", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { _, err := tx.CreateUser(ctx, "dup@x.example", "D", "h", true); return err })
			err := db.Transact(ctx, func(tx *store.Tx) error { _, err := tx.CreateUser(ctx, "dup@x.example", "D", "h", true); return err })
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("duplicate email: %v, want ErrUnique", err)
			}
		})
	})
}

// Open opens either database by its DSN, refuses what it cannot reach, and
// Close ends the pool.
func TestConformance_OpenAndClose(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			db, err := store.Open(b.DSN)
			if err != nil {
				t.Fatal(err)
			}
			if db.Dialect() != b.Name {
				t.Errorf("Open(%s DSN).Dialect() = %q", b.Name, db.Dialect())
			}
			must(t, db.Migrate(context.Background()))
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if err := db.SQL().Ping(); err == nil {
				t.Error("the pool answers after Close")
			}
		})
	}
	for _, dsn := range []string{
		"postgres://postgres@127.0.0.1:1/nothing?sslmode=disable&connect_timeout=2",
		filepath.Join(t.TempDir(), "no", "such", "folder", "roster.db"),
	} {
		if db, err := store.Open(dsn); err == nil {
			db.Close()
			t.Errorf("Open(%s) succeeded", dsn)
		}
	}
}

// Audit events and mail (written through execLater) commit with their
// transaction, in the commit's round trip where the dialect batches:
// with a change of the change log and without; values that a query
// string would have to quote arrive as they were given; an error of a
// put-off write fails the commit, and nothing of the transaction stays;
// a transaction that fails before its commit writes none of them.
func TestConformance_WritesPutOffToTheCommit(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@putoff.example")
		a = committed(t, db, a)
		uid := newMember(t, db, a, "dev@putoff.example", roster.RoleDeveloper)
		actor := roster.Actor{UserID: 0, Email: "it's me \\ o'brien", IP: "203.0.113.9"}
		odd := "quotes ' '' \" backslash \\ \\x00ff dollar $1 $$ question ? unicode Ünïcødé 🙂\nnew line; DROP TABLE users; --"
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if db.Dialect() == "postgres" {
				for i := 1; strings.Contains(q, "?"); i++ {
					q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
				}
			}
			if err := db.SQL().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		audits := func() int { return count(`SELECT COUNT(*) FROM audit_events WHERE account_id = ?`, a.Seq) }
		mails := func() int { return count(`SELECT COUNT(*) FROM outbox`) }
		role := func() roster.Role {
			t.Helper()
			r, _, err := db.MemberRoleNow(ctx, a.Seq, uid)
			must(t, err)
			return r
		}
		a0, m0 := audits(), mails()

		// With a change: role, change, audit and two mails commit together.
		rev0, err := db.LatestRevision(ctx)
		must(t, err)
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.SetMemberRole(ctx, a.Seq, uid, roster.RoleAdmin); err != nil {
				return err
			}
			if _, err := tx.Changed(ctx, a.Seq, uid); err != nil {
				return err
			}
			if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberRole, odd, odd); err != nil {
				return err
			}
			if err := tx.QueueMail(ctx, "dev@putoff.example", odd, odd); err != nil {
				return err
			}
			return tx.QueueMailToMembers(ctx, a.Seq, []roster.Role{roster.RoleOwner}, odd, odd)
		})
		if rev, err := db.LatestRevision(ctx); err != nil || rev <= rev0 {
			t.Fatalf("revision %d after the change (%v), want past %d", rev, err, rev0)
		}
		if role() != roster.RoleAdmin || audits() != a0+1 || mails() != m0+2 {
			t.Fatalf("after the commit: role %v, %d audit events, %d mails; want admin, %d, %d", role(), audits(), mails(), a0+1, m0+2)
		}
		if n := count(`SELECT COUNT(*) FROM audit_events WHERE account_id = ? AND target = ? AND detail = ? AND actor_email = ?`, a.Seq, odd, odd, actor.Email); n != 1 {
			t.Errorf("the audit event's text did not arrive as given (%d matching)", n)
		}
		if n := count(`SELECT COUNT(*) FROM outbox WHERE subject = ? AND body = ?`, odd, odd); n != 2 {
			t.Errorf("the mails' text did not arrive as given (%d matching, want 2)", n)
		}

		// Without a change of the change log.
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberRole, "plain", "plain"); err != nil {
				return err
			}
			return tx.QueueMail(ctx, "dev@putoff.example", "plain", "plain")
		})
		if audits() != a0+2 || mails() != m0+3 {
			t.Fatalf("without a change: %d audit events, %d mails; want %d, %d", audits(), mails(), a0+2, m0+3)
		}

		// A put-off write that fails (its account does not exist) fails
		// the commit: the role change, the change and the mail with it.
		for _, withChange := range []bool{true, false} {
			rev0, err := db.LatestRevision(ctx)
			must(t, err)
			err = db.Transact(ctx, func(tx *store.Tx) error {
				if err := tx.SetMemberRole(ctx, a.Seq, uid, roster.RoleSupport); err != nil {
					return err
				}
				if withChange {
					if _, err := tx.Changed(ctx, a.Seq, uid); err != nil {
						return err
					}
				}
				if err := tx.QueueMail(ctx, "dev@putoff.example", "lost", "lost"); err != nil {
					return err
				}
				return tx.Audit(ctx, a.Seq+1_000_000, actor, roster.ActionMemberRole, "x", "y")
			})
			if err == nil {
				t.Fatalf("with change %v: a failing audit write committed", withChange)
			}
			if rev, _ := db.LatestRevision(ctx); rev != rev0 {
				t.Errorf("with change %v: revision %d after the failed commit, want %d", withChange, rev, rev0)
			}
			if role() != roster.RoleAdmin || audits() != a0+2 || mails() != m0+3 {
				t.Errorf("with change %v, after the failed commit: role %v, %d audit events, %d mails; want admin, %d, %d", withChange, role(), audits(), mails(), a0+2, m0+3)
			}
		}

		// A transaction that fails before its commit writes nothing.
		boom := errors.New("boom")
		err = db.Transact(ctx, func(tx *store.Tx) error {
			if err := tx.Audit(ctx, a.Seq, actor, roster.ActionMemberRole, "x", "y"); err != nil {
				return err
			}
			if err := tx.QueueMail(ctx, "dev@putoff.example", "lost", "lost"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) || audits() != a0+2 || mails() != m0+3 {
			t.Errorf("a failed transaction: %v, %d audit events, %d mails; want boom, %d, %d", err, audits(), mails(), a0+2, m0+3)
		}
	})
}
