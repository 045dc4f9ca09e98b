package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- invitations.go

func TestConformance_Invitations(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		owner, a := fixture(t, db, "owner@x.example")
		a = committed(t, db, a)
		call := func(f func(tx *store.Tx) error) error { return db.Transact(ctx, f) }
		invite := func(t *testing.T, acct roster.Account, email, token string, ttl time.Duration) int64 {
			t.Helper()
			var id int64
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				id, err = tx.CreateInvitation(ctx, acct.Seq, email, roster.RoleSupport, hash(token), owner, ttl)
				return err
			})
			return id
		}
		read := func(t *testing.T, acct roster.Account, id int64) roster.Invitation {
			t.Helper()
			var inv roster.Invitation
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				inv, err = tx.Invitation(ctx, acct.Seq, id)
				return err
			})
			return inv
		}

		var id int64
		var made time.Time
		t.Run("CreateInvitation, one pending per address, read back by ID and by token", func(t *testing.T) {
			made = c.now
			id = invite(t, a, "ivy@x.example", "t1", 72*time.Hour)
			want := roster.Invitation{ID: id, AccountID: a.ID, AccountName: a.Name, Email: "ivy@x.example", Role: roster.RoleSupport,
				Status: roster.InvitationPending, InvitedBy: owner, SendCount: 1, CreatedAt: made, LastSentAt: made, ExpiresAt: made.Add(72 * time.Hour)}
			if got := read(t, a, id); got != want {
				t.Errorf("Invitation\n got %+v\nwant %+v", got, want)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				got, seq, err := tx.InvitationByToken(ctx, hash("t1"))
				if err != nil || got != want || seq != a.Seq {
					t.Errorf("InvitationByToken = %+v, %d, %v", got, seq, err)
				}
				if _, _, err := tx.InvitationByToken(ctx, hash("nope")); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("unknown token: %v", err)
				}
				if _, err := tx.Invitation(ctx, a.Seq, 999999); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("unknown ID: %v", err)
				}
				return nil
			})
			err := call(func(tx *store.Tx) error {
				_, err := tx.CreateInvitation(ctx, a.Seq, "ivy@x.example", roster.RoleAdmin, hash("t2"), owner, time.Hour)
				return err
			})
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("second pending invitation: %v, want ErrUnique", err)
			}
			err = call(func(tx *store.Tx) error {
				_, err := tx.CreateInvitation(ctx, a.Seq, "other@x.example", roster.RoleAdmin, hash("t1"), owner, time.Hour)
				return err
			})
			if !errors.Is(err, store.ErrUnique) {
				t.Errorf("a token used twice: %v, want ErrUnique", err)
			}
		})

		t.Run("status is derived from the plan and the clock", func(t *testing.T) {
			standard := a
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetPlan(ctx, a.Seq, roster.PlanStandard, 0, 0) })
			if got := read(t, standard, id); got.Status != roster.InvitationSuspended {
				t.Errorf("on the standard plan: %s", got.Status)
			}
			committed(t, db, a)
			c.add(73 * time.Hour)
			if got := read(t, a, id); got.Status != roster.InvitationExpired {
				t.Errorf("after expiry: %s", got.Status)
			}
			invs, _, _ := db.Invitations(ctx, a.Seq, roster.Page{Limit: 10})
			if len(invs) != 1 || invs[0].Status != roster.InvitationExpired {
				t.Errorf("Invitations after expiry: %+v", invs)
			}
			if err := call(func(tx *store.Tx) error { return tx.AcceptInvitation(ctx, id, owner) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("accepting an expired invitation: %v", err)
			}
		})

		t.Run("ExpirePending ends an expired invitation only", func(t *testing.T) {
			live := invite(t, a, "live@x.example", "live", time.Hour)
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.ExpirePending(ctx, a.Seq, "ivy@x.example"); err != nil {
					return err
				}
				return tx.ExpirePending(ctx, a.Seq, "live@x.example")
			})
			if got := read(t, a, id); got.Status != roster.InvitationRevoked {
				t.Errorf("expired invitation after ExpirePending: %s", got.Status)
			}
			if got := read(t, a, live); got.Status != roster.InvitationPending {
				t.Errorf("live invitation after ExpirePending: %s", got.Status)
			}
			// The address may be invited again; the ended one still reads by token.
			id = invite(t, a, "ivy@x.example", "t3", time.Hour)
			mustTx(t, db, func(tx *store.Tx) error {
				got, _, err := tx.InvitationByToken(ctx, hash("t1"))
				if err != nil || got.Status != roster.InvitationRevoked {
					t.Errorf("ended invitation by token: %+v %v", got, err)
				}
				return nil
			})
		})

		t.Run("Invitations lists the pending ones, newest first", func(t *testing.T) {
			invs, total, err := db.Invitations(ctx, a.Seq, roster.Page{Limit: 10})
			must(t, err)
			if total != 2 || len(invs) != 2 || invs[0].ID != id || invs[1].Email != "live@x.example" {
				t.Errorf("Invitations = %+v (total %d)", invs, total)
			}
			page, total, err := db.Invitations(ctx, a.Seq, roster.Page{Limit: 1, Offset: 1})
			if err != nil || total != 2 || len(page) != 1 || page[0].Email != "live@x.example" {
				t.Errorf("second page %+v (%d, %v)", page, total, err)
			}
			if page[0].AccountID != a.ID || page[0].AccountName != a.Name || page[0].InvitedBy != owner {
				t.Errorf("listed %+v", page[0])
			}
		})

		t.Run("SetInvitationRole changes a pending invitation", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetInvitationRole(ctx, a.Seq, id, roster.RoleFinanceAnalyst) })
			if got := read(t, a, id); got.Role != roster.RoleFinanceAnalyst {
				t.Errorf("role %v", got.Role)
			}
		})

		t.Run("ResendInvitation replaces the token and counts the send", func(t *testing.T) {
			c.add(time.Minute)
			mustTx(t, db, func(tx *store.Tx) error { return tx.ResendInvitation(ctx, a.Seq, id, hash("t4"), 2*time.Hour) })
			got := read(t, a, id)
			if got.SendCount != 2 || !got.LastSentAt.Equal(c.now) || !got.ExpiresAt.Equal(c.now.Add(2*time.Hour)) || got.CreatedAt.Equal(c.now) {
				t.Errorf("after resend %+v", got)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if _, _, err := tx.InvitationByToken(ctx, hash("t3")); !errors.Is(err, store.ErrNoRows) {
					t.Errorf("old token after resend: %v", err)
				}
				if got, _, err := tx.InvitationByToken(ctx, hash("t4")); err != nil || got.ID != id {
					t.Errorf("new token: %+v %v", got, err)
				}
				return nil
			})
		})

		t.Run("AcceptInvitation succeeds once", func(t *testing.T) {
			uid := newMember(t, db, a, "ivy@x.example", roster.RoleSupport)
			mustTx(t, db, func(tx *store.Tx) error { return tx.AcceptInvitation(ctx, id, uid) })
			if got := read(t, a, id); got.Status != roster.InvitationAccepted {
				t.Errorf("status %s", got.Status)
			}
			if err := call(func(tx *store.Tx) error { return tx.AcceptInvitation(ctx, id, uid) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("second accept: %v", err)
			}
			// An invitation that is not pending any more takes no change.
			for name, err := range map[string]error{
				"SetInvitationRole": call(func(tx *store.Tx) error { return tx.SetInvitationRole(ctx, a.Seq, id, roster.RoleAdmin) }),
				"RevokeInvitation":  call(func(tx *store.Tx) error { return tx.RevokeInvitation(ctx, a.Seq, id) }),
				"ResendInvitation":  call(func(tx *store.Tx) error { return tx.ResendInvitation(ctx, a.Seq, id, hash("t5"), time.Hour) }),
			} {
				if !errors.Is(err, store.ErrNoRows) {
					t.Errorf("%s of an accepted invitation: %v, want ErrNoRows", name, err)
				}
			}
			if got := read(t, a, id); got.Status != roster.InvitationAccepted || got.Role != roster.RoleFinanceAnalyst {
				t.Errorf("accepted invitation changed: %+v", got)
			}
		})

		t.Run("RevokeInvitation and RevokePendingFor end pending invitations", func(t *testing.T) {
			r1 := invite(t, a, "r1@x.example", "r1", time.Hour)
			r2 := invite(t, a, "r2@x.example", "r2", time.Hour)
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.RevokeInvitation(ctx, a.Seq, r1); err != nil {
					return err
				}
				if err := tx.RevokePendingFor(ctx, a.Seq, "r2@x.example"); err != nil {
					return err
				}
				return tx.RevokePendingFor(ctx, a.Seq, "nobody@x.example")
			})
			for _, id := range []int64{r1, r2} {
				if got := read(t, a, id); got.Status != roster.InvitationRevoked {
					t.Errorf("invitation %d: %s", id, got.Status)
				}
			}
			if err := call(func(tx *store.Tx) error { return tx.RevokeInvitation(ctx, a.Seq, r1) }); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("revoking twice: %v", err)
			}
		})

		// wait and send read and record invitation mails, each in a
		// transaction of its own, as the service does before a send.
		wait := func(t *testing.T, acct int64, email string, window time.Duration, limit int) time.Duration {
			t.Helper()
			var d time.Duration
			mustTx(t, db, func(tx *store.Tx) error {
				var err error
				d, err = tx.InvitationMailWait(ctx, acct, email, window, limit)
				return err
			})
			return d
		}
		send := func(t *testing.T, acct int64, email string) {
			t.Helper()
			mustTx(t, db, func(tx *store.Tx) error { return tx.RecordInvitationMail(ctx, acct, email) })
		}

		t.Run("InvitationMailWait: how long until a mail fits the budget; RecordInvitationMail counts one", func(t *testing.T) {
			if d := wait(t, a.Seq, "", time.Hour, 0); d != time.Hour {
				t.Errorf("limit 0: wait %v, want the window", d)
			}
			if d := wait(t, a.Seq, "", time.Hour, 1); d != 0 {
				t.Errorf("none sent: wait %v", d)
			}
			send(t, a.Seq, "x@x.example")
			c.add(time.Minute)
			send(t, a.Seq, "y@x.example")
			c.add(time.Minute)
			send(t, a.Seq, "x@x.example") // now: t0+2m
			for _, tc := range []struct {
				email  string
				window time.Duration
				limit  int
				want   time.Duration
			}{
				{"", time.Hour, 3, 58 * time.Minute}, // the third newest (t0) leaves the window at t0+1h
				{"", time.Hour, 4, 0},
				{"", time.Hour, 1, time.Hour}, // the newest, sent now
				{"x@x.example", time.Hour, 2, 58 * time.Minute},
				{"x@x.example", time.Hour, 3, 0},
				{"y@x.example", time.Hour, 1, 59 * time.Minute},
				{"z@x.example", time.Hour, 1, 0},
				{"", 90 * time.Second, 2, 30 * time.Second}, // t0's is out of a window of 90s
				{"", 90 * time.Second, 3, 0},
			} {
				if d := wait(t, a.Seq, tc.email, tc.window, tc.limit); d != tc.want {
					t.Errorf("InvitationMailWait(%q, %v, %d) = %v, want %v", tc.email, tc.window, tc.limit, d, tc.want)
				}
			}
			// A send leaves the window exactly window after it.
			c.add(58*time.Minute - time.Microsecond)
			if d := wait(t, a.Seq, "", time.Hour, 3); d != time.Microsecond {
				t.Errorf("a microsecond before t0's send leaves: wait %v", d)
			}
			c.add(time.Microsecond)
			if d := wait(t, a.Seq, "", time.Hour, 3); d != 0 {
				t.Errorf("as t0's send leaves: wait %v", d)
			}
		})

		t.Run("tenant: InvitationMailWait counts the account's own mails", func(t *testing.T) {
			_, b := fixture(t, db, "mail-b@x.example")
			c.add(time.Hour)
			for range 3 {
				send(t, a.Seq, "shared@x.example")
			}
			// b has sent none: it waits as an account that does not exist.
			for _, email := range []string{"", "shared@x.example"} {
				if d, m := wait(t, b.Seq, email, time.Hour, 1), wait(t, 999999, email, time.Hour, 1); d != 0 || m != 0 {
					t.Errorf("InvitationMailWait(%q) of b: %v, of no account: %v; want 0 (a's mails are a's)", email, d, m)
				}
			}
			send(t, b.Seq, "shared@x.example")
			if d := wait(t, a.Seq, "shared@x.example", time.Hour, 4); d != 0 {
				t.Errorf("a's budget of 4 with 3 sent: wait %v (b's mail counted)", d)
			}
			if d := wait(t, b.Seq, "shared@x.example", time.Hour, 2); d != 0 {
				t.Errorf("b's budget of 2 with 1 sent: wait %v (a's mails counted)", d)
			}
			if d := wait(t, b.Seq, "", time.Hour, 1); d != time.Hour {
				t.Errorf("b's budget of 1 with 1 sent: wait %v, want the window", d)
			}
		})

		t.Run("tenant", func(t *testing.T) {
			_, b := fixture(t, db, "tenant-b@x.example")
			committed(t, db, b)
			c.add(time.Minute)
			ta := invite(t, a, "shared@x.example", "ta", time.Hour)
			expired := invite(t, a, "old@x.example", "old", time.Minute)
			c.add(2 * time.Minute)
			const missing = 999999
			sameAsMissing(t, "Invitation",
				call(func(tx *store.Tx) error { _, err := tx.Invitation(ctx, b.Seq, ta); return err }),
				call(func(tx *store.Tx) error { _, err := tx.Invitation(ctx, b.Seq, missing); return err }), store.ErrNoRows)
			sameAsMissing(t, "SetInvitationRole",
				call(func(tx *store.Tx) error { return tx.SetInvitationRole(ctx, b.Seq, ta, roster.RoleAdmin) }),
				call(func(tx *store.Tx) error { return tx.SetInvitationRole(ctx, b.Seq, missing, roster.RoleAdmin) }), store.ErrNoRows)
			sameAsMissing(t, "RevokeInvitation",
				call(func(tx *store.Tx) error { return tx.RevokeInvitation(ctx, b.Seq, ta) }),
				call(func(tx *store.Tx) error { return tx.RevokeInvitation(ctx, b.Seq, missing) }), store.ErrNoRows)
			sameAsMissing(t, "ResendInvitation",
				call(func(tx *store.Tx) error { return tx.ResendInvitation(ctx, b.Seq, ta, hash("tb"), time.Hour) }),
				call(func(tx *store.Tx) error { return tx.ResendInvitation(ctx, b.Seq, missing, hash("tc"), time.Hour) }), store.ErrNoRows)
			// The by-address writes of b leave a's invitations to that address.
			sameAsMissing(t, "RevokePendingFor",
				call(func(tx *store.Tx) error { return tx.RevokePendingFor(ctx, b.Seq, "shared@x.example") }),
				call(func(tx *store.Tx) error { return tx.RevokePendingFor(ctx, b.Seq, "nobody@x.example") }), nil)
			sameAsMissing(t, "ExpirePending",
				call(func(tx *store.Tx) error { return tx.ExpirePending(ctx, b.Seq, "old@x.example") }),
				call(func(tx *store.Tx) error { return tx.ExpirePending(ctx, b.Seq, "nobody@x.example") }), nil)
			if got := read(t, a, ta); got.Status != roster.InvitationPending || got.Role != roster.RoleSupport || got.SendCount != 1 {
				t.Errorf("a's invitation after b's writes: %+v", got)
			}
			if got := read(t, a, expired); got.Status != roster.InvitationExpired {
				t.Errorf("a's expired invitation ended by b: %s", got.Status)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				if got, _, err := tx.InvitationByToken(ctx, hash("ta")); err != nil || got.ID != ta {
					t.Errorf("a's token after b's resend: %+v %v", got, err)
				}
				return nil
			})
			invs, total, err := db.Invitations(ctx, b.Seq, roster.Page{Limit: 100})
			if err != nil || total != 0 || len(invs) != 0 {
				t.Errorf("b lists %d invitations (%v): %+v", total, err, invs)
			}
			// b may invite the same address: one pending per account.
			tb := invite(t, b, "shared@x.example", "tb2", time.Hour)
			if got := read(t, b, tb); got.AccountID != b.ID {
				t.Errorf("b's invitation %+v", got)
			}
		})
	})
}
