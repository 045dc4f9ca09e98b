package console_test

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rosterhq/roster"
	"github.com/rosterhq/roster/server/servertest"
)

// seeded is an account grown to a size no one invites by hand: its owner
// Olga and members 2..n written straight into the server's real database
// (SQLite, or PostgreSQL under ROSTER_TEST_DATABASE) in one transaction,
// as a migration or an import would. Member k is "Member k" (five
// digits) at memberNNNNN@acme-corp.com, joined k seconds after the first,
// so member n is on the list's last page in its default order; roles
// cycle admin, developer, finance analyst, support from member 2; every
// third member has two-factor sign-in.
type seeded struct {
	e    *servertest.Env
	acct string
	api  *servertest.Client // the owner, over the API
	n    int
}

func seedName(k int) string  { return fmt.Sprintf("Member %05d", k) }
func seedEmail(k int) string { return fmt.Sprintf("member%05d@acme-corp.com", k) }
func seedRole(k int) roster.Role {
	return roster.Roles[1+(k-2)%4]
}
func seedMFA(k int) bool { return k%3 == 0 }

// seedCount is how many of members 2..n keep holds for (the owner aside).
func seedCount(n int, keep func(k int) bool) int {
	c := 0
	for k := 2; k <= n; k++ {
		if keep(k) {
			c++
		}
	}
	return c
}

func newSeeded(tb testing.TB, n int) *seeded {
	tb.Helper()
	e := servertest.New(tb)
	api, acct := e.SignUp(tb, "olga@acme-corp.com", "Olga Owner")
	e.Commit(tb, acct)
	seedMembers(tb, e, acct, n)
	return &seeded{e: e, acct: acct, api: api, n: n}
}

