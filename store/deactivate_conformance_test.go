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

// --- deactivate.go

func TestConformance_Deactivate(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		owner, a := fixture(t, db, "owner@deact.example")
		a = committed(t, db, a)
		_, b := fixture(t, db, "owner@other-deact.example")
		var dev, sup int64
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if dev, err = tx.CreateUser(ctx, "dev@deact.example", "Dev", "h", true); err != nil {
				return err
			}
			if sup, err = tx.CreateUser(ctx, "sup@deact.example", "Sup", "h", true); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, a.Seq, dev, roster.RoleDeveloper); err != nil {
				return err
			}
			return tx.AddMember(ctx, a.Seq, sup, roster.RoleSupport)
		})

		set := func(uid int64, seq int64, deactivated bool) (bool, error) {
			var changed bool
			err := db.Transact(ctx, func(tx *store.Tx) error {
				var err error
				changed, err = tx.SetMemberDeactivated(ctx, seq, uid, deactivated)
				return err
			})
			return changed, err
		}
		deactivated := func(uid int64) bool {
			t.Helper()
			var d bool
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				d, err = tx.MemberDeactivated(ctx, a.Seq, uid)
				return err
			})
			return d
		}

		t.Run("SetMemberDeactivated deactivates once, records the change, keeps the role", func(t *testing.T) {
			rev, _ := db.LatestRevision(ctx)
			changed, err := set(dev, a.Seq, true)
			if err != nil || !changed {
				t.Fatalf("deactivate: %v, %v", changed, err)
			}
			cs, err := db.ChangesSince(ctx, rev, 10)
			must(t, err)
			if len(cs) != 1 || cs[0].AccountSeq != a.Seq || cs[0].UserID != dev {
				t.Errorf("changes %v, want one of the member", cs)
			}
			if !deactivated(dev) || deactivated(sup) {
				t.Error("MemberDeactivated does not read what was written")
			}
			m, err := db.Member(ctx, a, dev)
			must(t, err)
			if m.Status != roster.MemberDeactivated || m.Role != roster.RoleDeveloper {
				t.Errorf("member %+v, want deactivated developer", m)
			}
			r, err := db.MemberIndexRow(ctx, a.Seq, dev)
			must(t, err)
			if !r.Deactivated || r.Role != roster.RoleDeveloper {
				t.Errorf("index row %+v", r)
			}
			// Again: nothing changes, nothing is recorded.
			rev, _ = db.LatestRevision(ctx)
			changed, err = set(dev, a.Seq, true)
			if err != nil || changed {
				t.Errorf("deactivate again: %v, %v; want unchanged", changed, err)
			}
			if cs, _ := db.ChangesSince(ctx, rev, 10); len(cs) != 0 {
				t.Errorf("an unchanged state recorded %v", cs)
			}
		})

		t.Run("LoadIndex and AccountIndexRows carry the bit", func(t *testing.T) {
			got := map[int64]bool{}
			must(t, db.LoadIndex(ctx, func(int64, store.AccountFlags) {}, func(r store.IndexRow) {
				if r.AccountSeq == a.Seq {
					got[r.UserID] = r.Deactivated
				}
			}))
			if !got[dev] || got[sup] || got[owner] {
				t.Errorf("LoadIndex deactivated %v", got)
			}
			got = map[int64]bool{}
			must(t, db.AccountIndexRows(ctx, a.Seq, func(r store.IndexRow) { got[r.UserID] = r.Deactivated }))
			if !got[dev] || got[sup] || got[owner] {
				t.Errorf("AccountIndexRows deactivated %v", got)
			}
		})

		t.Run("the team list filters by deactivated, and the other statuses leave them out", func(t *testing.T) {
			for status, want := range map[roster.MemberStatus][]int64{
				roster.MemberDeactivated: {dev},
				roster.MemberActive:      {owner, sup},
				roster.MemberSuspended:   nil,
				"":                       {owner, dev, sup},
			} {
				l, err := db.MemberList(ctx, a, roster.MemberQuery{Status: status, Limit: 10})
				must(t, err)
				var ids []int64
				for _, m := range l.Members {
					ids = append(ids, m.UserID)
					if m.UserID == dev && m.Status != roster.MemberDeactivated {
						t.Errorf("listed %+v", m)
					}
				}
				if fmt.Sprint(ids) != fmt.Sprint(want) || l.All != 3 {
					t.Errorf("status %q: %v (all %d), want %v", status, ids, l.All, want)
				}
			}
			ms, _, _, err := db.Members(ctx, a, roster.Page{Limit: 10})
			must(t, err)
			if len(ms) != 3 || ms[1].UserID != dev || ms[1].Status != roster.MemberDeactivated {
				t.Errorf("Members %+v", ms)
			}
			ships, _, err := db.Memberships(ctx, dev, roster.Page{Limit: 10})
			must(t, err)
			if len(ships) != 1 || ships[0].Status != roster.MemberDeactivated {
				t.Errorf("Memberships %+v", ships)
			}
		})

		t.Run("Provisioned: a scim_users row", func(t *testing.T) {
			_, err := db.SQL().ExecContext(ctx, fmt.Sprintf(`INSERT INTO scim_users (account_id, user_id, created_at) VALUES (%d, %d, 0)`, a.Seq, sup))
			must(t, err)
			for _, uid := range []int64{sup, dev} {
				m, err := db.Member(ctx, a, uid)
				must(t, err)
				if m.Provisioned != (uid == sup) {
					t.Errorf("member %d provisioned %v", uid, m.Provisioned)
				}
			}
		})

		t.Run("refused: the owner, a stranger, another account's member; nothing changes", func(t *testing.T) {
			rev, _ := db.LatestRevision(ctx)
			for name, c := range map[string]struct {
				seq, uid int64
				d        bool
			}{
				"owner":           {a.Seq, owner, true},
				"owner, again":    {a.Seq, owner, false},
				"stranger":        {a.Seq, 999999, true},
				"another account": {b.Seq, dev, true},
			} {
				if changed, err := set(c.uid, c.seq, c.d); !errors.Is(err, store.ErrNoRows) || changed {
					t.Errorf("%s: %v, %v; want ErrNoRows", name, changed, err)
				}
			}
			if _, err := db.Member(ctx, a, owner); err != nil {
				t.Fatal(err)
			}
			if deactivated(owner) {
				t.Error("the owner was deactivated")
			}
			err := tx(t, db, func(tx *store.Tx) error {
				_, err := tx.MemberDeactivated(ctx, b.Seq, dev)
				return err
			})
			if !errors.Is(err, store.ErrNoRows) {
				t.Errorf("MemberDeactivated in another account: %v", err)
			}
			if cs, _ := db.ChangesSince(ctx, rev, 10); len(cs) != 0 {
				t.Errorf("a refusal recorded %v", cs)
			}
		})

		t.Run("reactivating clears it once and records the change", func(t *testing.T) {
			rev, _ := db.LatestRevision(ctx)
			changed, err := set(dev, a.Seq, false)
			if err != nil || !changed {
				t.Fatalf("reactivate: %v, %v", changed, err)
			}
			if cs, _ := db.ChangesSince(ctx, rev, 10); len(cs) != 1 || cs[0].UserID != dev {
				t.Errorf("changes %v", cs)
			}
			if changed, err := set(dev, a.Seq, false); err != nil || changed {
				t.Errorf("reactivate again: %v, %v", changed, err)
			}
			m, err := db.Member(ctx, a, dev)
			must(t, err)
			if m.Status != roster.MemberActive || m.Role != roster.RoleDeveloper || deactivated(dev) {
				t.Errorf("reactivated %+v", m)
			}
		})
	})
}
