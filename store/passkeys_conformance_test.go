package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster/store"
)

// --- passkeys.go

func TestConformance_Passkeys(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		uid, a := fixture(t, db, "owner@passkeys.example")
		other, _ := fixture(t, db, "other@passkeys.example")

		user := func() (mfa, totp, pk bool) {
			t.Helper()
			var got bool
			mustTx(t, db, func(tx *store.Tx) error {
				u, err := tx.User(ctx, uid)
				mfa, totp, got = u.MFAEnabled, u.TOTPEnabled, u.Passkeys
				return err
			})
			return mfa, totp, got
		}
		if mfa, _, pk := user(); mfa || pk {
			t.Fatalf("a new user: mfa %v, passkeys %v", mfa, pk)
		}

		var p store.Passkey
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			p, err = tx.CreatePasskey(ctx, store.Passkey{UserID: uid, CredentialID: []byte("cred-1"), PublicKey: []byte("key-1"),
				SignCount: 5, AAGUID: make([]byte, 16), Transports: []string{"internal", "hybrid"}, BackupEligible: true})
			return err
		})
		if p.ID == 0 || p.CreatedAt.IsZero() {
			t.Fatalf("CreatePasskey = %+v", p)
		}
		p.Name = "x" // names are set by RenamePasskey below; CreatePasskey stores what it is given

		t.Run("CreatePasskey: a credential ID is stored once, for anyone", func(t *testing.T) {
			err := tx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreatePasskey(ctx, store.Passkey{UserID: other, CredentialID: []byte("cred-1"), PublicKey: []byte("k")})
				return err
			})
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("the same credential ID again: %v, want ErrUnique", err)
			}
		})

		t.Run("a passkey is a second factor: the user, the index and the member list say so", func(t *testing.T) {
			if mfa, totp, pk := user(); !mfa || totp || !pk {
				t.Errorf("user with a passkey: mfa %v, totp %v, passkeys %v", mfa, totp, pk)
			}
			if _, mfa, err := db.MemberRoleNow(ctx, a.Seq, uid); err != nil || !mfa {
				t.Errorf("MemberRoleNow mfa = %v, %v", mfa, err)
			}
			if r, err := db.MemberIndexRow(ctx, a.Seq, uid); err != nil || !r.MFA {
				t.Errorf("MemberIndexRow = %+v, %v", r, err)
			}
			// A start reads the second factor apart from the members
			// (LoadIndexSparse): the passkey counts there too, for this
			// user alone.
			loaded := map[int64]bool{}
			must(t, db.LoadIndex(ctx, func(int64, store.AccountFlags) {}, func(r store.IndexRow) { loaded[r.UserID] = r.MFA }))
			if !loaded[uid] || loaded[other] {
				t.Errorf("LoadIndex MFA: user %v, other %v; want true, false", loaded[uid], loaded[other])
			}
		})

		t.Run("UserPasskeys and PasskeyByCredential read it back", func(t *testing.T) {
			var ps []store.Passkey
			var byCred store.Passkey
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if ps, err = tx.UserPasskeys(ctx, uid); err != nil {
					return err
				}
				byCred, err = tx.PasskeyByCredential(ctx, []byte("cred-1"))
				return err
			})
			if len(ps) != 1 || string(ps[0].PublicKey) != "key-1" || ps[0].SignCount != 5 || !ps[0].BackupEligible ||
				fmt.Sprint(ps[0].Transports) != "[internal hybrid]" || len(ps[0].AAGUID) != 16 {
				t.Errorf("UserPasskeys = %+v", ps)
			}
			if byCred.ID != p.ID || byCred.UserID != uid {
				t.Errorf("PasskeyByCredential = %+v", byCred)
			}
			err := tx(t, db, func(tx *store.Tx) error { _, err := tx.PasskeyByCredential(ctx, []byte("nope")); return err })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("unknown credential: %v, want ErrNoRows", err)
			}
		})

		t.Run("RenamePasskey: the user's own only", func(t *testing.T) {
			var got store.Passkey
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				got, err = tx.RenamePasskey(ctx, uid, p.ID, "Laptop")
				return err
			})
			if got.Name != "Laptop" || got.ID != p.ID {
				t.Errorf("RenamePasskey = %+v", got)
			}
			err := tx(t, db, func(tx *store.Tx) error { _, err := tx.RenamePasskey(ctx, other, p.ID, "Mine"); return err })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("another user's passkey: %v, want ErrNoRows", err)
			}
		})

		t.Run("UsePasskey: the counter goes forward or the sign-in is refused", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.UsePasskey(ctx, p.ID, 6, true) })
			for _, c := range []uint32{6, 3, 0} {
				err := tx(t, db, func(tx *store.Tx) error { return tx.UsePasskey(ctx, p.ID, c, false) })
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("counter %d after 6: %v, want ErrNoRows", c, err)
				}
			}
			mustTx(t, db, func(tx *store.Tx) error {
				got, err := tx.PasskeyByCredential(ctx, []byte("cred-1"))
				if got.SignCount != 6 || !got.BackedUp || got.LastUsedAt.IsZero() {
					t.Errorf("after use: %+v", got)
				}
				return err
			})
			// An authenticator that keeps no counter (0 always) is used again and again.
			var z store.Passkey
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				z, err = tx.CreatePasskey(ctx, store.Passkey{UserID: other, CredentialID: []byte("cred-z"), PublicKey: []byte("k")})
				return err
			})
			for range 2 {
				mustTx(t, db, func(tx *store.Tx) error { return tx.UsePasskey(ctx, z.ID, 0, false) })
			}
		})

		t.Run("passkey flows: single use, expire, replaced, pruned", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.PutPasskeyFlow(ctx, hash("flow-1"), 0, "login", `{"challenge":"a"}`, 5*time.Minute)
			})
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.PutPasskeyFlow(ctx, hash("reg"), uid, "registration", `{"challenge":"b"}`, 5*time.Minute)
			})
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.PutPasskeyFlow(ctx, hash("reg"), uid, "registration", `{"challenge":"c"}`, 5*time.Minute)
			})
			err := tx(t, db, func(tx *store.Tx) error {
				_, _, err := tx.TakePasskeyFlow(ctx, hash("flow-1"), "registration")
				return err
			})
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("a flow of another kind: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				u, data, err := tx.TakePasskeyFlow(ctx, hash("reg"), "registration")
				if u != uid || data != `{"challenge":"c"}` {
					t.Errorf("TakePasskeyFlow = %d, %q: want the newer one", u, data)
				}
				return err
			})
			mustTx(t, db, func(tx *store.Tx) error {
				u, data, err := tx.TakePasskeyFlow(ctx, hash("flow-1"), "login")
				if u != 0 || data != `{"challenge":"a"}` {
					t.Errorf("TakePasskeyFlow = %d, %q", u, data)
				}
				return err
			})
			err = tx(t, db, func(tx *store.Tx) error { _, _, err := tx.TakePasskeyFlow(ctx, hash("flow-1"), "login"); return err })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("taken twice: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.PutPasskeyFlow(ctx, hash("old"), 0, "login", `{}`, -time.Second)
			})
			err = tx(t, db, func(tx *store.Tx) error { _, _, err := tx.TakePasskeyFlow(ctx, hash("old"), "login"); return err })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("expired: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.PutPasskeyFlow(ctx, hash("stale"), 0, "login", `{}`, time.Minute)
			})
			res, err := db.Prune(ctx, time.Now().Add(2*time.Minute), store.Retention{})
			if err != nil || res.PasskeyFlows != 2 {
				t.Errorf("Prune = %d passkey flows, %v; want 2 (the expired and the stale one)", res.PasskeyFlows, err)
			}
		})

		t.Run("DeletePasskey and DeleteUserPasskeys: the user's own only", func(t *testing.T) {
			err := tx(t, db, func(tx *store.Tx) error { _, err := tx.DeletePasskey(ctx, other, p.ID); return err })
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("another user's passkey: %v, want ErrNoRows", err)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				got, err := tx.DeletePasskey(ctx, uid, p.ID)
				if got.Name != "Laptop" {
					t.Errorf("DeletePasskey = %+v", got)
				}
				return err
			})
			if mfa, _, pk := user(); mfa || pk {
				t.Errorf("after the last passkey went: mfa %v, passkeys %v", mfa, pk)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				n, err := tx.DeleteUserPasskeys(ctx, other)
				if n != 1 {
					t.Errorf("DeleteUserPasskeys = %d, want 1", n)
				}
				return err
			})
		})
	})
}
