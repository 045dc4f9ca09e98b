package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- users.go

func TestConformance_Users(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }

		var uid int64
		t.Run("CreateUser, read back by ID and by address", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if uid, err = tx.CreateUser(ctx, "una@x.example", "Una", "hash-1", false); err != nil {
					return err
				}
				want := roster.User{ID: uid, Email: "una@x.example", Name: "Una", CreatedAt: tx.Now()}
				if u, err := tx.User(ctx, uid); err != nil || u != want {
					t.Errorf("Tx.User = %+v, %v; want %+v", u, err, want)
				}
				if id, err := tx.UserIDByEmail(ctx, "una@x.example"); err != nil || id != uid {
					t.Errorf("UserIDByEmail = %d, %v", id, err)
				}
				return nil
			})
			u, err := db.UserByID(ctx, uid)
			if err != nil || u.Email != "una@x.example" || u.EmailVerified || u.MFAEnabled || u.DefaultAccountID != "" {
				t.Errorf("UserByID = %+v, %v", u, err)
			}
			u2, h, err := db.UserByEmail(ctx, "una@x.example")
			if err != nil || u2 != u || h != "hash-1" {
				t.Errorf("UserByEmail = %+v, %q, %v", u2, h, err)
			}
			verified := newUser(t, db, "vera@x.example", true)
			if u, _ := db.UserByID(ctx, verified); !u.EmailVerified {
				t.Error("a user made verified is not")
			}
			err = call(func(tx *store.Tx) error {
				_, err := tx.CreateUser(ctx, "una@x.example", "Other", "h", true)
				return err
			})
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("a second user with the address: %v, want ErrUnique", err)
			}
			if _, err := db.UserByID(ctx, 999999); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("UserByID(missing): %v", err)
			}
			if _, _, err := db.UserByEmail(ctx, "nobody@x.example"); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("UserByEmail(missing): %v", err)
			}
			for name, err := range map[string]error{
				"Tx.User":       call(func(tx *store.Tx) error { _, err := tx.User(ctx, 999999); return err }),
				"UserIDByEmail": call(func(tx *store.Tx) error { _, err := tx.UserIDByEmail(ctx, "nobody@x.example"); return err }),
			} {
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("%s(missing): %v, want ErrNoRows", name, err)
				}
			}
		})

		t.Run("UnverifiedUser finds only a user who has not verified", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if id, err := tx.UnverifiedUser(ctx, "una@x.example"); err != nil || id != uid {
					t.Errorf("UnverifiedUser = %d, %v", id, err)
				}
				for _, email := range []string{"vera@x.example", "nobody@x.example"} {
					if _, err := tx.UnverifiedUser(ctx, email); !errors.Is(err, store.ErrNoRows) {
						t.Errorf("UnverifiedUser(%s): %v, want ErrNoRows", email, err)
					}
				}
				return nil
			})
		})

		t.Run("SetDefaultAccount and SetDefaultAccountIfNone", func(t *testing.T) {
			_, a := fixture(t, db, "a@x.example")
			_, b := fixture(t, db, "b@x.example")
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, a.Seq, uid, roster.RoleSupport); err != nil {
					return err
				}
				if err := tx.AddMember(ctx, b.Seq, uid, roster.RoleSupport); err != nil {
					return err
				}
				if err := tx.SetDefaultAccountIfNone(ctx, uid, a.Seq); err != nil {
					return err
				}
				return tx.SetDefaultAccountIfNone(ctx, uid, b.Seq) // has one: no change
			})
			if u, _ := db.UserByID(ctx, uid); u.DefaultAccountID != a.ID {
				t.Errorf("after IfNone twice: %q, want %s", u.DefaultAccountID, a.ID)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetDefaultAccount(ctx, uid, b.Seq) })
			if u, _ := db.UserByID(ctx, uid); u.DefaultAccountID != b.ID {
				t.Errorf("after SetDefaultAccount: %q, want %s", u.DefaultAccountID, b.ID)
			}
		})

		t.Run("tenant: a default account is one of the user's accounts", func(t *testing.T) {
			_, stranger := fixture(t, db, "stranger@x.example")
			before, _ := db.UserByID(ctx, uid)             // has a default
			lone := newUser(t, db, "lone@x.example", true) // has none
			db.Transact(ctx, func(tx *store.Tx) error { return tx.SetDefaultAccount(ctx, uid, stranger.Seq) })
			if u, _ := db.UserByID(ctx, uid); u.DefaultAccountID != before.DefaultAccountID {
				t.Errorf("SetDefaultAccount of an account the user is not a member of: default %q, was %q", u.DefaultAccountID, before.DefaultAccountID)
			}
			db.Transact(ctx, func(tx *store.Tx) error { return tx.SetDefaultAccountIfNone(ctx, lone, stranger.Seq) })
			if u, _ := db.UserByID(ctx, lone); u.DefaultAccountID != "" {
				t.Errorf("SetDefaultAccountIfNone of an account the user is not a member of: default %q", u.DefaultAccountID)
			}
		})

		t.Run("UseVerification applies its sign-up attempt once, to an unverified user", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateVerification(ctx, uid, hash("v1"), time.Hour, "hash-2", "Una Two"); err != nil {
					return err
				}
				return tx.CreateVerification(ctx, uid, hash("v2"), time.Hour, "hash-3", "Una Three")
			})
			var v store.Verified
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				v, err = tx.UseVerification(ctx, hash("v2"))
				return err
			})
			if v != (store.Verified{UserID: uid, OldName: "Una", Applied: true}) {
				t.Errorf("UseVerification = %+v", v)
			}
			u, h, _ := db.UserByEmail(ctx, "una@x.example")
			if !u.EmailVerified || u.Name != "Una Three" || h != "hash-3" {
				t.Errorf("after the link: %+v, %q", u, h)
			}
			for _, tok := range []string{"v2", "v1", "unknown"} { // used; ended by the other; never made
				err := call(func(tx *store.Tx) error { _, err := tx.UseVerification(ctx, hash(tok)); return err })
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UseVerification(%s): %v, want ErrNoRows", tok, err)
				}
			}
			// A verified user's link verifies only: the attempt is not applied.
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.CreateVerification(ctx, uid, hash("v3"), time.Hour, "hash-4", "Mallory")
			})
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				v, err = tx.UseVerification(ctx, hash("v3"))
				return err
			})
			if v != (store.Verified{UserID: uid, WasVerified: true, OldName: "Una Three"}) {
				t.Errorf("verified user's link = %+v", v)
			}
			if u, h, _ := db.UserByEmail(ctx, "una@x.example"); u.Name != "Una Three" || h != "hash-3" {
				t.Errorf("a verified user's password or name changed: %+v %q", u, h)
			}
			// An expired link, and one ended by EndVerifications, do nothing.
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateVerification(ctx, uid, hash("v4"), time.Minute, "", ""); err != nil {
					return err
				}
				return tx.CreateVerification(ctx, uid, hash("v5"), time.Hour, "", "")
			})
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndVerifications(ctx, uid) })
			mustTx(t, db, func(tx *store.Tx) error { return tx.CreateVerification(ctx, uid, hash("v6"), time.Minute, "", "") })
			c.add(2 * time.Minute)
			for _, tok := range []string{"v5", "v6"} {
				err := call(func(tx *store.Tx) error { _, err := tx.UseVerification(ctx, hash(tok)); return err })
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UseVerification(%s): %v, want ErrNoRows", tok, err)
				}
			}
		})

		t.Run("LastAttempt is the newest open link's attempt, expired or not, none once ended", func(t *testing.T) {
			lone := newUser(t, db, "attempts@x.example", false)
			attempt := func() (string, string, error) {
				var pw, name string
				err := call(func(tx *store.Tx) error {
					var err error
					pw, name, err = tx.LastAttempt(ctx, lone)
					return err
				})
				return pw, name, err
			}
			if _, _, err := attempt(); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("LastAttempt with no link: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateVerification(ctx, lone, hash("a1"), time.Minute, "hash-a1", "First"); err != nil {
					return err
				}
				return tx.CreateVerification(ctx, lone, hash("a2"), time.Hour, "hash-a2", "Second")
			})
			c.add(2 * time.Hour) // both expired: still the newest attempt
			if pw, name, err := attempt(); err != nil || pw != "hash-a2" || name != "Second" {
				t.Errorf("LastAttempt = %q %q %v, want the second attempt", pw, name, err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndVerifications(ctx, lone) })
			if _, _, err := attempt(); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("LastAttempt after EndVerifications: %v, want ErrNoRows", err)
			}
		})

		t.Run("MarkVerified, SetUserProfile, RenameOwnAccounts", func(t *testing.T) {
			owner, own := fixture(t, db, "renamer@x.example")
			_, theirs := fixture(t, db, "theirs@x.example")
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, theirs.Seq, owner, roster.RoleAdmin); err != nil {
					return err
				}
				if err := tx.SetUserProfile(ctx, owner, "hash-9", "Renamed"); err != nil {
					return err
				}
				return tx.RenameOwnAccounts(ctx, owner, "Renamed's account")
			})
			u, h, _ := db.UserByEmail(ctx, "renamer@x.example")
			if u.Name != "Renamed" || h != "hash-9" {
				t.Errorf("SetUserProfile: %+v %q", u, h)
			}
			if a, _ := db.Account(ctx, own.ID); a.Name != "Renamed's account" {
				t.Errorf("own account named %q", a.Name)
			}
			if a, _ := db.Account(ctx, theirs.ID); a.Name != theirs.Name {
				t.Errorf("an account the user does not own renamed to %q", a.Name)
			}
			unverified := newUser(t, db, "unv@x.example", false)
			mustTx(t, db, func(tx *store.Tx) error { return tx.MarkVerified(ctx, unverified) })
			if u, _ := db.UserByID(ctx, unverified); !u.EmailVerified {
				t.Error("MarkVerified did not verify")
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if _, err := tx.UnverifiedUser(ctx, "unv@x.example"); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UnverifiedUser after MarkVerified: %v", err)
				}
				return nil
			})
		})

		t.Run("sessions: create, use, list, end", func(t *testing.T) {
			const idle = time.Hour
			other := newUser(t, db, "other@x.example", true)
			long := "a" + strings.Repeat("é", 200) + "\x00" // 401 bytes: cut at 300, inside an "é"
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateSession(ctx, uid, hash("s1"), 24*time.Hour, "192.0.2.1", "Firefox\x00"); err != nil {
					return err
				}
				if err := tx.CreateSession(ctx, other, hash("so"), 24*time.Hour, "192.0.2.9", "Other"); err != nil {
					return err
				}
				return tx.CreateSession(ctx, uid, hash("short"), time.Minute, "192.0.2.2", long)
			})
			u, s1, err := db.SessionUser(ctx, hash("s1"), idle)
			if err != nil || u.ID != uid || u.Email != "una@x.example" || s1 == 0 {
				t.Fatalf("SessionUser = %+v, %d, %v", u, s1, err)
			}
			ss, err := db.Sessions(ctx, uid, idle)
			must(t, err)
			if len(ss) != 2 {
				t.Fatalf("Sessions = %+v", ss)
			}
			for _, s := range ss {
				if s.ID == s1 && (s.IP != "192.0.2.1" || s.UserAgent != "Firefox" || !s.CreatedAt.Equal(c.now) || !s.LastSeenAt.Equal(c.now)) {
					t.Errorf("session s1 %+v", s)
				}
				if s.ID != s1 && (len(s.UserAgent) > 300 || strings.ContainsRune(s.UserAgent, 0) || !strings.HasPrefix(long, s.UserAgent) || s.UserAgent == "") {
					t.Errorf("long user agent kept as %q (%d bytes)", s.UserAgent, len(s.UserAgent))
				}
			}
			// Use is recorded at most once a minute; the most recent first.
			c.add(30 * time.Second)
			db.SessionUser(ctx, hash("s1"), idle)
			if ss, _ := db.Sessions(ctx, uid, idle); len(ss) != 2 || !ss[0].LastSeenAt.Equal(ss[1].LastSeenAt) {
				t.Errorf("use within a minute recorded: %+v", ss)
			}
			c.add(2 * time.Minute) // "short" has expired
			db.SessionUser(ctx, hash("s1"), idle)
			ss, _ = db.Sessions(ctx, uid, idle)
			if len(ss) != 1 || ss[0].ID != s1 || !ss[0].LastSeenAt.Equal(c.now) {
				t.Errorf("after use and an expiry: %+v (now %v)", ss, c.now)
			}
			if _, _, err := db.SessionUser(ctx, hash("short"), idle); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("expired session: %v", err)
			}
			c.add(idle + time.Second)
			if _, _, err := db.SessionUser(ctx, hash("s1"), idle); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("idle session: %v", err)
			}
			if ss, _ := db.Sessions(ctx, uid, idle); len(ss) != 0 {
				t.Errorf("idle session listed: %+v", ss)
			}
			if _, _, err := db.SessionUser(ctx, hash("s1"), 2*idle); err != nil {
				t.Errorf("a longer idle allowance: %v", err)
			}

			// DeleteSessionByID names the user: another user's session is
			// not found, as one that does not exist.
			_, so, _ := db.SessionUser(ctx, hash("so"), 24*time.Hour)
			sameAsMissing(t, "DeleteSessionByID", db.DeleteSessionByID(ctx, uid, so), db.DeleteSessionByID(ctx, uid, 999999), store.ErrNoRows)
			if _, _, err := db.SessionUser(ctx, hash("so"), 24*time.Hour); err != nil {
				t.Errorf("another user's session after DeleteSessionByID: %v", err)
			}
			must(t, db.DeleteSessionByID(ctx, uid, s1))
			if _, _, err := db.SessionUser(ctx, hash("s1"), 24*time.Hour); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("deleted session: %v", err)
			}

			mustTx(t, db, func(tx *store.Tx) error {
				for _, tok := range []string{"k1", "k2", "k3"} {
					if err := tx.CreateSession(ctx, uid, hash(tok), time.Hour, "ip", "ua"); err != nil {
						return err
					}
				}
				return nil
			})
			_, keep, _ := db.SessionUser(ctx, hash("k2"), idle)
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteSessions(ctx, uid, keep) })
			if ss, _ := db.Sessions(ctx, uid, idle); len(ss) != 1 || ss[0].ID != keep {
				t.Errorf("after DeleteSessions keeping %d: %+v", keep, ss)
			}
			if _, _, err := db.SessionUser(ctx, hash("so"), 24*time.Hour); err != nil {
				t.Errorf("another user's session after DeleteSessions: %v", err)
			}
			must(t, db.DeleteSession(ctx, hash("k2")))
			must(t, db.DeleteSession(ctx, hash("never"))) // nothing to end: no error
			if _, _, err := db.SessionUser(ctx, hash("k2"), idle); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("after DeleteSession: %v", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteSessions(ctx, other, 0) })
			if ss, _ := db.Sessions(ctx, other, 24*time.Hour); len(ss) != 0 {
				t.Errorf("DeleteSessions(0) kept %+v", ss)
			}
		})
	})
}

// newUser makes a user with no account.
func newUser(t *testing.T, db *store.DB, email string, verified bool) int64 {
	t.Helper()
	var uid int64
	mustTx(t, db, func(tx *store.Tx) error {
		var err error
		uid, err = tx.CreateUser(context.Background(), email, "Name", "hash", verified)
		return err
	})
	return uid
}
