package store_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/store"
)

// --- teamlist.go

// listPage is one page of either list, as the walk reads it.
type listPage struct {
	ids               []int64
	total, all, start int
	next, prev        string
}

// walkList pages a list forwards by Next from the first page, then back
// by Prev from the last, and checks that each way sees want exactly once
// and in order, with each page's Start and Total right.
func walkList(t *testing.T, want []int64, all int, fetch func(after, before string) (listPage, error)) {
	t.Helper()
	var got []int64
	var pages []listPage
	p, err := fetch("", "")
	for n := 0; ; n++ {
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if p.total != len(want) || p.all != all {
			t.Fatalf("page %d: total %d, all %d; want %d, %d", n, p.total, p.all, len(want), all)
		}
		if len(p.ids) > 0 && p.start != len(got)+1 || len(p.ids) == 0 && p.start != 0 {
			t.Fatalf("page %d: start %d after %d rows", n, p.start, len(got))
		}
		if (n == 0) != (p.prev == "") {
			t.Fatalf("page %d: prev %q", n, p.prev)
		}
		got = append(got, p.ids...)
		pages = append(pages, p)
		if p.next == "" || n > len(want) {
			break
		}
		p, err = fetch(p.next, "")
	}
	if !slices.Equal(got, want) {
		t.Fatalf("forwards:\n got %v\nwant %v", got, want)
	}
	// Backwards from the last page, by Prev: the same pages in reverse.
	var back []int64
	p = pages[len(pages)-1]
	back = append(slices.Clone(p.ids), back...)
	for n := len(pages) - 2; p.prev != ""; n-- {
		if n < 0 {
			t.Fatal("backwards: more pages than forwards")
		}
		p, err = fetch("", p.prev)
		if err != nil {
			t.Fatalf("backwards: %v", err)
		}
		if !slices.Equal(p.ids, pages[n].ids) || p.start != pages[n].start || p.next == "" {
			t.Fatalf("backwards page %d: %v start %d next %q; forwards it was %v start %d", n, p.ids, p.start, p.next, pages[n].ids, pages[n].start)
		}
		back = append(slices.Clone(p.ids), back...)
	}
	if !slices.Equal(back, want) {
		t.Fatalf("backwards:\n got %v\nwant %v", back, want)
	}
	// The last page (Before LastPage): the last rows, as many as a page
	// holds, with its position; then back by Prev to the first.
	limit := max(len(pages[0].ids), 1)
	wantLast := want[max(0, len(want)-limit):]
	p, err = fetch("", roster.LastPage)
	if err != nil {
		t.Fatalf("last page: %v", err)
	}
	wantStart := len(want) - len(wantLast) + 1
	if len(want) == 0 {
		wantStart = 0
	}
	if !slices.Equal(p.ids, wantLast) || p.start != wantStart || p.next != "" || p.total != len(want) || (p.prev == "") != (len(wantLast) == len(want)) {
		t.Fatalf("last page: %v start %d total %d next %q prev %q; want %v from %d of %d", p.ids, p.start, p.total, p.next, p.prev, wantLast, wantStart, len(want))
	}
	back = slices.Clone(p.ids)
	for p.prev != "" {
		start := p.start
		if p, err = fetch("", p.prev); err != nil {
			t.Fatalf("back from the last page: %v", err)
		}
		if p.start != start-len(p.ids) || p.next == "" {
			t.Fatalf("back from the last page: start %d (the page after started at %d, %d rows) next %q", p.start, start, len(p.ids), p.next)
		}
		back = append(slices.Clone(p.ids), back...)
	}
	if !slices.Equal(back, want) {
		t.Fatalf("back from the last page:\n got %v\nwant %v", back, want)
	}
}

