package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- revoke.go

func TestConformance_Revoke(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }
		owner, a := fixture(t, db, "owner@x.example")
		_, b := fixture(t, db, "b-owner@x.example")
		u := newMember(t, db, a, "u@x.example", roster.RoleDeveloper)
		mustTx(t, db, func(tx *store.Tx) error { return tx.AddMember(ctx, b.Seq, u, roster.RoleAdmin) })
		other := newMember(t, db, a, "other@x.example", roster.RoleDeveloper)
		const missing = 999999

		t.Run("DeleteUserAPIKeys deletes the user's keys in every account and records a change in each", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				for _, k := range []struct {
					acct, user int64
					name       string
				}{{a.Seq, u, "ua1"}, {a.Seq, u, "ua2"}, {b.Seq, u, "ub1"}, {a.Seq, other, "oa"}, {a.Seq, owner, "ow"}} {
					if _, err := tx.CreateAPIKey(ctx, k.acct, k.user, k.name, "rk_"+k.name, hash(k.name)); err != nil {
						return err
					}
				}
				return nil
			})
			rev, err := db.LatestRevision(ctx)
			must(t, err)
			var ended []store.EndedKey
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				ended, err = tx.DeleteUserAPIKeys(ctx, u)
				return err
			})
			slices.SortFunc(ended, func(x, y store.EndedKey) int { return strings.Compare(x.Name, y.Name) })
			want := []store.EndedKey{{AccountSeq: a.Seq, Prefix: "rk_ua1", Name: "ua1"}, {AccountSeq: a.Seq, Prefix: "rk_ua2", Name: "ua2"}, {AccountSeq: b.Seq, Prefix: "rk_ub1", Name: "ub1"}}
			if fmt.Sprint(ended) != fmt.Sprint(want) {
				t.Errorf("DeleteUserAPIKeys = %+v, want %+v", ended, want)
			}
			// One change per account, naming the user: each replica's check
			// index forgets the keys.
			cs, err := db.ChangesSince(ctx, rev, 10)
			must(t, err)
			for i := range cs {
				cs[i] = store.Change{AccountSeq: cs[i].AccountSeq, UserID: cs[i].UserID} // which change, not what it came with
			}
			slices.SortFunc(cs, func(x, y store.Change) int { return int(x.AccountSeq - y.AccountSeq) })
			if fmt.Sprint(cs) != fmt.Sprint([]store.Change{{AccountSeq: a.Seq, UserID: u}, {AccountSeq: b.Seq, UserID: u}}) {
				t.Errorf("changes %v, want one for each of a (%d) and b (%d) with user %d", cs, a.Seq, b.Seq, u)
			}
			for name, want := range map[string]bool{"ua1": false, "ua2": false, "ub1": false, "oa": true, "ow": true} {
				if ok, err := db.APIKeyExists(ctx, hash(name)); err != nil || ok != want {
					t.Errorf("APIKeyExists(%s) = %v, %v; want %v", name, ok, err, want)
				}
			}
			if keys, err := db.APIKeys(ctx, u); err != nil || len(keys) != 0 {
				t.Errorf("the user's keys after: %+v, %v", keys, err)
			}
			// Nothing left, and a user who does not exist: nothing ended,
			// no change; the other users' keys stay.
			for _, uid := range []int64{u, missing} {
				mustTx(t, db, func(tx *store.Tx) error {
					ended, err := tx.DeleteUserAPIKeys(ctx, uid)
					if err != nil || len(ended) != 0 || tx.Revision() != 0 {
						t.Errorf("DeleteUserAPIKeys(%d) = %+v, %v (revision %d); want none and no change", uid, ended, err, tx.Revision())
					}
					return err
				})
			}
			if keys, err := db.APIKeys(ctx, other); err != nil || len(keys) != 1 || keys[0].Name != "oa" {
				t.Errorf("another user's keys: %+v, %v", keys, err)
			}
		})

		t.Run("EndPasswordResets ends the user's open reset links, not another's", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				for _, r := range []struct {
					user  int64
					token string
				}{{u, "r1"}, {u, "r2"}, {other, "ro"}} {
					if err := tx.CreatePasswordReset(ctx, r.user, hash(r.token), time.Hour); err != nil {
						return err
					}
				}
				return nil
			})
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndPasswordResets(ctx, u) })
			for _, tok := range []string{"r1", "r2"} {
				if _, err := db.PasswordResetUser(ctx, hash(tok)); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("PasswordResetUser(%s) after the end: %v, want ErrNoRows", tok, err)
				}
				if err := call(func(tx *store.Tx) error { _, err := tx.UsePasswordReset(ctx, hash(tok)); return err }); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UsePasswordReset(%s) after the end: %v, want ErrNoRows", tok, err)
				}
			}
			// A user with none open and one who does not exist: no error,
			// and another user's link lives on.
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndPasswordResets(ctx, u) })
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndPasswordResets(ctx, missing) })
			if id, err := db.PasswordResetUser(ctx, hash("ro")); err != nil || id != other {
				t.Errorf("another user's link: %d, %v", id, err)
			}
			// It ends the links issued before it, not the user's next one.
			mustTx(t, db, func(tx *store.Tx) error { return tx.CreatePasswordReset(ctx, u, hash("r3"), time.Hour) })
			if id, err := db.PasswordResetUser(ctx, hash("r3")); err != nil || id != u {
				t.Errorf("a link issued after the end: %d, %v", id, err)
			}
		})

		t.Run("EndPendingLogins ends the user's sign-ins waiting for a second factor, not another's", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				for _, l := range []struct {
					user  int64
					token string
				}{{u, "l1"}, {u, "l2"}, {other, "lo"}} {
					if err := tx.CreatePendingLogin(ctx, l.user, hash(l.token), 5*time.Minute); err != nil {
						return err
					}
				}
				return nil
			})
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndPendingLogins(ctx, u) })
			for _, tok := range []string{"l1", "l2"} {
				if _, err := db.PendingLogin(ctx, hash(tok)); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("PendingLogin(%s) after the end: %v, want ErrNoRows", tok, err)
				}
				if err := call(func(tx *store.Tx) error { return tx.UsePendingLogin(ctx, hash(tok)) }); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("UsePendingLogin(%s) after the end: %v, want ErrNoRows", tok, err)
				}
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndPendingLogins(ctx, u) })
			mustTx(t, db, func(tx *store.Tx) error { return tx.EndPendingLogins(ctx, missing) })
			if id, err := db.PendingLogin(ctx, hash("lo")); err != nil || id != other {
				t.Errorf("another user's pending sign-in: %d, %v", id, err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.CreatePendingLogin(ctx, u, hash("l3"), 5*time.Minute) })
			if id, err := db.PendingLogin(ctx, hash("l3")); err != nil || id != u {
				t.Errorf("a sign-in started after the end: %d, %v", id, err)
			}
		})
	})
}
