package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- scim.go

func TestConformance_SCIMUsers(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner, a := fixture(t, db, "owner@acme.example")
		otherOwner, b := fixture(t, db, "owner@rival.example")
		ada, _ := fixture(t, db, "ada@acme.example")
		bob, _ := fixture(t, db, "bob@acme.example")
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.AddMember(ctx, a.Seq, ada, roster.RoleDeveloper); err != nil {
				return err
			}
			if err := tx.AddMember(ctx, a.Seq, bob, roster.RoleSupport); err != nil {
				return err
			}
			return tx.AddMember(ctx, b.Seq, ada, roster.RoleSupport)
		})

		t.Run("SetSCIMUser provisions and updates; the externalId is unique per account", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetSCIMUser(ctx, a.Seq, ada, "ext-ada", roster.RoleNone) })
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetSCIMUser(ctx, a.Seq, ada, "ext-ada-2", roster.RoleAdmin) })
			err := tx(t, db, func(tx *store.Tx) error { return tx.SetSCIMUser(ctx, a.Seq, bob, "ext-ada-2", roster.RoleNone) })
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("a taken externalId: %v, want ErrUnique", err)
			}
			// The same externalId in another account, and "" for many.
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetSCIMUser(ctx, b.Seq, ada, "ext-ada-2", roster.RoleNone) })
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetSCIMUser(ctx, a.Seq, bob, "", roster.RoleNone) })
			err = tx(t, db, func(tx *store.Tx) error { return tx.SetSCIMUser(ctx, a.Seq, otherOwner, "x", roster.RoleNone) })
			if err == nil {
				t.Errorf("a user who is not a member was provisioned")
			}
		})

		t.Run("SCIMUser reads the account's member, another's is ErrNoRows", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				u, err := tx.SCIMUser(ctx, a.Seq, ada)
				if err != nil {
					return err
				}
				if u.Email != "ada@acme.example" || u.Role != roster.RoleDeveloper || !u.Active || u.ExternalID != "ext-ada-2" || u.NamedRole != roster.RoleAdmin || !u.Provisioned || u.JoinedAt.IsZero() {
					t.Errorf("SCIMUser = %+v", u)
				}
				o, err := tx.SCIMUser(ctx, a.Seq, owner)
				if err != nil || o.Provisioned || o.Role != roster.RoleOwner {
					t.Errorf("the owner: %+v %v", o, err)
				}
				_, other := tx.SCIMUser(ctx, a.Seq, otherOwner)
				_, missing := tx.SCIMUser(ctx, a.Seq, 999999)
				sameAsMissing(t, "SCIMUser", other, missing, store.ErrNoRows)
				return nil
			})
		})

		t.Run("SCIMUsers filters, pages and counts within the account", func(t *testing.T) {
			all, total, err := db.SCIMUsers(ctx, a.Seq, nil, 0, 10)
			must(t, err)
			if total != 3 || len(all) != 3 || all[0].UserID != owner {
				t.Fatalf("all: %d %+v", total, all)
			}
			page, total, err := db.SCIMUsers(ctx, a.Seq, nil, 1, 1)
			must(t, err)
			if total != 3 || len(page) != 1 || page[0].UserID != all[1].UserID {
				t.Errorf("page 2 of 1: %d %+v", total, page)
			}
			for _, c := range []struct {
				f    *store.SCIMFilter
				want []int64
			}{
				{&store.SCIMFilter{Op: "eq", Attr: "email", Value: "ada@acme.example"}, []int64{ada}},
				{&store.SCIMFilter{Op: "eq", Attr: "external_id", Value: "ext-ada-2"}, []int64{ada}},
				{&store.SCIMFilter{Op: "eq", Attr: "external_id", Value: ""}, []int64{owner, bob}},
				{&store.SCIMFilter{Op: "eq", Attr: "email", Value: "owner@rival.example"}, nil},
				{&store.SCIMFilter{Op: "or", Left: &store.SCIMFilter{Op: "eq", Attr: "email", Value: "bob@acme.example"}, Right: &store.SCIMFilter{Op: "eq", Attr: "external_id", Value: "ext-ada-2"}}, []int64{ada, bob}},
				{&store.SCIMFilter{Op: "and", Left: &store.SCIMFilter{Op: "eq", Attr: "email", Value: "ada@acme.example"}, Right: &store.SCIMFilter{Op: "eq", Attr: "external_id", Value: "nope"}}, nil},
			} {
				got, total, err := db.SCIMUsers(ctx, a.Seq, c.f, 0, 10)
				must(t, err)
				var ids []int64
				for _, u := range got {
					ids = append(ids, u.UserID)
				}
				if total != len(c.want) || len(ids) != len(c.want) {
					t.Errorf("filter %+v: %v (total %d), want %v", c.f, ids, total, c.want)
					continue
				}
				for i := range ids {
					if ids[i] != c.want[i] {
						t.Errorf("filter %+v: %v, want %v", c.f, ids, c.want)
					}
				}
			}
			if _, _, err := db.SCIMUsers(ctx, a.Seq, &store.SCIMFilter{Op: "eq", Attr: "title", Value: "x"}, 0, 10); err == nil {
				t.Errorf("a filter on another attribute was answered")
			}
		})

		t.Run("SCIMUser reads a deactivated member as not active", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { _, err := tx.SetMemberDeactivated(ctx, a.Seq, bob, true); return err })
			mustTx(t, db, func(tx *store.Tx) error {
				u, err := tx.SCIMUser(ctx, a.Seq, bob)
				if err != nil || u.Active {
					t.Errorf("deactivated: %+v %v", u, err)
				}
				_, err = tx.SetMemberDeactivated(ctx, a.Seq, bob, false)
				return err
			})
		})

	})
}

