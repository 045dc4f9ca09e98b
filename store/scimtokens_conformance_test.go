package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- scimtokens.go

func TestConformance_SCIMTokens(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
		_, a := fixture(t, db, "owner@acme-corp.example")
		_, b := fixture(t, db, "owner@rival.example")

		var t1, t2 roster.SCIMToken
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if t1, err = tx.CreateSCIMToken(ctx, a.Seq, "Okta", hash("rscim_one")); err != nil {
				return err
			}
			c.add(time.Second)
			t2, err = tx.CreateSCIMToken(ctx, a.Seq, "Entra ID", hash("rscim_two"))
			return err
		})
		if t1.ID == 0 || t1.AccountSeq != a.Seq || t1.Name != "Okta" || !t1.CreatedAt.Equal(c.now.Add(-time.Second)) || !t1.LastUsedAt.IsZero() {
			t.Fatalf("CreateSCIMToken = %+v", t1)
		}

		t.Run("CreateSCIMToken: a hash is stored once, whichever account", func(t *testing.T) {
			err := tx(t, db, func(tx *store.Tx) error {
				_, err := tx.CreateSCIMToken(ctx, b.Seq, "copy", hash("rscim_one"))
				return err
			})
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("a hash twice: %v, want ErrUnique", err)
			}
		})

		t.Run("CountSCIMTokens and SCIMTokens: the account's own, oldest first", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				for seq, want := range map[int64]int{a.Seq: 2, b.Seq: 0} {
					if n, err := tx.CountSCIMTokens(ctx, seq); err != nil || n != want {
						t.Errorf("CountSCIMTokens(%d) = %d, %v, want %d", seq, n, err, want)
					}
				}
				return nil
			})
			ts, err := db.SCIMTokens(ctx, a.Seq)
			must(t, err)
			if len(ts) != 2 || ts[0].ID != t1.ID || ts[0].Name != "Okta" || ts[1].ID != t2.ID || ts[1].Name != "Entra ID" || !ts[1].CreatedAt.Equal(t2.CreatedAt) {
				t.Errorf("SCIMTokens = %+v", ts)
			}
			if ts, err := db.SCIMTokens(ctx, b.Seq); err != nil || len(ts) != 0 {
				t.Errorf("another account's SCIMTokens = %+v, %v", ts, err)
			}
		})

		t.Run("SCIMTokenByHash: the token, its hash and its account; ErrNoRows otherwise", func(t *testing.T) {
			tok, stored, acct, err := db.SCIMTokenByHash(ctx, hash("rscim_two"))
			must(t, err)
			if tok.ID != t2.ID || tok.AccountSeq != a.Seq || tok.Name != "Entra ID" || !bytes.Equal(stored, hash("rscim_two")) ||
				acct.Seq != a.Seq || acct.ID != a.ID || acct.Name != a.Name || acct.Plan != a.Plan || !acct.CreatedAt.Equal(a.CreatedAt) {
				t.Errorf("SCIMTokenByHash = %+v %x %+v", tok, stored, acct)
			}
			if _, _, _, err := db.SCIMTokenByHash(ctx, hash("rscim_nope")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("an unknown hash: %v, want ErrNoRows", err)
			}
		})

		t.Run("TouchSCIMToken: at most once a minute", func(t *testing.T) {
			lastUsed := func() time.Time {
				tok, _, _, err := db.SCIMTokenByHash(ctx, hash("rscim_one"))
				must(t, err)
				return tok.LastUsedAt
			}
			must(t, db.TouchSCIMToken(ctx, t1.ID))
			first := c.now
			if at := lastUsed(); !at.Equal(first) {
				t.Errorf("LastUsedAt after a touch: %v, want %v", at, first)
			}
			c.add(30 * time.Second)
			must(t, db.TouchSCIMToken(ctx, t1.ID))
			if at := lastUsed(); !at.Equal(first) {
				t.Errorf("a touch within the minute recorded: %v", at)
			}
			c.add(time.Minute)
			must(t, db.TouchSCIMToken(ctx, t1.ID))
			if at := lastUsed(); !at.Equal(c.now) {
				t.Errorf("a touch after the minute not recorded: %v, want %v", at, c.now)
			}
			ts, _ := db.SCIMTokens(ctx, a.Seq)
			if !ts[0].LastUsedAt.Equal(c.now) || !ts[1].LastUsedAt.IsZero() {
				t.Errorf("listed after touches: %+v", ts)
			}
		})

		t.Run("DeleteSCIMToken: the account's own; another's is not found, as a missing one", func(t *testing.T) {
			other := tx(t, db, func(tx *store.Tx) error { _, err := tx.DeleteSCIMToken(ctx, b.Seq, t1.ID); return err })
			missing := tx(t, db, func(tx *store.Tx) error { _, err := tx.DeleteSCIMToken(ctx, a.Seq, t2.ID+1000); return err })
			sameAsMissing(t, "DeleteSCIMToken", other, missing, store.ErrNoRows)
			mustTx(t, db, func(tx *store.Tx) error {
				got, err := tx.DeleteSCIMToken(ctx, a.Seq, t1.ID)
				if err == nil && (got.ID != t1.ID || got.Name != "Okta" || got.AccountSeq != a.Seq) {
					t.Errorf("DeleteSCIMToken = %+v", got)
				}
				return err
			})
			if _, _, _, err := db.SCIMTokenByHash(ctx, hash("rscim_one")); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("a deleted token is found: %v", err)
			}
			if ts, _ := db.SCIMTokens(ctx, a.Seq); len(ts) != 1 || ts[0].ID != t2.ID {
				t.Errorf("after the delete: %+v", ts)
			}
		})

		t.Run("one row is left", func(t *testing.T) {
			if n := countRows(t, db, "scim_tokens", fmt.Sprintf("account_id = %d", a.Seq)); n != 1 {
				t.Errorf("%d rows", n)
			}
		})
	})
}

