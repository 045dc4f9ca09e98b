package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- requiring single sign-on (issue 22): what the check index, the
// gate's session read and the owner's password path need.

func TestConformance_SSORequire(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()

		owner, a := fixture(t, db, "owner@req.example")
		bound := newMember(t, db, a, "dev@req.example", roster.RoleDeveloper)
		sub := newMember(t, db, a, "dev@sub.req.example", roster.RoleDeveloper) // a subdomain is not the domain
		other := newMember(t, db, a, "contractor@elsewhere.example", roster.RoleAdmin)
		var domainID, connID int64
		mustTx(t, db, func(tx *store.Tx) error {
			d, err := tx.CreateDomain(ctx, a.Seq, "req.example", "tok")
			if err != nil {
				return err
			}
			domainID = d.ID
			c, err := tx.CreateSSOConnection(ctx, roster.SSOConnection{AccountSeq: a.Seq, Type: roster.SSOOIDC, Name: "Okta", Enabled: true, CountsAsMFA: true})
			connID = c.ID
			return err
		})
		rowsOf := func() map[int64]store.IndexRow {
			t.Helper()
			out := map[int64]store.IndexRow{}
			must(t, db.AccountIndexRows(ctx, a.Seq, func(r store.IndexRow) { out[r.UserID] = r }))
			return out
		}
		onDomain := func() []int64 {
			t.Helper()
			var out []int64
			for uid, r := range rowsOf() {
				if r.OnDomain {
					out = append(out, uid)
				}
			}
			slices.Sort(out)
			return out
		}

		t.Run("OnDomain only while the account requires single sign-on and the domain is verified", func(t *testing.T) {
			if got := onDomain(); len(got) != 0 {
				t.Errorf("before anything: %v on the domain", got)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetRequireSSO(ctx, a.Seq, true) })
			if got := onDomain(); len(got) != 0 {
				t.Errorf("pending domain: %v on it", got)
			}
			rev, _ := db.LatestRevision(ctx)
			mustTx(t, db, func(tx *store.Tx) error { return tx.MarkDomainVerified(ctx, a.Seq, domainID) })
			if got := onDomain(); !slices.Equal(got, []int64{owner, bound}) {
				t.Errorf("verified: %v on it, want %v", got, []int64{owner, bound})
			}
			if cs, _ := db.ChangesSince(ctx, rev, 10); len(cs) != 1 || cs[0].AccountSeq != a.Seq || cs[0].UserID != 0 {
				t.Errorf("MarkDomainVerified recorded %+v, want one change of the account", cs)
			}
			if f, err := db.AccountPlan(ctx, a.Seq); err != nil || !f.RequireSSO {
				t.Errorf("AccountPlan = %+v, %v", f, err)
			}
			r, err := db.MemberIndexRow(ctx, a.Seq, bound)
			if err != nil || !r.OnDomain || r.SSOSeen || r.Role != roster.RoleDeveloper {
				t.Errorf("MemberIndexRow(bound) = %+v, %v", r, err)
			}
			if r, _ := db.MemberIndexRow(ctx, a.Seq, sub); r.OnDomain {
				t.Errorf("a subdomain's address is on the domain: %+v", r)
			}
			if r, _ := db.MemberIndexRow(ctx, a.Seq, other); r.OnDomain {
				t.Errorf("a contractor is on the domain: %+v", r)
			}
			_, b := fixture(t, db, "b@other-req.example")
			if _, err := db.MemberIndexRow(ctx, b.Seq, bound); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("another account's member: %v", err)
			}
			var all []store.IndexRow
			must(t, db.LoadIndex(ctx, func(int64, store.AccountFlags) {}, func(r store.IndexRow) {
				if r.AccountSeq == a.Seq {
					all = append(all, r)
				}
			}))
			for _, r := range all {
				if r.OnDomain != (r.UserID == owner || r.UserID == bound) {
					t.Errorf("LoadIndex: %+v", r)
				}
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetRequireSSO(ctx, a.Seq, false) })
			if got := onDomain(); len(got) != 0 {
				t.Errorf("requirement off: %v on the domain", got)
			}
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetRequireSSO(ctx, a.Seq, true) })
			rev, _ = db.LatestRevision(ctx)
			mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteDomain(ctx, a.Seq, domainID) })
			if got := onDomain(); len(got) != 0 {
				t.Errorf("domain deleted: %v on it", got)
			}
			if cs, _ := db.ChangesSince(ctx, rev, 10); len(cs) != 1 || cs[0].UserID != 0 {
				t.Errorf("DeleteDomain recorded %+v, want one change of the account", cs)
			}
		})

		t.Run("MarkMemberSSO records a change the first time only, and member rows show it", func(t *testing.T) {
			rev, _ := db.LatestRevision(ctx)
			mustTx(t, db, func(tx *store.Tx) error { return tx.MarkMemberSSO(ctx, a.Seq, bound) })
			mustTx(t, db, func(tx *store.Tx) error { return tx.MarkMemberSSO(ctx, a.Seq, bound) })
			if cs, _ := db.ChangesSince(ctx, rev, 10); len(cs) != 1 || cs[0].UserID != bound {
				t.Errorf("changes = %+v, want one of the member", cs)
			}
			if r, _ := db.MemberIndexRow(ctx, a.Seq, bound); !r.SSOSeen {
				t.Errorf("MemberIndexRow after sign-in: %+v", r)
			}
			m, err := db.Member(ctx, a, bound)
			if err != nil || !m.SSO {
				t.Errorf("Member = %+v, %v", m, err)
			}
			if m, _ := db.Member(ctx, a, other); m.SSO {
				t.Errorf("a member who never came through it: %+v", m)
			}
		})

		t.Run("LiveSession says which account's single sign-on a session came through", func(t *testing.T) {
			hash := func(s string) []byte { return []byte("hash of session " + s) }
			mustTx(t, db, func(tx *store.Tx) error {
				if err := tx.CreateSession(ctx, bound, hash("pw"), time.Hour, "", ""); err != nil {
					return err
				}
				return tx.CreateSSOSession(ctx, bound, hash("sso"), time.Hour, "", "", connID)
			})
			pw, err := db.LiveSession(ctx, hash("pw"), time.Hour)
			if err != nil || pw.User.ID != bound || pw.SSOAccount != 0 || pw.SSOMFA || pw.ID == 0 {
				t.Errorf("password session = %+v, %v", pw, err)
			}
			sso, err := db.LiveSession(ctx, hash("sso"), time.Hour)
			if err != nil || sso.User.ID != bound || sso.SSOAccount != a.Seq || !sso.SSOMFA {
				t.Errorf("SSO session = %+v, %v", sso, err)
			}
			// A disabled connection's session counts as no single sign-on.
			mustTx(t, db, func(tx *store.Tx) error {
				c, err := tx.SSOConnection(ctx, a.Seq, connID)
				if err != nil {
					return err
				}
				c.Enabled = false
				return tx.UpdateSSOConnection(ctx, c)
			})
			if s, err := db.LiveSession(ctx, hash("sso"), time.Hour); err != nil || s.SSOAccount != 0 {
				t.Errorf("disabled connection's session = %+v, %v", s, err)
			}
			if _, err := db.LiveSession(ctx, hash("none"), time.Hour); !errors.Is(err, store.ErrNoRows) {
				t.Errorf("no session: %v", err)
			}

			t.Run("RecordSSOBypass is true once per session and account", func(t *testing.T) {
				if seen, err := db.SSOBypassRecorded(ctx, pw.ID, a.Seq); err != nil || seen {
					t.Errorf("before: %v, %v", seen, err)
				}
				var first, second bool
				mustTx(t, db, func(tx *store.Tx) (err error) { first, err = tx.RecordSSOBypass(ctx, pw.ID, a.Seq); return })
				mustTx(t, db, func(tx *store.Tx) (err error) { second, err = tx.RecordSSOBypass(ctx, pw.ID, a.Seq); return })
				if !first || second {
					t.Errorf("RecordSSOBypass = %v then %v, want true then false", first, second)
				}
				if seen, err := db.SSOBypassRecorded(ctx, pw.ID, a.Seq); err != nil || !seen {
					t.Errorf("after: %v, %v", seen, err)
				}
			})
		})

		t.Run("QueueMailToMembers with the owner and admin roles mails them alone", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error {
				return tx.QueueMailToMembers(ctx, a.Seq, []roster.Role{roster.RoleOwner, roster.RoleAdmin}, "To the admins", "B")
			})
			var got []string
			rows, err := db.SQL().QueryContext(ctx, `SELECT to_addr FROM outbox WHERE subject = 'To the admins'`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var to string
				if err := rows.Scan(&to); err != nil {
					t.Fatal(err)
				}
				got = append(got, to)
			}
			slices.Sort(got)
			if want := []string{"contractor@elsewhere.example", "owner@req.example"}; rows.Err() != nil || !slices.Equal(got, want) {
				t.Errorf("mailed %v (%v); want %v", got, rows.Err(), want)
			}
		})
	})
}