// rebindFor numbers ? placeholders on PostgreSQL.
func rebindFor(db *store.DB, q string) string {
	if db.Dialect() == "sqlite" {
		return q
	}
	out, n := []byte{}, 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			out = append(out, '$', byte('0'+n))
			continue
		}
		out = append(out, q[i])
	}
	return string(out)
}

func TestConformance_SCIMGroups(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		owner, a := fixture(t, db, "owner@acme.example")
		otherOwner, b := fixture(t, db, "owner@rival.example")
		ada, _ := fixture(t, db, "ada@acme.example")
		mustTx(t, db, func(tx *store.Tx) error { return tx.AddMember(ctx, a.Seq, ada, roster.RoleSupport) })

		var eng, ops, theirs int64
		mustTx(t, db, func(tx *store.Tx) error {
			var err error
			if eng, err = tx.CreateSCIMGroup(ctx, a.Seq, "Engineering", "ext-eng"); err != nil {
				return err
			}
			if ops, err = tx.CreateSCIMGroup(ctx, a.Seq, "Operations", ""); err != nil {
				return err
			}
			theirs, err = tx.CreateSCIMGroup(ctx, b.Seq, "Engineering", "")
			return err
		})

		t.Run("CreateSCIMGroup and UpdateSCIMGroup: one name per account", func(t *testing.T) {
			err := tx(t, db, func(tx *store.Tx) error { _, err := tx.CreateSCIMGroup(ctx, a.Seq, "Engineering", ""); return err })
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("a taken name: %v, want ErrUnique", err)
			}
			err = tx(t, db, func(tx *store.Tx) error { return tx.UpdateSCIMGroup(ctx, a.Seq, ops, "Engineering", "") })
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("renamed to a taken name: %v, want ErrUnique", err)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.UpdateSCIMGroup(ctx, a.Seq, ops, "Ops", "ext-ops") })
			mustTx(t, db, func(tx *store.Tx) error {
				other := tx.UpdateSCIMGroup(ctx, a.Seq, theirs, "Mine", "")
				missing := tx.UpdateSCIMGroup(ctx, a.Seq, 999999, "Mine", "")
				sameAsMissing(t, "UpdateSCIMGroup", other, missing, store.ErrNoRows)
				return nil
			})
		})

		t.Run("AddSCIMGroupMember takes the account's members into its groups", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddSCIMGroupMember(ctx, a.Seq, eng, ada); err != nil {
					return err
				}
				if err := tx.AddSCIMGroupMember(ctx, a.Seq, eng, ada); err != nil { // again: nothing
					return err
				}
				if err := tx.AddSCIMGroupMember(ctx, a.Seq, eng, owner); err != nil {
					return err
				}
				if err := tx.AddSCIMGroupMember(ctx, a.Seq, ops, ada); err != nil {
					return err
				}
				other := tx.AddSCIMGroupMember(ctx, a.Seq, theirs, ada)
				missing := tx.AddSCIMGroupMember(ctx, a.Seq, 999999, ada)
				sameAsMissing(t, "AddSCIMGroupMember (group)", other, missing, store.ErrNoRows)
				other = tx.AddSCIMGroupMember(ctx, a.Seq, eng, otherOwner)
				missing = tx.AddSCIMGroupMember(ctx, a.Seq, eng, 999999)
				sameAsMissing(t, "AddSCIMGroupMember (user)", other, missing, store.ErrNoRows)
				return nil
			})
		})

		t.Run("SCIMGroup, SCIMGroups, SCIMGroupNamesOf read within the account", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				g, err := tx.SCIMGroup(ctx, a.Seq, eng)
				if err != nil {
					return err
				}
				if g.DisplayName != "Engineering" || g.ExternalID != "ext-eng" || len(g.Members) != 2 || g.Members[0].UserID != owner || g.Members[1].Email != "ada@acme.example" {
					t.Errorf("SCIMGroup = %+v", g)
				}
				_, other := tx.SCIMGroup(ctx, a.Seq, theirs)
				_, missing := tx.SCIMGroup(ctx, a.Seq, 999999)
				sameAsMissing(t, "SCIMGroup", other, missing, store.ErrNoRows)
				names, err := tx.SCIMGroupNamesOf(ctx, a.Seq, ada)
				if err != nil || len(names) != 2 {
					t.Errorf("SCIMGroupNamesOf = %v %v", names, err)
				}
				if names, _ := tx.SCIMGroupNamesOf(ctx, b.Seq, ada); len(names) != 0 {
					t.Errorf("names in another account: %v", names)
				}
				u, err := tx.SCIMUser(ctx, a.Seq, ada)
				if err != nil || len(u.Groups) != 2 || u.Groups[0].DisplayName != "Engineering" {
					t.Errorf("groups of the user: %+v %v", u.Groups, err)
				}
				return nil
			})
			gs, total, err := db.SCIMGroups(ctx, a.Seq, "", 0, 10)
			must(t, err)
			if total != 2 || len(gs) != 2 || gs[0].ID != eng || len(gs[0].Members) != 2 || len(gs[1].Members) != 1 {
				t.Errorf("SCIMGroups = %d %+v", total, gs)
			}
			gs, total, err = db.SCIMGroups(ctx, a.Seq, "Ops", 0, 10)
			must(t, err)
			if total != 1 || len(gs) != 1 || gs[0].ID != ops {
				t.Errorf("SCIMGroups by name = %d %+v", total, gs)
			}
			gs, total, err = db.SCIMGroups(ctx, a.Seq, "", 1, 1)
			must(t, err)
			if total != 2 || len(gs) != 1 || gs[0].ID != ops {
				t.Errorf("SCIMGroups page 2 = %d %+v", total, gs)
			}
			us, _, err := db.SCIMUsers(ctx, a.Seq, &store.SCIMFilter{Op: "eq", Attr: "email", Value: "ada@acme.example"}, 0, 10)
			if err != nil || len(us) != 1 || len(us[0].Groups) != 2 {
				t.Errorf("SCIMUsers with groups: %+v %v", us, err)
			}
		})

		t.Run("RemoveSCIMGroupMembers and DeleteSCIMGroup", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.RemoveSCIMGroupMembers(ctx, a.Seq, eng, []int64{ada, 999999}); err != nil {
					return err
				}
				g, err := tx.SCIMGroup(ctx, a.Seq, eng)
				if err != nil || len(g.Members) != 1 || g.Members[0].UserID != owner {
					t.Errorf("after removing ada: %+v %v", g, err)
				}
				// Another account's group is untouched.
				if err := tx.AddSCIMGroupMember(ctx, b.Seq, theirs, otherOwner); err != nil {
					return err
				}
				if err := tx.RemoveSCIMGroupMembers(ctx, a.Seq, theirs, nil); err != nil {
					return err
				}
				if g, _ := tx.SCIMGroup(ctx, b.Seq, theirs); len(g.Members) != 1 {
					t.Errorf("another account's group emptied: %+v", g)
				}
				if err := tx.RemoveSCIMGroupMembers(ctx, a.Seq, eng, nil); err != nil {
					return err
				}
				if g, _ := tx.SCIMGroup(ctx, a.Seq, eng); len(g.Members) != 0 {
					t.Errorf("emptied: %+v", g)
				}
				other := tx.DeleteSCIMGroup(ctx, a.Seq, theirs)
				missing := tx.DeleteSCIMGroup(ctx, a.Seq, 999999)
				sameAsMissing(t, "DeleteSCIMGroup", other, missing, store.ErrNoRows)
				if err := tx.DeleteSCIMGroup(ctx, a.Seq, ops); err != nil {
					return err
				}
				_, err = tx.SCIMGroup(ctx, a.Seq, ops)
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("deleted group: %v", err)
				}
				return nil
			})
		})
	})
}