func TestConformance_MemberList(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		_, a := fixture(t, db, "owner@list.example")
		a = committed(t, db, a)
		_, other := fixture(t, db, "owner@other.example")
		other = committed(t, db, other)

		// 30 members: names in two scripts and cases, every role but the
		// owner's, some with two-factor, several joining at one time (so
		// the tiebreak decides).
		names := []string{"Émile Zola", "ÉLODIE Blanc", "anna", "Anna", "Zed", "bob", "Carol", "dave", "Eve", "frank"}
		roles := []roster.Role{roster.RoleAdmin, roster.RoleDeveloper, roster.RoleFinanceAnalyst, roster.RoleSupport}
		for i := range 30 {
			if i%4 == 0 {
				c.add(time.Second)
			}
			mustTx(t, db, func(tx *store.Tx) error {
				uid, err := tx.CreateUser(ctx, fmt.Sprintf("m%02d@list.example", i), names[i%len(names)], "h", true)
				if err != nil {
					return err
				}
				if i%3 == 0 {
					if err := tx.SetTOTPSecret(ctx, uid, "JBSWY3DPEHPK3PXP"); err != nil {
						return err
					}
					if err := tx.ConfirmTOTP(ctx, uid); err != nil {
						return err
					}
				}
				return tx.AddMember(ctx, a.Seq, uid, roles[i%len(roles)])
			})
		}
		// Another account's members match every search; none may appear.
		for i := range 5 {
			newMember(t, db, other, fmt.Sprintf("zola%d@list.example", i), roster.RoleSupport)
		}

		// The reference: every member, then filtered and sorted in Go.
		everyone, _, _, err := db.Members(ctx, a, roster.Page{Limit: 100})
		must(t, err)
		if len(everyone) != 31 {
			t.Fatalf("%d members", len(everyone))
		}
		rank := func(m roster.Member) int {
			if m.Role == roster.RoleOwner {
				return 0
			}
			return 1
		}
		orders := map[string]func(x, y roster.Member) int{
			"": func(x, y roster.Member) int {
				return cmp.Or(cmp.Compare(rank(x), rank(y)), x.JoinedAt.Compare(y.JoinedAt), cmp.Compare(x.UserID, y.UserID))
			},
			"joined": func(x, y roster.Member) int {
				return cmp.Or(x.JoinedAt.Compare(y.JoinedAt), cmp.Compare(x.UserID, y.UserID))
			},
			"name": func(x, y roster.Member) int {
				return cmp.Or(strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), cmp.Compare(x.UserID, y.UserID))
			},
			"role": func(x, y roster.Member) int {
				return cmp.Or(cmp.Compare(x.Role, y.Role), strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)), cmp.Compare(x.UserID, y.UserID))
			},
		}
		expect := func(q roster.MemberQuery, keep func(roster.Member) bool) []int64 {
			ms := slices.Clone(everyone)
			ms = slices.DeleteFunc(ms, func(m roster.Member) bool { return !keep(m) })
			slices.SortFunc(ms, func(x, y roster.Member) int {
				if q.Desc {
					return orders[q.Sort](y, x)
				}
				return orders[q.Sort](x, y)
			})
			var ids []int64
			for _, m := range ms {
				ids = append(ids, m.UserID)
			}
			return ids
		}
		walk := func(t *testing.T, q roster.MemberQuery, keep func(roster.Member) bool) {
			t.Helper()
			want := expect(q, keep)
			walkList(t, want, 31, func(after, before string) (listPage, error) {
				q := q
				q.After, q.Before = after, before
				l, err := db.MemberList(ctx, a, q)
				var ids []int64
				for _, m := range l.Members {
					if m.AccountID != a.ID {
						t.Errorf("another account's member %+v", m)
					}
					ids = append(ids, m.UserID)
				}
				return listPage{ids, l.Total, l.All, l.Start, l.Next, l.Prev}, err
			})
		}
		all := func(roster.Member) bool { return true }

		t.Run("every sort, both ways, pages forwards and back", func(t *testing.T) {
			for _, s := range []string{"", "joined", "name", "role"} {
				for _, desc := range []bool{false, true} {
					for _, limit := range []int{1, 7, 31, 50} {
						t.Run(fmt.Sprintf("%q desc=%v limit=%d", s, desc, limit), func(t *testing.T) {
							walk(t, roster.MemberQuery{Sort: s, Desc: desc, Limit: limit}, all)
						})
					}
				}
			}
			// The first page's members are the whole rows, the owner first.
			l, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 2})
			must(t, err)
			if want := everyone[:2]; !slices.Equal(l.Members, want) {
				t.Errorf("first page %+v\nwant %+v", l.Members, want)
			}
		})

		t.Run("search finds a part of the name or address in any case and script", func(t *testing.T) {
			for _, s := range []string{"zola", "ÉMILE", "émile", "élodie", "ANNA", "m2", "LIST.EXAMPLE", "M07@", "nobody", "%", "_", `\`} {
				s := s
				t.Run(s, func(t *testing.T) {
					walk(t, roster.MemberQuery{Search: s, Sort: "name", Limit: 4}, func(m roster.Member) bool {
						return strings.Contains(strings.ToLower(m.Name), strings.ToLower(s)) || strings.Contains(m.Email, strings.ToLower(s))
					})
				})
			}
			if l, _ := db.MemberList(ctx, a, roster.MemberQuery{Search: "zola", Limit: 50}); l.Total != 3 {
				t.Errorf("zola: %d, want the 3 of this account", l.Total)
			}
		})

		t.Run("filters by role, status and two-factor", func(t *testing.T) {
			for _, r := range roster.Roles {
				walk(t, roster.MemberQuery{Role: r, Sort: "joined", Desc: true, Limit: 3}, func(m roster.Member) bool { return m.Role == r })
			}
			walk(t, roster.MemberQuery{MFA: "on", Limit: 4}, func(m roster.Member) bool { return m.MFA })
			walk(t, roster.MemberQuery{MFA: "off", Limit: 4}, func(m roster.Member) bool { return !m.MFA })
			walk(t, roster.MemberQuery{Status: roster.MemberActive, Limit: 9}, all)
			walk(t, roster.MemberQuery{Status: roster.MemberSuspended, Limit: 9}, func(roster.Member) bool { return false })
			walk(t, roster.MemberQuery{Search: "a", Role: roster.RoleSupport, MFA: "off", Sort: "name", Limit: 2}, func(m roster.Member) bool {
				return (strings.Contains(strings.ToLower(m.Name), "a") || strings.Contains(m.Email, "a")) && m.Role == roster.RoleSupport && !m.MFA
			})
			// On the standard plan everyone but the owner is suspended.
			std := a
			std.Plan = roster.PlanStandard
			for _, st := range []roster.MemberStatus{roster.MemberActive, roster.MemberSuspended} {
				l, err := db.MemberList(ctx, std, roster.MemberQuery{Status: st, Limit: 50})
				must(t, err)
				for _, m := range l.Members {
					if m.Status != st {
						t.Errorf("%s filter gave %+v", st, m)
					}
				}
				if want := map[roster.MemberStatus]int{roster.MemberActive: 1, roster.MemberSuspended: 30}[st]; l.Total != want || l.All != 31 {
					t.Errorf("%s: total %d all %d, want %d of 31", st, l.Total, l.All, want)
				}
			}
		})

		t.Run("a cursor of another list, sort or order, or none at all, is refused", func(t *testing.T) {
			byName, err := db.MemberList(ctx, a, roster.MemberQuery{Sort: "name", Limit: 5})
			must(t, err)
			bad := []roster.MemberQuery{
				{After: "garbage!"},
				{After: base64.RawURLEncoding.EncodeToString([]byte("{}"))},
				{After: base64.RawURLEncoding.EncodeToString([]byte(`{"l":"members","s":"name","k":[1,2]}`)), Sort: "name"},
				{After: base64.RawURLEncoding.EncodeToString([]byte(`{"l":"members","s":"name","k":["a"]}`)), Sort: "name"},
				{After: base64.RawURLEncoding.EncodeToString([]byte(`{"l":"members","s":"name","k":["a",1.5]}`)), Sort: "name"},
				{After: byName.Next},                           // made for the name sort
				{After: byName.Next, Sort: "name", Desc: true}, // made ascending
				{Before: byName.Next, Sort: "role"},            // another sort
				{After: byName.Next, Before: byName.Next, Sort: "name"},
			}
			for _, q := range bad {
				q.Limit = 5
				if _, err := db.MemberList(ctx, a, q); !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("%+v: %v, want ErrBadCursor", q, err)
				}
			}
			// The cursor of the list before issue 21 still pages on.
			_, _, old, err := db.Members(ctx, a, roster.Page{Limit: 3})
			must(t, err)
			l, err := db.MemberList(ctx, a, roster.MemberQuery{After: old, Limit: 3})
			if err != nil || l.Start != 4 || l.Members[0].UserID != everyone[3].UserID {
				t.Errorf("an old cursor: %+v, %v", l, err)
			}
			// Another account's cursor only positions: its rows never appear.
			o, err := db.MemberList(ctx, other, roster.MemberQuery{Sort: "name", Limit: 2})
			must(t, err)
			l, err = db.MemberList(ctx, a, roster.MemberQuery{Sort: "name", Limit: 50, After: o.Next})
			must(t, err)
			for _, m := range l.Members {
				if m.AccountID != a.ID {
					t.Errorf("another account's member: %+v", m)
				}
			}
		})
	})
}

func TestConformance_InvitationList(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := setClock(db, time.Now().UTC().Truncate(time.Microsecond))
		inviter, a := fixture(t, db, "owner@inv.example")
		a = committed(t, db, a)
		_, other := fixture(t, db, "owner@other-inv.example")
		roles := []roster.Role{roster.RoleAdmin, roster.RoleDeveloper, roster.RoleFinanceAnalyst, roster.RoleSupport}
		var revoked int64
		for i := range 24 {
			if i%3 == 0 {
				c.add(time.Second)
			}
			ttl := time.Hour + time.Duration(i%5)*time.Minute
			if i%4 == 0 {
				ttl = 2 * time.Second // expired by the time the list is read
			}
			mustTx(t, db, func(tx *store.Tx) error {
				id, err := tx.CreateInvitation(ctx, a.Seq, fmt.Sprintf("%c%02d@inv.example", 'z'-rune(i%7), i), roles[i%4], hash(fmt.Sprint("inv", i)), inviter, ttl)
				if i == 5 {
					revoked = id
				}
				return err
			})
		}
		mustTx(t, db, func(tx *store.Tx) error {
			if err := tx.RevokeInvitation(ctx, a.Seq, revoked); err != nil {
				return err
			}
			_, err := tx.CreateInvitation(ctx, other.Seq, "z00@inv.example", roster.RoleSupport, hash("other"), inviter, time.Hour)
			return err
		})
		c.add(time.Minute)

		everyone, _, err := db.Invitations(ctx, a.Seq, roster.Page{Limit: 100})
		must(t, err)
		if len(everyone) != 23 {
			t.Fatalf("%d invitations", len(everyone))
		}
		orders := map[string]func(x, y roster.Invitation) int{
			"": func(x, y roster.Invitation) int { return cmp.Compare(y.ID, x.ID) },
			"email": func(x, y roster.Invitation) int {
				return cmp.Or(strings.Compare(x.Email, y.Email), cmp.Compare(x.ID, y.ID))
			},
			"role": func(x, y roster.Invitation) int {
				return cmp.Or(cmp.Compare(x.Role, y.Role), strings.Compare(x.Email, y.Email), cmp.Compare(x.ID, y.ID))
			},
			"sent": func(x, y roster.Invitation) int {
				return cmp.Or(x.LastSentAt.Compare(y.LastSentAt), cmp.Compare(x.ID, y.ID))
			},
			"expires": func(x, y roster.Invitation) int {
				return cmp.Or(x.ExpiresAt.Compare(y.ExpiresAt), cmp.Compare(x.ID, y.ID))
			},
		}
		walk := func(t *testing.T, list roster.Account, q roster.InvitationQuery, keep func(roster.Invitation) bool) {
			t.Helper()
			is := slices.DeleteFunc(slices.Clone(everyone), func(i roster.Invitation) bool { return !keep(i) })
			slices.SortFunc(is, func(x, y roster.Invitation) int {
				if q.Desc {
					return orders[q.Sort](y, x)
				}
				return orders[q.Sort](x, y)
			})
			var want []int64
			for _, i := range is {
				want = append(want, i.ID)
			}
			walkList(t, want, 23, func(after, before string) (listPage, error) {
				q := q
				q.After, q.Before = after, before
				l, err := db.InvitationList(ctx, list, q)
				var ids []int64
				for _, i := range l.Invitations {
					if i.AccountID != a.ID {
						t.Errorf("another account's invitation %+v", i)
					}
					if keep(i) != true {
						t.Errorf("an invitation the filter leaves out: %+v", i)
					}
					ids = append(ids, i.ID)
				}
				return listPage{ids, l.Total, l.All, l.Start, l.Next, l.Prev}, err
			})
		}
		all := func(roster.Invitation) bool { return true }
		for _, s := range []string{"", "email", "role", "sent", "expires"} {
			for _, desc := range []bool{false, true} {
				t.Run(fmt.Sprintf("sort %q desc=%v", s, desc), func(t *testing.T) {
					walk(t, a, roster.InvitationQuery{Sort: s, Desc: desc, Limit: 5}, all)
				})
			}
		}
		t.Run("search, role and status", func(t *testing.T) {
			for _, s := range []string{"Z0", "y", "@INV", "nobody", "%"} {
				walk(t, a, roster.InvitationQuery{Search: s, Sort: "email", Limit: 3}, func(i roster.Invitation) bool {
					return strings.Contains(i.Email, strings.ToLower(s))
				})
			}
			for _, r := range roster.Roles {
				walk(t, a, roster.InvitationQuery{Role: r, Limit: 2}, func(i roster.Invitation) bool { return i.Role == r })
			}
			for _, st := range []roster.InvitationStatus{roster.InvitationPending, roster.InvitationExpired, roster.InvitationSuspended} {
				walk(t, a, roster.InvitationQuery{Status: st, Sort: "expires", Limit: 4}, func(i roster.Invitation) bool { return i.Status == st })
			}
			if l, _ := db.InvitationList(ctx, a, roster.InvitationQuery{Status: roster.InvitationExpired, Limit: 50}); l.Total != 6 {
				t.Errorf("%d expired, want 6", l.Total)
			}
		})
		t.Run("bad cursors", func(t *testing.T) {
			newMember(t, db, a, "member@inv.example", roster.RoleSupport)
			m, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 1})
			must(t, err)
			if m.Next == "" {
				t.Fatal("no member cursor")
			}
			e, err := db.InvitationList(ctx, a, roster.InvitationQuery{Sort: "email", Limit: 2})
			must(t, err)
			for _, q := range []roster.InvitationQuery{
				{After: m.Next}, {Before: "%%%"}, {After: e.Next}, {After: e.Next, Sort: "email", Desc: true},
			} {
				q.Limit = 5
				if _, err := db.InvitationList(ctx, a, q); !errors.Is(err, store.ErrBadCursor) {
					t.Errorf("%+v: %v, want ErrBadCursor", q, err)
				}
			}
		})
		t.Run("on the standard plan the unexpired are suspended", func(t *testing.T) {
			mustTx(t, db, func(tx *store.Tx) error { return tx.SetPlan(ctx, a.Seq, roster.PlanStandard, 0, 0) })
			for st, want := range map[roster.InvitationStatus]int{roster.InvitationPending: 0, roster.InvitationSuspended: 17, roster.InvitationExpired: 6} {
				l, err := db.InvitationList(ctx, a, roster.InvitationQuery{Status: st, Limit: 50})
				must(t, err)
				if l.Total != want || len(l.Invitations) != want || l.All != 23 {
					t.Errorf("%s: total %d rows %d all %d, want %d of 23", st, l.Total, len(l.Invitations), l.All, want)
				}
				for _, i := range l.Invitations {
					if i.Status != st {
						t.Errorf("%s filter gave %+v", st, i)
					}
				}
			}
		})
	})
}

// TestConformance_MemberListKeysAndCounts: the name sort and the search
// read keys copied onto the membership (migration 00027, issue 26), which
// follow a member added and a name changed; the counts follow a role
// changed, a member removed, a user deleted (the membership cascades); a
// caller's counts (MemberListCounted) replace the database's, except a
// search's.
func TestConformance_MemberListKeysAndCounts(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@keys.example") // named "N"
		a = committed(t, db, a)
		_, other := fixture(t, db, "owner@other-keys.example")
		zoe := newMember(t, db, a, "zoe@keys.example", roster.RoleDeveloper)
		newMember(t, db, a, "bo@keys.example", roster.RoleDeveloper)
		emile := newMember(t, db, a, "emile@keys.example", roster.RoleSupport)
		newMember(t, db, other, "zoe@other-keys.example", roster.RoleDeveloper)
		exec := func(q string) {
			t.Helper()
			if _, err := db.SQL().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		// Every count the list reads equals a count of the rows.
		counts := func(want int) {
			t.Helper()
			for _, role := range append([]roster.Role{roster.RoleNone}, roster.Roles...) {
				l, err := db.MemberList(ctx, a, roster.MemberQuery{Role: role, Limit: 1})
				must(t, err)
				q := fmt.Sprintf(`SELECT COUNT(*) FROM members WHERE account_id = %d`, a.Seq)
				if role != roster.RoleNone {
					q += fmt.Sprintf(` AND role = %d`, role)
				}
				var n int
				must(t, db.SQL().QueryRowContext(ctx, q).Scan(&n))
				if l.Total != n || l.All != want {
					t.Errorf("role %v: total %d, all %d; the rows say %d of %d", role, l.Total, l.All, n, want)
				}
			}
		}
		names := func(q roster.MemberQuery) []string {
			t.Helper()
			q.Limit = 50
			l, err := db.MemberList(ctx, a, q)
			must(t, err)
			var out []string
			for _, m := range l.Members {
				out = append(out, m.Name)
			}
			if l.Total != len(out) {
				t.Errorf("%+v: total %d for %d rows", q, l.Total, len(out))
			}
			return out
		}
		counts(4)
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetUserProfile(ctx, zoe, "h", "Ängela") })
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetUserProfile(ctx, emile, "h", "aaron") })
		if got, want := names(roster.MemberQuery{Sort: "name"}), []string{"aaron", "N", "Name bo@keys.example", "Ängela"}; !slices.Equal(got, want) {
			t.Errorf("name sort after renames: %q, want %q", got, want)
		}
		if got, want := names(roster.MemberQuery{Sort: "role"}), []string{"N", "Name bo@keys.example", "Ängela", "aaron"}; !slices.Equal(got, want) {
			t.Errorf("role sort after renames: %q, want %q", got, want)
		}
		for search, want := range map[string][]string{
			"ÄNG":                  {"Ängela"},
			"zoe@":                 {"Ängela"}, // the address stays
			"Name zoe":             nil,        // the old name is gone
			"AAR":                  {"aaron"},
			"n\x1femile":           nil, // no search spans the name and the address
			"keys.example":         {"aaron", "N", "Name bo@keys.example", "Ängela"},
			"other-keys":           nil,
			"example\x1f":          nil,
			"bo@keys.example\x1fx": nil,
			"name bo@keys.example": {"Name bo@keys.example"},
		} {
			if got := names(roster.MemberQuery{Search: search, Sort: "name"}); !slices.Equal(got, want) {
				t.Errorf("search %q: %q, want %q", search, got, want)
			}
		}
		mustTx(t, db, func(tx *store.Tx) error { return tx.SetMemberRole(ctx, a.Seq, zoe, roster.RoleAdmin) })
		counts(4)
		mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteMember(ctx, a.Seq, zoe) })
		counts(3)
		exec(fmt.Sprintf(`DELETE FROM users WHERE id = %d`, emile)) // the membership cascades
		counts(2)
		newMember(t, db, a, "late@keys.example", roster.RoleFinanceAnalyst)
		counts(3)
		// Keys written in SQL of a loader's own are refreshed from users.
		exec(fmt.Sprintf(`UPDATE members SET name_key = '', search_key = '' WHERE account_id = %d`, a.Seq))
		must(t, db.RefreshMemberKeys(ctx, a.Seq))
		if got, want := names(roster.MemberQuery{Search: "LATE@", Sort: "name"}), []string{"Name late@keys.example"}; !slices.Equal(got, want) {
			t.Errorf("after RefreshMemberKeys: %q, want %q", got, want)
		}
		// Counts given by the caller (the check index's) are the page's.
		given := [8]int{1: 1, 2: 7, 4: 2}
		l, err := db.MemberListCounted(ctx, a, roster.MemberQuery{Limit: 1}, given)
		must(t, err)
		if l.Total != 10 || l.All != 10 {
			t.Errorf("counted: total %d all %d, want the given 10", l.Total, l.All)
		}
		l, err = db.MemberListCounted(ctx, a, roster.MemberQuery{Limit: 1, Role: roster.RoleAdmin}, given)
		must(t, err)
		if l.Total != 7 || l.All != 10 {
			t.Errorf("counted, admins: total %d all %d, want 7 and 10", l.Total, l.All)
		}
		l, err = db.MemberListCounted(ctx, a, roster.MemberQuery{Limit: 1, Search: "keys.example"}, given)
		must(t, err)
		if l.Total != 3 || l.All != 10 {
			t.Errorf("counted, a search: total %d all %d, want 3 (counted) and 10", l.Total, l.All)
		}
		// Not counted by the caller: a first page that holds every match
		// gives the count (one read), a full one counts them.
		for _, limit := range []int{50, 3, 2, 1} {
			l, err = db.MemberList(ctx, a, roster.MemberQuery{Limit: limit, Search: "keys.example"})
			must(t, err)
			if l.Total != 3 || len(l.Members) != min(limit, 3) || (l.Next != "") != (limit < 3) {
				t.Errorf("a search, %d a page: total %d, %d rows, next %q; want 3, %d", limit, l.Total, len(l.Members), l.Next, min(limit, 3))
			}
		}
	})
}

// TestConformance_MemberListPositionInCursor: a page reached by a cursor
// starts where the cursor's page said (issue 26: no count of the rows
// before it), and an older cursor without a position still gets one
// counted.
func TestConformance_MemberListPositionInCursor(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		_, a := fixture(t, db, "owner@pos.example")
		var ids []int64
		for i := range 7 {
			ids = append(ids, newMember(t, db, a, fmt.Sprintf("m%d@pos.example", i), roster.RoleSupport))
		}
		first, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3})
		must(t, err)
		second, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3, After: first.Next})
		must(t, err)
		if second.Start != 4 {
			t.Fatalf("second page starts at %d", second.Start)
		}
		// A member joins before the second page (owner first, then by
		// join time: none can; the next one is removed instead): the
		// cursor's position holds until the list is read from its start.
		mustTx(t, db, func(tx *store.Tx) error { return tx.DeleteMember(ctx, a.Seq, ids[0]) })
		again, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3, After: first.Next})
		must(t, err)
		if again.Start != 4 || again.Total != 7 {
			t.Errorf("after a removal before the page: start %d total %d, want 4 (as the cursor's page said) and 7", again.Start, again.Total)
		}
		fresh, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3})
		must(t, err)
		next, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3, After: fresh.Next})
		must(t, err)
		if next.Start != 4 || next.Members[0].UserID != ids[3] {
			t.Errorf("from a fresh first page: start %d, first %d; want 4, %d", next.Start, next.Members[0].UserID, ids[3])
		}
		back, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3, Before: next.Prev})
		must(t, err)
		if back.Start != 1 || back.Prev != "" {
			t.Errorf("back to the first page: start %d prev %q", back.Start, back.Prev)
		}
		// A cursor without a position (as made before issue 26): counted.
		raw, err := base64.RawURLEncoding.DecodeString(fresh.Next)
		must(t, err)
		noPos := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), `,"p":3`, "", 1)))
		if noPos == fresh.Next {
			t.Fatalf("the cursor %s carries no position", raw)
		}
		counted, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 3, After: noPos})
		must(t, err)
		if counted.Start != 4 || counted.Members[0].UserID != ids[3] {
			t.Errorf("a cursor without a position: start %d", counted.Start)
		}
	})
}

// TestConformance_LoadIndexInRanges: the check index's parallel load
// (issue 26) reads every account once and every membership once across
// the ranges IndexRanges makes, also of a database with no members, and
// with members added after the ranges were made.
func TestConformance_LoadIndexInRanges(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		sparse, err := db.LoadIndexSparse(ctx)
		must(t, err)
		empty, err := db.IndexRanges(ctx, 4)
		if err != nil || len(empty) != 1 {
			t.Fatalf("no members: ranges %v, %v; want one", empty, err)
		}
		var seqs []int64
		for i := range 5 {
			_, a := fixture(t, db, fmt.Sprintf("o%d@ranges.example", i))
			newMember(t, db, a, fmt.Sprintf("m%d@ranges.example", i), roster.RoleSupport)
			seqs = append(seqs, a.Seq)
		}
		ranges, err := db.IndexRanges(ctx, 3)
		if err != nil || len(ranges) != 3 {
			t.Fatalf("ranges %v, %v; want 3", ranges, err)
		}
		// Members added after the ranges were made are in the last range
		// (or in the one range of a database that had none).
		_, late := fixture(t, db, "late@ranges.example")
		seqs = append(seqs, late.Seq)
		for _, rs := range [][]store.IndexRange{ranges, empty} {
			accounts := 0
			must(t, db.LoadIndexAccounts(ctx, func(int64, store.AccountFlags) { accounts++ }))
			members := map[int64]int{}
			for _, r := range rs {
				must(t, db.LoadIndexMembers(ctx, r, sparse, func(row store.IndexRow) { members[row.AccountSeq]++ }))
			}
			if accounts != 6 || len(members) != 6 {
				t.Errorf("%d ranges: %d accounts, members of %d", len(rs), accounts, len(members))
			}
			for i, seq := range seqs {
				if want := 2 - i/5; members[seq] != want {
					t.Errorf("%d ranges: account %d: %d members read, want %d", len(rs), seq, members[seq], want)
				}
			}
		}
	})
}