// seedMembers writes members 2..n of acct.
func seedMembers(tb testing.TB, e *servertest.Env, acct string, n int) {
	tb.Helper()
	db := e.Server.DB.SQL()
	q := func(s string) string {
		if e.Server.DB.Dialect() == "sqlite" {
			return s
		}
		for i := 1; strings.Contains(s, "?"); i++ {
			s = strings.Replace(s, "?", fmt.Sprintf("$%d", i), 1)
		}
		return s
	}
	ctx := context.Background()
	var seq int64
	if err := db.QueryRowContext(ctx, q(`SELECT id FROM accounts WHERE auth_id = ?`), acct).Scan(&seq); err != nil {
		tb.Fatalf("seed: the account: %v", err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	base := time.Now().Add(-time.Duration(n+60) * time.Second).UnixMicro()
	const batch = 500
	for from := 2; from <= n; from += batch {
		to := min(from+batch-1, n)
		var sb strings.Builder
		var args []any
		sb.WriteString(`INSERT INTO users (email, name, password_hash, verified_at, created_at, totp_confirmed_at) VALUES `)
		for k := from; k <= to; k++ {
			if k > from {
				sb.WriteString(", ")
			}
			sb.WriteString("(?, ?, ?, ?, ?, ?)")
			at := base + int64(k)*1e6
			var mfa any
			if seedMFA(k) {
				mfa = at
			}
			args = append(args, seedEmail(k), seedName(k), "seeded-not-a-password-hash", at, at, mfa)
		}
		if _, err := tx.ExecContext(ctx, q(sb.String()), args...); err != nil {
			tb.Fatalf("seed users %d..%d: %v", from, to, err)
		}
	}
	// The members, their user IDs looked up by address, a batch a statement.
	cols, tuple := `v.column1 = u.email`, "(?, ?, ?)"
	if e.Server.DB.Dialect() != "sqlite" {
		cols, tuple = `v.email = u.email`, "(?::text, ?::int, ?::bigint)"
	}
	for from := 2; from <= n; from += batch {
		to := min(from+batch-1, n)
		var sb strings.Builder
		args := []any{seq}
		for k := from; k <= to; k++ {
			if k > from {
				sb.WriteString(", ")
			}
			sb.WriteString(tuple)
			args = append(args, seedEmail(k), int(seedRole(k)), base+int64(k)*1e6)
		}
		stmt := `INSERT INTO members (account_id, user_id, role, joined_at) SELECT CAST(? AS BIGINT), u.id, v.column2, v.column3
			FROM users u JOIN (VALUES ` + sb.String() + `) AS v ON ` + cols
		if e.Server.DB.Dialect() != "sqlite" {
			stmt = `INSERT INTO members (account_id, user_id, role, joined_at) SELECT CAST(? AS BIGINT), u.id, v.role, v.joined
			FROM users u JOIN (VALUES ` + sb.String() + `) AS v (email, role, joined) ON ` + cols
		}
		if _, err := tx.ExecContext(ctx, q(stmt), args...); err != nil {
			tb.Fatalf("seed members %d..%d: %v", from, to, err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if err := e.Server.DB.RefreshMemberKeys(ctx, seq); err != nil {
		tb.Fatal(err)
	}
	// Rows written in SQL reach the check index (and the list's counts,
	// which are its) by a load, as servertest's SeedMembers does.
	if err := e.Server.Service.LoadIndex(ctx); err != nil {
		tb.Fatal(err)
	}
	if got := e.Count(tb, `SELECT COUNT(*) FROM members WHERE account_id = ?`, seq); got != n {
		tb.Fatalf("seeded %d members, want %d", got, n)
	}
}

// rangeRE reads the member list's position: "1–50 of 10,000".
var rangeRE = regexp.MustCompile(`<p id="members-range">([\d,]+)–([\d,]+) of ([\d,]+)`)

func memberRows(body string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-member="([^"]+)">`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// nextLink is the href of the page's Next (or another pager link by id).
func pagerLink(body, id string) string {
	m := regexp.MustCompile(`<a href="([^"]+)" id="` + id + `"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return strings.ReplaceAll(m[1], "&amp;", "&")
}

// TestTeam_ListPagesSearchesAndFiltersInTheQueryString: at 120 members the
// Team page shows 50 at a time with "1–50 of 120", pages forward and back
// through links that are the whole state, searches by name or address,
// filters by role, status and two-factor with the right counts, sorts, and
// keeps one list's state while the other pages.
func TestTeam_ListPagesSearchesAndFiltersInTheQueryString(t *testing.T) {
	const n = 120
	s := newSeeded(t, n)
	k := newFormClient(t, s.e, s.api)
	team := "/accounts/" + s.acct + "/team"

	a := k.get(team)
	a.want(t, "first page", 200, "Team · 120 members", `<p id="members-range">1–50 of 120</p>`, `id="members-next"`, `id="invite-open"`,
		`href="`+team+`/invite"`, `<dialog id="invite-dialog"`)
	if strings.Contains(a.Body, `id="members-prev"`) || strings.Contains(a.Body, `id="members-first"`) {
		t.Error("the first page offers Previous or First")
	}
	rows := memberRows(a.Body)
	if len(rows) != 50 || rows[0] != "olga@acme-corp.com" || rows[1] != seedEmail(2) {
		t.Fatalf("first page: %d rows starting %v", len(rows), rows[:min(2, len(rows))])
	}
	// Every row has its one menu, but the owner's.
	if got := strings.Count(a.Body, `<details class="row-menu"`); got != 49 {
		t.Errorf("%d row menus on a page of 49 members and the owner, want 49", got)
	}
	// Forward to the last page, and back.
	next := pagerLink(a.Body, "members-next")
	seen := map[string]bool{}
	for _, r := range rows {
		seen[r] = true
	}
	for page := 2; next != ""; page++ {
		if page > 4 {
			t.Fatal("the pages never end")
		}
		a = k.get(next)
		for _, r := range memberRows(a.Body) {
			if seen[r] {
				t.Errorf("page %d repeats %s", page, r)
			}
			seen[r] = true
		}
		next = pagerLink(a.Body, "members-next")
	}
	a.want(t, "last page", 200, `<p id="members-range">101–120 of 120</p>`, `data-member="`+seedEmail(n)+`"`, `id="members-first"`, `id="members-prev"`)
	if strings.Contains(a.Body, `id="members-last"`) || strings.Contains(a.Body, `id="members-next"`) {
		t.Error("the last page offers Next or Last")
	}
	if len(seen) != n {
		t.Errorf("the pages showed %d members, want %d", len(seen), n)
	}
	prev := k.get(pagerLink(a.Body, "members-prev"))
	prev.want(t, "back one page", 200, `<p id="members-range">51–100 of 120</p>`)

	// Last, from the first page: the last 50, a full page, in one step;
	// Previous from there goes back to the first 70.
	last := pagerLink(k.get(team+"?mfa=off").Body, "members-last")
	if !strings.Contains(last, "mfa=off") || !strings.Contains(last, "before=last") {
		t.Errorf("Last of mfa=off is %q: it must keep the filter", last)
	}
	a = k.get(pagerLink(k.get(team).Body, "members-last"))
	a.want(t, "Last", 200, `<p id="members-range">71–120 of 120</p>`, `id="members-first"`, `id="members-prev"`)
	if rows := memberRows(a.Body); len(rows) != 50 || rows[49] != seedEmail(n) {
		t.Errorf("Last shows %d rows ending %v, want 50 ending %s", len(rows), rows[max(0, len(rows)-1):], seedEmail(n))
	}
	if strings.Contains(a.Body, `id="members-last"`) || strings.Contains(a.Body, `id="members-next"`) {
		t.Error("the page Last leads to offers Next or Last")
	}
	k.get(pagerLink(a.Body, "members-prev")).want(t, "Previous of Last", 200, `<p id="members-range">21–70 of 120</p>`)

	// Search by name and by address, in any case: one member, on the first page.
	for _, q := range []string{"MEMBER 00120", "member00120@ACME"} {
		a = k.get(team + "?" + url.Values{"q": {q}}.Encode())
		a.want(t, "search "+q, 200, `<p id="members-range">1–1 of 1 matching</p>`, `value="`+q+`"`, `id="member-clear"`)
		if rows := memberRows(a.Body); len(rows) != 1 || rows[0] != seedEmail(n) {
			t.Errorf("search %q: %v", q, rows)
		}
	}
	k.get(team+"?q=nobody-at-all").want(t, "search without a match", 200, `id="no-members"`, "No member matches this search")

	// Filters: the counts are the seeded ones.
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"role=developer", seedCount(n, func(k int) bool { return seedRole(k) == roster.RoleDeveloper })},
		{"role=owner", 1},
		{"mfa=on", seedCount(n, seedMFA)},
		{"mfa=off", 1 + seedCount(n, func(k int) bool { return !seedMFA(k) })},
		{"status=active", n},
		{"status=suspended", 0},
		{"role=support&mfa=on", seedCount(n, func(k int) bool { return seedRole(k) == roster.RoleSupport && seedMFA(k) })},
	} {
		a = k.get(team + "?" + tc.query)
		if tc.want == 0 {
			a.want(t, tc.query, 200, `<p id="members-range">0 of 0</p>`, `id="no-members"`)
			continue
		}
		m := rangeRE.FindStringSubmatch(a.Body)
		if m == nil || m[3] != fmt.Sprint(tc.want) {
			t.Errorf("%s: range %v, want a total of %d", tc.query, m, tc.want)
		}
		a.want(t, tc.query, 200, "Team · 120 members") // the heading counts everyone
	}

	// Sorting: by name descending, Olga Owner then member 120.
	a = k.get(team + "?sort=name&order=desc")
	if rows := memberRows(a.Body); len(rows) < 2 || rows[0] != "olga@acme-corp.com" || rows[1] != seedEmail(n) {
		t.Errorf("sort=name&order=desc starts with %v", rows[:min(2, len(rows))])
	}
	a.want(t, "sorted", 200, `<option value="name" selected>`, `<option value="desc" selected>`)
	// A page link keeps the search: Next of a filtered list stays filtered.
	a = k.get(team + "?mfa=off")
	if next := pagerLink(a.Body, "members-next"); !strings.Contains(next, "mfa=off") || !strings.Contains(next, "after=") {
		t.Errorf("Next of mfa=off is %q", next)
	}
	// The invitations' state rides along the member list's links and form.
	a = k.get(team + "?iq=ada&isort=email")
	if next := pagerLink(a.Body, "members-next"); !strings.Contains(next, "iq=ada") || !strings.Contains(next, "isort=email") {
		t.Errorf("the member list's Next drops the invitations' search: %q", next)
	}
	a.want(t, "hidden invitation state", 200, `<input type="hidden" name="iq" value="ada">`)
}

// TestTeam_BadListQueryShowsTheFirstPage: a cursor or a filter the page
// does not understand shows the first page (or the list without that
// filter) and says so; never an error page.
func TestTeam_BadListQueryShowsTheFirstPage(t *testing.T) {
	s := newSeeded(t, 60)
	k := newFormClient(t, s.e, s.api)
	team := "/accounts/" + s.acct + "/team"
	for _, tc := range []struct{ query, want string }{
		{"after=not-a-cursor", "no longer exists"},
		{"before=%00%ff", "no longer exists"},
		{"iafter=garbage", "That page of the invitations no longer exists"},
		{"role=emperor", "there is no such role"},
		{"status=asleep", "there is no such status"},
		{"mfa=maybe", "either on or off"},
		{"sort=shoe-size", "sorts by name, role or joined date"},
		{"order=sideways", "ascending or descending"},
		{"q=" + strings.Repeat("x", 255), "at most 254 characters"},
		{"irole=emperor", "there is no such role"},
	} {
		a := k.get(team + "?" + tc.query)
		a.want(t, tc.query, 200, tc.want, `role="alert"`)
		if !strings.HasPrefix(tc.query, "i") {
			a.want(t, tc.query, 200, `<p id="members-range">1–50 of 60`)
		}
	}
	// The role filter left out, the search kept.
	a := k.get(team + "?role=emperor&q=member00060")
	a.want(t, "bad role, good search", 200, `<p id="members-range">1–1 of 1 matching</p>`)
}

// TestInvite_PageWithoutJavaScriptAndRolesInAnyCase: the dialog's own page
// holds both forms for those who may invite, answers 403 to others, shows
// a refused invite again with what was typed; a bulk invite reads roles in
// any case.
func TestInvite_PageWithoutJavaScriptAndRolesInAnyCase(t *testing.T) {
	f := newAccessFixture(t)
	invite := f.path("/team/invite")
	a := f.owner.get(invite)
	a.want(t, "invite page", 200, "<h1>Invite people</h1>", `id="invite-form"`, `id="batch-form"`, `id="invite-role-support" name="role" value="support" required checked`,
		`<h2 id="invite-one-heading">`, `href="`+f.path("/team")+`" id="back-to-team"`)
	oneH1(t, "the invite page", a)
	f.dev.get(invite).want(t, "developer's invite page", 403)

	// A refusal is shown on the invite page, with the address typed.
	a = f.owner.post(f.path("/team/invite"), url.Values{"email": {"bob@gmail.com"}, "role": {"admin"}})
	a.want(t, "refused invite", 422, "<h1>Invite people</h1>", `value="bob@gmail.com"`, `id="invite-email-error"`,
		`id="invite-role-admin" name="role" value="admin" required checked`)
	if n := f.invitations(t); n != 0 {
		t.Fatalf("a refused invite made %d invitations", n)
	}
	// A batch refused whole, too.
	f.owner.post(f.path("/team/invite-batch"), url.Values{"invitations": {"\n"}}).want(t, "empty batch", 400, "<h1>Invite people</h1>", `id="batch-error"`)

	// Roles as people type them.
	a = f.owner.post(f.path("/team/invite-batch"), url.Values{"invitations": {
		"ana@acme-corp.com, Developer\nbo@acme-corp.com, FINANCE\ncy@acme-corp.com, Finance Analyst\ndi@acme-corp.com, ADMIN\nev@acme-corp.com, emperor\n"}})
	a.want(t, "roles in any case", 200, "4 of 5 invitations sent", `data-batch="ev@acme-corp.com" data-outcome="refused"`, "Unknown role")
	want := map[string]string{"ana@acme-corp.com": "developer", "bo@acme-corp.com": "finance_analyst", "cy@acme-corp.com": "finance_analyst", "di@acme-corp.com": "admin"}
	got := map[string]string{}
	for _, inv := range f.api.Must(200, "GET", "/v1/accounts/"+f.acct+"/invitations", nil).Objects() {
		got[inv["email"].(string)] = inv["role"].(string)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("invitations after the batch: %v, want %v", got, want)
	}
	// The standard plan: the page says why, and offers no form.
	s := servertest.New(t)
	api, acct := s.SignUp(t, "olga@acme-corp.com", "Olga Owner")
	a = newFormClient(t, s, api).get("/accounts/" + acct + "/team/invite")
	a.want(t, "standard plan's invite page", 200, `id="plan-notice"`)
	if strings.Contains(a.Body, `id="invite-form"`) {
		t.Error("a standard account's invite page offers the form")
	}
}
