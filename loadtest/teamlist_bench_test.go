package loadtest

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/authz"
	"github.com/rosterhq/roster/loadtest/seed"
	"github.com/rosterhq/roster/store"
	"github.com/rosterhq/roster/store/storetest"
)

const (
	teamListInvitations = 1_000
	teamListPage        = 50
)

// BenchmarkTeamList10k times one page of the team list (issue 21) read
// from the store, on SQLite and PostgreSQL, on an account of 10,001
// members and 1,000 pending invitations (loadtest/seed): the first page in
// the default order, a late page (by keyset, the page after member 9,950),
// a search that matches one late member, a role filter, the name sort
// descending, and the invitation list's first and a late page. Each page
// is the list's whole answer: the page, the matches' count, the account's
// and (past the first page) the page's position. The target is under
// 100 ms a page. References in the same run: the bare SELECT of the first
// 50 members in the index's order (what a page was before issue 21), and
// the same first page of the name sort made from a Go slice of all 10,001
// members already in memory (filter and sort, no database).
//
//	go test -run XXX -bench TeamList10k ./loadtest
//
// -loadtest.list sets the members besides the owner (default 10,000; issue
// 26's target is a p99 under 5 ms a page at 100,000; the counts come from
// a check index, as the service takes them, see service/team). Each page kind also
// reports p50_ms and p99_ms over its iterations (give -benchtime 100x or
// more for a p99), and more kinds are read: the middle and the last page
// (keyset), and the first page of every sort (joined, name, name
// descending, role) and a late page of the name sort.
//
//	go test -run XXX -bench TeamList10k -benchtime 100x -timeout 1h ./loadtest -loadtest.list 100000
func BenchmarkTeamList10k(b *testing.B) {
	teamListMembers := *scaleList
	if teamListMembers < 1000 || teamListMembers%100 != 0 {
		b.Fatalf("-loadtest.list %d: a multiple of 100 from 1000, please", teamListMembers)
	}
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, be.DSN)
			var a roster.Account
			err := db.Transact(ctx, func(tx *store.Tx) error {
				uid, err := tx.CreateUser(ctx, "owner@acme-corp.com", "Owner", "h", true)
				if err != nil {
					return err
				}
				if a, err = tx.CreateAccount(ctx, "Acme", uid); err != nil {
					return err
				}
				return tx.SetPlan(ctx, a.Seq, roster.PlanCommitted, 1000, 12)
			})
			if err != nil {
				b.Fatal(err)
			}
			a.Plan = roster.PlanCommitted
			if _, err := seed.Members(ctx, db, a.ID, teamListMembers); err != nil {
				b.Fatal(err)
			}
			if err := seed.Invitations(ctx, db, a.ID, teamListInvitations); err != nil {
				b.Fatal(err)
			}
			if db.Dialect() == "postgres" {
				// VACUUM too: seed.Members writes the members' list keys
				// in an UPDATE after the rows (RefreshMemberKeys), whose
				// dead versions autovacuum would clear in its own time.
				if _, err := db.SQL().ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
					b.Fatal(err)
				}
			}
			// A late page's cursor: walk to member 9,950.
			late := ""
			for range (teamListMembers - teamListPage) / 100 {
				l, err := db.MemberList(ctx, a, roster.MemberQuery{Limit: 100, After: late})
				if err != nil {
					b.Fatal(err)
				}
				late = l.Next
			}
			// The middle and the last page's cursors, and a late page of
			// the name sort.
			cursorAt := func(q roster.MemberQuery, pos int) string {
				c := ""
				for range pos / 100 {
					q.Limit, q.After = 100, c
					l, err := db.MemberList(ctx, a, q)
					if err != nil {
						b.Fatal(err)
					}
					c = l.Next
				}
				return c
			}
			middle := cursorAt(roster.MemberQuery{}, teamListMembers/2)
			last := cursorAt(roster.MemberQuery{}, teamListMembers)
			nameLate := cursorAt(roster.MemberQuery{Sort: "name"}, teamListMembers-teamListPage)
			lateInv := ""
			for range (teamListInvitations - teamListPage) / 50 {
				l, err := db.InvitationList(ctx, a, roster.InvitationQuery{Limit: 50, After: lateInv})
				if err != nil {
					b.Fatal(err)
				}
				lateInv = l.Next
			}
			// The counts come from the check index, as the service takes
			// them (service/team: MemberListCounted with RoleCounts).
			all, _, _, err := db.Members(ctx, a, roster.Page{Limit: teamListMembers + 1})
			if err != nil || len(all) != teamListMembers+1 {
				b.Fatal(len(all), err)
			}
			ix := authz.NewIndex()
			ix.SetAccount(a.Seq, a.ID, true, false)
			ix.Update(func(bt *authz.Batch) {
				for _, m := range all {
					bt.SetMemberOf(a.Seq, m.UserID, m.Role, authz.Facts{})
				}
			})
			members := func(name string, q roster.MemberQuery, check func(roster.MemberList) bool) {
				b.Run(name, func(b *testing.B) {
					q.Limit = teamListPage
					var l roster.MemberList
					var took []time.Duration
					for b.Loop() {
						start := time.Now()
						if l, err = db.MemberListCounted(ctx, a, q, ix.RoleCounts(a.Seq)); err != nil {
							b.Fatal(err)
						}
						took = append(took, time.Since(start))
					}
					if len(l.Members) == 0 || !check(l) {
						b.Fatalf("wrong page: total %d start %d rows %d", l.Total, l.Start, len(l.Members))
					}
					slices.Sort(took)
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
					b.ReportMetric(ms(percentile(took, 0.5)), "p50_ms")
					b.ReportMetric(ms(percentile(took, 0.99)), "p99_ms")
				})
			}
			members("first", roster.MemberQuery{}, func(l roster.MemberList) bool {
				return l.Total == teamListMembers+1 && l.Start == 1 && l.Members[0].Role == roster.RoleOwner
			})
			members("late", roster.MemberQuery{After: late}, func(l roster.MemberList) bool {
				return l.Start == (teamListMembers-teamListPage)/100*100+1 && len(l.Members) == teamListPage
			})
			members("middle", roster.MemberQuery{After: middle}, func(l roster.MemberList) bool {
				return l.Start == teamListMembers/2+1 && len(l.Members) == teamListPage
			})
			members("last", roster.MemberQuery{After: last}, func(l roster.MemberList) bool {
				return l.Start == teamListMembers+1 && len(l.Members) == 1 && l.Next == ""
			})
			members("sort_joined", roster.MemberQuery{Sort: "joined"}, func(l roster.MemberList) bool {
				return l.Total == teamListMembers+1 && l.Start == 1
			})
			members("sort_name", roster.MemberQuery{Sort: "name"}, func(l roster.MemberList) bool {
				return l.Total == teamListMembers+1 && strings.HasPrefix(l.Members[0].Name, "Ada ")
			})
			members("sort_name_late", roster.MemberQuery{Sort: "name", After: nameLate}, func(l roster.MemberList) bool {
				return l.Start == (teamListMembers-teamListPage)/100*100+1 && len(l.Members) == teamListPage
			})
			members("sort_role", roster.MemberQuery{Sort: "role"}, func(l roster.MemberList) bool {
				return l.Total == teamListMembers+1 && l.Members[0].Role == roster.RoleOwner
			})
			members("search_one_late", roster.MemberQuery{Search: seed.Email(teamListMembers-10, "")}, func(l roster.MemberList) bool {
				return l.Total == 1 && l.Members[0].Email == seed.Email(teamListMembers-10, "acme-corp.com")
			})
			// A broad search: "member0" is in the address of members 1 to
			// 9,999, a tenth of them at 100,000 (its count is a pass over
			// its matches: the documented bound, docs/decisions.md).
			members("search_broad", roster.MemberQuery{Search: "member0", Sort: "name"}, func(l roster.MemberList) bool {
				return l.Total == min(teamListMembers, 9999) && len(l.Members) == teamListPage
			})
			members("prev_of_late", roster.MemberQuery{Before: late}, func(l roster.MemberList) bool {
				return len(l.Members) == teamListPage && l.Next != ""
			})
			members("role", roster.MemberQuery{Role: roster.RoleFinanceAnalyst}, func(l roster.MemberList) bool {
				return l.Total == teamListMembers/4 && l.All == teamListMembers+1
			})
			members("name_desc", roster.MemberQuery{Sort: "name", Desc: true}, func(l roster.MemberList) bool {
				return l.Total == teamListMembers+1 && strings.HasPrefix(l.Members[0].Name, "Émile ")
			})
			invitations := func(name string, q roster.InvitationQuery, check func(roster.InvitationList) bool) {
				b.Run(name, func(b *testing.B) {
					q.Limit = teamListPage
					var l roster.InvitationList
					for b.Loop() {
						if l, err = db.InvitationList(ctx, a, q); err != nil {
							b.Fatal(err)
						}
					}
					if !check(l) {
						b.Fatalf("wrong page: total %d start %d rows %d", l.Total, l.Start, len(l.Invitations))
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
				})
			}
			invitations("invitations_first", roster.InvitationQuery{}, func(l roster.InvitationList) bool {
				return l.Total == teamListInvitations && l.Start == 1
			})
			invitations("invitations_late", roster.InvitationQuery{After: lateInv}, func(l roster.InvitationList) bool {
				return l.Start == teamListInvitations-teamListPage+1
			})
			invitations("invitations_search", roster.InvitationQuery{Search: "invitee00999"}, func(l roster.InvitationList) bool {
				return l.Total == 1
			})

			// References.
			b.Run("ref_bare_select", func(b *testing.B) {
				q := `SELECT m.user_id, u.email, u.name, m.role, m.joined_at, u.totp_confirmed_at IS NOT NULL
					FROM members m JOIN users u ON u.id = m.user_id WHERE m.account_id = ?
					ORDER BY (CASE WHEN m.role = 1 THEN 0 ELSE 1 END), m.joined_at, m.user_id LIMIT 50`
				if db.Dialect() == "postgres" {
					q = strings.Replace(q, "?", "$1", 1)
				}
				for b.Loop() {
					rows, err := db.SQL().QueryContext(ctx, q, a.Seq)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						var id, joined int64
						var email, name string
						var role int
						var mfa bool
						if err := rows.Scan(&id, &email, &name, &role, &joined, &mfa); err != nil {
							b.Fatal(err)
						}
						n++
					}
					rows.Close()
					if rows.Err() != nil || n != 50 {
						b.Fatal(rows.Err(), n)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			})
			b.Run("ref_go_slice_name_desc", func(b *testing.B) {
				for b.Loop() {
					ms := slices.Clone(all)
					slices.SortFunc(ms, func(x, y roster.Member) int {
						return cmp.Or(strings.Compare(strings.ToLower(y.Name), strings.ToLower(x.Name)), cmp.Compare(y.UserID, x.UserID))
					})
					_ = ms[:teamListPage]
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
			})
		})
	}
}
