package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- members.go

func TestConformance_Members(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		owner, a := fixture(t, db, "owner@x.example")
		a = committed(t, db, a)

		var dev int64
		var joined time.Time
		t.Run("AddMember adds once and records the change", func(t *testing.T) {
			c.add(time.Second)
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				if dev, err = tx.CreateUser(ctx, "dev@x.example", "Dev", "h", true); err != nil {
					return err
				}
				if err := tx.AddMember(ctx, a.Seq, dev, roster.RoleDeveloper); err != nil {
					return err
				}
				joined = tx.Now()
				// The transaction sees its own member.
				m, err := tx.Member(ctx, a, dev)
				if err != nil || m.Role != roster.RoleDeveloper || m.Email != "dev@x.example" {
					t.Errorf("Tx.Member in the adding transaction: %+v, %v", m, err)
				}
				cs, err := db.ChangesSince(ctx, tx.Revision()-1, 10)
				if err != nil {
					return err
				}
				if len(cs) != 0 {
					t.Errorf("an uncommitted change is visible outside: %v", cs)
				}
				return nil
			})
			rev, _ := db.LatestRevision(ctx)
			cs, _ := db.ChangesSince(ctx, rev-1, 10)
			if len(cs) != 1 || cs[0].AccountSeq != a.Seq || cs[0].UserID != dev {
				t.Errorf("change %v", cs)
			}
			err := db.Transact(ctx, func(tx *store.Tx) error { return tx.AddMember(ctx, a.Seq, dev, roster.RoleSupport) })
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("second membership: %v, want ErrUnique", err)
			}
			err = db.Transact(ctx, func(tx *store.Tx) error { return tx.AddMember(ctx, 999999, dev, roster.RoleSupport) })
			if err == nil {
				t.Error("a membership of no account")
			}
		})

		t.Run("Member reads one member on the pool and in a transaction", func(t *testing.T) {
			want := roster.Member{AccountID: a.ID, UserID: dev, Email: "dev@x.example", Name: "Dev", Role: roster.RoleDeveloper,
				Status: roster.MemberActive, JoinedAt: joined}
			if m, err := db.Member(ctx, a, dev); err != nil || m != want {
				t.Errorf("DB.Member = %+v, %v; want %+v", m, err, want)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if m, err := tx.Member(ctx, a, dev); err != nil || m != want {
					t.Errorf("Tx.Member = %+v, %v; want %+v", m, err, want)
				}
				if _, err := tx.Member(ctx, a, 999999); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("Tx.Member of a stranger: %v", err)
				}
				return nil
			})
			if _, err := db.Member(ctx, a, 999999); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("DB.Member of a stranger: %v", err)
			}
			// Status follows the plan; MFA follows the user.
			standard := a
			standard.Plan = roster.PlanStandard
			if m, _ := db.Member(ctx, standard, dev); m.Status != roster.MemberSuspended {
				t.Errorf("on the standard plan: %s", m.Status)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.SetTOTPSecret(ctx, dev, "JBSWY3DPEHPK3PXP"); err != nil {
					return err
				}
				return tx.ConfirmTOTP(ctx, dev)
			})
			if m, _ := db.Member(ctx, a, dev); !m.MFA {
				t.Error("MFA not shown")
			}
		})

		t.Run("MemberRole", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				if r, err := tx.MemberRole(ctx, a.Seq, dev); err != nil || r != roster.RoleDeveloper {
					t.Errorf("MemberRole = %v, %v", r, err)
				}
				if r, err := tx.MemberRole(ctx, a.Seq, owner); err != nil || r != roster.RoleOwner {
					t.Errorf("owner's MemberRole = %v, %v", r, err)
				}
				if _, err := tx.MemberRole(ctx, a.Seq, 999999); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("stranger's MemberRole: %v", err)
				}
				return nil
			})
		})

		t.Run("SetMemberRole re-roles a member, never the owner", func(t *testing.T) {
			var rev int64
			mustTx(t, db, func(tx *store.Tx) error {
				err := tx.SetMemberRole(ctx, a.Seq, dev, roster.RoleAdmin)
				rev = tx.Revision()
				return err
			})
			if r, _, err := db.MemberRoleNow(ctx, a.Seq, dev); err != nil || r != roster.RoleAdmin {
				t.Errorf("role now %v, %v", r, err)
			}
			if cs, _ := db.ChangesSince(ctx, rev-1, 10); len(cs) != 1 || cs[0].UserID != dev {
				t.Errorf("change %v", cs)
			}
			for _, uid := range []int64{owner, 999999} {
				err := db.Transact(ctx, func(tx *store.Tx) error { return tx.SetMemberRole(ctx, a.Seq, uid, roster.RoleSupport) })
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("SetMemberRole(%d): %v, want ErrNoRows", uid, err)
				}
			}
			if r, _, _ := db.MemberRoleNow(ctx, a.Seq, owner); r != roster.RoleOwner {
				t.Errorf("owner re-roled to %v", r)
			}
		})

		t.Run("Members lists the owner first, then by join time, by offset and by cursor", func(t *testing.T) {
			var ids []int64
			for i := range 5 {
				c.add(time.Second)
				ids = append(ids, newMember(t, db, a, fmt.Sprintf("m%d@x.example", i), roster.RoleSupport))
			}
			want := append([]int64{owner, dev}, ids...)
			all, total, next, err := db.Members(ctx, a, roster.Page{Limit: 100})
			must(t, err)
			if total != len(want) || next != "" || fmt.Sprint(userIDs(all)) != fmt.Sprint(want) {
				t.Errorf("Members = %v (total %d, next %q), want %v", userIDs(all), total, next, want)
			}
			if all[0].Role != roster.RoleOwner || all[0].Email != "owner@x.example" || all[0].AccountID != a.ID {
				t.Errorf("first %+v", all[0])
			}
			page, total, _, err := db.Members(ctx, a, roster.Page{Limit: 2, Offset: 2})
			if err != nil || total != len(want) || fmt.Sprint(userIDs(page)) != fmt.Sprint(want[2:4]) {
				t.Errorf("offset page %v (%d, %v), want %v", userIDs(page), total, err, want[2:4])
			}
			var walked []int64
			p := roster.Page{Limit: 3}
			for range 10 {
				ms, _, next, err := db.Members(ctx, a, p)
				must(t, err)
				walked = append(walked, userIDs(ms)...)
				if next == "" {
					break
				}
				p.After = next
			}
			if fmt.Sprint(walked) != fmt.Sprint(want) {
				t.Errorf("by cursor %v, want %v", walked, want)
			}
			for _, bad := range []string{"x", "!!", base64.RawURLEncoding.EncodeToString([]byte("2.1.1")), base64.RawURLEncoding.EncodeToString([]byte("1.2"))} {
				if _, _, _, err := db.Members(ctx, a, roster.Page{Limit: 3, After: bad}); !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
				}
			}
		})

		t.Run("DeleteMember removes a member and their default, never the owner", func(t *testing.T) {
			_, b := fixture(t, db, "b@x.example")
			gone := newMember(t, db, a, "gone@x.example", roster.RoleSupport)
			stays := newMember(t, db, a, "stays@x.example", roster.RoleSupport)
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.AddMember(ctx, b.Seq, stays, roster.RoleSupport); err != nil {
					return err
				}
				if err := tx.SetDefaultAccount(ctx, gone, a.Seq); err != nil {
					return err
				}
				return tx.SetDefaultAccount(ctx, stays, b.Seq)
			})
			var rev int64
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.DeleteMember(ctx, a.Seq, gone); err != nil {
					return err
				}
				rev = tx.Revision()
				return tx.DeleteMember(ctx, a.Seq, stays)
			})
			if _, err := db.Member(ctx, a, gone); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("deleted member: %v", err)
			}
			if u, _ := db.UserByID(ctx, gone); u.DefaultAccountID != "" {
				t.Errorf("default account still %q", u.DefaultAccountID)
			}
			if u, _ := db.UserByID(ctx, stays); u.DefaultAccountID != b.ID {
				t.Errorf("another account's default cleared: %q", u.DefaultAccountID)
			}
			if cs, _ := db.ChangesSince(ctx, rev-1, 10); len(cs) != 2 || cs[0].UserID != gone || cs[1].UserID != stays {
				t.Errorf("changes %v", cs)
			}
			for _, uid := range []int64{gone, owner, 999999} {
				err := db.Transact(ctx, func(tx *store.Tx) error { return tx.DeleteMember(ctx, a.Seq, uid) })
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("DeleteMember(%d): %v, want ErrNoRows", uid, err)
				}
			}
		})

		t.Run("Audit writes an event the log reads back", func(t *testing.T) {
			c.add(time.Second)
			var at time.Time
			mustTx(t, db, func(tx *store.Tx) error {
				at = tx.Now()
				if err := tx.Audit(ctx, a.Seq, roster.Actor{UserID: dev, Email: "dev@x.example", IP: "192.0.2.7"}, "member.role", fmt.Sprint(owner), "x -> y"); err != nil {
					return err
				}
				return tx.Audit(ctx, a.Seq, roster.Actor{Email: "operator"}, "account.plan", a.ID, "")
			})
			es, total, err := db.AuditEvents(ctx, a, roster.AuditFilter{}, roster.Page{Limit: 10})
			must(t, err)
			if total != 2 || len(es) != 2 {
				t.Fatalf("events %+v", es)
			}
			got := es[1]
			want := roster.AuditEvent{ID: got.ID, AccountID: a.ID, ActorID: dev, ActorEmail: "dev@x.example", Action: "member.role",
				Target: fmt.Sprint(owner), Detail: "x -> y", IP: "192.0.2.7", At: at, ActorName: "Dev", SubjectName: "N", SubjectEmail: "owner@x.example"}
			if got != want {
				t.Errorf("event\n got %+v\nwant %+v", got, want)
			}
			if es[0].ActorID != 0 || es[0].ActorEmail != "operator" || es[0].ID <= got.ID {
				t.Errorf("operator's event %+v", es[0])
			}
			actors, err := db.AuditActors(ctx, a, 10)
			must(t, err)
			if fmt.Sprint(actors) != fmt.Sprint([]roster.AuditActor{{UserID: dev, Email: "dev@x.example", Name: "Dev"}, {Email: "operator"}}) {
				t.Errorf("actors %v", actors)
			}
			if actors, _ := db.AuditActors(ctx, a, 1); len(actors) != 1 {
				t.Errorf("limit 1: %v", actors)
			}
		})

		t.Run("AuditEvents reads an event whatever its target, on both databases", func(t *testing.T) {
			_, x := fixture(t, db, "cast@x.example")
			mustTx(t, db, func(tx *store.Tx) error {
				for _, target := range []string{"someone@x.example", "99999999999999999999", ""} {
					if err := tx.Audit(ctx, x.Seq, roster.Actor{Email: "operator"}, "member.role", target, ""); err != nil {
						return err
					}
				}
				return nil
			})
			es, total, err := db.AuditEvents(ctx, x, roster.AuditFilter{}, roster.Page{Limit: 10})
			if err != nil || total != 3 || len(es) != 3 {
				t.Errorf("AuditEvents = %+v (%d, %v)", es, total, err)
			}
			if _, err := db.AuditEventsAfter(ctx, x, time.Time{}, 0, 10); err != nil {
				t.Errorf("AuditEventsAfter: %v", err)
			}
		})

		t.Run("tenant", func(t *testing.T) {
			bOwner, b := fixture(t, db, "tenant-b@x.example")
			b = committed(t, db, b)
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.Audit(ctx, b.Seq, roster.Actor{UserID: bOwner, Email: "tenant-b@x.example"}, "member.role", "1", "")
			})
			// dev is a's member, not b's; 999999 is nobody's.
			const missing = 999999
			call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }
			sameAsMissing(t, "MemberRole",
				call(func(tx *store.Tx) error { _, err := tx.MemberRole(ctx, b.Seq, dev); return err }),
				call(func(tx *store.Tx) error { _, err := tx.MemberRole(ctx, b.Seq, missing); return err }), store.ErrNoRows)
			sameAsMissing(t, "SetMemberRole",
				call(func(tx *store.Tx) error { return tx.SetMemberRole(ctx, b.Seq, dev, roster.RoleSupport) }),
				call(func(tx *store.Tx) error { return tx.SetMemberRole(ctx, b.Seq, missing, roster.RoleSupport) }), store.ErrNoRows)
			sameAsMissing(t, "DeleteMember",
				call(func(tx *store.Tx) error { return tx.DeleteMember(ctx, b.Seq, dev) }),
				call(func(tx *store.Tx) error { return tx.DeleteMember(ctx, b.Seq, missing) }), store.ErrNoRows)
			_, errA := db.Member(ctx, b, dev)
			_, errM := db.Member(ctx, b, missing)
			sameAsMissing(t, "DB.Member", errA, errM, store.ErrNoRows)
			sameAsMissing(t, "Tx.Member",
				call(func(tx *store.Tx) error { _, err := tx.Member(ctx, b, dev); return err }),
				call(func(tx *store.Tx) error { _, err := tx.Member(ctx, b, missing); return err }), store.ErrNoRows)
			if r, _, err := db.MemberRoleNow(ctx, a.Seq, dev); err != nil || r != roster.RoleAdmin {
				t.Errorf("a's member after b's writes: %v %v", r, err)
			}
			ms, total, _, err := db.Members(ctx, b, roster.Page{Limit: 100})
			if err != nil || total != 1 || len(ms) != 1 || ms[0].UserID != bOwner {
				t.Errorf("b's members %v (%d, %v): another account's listed", userIDs(ms), total, err)
			}
			// A cursor made from a's list is a position only: it reads b's members.
			_, _, next, _ := db.Members(ctx, a, roster.Page{Limit: 1})
			ms, _, _, err = db.Members(ctx, b, roster.Page{Limit: 100, After: next})
			if err != nil {
				t.Errorf("b's page after a's cursor: %v", err)
			}
			for _, m := range ms {
				if m.UserID != bOwner {
					t.Errorf("b's page after a's cursor lists %d", m.UserID)
				}
			}
			es, total, err := db.AuditEvents(ctx, b, roster.AuditFilter{}, roster.Page{Limit: 100})
			if err != nil || total != 1 || len(es) != 1 || es[0].ActorID != bOwner {
				t.Errorf("b's audit events %+v (%d, %v)", es, total, err)
			}
			es, total, _ = db.AuditEvents(ctx, b, roster.AuditFilter{ActorID: dev}, roster.Page{Limit: 100})
			if total != 0 || len(es) != 0 {
				t.Errorf("a's actor in b's log: %+v", es)
			}
			if actors, err := db.AuditActors(ctx, b, 100); err != nil || len(actors) != 1 || actors[0].UserID != bOwner {
				t.Errorf("b's actors %v %v", actors, err)
			}
		})
	})
}

func userIDs(ms []roster.Member) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.UserID)
	}
	return out
}