func TestConformance_SCIMSettings(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@acme-corp.example")
		_, b := fixture(t, db, "owner@rival.example")

		got, err := db.SCIMSettings(ctx, a.Seq)
		must(t, err)
		if got.DefaultRole != roster.RoleSupport || got.GroupRoles == nil || len(got.GroupRoles) != 0 {
			t.Errorf("SCIMSettings before any save = %+v", got)
		}

		want := roster.SCIMSettings{DefaultRole: roster.RoleDeveloper, GroupRoles: map[string]roster.Role{
			"Engineering": roster.RoleDeveloper, "Admins": roster.RoleAdmin, "Finance & Ops — ünicode": roster.RoleFinanceAnalyst}}
		mustTx(t, db, func(tx *store.Tx) error { return tx.SaveSCIMSettings(ctx, a.Seq, want) })
		got, err = db.SCIMSettings(ctx, a.Seq)
		must(t, err)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("SCIMSettings = %+v, want %+v", got, want)
		}
		if other, _ := db.SCIMSettings(ctx, b.Seq); other.DefaultRole != roster.RoleSupport || len(other.GroupRoles) != 0 {
			t.Errorf("another account's settings = %+v", other)
		}

		// Saved again: replaced, not merged; nil groups are none.
		mustTx(t, db, func(tx *store.Tx) error {
			return tx.SaveSCIMSettings(ctx, a.Seq, roster.SCIMSettings{DefaultRole: roster.RoleAdmin})
		})
		got, _ = db.SCIMSettings(ctx, a.Seq)
		if got.DefaultRole != roster.RoleAdmin || len(got.GroupRoles) != 0 {
			t.Errorf("after saving again: %+v", got)
		}

		// The schema refuses the owner's role (and none) as the default.
		for _, r := range []roster.Role{roster.RoleOwner, roster.RoleNone} {
			if err := tx(t, db, func(tx *store.Tx) error {
				return tx.SaveSCIMSettings(ctx, a.Seq, roster.SCIMSettings{DefaultRole: r})
			}); err == nil {
				t.Errorf("default role %v saved", r)
			}
		}
		if got, _ = db.SCIMSettings(ctx, a.Seq); got.DefaultRole != roster.RoleAdmin {
			t.Errorf("after the refusals: %+v", got)
		}
	})
}
