package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- mfa.go

func TestConformance_MFA(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }
		uid, a := fixture(t, db, "una@x.example")
		other := newUser(t, db, "other@x.example", true)
		totp := func(t *testing.T, uid int64) store.TOTP {
			t.Helper()
			var st store.TOTP
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				st, err = tx.TOTP(ctx, uid)
				return err
			})
			return st
		}

		t.Run("TOTP: a secret, confirmed, replaced, cleared", func(t *testing.T) {
			if st := totp(t, uid); st != (store.TOTP{}) {
				t.Errorf("a new user's state %+v", st)
			}
			if err := call(func(tx *store.Tx) error { _, err := tx.TOTP(ctx, 999999); return err }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("TOTP of no user: %v", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetTOTPSecret(ctx, uid, "SECRETONE") })
			if st := totp(t, uid); st != (store.TOTP{Secret: "SECRETONE"}) {
				t.Errorf("pending secret %+v", st)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.ConfirmTOTP(ctx, uid) })
			if st := totp(t, uid); st != (store.TOTP{Secret: "SECRETONE", Confirmed: true}) {
				t.Errorf("confirmed %+v", st)
			}
			if u, _ := db.UserByID(ctx, uid); !u.MFAEnabled {
				t.Error("User.MFAEnabled off after ConfirmTOTP")
			}
			if _, mfa, _ := db.MemberRoleNow(ctx, a.Seq, uid); !mfa {
				t.Error("MemberRoleNow: two-factor off after ConfirmTOTP")
			}
			// A new secret turns two-factor off until confirmed again.
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetTOTPSecret(ctx, uid, "SECRETTWO") })
			if st := totp(t, uid); st != (store.TOTP{Secret: "SECRETTWO"}) {
				t.Errorf("replaced %+v", st)
			}
			// Cleared, there is nothing to confirm.
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SetTOTPSecret(ctx, uid, ""); err != nil {
					return err
				}
				return tx.ConfirmTOTP(ctx, uid)
			})
			if st := totp(t, uid); st != (store.TOTP{}) {
				t.Errorf("cleared, then confirmed: %+v", st)
			}
			if totp(t, other) != (store.TOTP{}) {
				t.Error("another user's state changed")
			}
		})

		t.Run("UseTOTPStep accepts each step once, in order", func(t *testing.T) {
			for _, s := range []struct {
				step int64
				ok   bool
			}{{10, true}, {10, false}, {9, false}, {11, true}, {5, false}} {
				err := call(func(tx *store.Tx) error { return tx.UseTOTPStep(ctx, uid, s.step) })
				if s.ok && err != nil || !s.ok && !errors.Is(err, store.ErrNoRows) {
					t.Errorf("step %d: %v (want ok %v)", s.step, err, s.ok)
				}
			}
			if st := totp(t, uid); st.LastStep != 11 {
				t.Errorf("LastStep %d", st.LastStep)
			}
			if st := totp(t, other); st.LastStep != 0 {
				t.Errorf("another user's LastStep %d", st.LastStep)
			}
		})

		t.Run("recovery codes: set, used once, counted, replaced, cleared", func(t *testing.T) {
			left := func(uid int64) int {
				var n int
				mustTx(t, db, func(tx *store.Tx) error {
					var err error
					n, err = tx.RecoveryCodesLeft(ctx, uid)
					return err
				})
				return n
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SetRecoveryCodes(ctx, uid, [][]byte{hash("r1"), hash("r2"), hash("r3")}); err != nil {
					return err
				}
				return tx.SetRecoveryCodes(ctx, other, [][]byte{hash("o1")})
			})
			if n := left(uid); n != 3 {
				t.Errorf("left %d, want 3", n)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.UseRecoveryCode(ctx, uid, hash("r2")) })
			if n := left(uid); n != 2 {
				t.Errorf("left %d after one use, want 2", n)
			}
			for _, code := range []string{"r2", "nope"} { // used; never one
				if err := call(func(tx *store.Tx) error { return tx.UseRecoveryCode(ctx, uid, hash(code)) }); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UseRecoveryCode(%s): %v, want ErrNoRows", code, err)
				}
			}
			// Another user's code is not found, as a code that does not exist.
			sameAsMissing(t, "UseRecoveryCode",
				call(func(tx *store.Tx) error { return tx.UseRecoveryCode(ctx, uid, hash("o1")) }),
				call(func(tx *store.Tx) error { return tx.UseRecoveryCode(ctx, uid, hash("nope")) }), store.ErrNoRows)
			if n := left(other); n != 1 {
				t.Errorf("another user's codes left %d, want 1", n)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetRecoveryCodes(ctx, uid, [][]byte{hash("r4")}) })
			if n := left(uid); n != 1 {
				t.Errorf("replaced: left %d, want 1", n)
			}
			if err := call(func(tx *store.Tx) error { return tx.UseRecoveryCode(ctx, uid, hash("r1")) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("a replaced code: %v", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetRecoveryCodes(ctx, uid, nil) })
			if n := left(uid); n != 0 {
				t.Errorf("cleared: left %d", n)
			}
		})

		t.Run("UserAccounts lists the user's accounts", func(t *testing.T) {
			_, b := fixture(t, db, "b@x.example")
			mustTx(t, db, func(tx *store.Tx) error { return tx.AddMember(ctx, b.Seq, uid, roster.RoleSupport) })
			mustTx(t, db, func(tx *store.Tx) error {
				ids, err := tx.UserAccounts(ctx, uid)
				if err != nil || fmt.Sprint(ids) != fmt.Sprint([]int64{a.Seq, b.Seq}) {
					t.Errorf("UserAccounts = %v, %v; want [%d %d]", ids, err, a.Seq, b.Seq)
				}
				if ids, err := tx.UserAccounts(ctx, other); err != nil || len(ids) != 0 {
					t.Errorf("no accounts: %v, %v", ids, err)
				}
				return nil
			})
		})

		t.Run("SetRequireMFA sets the flag and records the change", func(t *testing.T) {
			_, b := fixture(t, db, "b2@x.example")
			var rev int64
			mustTx(t, db, func(tx *store.Tx) error {
				err := tx.SetRequireMFA(ctx, a.Seq, true)
				rev = tx.Revision()
				return err
			})
			if got, _ := db.Account(ctx, a.ID); !got.RequireMFA {
				t.Error("Account.RequireMFA off")
			}
			if f, _ := db.AccountPlan(ctx, a.Seq); !f.RequireMFA {
				t.Error("AccountPlan.RequireMFA off")
			}
			if cs, _ := db.ChangesSince(ctx, rev-1, 10); len(cs) != 1 || cs[0].Rev != rev || cs[0].AccountSeq != a.Seq || cs[0].UserID != 0 {
				t.Errorf("change %v", cs)
			}
			if got, _ := db.Account(ctx, b.ID); got.RequireMFA {
				t.Error("another account's flag set")
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetRequireMFA(ctx, a.Seq, false) })
			if got, _ := db.Account(ctx, a.ID); got.RequireMFA {
				t.Error("Account.RequireMFA still on")
			}
		})

		t.Run("password resets: live until used or expired, one use ends them all", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				for _, tok := range []string{"p1", "p2"} {
					if err := tx.CreatePasswordReset(ctx, uid, hash(tok), time.Hour); err != nil {
						return err
					}
				}
				return tx.CreatePasswordReset(ctx, other, hash("po"), time.Hour)
			})
			if id, err := db.PasswordResetUser(ctx, hash("p1")); err != nil || id != uid {
				t.Errorf("PasswordResetUser = %d, %v", id, err)
			}
			var got int64
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				got, err = tx.UsePasswordReset(ctx, hash("p1"))
				return err
			})
			if got != uid {
				t.Errorf("UsePasswordReset = %d", got)
			}
			for _, tok := range []string{"p1", "p2", "nope"} { // used; ended with it; never made
				if _, err := db.PasswordResetUser(ctx, hash(tok)); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("PasswordResetUser(%s): %v", tok, err)
				}
				if err := call(func(tx *store.Tx) error { _, err := tx.UsePasswordReset(ctx, hash(tok)); return err }); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UsePasswordReset(%s): %v", tok, err)
				}
			}
			if id, err := db.PasswordResetUser(ctx, hash("po")); err != nil || id != other {
				t.Errorf("another user's reset ended: %d %v", id, err)
			}
			c.add(time.Hour)
			if _, err := db.PasswordResetUser(ctx, hash("po")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("expired reset: %v", err)
			}
			if err := call(func(tx *store.Tx) error { _, err := tx.UsePasswordReset(ctx, hash("po")); return err }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("using an expired reset: %v", err)
			}
		})

		t.Run("pending logins: live until used or expired", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreatePendingLogin(ctx, uid, hash("l1"), 5*time.Minute); err != nil {
					return err
				}
				return tx.CreatePendingLogin(ctx, uid, hash("l2"), 5*time.Minute)
			})
			if id, err := db.PendingLogin(ctx, hash("l1")); err != nil || id != uid {
				t.Errorf("PendingLogin = %d, %v", id, err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, hash("l1")) })
			if _, err := db.PendingLogin(ctx, hash("l1")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("used pending login: %v", err)
			}
			for _, tok := range []string{"l1", "nope"} {
				if err := call(func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, hash(tok)) }); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UsePendingLogin(%s): %v", tok, err)
				}
			}
			if id, err := db.PendingLogin(ctx, hash("l2")); err != nil || id != uid {
				t.Errorf("the other pending login: %d, %v", id, err)
			}
			c.add(5 * time.Minute)
			if _, err := db.PendingLogin(ctx, hash("l2")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("expired pending login: %v", err)
			}
			if err := call(func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, hash("l2")) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("using an expired pending login: %v", err)
			}
		})

		t.Run("PasswordHash and SetPassword", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if h, err := tx.PasswordHash(ctx, uid); err != nil || h != "hash" {
					t.Errorf("PasswordHash = %q, %v", h, err)
				}
				if err := tx.SetPassword(ctx, uid, "new-hash"); err != nil {
					return err
				}
				if h, err := tx.PasswordHash(ctx, uid); err != nil || h != "new-hash" {
					t.Errorf("after SetPassword: %q, %v", h, err)
				}
				if _, err := tx.PasswordHash(ctx, 999999); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("PasswordHash of no user: %v", err)
				}
				return nil
			})
			if _, h, _ := db.UserByEmail(ctx, "other@x.example"); h != "hash" {
				t.Errorf("another user's hash %q", h)
			}
		})
	})
}
